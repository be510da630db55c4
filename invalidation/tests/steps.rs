//! The three steps against the real SDK clients, with answers stubbed by aws-smithy-mocks.
//! Error answers are CloudFront's and CodePipeline's own wire documents, so the SDK parses them
//! exactly as it would parse the services' answers.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_cloudfront::config::retry::RetryConfig;
use aws_sdk_cloudfront::operation::create_invalidation::CreateInvalidationOutput;
use aws_sdk_cloudfront::operation::get_invalidation::GetInvalidationOutput;
use aws_sdk_cloudfront::types::{Invalidation, InvalidationBatch, Paths};
use aws_sdk_codepipeline::operation::put_job_failure_result::PutJobFailureResultOutput;
use aws_sdk_codepipeline::operation::put_job_success_result::PutJobSuccessResultOutput;
use aws_sdk_codepipeline::types::FailureType as SdkFailureType;
use aws_sdk_sfn::operation::start_execution::StartExecutionOutput;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::DateTime;
use invalidation::artifact::{ArtifactStore, PathsFile};
use invalidation::check::check_status;
use invalidation::codepipeline::report_backoff;
use invalidation::entry::{start_pipeline_run, EntryOutcome, StateMachineTarget};
use invalidation::payload::{Outcome, RunStatus};
use invalidation::report::report_result;
use invalidation::start::start_invalidation;
use invalidation::{ErrorKind, FailureType, WorkflowError};
use serde_json::{json, Value};

const JOB_ID: &str = "11111111-abcd-1111-abcd-111111abcdef";
/// The reply window the tests run with (the default's 15 minutes).
const WINDOW: Duration = Duration::from_secs(900);
const CREDENTIALS: [&str; 3] = [
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "FwoGZXIvYXdzEXAMPLESESSIONTOKENvalueForTestsOnly0123456789",
];

/// For runs whose request names no paths file: reading an artifact is a test failure.
struct NoArtifacts;

impl ArtifactStore for NoArtifacts {
    async fn read_artifact(&self, file: &PathsFile) -> Result<Vec<u8>, WorkflowError> {
        panic!("this test reads no artifact, yet {file:?} was read")
    }
}

/// A check-status payload as the state machine builds it, for a run of a one-distribution
/// request (a run with pending batches needs [`checking_request`] with its own request).
fn checking(run: impl serde::Serialize) -> Value {
    checking_request(run, json!({"distributionId": "E2QWRUHEXAMPLE"}))
}

fn checking_request(run: impl serde::Serialize, request: Value) -> Value {
    json!({"run": run, "request": request})
}

fn event(name: &str) -> Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// A start-invalidation payload as the state machine's Prepare state builds it.
fn start_payload(request: Value) -> Value {
    json!({"request": request, "execution": {"name": "run-42", "startTime": "2026-11-26T12:00:00.000Z"}})
}

fn at(rfc3339: &str) -> SystemTime {
    DateTime::from_str(rfc3339, aws_smithy_types::date_time::Format::DateTime)
        .unwrap()
        .try_into()
        .unwrap()
}

fn cloudfront(rules: &[&Rule]) -> aws_sdk_cloudfront::Client {
    mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, rules, |config| {
        config.retry_config(RetryConfig::disabled())
    })
}

fn codepipeline(rules: &[&Rule]) -> aws_sdk_codepipeline::Client {
    mock_client!(
        aws_sdk_codepipeline,
        RuleMode::Sequential,
        rules,
        |config| config.retry_config(aws_sdk_codepipeline::config::retry::RetryConfig::disabled())
    )
}

fn invalidation(id: &str, status: &str, paths: &[String], reference: &str) -> Invalidation {
    Invalidation::builder()
        .id(id)
        .status(status)
        .create_time(DateTime::from_secs(1_795_000_000))
        .invalidation_batch(
            InvalidationBatch::builder()
                .caller_reference(reference)
                .paths(
                    Paths::builder()
                        .quantity(paths.len() as i32)
                        .set_items(Some(paths.to_vec()))
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

/// CreateInvalidation answering like CloudFront: an id per distribution, the batch echoed.
fn create_rule() -> Rule {
    mock!(aws_sdk_cloudfront::Client::create_invalidation).then_compute_output(|request| {
        let distribution = request.distribution_id().unwrap();
        let batch = request.invalidation_batch().unwrap();
        let paths = batch.paths().unwrap().items().to_vec();
        CreateInvalidationOutput::builder()
            .invalidation(invalidation(
                &format!("I{distribution}"),
                "InProgress",
                &paths,
                batch.caller_reference(),
            ))
            .location("https://cloudfront.amazonaws.com/2020-05-31/distribution/x/invalidation/y")
            .build()
    })
}

/// The batches CreateInvalidation was sent: (caller reference, paths, quantity).
type SentBatches = Arc<Mutex<Vec<(String, Vec<String>, i32)>>>;

/// CreateInvalidation that records each batch it is sent and answers with invalidation `id`.
fn recording_create_rule(id: &'static str) -> (Rule, SentBatches) {
    let sent = SentBatches::default();
    let record = sent.clone();
    let rule = mock!(aws_sdk_cloudfront::Client::create_invalidation)
        .match_requests(move |request| {
            let batch = request.invalidation_batch().unwrap();
            record.lock().unwrap().push((
                batch.caller_reference().to_owned(),
                batch.paths().unwrap().items().to_vec(),
                batch.paths().unwrap().quantity(),
            ));
            true
        })
        .then_output(move || {
            CreateInvalidationOutput::builder()
                .invalidation(invalidation(id, "InProgress", &[], "x"))
                .build()
        });
    (rule, sent)
}

/// (caller reference, quantity) of each batch sent.
fn quantities(sent: &SentBatches) -> Vec<(String, i32)> {
    sent.lock()
        .unwrap()
        .iter()
        .map(|(reference, _, quantity)| (reference.clone(), *quantity))
        .collect()
}

/// CloudFront's XML error document.
fn cloudfront_error(code: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Error><Type>Sender</Type><Code>{code}</Code><Message>message of {code}</Message></Error><RequestId>b3f1c2d4</RequestId></ErrorResponse>"#
    )
}

/// An HTTP answer carrying CloudFront's error document.
fn cloudfront_error_response(
    status: u16,
    code: &str,
) -> aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    aws_smithy_runtime_api::http::Response::new(
        status.try_into().unwrap(),
        aws_smithy_types::body::SdkBody::from(cloudfront_error(code)),
    )
}

/// GetInvalidation answering with this status.
fn get_output(status: &str) -> GetInvalidationOutput {
    GetInvalidationOutput::builder()
        .invalidation(invalidation("IA", status, &[], "r-A"))
        .build()
}

/// CodePipeline's JSON 1.1 error document.
fn codepipeline_error(code: &str) -> String {
    format!(r#"{{"__type":"{code}","message":"message of {code}"}}"#)
}

fn run_in_progress(deadline: &str, checks: u32) -> Value {
    json!({
        "jobId": null,
        "deadline": deadline,
        "pathCount": 1,
        "pathsRequested": 1,
        "invalidations": [
            {"distributionId": "E2QWRUHEXAMPLE", "invalidationId": "IA", "callerReference": "r-A", "status": "InProgress"},
            {"distributionId": "E1U5RQF7T870K0", "invalidationId": "IB", "callerReference": "r-B", "status": "Completed"}
        ],
        "checks": checks,
        "checksSinceSubmit": checks,
        "allCompleted": false,
        "waitSeconds": 5,
        "replyBy": null,
        "replyDue": false
    })
}

// ---------------------------------------------------------------- start-invalidation

#[tokio::test]
async fn start_creates_one_invalidation_per_distribution_named_after_the_execution() {
    let create = create_rule();
    let client = cloudfront(&[&create]);

    let run = start_invalidation(
        &client,
        &NoArtifacts,
        start_payload(event("console-input-several.json")),
        at("2026-11-26T12:00:01Z"),
        WINDOW,
    )
    .await
    .unwrap();

    assert_eq!(create.num_calls(), 2);
    assert_eq!(run.job_id, None);
    assert_eq!(run.deadline, "2026-11-26T12:30:00Z");
    assert_eq!(run.path_count, 1);
    assert_eq!(run.wait_seconds, 5);
    assert!(!run.all_completed);
    let created: Vec<_> = run
        .invalidations
        .iter()
        .map(|i| {
            (
                i.distribution_id.as_str(),
                i.invalidation_id.as_str(),
                i.caller_reference.as_str(),
            )
        })
        .collect();
    assert_eq!(
        created,
        [
            ("E2QWRUHEXAMPLE", "IE2QWRUHEXAMPLE", "run-42-E2QWRUHEXAMPLE"),
            ("E1U5RQF7T870K0", "IE1U5RQF7T870K0", "run-42-E1U5RQF7T870K0"),
        ]
    );
}

#[tokio::test]
async fn start_with_a_job_uses_the_job_id_for_the_caller_reference_and_sends_the_paths() {
    let (create, seen) = recording_create_rule("I1");
    let client = cloudfront(&[&create]);

    let run = start_invalidation(
        &client,
        &NoArtifacts,
        start_payload(event("codepipeline-job.json")),
        SystemTime::now(),
        WINDOW,
    )
    .await
    .unwrap();

    assert_eq!(run.job_id.as_deref(), Some(JOB_ID));
    let seen = seen.lock().unwrap();
    assert_eq!(
        *seen,
        [(
            format!("{JOB_ID}-E2QWRUHEXAMPLE"),
            vec!["/css/*".to_owned(), "/index.html".to_owned()],
            2
        )]
    );
}

#[tokio::test]
async fn invalid_input_is_rejected_before_any_call_to_cloudfront() {
    let create = create_rule();
    let client = cloudfront(&[&create]);
    let bad_inputs = [
        (
            json!({"distributionId": "E2QWRUHEXAMPLE", "paths": ["/img/*.png"]}),
            "/img/*.png",
        ),
        (
            json!({"distributionIds": ["E2QWRUHEXAMPLE", "bad-id"]}),
            "bad-id",
        ),
        (
            json!({"distributionId": "E2QWRUHEXAMPLE", "colour": "red"}),
            "colour",
        ),
    ];
    for (input, named) in bad_inputs {
        let error = start_invalidation(
            &client,
            &NoArtifacts,
            start_payload(input),
            SystemTime::now(),
            WINDOW,
        )
        .await
        .unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidInput);
        assert!(error.message.contains(named), "{}", error.message);
    }
    assert_eq!(create.num_calls(), 0);
}

#[tokio::test]
async fn each_cloudfront_error_becomes_its_workflow_error() {
    let cases = [
        (404, "NoSuchDistribution", ErrorKind::DistributionNotFound),
        (403, "AccessDenied", ErrorKind::AccessDenied),
        (400, "InvalidArgument", ErrorKind::InvalidInput),
        (413, "BatchTooLarge", ErrorKind::InvalidInput),
        (400, "InconsistentQuantities", ErrorKind::InvalidInput),
        (
            409,
            "InvalidationBatchAlreadyExists",
            ErrorKind::InvalidationConflict,
        ),
        (400, "Throttling", ErrorKind::Throttled),
        (503, "ServiceUnavailable", ErrorKind::ServiceUnavailable),
        (500, "InternalError", ErrorKind::ServiceUnavailable),
        (400, "SomethingUnforeseen", ErrorKind::AwsRequestFailed),
    ];
    for (status, code, kind) in cases {
        let rule = mock!(aws_sdk_cloudfront::Client::create_invalidation)
            .then_http_response(move || cloudfront_error_response(status, code));
        let client = cloudfront(&[&rule]);
        let error = start_invalidation(
            &client,
            &NoArtifacts,
            start_payload(event("console-input.json")),
            SystemTime::now(),
            WINDOW,
        )
        .await
        .unwrap_err();
        assert_eq!(error.kind, kind, "{code}");
        assert!(
            error.message.contains(&format!("CreateInvalidation on distribution E2QWRUHEXAMPLE: {code} (HTTP {status}): message of {code}")),
            "{}",
            error.message
        );
    }
}

#[tokio::test]
async fn a_bare_5xx_without_an_error_document_is_service_unavailable() {
    let rule = mock!(aws_sdk_cloudfront::Client::create_invalidation)
        .sequence()
        .http_status(503, None)
        .build();
    let client = cloudfront(&[&rule]);
    let error = start_invalidation(
        &client,
        &NoArtifacts,
        start_payload(event("console-input.json")),
        SystemTime::now(),
        WINDOW,
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.kind,
        ErrorKind::ServiceUnavailable,
        "{}",
        error.message
    );
}

#[tokio::test]
async fn a_failure_after_the_first_distribution_names_what_was_already_created() {
    let first = create_rule();
    let second = mock!(aws_sdk_cloudfront::Client::create_invalidation)
        .match_requests(|request| request.distribution_id() == Some("E1U5RQF7T870K0"))
        .then_http_response(|| cloudfront_error_response(404, "NoSuchDistribution"));
    // MatchAny takes the first matching rule, so the specific one goes first.
    let client = cloudfront(&[&second, &first]);
    let error = start_invalidation(
        &client,
        &NoArtifacts,
        start_payload(event("console-input-several.json")),
        SystemTime::now(),
        WINDOW,
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind, ErrorKind::DistributionNotFound);
    assert!(
        error
            .message
            .ends_with("; already created: IE2QWRUHEXAMPLE on E2QWRUHEXAMPLE"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn a_malformed_job_event_is_reported_without_its_credentials() {
    let mut request = event("codepipeline-job.json");
    // A wrong type makes serde quote the value in its message.
    request["CodePipeline.job"]["data"]["artifactCredentials"]["secretAccessKey"] =
        json!(["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]);
    request["CodePipeline.job"]["data"]["artifactCredentials"]["accessKeyId"] = json!(0.5);
    let client = cloudfront(&[]);
    let error = start_invalidation(
        &client,
        &NoArtifacts,
        start_payload(request),
        SystemTime::now(),
        WINDOW,
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    assert!(
        error
            .message
            .starts_with("the CodePipeline job event is malformed"),
        "{}",
        error.message
    );
    for secret in CREDENTIALS {
        assert!(!error.message.contains(secret), "{}", error.message);
    }
}

// ---------------------------------------------------------------- check-status

#[tokio::test]
async fn check_reports_in_progress_then_completed_and_asks_only_for_unfinished_ones() {
    let get = mock!(aws_sdk_cloudfront::Client::get_invalidation)
        .match_requests(|request| {
            request.id() == Some("IA") && request.distribution_id() == Some("E2QWRUHEXAMPLE")
        })
        .sequence()
        .output(|| get_output("InProgress"))
        .output(|| get_output("Completed"))
        .build();
    let client = cloudfront(&[&get]);
    let now = at("2026-11-26T12:00:10Z");

    let run = check_status(
        &client,
        &NoArtifacts,
        checking(run_in_progress("2026-11-26T13:00:00Z", 0)),
        now,
    )
    .await
    .unwrap();
    assert!(!run.all_completed);
    assert_eq!((run.checks, run.wait_seconds), (1, 10));
    assert_eq!(run.invalidations[0].status, "InProgress");

    let run = check_status(
        &client,
        &NoArtifacts,
        checking(serde_json::to_value(run).unwrap()),
        now,
    )
    .await
    .unwrap();
    assert!(run.all_completed);
    assert_eq!((run.checks, run.wait_seconds), (2, 0));
    assert_eq!(run.invalidations[0].status, "Completed");
    assert_eq!(
        get.num_calls(),
        2,
        "IB was completed already and is not asked for"
    );
}

#[tokio::test]
async fn the_wait_is_cut_short_at_the_deadline() {
    let get = mock!(aws_sdk_cloudfront::Client::get_invalidation)
        .then_output(|| get_output("InProgress"));
    let client = cloudfront(&[&get]);
    let run = check_status(
        &client,
        &NoArtifacts,
        checking(run_in_progress("2026-11-26T13:00:00Z", 9)),
        at("2026-11-26T12:59:48Z"),
    )
    .await
    .unwrap();
    assert_eq!(run.wait_seconds, 12);
}

#[tokio::test]
async fn past_the_deadline_the_check_fails_naming_what_is_still_in_progress() {
    let get = mock!(aws_sdk_cloudfront::Client::get_invalidation)
        .then_output(|| get_output("InProgress"));
    let client = cloudfront(&[&get]);
    let error = check_status(
        &client,
        &NoArtifacts,
        checking(run_in_progress("2026-11-26T13:00:00Z", 61)),
        at("2026-11-26T13:00:00Z"),
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidationTimedOut);
    assert_eq!(
        error.message,
        "still in progress at the deadline 2026-11-26T13:00:00Z after 62 checks: IA on E2QWRUHEXAMPLE"
    );
}

#[tokio::test]
async fn each_get_invalidation_error_becomes_its_workflow_error() {
    let cases = [
        (404, "NoSuchInvalidation", ErrorKind::InvalidationNotFound),
        (404, "NoSuchDistribution", ErrorKind::DistributionNotFound),
        (403, "AccessDenied", ErrorKind::AccessDenied),
        (400, "Throttling", ErrorKind::Throttled),
    ];
    for (status, code, kind) in cases {
        let rule = mock!(aws_sdk_cloudfront::Client::get_invalidation)
            .then_http_response(move || cloudfront_error_response(status, code));
        let client = cloudfront(&[&rule]);
        let error = check_status(
            &client,
            &NoArtifacts,
            checking(run_in_progress("2099-01-01T00:00:00Z", 0)),
            SystemTime::now(),
        )
        .await
        .unwrap_err();
        assert_eq!(error.kind, kind, "{code}");
        assert!(
            error
                .message
                .starts_with("GetInvalidation IA on distribution E2QWRUHEXAMPLE"),
            "{}",
            error.message
        );
    }
}

// ---------------------------------------------------------------- report-result

async fn report(
    client: &aws_sdk_codepipeline::Client,
    payload: Value,
) -> Result<Outcome, invalidation::WorkflowError> {
    report_result(
        client,
        payload,
        report_backoff().with_min_delay(Duration::from_millis(1)),
    )
    .await
}

#[tokio::test]
async fn success_is_recorded_with_a_summary_and_output_variables() {
    let put = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .match_requests(|request| {
            let details = request.execution_details().unwrap();
            let variables = request.output_variables().unwrap();
            request.job_id() == Some(JOB_ID)
                && details.summary() == Some("Invalidated 2 paths (2 requested) on E2QWRUHEXAMPLE (invalidation I2J0I21PCUYOIK): completed after 3 status checks. Estimated cost $0.010 at $0.005 a path beyond the free 1,000 a month.")
                && details.percent_complete() == Some(100)
                && variables.get("InvalidationIds").map(String::as_str) == Some("I2J0I21PCUYOIK")
                && variables.get("DistributionIds").map(String::as_str) == Some("E2QWRUHEXAMPLE")
                && request.continuation_token().is_none()
        })
        .then_output(|| PutJobSuccessResultOutput::builder().build());
    let client = codepipeline(&[&put]);

    let outcome = report(&client, event("report-result.json")).await.unwrap();

    assert_eq!(put.num_calls(), 1);
    assert_eq!(outcome.status, RunStatus::Succeeded);
    let pipeline = outcome.code_pipeline.unwrap();
    assert_eq!(pipeline.result, "PutJobSuccessResult");
    assert!(!pipeline.already_recorded);
}

fn failure_rule(expected_type: SdkFailureType, message_start: &'static str) -> Rule {
    mock!(aws_sdk_codepipeline::Client::put_job_failure_result)
        .match_requests(move |request| {
            let details = request.failure_details().unwrap();
            details.r#type() == &expected_type && details.message().starts_with(message_start)
        })
        .then_output(|| PutJobFailureResultOutput::builder().build())
}

#[tokio::test]
async fn the_failure_type_follows_the_cause() {
    let cases = [
        (
            "DistributionNotFound",
            SdkFailureType::ConfigurationError,
            FailureType::ConfigurationError,
        ),
        (
            "InvalidInput",
            SdkFailureType::ConfigurationError,
            FailureType::ConfigurationError,
        ),
        (
            "AccessDenied",
            SdkFailureType::PermissionError,
            FailureType::PermissionError,
        ),
        (
            "InvalidationTimedOut",
            SdkFailureType::JobFailed,
            FailureType::JobFailed,
        ),
        (
            "States.Timeout",
            SdkFailureType::SystemUnavailable,
            FailureType::SystemUnavailable,
        ),
        (
            "ServiceUnavailable",
            SdkFailureType::SystemUnavailable,
            FailureType::SystemUnavailable,
        ),
        (
            "Lambda.Unknown",
            SdkFailureType::JobFailed,
            FailureType::JobFailed,
        ),
    ];
    for (error_name, sdk_type, failure_type) in cases {
        let put = failure_rule(sdk_type, "Cache invalidation failed: ");
        let client = codepipeline(&[&put]);
        let mut payload = event("report-result-timed-out.json");
        payload["error"]["Error"] = json!(error_name);

        let outcome = report(&client, payload).await.unwrap();

        assert_eq!(put.num_calls(), 1, "{error_name}");
        assert_eq!(outcome.status, RunStatus::Failed);
        assert_eq!(outcome.error.as_deref(), Some(error_name));
        assert_eq!(
            outcome.cause.as_deref(),
            Some("still in progress at the deadline 2026-11-26T13:00:00Z after 63 checks: I2J0I21PCUYOIK on E2QWRUHEXAMPLE")
        );
        assert_eq!(
            outcome.code_pipeline.unwrap().failure_type,
            Some(failure_type)
        );
    }
}

#[tokio::test]
async fn a_long_failure_message_is_cut_to_what_codepipeline_accepts() {
    let put = mock!(aws_sdk_codepipeline::Client::put_job_failure_result)
        .match_requests(|request| {
            request.failure_details().unwrap().message().chars().count() == 5000
        })
        .then_output(|| PutJobFailureResultOutput::builder().build());
    let client = codepipeline(&[&put]);
    let mut payload = event("report-result-timed-out.json");
    payload["error"]["Cause"] = json!("x".repeat(9000));
    report(&client, payload).await.unwrap();
    assert_eq!(put.num_calls(), 1);
}

#[tokio::test]
async fn a_transient_codepipeline_error_is_retried_until_the_result_is_recorded() {
    let put = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .sequence()
        .http_status(400, Some(codepipeline_error("ThrottlingException")))
        .http_status(503, None)
        .output(|| PutJobSuccessResultOutput::builder().build())
        .build();
    let client = codepipeline(&[&put]);
    let outcome = report(&client, event("report-result.json")).await.unwrap();
    assert_eq!(put.num_calls(), 3);
    assert!(!outcome.code_pipeline.unwrap().already_recorded);
}

#[tokio::test]
async fn invalid_job_state_after_a_retry_means_the_result_is_already_recorded() {
    let put = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .sequence()
        .http_status(500, None)
        .http_status(400, Some(codepipeline_error("InvalidJobStateException")))
        .build();
    let client = codepipeline(&[&put]);
    let outcome = report(&client, event("report-result.json")).await.unwrap();
    assert_eq!(put.num_calls(), 2);
    assert_eq!(outcome.status, RunStatus::Succeeded);
    assert!(outcome.code_pipeline.unwrap().already_recorded);
}

#[tokio::test]
async fn invalid_job_state_on_the_first_attempt_is_a_closed_job() {
    let put = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .sequence()
        .http_status(400, Some(codepipeline_error("InvalidJobStateException")))
        .build();
    let client = codepipeline(&[&put]);
    let error = report(&client, event("report-result.json"))
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::JobAlreadyClosed);
    assert!(error.message.contains(JOB_ID), "{}", error.message);
}

#[tokio::test]
async fn retries_are_bounded() {
    let put = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .sequence()
        .http_status(400, Some(codepipeline_error("ThrottlingException")))
        .repeatedly()
        .build();
    let client = codepipeline(&[&put]);
    let error = report(&client, event("report-result.json"))
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Throttled);
    assert_eq!(put.num_calls(), 6, "one attempt and five retries");
}

#[tokio::test]
async fn a_rejected_result_is_an_error_not_a_silent_success() {
    let put = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .sequence()
        .http_status(400, Some(codepipeline_error("JobNotFoundException")))
        .build();
    let client = codepipeline(&[&put]);
    let error = report(&client, event("report-result.json"))
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::JobReportRejected);
    assert_eq!(put.num_calls(), 1);
}

#[tokio::test]
async fn without_a_job_nothing_is_sent_and_the_outcome_is_shaped() {
    let client = codepipeline(&[]);
    let mut payload = event("report-result.json");
    payload["run"]["jobId"] = Value::Null;
    let outcome = report(&client, payload).await.unwrap();
    assert_eq!(outcome.status, RunStatus::Succeeded);
    assert_eq!(outcome.code_pipeline, None);
    assert_eq!(outcome.invalidations.len(), 1);
    assert_eq!(
        serde_json::to_value(&outcome).unwrap()["summary"],
        "Invalidated 2 paths (2 requested) on E2QWRUHEXAMPLE (invalidation I2J0I21PCUYOIK): completed after 3 status checks. Estimated cost $0.010 at $0.005 a path beyond the free 1,000 a month."
    );
}

#[tokio::test]
async fn a_start_failure_is_reported_to_the_job_found_in_the_original_event() {
    let put = failure_rule(
        SdkFailureType::ConfigurationError,
        "Cache invalidation failed: InvalidInput: path `index.html` must start with /",
    );
    let client = codepipeline(&[&put]);
    let payload = json!({
        "request": event("codepipeline-job.json"),
        "execution": {"name": "run-42", "startTime": "2026-11-26T12:00:00.000Z"},
        "error": {"Error": "InvalidInput", "Cause": "{\"errorType\":\"InvalidInput\",\"errorMessage\":\"path `index.html` must start with /\"}"}
    });
    let outcome = report(&client, payload).await.unwrap();
    assert_eq!(put.num_calls(), 1);
    assert_eq!(outcome.code_pipeline.unwrap().job_id, JOB_ID);
}

// ---------------------------------------------------------------- the reply window

#[tokio::test]
async fn with_a_job_the_run_must_reply_within_the_window_of_its_start() {
    let create = create_rule();
    let client = cloudfront(&[&create]);
    let run = start_invalidation(
        &client,
        &NoArtifacts,
        start_payload(event("codepipeline-job.json")),
        at("2026-11-26T12:00:01Z"),
        Duration::from_secs(3),
    )
    .await
    .unwrap();
    assert_eq!(run.reply_by.as_deref(), Some("2026-11-26T12:00:03Z"));
    assert_eq!(
        run.wait_seconds, 2,
        "the first check comes before the reply is due"
    );

    let console = start_invalidation(
        &client,
        &NoArtifacts,
        start_payload(event("console-input.json")),
        at("2026-11-26T12:00:01Z"),
        Duration::from_secs(3),
    )
    .await
    .unwrap();
    assert_eq!(console.reply_by, None);
    assert_eq!(console.wait_seconds, 5);
}

#[tokio::test]
async fn when_the_reply_window_closes_the_check_asks_for_a_reply() {
    let get = mock!(aws_sdk_cloudfront::Client::get_invalidation)
        .then_output(|| get_output("InProgress"));
    let client = cloudfront(&[&get]);
    let mut run = run_in_progress("2026-11-26T13:00:00Z", 4);
    run["jobId"] = json!(JOB_ID);
    run["replyBy"] = json!("2026-11-26T12:15:00Z");

    let early = check_status(
        &client,
        &NoArtifacts,
        checking(run.clone()),
        at("2026-11-26T12:14:30Z"),
    )
    .await
    .unwrap();
    assert!(!early.reply_due);
    assert_eq!(early.wait_seconds, 30, "the wait stops at the reply time");

    let due = check_status(
        &client,
        &NoArtifacts,
        checking(run),
        at("2026-11-26T12:15:00Z"),
    )
    .await
    .unwrap();
    assert!(due.reply_due);
    assert_eq!(due.wait_seconds, 0);
}

#[tokio::test]
async fn a_due_reply_is_an_in_progress_result_with_a_continuation_token() {
    let put = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .match_requests(|request| {
            let details = request.execution_details().unwrap();
            request.job_id() == Some(JOB_ID)
                && request.output_variables().is_none()
                && details.percent_complete() == Some(50)
                && details.summary().unwrap().starts_with("Still waiting after 4 status checks: 1 of 2 invalidations completed (IA on E2QWRUHEXAMPLE, IB on E1U5RQF7T870K0);")
                && request.continuation_token()
                    == Some(r#"{"v":1,"deadline":"2026-11-26T13:00:00Z","paths":1,"requested":1,"checks":4,"invalidations":[["E2QWRUHEXAMPLE","IA"],["E1U5RQF7T870K0","IB"]]}"#)
        })
        .then_output(|| PutJobSuccessResultOutput::builder().build());
    let client = codepipeline(&[&put]);
    let mut run = run_in_progress("2026-11-26T13:00:00Z", 4);
    run["jobId"] = json!(JOB_ID);
    run["replyDue"] = json!(true);

    let outcome = report(&client, json!({"run": run})).await.unwrap();

    assert_eq!(put.num_calls(), 1);
    assert_eq!(outcome.status, RunStatus::Continued);
    assert!(outcome.code_pipeline.unwrap().continuation_token.is_some());
}

/// The job CodePipeline creates after an "in progress" reply carrying `token`.
fn continued_job(token: &str) -> Value {
    let mut job = event("codepipeline-job.json");
    job["CodePipeline.job"]["id"] = json!("22222222-abcd-2222-abcd-222222abcdef");
    job["CodePipeline.job"]["data"]["continuationToken"] = json!(token);
    job
}

#[tokio::test]
async fn a_continued_job_resumes_the_same_invalidations_without_creating_any() {
    let create = create_rule();
    let client = cloudfront(&[&create]);
    let request = continued_job(
        r#"{"v":1,"deadline":"2026-11-26T13:00:00Z","paths":2,"checks":9,"invalidations":[["E2QWRUHEXAMPLE","I2J0I21PCUYOIK"]]}"#,
    );

    let run = start_invalidation(
        &client,
        &NoArtifacts,
        start_payload(request),
        at("2026-11-26T12:20:00Z"),
        WINDOW,
    )
    .await
    .unwrap();

    assert_eq!(create.num_calls(), 0);
    assert_eq!(
        run.job_id.as_deref(),
        Some("22222222-abcd-2222-abcd-222222abcdef")
    );
    assert_eq!(run.deadline, "2026-11-26T13:00:00Z");
    assert_eq!((run.path_count, run.checks), (2, 9));
    assert_eq!(run.invalidations[0].invalidation_id, "I2J0I21PCUYOIK");
    assert_eq!(run.invalidations[0].distribution_id, "E2QWRUHEXAMPLE");
}

// ---------------------------------------------------------------- pipeline-entry

fn step_functions(rules: &[&Rule]) -> aws_sdk_sfn::Client {
    mock_client!(aws_sdk_sfn, RuleMode::Sequential, rules, |config| config
        .retry_config(aws_sdk_sfn::config::retry::RetryConfig::disabled()))
}

fn sfn_error(code: &str) -> String {
    format!(r#"{{"__type":"{code}","message":"message of {code}"}}"#)
}

async fn enter(
    sfn: &aws_sdk_sfn::Client,
    pipeline: &aws_sdk_codepipeline::Client,
    event: Value,
) -> Result<EntryOutcome, invalidation::WorkflowError> {
    enter_with(
        sfn,
        pipeline,
        StateMachineTarget::new(Some(
            "arn:aws:states:us-east-1:111111111111:stateMachine:Invalidation".into(),
        )),
        event,
    )
    .await
}

async fn enter_with(
    sfn: &aws_sdk_sfn::Client,
    pipeline: &aws_sdk_codepipeline::Client,
    state_machine: StateMachineTarget,
    event: Value,
) -> Result<EntryOutcome, invalidation::WorkflowError> {
    start_pipeline_run(
        sfn,
        pipeline,
        &state_machine,
        event,
        report_backoff().with_min_delay(Duration::from_millis(1)),
    )
    .await
}

#[tokio::test]
async fn a_state_machine_setting_that_is_no_arn_fails_each_job_as_a_configuration_error() {
    // Under `sam local`, the template's !Ref InvalidationStateMachine is the bare logical id.
    for (setting, named) in [
        (
            Some("InvalidationStateMachine"),
            "STATE_MACHINE_ARN `InvalidationStateMachine` is not a state machine ARN",
        ),
        (None, "STATE_MACHINE_ARN is not set"),
    ] {
        let start = mock!(aws_sdk_sfn::Client::start_execution)
            .then_output(|| StartExecutionOutput::builder().build().unwrap());
        let put = mock!(aws_sdk_codepipeline::Client::put_job_failure_result)
            .match_requests(move |request| {
                let details = request.failure_details().unwrap();
                details.r#type() == &SdkFailureType::ConfigurationError
                    && details.message().starts_with(&format!(
                        "Cache invalidation could not start: InvalidInput: {named}"
                    ))
                    && details.external_execution_id().is_none()
            })
            .then_output(|| PutJobFailureResultOutput::builder().build());
        let sfn = step_functions(&[&start]);
        let pipeline = codepipeline(&[&put]);

        let outcome = enter_with(
            &sfn,
            &pipeline,
            StateMachineTarget::new(setting.map(str::to_owned)),
            event("codepipeline-job.json"),
        )
        .await
        .unwrap();

        assert_eq!(start.num_calls(), 0, "{setting:?}");
        assert_eq!(put.num_calls(), 1, "{setting:?}");
        let reported = outcome.failure_reported.unwrap();
        assert!(reported.contains(named), "{reported}");
    }
}

#[tokio::test]
async fn entry_starts_one_execution_named_after_the_job_with_the_event_as_input() {
    let start = mock!(aws_sdk_sfn::Client::start_execution)
        .match_requests(|request| {
            let input: Value = serde_json::from_str(request.input().unwrap()).unwrap();
            request.name() == Some(&format!("job-{JOB_ID}"))
                && request.state_machine_arn()
                    == Some("arn:aws:states:us-east-1:111111111111:stateMachine:Invalidation")
                && input == event("codepipeline-job.json")
        })
        .then_output(|| {
            StartExecutionOutput::builder()
                .execution_arn("arn:aws:states:us-east-1:111111111111:execution:Invalidation:job-1")
                .start_date(DateTime::from_secs(1_795_000_000))
                .build()
                .unwrap()
        });
    let sfn = step_functions(&[&start]);
    let pipeline = codepipeline(&[]);

    let outcome = enter(&sfn, &pipeline, event("codepipeline-job.json"))
        .await
        .unwrap();

    assert_eq!(start.num_calls(), 1);
    assert_eq!(outcome.execution_name, format!("job-{JOB_ID}"));
    assert!(outcome.execution_arn.is_some() && !outcome.already_started);
    assert_eq!(outcome.failure_reported, None);
}

#[tokio::test]
async fn a_redelivered_job_finds_its_run_started_and_reports_nothing() {
    let start = mock!(aws_sdk_sfn::Client::start_execution)
        .sequence()
        .http_status(400, Some(sfn_error("ExecutionAlreadyExists")))
        .build();
    let sfn = step_functions(&[&start]);
    let pipeline = codepipeline(&[]);
    let outcome = enter(&sfn, &pipeline, event("codepipeline-job.json"))
        .await
        .unwrap();
    assert!(outcome.already_started);
    assert_eq!(outcome.failure_reported, None);
}

#[tokio::test]
async fn a_run_that_cannot_start_is_reported_to_the_job() {
    let cases = [
        (
            "StateMachineDoesNotExist",
            SdkFailureType::ConfigurationError,
        ),
        ("AccessDeniedException", SdkFailureType::PermissionError),
    ];
    for (code, failure_type) in cases {
        let start = mock!(aws_sdk_sfn::Client::start_execution)
            .sequence()
            .http_status(400, Some(sfn_error(code)))
            .build();
        let put = failure_rule(failure_type, "Cache invalidation could not start: ");
        let sfn = step_functions(&[&start]);
        let pipeline = codepipeline(&[&put]);

        let outcome = enter(&sfn, &pipeline, event("codepipeline-job.json"))
            .await
            .unwrap();

        assert_eq!(put.num_calls(), 1, "{code}");
        let reported = outcome.failure_reported.unwrap();
        assert!(reported.contains(code), "{reported}");
    }
}

#[tokio::test]
async fn throttling_is_retried_a_bounded_number_of_times_then_reported() {
    let start = mock!(aws_sdk_sfn::Client::start_execution)
        .sequence()
        .http_status(400, Some(sfn_error("ThrottlingException")))
        .repeatedly()
        .build();
    let put = failure_rule(
        SdkFailureType::SystemUnavailable,
        "Cache invalidation could not start: Throttled",
    );
    let sfn = step_functions(&[&start]);
    let pipeline = codepipeline(&[&put]);
    enter(&sfn, &pipeline, event("codepipeline-job.json"))
        .await
        .unwrap();
    assert_eq!(start.num_calls(), 6);
    assert_eq!(put.num_calls(), 1);
}

#[tokio::test]
async fn input_that_can_be_rejected_now_never_starts_a_run() {
    let start = mock!(aws_sdk_sfn::Client::start_execution).then_output(|| {
        StartExecutionOutput::builder()
            .execution_arn("x")
            .start_date(DateTime::from_secs(0))
            .build()
            .unwrap()
    });
    let put = failure_rule(
        SdkFailureType::ConfigurationError,
        "Cache invalidation could not start: InvalidInput: UserParameters `not-an-id`",
    );
    let sfn = step_functions(&[&start]);
    let pipeline = codepipeline(&[&put]);
    let mut job = event("codepipeline-job.json");
    job["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] =
        json!("not-an-id");

    let outcome = enter(&sfn, &pipeline, job).await.unwrap();

    assert_eq!(start.num_calls(), 0);
    assert_eq!(put.num_calls(), 1);
    let text = serde_json::to_string(&outcome).unwrap();
    for secret in CREDENTIALS {
        assert!(!text.contains(secret), "{text}");
    }
}

#[tokio::test]
async fn an_event_without_a_job_is_refused() {
    let sfn = step_functions(&[]);
    let pipeline = codepipeline(&[]);
    let error = enter(&sfn, &pipeline, event("console-input.json"))
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
}

// ---------------------------------------------------------------- batches

fn forty_wildcards() -> Value {
    let paths: Vec<String> = (0..40).map(|i| format!("/d{i:02}/*")).collect();
    json!({"distributionId": "E2QWRUHEXAMPLE", "paths": paths})
}

#[tokio::test]
async fn more_wildcards_than_the_limit_start_with_the_first_batch_and_keep_the_rest_pending() {
    let create = create_rule();
    let client = cloudfront(&[&create]);
    let run = start_invalidation(
        &client,
        &NoArtifacts,
        start_payload(forty_wildcards()),
        SystemTime::now(),
        WINDOW,
    )
    .await
    .unwrap();
    assert_eq!(create.num_calls(), 1);
    assert_eq!(
        run.invalidations[0].caller_reference,
        "run-42-E2QWRUHEXAMPLE"
    );
    let pending: Vec<usize> = run.pending.iter().map(|b| b.batch).collect();
    assert_eq!(pending, [1, 2]);
    assert!(!run.all_completed);
    assert_eq!(run.reference_prefix, "run-42");
}

#[tokio::test]
async fn the_next_batch_goes_in_when_the_previous_one_completed_and_waits_on_a_foreign_limit() {
    // GIVEN a run whose first batch has completed, with two batches pending
    let create = create_rule();
    let client = cloudfront(&[&create]);
    let now = at("2026-11-26T12:00:01Z");
    let mut run = start_invalidation(
        &client,
        &NoArtifacts,
        start_payload(forty_wildcards()),
        now,
        WINDOW,
    )
    .await
    .unwrap();
    run.invalidations[0].status = "Completed".into();

    // WHEN another deploy holds the limit, the batch stays pending without failing the run
    let busy = mock!(aws_sdk_cloudfront::Client::create_invalidation)
        .then_http_response(|| cloudfront_error_response(400, "TooManyInvalidationsInProgress"));
    let blocked = check_status(
        &cloudfront(&[&busy]),
        &NoArtifacts,
        checking_request(&run, forty_wildcards()),
        now,
    )
    .await
    .unwrap();
    assert_eq!(busy.num_calls(), 1);
    assert_eq!(blocked.pending.len(), 2);
    assert!(!blocked.all_completed);

    // THEN once the limit frees, batch 1 is submitted under its own caller reference, batch 2 waits
    let (create, seen) = recording_create_rule("I2");
    let next = check_status(
        &cloudfront(&[&create]),
        &NoArtifacts,
        checking_request(&blocked, forty_wildcards()),
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        quantities(&seen),
        [("run-42-E2QWRUHEXAMPLE-1".to_owned(), 15)]
    );
    assert_eq!(next.invalidations.len(), 2);
    assert_eq!(next.pending.len(), 1);
    assert!(!next.all_completed);
}

#[tokio::test]
async fn a_continued_job_resumes_the_pending_batches_from_its_user_parameters() {
    let create = create_rule();
    let client = cloudfront(&[&create]);
    let mut request = continued_job(
        r#"{"v":1,"deadline":"2026-11-26T13:00:00Z","paths":40,"requested":40,"checks":3,"invalidations":[["E2QWRUHEXAMPLE","I1"],["E2QWRUHEXAMPLE","I2"]],"next":{"E2QWRUHEXAMPLE":2}}"#,
    );
    request["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] =
        json!(forty_wildcards().to_string());

    let run = start_invalidation(
        &client,
        &NoArtifacts,
        start_payload(request),
        at("2026-11-26T12:20:00Z"),
        WINDOW,
    )
    .await
    .unwrap();

    assert_eq!(create.num_calls(), 0);
    assert_eq!(run.invalidations.len(), 2);
    let pending: Vec<usize> = run.pending.iter().map(|b| b.batch).collect();
    assert_eq!(pending, [2]);
    assert_eq!(run.reference_prefix, "22222222-abcd-2222-abcd-222222abcdef");
    // And the token of a run with pending batches names where to go on.
    let token = invalidation::continuation::Continuation::token(&run).unwrap();
    assert!(
        token.ends_with(r#""next":{"E2QWRUHEXAMPLE":2}}"#),
        "{token}"
    );
}

#[tokio::test]
async fn a_first_batch_refused_for_a_foreign_limit_waits_and_goes_in_at_a_later_check() {
    let busy = mock!(aws_sdk_cloudfront::Client::create_invalidation)
        .then_http_response(|| cloudfront_error_response(400, "TooManyInvalidationsInProgress"));
    let now = at("2026-11-26T12:00:01Z");
    let run = start_invalidation(
        &cloudfront(&[&busy]),
        &NoArtifacts,
        start_payload(event("console-input.json")),
        now,
        WINDOW,
    )
    .await
    .unwrap();
    assert!(run.invalidations.is_empty());
    let pending: Vec<usize> = run.pending.iter().map(|b| b.batch).collect();
    assert_eq!(pending, [0]);
    assert_eq!(run.wait_seconds, 5);

    let create = create_rule();
    let next = check_status(
        &cloudfront(&[&create]),
        &NoArtifacts,
        checking_request(&run, event("console-input.json")),
        now,
    )
    .await
    .unwrap();
    assert_eq!(create.num_calls(), 1);
    assert_eq!(
        next.invalidations[0].caller_reference, "run-42-E2QWRUHEXAMPLE",
        "batch 0 keeps the reference start-invalidation would have used"
    );
    assert!(next.pending.is_empty());
    assert_eq!(
        next.wait_seconds, 5,
        "after a submission the waits start again from the shortest"
    );
}

#[tokio::test]
async fn a_distribution_tenant_is_invalidated_and_checked_through_the_tenant_operations() {
    let create = mock!(aws_sdk_cloudfront::Client::create_invalidation_for_distribution_tenant)
        .match_requests(|request| request.id() == Some("dt_2wjDZi3hD1ivOXf6rpZJO1AB"))
        .then_output(|| {
            aws_sdk_cloudfront::operation::create_invalidation_for_distribution_tenant::CreateInvalidationForDistributionTenantOutput::builder()
                .invalidation(invalidation("I2JGL2F1ZAA426PGG0YLLKABC", "InProgress", &[], "x"))
                .build()
        });
    let get = mock!(aws_sdk_cloudfront::Client::get_invalidation_for_distribution_tenant)
        .match_requests(|request| {
            request.distribution_tenant_id() == Some("dt_2wjDZi3hD1ivOXf6rpZJO1AB")
                && request.id() == Some("I2JGL2F1ZAA426PGG0YLLKABC")
        })
        .then_output(|| {
            aws_sdk_cloudfront::operation::get_invalidation_for_distribution_tenant::GetInvalidationForDistributionTenantOutput::builder()
                .invalidation(invalidation("I2JGL2F1ZAA426PGG0YLLKABC", "Completed", &[], "x"))
                .build()
        });
    let client = cloudfront(&[&create, &get]);
    let request =
        json!({"distributionId": "dt_2wjDZi3hD1ivOXf6rpZJO1AB", "paths": ["/index.html"]});
    let run = start_invalidation(
        &client,
        &NoArtifacts,
        start_payload(request.clone()),
        SystemTime::now(),
        WINDOW,
    )
    .await
    .unwrap();
    assert_eq!(
        run.invalidations[0].distribution_id,
        "dt_2wjDZi3hD1ivOXf6rpZJO1AB"
    );
    let run = check_status(
        &client,
        &NoArtifacts,
        checking_request(&run, request),
        SystemTime::now(),
    )
    .await
    .unwrap();
    assert!(run.all_completed);
    assert_eq!((create.num_calls(), get.num_calls()), (1, 1));

    let missing = mock!(aws_sdk_cloudfront::Client::create_invalidation_for_distribution_tenant)
        .then_http_response(|| cloudfront_error_response(404, "EntityNotFound"));
    let error = start_invalidation(
        &cloudfront(&[&missing]),
        &NoArtifacts,
        start_payload(json!({"distributionId": "dt_2wjDZi3hD1ivOXf6rpZJO1AB"})),
        SystemTime::now(),
        WINDOW,
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind, ErrorKind::DistributionNotFound);
    assert!(
        error.message.starts_with(
            "CreateInvalidationForDistributionTenant on distribution tenant dt_2wjDZi3hD1ivOXf6rpZJO1AB: EntityNotFound (HTTP 404)"
        ),
        "{}",
        error.message
    );
}

/// An artifact store holding one zip.
struct ZipArtifact(Vec<u8>);

impl ArtifactStore for ZipArtifact {
    async fn read_artifact(&self, _: &PathsFile) -> Result<Vec<u8>, WorkflowError> {
        Ok(self.0.clone())
    }
}

#[tokio::test]
async fn ten_thousand_paths_from_a_paths_file_go_in_four_batches_without_filling_the_state() {
    let lines: String = (0..10_000)
        .map(|i| format!("/assets/file-{i:05}.js\n"))
        .collect();
    let artifact = ZipArtifact(local_zip("paths.txt", &lines));
    let mut job = event("codepipeline-job.json");
    job["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] = json!(
        r#"{"distributionId":"E2QWRUHEXAMPLE","pathsFile":"paths.txt","collapseAbove":false}"#
    );
    let (create, sent) = recording_create_rule("I1");
    let client = cloudfront(&[&create]);
    let now = at("2026-11-26T12:00:01Z");

    let mut run = start_invalidation(&client, &artifact, start_payload(job.clone()), now, WINDOW)
        .await
        .unwrap();
    let pending: Vec<usize> = run.pending.iter().map(|b| b.batch).collect();
    assert_eq!(pending, [1, 2, 3]);
    assert_eq!((run.paths_requested, run.path_count), (10_000, 10_000));
    let state = serde_json::to_string(&run).unwrap();
    assert!(
        state.len() < 2_000,
        "the run state holds no paths: {} bytes",
        state.len()
    );

    run.invalidations[0].status = "Completed".into();
    let next = check_status(&client, &artifact, checking_request(&run, job), now)
        .await
        .unwrap();
    assert_eq!(
        quantities(&sent),
        [
            (format!("{JOB_ID}-E2QWRUHEXAMPLE"), 3000),
            (format!("{JOB_ID}-E2QWRUHEXAMPLE-1"), 3000)
        ]
    );
    assert_eq!(next.pending.len(), 2);
}

fn local_zip(name: &str, text: &str) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(name, zip::write::SimpleFileOptions::default())
        .unwrap();
    std::io::Write::write_all(&mut zip, text.as_bytes()).unwrap();
    zip.finish().unwrap().into_inner()
}
