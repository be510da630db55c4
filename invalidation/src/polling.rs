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

use crate::batches::{any_due, submit_due_batches};
use crate::budget::Budget;
use crate::error::{ErrorKind, WorkflowError};
use crate::payload::Run;
use crate::schedule::{poll_interval, Schedule, MAX_POLL_INTERVAL};
use crate::status::update_statuses;
use crate::timestamps::{format_time, parse_time};

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

    /// The schedule the steps follow.
    pub fn schedule(&self) -> Schedule {
        self.schedule
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

/// Where the paths of a batch that falls due while polling come from.
pub(crate) trait BatchSource {
    /// The planned batches.
    async fn batches(&mut self) -> Result<&[Vec<String>], WorkflowError>;
}

impl BatchSource for &[Vec<String>] {
    async fn batches(&mut self) -> Result<&[Vec<String>], WorkflowError> {
        Ok(self)
    }
}

/// When the last batch went in, or `fallback` for a run that does not say.
pub(crate) fn submitted_at(run: &Run, fallback: SystemTime) -> Result<SystemTime, WorkflowError> {
    run.submitted_at
        .as_deref()
        .map_or(Ok(fallback), |text| parse_time("submittedAt", text))
}

/// Polls the run's unfinished invalidations, a round every [`poll_interval`], until all are
/// completed, the schedule's window ends or the step must stop (see the module doc). A
/// distribution whose invalidation completes gets its next pending batch at once, its paths
/// from `batches`, and the schedule counts from that submission. Says how many rounds it made.
///
/// A round that is throttled or meets a 5xx doubles the interval, up to [`MAX_POLL_INTERVAL`];
/// any other error ends the step as it would a check.
pub(crate) async fn poll(
    client: &Client,
    run: &mut Run,
    batches: &mut impl BatchSource,
    budget: &Budget,
    polling: Polling,
) -> Result<u32, WorkflowError> {
    let mut submitted = submitted_at(run, budget.now)?;
    let mut window_end = window_end(run, budget, polling, submitted)?;
    let mut last_round = budget.current();
    let mut backoff = Duration::ZERO;
    let mut rounds = 0;
    loop {
        let in_progress = run
            .invalidations
            .iter()
            .filter(|i| !i.is_completed())
            .count();
        if in_progress == 0 {
            // Finished, or only batches left that CloudFront refused for its limit: those wait
            // for the next check, so that they are not retried every few seconds.
            return Ok(rounds);
        }
        let next = last_round + poll_interval(in_progress).max(backoff);
        if next > window_end {
            return Ok(rounds);
        }
        tokio::time::sleep_until(budget.instant_at(next)).await;
        last_round = next;
        rounds += 1;
        let completed_before = run.invalidations.len() - in_progress;
        match update_statuses(client, run, budget).await {
            Ok(()) => {}
            Err(error) if is_transient(&error) => {
                backoff = (poll_interval(in_progress).max(backoff) * 2).min(MAX_POLL_INTERVAL);
                tracing::info!(
                    error = %error,
                    next_in_seconds = backoff.as_secs(),
                    "CloudFront asks us to slow down; polling less often"
                );
                continue;
            }
            Err(error) => return Err(error),
        }
        let completed = run
            .invalidations
            .iter()
            .filter(|i| i.is_completed())
            .count();
        if completed > completed_before && any_due(run) {
            let now = budget.current();
            if submit_due_batches(client, run, batches.batches().await?, budget).await? {
                submitted = now;
                run.submitted_at = Some(format_time(submitted));
                run.checks_since_submit = 0;
                window_end = self::window_end(run, budget, polling, submitted)?;
            }
        }
    }
}

/// When the step's polling ends: the schedule's window from the step's start (or from a
/// submission made while polling), cut at the step's `POLL_SECONDS`, [`POLL_RESERVE`] before
/// its budget ends, the deadline and the reply time.
fn window_end(
    run: &Run,
    budget: &Budget,
    polling: Polling,
    submitted: SystemTime,
) -> Result<SystemTime, WorkflowError> {
    let start = budget.now;
    let from = start.max(submitted);
    let since = from.duration_since(submitted).unwrap_or_default();
    let mut end = (from + polling.schedule.poll_window(since))
        .min(start + polling.longest())
        .min(budget.end.checked_sub(POLL_RESERVE).unwrap_or(start));
    end = end.min(parse_time("deadline", &run.deadline)?);
    if let Some(reply_by) = &run.reply_by {
        end = end.min(parse_time("replyBy", reply_by)?);
    }
    Ok(end)
}

/// Errors that mean "ask again later": after the SDK's own retries, the next round is later.
fn is_transient(error: &WorkflowError) -> bool {
    matches!(
        error.kind,
        ErrorKind::Throttled | ErrorKind::ServiceUnavailable
    )
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
