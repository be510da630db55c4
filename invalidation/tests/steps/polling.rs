//! Tests of in-function polling (`POLL_SECONDS`), on tokio's paused clock: a step's sleeps
//! pass no real time, and the stubbed CloudFront completes an invalidation when the paused
//! clock has moved far enough since its creation.

use std::collections::HashMap;

use aws_smithy_mocks::MockResponse;
use tokio::time::Instant;

use super::common::*;
use aws_smithy_types::DateTime;
use invalidation::continuation::Continuation;

/// start-invalidation's and check-status's POLL_SECONDS in template.yaml…
const START_POLL: Duration = Duration::from_secs(840);
const CHECK_POLL: Duration = Duration::from_secs(840);
/// …and the budget their Timeout of 900 s gives them (less the answer margin).
const STEP_BUDGET: Duration = Duration::from_secs(898);

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
        Budget::of(now, STEP_BUDGET),
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

    let run = start_polling(&cloudfront.client(), console(), STEP_BUDGET)
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
async fn start_polls_its_whole_poll_seconds_then_a_check_carries_on_at_the_polling_pace() {
    let cloudfront = FakeCloudFront::new(Duration::from_secs(3600), &[]);
    let began = Instant::now();

    let run = start_polling(&cloudfront.client(), console(), STEP_BUDGET)
        .await
        .unwrap();

    assert_eq!(run.phase, Phase::InProgress);
    assert_eq!(began.elapsed(), Duration::from_secs(840));
    assert_eq!(cloudfront.get.num_calls(), 420, "30 a minute");
    assert_eq!(run.submitted_at.to_string(), "2026-11-26T12:00:01Z");
    assert_eq!(
        run.wait_seconds, 2,
        "within the hour after the submission, the checks chain"
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

    let run = start_polling(&cloudfront.client(), console(), STEP_BUDGET)
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

    let run = start_polling(&client, console(), STEP_BUDGET)
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
async fn past_the_hour_a_check_polls_its_whole_poll_seconds_then_waits_four_minutes() {
    let cloudfront = FakeCloudFront::new(Duration::from_secs(7200), &[]);
    cloudfront.existing("IA", Duration::from_secs(3700));
    let began = Instant::now();

    // 3700 s after the submission: the quarter, 925 s, is cut at POLL_SECONDS; then the wait,
    // a quarter of 4540 s, is cut at 4 minutes.
    let run = check_polling(
        &cloudfront.client(),
        &MemoryStore::new(),
        checking(run_submitted("2026-11-26T12:00:00Z")),
        at("2026-11-26T13:01:40Z"),
    )
    .await
    .unwrap();

    assert_eq!(began.elapsed(), Duration::from_secs(840));
    assert_eq!(
        cloudfront.get.num_calls(),
        421,
        "one at once, then every 2 s"
    );
    assert_eq!(run.wait_seconds, 240);
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
    let run = start_polling(&cloudfront.client(), forty_wildcards(), STEP_BUDGET)
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
    // GIVEN a check 3700 s after the submission, past the dense phase, of a run of three
    // batches whose plan is in the state bucket
    let cloudfront = FakeCloudFront::new(Duration::from_secs(3710), &[]);
    cloudfront.existing("IA", Duration::from_secs(3700));
    let store = MemoryStore::new();
    keep_plan(&store, &forty_wildcards(), "run-42").await;
    let mut run = run_submitted("2026-11-26T12:00:00Z");
    run["plan"]["batches"] = json!(3);
    let began = Instant::now();

    // WHEN IA completes 10 s into the step's window
    let run = check_polling(
        &cloudfront.client(),
        &store,
        checking(run),
        at("2026-11-26T13:01:40Z"),
    )
    .await
    .unwrap();

    // THEN batch 1 goes in at once, the step polls it for the rest of its POLL_SECONDS, and the
    // next check follows at the polling pace: a new dense phase counts from that submission
    assert_eq!(cloudfront.create.num_calls(), 1);
    assert_eq!(run.submitted_at.to_string(), "2026-11-26T13:01:50Z");
    assert_eq!(began.elapsed(), Duration::from_secs(840));
    assert_eq!(run.wait_seconds, 2);
    assert_eq!(run.phase, Phase::InProgress);
}

#[tokio::test(start_paused = true)]
async fn many_invalidations_share_four_calls_a_second() {
    let cloudfront = FakeCloudFront::new(Duration::from_secs(3600), &[]);
    let ids: Vec<String> = (0..12).map(|i| format!("E2QWRUHEXAMP{i:02}")).collect();

    start_polling(
        &cloudfront.client(),
        json!({"distributionIds": ids}),
        STEP_BUDGET,
    )
    .await
    .unwrap();

    // 12 invalidations: a round every 3 s for 840 s, 280 rounds.
    assert_eq!(cloudfront.get.num_calls(), 12 * 280);
}

#[tokio::test(start_paused = true)]
async fn a_continued_job_keeps_the_backoff_it_had_reached() {
    // GIVEN a run that replied "in progress" 70 minutes after its submission (past the dense
    // phase), 9 checks in
    let store = MemoryStore::new();
    let mut earlier: RunState =
        serde_json::from_value(run_submitted("2026-11-26T12:00:00Z")).unwrap();
    earlier.job_id = Some(JOB_ID.into());
    earlier.checks = 9;
    earlier.checks_since_submit = 9;
    let key = invalidation::state_bucket::store_continuation(&store, &earlier, JOB_ID)
        .await
        .unwrap();
    let token = Continuation::at(key).token();
    let continued = || {
        json!({"request": continued_job(&token),
               "execution": {"name": "run-43", "startTime": "2026-11-26T13:10:00.000Z"}})
    };
    let now = at("2026-11-26T13:10:00Z");

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

    // With polling (and a reply window of 20 minutes): polling from a poll interval on for
    // start's 840 s (the schedule's quarter would be 1050 s), then a wait of (4200 + 840) / 4 s,
    // cut at the 4 min cap.
    let cloudfront = FakeCloudFront::new(Duration::from_secs(7200), &[]);
    cloudfront.existing("IA", Duration::from_secs(4200));
    let run = start_invalidation(
        &cloudfront.client(),
        &NoArtifacts,
        &store,
        continued().into(),
        Budget::of(now, STEP_BUDGET),
        Duration::from_secs(1200),
        Polling::for_at_most(START_POLL),
    )
    .await
    .unwrap();
    assert_eq!(cloudfront.get.num_calls(), 420);
    assert_eq!(run.checks, 10);
    assert_eq!(run.phase, Phase::InProgress);
    assert_eq!(run.wait_seconds, 240);
}

/// What a chain of steps showed: when each began (seconds after the first) and what it left
/// the state machine to wait, and the run it ended with.
struct Chain {
    steps: Vec<(f64, u64)>,
    run: RunState,
}

/// One job's run as the state machine chains its steps, on the paused clock and with
/// template.yaml's timeouts and POLL_SECONDS: start-invalidation now (the execution's start),
/// then a check after each wait, until the run is no longer in progress. The clock read
/// `origin` at `began`.
async fn chain(
    cloudfront: &FakeCloudFront,
    store: &MemoryStore,
    request: Value,
    began: Instant,
    origin: SystemTime,
) -> Chain {
    let client = cloudfront.client();
    let now = || origin + began.elapsed();
    let since = || began.elapsed().as_secs_f64();
    let start_time = DateTime::from(now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap();
    let payload =
        json!({"request": request, "execution": {"name": "run-42", "startTime": start_time}});
    let mut steps = vec![(since(), 0)];
    let mut run = start_invalidation(
        &client,
        &NoArtifacts,
        store,
        payload.into(),
        Budget::of(now(), STEP_BUDGET),
        WINDOW,
        Polling::for_at_most(START_POLL),
    )
    .await
    .unwrap();
    while run.phase == Phase::InProgress {
        steps.last_mut().unwrap().1 = run.wait_seconds;
        tokio::time::sleep(Duration::from_secs(run.wait_seconds)).await;
        steps.push((since(), 0));
        run = check_status(
            &client,
            store,
            checking(&run).into(),
            Budget::of(now(), STEP_BUDGET),
            Polling::for_at_most(CHECK_POLL),
        )
        .await
        .unwrap();
    }
    Chain { steps, run }
}

#[tokio::test(start_paused = true)]
async fn a_forty_minute_invalidation_is_seen_within_a_poll_interval_by_checks_that_chain() {
    // GIVEN an invalidation that completes 40 minutes and 1 s after its creation
    let cloudfront = FakeCloudFront::new(Duration::from_secs(2401), &[]);
    let began = Instant::now();

    // WHEN the state machine runs the steps for console input (no job, no reply window)
    let store = MemoryStore::new();
    let chain = chain(
        &cloudfront,
        &store,
        console(),
        began,
        at("2026-11-26T12:00:00Z"),
    )
    .await;

    // THEN start polls 840 s, two checks follow 2 s after each step, the second sees the
    // completion at its first poll after it, and GetInvalidation is asked every 2 s throughout
    assert_eq!(chain.run.phase, Phase::Completed);
    assert_eq!(
        chain.steps,
        [(0.0, 2), (842.0, 2), (1684.0, 0)],
        "(began, then waited) per step"
    );
    let lag = began.elapsed() - Duration::from_secs(2401);
    assert_eq!(lag, Duration::from_secs(1), "seen at 2402 s");
    assert_eq!(
        cloudfront.get.num_calls(),
        2402 / 2,
        "one every 2 s, 30 a minute"
    );
    assert_eq!(chain.run.checks, 3);
}

#[tokio::test(start_paused = true)]
async fn a_forty_minute_invalidation_of_a_job_is_watched_across_its_continuations_without_pause() {
    // GIVEN a CodePipeline job whose invalidation completes 40 minutes and 1 s after its
    // creation, and CodePipeline invoking the function with each new job at once
    let cloudfront = FakeCloudFront::new(Duration::from_secs(2401), &[]);
    let began = Instant::now();
    let first_start = at("2026-11-26T12:00:00Z");
    let store = MemoryStore::new();

    // WHEN each job's run goes as far as its reply, and the next job carries on from its token
    let mut request = event("codepipeline-job.json");
    let mut jobs = Vec::new();
    let run = loop {
        assert!(jobs.len() < 5, "a job too many: {jobs:?}");
        let chain = chain(&cloudfront, &store, request.clone(), began, first_start).await;
        jobs.push(chain.steps);
        if chain.run.phase != Phase::ReplyDue {
            break chain.run;
        }
        let job_id = chain.run.job_id.clone().unwrap();
        let key = invalidation::state_bucket::store_continuation(&store, &chain.run, &job_id)
            .await
            .unwrap();
        request = continued_job(&Continuation::at(key).token());
        request["CodePipeline.job"]["id"] =
            json!(format!("2222222{}-abcd-2222-abcd-222222abcdef", jobs.len()));
    };

    // THEN each job is a start step that polls 840 s and replies, 60 s before its reply time
    // (no check for the last minute); the continued runs poll on from the same submission, and
    // the third sees the completion within a poll interval
    assert_eq!(run.phase, Phase::Completed);
    let starts: Vec<f64> = jobs.iter().map(|steps| steps[0].0).collect();
    assert_eq!(starts, [0.0, 840.0, 1680.0]);
    assert!(jobs.iter().all(|steps| steps.len() == 1), "{jobs:?}");
    let lag = began.elapsed() - Duration::from_secs(2401);
    assert!(lag <= Duration::from_secs(2), "{lag:?}");
    // A continued run's first look waits a poll interval, so no minute sees more than 30 calls.
    assert_eq!(cloudfront.get.num_calls(), 420 + 420 + 361);
}
