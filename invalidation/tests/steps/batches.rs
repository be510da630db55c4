//! Tests of batches submitted one after another.

use super::common::*;

#[tokio::test]
async fn more_wildcards_than_the_limit_start_with_the_first_batch_and_keep_the_rest_pending() {
    let create = create_rule();
    let client = cloudfront(&[&create]);
    let run = start(
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
    let mut run = start(
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
    let blocked = check(
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
    let next = check(
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

    let run = start(
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
async fn a_check_whose_planning_gives_other_batches_fails_with_plan_changed_and_submits_nothing() {
    // GIVEN a run of three batches whose first has completed; its token names the plan
    let create = create_rule();
    let now = at("2026-11-26T12:00:01Z");
    let mut run = start(
        &cloudfront(&[&create]),
        &NoArtifacts,
        start_payload(forty_wildcards()),
        now,
        WINDOW,
    )
    .await
    .unwrap();
    assert_eq!(run.plan.len(), 12, "{}", run.plan);
    let token = invalidation::continuation::Continuation::token(&run).unwrap();
    assert!(
        token.ends_with(&format!(
            r#""next":{{"E2QWRUHEXAMPLE":1}},"plan":"{}"}}"#,
            run.plan
        )),
        "{token}"
    );
    run.invalidations[0].status = "Completed".into();

    // WHEN the run began under another planner (as after a deployment mid-run)
    run.plan = "0123456789ab".into();
    let (create, seen) = recording_create_rule("I2");
    let error = check(
        &cloudfront(&[&create]),
        &NoArtifacts,
        checking_request(&run, forty_wildcards()),
        now,
    )
    .await
    .unwrap_err();

    // THEN the check fails by name and batch 1 does not go in
    assert_eq!(error.name(), "PlanChanged");
    assert!(
        error
            .message
            .starts_with("planning the execution input again gave 3 batches with fingerprint "),
        "{}",
        error.message
    );
    assert!(
        error.message.ends_with(
            ", not the plan 0123456789ab this run started with (were the functions deployed \
             again during the run?); the batches not yet submitted were left alone: run the \
             action again to plan afresh"
        ),
        "{}",
        error.message
    );
    assert!(quantities(&seen).is_empty());
}

#[tokio::test]
async fn a_continued_job_checks_its_plan_before_it_submits_a_batch() {
    let planned = start(
        &cloudfront(&[&create_rule()]),
        &NoArtifacts,
        start_payload(forty_wildcards()),
        at("2026-11-26T12:00:01Z"),
        WINDOW,
    )
    .await
    .unwrap()
    .plan;
    let job = |plan: &str| {
        let mut request = continued_job(&format!(
            r#"{{"v":1,"deadline":"2026-11-26T13:00:00Z","paths":40,"checks":3,"invalidations":[["E2QWRUHEXAMPLE","I1"]],"next":{{"E2QWRUHEXAMPLE":1}},"plan":"{plan}"}}"#
        ));
        request["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]
            ["UserParameters"] = json!(forty_wildcards().to_string());
        start_payload(request)
    };
    let resume = |payload| async {
        let create = create_rule();
        let answer = start(
            &cloudfront(&[&create]),
            &NoArtifacts,
            payload,
            at("2026-11-26T12:20:00Z"),
            WINDOW,
        )
        .await;
        (answer, create.num_calls())
    };

    // The same planner: the run goes on with the token's plan.
    let (same, created) = resume(job(&planned)).await;
    assert_eq!(same.unwrap().plan, planned);
    assert_eq!(created, 0, "the next batch waits for its check");

    // Another planner: refused by name before anything is created.
    let (changed, created) = resume(job("0123456789ab")).await;
    assert_eq!(changed.unwrap_err().name(), "PlanChanged");
    assert_eq!(created, 0);
}

#[tokio::test]
async fn a_first_batch_refused_for_a_foreign_limit_waits_and_goes_in_at_a_later_check() {
    let busy = mock!(aws_sdk_cloudfront::Client::create_invalidation)
        .then_http_response(|| cloudfront_error_response(400, "TooManyInvalidationsInProgress"));
    let now = at("2026-11-26T12:00:01Z");
    let run = start(
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
    let next = check(
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
    let run = start(
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
    let run = check(
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
    let error = start(
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

    let mut run = start(&client, &artifact, start_payload(job.clone()), now, WINDOW)
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
    let next = check(&client, &artifact, checking_request(&run, job), now)
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
