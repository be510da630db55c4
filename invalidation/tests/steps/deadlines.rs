//! Every function ends with a named error before its Lambda timeout, however slow AWS is: its
//! retries are bounded by the deadline Lambda gives it, not only by a count. The timeouts are
//! template.yaml's; AWS is a client that never answers, on tokio's paused clock, with the SDK
//! configuration the functions use (its retries and timeouts).

use aws_smithy_http_client::test_util::NeverClient;
use yaml_rust2::YamlLoader;

use super::common::*;

/// A function's `Timeout` in template.yaml.
fn template_timeout(function: &str) -> Duration {
    let path = format!("{}/../template.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let template = &YamlLoader::load_from_str(&text).unwrap()[0];
    let seconds = template["Resources"][function]["Properties"]["Timeout"]
        .as_i64()
        .unwrap_or_else(|| panic!("{function} has no Timeout in {path}"));
    Duration::from_secs(seconds as u64)
}

/// What Lambda gives a function that starts now: its deadline, its timeout away.
fn budget(function: &str) -> Budget {
    let now = SystemTime::now();
    Budget::until_deadline(now, now + template_timeout(function))
}

fn silent_codepipeline() -> aws_sdk_codepipeline::Client {
    aws_sdk_codepipeline::Client::from_conf(
        aws_sdk_codepipeline::Config::builder()
            .behavior_version(aws_sdk_codepipeline::config::BehaviorVersion::latest())
            .region(aws_sdk_codepipeline::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_codepipeline::config::Credentials::for_tests())
            .http_client(NeverClient::new())
            .timeout_config(invalidation::sdk::timeouts())
            .build(),
    )
}

fn silent_step_functions() -> aws_sdk_sfn::Client {
    aws_sdk_sfn::Client::from_conf(
        aws_sdk_sfn::Config::builder()
            .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
            .region(aws_sdk_sfn::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sfn::config::Credentials::for_tests())
            .http_client(NeverClient::new())
            .timeout_config(invalidation::sdk::timeouts())
            .build(),
    )
}

#[tokio::test(start_paused = true)]
async fn report_result_gives_up_on_a_silent_codepipeline_by_name_before_its_timeout() {
    let timeout = template_timeout("ReportResultFunction");
    let began = tokio::time::Instant::now();

    let error = report_result(
        &silent_codepipeline(),
        &MemoryStore::new(),
        json!({"state": report_state("report-result.json"), "retryCount": 0}).into(),
        report_backoff(),
        budget("ReportResultFunction"),
    )
    .await
    .unwrap_err();

    let took = gave_up_in_time(&error, began, timeout);
    // It did try more than once: the deadline, not a single attempt, ended it.
    assert!(took > invalidation::sdk::OPERATION_TIMEOUT * 2, "{took:?}");
}

/// Asserts that a step gave up as a transient error with its answer margin left of its Lambda
/// timeout; answers how long it took.
fn gave_up_in_time(
    error: &WorkflowError,
    began: tokio::time::Instant,
    timeout: Duration,
) -> Duration {
    assert_eq!(
        error.kind,
        ErrorKind::ServiceUnavailable,
        "{}",
        error.message
    );
    let took = began.elapsed();
    assert!(
        took + invalidation::budget::ANSWER_MARGIN <= timeout,
        "answered after {took:?} of its {timeout:?}"
    );
    took
}

#[tokio::test(start_paused = true)]
async fn pipeline_entry_gives_up_on_silent_services_by_name_before_its_timeout() {
    let timeout = template_timeout("PipelineEntryFunction");
    let began = tokio::time::Instant::now();

    let error = start_pipeline_run(
        &silent_step_functions(),
        &silent_codepipeline(),
        &NoArtifacts,
        &MemoryStore::new(),
        &StateMachineTarget::new(Some(STATE_MACHINE.into())),
        event("codepipeline-job.json").into(),
        report_backoff(),
        budget("PipelineEntryFunction"),
    )
    .await
    .unwrap_err();

    // Lambda retries the invocation, and its on-failure destination reports to the job.
    gave_up_in_time(&error, began, timeout);
}

#[test]
fn each_function_has_room_for_its_work_and_one_whole_call_more() {
    // report-result: a continuation's state write and the first PutJob* attempt are not
    // checked against the budget, so both must fit; pipeline-entry keeps one call back for the
    // failure it reports.
    let call = invalidation::sdk::OPERATION_TIMEOUT;
    let margin = invalidation::budget::ANSWER_MARGIN;
    assert!(template_timeout("ReportResultFunction") >= call * 2 + margin);
    assert!(template_timeout("PipelineEntryFunction") >= call * 2 + margin);
    // start and check poll for POLL_SECONDS and stop POLL_RESERVE before their budget, but
    // their first calls (reading and writing the plan) come before the polling.
    for function in ["StartInvalidationFunction", "CheckStatusFunction"] {
        assert!(
            template_timeout(function) >= call * 4 + margin,
            "{function}"
        );
    }
}
