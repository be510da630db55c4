//! Tests of start-invalidation.

use super::common::*;

#[tokio::test]
async fn start_creates_one_invalidation_per_distribution_named_after_the_execution() {
    let create = create_rule();
    let client = cloudfront(&[&create]);

    let run = start(
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

    let run = start(
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
        let error = start(
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
        let error = start(
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
    let error = start(
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
    let error = start(
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
    // A number where a string belongs makes serde quote the value in its message.
    request["CodePipeline.job"]["data"]["artifactCredentials"]["secretAccessKey"] =
        json!(98765432109876543u64);
    let client = cloudfront(&[]);
    let error = start(
        &client,
        &NoArtifacts,
        start_payload(request),
        SystemTime::now(),
        WINDOW,
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    assert_eq!(
        error.message,
        "the CodePipeline job event: CodePipeline.job.data.artifactCredentials.secretAccessKey: \
         invalid type: integer `[redacted]`, expected a string"
    );
}
