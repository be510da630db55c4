//! End to end, through the local runner: the state machine file that deploys, executed by
//! aws-local-stepfunctions, invoking the real function binaries behind cargo-lambda's runtime
//! API, which call the AWS emulator. Assertions are on what a user sees: the execution's result
//! and what CodePipeline and CloudFront received.
//!
//! Needs the tools of scripts/setup and the binaries of `cargo build --workspace --all-targets`
//! (scripts/test does both first).

use std::time::Duration;

use local_run::{repo_root, Environment, Execution, Settings};
use serde_json::{json, Value};
use workflow_tests::read_repo_json;

const JOB_ID: &str = "11111111-abcd-1111-abcd-111111abcdef";
const DISTRIBUTION: &str = "E2QWRUHEXAMPLE";
const SECOND_DISTRIBUTION: &str = "E1U5RQF7T870K0";

fn settings(distributions: &[&str]) -> Settings {
    let mut settings = Settings::new(repo_root());
    settings.distributions = distributions.iter().map(|d| d.to_string()).collect();
    settings.invalidation_time = Duration::from_secs(2);
    settings
}

/// The sample job event with other UserParameters.
fn job_with(user_parameters: Value) -> Value {
    let mut event = read_repo_json("events/codepipeline-job.json");
    event["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] =
        match user_parameters {
            Value::String(text) => json!(text),
            other => json!(other.to_string()),
        };
    event
}

async fn run_once(settings: Settings, input: &Value, name: &str) -> (Execution, Value) {
    let environment = Environment::start(settings)
        .await
        .expect("local environment starts");
    let execution = environment
        .execute(input, name, |_| {})
        .await
        .expect("execution runs");
    let seen = serde_json::to_value(environment.snapshot()).unwrap();
    (execution, seen)
}

fn job_results(seen: &Value) -> &Vec<Value> {
    seen["jobResults"].as_array().unwrap()
}

fn invalidations(seen: &Value) -> &Vec<Value> {
    seen["invalidations"].as_array().unwrap()
}

fn calls(seen: &Value, operation: &str) -> u64 {
    seen["calls"][operation].as_u64().unwrap_or(0)
}

fn assert_failed_with(execution: &Execution, error: &str) -> String {
    let (name, cause) = execution
        .error
        .clone()
        .unwrap_or_else(|| panic!("expected failure {error}, got {:?}", execution.output));
    assert_eq!(execution.status, "FAILED");
    assert_eq!(name, error, "cause: {cause}");
    cause
}

/// The one terminal result CodePipeline received, which must be a failure of this type.
fn the_failure(seen: &Value, failure_type: &str) -> String {
    let results = job_results(seen);
    assert_eq!(results.len(), 1, "{results:#?}");
    assert_eq!(results[0]["operation"], "PutJobFailureResult");
    assert_eq!(results[0]["jobId"], JOB_ID);
    assert_eq!(results[0]["failureDetails"]["type"], failure_type);
    results[0]["failureDetails"]["message"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_pipeline_job_waits_for_completed_then_reports_success() {
    let input = read_repo_json("events/codepipeline-job.json");
    let (execution, seen) = run_once(settings(&[DISTRIBUTION]), &input, "job-once").await;

    assert!(execution.succeeded(), "{:?}", execution.error);
    let invalidations = invalidations(&seen);
    assert_eq!(invalidations.len(), 1);
    assert_eq!(invalidations[0]["distributionId"], DISTRIBUTION);
    assert_eq!(invalidations[0]["paths"], json!(["/css/*", "/index.html"]));
    assert_eq!(
        invalidations[0]["callerReference"],
        format!("{JOB_ID}-{DISTRIBUTION}")
    );
    assert_eq!(invalidations[0]["status"], "Completed");
    let id = invalidations[0]["id"].as_str().unwrap();

    let results = job_results(&seen);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["operation"], "PutJobSuccessResult");
    assert_eq!(results[0]["jobId"], JOB_ID);
    let summary = results[0]["executionDetails"]["summary"].as_str().unwrap();
    assert!(
        summary.contains(&format!("{DISTRIBUTION} (invalidation {id})")),
        "{summary}"
    );
    assert_eq!(results[0]["outputVariables"]["InvalidationIds"], id);
    // The run waited: the status was checked at least once while InProgress.
    let checks = execution
        .states_entered()
        .iter()
        .filter(|s| **s == "CheckStatus")
        .count();
    assert!(checks >= 1, "{:?}", execution.states_entered());
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
    let mut distributions: Vec<&str> = invalidations(&seen)
        .iter()
        .map(|i| i["distributionId"].as_str().unwrap())
        .collect();
    distributions.sort();
    assert_eq!(distributions, [SECOND_DISTRIBUTION, DISTRIBUTION]);
    assert!(invalidations(&seen)
        .iter()
        .all(|i| i["status"] == "Completed"));
    let results = job_results(&seen);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["operation"], "PutJobSuccessResult");
    let ids = results[0]["outputVariables"]["InvalidationIds"]
        .as_str()
        .unwrap();
    assert_eq!(ids.split(',').count(), 2, "{ids}");
}

#[tokio::test]
async fn console_input_without_a_job_shapes_the_output_and_calls_no_codepipeline() {
    let input = read_repo_json("events/console-input.json");
    let (execution, seen) = run_once(settings(&[DISTRIBUTION]), &input, "console-run").await;

    assert!(execution.succeeded(), "{:?}", execution.error);
    assert!(job_results(&seen).is_empty());
    assert_eq!(
        calls(&seen, "PutJobSuccessResult") + calls(&seen, "PutJobFailureResult"),
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
    assert!(cause.contains(DISTRIBUTION), "{cause}");
    assert!(invalidations(&seen).is_empty());
    let message = the_failure(&seen, "ConfigurationError");
    // Even when the run failed before it had a state, the result names the execution.
    assert_eq!(
        job_results(&seen)[0]["failureDetails"]["externalExecutionId"],
        "arn:aws:states:us-east-1:123456789012:execution:InvalidationStateMachine:job-unknown"
    );
    assert!(
        message.contains(&format!(
            "DistributionNotFound: CreateInvalidation on distribution {DISTRIBUTION}"
        )),
        "{message}"
    );
}

#[tokio::test]
async fn an_invalid_path_fails_before_any_call_to_cloudfront() {
    let input =
        job_with(json!({"distributionId": DISTRIBUTION, "paths": ["/ok.html", "img/*.png"]}));
    let (execution, seen) = run_once(settings(&[DISTRIBUTION]), &input, "job-bad-path").await;

    let cause = assert_failed_with(&execution, "InvalidInput");
    assert!(cause.contains("img/*.png"), "{cause}");
    assert_eq!(calls(&seen, "CreateInvalidation"), 0);
    let message = the_failure(&seen, "ConfigurationError");
    assert!(
        message.contains("path `img/*.png` may hold * only as its last character"),
        "{message}"
    );
}

#[tokio::test]
async fn past_the_deadline_the_failure_names_the_invalidation_still_in_progress() {
    let input = job_with(json!({"distributionId": DISTRIBUTION, "timeoutSeconds": 3}));
    let mut settings = settings(&[DISTRIBUTION]);
    settings.invalidation_time = Duration::from_secs(600);
    let (execution, seen) = run_once(settings, &input, "job-deadline").await;

    assert_failed_with(&execution, "InvalidationTimedOut");
    let id = invalidations(&seen)[0]["id"].as_str().unwrap().to_owned();
    let message = the_failure(&seen, "JobFailed");
    assert!(message.contains("InvalidationTimedOut"), "{message}");
    assert!(
        message.contains(&format!("{id} on {DISTRIBUTION}")),
        "{message}"
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
    let seen = serde_json::to_value(environment.snapshot()).unwrap();

    assert!(first.succeeded(), "{:?}", first.error);
    assert_eq!(calls(&seen, "CreateInvalidation"), 2, "both runs asked");
    assert_eq!(invalidations(&seen).len(), 1, "CloudFront made one");
    let results = job_results(&seen);
    assert_eq!(results.len(), 1, "{results:#?}");
    assert_eq!(results[0]["operation"], "PutJobSuccessResult");
    // The second run could not record a result on a closed job, and says so.
    let cause = assert_failed_with(&second, "ReportFailed");
    assert!(cause.contains("InvalidJobStateException"), "{cause}");
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
    let faults: u64 = seen["injectedFaults"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert!(faults > 0, "faults were injected: {seen}");
    assert_eq!(invalidations(&seen).len(), 2);
    let results = job_results(&seen);
    assert_eq!(results.len(), 1, "{results:#?}");
    assert_eq!(results[0]["operation"], "PutJobSuccessResult");
}

#[tokio::test]
async fn forty_wildcards_on_two_distributions_go_in_batch_after_batch_within_the_limits() {
    let paths: Vec<String> = (0..40).map(|i| format!("/section-{i:02}/*")).collect();
    let input =
        job_with(json!({"distributionIds": [DISTRIBUTION, SECOND_DISTRIBUTION], "paths": paths}));
    let mut settings = settings(&[DISTRIBUTION, SECOND_DISTRIBUTION]);
    settings.invalidation_time = Duration::from_secs(1);
    let (execution, seen) = run_once(settings, &input, "job-batches").await;

    assert!(execution.succeeded(), "{:?}", execution.error);
    let invalidations = invalidations(&seen);
    for distribution in [DISTRIBUTION, SECOND_DISTRIBUTION] {
        let sizes: Vec<usize> = invalidations
            .iter()
            .filter(|i| i["distributionId"] == distribution)
            .map(|i| i["paths"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, [15, 15, 10], "{distribution}");
    }
    assert!(invalidations.iter().all(|i| i["status"] == "Completed"));
    // The emulator enforces the 15-wildcard limit: no call was refused.
    assert_eq!(calls(&seen, "CreateInvalidation"), 6);
    let results = job_results(&seen);
    assert_eq!(results.len(), 1);
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
        .build();
    aws_sdk_cloudfront::Client::from_conf(config)
}

#[tokio::test]
async fn a_foreign_invalidation_holding_the_limit_delays_the_run_without_failing_it() {
    let mut settings = settings(&[DISTRIBUTION]);
    // Long enough that the run's first attempt comes while the foreign invalidation still runs,
    // even on a loaded machine.
    settings.invalidation_time = Duration::from_secs(8);
    let environment = Environment::start(settings).await.unwrap();
    // Another deploy holds 10 of the distribution's 15 wildcards for 8 s.
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
    let seen = serde_json::to_value(environment.snapshot()).unwrap();

    assert!(execution.succeeded(), "{:?}", execution.error);
    let ours: Vec<usize> = invalidations(&seen)
        .iter()
        .filter(|i| i["callerReference"] != "other-deploy")
        .map(|i| i["paths"].as_array().unwrap().len())
        .collect();
    assert_eq!(ours, [15, 5]);
    // Every CreateInvalidation that created nothing was refused for the limit.
    let refused = calls(&seen, "CreateInvalidation") - invalidations(&seen).len() as u64;
    assert!(refused >= 1, "{}", seen["calls"]);
    assert_eq!(execution.output.unwrap()["status"], "Succeeded");
}

#[tokio::test]
async fn a_distribution_tenant_and_a_distribution_are_invalidated_side_by_side() {
    const TENANT: &str = "dt_2wjDZi3hD1ivOXf6rpZJO1AB";
    let input = json!({"distributionIds": [TENANT, DISTRIBUTION], "paths": ["/index.html"]});
    let (execution, seen) = run_once(settings(&[TENANT, DISTRIBUTION]), &input, "tenant").await;

    assert!(execution.succeeded(), "{:?}", execution.error);
    let invalidations = invalidations(&seen);
    let tenants: Vec<(&str, bool)> = invalidations
        .iter()
        .map(|i| (i["distributionId"].as_str().unwrap(), i["tenant"] == true))
        .collect();
    assert_eq!(tenants, [(TENANT, true), (DISTRIBUTION, false)]);
    assert!(invalidations.iter().all(|i| i["status"] == "Completed"));
    assert_eq!(calls(&seen, "CreateInvalidationForDistributionTenant"), 1);
    assert_eq!(calls(&seen, "CreateInvalidation"), 1);
    assert!(calls(&seen, "GetInvalidationForDistributionTenant") >= 1);
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
