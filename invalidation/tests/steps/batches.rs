//! Tests of batches submitted one after another, their paths from the plan in the state bucket.

use super::common::*;
use invalidation::continuation::Continuation;
use invalidation::state_bucket::store_continuation;

/// Marks the target's invalidations completed, as CloudFront would report them.
fn completed(mut run: RunState) -> RunState {
    for target in &mut run.targets {
        for invalidation in &mut target.invalidations {
            invalidation.status = "Completed".into();
        }
    }
    run
}

#[tokio::test]
async fn more_wildcards_than_the_limit_start_with_the_first_batch_and_keep_the_rest_pending() {
    let create = create_rule();
    let client = cloudfront(&[&create]);
    let run = start(
        &client,
        &NoArtifacts,
        &MemoryStore::new(),
        start_payload(forty_wildcards()),
        at("2026-11-26T12:00:01Z"),
        WINDOW,
    )
    .await
    .unwrap();
    assert_eq!(create.num_calls(), 1);
    assert_eq!(created(&run)[0].2, "run-42-E2QWRUHEXAMPLE");
    assert_eq!(run.plan.batches, 3);
    assert_eq!(run.targets[0].next_batch(run.plan.batches), Some(1));
    assert_eq!(run.phase, Phase::InProgress);
    assert_eq!(run.reference_prefix, "run-42");
}

#[tokio::test]
async fn the_next_batch_goes_in_when_the_previous_one_completed_and_waits_on_a_foreign_limit() {
    // GIVEN a run whose first batch has completed, with two batches to go
    let create = create_rule();
    let client = cloudfront(&[&create]);
    let store = MemoryStore::new();
    let now = at("2026-11-26T12:00:01Z");
    let run = start(
        &client,
        &NoArtifacts,
        &store,
        start_payload(forty_wildcards()),
        now,
        WINDOW,
    )
    .await
    .unwrap();
    let run = completed(run);

    // WHEN another deploy holds the limit, the batch stays pending without failing the run
    let busy = mock!(aws_sdk_cloudfront::Client::create_invalidation)
        .then_http_response(|| cloudfront_error_response(400, "TooManyInvalidationsInProgress"));
    let blocked = check(&cloudfront(&[&busy]), &store, checking(&run), now)
        .await
        .unwrap();
    assert_eq!(busy.num_calls(), 1);
    assert_eq!(blocked.targets[0].next_batch(3), Some(1));
    assert_eq!(blocked.targets[0].refused_for_limit, 1);
    assert_eq!(blocked.phase, Phase::InProgress);

    // THEN once the limit frees, batch 1 is submitted under its own caller reference, batch 2
    // waits, and its paths are the plan's second batch
    let (create, seen) = recording_create_rule("I2");
    let next = check(&cloudfront(&[&create]), &store, checking(&blocked), now)
        .await
        .unwrap();
    assert_eq!(
        quantities(&seen),
        [("run-42-E2QWRUHEXAMPLE-1".to_owned(), 15)]
    );
    assert_eq!(seen.lock().unwrap()[0].1[0], "/d15/*");
    assert_eq!(next.targets[0].invalidations.len(), 2);
    assert_eq!(next.targets[0].next_batch(3), Some(2));
    assert_eq!(next.phase, Phase::InProgress);
}

#[tokio::test]
async fn a_first_batch_refused_at_the_start_is_sent_by_a_check_from_the_stored_plan_and_every_batch_follows(
) {
    // GIVEN a plan of three batches whose first CloudFront refuses at the start for its limit
    let store = MemoryStore::new();
    let now = at("2026-11-26T12:00:01Z");
    let busy = mock!(aws_sdk_cloudfront::Client::create_invalidation)
        .then_http_response(|| cloudfront_error_response(400, "TooManyInvalidationsInProgress"));
    let mut run = start(
        &cloudfront(&[&busy]),
        &NoArtifacts,
        &store,
        start_payload(forty_wildcards()),
        now,
        WINDOW,
    )
    .await
    .unwrap();
    assert!(run.created().next().is_none());

    // WHEN checks go on, each seeing the batch before completed
    let (create, seen) = recording_create_rule("I1");
    let client = cloudfront(&[&create]);
    let mut checks = 0;
    while run.phase == Phase::InProgress {
        run = completed(check(&client, &store, checking(&run), now).await.unwrap());
        checks += 1;
        assert!(checks < 10, "the run should have finished");
    }

    // THEN all three batches went in, in order, from the plan stored at the start, and only
    // then did the run complete
    assert_eq!(
        quantities(&seen),
        [
            ("run-42-E2QWRUHEXAMPLE".to_owned(), 15),
            ("run-42-E2QWRUHEXAMPLE-1".to_owned(), 15),
            ("run-42-E2QWRUHEXAMPLE-2".to_owned(), 10)
        ]
    );
    assert_eq!(run.phase, Phase::Completed);
    assert_eq!(run.created().count(), 3);
    assert_eq!(store.writes(), 1, "planned once, at the start");
}

#[tokio::test]
async fn a_continued_job_carries_on_the_stored_run_with_its_pending_batches() {
    // GIVEN a run of three batches that replied "in progress" with batch 0 completed and
    // batch 1 in progress, its state kept for the next job
    let store = MemoryStore::new();
    let create = create_rule();
    let mut run = start(
        &cloudfront(&[&create]),
        &NoArtifacts,
        &store,
        start_payload_named(
            {
                let mut job = event("codepipeline-job.json");
                job["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]
                    ["UserParameters"] = json!(forty_wildcards().to_string());
                job
            },
            &format!("job-{JOB_ID}"),
        ),
        at("2026-11-26T12:00:01Z"),
        WINDOW,
    )
    .await
    .unwrap();
    run.targets[0].invalidations[0].status = "Completed".into();
    run.targets[0]
        .invalidations
        .push(invalidation::run::CreatedInvalidation {
            id: "I2".into(),
            status: "InProgress".into(),
            ..Default::default()
        });
    let key = store_continuation(&store, &run, JOB_ID).await.unwrap();
    let token = Continuation::at(key).token();

    // WHEN the job CodePipeline creates next starts its run
    let create = create_rule();
    let resumed = start(
        &cloudfront(&[&create]),
        &NoArtifacts,
        &store,
        start_payload_named(
            continued_job(&token),
            "job-22222222-abcd-2222-abcd-222222abcdef",
        ),
        at("2026-11-26T12:20:00Z"),
        WINDOW,
    )
    .await
    .unwrap();

    // THEN it carries on the same run: nothing created again, the same deadline and
    // CallerReferences, the new job to report to, a reply due 15 minutes after its own start
    assert_eq!(create.num_calls(), 0, "batch 2 waits for batch 1");
    assert_eq!(resumed.created().count(), 2);
    assert_eq!(resumed.targets[0].next_batch(3), Some(2));
    assert_eq!(resumed.key, format!("job-{JOB_ID}"));
    assert_eq!(resumed.reference_prefix, JOB_ID);
    assert_eq!(resumed.deadline, run.deadline);
    assert_eq!(
        resumed.job_id.as_deref(),
        Some("22222222-abcd-2222-abcd-222222abcdef")
    );
    assert_eq!(
        resumed.reply_by.unwrap().to_string(),
        "2026-11-26T12:15:00Z",
        "the execution of the continued job started at 12:00 in these tests"
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
    let store = MemoryStore::new();
    let request =
        json!({"distributionId": "dt_2wjDZi3hD1ivOXf6rpZJO1AB", "paths": ["/index.html"]});
    let run = start(
        &client,
        &NoArtifacts,
        &store,
        start_payload(request),
        at("2026-11-26T12:00:01Z"),
        WINDOW,
    )
    .await
    .unwrap();
    assert_eq!(created(&run)[0].0, "dt_2wjDZi3hD1ivOXf6rpZJO1AB");
    let run = check(&client, &store, checking(&run), SystemTime::now())
        .await
        .unwrap();
    assert_eq!(run.phase, Phase::Completed);
    assert_eq!((create.num_calls(), get.num_calls()), (1, 1));

    let missing = mock!(aws_sdk_cloudfront::Client::create_invalidation_for_distribution_tenant)
        .then_http_response(|| cloudfront_error_response(404, "EntityNotFound"));
    let run = start(
        &cloudfront(&[&missing]),
        &NoArtifacts,
        &MemoryStore::new(),
        start_payload(json!({"distributionId": "dt_2wjDZi3hD1ivOXf6rpZJO1AB"})),
        at("2026-11-26T12:00:01Z"),
        WINDOW,
    )
    .await
    .unwrap();
    let (name, cause) = failure(&run).unwrap();
    assert_eq!(name, "DistributionNotFound");
    assert!(
        cause.starts_with(
            "CreateInvalidationForDistributionTenant on distribution tenant dt_2wjDZi3hD1ivOXf6rpZJO1AB: EntityNotFound (HTTP 404)"
        ),
        "{cause}"
    );
}

/// An artifact store holding one zip, counting how often it is read.
struct CountedArtifact(ZipArtifact, std::sync::atomic::AtomicU32);

impl ArtifactStore for CountedArtifact {
    async fn read_artifact(&self, file: &PathsFile) -> Result<Vec<u8>, WorkflowError> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.0.read_artifact(file).await
    }
}

#[tokio::test]
async fn ten_thousand_paths_from_a_paths_file_go_in_four_batches_planned_and_read_once() {
    let lines: String = (0..10_000)
        .map(|i| format!("/assets/file-{i:05}.js\n"))
        .collect();
    let artifact = CountedArtifact(ZipArtifact(local_zip("paths.txt", &lines)), 0.into());
    let mut job = event("codepipeline-job.json");
    job["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] = json!(
        r#"{"distributionId":"E2QWRUHEXAMPLE","pathsFile":"paths.txt","collapseAbove":false}"#
    );
    let (create, sent) = recording_create_rule("I1");
    let client = cloudfront(&[&create]);
    let store = MemoryStore::new();
    let now = at("2026-11-26T12:00:01Z");

    let mut run = start(
        &client,
        &artifact,
        &store,
        start_payload_named(job, &format!("job-{JOB_ID}")),
        now,
        WINDOW,
    )
    .await
    .unwrap();
    assert_eq!(
        (run.plan.requested, run.plan.items, run.plan.batches),
        (10_000, 10_000, 4)
    );
    let state = serde_json::to_string(&run).unwrap();
    assert!(
        state.len() < 1_000,
        "the run state holds no paths: {} bytes",
        state.len()
    );
    run = completed(run);
    while run.phase == Phase::InProgress {
        run = completed(check(&client, &store, checking(&run), now).await.unwrap());
    }
    assert_eq!(
        quantities(&sent),
        [
            (format!("{JOB_ID}-E2QWRUHEXAMPLE"), 3000),
            (format!("{JOB_ID}-E2QWRUHEXAMPLE-1"), 3000),
            (format!("{JOB_ID}-E2QWRUHEXAMPLE-2"), 3000),
            (format!("{JOB_ID}-E2QWRUHEXAMPLE-3"), 1000),
        ]
    );
    assert_eq!(artifact.1.load(std::sync::atomic::Ordering::Relaxed), 1);
    assert_eq!(store.writes(), 1, "planned and stored once");
}
