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
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::DateTime;
use invalidation::check::check_status;
use invalidation::codepipeline::report_backoff;
use invalidation::payload::{Outcome, Run, RunStatus};
use invalidation::report::report_result;
use invalidation::start::start_invalidation;
use invalidation::{ErrorKind, FailureType};
use serde_json::{json, Value};

const JOB_ID: &str = "11111111-abcd-1111-abcd-111111abcdef";
const CREDENTIALS: [&str; 3] = [
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "FwoGZXIvYXdzEXAMPLESESSIONTOKENvalueForTestsOnly0123456789",
];

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
        "invalidations": [
            {"distributionId": "E2QWRUHEXAMPLE", "invalidationId": "IA", "callerReference": "r-A", "status": "InProgress"},
            {"distributionId": "E1U5RQF7T870K0", "invalidationId": "IB", "callerReference": "r-B", "status": "Completed"}
        ],
        "checks": checks,
        "allCompleted": false,
        "waitSeconds": 5
    })
}

// ---------------------------------------------------------------- start-invalidation

#[tokio::test]
async fn start_creates_one_invalidation_per_distribution_named_after_the_execution() {
    let create = create_rule();
    let client = cloudfront(&[&create]);

    let run = start_invalidation(
        &client,
        start_payload(event("console-input-several.json")),
        at("2026-11-26T12:00:01Z"),
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
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let create = mock!(aws_sdk_cloudfront::Client::create_invalidation)
        .match_requests(move |request| {
            let batch = request.invalidation_batch().unwrap();
            record.lock().unwrap().push((
                batch.caller_reference().to_owned(),
                batch.paths().unwrap().items().to_vec(),
                batch.paths().unwrap().quantity(),
            ));
            true
        })
        .then_output(|| {
            CreateInvalidationOutput::builder()
                .invalidation(invalidation("I1", "InProgress", &[], "x"))
                .build()
        });
    let client = cloudfront(&[&create]);

    let run = start_invalidation(
        &client,
        start_payload(event("codepipeline-job.json")),
        SystemTime::now(),
    )
    .await
    .unwrap();

    assert_eq!(run.job_id.as_deref(), Some(JOB_ID));
    let seen = seen.lock().unwrap();
    assert_eq!(
        *seen,
        [(
            format!("{JOB_ID}-E2QWRUHEXAMPLE"),
            vec!["/index.html".to_owned(), "/css/*".to_owned()],
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
            json!({"distributionId": "E2QWRUHEXAMPLE", "paths": ["index.html"]}),
            "index.html",
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
        let error = start_invalidation(&client, start_payload(input), SystemTime::now())
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
        (
            400,
            "TooManyInvalidationsInProgress",
            ErrorKind::TooManyInvalidationsInProgress,
        ),
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
            start_payload(event("console-input.json")),
            SystemTime::now(),
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
        start_payload(event("console-input.json")),
        SystemTime::now(),
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
        start_payload(event("console-input-several.json")),
        SystemTime::now(),
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
    let error = start_invalidation(&client, start_payload(request), SystemTime::now())
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

    let run = check_status(&client, run_in_progress("2026-11-26T13:00:00Z", 0), now)
        .await
        .unwrap();
    assert!(!run.all_completed);
    assert_eq!((run.checks, run.wait_seconds), (1, 10));
    assert_eq!(run.invalidations[0].status, "InProgress");

    let run = check_status(&client, serde_json::to_value(run).unwrap(), now)
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
        run_in_progress("2026-11-26T13:00:00Z", 9),
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
        run_in_progress("2026-11-26T13:00:00Z", 61),
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
            run_in_progress("2099-01-01T00:00:00Z", 0),
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
                && details.summary() == Some("Invalidated 2 paths on E2QWRUHEXAMPLE (invalidation I2J0I21PCUYOIK): completed after 3 status checks.")
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
        "Invalidated 2 paths on E2QWRUHEXAMPLE (invalidation I2J0I21PCUYOIK): completed after 3 status checks."
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

// ---------------------------------------------------------------- secrets, end to end

#[tokio::test]
async fn no_credential_of_the_job_event_reaches_logs_outputs_or_errors() {
    let logs = Arc::new(Mutex::new(Vec::<u8>::new()));
    let writer = {
        let logs = logs.clone();
        move || LogSink(logs.clone())
    };
    let _guard =
        tracing::subscriber::set_default(invalidation::logging::subscriber("trace", true, writer));

    let create = create_rule();
    let cloudfront = cloudfront(&[&create]);
    let run: Run = start_invalidation(
        &cloudfront,
        start_payload(event("codepipeline-job.json")),
        SystemTime::now(),
    )
    .await
    .unwrap();
    // A failure whose cause quotes a credential, as a careless upstream message might.
    let put = mock!(aws_sdk_codepipeline::Client::put_job_failure_result)
        .then_output(|| PutJobFailureResultOutput::builder().build());
    let pipeline = codepipeline(&[&put]);
    let outcome = report(
        &pipeline,
        json!({
            "request": event("codepipeline-job.json"),
            "execution": {"name": "run-42", "startTime": "2026-11-26T12:00:00.000Z"},
            "error": {"Error": "InvalidInput", "Cause": format!("bad key {}", CREDENTIALS[1])}
        }),
    )
    .await
    .unwrap();

    let everything = format!(
        "{}\n{}\n{}",
        String::from_utf8(logs.lock().unwrap().clone()).unwrap(),
        serde_json::to_string(&run).unwrap(),
        serde_json::to_string(&outcome).unwrap()
    );
    assert!(
        everything.contains("invalidation created"),
        "logs were captured: {everything}"
    );
    assert!(everything.contains("[redacted]"), "{everything}");
    for secret in CREDENTIALS {
        assert!(
            !everything.contains(secret),
            "{secret} leaked: {everything}"
        );
    }
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
