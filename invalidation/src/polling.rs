//! Polling GetInvalidation inside a step, so that a completion is seen within seconds without
//! paying three state transitions for each look (the schedule and its reasons are in
//! [`crate::schedule`]).
//!
//! `POLL_SECONDS`, an environment variable of start-invalidation and check-status read once at
//! start, is the longest one step polls; `0` (or no variable) turns polling off and leaves the
//! state machine's Wait loop alone. Off is what a host gets that does not set it, such as a
//! test whose emulator runs a clock that moves only at Wait states, where a function's real
//! sleep would never see an invalidation complete. A step polls until every invalidation is
//! completed, its window in the schedule ends, or it must stop: [`POLL_RESERVE`] before the
//! end of its [`Budget`] (so it never runs into its Lambda timeout), at the run's deadline and
//! at its reply time. Throttling and 5xx answers make it ask less often, not fail.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudfront::Client;

use crate::batches::submit_due_batches;
use crate::budget::Budget;
use crate::error::WorkflowError;
use crate::run::{Phase, RunPlan, RunState};
use crate::schedule::{poll_interval, Schedule, MAX_POLL_INTERVAL};
use crate::state_bucket::{stored_plan, ObjectStore};
use crate::status::update_statuses;
use crate::timestamps::Timestamp;

/// The environment variable of start-invalidation and check-status that sets how long one
/// step may poll.
pub const POLL_SECONDS_VARIABLE: &str = "POLL_SECONDS";
/// The most `POLL_SECONDS` may be: Lambda's 900 s timeout, less a minute for the step's other
/// calls and its answer.
pub const MAX_POLL_SECONDS: u64 = 840;
/// Time kept back from the end of a step's budget when it polls: enough for one more round of
/// calls, the batches it may submit and the answer.
pub const POLL_RESERVE: Duration = Duration::from_secs(5);

/// How long one step may poll CloudFront itself (zero is off), and on which schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Polling {
    longest: Duration,
    schedule: Schedule,
}

impl Polling {
    /// No polling in the functions: the state machine's Wait loop alone.
    pub const OFF: Self = Self {
        longest: Duration::ZERO,
        schedule: Schedule::DEFAULT,
    };

    /// Polling for at most `longest` per step, on [`Schedule::DEFAULT`].
    pub fn for_at_most(longest: Duration) -> Self {
        Self {
            longest,
            schedule: Schedule::DEFAULT,
        }
    }

    /// The same polling on another schedule.
    pub fn following(self, schedule: Schedule) -> Self {
        Self { schedule, ..self }
    }

    /// The schedule the steps follow, when they poll at all.
    pub fn schedule(&self) -> Option<Schedule> {
        self.is_on().then_some(self.schedule)
    }

    /// The longest one step polls.
    pub fn longest(&self) -> Duration {
        self.longest
    }

    /// Whether the steps poll at all.
    pub fn is_on(&self) -> bool {
        !self.longest.is_zero()
    }

    /// The setting from [`POLL_SECONDS_VARIABLE`]; off when it is not set. Read once at start.
    pub fn from_env() -> Result<Self, String> {
        Self::from_setting(std::env::var(POLL_SECONDS_VARIABLE).ok().as_deref())
    }

    /// The setting from the variable's text, if any.
    pub fn from_setting(text: Option<&str>) -> Result<Self, String> {
        let Some(text) = text else {
            return Ok(Self::OFF);
        };
        text.parse::<u64>()
            .ok()
            .filter(|seconds| *seconds <= MAX_POLL_SECONDS)
            .map(|seconds| Self::for_at_most(Duration::from_secs(seconds)))
            .ok_or_else(|| {
                format!(
                    "{POLL_SECONDS_VARIABLE} `{text}` must be whole seconds from 0 (no polling \
                     in the function) to {MAX_POLL_SECONDS}"
                )
            })
    }
}

/// The run's plan: at hand in the step that made or read it, else read from the state bucket
/// when a batch first needs its paths (and only then: most checks submit nothing).
pub(crate) struct PlanAtHand<'a, S> {
    store: &'a S,
    plan: Option<RunPlan>,
}

impl<'a, S: ObjectStore> PlanAtHand<'a, S> {
    /// A plan already read.
    pub(crate) fn read(store: &'a S, plan: RunPlan) -> Self {
        Self {
            store,
            plan: Some(plan),
        }
    }

    /// A plan to read from `store` when needed.
    pub(crate) fn in_bucket(store: &'a S) -> Self {
        Self { store, plan: None }
    }

    /// The plan of the run named `run`.
    pub(crate) async fn get(&mut self, run: &str) -> Result<&RunPlan, WorkflowError> {
        if self.plan.is_none() {
            self.plan = Some(stored_plan(self.store, run).await?);
        }
        Ok(self.plan.as_ref().expect("read above"))
    }
}

/// Submits the due batches, reading the plan if needed; a submission restarts the schedule.
pub(crate) async fn submit_due<S: ObjectStore>(
    client: &Client,
    run: &mut RunState,
    plan: &mut PlanAtHand<'_, S>,
    budget: &Budget,
) -> Result<bool, WorkflowError> {
    if run.phase == Phase::Failed || !run.any_due() {
        return Ok(false);
    }
    let now = budget.current();
    let key = run.key.clone();
    let submitted = submit_due_batches(client, run, plan.get(&key).await?, budget).await?;
    if submitted {
        run.submitted_at = Timestamp(now);
        run.checks_since_submit = 0;
    }
    Ok(submitted)
}

/// Polls the run's unfinished invalidations, a round every [`poll_interval`], until all are
/// completed, the schedule's window ends, the run fails or the step must stop (see the module
/// doc). A target whose invalidation completes gets its next batch at once, and the schedule
/// counts from that submission. Says how many rounds it made.
///
/// A round in which a read was throttled or met a 5xx doubles the interval, up to
/// [`MAX_POLL_INTERVAL`]; a clean round brings it back.
pub(crate) async fn poll<S: ObjectStore>(
    client: &Client,
    run: &mut RunState,
    plan: &mut PlanAtHand<'_, S>,
    budget: &Budget,
    polling: Polling,
) -> Result<u32, WorkflowError> {
    let mut window_end = window_end(run, budget, polling);
    let mut last_round = budget.current();
    let mut backoff = Duration::ZERO;
    let mut rounds = 0;
    loop {
        let in_progress = run.in_progress();
        if in_progress == 0 || run.phase == Phase::Failed {
            // Finished, failed, or only batches left that CloudFront refused for its limit or
            // failed: those wait for the next check, so that they are not retried every few
            // seconds.
            return Ok(rounds);
        }
        let next = last_round + poll_interval(in_progress).max(backoff);
        if next > window_end {
            return Ok(rounds);
        }
        tokio::time::sleep_until(budget.instant_at(next)).await;
        last_round = next;
        rounds += 1;
        let round = update_statuses(client, run, budget).await;
        if round.failed > 0 {
            backoff = (poll_interval(in_progress).max(backoff) * 2).min(MAX_POLL_INTERVAL);
            tracing::info!(
                next_in_seconds = backoff.as_secs(),
                "CloudFront asks us to slow down; polling less often"
            );
        } else {
            backoff = Duration::ZERO;
        }
        if round.completed > 0 && submit_due(client, run, plan, budget).await? {
            window_end = self::window_end(run, budget, polling);
        }
    }
}

/// When the step's polling ends: the schedule's window from the step's start (or from a
/// submission made while polling), cut at the step's `POLL_SECONDS`, [`POLL_RESERVE`] before
/// its budget ends, the deadline and the reply time.
fn window_end(run: &RunState, budget: &Budget, polling: Polling) -> SystemTime {
    let start = budget.now;
    let submitted = run.submitted_at.0;
    let from = start.max(submitted);
    let since = from.duration_since(submitted).unwrap_or_default();
    let mut end = (from + polling.schedule.poll_window(since))
        .min(start + polling.longest())
        .min(budget.end.checked_sub(POLL_RESERVE).unwrap_or(start))
        .min(run.deadline.0);
    if let Some(reply_by) = run.reply_by {
        end = end.min(reply_by.0);
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_is_whole_seconds_and_off_when_absent_or_zero() {
        assert_eq!(Polling::from_setting(None), Ok(Polling::OFF));
        assert!(!Polling::from_setting(Some("0")).unwrap().is_on());
        assert_eq!(
            Polling::from_setting(Some("150")).unwrap().longest(),
            Duration::from_secs(150)
        );
        for bad in ["", "-1", "1.5", "841", "ten"] {
            let message = Polling::from_setting(Some(bad)).unwrap_err();
            assert_eq!(
                message,
                format!(
                    "POLL_SECONDS `{bad}` must be whole seconds from 0 (no polling in the \
                     function) to 840"
                )
            );
        }
    }
}
