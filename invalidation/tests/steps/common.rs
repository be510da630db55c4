//! What the step tests share: stubbed clients, AWS error documents, payloads as the state
//! machine builds them, and callers of each step with the test defaults.
#![allow(dead_code, unused_imports)]

pub use std::sync::{Arc, Mutex};
pub use std::time::{Duration, SystemTime};

pub use aws_sdk_cloudfront::config::retry::RetryConfig;
pub use aws_sdk_cloudfront::operation::create_invalidation::CreateInvalidationOutput;
pub use aws_sdk_cloudfront::operation::get_invalidation::GetInvalidationOutput;
pub use aws_sdk_cloudfront::types::{Invalidation, InvalidationBatch, Paths};
pub use aws_sdk_codepipeline::operation::put_job_failure_result::PutJobFailureResultOutput;
pub use aws_sdk_codepipeline::operation::put_job_success_result::PutJobSuccessResultOutput;
pub use aws_sdk_codepipeline::types::FailureType as SdkFailureType;
pub use aws_sdk_sfn::operation::start_execution::StartExecutionOutput;
pub use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
pub use aws_smithy_types::DateTime;
pub use invalidation::artifact::{ArtifactStore, PathsFile};
pub use invalidation::budget::Budget;
pub use invalidation::check::check_status;
pub use invalidation::codepipeline::report_backoff;
pub use invalidation::entry::{start_pipeline_run, EntryOutcome, StateMachineTarget};
pub use invalidation::payload::{invalidation_reports, Outcome, RunStatus};
pub use invalidation::polling::Polling;
pub use invalidation::report::report_result;
pub use invalidation::run::{Phase, RunState};
pub use invalidation::start::start_invalidation;
pub use invalidation::state_bucket::{MemoryStore, ObjectStore};
pub use invalidation::{ErrorKind, FailureType, WorkflowError};
pub use serde_json::{json, Value};

pub const JOB_ID: &str = "11111111-abcd-1111-abcd-111111abcdef";
/// The reply window the tests run with (the default's 15 minutes).
pub const WINDOW: Duration = Duration::from_secs(900);
pub const CREDENTIALS: [&str; 3] = [
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "FwoGZXIvYXdzEXAMPLESESSIONTOKENvalueForTestsOnlyQzXwVbNmLk",
];

/// For runs whose request names no paths file: reading an artifact is a test failure.
pub struct NoArtifacts;

impl ArtifactStore for NoArtifacts {
    async fn read_artifact(&self, file: &PathsFile) -> Result<Vec<u8>, WorkflowError> {
        panic!("this test reads no artifact, yet {file:?} was read")
    }
}

/// A check-status payload as the state machine builds it: the state, `{"run": …}`.
pub fn checking(run: impl serde::Serialize) -> Value {
    json!({ "run": run })
}

pub fn event(name: &str) -> Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// A start-invalidation payload as the state machine's StartInvalidation Parameters build it.
pub fn start_payload(request: Value) -> Value {
    start_payload_named(request, "run-42")
}

/// The same, for an execution of this name (a Lambda invoke action's job runs as `job-<id>`).
pub fn start_payload_named(request: Value, name: &str) -> Value {
    json!({"request": request, "execution": {"name": name, "startTime": "2026-11-26T12:00:00.000Z"}})
}

pub fn at(rfc3339: &str) -> SystemTime {
    DateTime::from_str(rfc3339, aws_smithy_types::date_time::Format::DateTime)
        .unwrap()
        .try_into()
        .unwrap()
}

pub fn cloudfront(rules: &[&Rule]) -> aws_sdk_cloudfront::Client {
    mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, rules, |config| {
        config.retry_config(RetryConfig::disabled())
    })
}

pub fn codepipeline(rules: &[&Rule]) -> aws_sdk_codepipeline::Client {
    mock_client!(
        aws_sdk_codepipeline,
        RuleMode::Sequential,
        rules,
        |config| config.retry_config(aws_sdk_codepipeline::config::retry::RetryConfig::disabled())
    )
}

pub fn invalidation(id: &str, status: &str, paths: &[String], reference: &str) -> Invalidation {
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
pub fn create_rule() -> Rule {
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
pub type SentBatches = Arc<Mutex<Vec<(String, Vec<String>, i32)>>>;

/// CreateInvalidation that records each batch it is sent and answers with invalidation `id`.
pub fn recording_create_rule(id: &'static str) -> (Rule, SentBatches) {
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
pub fn quantities(sent: &SentBatches) -> Vec<(String, i32)> {
    sent.lock()
        .unwrap()
        .iter()
        .map(|(reference, _, quantity)| (reference.clone(), *quantity))
        .collect()
}

/// CloudFront's XML error document.
pub fn cloudfront_error(code: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Error><Type>Sender</Type><Code>{code}</Code><Message>message of {code}</Message></Error><RequestId>b3f1c2d4</RequestId></ErrorResponse>"#
    )
}

/// An HTTP answer carrying CloudFront's error document.
pub fn cloudfront_error_response(
    status: u16,
    code: &str,
) -> aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    aws_smithy_runtime_api::http::Response::new(
        status.try_into().unwrap(),
        aws_smithy_types::body::SdkBody::from(cloudfront_error(code)),
    )
}

/// GetInvalidation answering with this status.
pub fn get_output(status: &str) -> GetInvalidationOutput {
    GetInvalidationOutput::builder()
        .invalidation(invalidation("IA", status, &[], "r-A"))
        .build()
}

/// CodePipeline's JSON 1.1 error document.
pub fn codepipeline_error(code: &str) -> String {
    format!(r#"{{"__type":"{code}","message":"message of {code}"}}"#)
}

/// A run of two distributions, one invalidation each: IA on E2QWRUHEXAMPLE in progress, IB on
/// E1U5RQF7T870K0 completed; one batch each, so no plan is read.
pub fn run_in_progress(deadline: &str, checks: u32) -> Value {
    json!({
        "key": "run-42",
        "referencePrefix": "run-42",
        "deadline": deadline,
        "submittedAt": "2026-11-26T12:00:00Z",
        "checks": checks,
        "checksSinceSubmit": checks,
        "plan": {"requested": 1, "items": 1, "tags": 0, "batches": 1},
        "targets": [
            {"id": "E2QWRUHEXAMPLE", "invalidations": [{"id": "IA", "status": "InProgress"}]},
            {"id": "E1U5RQF7T870K0", "invalidations": [{"id": "IB", "status": "Completed"}]}
        ],
        "phase": "InProgress",
        "waitSeconds": 5
    })
}

/// (distribution, invalidation id, caller reference) of every invalidation of the run.
pub fn created(run: &RunState) -> Vec<(String, String, String)> {
    invalidation_reports(run)
        .into_iter()
        .map(|i| (i.distribution_id, i.invalidation_id, i.caller_reference))
        .collect()
}

/// The run's failure as (error name, cause), if it failed.
pub fn failure(run: &RunState) -> Option<(&'static str, String)> {
    run.failure
        .as_ref()
        .map(|failure| (failure.error.name(), failure.cause.clone()))
}

/// How long a step may run in these tests (check-status's Lambda timeout).
pub const STEP_TIME: Duration = Duration::from_secs(30);

/// start-invalidation with this payload at `now`.
pub async fn start(
    client: &aws_sdk_cloudfront::Client,
    artifacts: &impl ArtifactStore,
    store: &impl ObjectStore,
    payload: Value,
    now: SystemTime,
    reply_window: Duration,
) -> Result<RunState, WorkflowError> {
    start_invalidation(
        client,
        artifacts,
        store,
        payload.into(),
        Budget::of(now, STEP_TIME),
        reply_window,
        Polling::OFF,
    )
    .await
}

/// check-status with this payload at `now`.
pub async fn check(
    client: &aws_sdk_cloudfront::Client,
    store: &impl ObjectStore,
    payload: Value,
    now: SystemTime,
) -> Result<RunState, WorkflowError> {
    check_status(
        client,
        store,
        payload.into(),
        Budget::of(now, STEP_TIME),
        Polling::OFF,
    )
    .await
}

/// How long report-result may run in these tests (its Lambda timeout).
pub const REPORT_TIME: Duration = Duration::from_secs(60);

/// report-result with the state machine's state, on the step's first attempt.
pub async fn report(
    client: &aws_sdk_codepipeline::Client,
    state: Value,
) -> Result<Outcome, invalidation::WorkflowError> {
    report_payload(client, json!({"state": state, "retryCount": 0})).await
}

/// report-result with this payload as it is.
pub async fn report_payload(
    client: &aws_sdk_codepipeline::Client,
    payload: Value,
) -> Result<Outcome, invalidation::WorkflowError> {
    report_with_store(client, &MemoryStore::new(), payload).await
}

/// report-result with this payload and state bucket.
pub async fn report_with_store(
    client: &aws_sdk_codepipeline::Client,
    store: &impl ObjectStore,
    payload: Value,
) -> Result<Outcome, invalidation::WorkflowError> {
    report_result(
        client,
        store,
        payload.into(),
        report_backoff().with_min_delay(Duration::from_millis(1)),
        Budget::of(SystemTime::now(), REPORT_TIME),
    )
    .await
}

/// The state in an events/ file of report-result's payload.
pub fn report_state(name: &str) -> Value {
    event(name)["state"].clone()
}

pub fn failure_rule(expected_type: SdkFailureType, message_start: &'static str) -> Rule {
    mock!(aws_sdk_codepipeline::Client::put_job_failure_result)
        .match_requests(move |request| {
            let details = request.failure_details().unwrap();
            details.r#type() == &expected_type && details.message().starts_with(message_start)
        })
        .then_output(|| PutJobFailureResultOutput::builder().build())
}

/// The job CodePipeline creates after an "in progress" reply carrying `token`.
pub fn continued_job(token: &str) -> Value {
    let mut job = event("codepipeline-job.json");
    job["CodePipeline.job"]["id"] = json!("22222222-abcd-2222-abcd-222222abcdef");
    job["CodePipeline.job"]["data"]["continuationToken"] = json!(token);
    job
}

pub fn step_functions(rules: &[&Rule]) -> aws_sdk_sfn::Client {
    mock_client!(aws_sdk_sfn, RuleMode::Sequential, rules, |config| config
        .retry_config(aws_sdk_sfn::config::retry::RetryConfig::disabled()))
}

pub fn sfn_error(code: &str) -> String {
    format!(r#"{{"__type":"{code}","message":"message of {code}"}}"#)
}

pub const STATE_MACHINE: &str = "arn:aws:states:us-east-1:111111111111:stateMachine:Invalidation";

pub async fn enter(
    sfn: &aws_sdk_sfn::Client,
    pipeline: &aws_sdk_codepipeline::Client,
    event: Value,
) -> Result<EntryOutcome, invalidation::WorkflowError> {
    enter_with(
        sfn,
        pipeline,
        &NoArtifacts,
        &MemoryStore::new(),
        StateMachineTarget::new(Some(STATE_MACHINE.into())),
        event,
    )
    .await
}

/// How long pipeline-entry may run in these tests (its Lambda timeout).
pub const ENTRY_TIME: Duration = Duration::from_secs(60);

pub async fn enter_with(
    sfn: &aws_sdk_sfn::Client,
    pipeline: &aws_sdk_codepipeline::Client,
    artifacts: &impl ArtifactStore,
    store: &impl ObjectStore,
    state_machine: StateMachineTarget,
    event: Value,
) -> Result<EntryOutcome, invalidation::WorkflowError> {
    start_pipeline_run(
        sfn,
        pipeline,
        artifacts,
        store,
        &state_machine,
        event.into(),
        report_backoff().with_min_delay(Duration::from_millis(1)),
        Budget::of(SystemTime::now(), ENTRY_TIME),
    )
    .await
}

/// StartExecution's answer for the job's execution.
pub fn started() -> StartExecutionOutput {
    StartExecutionOutput::builder()
        .execution_arn("arn:aws:states:us-east-1:111111111111:execution:Invalidation:job-1")
        .start_date(DateTime::from_secs(1_795_000_000))
        .build()
        .unwrap()
}

/// Plans `request` as the execution `run` would and keeps the plan in `store`, as the step
/// that first holds a request does.
pub async fn keep_plan(store: &MemoryStore, request: &Value, run: &str) {
    let plan = invalidation::request::parse_request(request)
        .unwrap()
        .plan(Vec::new(), run)
        .unwrap();
    invalidation::state_bucket::store_plan(store, run, &plan)
        .await
        .unwrap();
}

pub fn forty_wildcards() -> Value {
    let paths: Vec<String> = (0..40).map(|i| format!("/d{i:02}/*")).collect();
    json!({"distributionId": "E2QWRUHEXAMPLE", "paths": paths})
}

/// An artifact store holding one zip.
pub struct ZipArtifact(pub Vec<u8>);

impl ArtifactStore for ZipArtifact {
    async fn read_artifact(&self, _: &PathsFile) -> Result<Vec<u8>, WorkflowError> {
        Ok(self.0.clone())
    }
}

pub fn local_zip(name: &str, text: &str) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(name, zip::write::SimpleFileOptions::default())
        .unwrap();
    std::io::Write::write_all(&mut zip, text.as_bytes()).unwrap();
    zip.finish().unwrap().into_inner()
}
