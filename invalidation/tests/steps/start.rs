//! Tests of start-invalidation.

use super::common::*;
use invalidation::run::RunPlan;
use invalidation::state_bucket::load_plan;

#[tokio::test]
async fn start_plans_keeps_the_plan_and_creates_one_invalidation_per_distribution() {
    let create = create_rule();
    let client = cloudfront(&[&create]);
    let store = MemoryStore::new();

    let run = start(
        &client,
        &NoArtifacts,
        &store,
        start_payload(event("console-input-several.json")),
        at("2026-11-26T12:00:01Z"),
        WINDOW,
    )
    .await
    .unwrap();

    assert_eq!(create.num_calls(), 2);
    assert_eq!(run.job_id, None);
    assert_eq!(run.deadline.to_string(), "2026-11-26T12:30:00Z");
    assert_eq!(run.plan.items, 1);
    assert_eq!(run.wait_seconds, 5);
    assert_eq!(run.phase, Phase::InProgress);
    assert_eq!(
        created(&run),
        [
            (
                "E2QWRUHEXAMPLE".to_owned(),
                "IE2QWRUHEXAMPLE".to_owned(),
                "run-42-E2QWRUHEXAMPLE".to_owned()
            ),
            (
                "E1U5RQF7T870K0".to_owned(),
                "IE1U5RQF7T870K0".to_owned(),
                "run-42-E1U5RQF7T870K0".to_owned()
            ),
        ]
    );
    // The plan is kept under the execution's name, for the checks.
    assert_eq!(store.keys(), ["runs/run-42/plan.json"]);
    let plan: RunPlan = load_plan(&store, "run-42").await.unwrap().unwrap();
    assert_eq!(plan.targets, ["E2QWRUHEXAMPLE", "E1U5RQF7T870K0"]);
    assert_eq!(plan.batches, [["/*"]]);
}

#[tokio::test]
async fn start_with_a_job_uses_the_job_id_for_the_caller_reference_and_sends_the_paths() {
    let (create, seen) = recording_create_rule("I1");
    let client = cloudfront(&[&create]);

    let run = start(
        &client,
        &NoArtifacts,
        &MemoryStore::new(),
        start_payload_named(event("codepipeline-job.json"), &format!("job-{JOB_ID}")),
        at("2026-11-26T12:00:01Z"),
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
async fn a_retried_start_finds_the_plan_it_stored_and_plans_nothing_again() {
    let create = create_rule();
    let client = cloudfront(&[&create]);
    let store = MemoryStore::new();
    let payload = start_payload(event("console-input.json"));
    let first = start(
        &client,
        &NoArtifacts,
        &store,
        payload.clone(),
        at("2026-11-26T12:00:01Z"),
        WINDOW,
    )
    .await
    .unwrap();
    let again = start(
        &client,
        &NoArtifacts,
        &store,
        payload,
        at("2026-11-26T12:00:09Z"),
        WINDOW,
    )
    .await
    .unwrap();
    assert_eq!(store.writes(), 1, "one plan, written once");
    assert_eq!(created(&first), created(&again));
    assert_eq!(
        first.deadline, again.deadline,
        "the deadline counts from the execution's start"
    );
}

#[tokio::test]
async fn a_plan_pipeline_entry_stored_is_read_and_its_paths_file_is_not() {
    // GIVEN a job whose paths file pipeline-entry read, planned and stored, and whose event
    // reaches the state machine without its credentials.
    let store = MemoryStore::new();
    let mut job = event("codepipeline-job-paths-file.json");
    let plan = invalidation::request::parse_request(&job)
        .unwrap()
        .plan(vec!["/from-the-file.html".into()], "unused")
        .unwrap();
    invalidation::state_bucket::store_plan(&store, &format!("job-{JOB_ID}"), &plan)
        .await
        .unwrap();
    job["CodePipeline.job"]["data"]["artifactCredentials"] = json!({});
    let (create, seen) = recording_create_rule("I1");
    let client = cloudfront(&[&create]);

    // WHEN start-invalidation runs for it (NoArtifacts fails the test if anything reads one).
    let run = start(
        &client,
        &NoArtifacts,
        &store,
        start_payload_named(job, &format!("job-{JOB_ID}")),
        at("2026-11-26T12:00:01Z"),
        WINDOW,
    )
    .await
    .unwrap();

    // THEN the stored plan's paths are sent, and nothing is planned or written again.
    assert_eq!(seen.lock().unwrap()[0].1, ["/from-the-file.html"]);
    assert_eq!(store.writes(), 1);
    assert_eq!(run.plan.items, 1);
}

#[tokio::test]
async fn invalid_input_is_rejected_before_any_call_and_nothing_is_stored() {
    let create = create_rule();
    let client = cloudfront(&[&create]);
    let store = MemoryStore::new();
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
        let run = start(
            &client,
            &NoArtifacts,
            &store,
            start_payload(input),
            at("2026-11-26T12:00:01Z"),
            WINDOW,
        )
        .await
        .unwrap();
        let (name, cause) = failure(&run).unwrap();
        assert_eq!(name, "InvalidInput");
        assert!(cause.contains(named), "{cause}");
        assert!(run.targets.is_empty());
    }
    assert_eq!(create.num_calls(), 0);
    assert_eq!(store.writes(), 0);
}

/// start-invalidation of the console sample against a CloudFront that answers CreateInvalidation
/// with this error.
async fn start_meeting(status: u16, code: &'static str) -> RunState {
    let rule = mock!(aws_sdk_cloudfront::Client::create_invalidation)
        .then_http_response(move || cloudfront_error_response(status, code));
    start(
        &cloudfront(&[&rule]),
        &NoArtifacts,
        &MemoryStore::new(),
        start_payload(event("console-input.json")),
        at("2026-11-26T12:00:01Z"),
        WINDOW,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_refusal_fails_the_run_in_its_state_and_a_transient_error_leaves_the_batch_pending() {
    let refusals = [
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
        (400, "SomethingUnforeseen", ErrorKind::AwsRequestFailed),
    ];
    for (status, code, kind) in refusals {
        let run = start_meeting(status, code).await;
        assert_eq!(run.phase, Phase::Failed, "{code}");
        let (name, cause) = failure(&run).unwrap();
        assert_eq!(name, kind.name(), "{code}");
        assert_eq!(
            cause,
            format!("CreateInvalidation on distribution E2QWRUHEXAMPLE: {code} (HTTP {status}): message of {code}")
        );
    }
    for (status, code) in [
        (400, "Throttling"),
        (503, "ServiceUnavailable"),
        (500, "InternalError"),
    ] {
        let run = start_meeting(status, code).await;
        assert_eq!(run.phase, Phase::InProgress, "{code}");
        assert!(run.any_due(), "{code}: the batch waits for the next check");
        assert_eq!(run.targets[0].failing.as_ref().unwrap().calls, 1);
    }
}

#[tokio::test]
async fn a_bare_5xx_without_an_error_document_leaves_the_batch_for_the_next_check() {
    let rule = mock!(aws_sdk_cloudfront::Client::create_invalidation)
        .sequence()
        .http_status(503, None)
        .build();
    let client = cloudfront(&[&rule]);
    let run = start(
        &client,
        &NoArtifacts,
        &MemoryStore::new(),
        start_payload(event("console-input.json")),
        at("2026-11-26T12:00:01Z"),
        WINDOW,
    )
    .await
    .unwrap();
    let failing = run.targets[0].failing.as_ref().unwrap();
    assert_eq!(
        failing.error,
        ErrorKind::ServiceUnavailable,
        "{}",
        failing.message
    );
    assert_eq!(run.phase, Phase::InProgress);
}

#[tokio::test]
async fn a_refusal_after_the_first_distribution_keeps_what_was_created_in_the_state() {
    let first = create_rule();
    let second = mock!(aws_sdk_cloudfront::Client::create_invalidation)
        .match_requests(|request| request.distribution_id() == Some("E1U5RQF7T870K0"))
        .then_http_response(|| cloudfront_error_response(404, "NoSuchDistribution"));
    // MatchAny takes the first matching rule, so the specific one goes first.
    let client = cloudfront(&[&second, &first]);
    let run = start(
        &client,
        &NoArtifacts,
        &MemoryStore::new(),
        start_payload(event("console-input-several.json")),
        at("2026-11-26T12:00:01Z"),
        WINDOW,
    )
    .await
    .unwrap();
    assert_eq!(failure(&run).unwrap().0, "DistributionNotFound");
    assert_eq!(
        created(&run),
        [(
            "E2QWRUHEXAMPLE".to_owned(),
            "IE2QWRUHEXAMPLE".to_owned(),
            "run-42-E2QWRUHEXAMPLE".to_owned()
        )]
    );
}

#[tokio::test]
async fn a_malformed_job_event_is_reported_without_its_credentials() {
    let mut request = event("codepipeline-job.json");
    // A number where a string belongs makes serde quote the value in its message.
    request["CodePipeline.job"]["data"]["artifactCredentials"]["secretAccessKey"] =
        json!(98765432109876543u64);
    let client = cloudfront(&[]);
    let run = start(
        &client,
        &NoArtifacts,
        &MemoryStore::new(),
        start_payload(request),
        at("2026-11-26T12:00:01Z"),
        WINDOW,
    )
    .await
    .unwrap();
    assert_eq!(
        failure(&run).unwrap(),
        (
            "InvalidInput",
            "the CodePipeline job event: CodePipeline.job.data.artifactCredentials.\
             secretAccessKey: invalid type: integer `[redacted]`, expected a string"
                .to_owned()
        )
    );
    assert_eq!(run.job_id.as_deref(), Some(JOB_ID), "the job hears of it");
}

#[tokio::test]
async fn another_request_under_a_stored_run_name_is_a_plan_conflict_and_nothing_is_sent() {
    let create = create_rule();
    let client = cloudfront(&[&create]);
    let store = MemoryStore::new();
    start(
        &client,
        &NoArtifacts,
        &store,
        start_payload(event("console-input.json")),
        at("2026-11-26T12:00:01Z"),
        WINDOW,
    )
    .await
    .unwrap();
    let run = start(
        &client,
        &NoArtifacts,
        &store,
        start_payload(event("console-input-several.json")),
        at("2026-11-26T12:00:01Z"),
        WINDOW,
    )
    .await
    .unwrap();
    assert_eq!(failure(&run).unwrap().0, "PlanConflict");
    assert_eq!(create.num_calls(), 1);
}
