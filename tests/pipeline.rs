//! End to end, the CodePipeline Lambda invoke action path: the local runner plays CodePipeline
//! (invoking pipeline-entry asynchronously with the job event, and, through the emulator,
//! creating a new job after each "in progress" reply); pipeline-entry starts executions in the
//! emulated Step Functions; the runner executes each with the real state machine file and
//! function binaries. In virtual time (see `local_run::Settings::virtual_time`).
//!
//! Needs the tools of scripts/setup and the binaries of `cargo build --workspace --all-targets`.

use std::collections::BTreeSet;

use aws_emulator::{Operation, Snapshot};
use local_run::artifacts::{artifact_access_key, attach_paths_file};
use local_run::deployment::{Deployment, LOCAL_STATE_BUCKET};
use local_run::hosts::free_port;
use local_run::{Environment, FunctionHost, FunctionNames, LambdaEndpoint, Settings};
use serde_json::{json, Value};
use workflow_tests::{
    read_repo_json, repo_root, run_job_past_its_reply, settings_outlasting_the_reply, summary,
    the_failure, the_result, CREDENTIALS, DISTRIBUTION, JOB_ID,
};

fn settings() -> Settings {
    workflow_tests::settings(&[DISTRIBUTION])
}

/// The Lambda invoke action path for the sample job.
async fn run_sample_job(settings: Settings) -> (Environment, Vec<local_run::Execution>, Snapshot) {
    let environment = Environment::start(settings).await.unwrap();
    let executions = environment
        .run_pipeline_job(&read_repo_json("events/codepipeline-job.json"), |_, _| {})
        .await
        .unwrap();
    let seen = environment.snapshot();
    (environment, executions, seen)
}

#[tokio::test]
async fn a_job_starts_one_execution_named_after_it_which_reports_success() {
    let (_environment, executions, seen) = run_sample_job(settings()).await;

    assert_eq!(executions.len(), 1);
    assert!(executions[0].succeeded(), "{:?}", executions[0].error);
    assert_eq!(seen.executions.len(), 1);
    assert_eq!(seen.executions[0].name, format!("job-{JOB_ID}"));
    assert_eq!(seen.invalidations.len(), 1);
    let result = the_result(&seen, JOB_ID);
    assert_eq!(result.operation, Operation::PutJobSuccessResult);
    assert!(result.continuation_token.is_none());
    // The result names the run, so the pipeline leads to it.
    assert_eq!(
        result
            .execution_details
            .as_ref()
            .unwrap()
            .external_execution_id
            .as_deref(),
        Some(seen.executions[0].execution_arn.as_str())
    );
    // CodePipeline invokes the action's function asynchronously.
    let entry = &seen.lambda_invocations[0];
    assert_eq!(
        (entry.function_name.as_str(), entry.invocation_type.as_str()),
        ("pipeline-entry", "Event")
    );
}

#[tokio::test]
async fn the_same_job_delivered_twice_makes_one_execution_one_invalidation_one_result() {
    let environment = Environment::start(settings()).await.unwrap();
    let job = read_repo_json("events/codepipeline-job.json");
    environment.deliver_job(&job).await.unwrap();
    // Lambda retries an asynchronous invocation; CodePipeline may invoke again.
    environment.deliver_job(&job).await.unwrap();
    let executions = environment.drive_executions(|_, _| {}).await.unwrap();
    let seen = environment.snapshot();

    assert_eq!(executions.len(), 1);
    assert_eq!(seen.executions.len(), 1, "{:#?}", seen.executions);
    assert_eq!(seen.executions[0].start_calls, 2, "both deliveries asked");
    assert_eq!(seen.invalidations.len(), 1);
    the_result(&seen, JOB_ID);
}

#[tokio::test]
async fn an_invalidation_that_outlasts_the_reply_window_continues_in_a_new_job() {
    // The first run must reply "in progress", the next one sees the invalidation completed.
    let environment = Environment::start(settings_outlasting_the_reply(&[DISTRIBUTION]))
        .await
        .unwrap();
    let executions = run_job_past_its_reply(
        &environment,
        &read_repo_json("events/codepipeline-job.json"),
    )
    .await;
    let seen = environment.snapshot();

    let results = &seen.job_results;
    assert!(results.len() >= 2, "{results:#?}");
    let (last, earlier) = results.split_last().unwrap();
    // Every earlier reply was "in progress" with a token, the first one on the original job…
    assert_eq!(earlier[0].job_id, JOB_ID);
    for reply in earlier {
        assert_eq!(reply.operation, Operation::PutJobSuccessResult);
        // The token names where the run's state waits in the state bucket.
        let token: Value =
            serde_json::from_str(reply.continuation_token.as_deref().unwrap()).unwrap();
        let state = token["state"].as_str().unwrap();
        assert_eq!(
            state,
            format!("runs/job-{JOB_ID}/continued-{}.json", reply.job_id)
        );
        assert!(
            seen.objects.iter().any(|object| object.key == state),
            "{state} is kept"
        );
        let details = reply.execution_details.as_ref().unwrap();
        assert!(details.percent_complete.unwrap() < 100);
        assert!(
            summary(reply).starts_with("Still waiting after "),
            "{}",
            summary(reply)
        );
    }
    // …and the final success went to a job CodePipeline created from the token.
    assert_eq!(last.operation, Operation::PutJobSuccessResult);
    assert!(last.continuation_token.is_none());
    assert_ne!(last.job_id, JOB_ID);
    let final_job = seen
        .jobs
        .iter()
        .find(|job| job.job_id == last.job_id)
        .expect("the final job was created by a continuation");
    assert!(final_job.continued_from.is_some(), "{final_job:?}");
    // Each job got exactly one result; one invalidation, created once; every run succeeded.
    let jobs: BTreeSet<&str> = results.iter().map(|r| r.job_id.as_str()).collect();
    assert_eq!(jobs.len(), results.len());
    assert_eq!(seen.invalidations.len(), 1);
    assert_eq!(seen.calls_of(Operation::CreateInvalidation), 1);
    assert_eq!(executions.len(), results.len());
    assert!(executions.iter().all(|e| e.succeeded()));
    // One metric record per execution: "Continued" until the last, "Succeeded"; the
    // invalidation is counted once where it was created, and timed once where it was seen
    // complete.
    let records = workflow_tests::metric_records(&environment, executions.len()).await;
    let outcomes: Vec<&str> = records
        .iter()
        .map(|record| record["Outcome"].as_str().unwrap())
        .collect();
    let (last, earlier) = outcomes.split_last().unwrap();
    assert_eq!(*last, "Succeeded", "{outcomes:?}");
    assert!(
        earlier.iter().all(|outcome| *outcome == "Continued"),
        "{outcomes:?}"
    );
    let total = |metric: &str| -> usize {
        records
            .iter()
            .map(|record| match &record[metric] {
                Value::Array(values) => values.len(),
                value => value.as_u64().unwrap_or_default() as usize,
            })
            .sum()
    };
    assert_eq!(total("Invalidations"), 1);
    assert_eq!(total("InvalidationDuration"), 1);
    assert!(records.last().unwrap()["InvalidationDuration"].is_array());
}

#[tokio::test]
async fn a_run_that_cannot_start_is_reported_by_pipeline_entry() {
    let mut settings = settings();
    settings.env_overrides.push((
        "pipeline-entry".to_owned(),
        "STATE_MACHINE_ARN".to_owned(),
        "arn:aws:states:us-east-1:123456789012:stateMachine:Missing".to_owned(),
    ));
    let (_environment, executions, seen) = run_sample_job(settings).await;

    assert!(executions.is_empty());
    assert!(seen.executions.is_empty());
    assert!(seen.invalidations.is_empty());
    let message = the_failure(&seen, "ConfigurationError");
    assert_eq!(
        message,
        "Cache invalidation could not start: InvalidInput: StartExecution \
         job-11111111-abcd-1111-abcd-111111abcdef of \
         arn:aws:states:us-east-1:123456789012:stateMachine:Missing: StateMachineDoesNotExist \
         (HTTP 400): State Machine Does Not Exist: \
         'arn:aws:states:us-east-1:123456789012:stateMachine:Missing'"
    );
}

/// The paths-file sample job with these UserParameters; its BuildOutput artifact holds
/// `contents` as invalidation-paths.txt and opens only to the job's artifact credentials.
fn with_paths_file(settings: &mut Settings, user_parameters: Value, contents: &str) -> Value {
    let mut job = read_repo_json("events/codepipeline-job-paths-file.json");
    let artifact = attach_paths_file(&mut job, "invalidation-paths.txt", contents.as_bytes())
        .expect("the sample names an input artifact");
    // The test's UserParameters, which may name another file than the artifact holds.
    job["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] =
        json!(user_parameters.to_string());
    settings.artifacts.push(artifact);
    settings.artifact_access_key = artifact_access_key(&job);
    job
}

#[tokio::test]
async fn ten_thousand_file_paths_from_the_build_artifact_go_in_four_batches_planned_once() {
    let mut settings = settings();
    settings.log_dir = settings.log_dir.join("ten-thousand-paths");
    let log_dir = settings.log_dir.clone();
    let _ = std::fs::remove_dir_all(&log_dir);
    settings.log_functions_at("info");
    let lines: String = (0..10_000)
        .map(|i| format!("/assets/{:02}/file-{i:05}.js\n", i % 40))
        .collect();
    let job = with_paths_file(
        &mut settings,
        json!({"distributionId": DISTRIBUTION, "pathsFile": "invalidation-paths.txt", "collapseAbove": false}),
        &lines,
    );
    let environment = Environment::start(settings).await.unwrap();
    let executions = environment.run_pipeline_job(&job, |_, _| {}).await.unwrap();
    let seen = environment.snapshot();

    assert_eq!(executions.len(), 1);
    assert!(executions[0].succeeded(), "{:?}", executions[0].error);
    let sizes: Vec<usize> = seen.invalidations.iter().map(|i| i.paths.len()).collect();
    assert_eq!(sizes, [3000, 3000, 3000, 1000]);
    assert!(seen.invalidations.iter().all(|i| i.status == "Completed"));
    // The emulator refuses more than 3000 file paths in progress: every call went in.
    assert_eq!(seen.calls_of(Operation::CreateInvalidation), 4);
    let every_path: BTreeSet<&str> = seen
        .invalidations
        .iter()
        .flat_map(|i| &i.paths)
        .map(String::as_str)
        .collect();
    assert_eq!(every_path.len(), 10_000);
    // pipeline-entry read the artifact and planned, once; the plan went to the state bucket,
    // and every later step read it there.
    let artifact_reads = seen
        .s3_requests_of(Operation::GetObject)
        .filter(|request| request.bucket != LOCAL_STATE_BUCKET)
        .count();
    assert_eq!(artifact_reads, 1);
    let plan_writes: Vec<&str> = seen
        .s3_requests_of(Operation::PutObject)
        .map(|request| request.key.as_str())
        .collect();
    assert_eq!(plan_writes, [format!("runs/job-{JOB_ID}/plan.json")]);
    let logs: String = [
        "pipeline-entry",
        "start-invalidation",
        "check-status",
        "report-result",
    ]
    .iter()
    .map(|function| std::fs::read_to_string(log_dir.join(format!("{function}.log"))).unwrap())
    .collect();
    assert_eq!(logs.matches("request planned").count(), 1, "planned once");
    let result = the_result(&seen, JOB_ID);
    assert_eq!(result.operation, Operation::PutJobSuccessResult);
    assert!(
        summary(result).contains("10000 paths"),
        "{}",
        summary(result)
    );
    let output = executions[0].output.clone().unwrap();
    assert_eq!(output["paths"]["requested"], 10_000);
    assert_eq!(output["paths"]["batches"], 4);
}

#[tokio::test]
async fn a_paths_file_listed_as_json_is_read_once_and_no_credential_reaches_step_functions() {
    let mut settings = settings();
    // Trace-level logs of the functions that may sign S3 requests with the job's credentials,
    // apart from other tests' logs.
    settings.log_dir = settings.log_dir.join("paths-file-at-trace-level");
    let log_dir = settings.log_dir.clone();
    let _ = std::fs::remove_dir_all(&log_dir);
    settings.log_functions_at("trace");
    let mut paths: Vec<String> = (0..150)
        .map(|i| format!("/blog/post-{i:03}.html"))
        .collect();
    paths.push("/index.html".into());
    let job = with_paths_file(
        &mut settings,
        json!({"distributionId": DISTRIBUTION, "pathsFile": "invalidation-paths.txt"}),
        &json!(paths).to_string(),
    );
    let environment = Environment::start(settings).await.unwrap();
    let executions = environment.run_pipeline_job(&job, |_, _| {}).await.unwrap();
    let seen = environment.snapshot();

    assert!(executions[0].succeeded(), "{:?}", executions[0].error);
    assert_eq!(seen.invalidations.len(), 1);
    assert_eq!(seen.invalidations[0].paths, ["/blog/*", "/index.html"]);
    let output = executions[0].output.clone().unwrap();
    assert_eq!(output["paths"]["requested"], 151);
    assert_eq!(output["paths"]["planned"], 2);
    // pipeline-entry read the file, once, and kept the plan in the state bucket; the execution
    // input is the event without its credentials.
    let artifact_reads = seen
        .s3_requests_of(Operation::GetObject)
        .filter(|request| request.bucket != LOCAL_STATE_BUCKET)
        .count();
    assert_eq!(artifact_reads, 1);
    let entry_log = std::fs::read_to_string(log_dir.join("pipeline-entry.log")).unwrap();
    assert!(entry_log.contains("paths file read"), "{entry_log}");
    let execution_input = &seen.executions[0].input;
    let input: Value = serde_json::from_str(execution_input).unwrap();
    assert_eq!(
        input["CodePipeline.job"]["data"]["artifactCredentials"],
        json!({}),
        "{execution_input}"
    );
    // Neither the logs (verbose ones) nor anything Step Functions holds (the input, every
    // state's input and output) names a credential.
    let logs: String = ["pipeline-entry", "start-invalidation", "check-status"]
        .iter()
        .map(|function| std::fs::read_to_string(log_dir.join(format!("{function}.log"))).unwrap())
        .collect();
    assert!(
        logs.contains("\"level\":\"DEBUG\""),
        "the log is verbose: {logs}"
    );
    let history = serde_json::to_string(&executions[0].events).unwrap();
    for secret in CREDENTIALS {
        for (what, text) in [
            ("logs", &logs),
            ("execution input", execution_input),
            ("history", &history),
        ] {
            assert!(!text.contains(secret), "a credential is in the {what}");
        }
    }
}

#[tokio::test]
async fn a_paths_file_holding_cache_tags_invalidates_them_beside_its_paths() {
    let mut settings = settings();
    // A build that tags what it changed writes the tags in the paths file, one per line; a
    // line that starts with `#` is a tag, not a comment.
    let job = with_paths_file(
        &mut settings,
        json!({"distributionId": DISTRIBUTION, "pathsFile": "invalidation-paths.txt"}),
        "/index.html\n#product-123\n#PRODUCT-123\n#release:2026-12-01\n/blog/post.html\n",
    );
    let environment = Environment::start(settings).await.unwrap();
    let executions = environment.run_pipeline_job(&job, |_, _| {}).await.unwrap();
    let seen = environment.snapshot();

    assert!(executions[0].succeeded(), "{:?}", executions[0].error);
    assert_eq!(seen.invalidations.len(), 1);
    assert_eq!(
        seen.invalidations[0].paths,
        [
            "#PRODUCT-123",
            "#release:2026-12-01",
            "/blog/post.html",
            "/index.html"
        ]
    );
    let output = executions[0].output.clone().unwrap();
    assert_eq!(output["paths"]["requested"], 5);
    assert_eq!(output["paths"]["tags"], 2);
    let result = the_result(&seen, JOB_ID);
    assert!(
        summary(result).starts_with("Invalidated 2 paths and 2 cache tags (5 requested)"),
        "{}",
        summary(result)
    );
}

#[tokio::test]
async fn a_paths_file_missing_from_the_artifact_fails_the_job_naming_it_and_creates_nothing() {
    let mut settings = settings();
    let job = with_paths_file(
        &mut settings,
        json!({"distributionId": DISTRIBUTION, "pathsFile": "dist/paths.txt"}),
        "/index.html\n",
    );
    let environment = Environment::start(settings).await.unwrap();
    let executions = environment.run_pipeline_job(&job, |_, _| {}).await.unwrap();
    let seen = environment.snapshot();

    // pipeline-entry reads the file before it starts anything.
    assert!(executions.is_empty());
    assert!(seen.executions.is_empty());
    assert!(seen.invalidations.is_empty());
    let message = the_failure(&seen, "ConfigurationError");
    assert_eq!(
        message,
        "Cache invalidation could not start: InvalidInput: `dist/paths.txt` in input artifact \
         BuildOutput does not exist; the artifact holds: invalidation-paths.txt"
    );
}

#[tokio::test]
async fn functions_behind_a_lambda_endpoint_of_their_own_run_the_job() {
    // GIVEN the functions served by a Lambda invoke API started apart from the run (as `sam
    // local start-lambda` serves the deployed build), pointed at the emulator's fixed address.
    let mut settings = settings();
    let emulator_address: std::net::SocketAddr = format!("127.0.0.1:{}", free_port().unwrap())
        .parse()
        .unwrap();
    let deployment = Deployment::load(&repo_root()).unwrap();
    let host = FunctionHost::start(
        &settings,
        &deployment,
        free_port().unwrap(),
        &format!("http://{emulator_address}"),
    )
    .await
    .unwrap();
    settings.lambda_endpoint = Some(LambdaEndpoint {
        url: host.url().to_owned(),
        names: FunctionNames::Binaries,
    });
    settings.emulator_address = Some(emulator_address);

    // WHEN a job goes down the Lambda invoke action path
    let (environment, executions, seen) = run_sample_job(settings).await;

    // THEN the job gets its one success from functions the run did not start.
    assert_eq!(
        environment.endpoint_url(),
        format!("http://{emulator_address}")
    );
    assert!(executions[0].succeeded(), "{:?}", executions[0].error);
    assert_eq!(
        the_result(&seen, JOB_ID).operation,
        Operation::PutJobSuccessResult
    );
    let invoked: BTreeSet<&str> = seen
        .lambda_invocations
        .iter()
        .map(|i| i.function_name.as_str())
        .collect();
    assert_eq!(
        invoked,
        BTreeSet::from([
            "check-status",
            "pipeline-entry",
            "report-result",
            "start-invalidation"
        ])
    );
    drop(host);
}

/// Run by `scripts/test` (and CI) on its own: `cargo test --workspace --test pipeline --
/// --ignored`, so that `cargo test` stays quick.
#[tokio::test]
#[ignore = "50 concurrent runs; scripts/test runs it apart"]
async fn fifty_jobs_at_once_each_get_their_own_single_result() {
    const JOBS: usize = 50;
    let mut settings = settings();
    // Lambda runs concurrent invocations in instances of their own.
    settings.function_instances = 4;
    let environment = Environment::start(settings).await.unwrap();
    let sample = read_repo_json("events/codepipeline-job.json");
    let job_ids: Vec<String> = (0..JOBS)
        .map(|job| format!("{}{job:02}", &JOB_ID[..JOB_ID.len() - 2]))
        .collect();
    // CodePipeline hands out all the jobs before any run has started.
    for job_id in &job_ids {
        let mut event = sample.clone();
        event["CodePipeline.job"]["id"] = json!(job_id);
        environment.deliver_job(&event).await.unwrap();
    }
    let executions = environment.drive_executions(|_, _| {}).await.unwrap();
    let seen = environment.snapshot();

    assert_eq!(executions.len(), JOBS);
    assert!(executions.iter().all(|e| e.succeeded()));
    for job_id in &job_ids {
        let result = the_result(&seen, job_id);
        assert_eq!(result.operation, Operation::PutJobSuccessResult, "{job_id}");
        // Each result names its own run's invalidation.
        let own: Vec<&str> = seen
            .invalidations
            .iter()
            .filter(|i| i.caller_reference == format!("{job_id}-{DISTRIBUTION}"))
            .map(|i| i.id.as_str())
            .collect();
        assert_eq!(own.len(), 1, "{job_id}");
        assert_eq!(
            result.output_variables.as_ref().unwrap()["InvalidationIds"],
            own[0]
        );
    }
    assert_eq!(seen.invalidations.len(), JOBS);
    // 50 runs of one wildcard each on one distribution: CloudFront's limit of 15 wildcards in
    // progress held some back, and they went in later.
    assert!(seen.calls_of(Operation::CreateInvalidation) > JOBS as u64);
}

#[tokio::test]
async fn a_five_megabyte_paths_file_leaves_no_credential_anywhere_step_functions_or_the_emulator_holds(
) {
    // GIVEN a job whose paths file is over 5 MB (160,000 paths)
    let mut settings = settings();
    let lines: String = (0..160_000)
        .map(|i| format!("/assets/build-2026-12/{:03}/file-{i:06}.js\n", i % 400))
        .collect();
    assert!(lines.len() > 5_000_000);
    let job = with_paths_file(
        &mut settings,
        json!({"distributionId": DISTRIBUTION, "pathsFile": "invalidation-paths.txt"}),
        &lines,
    );
    let environment = Environment::start(settings).await.unwrap();

    // WHEN the pipeline runs it
    let executions = environment.run_pipeline_job(&job, |_, _| {}).await.unwrap();
    let seen = environment.snapshot();

    // THEN it succeeds, planned from the whole file, …
    assert_eq!(executions.len(), 1, "{:#?}", seen.job_results);
    assert!(executions[0].succeeded(), "{:?}", executions[0].error);
    let output = executions[0].output.clone().unwrap();
    assert_eq!(output["paths"]["requested"], 160_000);
    // … and no credential is in the execution input, any state's input or output (every
    // interpreter event), or anything the emulator recorded (results, executions, objects,
    // every S3 request with its body).
    let history = serde_json::to_string(&executions[0].events).unwrap();
    let records = serde_json::to_string(&seen).unwrap();
    assert!(
        records.contains("plan.json"),
        "the records hold the plan's write"
    );
    for secret in CREDENTIALS {
        assert!(!history.contains(secret), "a credential is in the history");
        assert!(
            !records.contains(secret),
            "a credential is in the emulator's records"
        );
    }
}
