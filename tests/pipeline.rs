//! End to end, the CodePipeline Lambda invoke action path: the local runner plays CodePipeline
//! (invoking pipeline-entry with the job event, and, through the emulator, creating a new job
//! after each "in progress" reply); pipeline-entry starts executions in the emulated Step
//! Functions; the runner executes each with the real state machine file and function binaries.
//!
//! Needs the tools of scripts/setup and the binaries of `cargo build --workspace --all-targets`.

use std::time::Duration;

use local_run::artifacts::{artifact_access_key, attach_paths_file};
use local_run::deployment::Deployment;
use local_run::hosts::free_port;
use local_run::{repo_root, Environment, FunctionHost, FunctionNames, LambdaEndpoint, Settings};
use serde_json::{json, Value};
use workflow_tests::read_repo_json;

const JOB_ID: &str = "11111111-abcd-1111-abcd-111111abcdef";
const DISTRIBUTION: &str = "E2QWRUHEXAMPLE";

fn settings() -> Settings {
    let mut settings = Settings::new(repo_root());
    settings.distributions = vec![DISTRIBUTION.to_owned()];
    settings.invalidation_time = Duration::from_secs(2);
    settings
}

fn seen(environment: &Environment) -> Value {
    serde_json::to_value(environment.snapshot()).unwrap()
}

fn list<'a>(seen: &'a Value, key: &str) -> &'a Vec<Value> {
    seen[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {seen}"))
}

#[tokio::test]
async fn a_job_starts_one_execution_named_after_it_which_reports_success() {
    let environment = Environment::start(settings()).await.unwrap();
    let answer = environment
        .deliver_job(&read_repo_json("events/codepipeline-job.json"))
        .await
        .unwrap();
    assert_eq!(answer["executionName"], format!("job-{JOB_ID}"));
    let executions = environment.drive_executions(|_, _| {}).await.unwrap();
    let seen = seen(&environment);

    assert_eq!(executions.len(), 1);
    assert!(executions[0].succeeded(), "{:?}", executions[0].error);
    assert_eq!(list(&seen, "executions").len(), 1);
    assert_eq!(list(&seen, "invalidations").len(), 1);
    let results = list(&seen, "jobResults");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["operation"], "PutJobSuccessResult");
    assert_eq!(results[0]["jobId"], JOB_ID);
    assert!(results[0].get("continuationToken").is_none());
    // The result names the run, so the pipeline leads to it.
    assert_eq!(
        results[0]["executionDetails"]["externalExecutionId"],
        list(&seen, "executions")[0]["executionArn"]
    );
}

#[tokio::test]
async fn functions_behind_a_lambda_endpoint_of_their_own_run_the_job() {
    // GIVEN the functions served by a Lambda invoke API started apart from the run (as `sam
    // local start-lambda` serves the deployed build), pointed at the emulator's fixed address.
    let settings = settings();
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
    let mut settings = settings;
    settings.lambda_endpoint = Some(LambdaEndpoint {
        url: host.url().to_owned(),
        names: FunctionNames::Binaries,
    });
    settings.emulator_address = Some(emulator_address);

    // WHEN a job goes down the Lambda invoke action path
    let environment = Environment::start(settings).await.unwrap();
    let executions = environment
        .run_pipeline_job(&read_repo_json("events/codepipeline-job.json"), |_, _| {})
        .await
        .unwrap();
    let seen = seen(&environment);

    // THEN the job gets its one success from functions the run did not start.
    assert_eq!(
        environment.endpoint_url(),
        format!("http://{emulator_address}")
    );
    assert!(executions[0].succeeded(), "{:?}", executions[0].error);
    let results = list(&seen, "jobResults");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["operation"], "PutJobSuccessResult");
    let snapshot = environment.snapshot();
    let invoked: std::collections::BTreeSet<&str> = snapshot
        .lambda_invocations
        .iter()
        .map(|i| i.function_name.as_str())
        .collect();
    assert_eq!(
        invoked,
        [
            "check-status",
            "pipeline-entry",
            "report-result",
            "start-invalidation"
        ]
        .into_iter()
        .collect()
    );
    drop(host);
}

#[tokio::test]
async fn the_same_job_delivered_twice_makes_one_execution_one_invalidation_one_result() {
    let environment = Environment::start(settings()).await.unwrap();
    let job = read_repo_json("events/codepipeline-job.json");
    environment.deliver_job(&job).await.unwrap();
    // Lambda retries an asynchronous invocation; CodePipeline may invoke again.
    let again = environment.deliver_job(&job).await.unwrap();
    let executions = environment.drive_executions(|_, _| {}).await.unwrap();
    let seen = seen(&environment);

    assert_eq!(executions.len(), 1);
    let started = list(&seen, "executions");
    assert_eq!(started.len(), 1, "{started:#?}");
    assert_eq!(started[0]["startCalls"], 2, "both deliveries asked");
    assert!(
        again["executionArn"].is_string() || again["alreadyStarted"] == true,
        "{again}"
    );
    assert_eq!(list(&seen, "invalidations").len(), 1);
    assert_eq!(list(&seen, "jobResults").len(), 1);
}

#[tokio::test]
async fn an_invalidation_that_outlasts_the_reply_window_continues_in_a_new_job() {
    let mut settings = settings();
    settings.invalidation_time = Duration::from_secs(6);
    settings.reply_window = Some(Duration::from_secs(3));
    let environment = Environment::start(settings).await.unwrap();
    let executions = environment
        .run_pipeline_job(&read_repo_json("events/codepipeline-job.json"), |_, _| {})
        .await
        .unwrap();
    let seen = seen(&environment);
    println!("{}", serde_json::to_string_pretty(&seen).unwrap());

    let results = list(&seen, "jobResults");
    assert!(results.len() >= 2, "{results:#?}");
    let (last, earlier) = results.split_last().unwrap();
    // Every earlier reply was "in progress" with a token, the first one on the original job…
    assert_eq!(earlier[0]["jobId"], JOB_ID);
    for reply in earlier {
        assert_eq!(reply["operation"], "PutJobSuccessResult");
        let token: Value =
            serde_json::from_str(reply["continuationToken"].as_str().unwrap()).unwrap();
        assert_eq!(token["invalidations"][0][0], DISTRIBUTION);
        assert!(
            reply["executionDetails"]["percentComplete"]
                .as_i64()
                .unwrap()
                < 100
        );
    }
    // …and the final success went to a job CodePipeline created from the token.
    assert_eq!(last["operation"], "PutJobSuccessResult");
    assert!(last.get("continuationToken").is_none());
    assert_ne!(last["jobId"], JOB_ID);
    let jobs = list(&seen, "jobs");
    let final_job = jobs
        .iter()
        .find(|job| job["jobId"] == last["jobId"])
        .expect("the final job was created by a continuation");
    assert!(final_job["continuedFrom"].is_string(), "{final_job}");
    // One invalidation, created once; every execution succeeded.
    assert_eq!(list(&seen, "invalidations").len(), 1);
    assert_eq!(seen["calls"]["CreateInvalidation"], 1);
    assert_eq!(executions.len(), results.len());
    assert!(executions.iter().all(|e| e.succeeded()));
}

#[tokio::test]
async fn a_run_that_cannot_start_is_reported_by_pipeline_entry() {
    let mut settings = settings();
    settings.env_overrides.push((
        "pipeline-entry".to_owned(),
        "STATE_MACHINE_ARN".to_owned(),
        "arn:aws:states:us-east-1:123456789012:stateMachine:Missing".to_owned(),
    ));
    let environment = Environment::start(settings).await.unwrap();
    let answer = environment
        .deliver_job(&read_repo_json("events/codepipeline-job.json"))
        .await
        .unwrap();
    let seen = seen(&environment);

    assert!(
        answer["failureReported"]
            .as_str()
            .unwrap()
            .contains("StateMachineDoesNotExist"),
        "{answer}"
    );
    assert!(list(&seen, "executions").is_empty());
    assert!(list(&seen, "invalidations").is_empty());
    let results = list(&seen, "jobResults");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["operation"], "PutJobFailureResult");
    assert_eq!(results[0]["failureDetails"]["type"], "ConfigurationError");
    let message = results[0]["failureDetails"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Cache invalidation could not start: InvalidInput: StartExecution"),
        "{message}"
    );
    assert_eq!(json!(answer["jobId"]), json!(JOB_ID));
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
async fn ten_thousand_file_paths_from_the_build_artifact_go_in_four_batches_on_one_distribution() {
    let mut settings = settings();
    settings.invalidation_time = Duration::from_secs(1);
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
    let seen = seen(&environment);

    assert_eq!(executions.len(), 1);
    assert!(executions[0].succeeded(), "{:?}", executions[0].error);
    let invalidations = list(&seen, "invalidations");
    let sizes: Vec<usize> = invalidations
        .iter()
        .map(|i| i["paths"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [3000, 3000, 3000, 1000]);
    assert!(invalidations.iter().all(|i| i["status"] == "Completed"));
    // The emulator refuses more than 3000 file paths in progress: every call went in.
    assert_eq!(seen["calls"]["CreateInvalidation"], 4);
    let every_path: std::collections::BTreeSet<&str> = invalidations
        .iter()
        .flat_map(|i| i["paths"].as_array().unwrap())
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(every_path.len(), 10_000);
    // 10,000 paths do not fit in the execution input: pipeline-entry read the artifact, then
    // start-invalidation, and check-status again for each later batch.
    assert_eq!(seen["calls"]["GetObject"], 5);
    let results = list(&seen, "jobResults");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["operation"], "PutJobSuccessResult");
    let summary = results[0]["executionDetails"]["summary"].as_str().unwrap();
    assert!(summary.contains("10000 paths"), "{summary}");
    let output = executions[0].output.clone().unwrap();
    assert_eq!(output["paths"]["requested"], 10_000);
    assert_eq!(output["paths"]["batches"], 4);
}

#[tokio::test]
async fn a_paths_file_listed_as_json_is_planned_with_the_default_collapse() {
    let mut settings = settings();
    // Trace-level logs of the functions that may sign S3 requests with the job's credentials,
    // apart from other tests' logs.
    settings.log_dir = settings.log_dir.join("paths-file-at-trace-level");
    let log_dir = settings.log_dir.clone();
    let _ = std::fs::remove_dir_all(&log_dir);
    for function in ["pipeline-entry", "start-invalidation", "check-status"] {
        settings
            .env_overrides
            .push((function.into(), "RUST_LOG".into(), "trace".into()));
    }
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
    let seen = seen(&environment);

    assert!(executions[0].succeeded(), "{:?}", executions[0].error);
    let invalidations = list(&seen, "invalidations");
    assert_eq!(invalidations.len(), 1);
    assert_eq!(invalidations[0]["paths"], json!(["/blog/*", "/index.html"]));
    let output = executions[0].output.clone().unwrap();
    assert_eq!(output["paths"]["requested"], 151);
    assert_eq!(output["paths"]["planned"], 2);

    // pipeline-entry read the file, once, and put its paths in the execution input, which
    // therefore carries no credential: the run read no artifact.
    assert_eq!(seen["calls"]["GetObject"], 1);
    let entry_log = std::fs::read_to_string(log_dir.join("pipeline-entry.log")).unwrap();
    assert!(entry_log.contains("paths file read"), "{entry_log}");
    let execution_input = list(&seen, "executions")[0]["input"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        execution_input.contains("\"pathsFromFile\""),
        "{execution_input}"
    );
    let logs: String = ["pipeline-entry", "start-invalidation", "check-status"]
        .iter()
        .map(|function| std::fs::read_to_string(log_dir.join(format!("{function}.log"))).unwrap())
        .chain([execution_input])
        .collect();
    assert!(
        logs.contains("\"level\":\"DEBUG\""),
        "the log is verbose: {logs}"
    );
    let credentials = &job["CodePipeline.job"]["data"]["artifactCredentials"];
    for key in ["accessKeyId", "secretAccessKey", "sessionToken"] {
        let secret = credentials[key].as_str().unwrap();
        assert!(!logs.contains(secret), "{key} is in the log");
    }
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
    let seen = seen(&environment);

    // pipeline-entry reads the file before it starts anything.
    assert!(executions.is_empty());
    assert!(list(&seen, "executions").is_empty());
    assert!(list(&seen, "invalidations").is_empty());
    let results = list(&seen, "jobResults");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["operation"], "PutJobFailureResult");
    assert_eq!(results[0]["failureDetails"]["type"], "ConfigurationError");
    let message = results[0]["failureDetails"]["message"].as_str().unwrap();
    assert_eq!(
        message,
        "Cache invalidation could not start: InvalidInput: `dist/paths.txt` in input artifact \
         BuildOutput does not exist; the artifact holds: invalidation-paths.txt"
    );
}
