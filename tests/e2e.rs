//! End to end, through the local runner: the state machine file that deploys, executed by
//! aws-local-stepfunctions, invoking the real function binaries behind cargo-lambda's runtime
//! API, which call the AWS emulator. Assertions are on what a user sees: the execution's result
//! and what CodePipeline and CloudFront received.
//!
//! Runs are in virtual time (see `local_run::Settings::virtual_time`): Wait states take none,
//! the emulator's clock moves on instead, so invalidations of minutes complete at once.
//!
//! Needs the tools of scripts/setup and the binaries of `cargo build --workspace --all-targets`
//! (scripts/test does both first).

use std::time::Duration;

use aws_emulator::{Operation, Snapshot};
use local_run::{Environment, Execution, Settings};
use serde_json::{json, Value};
use workflow_tests::{
    assert_failed_with, entered, job_with, read_repo_json, settings, summary, the_failure,
    the_result, DISTRIBUTION, JOB_ID, SECOND_DISTRIBUTION,
};

async fn run_once(settings: Settings, input: &Value, name: &str) -> (Execution, Snapshot) {
    let environment = Environment::start(settings)
        .await
        .expect("local environment starts");
    let execution = environment
        .execute(input, name, |_| {})
        .await
        .expect("execution runs");
    (execution, environment.snapshot())
}

#[tokio::test]
async fn a_pipeline_job_waits_for_completed_then_reports_success() {
    let input = read_repo_json("events/codepipeline-job.json");
    let (execution, seen) = run_once(settings(&[DISTRIBUTION]), &input, "job-once").await;

    assert!(execution.succeeded(), "{:?}", execution.error);
    assert_eq!(seen.invalidations.len(), 1);
    let invalidation = &seen.invalidations[0];
    assert_eq!(invalidation.distribution_id, DISTRIBUTION);
    assert_eq!(invalidation.paths, ["/css/*", "/index.html"]);
    assert_eq!(
        invalidation.caller_reference,
        format!("{JOB_ID}-{DISTRIBUTION}")
    );
    assert_eq!(invalidation.status, "Completed");

    let result = the_result(&seen, JOB_ID);
    assert_eq!(result.operation, Operation::PutJobSuccessResult);
    let summary = summary(result);
    assert!(
        summary.contains(&format!(
            "{DISTRIBUTION} (invalidation {})",
            invalidation.id
        )),
        "{summary}"
    );
    assert_eq!(
        result.output_variables.as_ref().unwrap()["InvalidationIds"],
        invalidation.id
    );
    // The run waited: an 8-second invalidation was checked while InProgress (at 5 s), then
    // seen Completed (at 15 s).
    assert_eq!(entered(&execution, "CheckStatus"), 2);
    assert_eq!(execution.output.unwrap()["status"], "Succeeded");
}

#[tokio::test]
async fn several_distributions_get_one_invalidation_each_and_one_result() {
    let input =
        job_with(json!({"distributionIds": [DISTRIBUTION, SECOND_DISTRIBUTION], "paths": ["/*"]}));
    let (execution, seen) = run_once(
        settings(&[DISTRIBUTION, SECOND_DISTRIBUTION]),
        &input,
        "job-several",
    )
    .await;

    assert!(execution.succeeded(), "{:?}", execution.error);
    let mut distributions: Vec<&str> = seen
        .invalidations
        .iter()
        .map(|i| i.distribution_id.as_str())
        .collect();
    distributions.sort();
    assert_eq!(distributions, [SECOND_DISTRIBUTION, DISTRIBUTION]);
    assert!(seen.invalidations.iter().all(|i| i.status == "Completed"));
    let result = the_result(&seen, JOB_ID);
    assert_eq!(result.operation, Operation::PutJobSuccessResult);
    let ids = &result.output_variables.as_ref().unwrap()["InvalidationIds"];
    assert_eq!(ids.split(',').count(), 2, "{ids}");
}

#[tokio::test]
async fn console_input_without_a_job_shapes_the_output_and_calls_no_codepipeline() {
    let input = read_repo_json("events/console-input.json");
    let (execution, seen) = run_once(settings(&[DISTRIBUTION]), &input, "console-run").await;

    assert!(execution.succeeded(), "{:?}", execution.error);
    assert!(seen.job_results.is_empty());
    assert_eq!(
        seen.calls_of(Operation::PutJobSuccessResult)
            + seen.calls_of(Operation::PutJobFailureResult),
        0
    );
    let output = execution.output.unwrap();
    assert_eq!(output["status"], "Succeeded");
    assert_eq!(
        output["invalidations"][0]["callerReference"],
        format!("console-run-{DISTRIBUTION}")
    );
    assert!(output.get("codePipeline").is_none(), "{output}");
}

#[tokio::test]
async fn an_unknown_distribution_is_a_configuration_error_and_creates_nothing() {
    let input = read_repo_json("events/codepipeline-job.json");
    let (execution, seen) = run_once(settings(&[]), &input, "job-unknown").await;

    let cause = assert_failed_with(&execution, "DistributionNotFound");
    assert_eq!(
        cause,
        "CreateInvalidation on distribution E2QWRUHEXAMPLE: NoSuchDistribution (HTTP 404): The \
         specified distribution does not exist: E2QWRUHEXAMPLE"
    );
    assert!(seen.invalidations.is_empty());
    let message = the_failure(&seen, "ConfigurationError");
    assert_eq!(
        message,
        format!("Cache invalidation failed: DistributionNotFound: {cause}")
    );
    // Even when the run failed before it had a state, the result names the execution.
    let details = the_result(&seen, JOB_ID).failure_details.as_ref().unwrap();
    assert_eq!(
        details.external_execution_id.as_deref(),
        Some(
            "arn:aws:states:us-east-1:123456789012:execution:InvalidationStateMachine:job-unknown"
        )
    );
}

#[tokio::test]
async fn an_invalid_path_fails_before_any_call_to_cloudfront() {
    let input =
        job_with(json!({"distributionId": DISTRIBUTION, "paths": ["/ok.html", "img/*.png"]}));
    let (execution, seen) = run_once(settings(&[DISTRIBUTION]), &input, "job-bad-path").await;

    let cause = assert_failed_with(&execution, "InvalidInput");
    assert_eq!(
        cause,
        "path `img/*.png` may hold * only as its last character"
    );
    assert_eq!(seen.calls_of(Operation::CreateInvalidation), 0);
    let message = the_failure(&seen, "ConfigurationError");
    assert_eq!(
        message,
        format!("Cache invalidation failed: InvalidInput: {cause}")
    );
}

#[tokio::test]
async fn past_the_deadline_the_failure_names_the_invalidation_still_in_progress() {
    // The functions keep real time: a one-second deadline passes while the checks go on, each
    // moving the emulated time on by a second.
    let input = job_with(json!({"distributionId": DISTRIBUTION, "timeoutSeconds": 1}));
    let mut settings = settings(&[DISTRIBUTION]);
    settings.invalidation_time = Duration::from_secs(3600);
    let (execution, seen) = run_once(settings, &input, "job-deadline").await;

    let cause = assert_failed_with(&execution, "InvalidationTimedOut");
    let id = &seen.invalidations[0].id;
    // The cause names what is still in progress, then every invalidation the run created.
    assert!(
        cause.starts_with("still in progress at the deadline ")
            && cause.ends_with(&format!(
                "checks: {id} on {DISTRIBUTION}; already created: {DISTRIBUTION}: {id}"
            )),
        "{cause}"
    );
    let message = the_failure(&seen, "JobFailed");
    assert_eq!(
        message,
        format!("Cache invalidation failed: InvalidationTimedOut: {cause}")
    );
}

#[tokio::test]
async fn the_same_job_run_twice_creates_one_invalidation_and_records_one_result() {
    let input = read_repo_json("events/codepipeline-job.json");
    let environment = Environment::start(settings(&[DISTRIBUTION])).await.unwrap();
    let first = environment
        .execute(&input, "job-twice-1", |_| {})
        .await
        .unwrap();
    let second = environment
        .execute(&input, "job-twice-2", |_| {})
        .await
        .unwrap();
    let seen = environment.snapshot();

    assert!(first.succeeded(), "{:?}", first.error);
    assert_eq!(
        seen.calls_of(Operation::CreateInvalidation),
        2,
        "both runs asked"
    );
    assert_eq!(seen.invalidations.len(), 1, "CloudFront made one");
    assert_eq!(
        the_result(&seen, JOB_ID).operation,
        Operation::PutJobSuccessResult
    );
    // The second run could not record a result on a closed job, and says so; its fallback
    // met the same closed job and recorded nothing either.
    let cause = assert_failed_with(&second, "ReportFailed");
    assert!(
        cause.starts_with(
            "JobAlreadyClosed: PutJobSuccessResult for job 11111111-abcd-1111-abcd-111111abcdef: \
             InvalidJobStateException (HTTP 400)"
        ),
        "{cause}"
    );
    assert_eq!(entered(&second, "RecordFailureOfRunJob"), 1);
}

#[tokio::test]
async fn with_a_third_of_all_calls_failing_the_job_still_gets_exactly_one_success() {
    // Two distributions make enough calls (two creates, several checks, one report) that a 30 %
    // rate surely hits some of them.
    let input = job_with(json!({"distributionIds": [DISTRIBUTION, SECOND_DISTRIBUTION]}));
    let mut settings = settings(&[DISTRIBUTION, SECOND_DISTRIBUTION]);
    settings.fault_rate = 0.3;
    settings.seed = 7;
    let (execution, seen) = run_once(settings, &input, "job-faults").await;

    assert!(execution.succeeded(), "{:?}", execution.error);
    assert!(!seen.fault_log.is_empty(), "faults were injected");
    assert_eq!(seen.invalidations.len(), 2);
    assert_eq!(
        the_result(&seen, JOB_ID).operation,
        Operation::PutJobSuccessResult
    );
}

#[tokio::test]
async fn forty_wildcards_on_two_distributions_go_in_batch_after_batch_within_the_limits() {
    let paths: Vec<String> = (0..40).map(|i| format!("/section-{i:02}/*")).collect();
    let input =
        job_with(json!({"distributionIds": [DISTRIBUTION, SECOND_DISTRIBUTION], "paths": paths}));
    let (execution, seen) = run_once(
        settings(&[DISTRIBUTION, SECOND_DISTRIBUTION]),
        &input,
        "job-batches",
    )
    .await;

    assert!(execution.succeeded(), "{:?}", execution.error);
    for distribution in [DISTRIBUTION, SECOND_DISTRIBUTION] {
        let sizes: Vec<usize> = seen
            .invalidations
            .iter()
            .filter(|i| i.distribution_id == distribution)
            .map(|i| i.paths.len())
            .collect();
        assert_eq!(sizes, [15, 15, 10], "{distribution}");
    }
    assert!(seen.invalidations.iter().all(|i| i.status == "Completed"));
    // The emulator enforces the 15-wildcard limit: no call was refused.
    assert_eq!(seen.calls_of(Operation::CreateInvalidation), 6);
    the_result(&seen, JOB_ID);
    let output = execution.output.unwrap();
    assert_eq!(output["paths"]["requested"], 40);
    assert_eq!(output["paths"]["batches"], 6);
}

/// A CloudFront client of another deploy, pointed at the run's emulator.
fn another_deploy(endpoint_url: &str) -> aws_sdk_cloudfront::Client {
    let config = aws_sdk_cloudfront::Config::builder()
        .behavior_version(aws_sdk_cloudfront::config::BehaviorVersion::latest())
        .endpoint_url(endpoint_url)
        .region(aws_sdk_cloudfront::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cloudfront::config::Credentials::new(
            "AKIDOTHERDEPLOY",
            "other-secret",
            None,
            None,
            "test",
        ))
        .http_client(invalidation::sdk::http_client())
        .build();
    aws_sdk_cloudfront::Client::from_conf(config)
}

#[tokio::test]
async fn a_foreign_invalidation_holding_the_limit_delays_the_run_without_failing_it() {
    let environment = Environment::start(settings(&[DISTRIBUTION])).await.unwrap();
    // Another deploy holds 10 of the distribution's 15 wildcards for 8 s (of virtual time).
    let foreign_paths: Vec<String> = (0..10).map(|i| format!("/other-{i}/*")).collect();
    another_deploy(&environment.endpoint_url())
        .create_invalidation()
        .distribution_id(DISTRIBUTION)
        .invalidation_batch(
            aws_sdk_cloudfront::types::InvalidationBatch::builder()
                .caller_reference("other-deploy")
                .paths(
                    aws_sdk_cloudfront::types::Paths::builder()
                        .quantity(10)
                        .set_items(Some(foreign_paths))
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let paths: Vec<String> = (0..20).map(|i| format!("/section-{i:02}/*")).collect();
    let input = json!({"distributionId": DISTRIBUTION, "paths": paths});

    let execution = environment
        .execute(&input, "beside-another-deploy", |_| {})
        .await
        .unwrap();
    let seen = environment.snapshot();

    assert!(execution.succeeded(), "{:?}", execution.error);
    let ours: Vec<usize> = seen
        .invalidations
        .iter()
        .filter(|i| i.caller_reference != "other-deploy")
        .map(|i| i.paths.len())
        .collect();
    assert_eq!(ours, [15, 5]);
    // The first batch was refused while the foreign one ran (at the start and at the first check,
    // 5 s in), and went in at the next check, 15 s in, after it completed at 8 s.
    let refused = seen.calls_of(Operation::CreateInvalidation) - seen.invalidations.len() as u64;
    assert_eq!(refused, 2, "{:?}", seen.calls);
    assert_eq!(execution.output.unwrap()["status"], "Succeeded");
}

#[tokio::test]
async fn a_distribution_tenant_and_a_distribution_are_invalidated_side_by_side() {
    const TENANT: &str = "dt_2wjDZi3hD1ivOXf6rpZJO1AB";
    let input = json!({"distributionIds": [TENANT, DISTRIBUTION], "paths": ["/index.html"]});
    let (execution, seen) = run_once(settings(&[TENANT, DISTRIBUTION]), &input, "tenant").await;

    assert!(execution.succeeded(), "{:?}", execution.error);
    let tenants: Vec<(&str, bool)> = seen
        .invalidations
        .iter()
        .map(|i| (i.distribution_id.as_str(), i.tenant))
        .collect();
    assert_eq!(tenants, [(TENANT, true), (DISTRIBUTION, false)]);
    assert!(seen.invalidations.iter().all(|i| i.status == "Completed"));
    assert_eq!(
        seen.calls_of(Operation::CreateInvalidationForDistributionTenant),
        1
    );
    assert_eq!(seen.calls_of(Operation::CreateInvalidation), 1);
    assert!(seen.calls_of(Operation::GetInvalidationForDistributionTenant) >= 1);
    let output = execution.output.unwrap();
    assert_eq!(output["invalidations"][0]["distributionId"], TENANT);
}

#[tokio::test]
async fn the_stepfunctions_action_names_the_execution_and_fails_with_the_runs_error() {
    use local_run::stepfunctions_action::{ActionInput, StepFunctionsAction};
    // GIVEN an action whose literal input names a distribution that does not exist
    let environment = Environment::start(settings(&[])).await.unwrap();
    let action = StepFunctionsAction {
        input: ActionInput::Literal(format!(r#"{{"distributionId":"{DISTRIBUTION}"}}"#)),
        execution_name_prefix: Some("invalidate".into()),
    };

    // WHEN CodePipeline runs the action
    let result = environment
        .run_stepfunctions_action(&action, |_, _| {})
        .await
        .unwrap();

    // THEN it fails with the run's error and cause, and names the execution it watched
    assert_eq!(result.status, "Failed");
    assert_eq!(result.execution_status, "FAILED");
    let (error, cause) = result.error.unwrap();
    assert_eq!(error, "DistributionNotFound");
    assert!(cause.contains(DISTRIBUTION), "{cause}");
    let snapshot = environment.snapshot();
    assert_eq!(snapshot.executions.len(), 1);
    let execution = &snapshot.executions[0];
    assert!(
        execution.name.starts_with("invalidate-"),
        "{}",
        execution.name
    );
    assert_eq!(
        result.variables,
        [
            (
                "StateMachineArn",
                "arn:aws:states:us-east-1:123456789012:stateMachine:InvalidationStateMachine"
                    .to_owned()
            ),
            ("ExecutionArn", execution.execution_arn.clone()),
        ]
    );
    assert!(snapshot.job_results.is_empty(), "no job, no PutJob*");
    assert!(snapshot.invalidations.is_empty());
}

#[tokio::test]
async fn the_stepfunctions_action_reads_a_file_path_input_from_its_artifact() {
    use local_run::artifacts::zip_files;
    use local_run::stepfunctions_action::{ActionInput, StepFunctionsAction};
    let environment = Environment::start(settings(&[DISTRIBUTION])).await.unwrap();
    let input = format!(r#"{{"distributionId":"{DISTRIBUTION}","paths":["/a b.html"]}}"#);
    let action = StepFunctionsAction {
        input: ActionInput::FilePath {
            path: "out/invalidation.json".into(),
            artifact_zip: zip_files(&[("out/invalidation.json", input.as_bytes())]),
        },
        execution_name_prefix: None,
    };

    let result = environment
        .run_stepfunctions_action(&action, |_, _| {})
        .await
        .unwrap();

    assert_eq!(result.status, "Succeeded", "{:?}", result.error);
    let snapshot = environment.snapshot();
    assert_eq!(snapshot.invalidations.len(), 1);
    assert_eq!(snapshot.invalidations[0].paths, ["/a%20b.html"]);
    let output: Value = serde_json::from_str(result.output.as_deref().unwrap()).unwrap();
    assert_eq!(output["status"], "Succeeded");
    // Without a prefix the execution is named by the action execution id, a UUID.
    assert_eq!(snapshot.executions[0].name.len(), 36);
}

// Cache tags (`#tag` items, CloudFront 2026). Every emulated distribution has a CacheTagConfig
// unless `Settings::without_cache_tags` names it, as with local-run's `--without-cache-tags`.

#[tokio::test]
async fn a_tag_beside_a_path_reaches_cloudfront_as_written() {
    // The command of a new user: a tag, then a path, from the Step Functions console.
    let input = json!({"distributionId": DISTRIBUTION, "paths": ["#product-123", "/a.html"]});
    let (execution, seen) = run_once(settings(&[DISTRIBUTION]), &input, "tag-and-path").await;

    assert!(execution.succeeded(), "{:?}", execution.error);
    assert_eq!(seen.invalidations.len(), 1);
    // Neither a leading `/` nor `%23`: the tag as the user wrote it.
    assert_eq!(seen.invalidations[0].paths, ["#product-123", "/a.html"]);
    let output = execution.output.unwrap();
    assert_eq!(output["paths"]["planned"], 2);
    assert_eq!(output["paths"]["tags"], 1);
    assert_eq!(output["paths"]["estimatedCostUsd"], 0.01);
    let summary = output["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("Invalidated 1 path and 1 cache tag (2 requested) on E2QWRUHEXAMPLE"),
        "{summary}"
    );
    assert!(
        summary.contains("(a cache tag is billed as one path)"),
        "{summary}"
    );
}

#[tokio::test]
async fn tags_alone_from_a_pipeline_invalidate_no_path() {
    let input =
        job_with(json!({"distributionId": DISTRIBUTION, "tags": ["product-123", "#brand:acme"]}));
    let (execution, seen) = run_once(settings(&[DISTRIBUTION]), &input, "tags-alone").await;

    assert!(execution.succeeded(), "{:?}", execution.error);
    assert_eq!(seen.invalidations.len(), 1);
    assert_eq!(seen.invalidations[0].paths, ["#brand:acme", "#product-123"]);
    let result = the_result(&seen, JOB_ID);
    assert_eq!(result.operation, Operation::PutJobSuccessResult);
    assert!(
        summary(result).starts_with("Invalidated 2 cache tags (2 requested) on E2QWRUHEXAMPLE"),
        "{}",
        summary(result)
    );
}

#[tokio::test]
async fn tags_paths_and_wildcards_on_two_distributions_are_planned_once_for_both() {
    let input = job_with(json!({
        "distributionIds": [DISTRIBUTION, SECOND_DISTRIBUTION],
        "paths": ["/img/*", "#Release-42", "/img/logo.png", "index.html", "#release-42"],
        "tags": ["brand:acme"]
    }));
    let (execution, seen) = run_once(
        settings(&[DISTRIBUTION, SECOND_DISTRIBUTION]),
        &input,
        "tags-two-distributions",
    )
    .await;

    assert!(execution.succeeded(), "{:?}", execution.error);
    assert_eq!(seen.invalidations.len(), 2);
    for invalidation in &seen.invalidations {
        // The wildcard covers /img/logo.png and never a tag; the tag's two spellings are one
        // (CloudFront compares tags without regard to case).
        assert_eq!(
            invalidation.paths,
            ["#Release-42", "#brand:acme", "/img/*", "/index.html"],
            "{}",
            invalidation.distribution_id
        );
        assert_eq!(invalidation.status, "Completed");
    }
    let summary = summary(the_result(&seen, JOB_ID));
    assert!(
        summary.starts_with("Invalidated 2 paths and 2 cache tags (6 requested) on "),
        "{summary}"
    );
    // Four items on each of two distributions.
    assert!(summary.contains("Estimated cost $0.040"), "{summary}");
}

#[tokio::test]
async fn a_tag_on_a_distribution_without_cache_tag_config_fails_saying_what_to_configure() {
    let mut settings = settings(&[DISTRIBUTION]);
    settings.without_cache_tags = vec![DISTRIBUTION.into()];
    let input =
        job_with(json!({"distributionId": DISTRIBUTION, "paths": ["#product-123", "/a.html"]}));
    let (execution, seen) = run_once(settings, &input, "tag-without-config").await;

    let cause = assert_failed_with(&execution, "InvalidInput");
    assert!(
        cause.starts_with(
            "CreateInvalidation on distribution E2QWRUHEXAMPLE: InvalidArgument (HTTP 400): "
        ),
        "{cause}"
    );
    assert!(
        cause.ends_with(
            "(the batch holds 1 cache tag: CloudFront invalidates by tag only on a distribution \
             whose DistributionConfig has a CacheTagConfig naming the response header that \
             carries the tags, such as x-amz-meta-cache-tag for an S3 origin)"
        ),
        "{cause}"
    );
    assert!(seen.invalidations.is_empty());
    let message = the_failure(&seen, "ConfigurationError");
    assert_eq!(
        message,
        format!("Cache invalidation failed: InvalidInput: {cause}")
    );
}

#[tokio::test]
async fn a_malformed_tag_is_refused_by_name_before_cloudfront_is_called() {
    let input =
        job_with(json!({"distributionId": DISTRIBUTION, "paths": ["/a.html", "#product-*"]}));
    let (execution, seen) = run_once(settings(&[DISTRIBUTION]), &input, "tag-malformed").await;

    let cause = assert_failed_with(&execution, "InvalidInput");
    assert_eq!(
        cause,
        "cache tag `#product-*` holds *: CloudFront matches cache tags exactly and takes no \
         wildcard in them"
    );
    assert_eq!(seen.calls_of(Operation::CreateInvalidation), 0);
    the_failure(&seen, "ConfigurationError");
}

/// Forty distribution ids of the form CloudFront gives.
fn forty_distributions() -> Vec<String> {
    (0..40).map(|n| format!("E{n:0>13}")).collect()
}

/// Every CloudFront call fails half the time (throttling or 5xx).
fn half_of_cloudfront_failing(settings: &mut Settings) {
    let spec = aws_emulator::FaultSpec {
        error_rate: 0.5,
        codes: vec![
            aws_emulator::FaultCode::Throttling,
            aws_emulator::FaultCode::InternalError,
            aws_emulator::FaultCode::ServiceUnavailable,
        ],
        ..aws_emulator::FaultSpec::default()
    };
    for operation in [Operation::CreateInvalidation, Operation::GetInvalidation] {
        settings.faults.push((operation, spec.clone()));
    }
}

#[tokio::test]
async fn forty_distributions_with_half_of_cloudfronts_answers_failing_each_get_their_invalidation_and_one_success(
) {
    // A status read that fails after the SDK's retries keeps its last status until the next
    // check, and a creation that fails waits for it: nothing fails the whole step.
    let ids = forty_distributions();
    let names: Vec<&str> = ids.iter().map(String::as_str).collect();
    let input = job_with(json!({ "distributionIds": ids }));
    let mut settings = settings(&names);
    half_of_cloudfront_failing(&mut settings);
    settings.seed = 11;
    let (execution, seen) = run_once(settings, &input, "job-forty-faults").await;

    assert!(execution.succeeded(), "{:?}", execution.error);
    assert!(
        seen.faults_of(Operation::GetInvalidation) + seen.faults_of(Operation::CreateInvalidation)
            > 40,
        "faults were injected"
    );
    let per_distribution: std::collections::BTreeSet<&str> = seen
        .invalidations
        .iter()
        .map(|i| i.distribution_id.as_str())
        .collect();
    assert_eq!((seen.invalidations.len(), per_distribution.len()), (40, 40));
    assert_eq!(
        the_result(&seen, JOB_ID).operation,
        Operation::PutJobSuccessResult
    );
}

#[tokio::test]
async fn a_refusal_on_one_of_forty_distributions_names_every_invalidation_the_run_created() {
    let ids = forty_distributions();
    let names: Vec<&str> = ids.iter().map(String::as_str).collect();
    let input = job_with(json!({ "distributionIds": ids }));
    let mut settings = settings(&names);
    half_of_cloudfront_failing(&mut settings);
    settings.denied = vec![ids[20].clone()];
    settings.seed = 5;
    let (execution, seen) = run_once(settings, &input, "job-forty-refused").await;

    let cause = assert_failed_with(&execution, "AccessDenied");
    let message = the_failure(&seen, "PermissionError");
    assert!(!seen.invalidations.is_empty());
    for invalidation in &seen.invalidations {
        let named = format!("{}: {}", invalidation.distribution_id, invalidation.id);
        assert!(message.contains(&named), "{named} is not in {message}");
        assert!(cause.contains(&named), "{named} is not in the cause");
    }
}

#[tokio::test]
async fn a_run_writes_one_metric_record_of_what_it_sent_and_how_long_it_took() {
    let input =
        json!({"distributionId": DISTRIBUTION, "paths": ["/a.html", "/img/*", "#product-123"]});
    let environment = Environment::start(settings(&[DISTRIBUTION])).await.unwrap();
    let execution = environment
        .execute(&input, "measured", |_| {})
        .await
        .unwrap();
    assert!(execution.succeeded(), "{:?}", execution.error);

    let records = workflow_tests::metric_records(&environment, 1).await;
    assert_eq!(records.len(), 1, "one record per run");
    let record = &records[0];
    assert_eq!(record["Stack"], "local");
    assert_eq!(record["Outcome"], "Succeeded");
    assert!(record.get("ErrorName").is_none());
    assert_eq!(record["Runs"], 1);
    for sent in [
        "Invalidations",
        "PathsSent",
        "WildcardsSent",
        "CacheTagsSent",
    ] {
        assert_eq!(record[sent], 1, "{sent}");
    }
    assert_eq!(record["EstimatedCost"], 0.015);
    // The invalidation was seen InProgress, then Completed, by this execution.
    assert_eq!(record["InvalidationDuration"].as_array().unwrap().len(), 1);
    assert_eq!(record["DetectionLag"].as_array().unwrap().len(), 1);
    assert!(record["RunDuration"].as_f64().unwrap() >= 0.0);
    assert_eq!(
        record["executionArn"],
        "arn:aws:states:us-east-1:123456789012:execution:InvalidationStateMachine:measured"
    );
    assert_eq!(record["distributionIds"], json!([DISTRIBUTION]));
    assert!(record.get("jobId").is_none(), "console input has no job");
}

#[tokio::test]
async fn a_failed_run_is_counted_by_its_error_name_with_its_job_and_nothing_sent() {
    let input = read_repo_json("events/codepipeline-job.json");
    let environment = Environment::start(settings(&[])).await.unwrap();
    let execution = environment
        .execute(&input, "job-measured-failure", |_| {})
        .await
        .unwrap();
    assert_failed_with(&execution, "DistributionNotFound");

    let records = workflow_tests::metric_records(&environment, 1).await;
    let record = &records[0];
    assert_eq!(record["Outcome"], "Failed");
    assert_eq!(record["ErrorName"], "DistributionNotFound");
    assert_eq!(record["jobId"], JOB_ID);
    assert_eq!(record["Invalidations"], 0);
    assert_eq!(record["EstimatedCost"], 0.0);
    assert!(record.get("InvalidationDuration").is_none());
    assert!(
        record["cause"]
            .as_str()
            .unwrap()
            .starts_with("CreateInvalidation on distribution E2QWRUHEXAMPLE: NoSuchDistribution"),
        "{record}"
    );
}
