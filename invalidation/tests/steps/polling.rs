//! Tests of in-function polling (`POLL_SECONDS`), on tokio's paused clock: a step's sleeps
//! pass no real time, and the stubbed CloudFront completes an invalidation when the paused
//! clock has moved far enough since its creation.

use std::collections::HashMap;

use aws_smithy_mocks::MockResponse;
use tokio::time::Instant;

use super::common::*;

/// start-invalidation's and check-status's POLL_SECONDS in template.yaml.
const START_POLL: Duration = Duration::from_secs(150);
const CHECK_POLL: Duration = Duration::from_secs(600);

/// A CloudFront whose invalidations complete `takes` after they were created (on tokio's
/// clock); GetInvalidation answers Throttling on the calls `throttled` names (counted from 1).
struct FakeCloudFront {
    create: Rule,
    get: Rule,
    /// Invalidation id → when it was created, in seconds after `base` (before it: negative).
    created: Arc<Mutex<HashMap<String, f64>>>,
    base: Instant,
}

impl FakeCloudFront {
    fn new(takes: Duration, throttled: &'static [usize]) -> Self {
        let base = Instant::now();
        let created: Arc<Mutex<HashMap<String, f64>>> = Arc::default();
        let on_create = created.clone();
        let create = mock!(aws_sdk_cloudfront::Client::create_invalidation).then_compute_output(
            move |request| {
                let batch = request.invalidation_batch().unwrap();
                let id = format!("I-{}", batch.caller_reference());
                on_create
                    .lock()
                    .unwrap()
                    .entry(id.clone())
                    .or_insert_with(|| base.elapsed().as_secs_f64());
                CreateInvalidationOutput::builder()
                    .invalidation(invalidation(
                        &id,
                        "InProgress",
                        &[],
                        batch.caller_reference(),
                    ))
                    .build()
            },
        );
        let on_get = created.clone();
        let calls = Arc::new(Mutex::new(0usize));
        let get = mock!(aws_sdk_cloudfront::Client::get_invalidation).then_compute_response(
            move |request| {
                let call = {
                    let mut calls = calls.lock().unwrap();
                    *calls += 1;
                    *calls
                };
                if throttled.contains(&call) {
                    return MockResponse::Http(cloudfront_error_response(400, "Throttling"));
                }
                let id = request.id().unwrap();
                let created = on_get.lock().unwrap()[id];
                let status = if base.elapsed().as_secs_f64() - created >= takes.as_secs_f64() {
                    "Completed"
                } else {
                    "InProgress"
                };
                MockResponse::Output(
                    GetInvalidationOutput::builder()
                        .invalidation(invalidation(id, status, &[], "r"))
                        .build(),
                )
            },
        );
        Self {
            create,
            get,
            created,
            base,
        }
    }

    fn client(&self) -> aws_sdk_cloudfront::Client {
        cloudfront(&[&self.create, &self.get])
    }

    /// An invalidation created before the test began, `ago` before now on tokio's clock.
    fn existing(&self, id: &str, ago: Duration) {
        let created = self.base.elapsed().as_secs_f64() - ago.as_secs_f64();
        self.created.lock().unwrap().insert(id.to_owned(), created);
    }
}

async fn start_polling(
    client: &aws_sdk_cloudfront::Client,
    request: Value,
    budget: Duration,
) -> Result<RunState, WorkflowError> {
    start_invalidation(
        client,
        &NoArtifacts,
        &MemoryStore::new(),
        start_payload(request).into(),
        Budget::of(at("2026-11-26T12:00:01Z"), budget),
        WINDOW,
        Polling::for_at_most(START_POLL),
    )
    .await
}

async fn check_polling(
    client: &aws_sdk_cloudfront::Client,
    store: &MemoryStore,
    payload: Value,
    now: SystemTime,
) -> Result<RunState, WorkflowError> {
    check_status(
        client,
        store,
        payload.into(),
        Budget::of(now, Duration::from_secs(628)),
        Polling::for_at_most(CHECK_POLL),
    )
    .await
}

fn console() -> Value {
    event("console-input.json")
}

#[tokio::test(start_paused = true)]
async fn start_polls_every_two_seconds_and_returns_as_soon_as_cloudfront_reports_completed() {
    let cloudfront = FakeCloudFront::new(Duration::from_secs(7), &[]);
    let began = Instant::now();

    let run = start_polling(&cloudfront.client(), console(), Duration::from_secs(178))
        .await
        .unwrap();

    assert_eq!(
        run.phase,
        Phase::Completed,
        "the state machine goes straight to the report"
    );
    assert_eq!(run.wait_seconds, 0);
    assert_eq!(run.targets[0].invalidations[0].status, "Completed");
    assert_eq!(
        began.elapsed(),
        Duration::from_secs(8),
        "seen 1 s after it completed"
    );
    assert_eq!(cloudfront.get.num_calls(), 4, "at 2, 4, 6 and 8 s");
    assert_eq!(run.checks, 1, "start's polling counts as a status check");
}

#[tokio::test(start_paused = true)]
async fn start_polls_through_the_dense_phase_then_hands_over_to_the_wait_states() {
    let cloudfront = FakeCloudFront::new(Duration::from_secs(3600), &[]);
    let began = Instant::now();

    let run = start_polling(&cloudfront.client(), console(), Duration::from_secs(178))
        .await
        .unwrap();

    assert_eq!(run.phase, Phase::InProgress);
    assert_eq!(began.elapsed(), Duration::from_secs(150));
    assert_eq!(cloudfront.get.num_calls(), 75, "30 a minute");
    assert_eq!(run.submitted_at.to_string(), "2026-11-26T12:00:01Z");
    assert_eq!(
        run.wait_seconds, 38,
        "a quarter of the 150 s since the submission"
    );
}

#[tokio::test(start_paused = true)]
async fn polling_stops_short_of_the_lambda_deadline_and_the_next_check_follows_at_once() {
    let cloudfront = FakeCloudFront::new(Duration::from_secs(3600), &[]);
    let began = Instant::now();

    // The budget a host without a real deadline gives (cargo lambda watch): 28 s.
    let run = start_polling(&cloudfront.client(), console(), Duration::from_secs(28))
        .await
        .unwrap();

    assert_eq!(
        began.elapsed(),
        Duration::from_secs(22),
        "5 s kept back from 28 s"
    );
    assert_eq!(
        run.wait_seconds, 2,
        "still in the dense phase: the next check carries on at the polling pace"
    );
}

#[tokio::test(start_paused = true)]
async fn throttling_makes_the_polls_less_frequent_instead_of_failing_the_step() {
    // The first two polls are throttled: at 2 s, then 4 s later, then 8 s later.
    let cloudfront = FakeCloudFront::new(Duration::from_secs(5), &[1, 2]);
    let began = Instant::now();

    let run = start_polling(&cloudfront.client(), console(), Duration::from_secs(178))
        .await
        .unwrap();

    assert_eq!(run.phase, Phase::Completed);
    assert_eq!(cloudfront.get.num_calls(), 3);
    assert_eq!(began.elapsed(), Duration::from_secs(14));
}

#[tokio::test(start_paused = true)]
async fn an_error_that_is_not_transient_fails_the_run_with_what_was_created_in_its_state() {
    let create = create_rule();
    let get = mock!(aws_sdk_cloudfront::Client::get_invalidation)
        .then_http_response(|| cloudfront_error_response(403, "AccessDenied"));
    let client = cloudfront(&[&create, &get]);
    let began = Instant::now();

    let run = start_polling(&client, console(), Duration::from_secs(178))
        .await
        .unwrap();

    assert_eq!(failure(&run).unwrap().0, "AccessDenied");
    assert_eq!(created(&run)[0].1, "IE2QWRUHEXAMPLE");
    assert_eq!(get.num_calls(), 1, "polling stops at the failure");
    assert_eq!(began.elapsed(), Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn without_polling_start_makes_no_status_call() {
    let cloudfront = FakeCloudFront::new(Duration::from_secs(1), &[]);
    let run = start(
        &cloudfront.client(),
        &NoArtifacts,
        &MemoryStore::new(),
        start_payload(console()),
        at("2026-11-26T12:00:01Z"),
        WINDOW,
    )
    .await
    .unwrap();
    assert_eq!(cloudfront.get.num_calls(), 0);
    assert_eq!(run.wait_seconds, 5);
    assert_eq!(run.phase, Phase::InProgress);
}

/// A run whose invalidation IA on E2QWRUHEXAMPLE went in at `submitted`.
fn run_submitted(submitted: &str) -> Value {
    let mut run = run_in_progress("2026-11-26T14:00:00Z", 5);
    run["targets"].as_array_mut().unwrap().truncate(1);
    run["submittedAt"] = json!(submitted);
    run
}

#[tokio::test(start_paused = true)]
async fn beyond_the_dense_phase_a_check_polls_a_quarter_of_the_time_since_the_submission() {
    let cloudfront = FakeCloudFront::new(Duration::from_secs(3600), &[]);
    cloudfront.existing("IA", Duration::from_secs(400));
    let began = Instant::now();

    // 400 s after the submission: poll 100 s, then wait (400 + 100) / 4 = 125 s.
    let run = check_polling(
        &cloudfront.client(),
        &MemoryStore::new(),
        checking(run_submitted("2026-11-26T12:00:00Z")),
        at("2026-11-26T12:06:40Z"),
    )
    .await
    .unwrap();

    assert_eq!(began.elapsed(), Duration::from_secs(100));
    assert_eq!(
        cloudfront.get.num_calls(),
        51,
        "one at once, then every 2 s"
    );
    assert_eq!(run.wait_seconds, 125);
    assert_eq!(run.checks, 6);
}

#[tokio::test(start_paused = true)]
async fn a_check_that_sees_the_completion_while_polling_returns_at_once() {
    let cloudfront = FakeCloudFront::new(Duration::from_secs(430), &[]);
    cloudfront.existing("IA", Duration::from_secs(400));
    let began = Instant::now();

    let run = check_polling(
        &cloudfront.client(),
        &MemoryStore::new(),
        checking(run_submitted("2026-11-26T12:00:00Z")),
        at("2026-11-26T12:06:40Z"),
    )
    .await
    .unwrap();

    assert_eq!(run.phase, Phase::Completed);
    assert_eq!(began.elapsed(), Duration::from_secs(30));
}

#[tokio::test(start_paused = true)]
async fn a_check_polls_until_the_reply_is_due_then_asks_for_it() {
    let cloudfront = FakeCloudFront::new(Duration::from_secs(3600), &[]);
    cloudfront.existing("IA", Duration::from_secs(870));
    let mut run = run_submitted("2026-11-26T12:00:00Z");
    run["jobId"] = json!(JOB_ID);
    run["replyBy"] = json!("2026-11-26T12:15:00Z");
    let began = Instant::now();

    let run = check_polling(
        &cloudfront.client(),
        &MemoryStore::new(),
        checking(run),
        at("2026-11-26T12:14:30Z"),
    )
    .await
    .unwrap();

    assert_eq!(began.elapsed(), Duration::from_secs(30));
    assert_eq!(run.phase, Phase::ReplyDue);
    assert_eq!(run.wait_seconds, 0);
}

#[tokio::test(start_paused = true)]
async fn a_check_polls_until_the_deadline_then_fails_naming_what_is_in_progress() {
    let cloudfront = FakeCloudFront::new(Duration::from_secs(3600), &[]);
    cloudfront.existing("IA", Duration::from_secs(3000));

    let run = check_polling(
        &cloudfront.client(),
        &MemoryStore::new(),
        checking(run_submitted("2026-11-26T12:00:00Z")),
        at("2026-11-26T13:59:30Z"),
    )
    .await
    .unwrap();

    assert_eq!(
        failure(&run).unwrap(),
        (
            "InvalidationTimedOut",
            "still in progress at the deadline 2026-11-26T14:00:00Z after 6 checks: IA on \
             E2QWRUHEXAMPLE"
                .to_owned()
        )
    );
}

#[tokio::test(start_paused = true)]
async fn the_next_batch_goes_in_while_polling_and_the_dense_phase_starts_again() {
    // GIVEN a run of three batches, each completing 40 s after its creation
    let cloudfront = FakeCloudFront::new(Duration::from_secs(40), &[]);
    let began = Instant::now();

    // WHEN start polls
    let run = start_polling(
        &cloudfront.client(),
        forty_wildcards(),
        Duration::from_secs(178),
    )
    .await
    .unwrap();

    // THEN batch 1 goes in at 40 s and batch 2 at 80 s, each as soon as the one before
    // completed, and the step sees batch 2 complete at 120 s
    assert_eq!(cloudfront.create.num_calls(), 3);
    assert_eq!(run.created().count(), 3);
    assert_eq!(run.phase, Phase::Completed);
    assert_eq!(began.elapsed(), Duration::from_secs(120));
    assert_eq!(run.submitted_at.to_string(), "2026-11-26T12:01:21Z");
}

#[tokio::test(start_paused = true)]
async fn a_batch_submitted_while_polling_restarts_the_dense_phase() {
    // GIVEN a check 200 s after the submission, out of the dense phase, of a run of three
    // batches whose plan is in the state bucket
    let cloudfront = FakeCloudFront::new(Duration::from_secs(210), &[]);
    cloudfront.existing("IA", Duration::from_secs(200));
    let store = MemoryStore::new();
    keep_plan(&store, &forty_wildcards(), "run-42").await;
    let mut run = run_submitted("2026-11-26T12:00:00Z");
    run["plan"]["batches"] = json!(3);
    let began = Instant::now();

    // WHEN IA completes 10 s into the step's 50 s window
    let run = check_polling(
        &cloudfront.client(),
        &store,
        checking(run),
        at("2026-11-26T12:03:20Z"),
    )
    .await
    .unwrap();

    // THEN batch 1 goes in at once, and the step polls it through a new dense phase: 150 s
    // from that submission
    assert_eq!(cloudfront.create.num_calls(), 1);
    assert_eq!(run.submitted_at.to_string(), "2026-11-26T12:03:30Z");
    assert_eq!(began.elapsed(), Duration::from_secs(160));
    assert_eq!(run.wait_seconds, 38);
    assert_eq!(run.phase, Phase::InProgress);
}

#[tokio::test(start_paused = true)]
async fn many_invalidations_share_four_calls_a_second() {
    let cloudfront = FakeCloudFront::new(Duration::from_secs(3600), &[]);
    let ids: Vec<String> = (0..12).map(|i| format!("E2QWRUHEXAMP{i:02}")).collect();

    start_polling(
        &cloudfront.client(),
        json!({"distributionIds": ids}),
        Duration::from_secs(178),
    )
    .await
    .unwrap();

    // 12 invalidations: a round every 3 s for 150 s, 50 rounds.
    assert_eq!(cloudfront.get.num_calls(), 12 * 50);
}

#[tokio::test(start_paused = true)]
async fn a_continued_job_keeps_the_backoff_it_had_reached() {
    // GIVEN a run that replied "in progress" 20 minutes after its submission, 9 checks in
    let store = MemoryStore::new();
    let mut earlier: RunState =
        serde_json::from_value(run_submitted("2026-11-26T12:00:00Z")).unwrap();
    earlier.job_id = Some(JOB_ID.into());
    earlier.checks = 9;
    earlier.checks_since_submit = 9;
    let key = invalidation::state_bucket::store_continuation(&store, &earlier, JOB_ID)
        .await
        .unwrap();
    let token = invalidation::continuation::Continuation::at(key).token();
    // The new job's execution starts 20 minutes after the submission.
    let continued = || {
        json!({"request": continued_job(&token),
               "execution": {"name": "run-43", "startTime": "2026-11-26T12:20:00.000Z"}})
    };
    let now = at("2026-11-26T12:20:00Z");

    // Without polling, the first wait is the schedule's 60 s, not 5 s again.
    let create = create_rule();
    let run = start(
        &cloudfront(&[&create]),
        &NoArtifacts,
        &store,
        continued(),
        now,
        WINDOW,
    )
    .await
    .unwrap();
    assert_eq!(run.wait_seconds, 60);
    assert_eq!(run.submitted_at.to_string(), "2026-11-26T12:00:00Z");

    // With polling, 20 minutes after the submission: a look, polling for start's 150 s (the
    // schedule's window would be 300 s), then a wait of (1200 + 150) / 4 s, cut at the 4 min
    // cap.
    let cloudfront = FakeCloudFront::new(Duration::from_secs(3600), &[]);
    cloudfront.existing("IA", Duration::from_secs(1200));
    let run = start_invalidation(
        &cloudfront.client(),
        &NoArtifacts,
        &store,
        continued().into(),
        Budget::of(now, Duration::from_secs(178)),
        WINDOW,
        Polling::for_at_most(START_POLL),
    )
    .await
    .unwrap();
    assert_eq!(cloudfront.get.num_calls(), 1 + 75);
    assert_eq!(run.checks, 10);
    assert_eq!(run.wait_seconds, 240);
}
