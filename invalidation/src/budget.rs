//! How long a function may still call AWS before it must answer, and calls run side by side
//! within that time.
//!
//! A Lambda function that outlives its timeout is killed, and the state machine sees
//! `Sandbox.Timedout` even though each call it made was fine: 40 distributions at a second a
//! call one after another do not fit in 30 s. So the calls of one step run concurrently, a few at
//! a time, and none starts or keeps running past the budget's end, which is Lambda's deadline
//! less a margin for the answer. What did not run is left for the next check.

use std::future::Future;
use std::time::{Duration, SystemTime};

use futures_util::stream::{self, StreamExt};

use crate::error::{ErrorKind, WorkflowError};
use crate::sdk::OPERATION_TIMEOUT;

/// Time kept back from Lambda's deadline for building and sending the answer.
pub const ANSWER_MARGIN: Duration = Duration::from_secs(2);
/// The budget of a step whose host gave no usable deadline: the 30 s the template gives each
/// function beside its polling, less the margin.
pub const FALLBACK_LENGTH: Duration = Duration::from_secs(28);
/// How many AWS calls of one step run at the same time: enough that 40 distributions take a
/// fifth of the time, few enough to stay far below CloudFront's API rate limits.
pub const CONCURRENT_CALLS: usize = 8;

/// The time a step has: from now to its end.
///
/// Time within the step is measured on tokio's clock from when the budget was made (see
/// [`Budget::current`]), so a test that pauses tokio's clock moves the step's time with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// When the step started (the functions' notion of now).
    pub now: SystemTime,
    /// When calls must have ended.
    pub end: SystemTime,
    /// The tokio instant that corresponds to `now`.
    started: tokio::time::Instant,
}

impl Budget {
    /// The budget of an invocation whose Lambda deadline is `deadline`. A deadline long past is
    /// no deadline: local hosts send other things in its header (`cargo lambda watch` sends the
    /// timeout, 600000 ms, not a time), and then the step gets [`FALLBACK_LENGTH`].
    pub fn until_deadline(now: SystemTime, deadline: SystemTime) -> Self {
        if deadline + Duration::from_secs(3600) < now {
            return Self::of(now, FALLBACK_LENGTH);
        }
        Self {
            now,
            end: deadline.checked_sub(ANSWER_MARGIN).unwrap_or(deadline),
            started: tokio::time::Instant::now(),
        }
    }

    /// A budget of `length` from `now` (for tests and callers without a deadline).
    pub fn of(now: SystemTime, length: Duration) -> Self {
        Self {
            now,
            end: now + length,
            started: tokio::time::Instant::now(),
        }
    }

    /// The step's time at this moment: `now` plus the time elapsed since, on tokio's clock.
    pub fn current(&self) -> SystemTime {
        self.now + self.started.elapsed()
    }

    /// The tokio instant at which the step's time is `time` (for sleeping until then).
    pub fn instant_at(&self, time: SystemTime) -> tokio::time::Instant {
        self.started + time.duration_since(self.now).unwrap_or_default()
    }

    /// How much of it is left at this moment.
    pub fn remaining(&self) -> Duration {
        self.end.duration_since(self.current()).unwrap_or_default()
    }

    /// The same budget with `reserve` kept back at its end, for what must still happen after
    /// the work it bounds (reporting a failure to the job, say).
    pub fn reserving(&self, reserve: Duration) -> Self {
        Self {
            end: self.end.checked_sub(reserve).unwrap_or(self.now),
            ..*self
        }
    }

    /// Runs `work`, giving up at the budget's end: then `what` did not finish in time, a
    /// `ServiceUnavailable` error (the services were too slow; running the step again may do
    /// better).
    pub async fn within<T>(
        &self,
        what: &str,
        work: impl Future<Output = Result<T, WorkflowError>>,
    ) -> Result<T, WorkflowError> {
        let remaining = self.remaining();
        tokio::time::timeout(remaining, work)
            .await
            .unwrap_or_else(|_| {
                Err(WorkflowError::new(
                    ErrorKind::ServiceUnavailable,
                    format!(
                        "{what} did not finish within the {} s the function had left for it",
                        remaining.as_secs()
                    ),
                ))
            })
    }

    /// Whether an AWS call started after a pause of up to `pause` still ends within the budget
    /// however long it takes (the SDK gives up on it after [`OPERATION_TIMEOUT`]). A retry loop
    /// asks this before each retry, so a slow service ends the step with a named error, never
    /// with Lambda's timeout.
    pub fn has_room_for_call_after(&self, pause: Duration) -> bool {
        self.remaining() >= pause + OPERATION_TIMEOUT
    }

    /// Runs the calls, [`CONCURRENT_CALLS`] at a time, each in the order given as far as the
    /// budget allows: the answer of each call, or `None` for a call that did not finish (or
    /// start) before the budget ended.
    pub async fn run_all<T, F>(&self, calls: impl IntoIterator<Item = F>) -> Vec<Option<T>>
    where
        F: Future<Output = T>,
    {
        let remaining = self.remaining();
        let ends = tokio::time::Instant::now() + remaining;
        let indexed =
            calls
                .into_iter()
                .enumerate()
                .map(|(index, call)| async move {
                    (index, tokio::time::timeout_at(ends, call).await.ok())
                });
        let mut answers: Vec<(usize, Option<T>)> = stream::iter(indexed)
            .buffer_unordered(CONCURRENT_CALLS)
            .collect()
            .await;
        answers.sort_by_key(|(index, _)| *index);
        answers.into_iter().map(|(_, answer)| answer).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn calls_run_side_by_side_and_those_past_the_budget_are_left_out() {
        let budget = Budget::of(SystemTime::now(), Duration::from_secs(10));
        let started = tokio::time::Instant::now();
        // 20 calls of 4 s each: 8 at a time, so 3 rounds; the third would end at 12 s.
        let calls = (0..20).map(|i| async move {
            tokio::time::sleep(Duration::from_secs(4)).await;
            i
        });
        let answers = budget.run_all(calls).await;
        assert_eq!(answers.len(), 20);
        let done: Vec<i32> = answers.iter().flatten().copied().collect();
        assert_eq!(done, (0..16).collect::<Vec<_>>());
        assert!(started.elapsed() <= Duration::from_secs(10));
    }

    #[test]
    fn the_budget_ends_a_margin_before_the_deadline() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000);
        let budget = Budget::until_deadline(now, now + Duration::from_secs(60));
        assert_eq!(budget.end, now + Duration::from_secs(58));
        // cargo lambda watch's header: 600000 ms since the epoch.
        let budget = Budget::until_deadline(now, SystemTime::UNIX_EPOCH + Duration::from_secs(600));
        assert_eq!(budget.end, now + FALLBACK_LENGTH);
    }
}
