//! Tests of check-status.

use super::common::*;

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

    let run = check(
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

    let run = check(
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
    let run = check(
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
    let error = check(
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
        let error = check(
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

#[tokio::test]
async fn a_run_starved_by_other_deploys_says_the_in_progress_limit_was_why() {
    let create = mock!(aws_sdk_cloudfront::Client::create_invalidation)
        .then_http_response(|| cloudfront_error_response(400, "TooManyInvalidationsInProgress"));
    let client = cloudfront(&[&create]);
    let mut run = run_in_progress("2026-11-26T13:00:00Z", 61);
    run["invalidations"] = json!([]);
    run["pending"] =
        json!([{"distributionId": "E2QWRUHEXAMPLE", "batch": 0, "refusedForLimit": 40}]);
    run["referencePrefix"] = json!("run-42");

    let error = check(
        &client,
        &NoArtifacts,
        checking(run),
        at("2026-11-26T13:00:00Z"),
    )
    .await
    .unwrap_err();

    assert_eq!(error.kind, ErrorKind::InvalidationTimedOut);
    assert_eq!(
        error.message,
        "still in progress at the deadline 2026-11-26T13:00:00Z after 62 checks: not yet \
         submitted: batch 0 for E2QWRUHEXAMPLE (CloudFront refused it 41 times: other \
         invalidations held the distribution's in-progress limit of 3000 file paths and 15 \
         wildcards)"
    );
}
