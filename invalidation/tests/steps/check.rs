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
    let store = MemoryStore::new();

    let run = check(
        &client,
        &store,
        checking(run_in_progress("2026-11-26T13:00:00Z", 0)),
        now,
    )
    .await
    .unwrap();
    assert_eq!(run.phase, Phase::InProgress);
    assert_eq!((run.checks, run.wait_seconds), (1, 10));
    assert_eq!(run.targets[0].invalidations[0].status, "InProgress");

    let run = check(&client, &store, checking(&run), now).await.unwrap();
    assert_eq!(run.phase, Phase::Completed);
    assert_eq!((run.checks, run.wait_seconds), (2, 0));
    assert_eq!(run.targets[0].invalidations[0].status, "Completed");
    assert_eq!(
        get.num_calls(),
        2,
        "IB was completed already and is not asked for"
    );
    assert!(
        store.keys().is_empty(),
        "nothing was due, so no plan was read or written"
    );
}

#[tokio::test]
async fn the_wait_is_cut_short_at_the_deadline() {
    let get = mock!(aws_sdk_cloudfront::Client::get_invalidation)
        .then_output(|| get_output("InProgress"));
    let client = cloudfront(&[&get]);
    let run = check(
        &client,
        &MemoryStore::new(),
        checking(run_in_progress("2026-11-26T13:00:00Z", 9)),
        at("2026-11-26T12:59:48Z"),
    )
    .await
    .unwrap();
    assert_eq!(run.wait_seconds, 12);
}

#[tokio::test]
async fn past_the_deadline_the_run_fails_naming_what_is_still_in_progress() {
    let get = mock!(aws_sdk_cloudfront::Client::get_invalidation)
        .then_output(|| get_output("InProgress"));
    let client = cloudfront(&[&get]);
    let run = check(
        &client,
        &MemoryStore::new(),
        checking(run_in_progress("2026-11-26T13:00:00Z", 61)),
        at("2026-11-26T13:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(run.phase, Phase::Failed);
    assert_eq!(
        failure(&run).unwrap(),
        (
            "InvalidationTimedOut",
            "still in progress at the deadline 2026-11-26T13:00:00Z after 62 checks: IA on \
             E2QWRUHEXAMPLE"
                .to_owned()
        )
    );
}

#[tokio::test]
async fn a_lost_or_forbidden_invalidation_fails_the_run_in_its_state() {
    let cases = [
        (404, "NoSuchInvalidation", ErrorKind::InvalidationNotFound),
        (404, "NoSuchDistribution", ErrorKind::DistributionNotFound),
        (403, "AccessDenied", ErrorKind::AccessDenied),
    ];
    for (status, code, kind) in cases {
        let rule = mock!(aws_sdk_cloudfront::Client::get_invalidation)
            .then_http_response(move || cloudfront_error_response(status, code));
        let client = cloudfront(&[&rule]);
        let run = check(
            &client,
            &MemoryStore::new(),
            checking(run_in_progress("2099-01-01T00:00:00Z", 0)),
            SystemTime::now(),
        )
        .await
        .unwrap();
        let (name, cause) = failure(&run).unwrap();
        assert_eq!(name, kind.name(), "{code}");
        assert!(
            cause.starts_with("GetInvalidation IA on distribution E2QWRUHEXAMPLE"),
            "{cause}"
        );
    }
}

#[tokio::test]
async fn a_failed_status_read_keeps_the_last_status_until_reads_keep_failing_for_ten_minutes() {
    // GIVEN CloudFront throttling or failing every status read
    for (status, code) in [(400, "Throttling"), (503, "ServiceUnavailable")] {
        let rule = mock!(aws_sdk_cloudfront::Client::get_invalidation)
            .then_http_response(move || cloudfront_error_response(status, code));
        let client = cloudfront(&[&rule]);
        let store = MemoryStore::new();
        let started = at("2026-11-26T12:00:00Z");
        let mut run: RunState =
            serde_json::from_value(run_in_progress("2026-11-26T13:00:00Z", 0)).unwrap();

        // WHEN checks keep meeting it, a minute apart
        let mut minute = 0;
        while run.phase == Phase::InProgress {
            minute += 1;
            let now = started + Duration::from_secs(60 * minute);
            run = check(&client, &store, checking(&run), now).await.unwrap();
            if minute < 11 {
                // THEN for ten minutes the run goes on, the invalidation as last seen
                assert_eq!(run.phase, Phase::InProgress, "{code}, minute {minute}");
                assert_eq!(run.targets[0].invalidations[0].status, "InProgress");
            }
        }

        // AND then it fails, naming the streak and the last error
        assert_eq!(minute, 11, "{code}");
        let (name, cause) = failure(&run).unwrap();
        assert_eq!(
            name,
            if code == "Throttling" {
                "Throttled"
            } else {
                "ServiceUnavailable"
            }
        );
        assert!(
            cause.starts_with(
                "CloudFront's calls for E2QWRUHEXAMPLE failed 11 times in a row over 600 s; \
                 the last: GetInvalidation IA on distribution E2QWRUHEXAMPLE"
            ),
            "{cause}"
        );
    }
}

#[tokio::test]
async fn one_failed_read_among_forty_distributions_fails_nothing() {
    // GIVEN a run on 40 distributions whose invalidations are all in progress
    let ids: Vec<String> = (0..40).map(|n| format!("E{n:0>13}")).collect();
    let mut run: RunState =
        serde_json::from_value(run_in_progress("2026-11-26T13:00:00Z", 0)).unwrap();
    let template = run.targets[0].clone();
    run.targets = ids
        .iter()
        .map(|id| {
            let mut target = template.clone();
            target.id = id.clone();
            target.invalidations[0].id = format!("I{id}");
            target
        })
        .collect();
    // WHEN one read is throttled and the other 39 answer Completed
    let throttled = mock!(aws_sdk_cloudfront::Client::get_invalidation)
        .match_requests(|request| request.distribution_id() == Some("E0000000000007"))
        .then_http_response(|| cloudfront_error_response(400, "Throttling"));
    let completed =
        mock!(aws_sdk_cloudfront::Client::get_invalidation).then_output(|| get_output("Completed"));
    let client = cloudfront(&[&throttled, &completed]);
    let run = check(
        &client,
        &MemoryStore::new(),
        checking(&run),
        at("2026-11-26T12:01:00Z"),
    )
    .await
    .unwrap();
    // THEN the step succeeds: 39 completed, the throttled one in progress as last seen
    assert_eq!(run.phase, Phase::InProgress);
    let completed = run
        .created()
        .filter(|(_, invalidation)| invalidation.is_completed())
        .count();
    assert_eq!(completed, 39);
    assert_eq!(run.in_progress(), 1);
    assert_eq!(run.targets[7].failing.as_ref().unwrap().calls, 1);
}

#[tokio::test]
async fn a_run_starved_by_other_deploys_says_the_in_progress_limit_was_why() {
    let create = mock!(aws_sdk_cloudfront::Client::create_invalidation)
        .then_http_response(|| cloudfront_error_response(400, "TooManyInvalidationsInProgress"));
    let client = cloudfront(&[&create]);
    let store = MemoryStore::new();
    keep_plan(
        &store,
        &json!({"distributionId": "E2QWRUHEXAMPLE"}),
        "run-42",
    )
    .await;
    let mut run: RunState =
        serde_json::from_value(run_in_progress("2026-11-26T13:00:00Z", 61)).unwrap();
    run.targets.truncate(1);
    run.targets[0].invalidations.clear();
    run.targets[0].refused_for_limit = 40;

    let run = check(&client, &store, checking(&run), at("2026-11-26T13:00:00Z"))
        .await
        .unwrap();

    assert_eq!(
        failure(&run).unwrap(),
        (
            "InvalidationTimedOut",
            "still in progress at the deadline 2026-11-26T13:00:00Z after 62 checks: not yet \
             submitted: batch 1 of 1 for E2QWRUHEXAMPLE (CloudFront refused it 41 times: other \
             invalidations held the distribution's in-progress limit of 3000 file paths and 15 \
             wildcards)"
                .to_owned()
        )
    );
}
