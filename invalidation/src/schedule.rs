//! How long the state machine waits between status checks, and how long a step keeps asking
//! CloudFront itself before it hands back to a Wait state.
//!
//! Step Functions Standard bills $0.000025 per state transition and each check costs three
//! (Wait, CheckStatus, WhatNext), while a 128 MB arm64 Lambda costs about $0.0000017 a
//! second: one check through the state machine costs as much as 45 s of polling inside a
//! function. And a CodePipeline V2 pipeline bills $0.002 for each minute its action waits,
//! twenty times what a minute of polling costs, so every second between the completion and the
//! report costs the user more than a second spent looking. So with in-function polling on
//! (`POLL_SECONDS` above 0, see [`crate::polling`]), the steps poll GetInvalidation every
//! [`POLL_INTERVAL`] and return as soon as all are `Completed`, on this schedule, counted from
//! the last submission of a batch:
//!
//! | since the submission | the step polls for | then the state machine waits |
//! |---|---|---|
//! | under [`DENSE_SECONDS`] (an hour) | the rest of the hour, as far as the step may | 2 s |
//! | `t` beyond | `t / 4` (as far as the step may) | `t / 4`, at most 4 min |
//!
//! So for the first hour the steps chain: each polls as long as it may (its `POLL_SECONDS`,
//! 840 s in `template.yaml`, and 5 s short of its Lambda deadline, so it never times out while
//! polling), and the next one starts its first look one poll interval after the last, through a
//! Wait of 2 s. A completion is seen within a poll interval at any time in that hour, the
//! run's default deadline; an invalidation of 40 minutes costs a start step and two or three
//! checks. Past the hour, which only a run with a longer `timeoutSeconds` reaches, a check polls
//! for a quarter of the time since the submission (in practice its whole `POLL_SECONDS`) and
//! the run then waits a quarter, at most [`MAX_POLLING_WAIT_SECONDS`]: it watches about four
//! fifths of the time, and the worst lag stays near 4 minutes. A continued job carries on the
//! run's state (kept in the state bucket), so it counts from the same submission and carries on
//! where the schedule had got to.
//!
//! [`Schedule`] holds the one length this depends on, the dense phase; the functions follow
//! [`Schedule::DEFAULT`].
//!
//! With in-function polling off (`POLL_SECONDS=0`), the state machine alone waits: 5 s, then
//! doubling to a 60 s cap, which notices a fast invalidation within seconds and costs few
//! transitions on a slow one. The count starts again when a batch is submitted.
//!
//! | check | 1 | 2  | 3  | 4  | 5+ |
//! |-------|---|----|----|----|----|
//! | wait before it (s) | 5 | 10 | 20 | 40 | 60 |
//!
//! Either way a wait is cut short at the deadline, so the last check happens exactly when the
//! run would give up.

use std::time::Duration;

/// The wait before the first check, without in-function polling.
pub const FIRST_WAIT_SECONDS: u64 = 5;
/// The longest wait between two checks, without in-function polling.
pub const MAX_WAIT_SECONDS: u64 = 60;

/// With in-function polling: how long after a submission the steps poll without pause. An
/// hour: the run's default deadline, and past the 40 minutes (and 20 % more) the polling
/// benchmark holds the lag to seconds at.
pub const DENSE_SECONDS: u64 = 3600;
/// Beyond [`DENSE_SECONDS`], a step polls for this share of the time since the submission…
pub const WINDOW_DIVISOR: u32 = 4;
/// …and the state machine then waits for this share…
pub const WAIT_DIVISOR: u32 = 4;
/// …but never longer than this.
pub const MAX_POLLING_WAIT_SECONDS: u64 = 240;
/// Time between two GetInvalidation calls for one invalidation while a step polls: 30 a
/// minute. CloudFront documents no API rate; the one figure on record is an informal default
/// of 0.5 calls a second per account for CreateInvalidation (aws/aws-sdk-js#3983), and this
/// stays at it for each invalidation.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// The most GetInvalidation calls a polling step makes per second, over all its invalidations:
/// with more than 8 in progress, each is asked less often than every [`POLL_INTERVAL`].
pub const MAX_CALLS_PER_SECOND: u32 = 4;
/// The longest time between two polls after throttling: the interval doubles on each throttled
/// round up to this.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(16);

/// Seconds to wait before the next check, given how many checks were done and how long is
/// left until the deadline, without in-function polling. Never zero: a Wait of zero would spin
/// the loop.
pub fn seconds_before_next_check(checks_done: u32, until_deadline: Duration) -> u64 {
    let doubled = FIRST_WAIT_SECONDS.saturating_mul(1u64 << checks_done.min(16));
    doubled
        .min(MAX_WAIT_SECONDS)
        .min(whole_seconds(until_deadline))
        .max(1)
}

/// The in-function polling schedule: how long a step polls and how long the state machine
/// then waits, as functions of the time since the last submission. Its one parameter is the
/// length of the dense phase; [`Schedule::DEFAULT`] is the functions' (the polling benchmark
/// also replays the schedule that had a dense phase of 150 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    dense: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Schedule {
    /// A dense phase of [`DENSE_SECONDS`].
    pub const DEFAULT: Self = Self::with_dense_phase(Duration::from_secs(DENSE_SECONDS));

    /// The schedule with a dense phase of `dense`.
    pub const fn with_dense_phase(dense: Duration) -> Self {
        Self { dense }
    }

    /// How long after a submission the steps poll without pause.
    pub fn dense_phase(&self) -> Duration {
        self.dense
    }

    /// How long a step that starts `since_submit` after the last submission polls (before the
    /// step's own limits: `POLL_SECONDS`, its Lambda deadline, the run's deadline and reply
    /// time).
    pub fn poll_window(&self, since_submit: Duration) -> Duration {
        match self.dense.checked_sub(since_submit) {
            Some(rest) if !rest.is_zero() => rest,
            _ => since_submit / WINDOW_DIVISOR,
        }
    }

    /// Seconds the state machine waits after a polling step that ended `since_submit` after
    /// the last submission, with `until_stop` left until the deadline or the reply time. Within
    /// the dense phase a step only stops at its own limits, and the next one carries on at the
    /// polling pace, [`POLL_INTERVAL`] later; less than that before the dense phase ends, it is
    /// over. Never zero.
    pub fn seconds_before_next_poll(&self, since_submit: Duration, until_stop: Duration) -> u64 {
        let wait = if since_submit + POLL_INTERVAL < self.dense {
            whole_seconds(POLL_INTERVAL)
        } else {
            whole_seconds(since_submit.max(self.dense) / WAIT_DIVISOR).min(MAX_POLLING_WAIT_SECONDS)
        };
        wait.min(whole_seconds(until_stop)).max(1)
    }
}

/// With in-function polling, a step of a run with a job that ends less than this before the
/// run's reply time has the run reply "in progress" at once (see [`reply_now`]).
pub const EARLY_REPLY_SECONDS: u64 = 120;

/// Whether a polling step that ends `until_reply` before its run's reply time should have the
/// run reply now rather than hand over to a check that polls until the reply. Such a check
/// costs three state transitions for at most [`EARLY_REPLY_SECONDS`] of polling, and the job
/// CodePipeline creates after the reply carries on at once, from the same submission, polling
/// as long as a start step may; a job costs five transitions, so shortening one of `L` seconds
/// pays for up to `L / 2`. With the template's 840 s of polling in start-invalidation and the
/// 900 s reply window, each job is a start step and its reply.
pub fn reply_now(until_reply: Duration) -> bool {
    until_reply < Duration::from_secs(EARLY_REPLY_SECONDS)
}

/// The time between two polling rounds of a step with `in_progress` invalidations to ask for:
/// [`POLL_INTERVAL`], or longer to stay within [`MAX_CALLS_PER_SECOND`].
pub fn poll_interval(in_progress: usize) -> Duration {
    let spread = Duration::from_secs(1) * u32::try_from(in_progress).unwrap_or(u32::MAX)
        / MAX_CALLS_PER_SECOND;
    POLL_INTERVAL.max(spread)
}

fn whole_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AN_HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn waits_start_short_and_double_up_to_the_cap() {
        let waits: Vec<u64> = (0..7)
            .map(|checks| seconds_before_next_check(checks, AN_HOUR))
            .collect();
        assert_eq!(waits, [5, 10, 20, 40, 60, 60, 60]);
        assert_eq!(seconds_before_next_check(u32::MAX, AN_HOUR), 60);
    }

    #[test]
    fn the_wait_never_passes_the_deadline() {
        assert_eq!(seconds_before_next_check(6, Duration::from_secs(25)), 25);
        assert_eq!(seconds_before_next_check(6, Duration::from_millis(2500)), 3);
        assert_eq!(
            Schedule::DEFAULT
                .seconds_before_next_poll(Duration::from_secs(5000), Duration::from_secs(25)),
            25
        );
    }

    #[test]
    fn the_wait_is_at_least_a_second() {
        assert_eq!(seconds_before_next_check(3, Duration::ZERO), 1);
        assert_eq!(
            Schedule::DEFAULT.seconds_before_next_poll(AN_HOUR, Duration::ZERO),
            1
        );
    }

    #[test]
    fn polling_is_continuous_for_an_hour_then_a_quarter_on_a_quarter_off() {
        let schedule = Schedule::DEFAULT;
        assert_eq!(schedule.poll_window(Duration::ZERO), AN_HOUR);
        assert_eq!(
            schedule.poll_window(Duration::from_secs(2400)),
            Duration::from_secs(1200),
            "the rest of the hour: the step's own limits cut it"
        );
        for since in [40, 842, 1684, 2526, 3597] {
            assert_eq!(
                schedule.seconds_before_next_poll(Duration::from_secs(since), AN_HOUR),
                2,
                "{since} s after the submission the next check carries on at the polling pace"
            );
        }
        assert_eq!(
            schedule.seconds_before_next_poll(Duration::from_millis(3_598_500), AN_HOUR),
            240,
            "less than a poll interval before its end, the dense phase is over"
        );
        assert_eq!(
            schedule.poll_window(Duration::from_secs(3600)),
            Duration::from_secs(900)
        );
        assert_eq!(
            schedule.poll_window(Duration::from_secs(4800)),
            Duration::from_secs(1200)
        );
        assert_eq!(
            schedule.seconds_before_next_poll(Duration::from_secs(4800), AN_HOUR),
            240,
            "at most 4 minutes"
        );
    }

    #[test]
    fn a_shorter_dense_phase_gives_the_quarters_sooner() {
        // The schedule the functions followed before, which the polling benchmark replays.
        let schedule = Schedule::with_dense_phase(Duration::from_secs(150));
        assert_eq!(
            schedule.poll_window(Duration::from_secs(40)),
            Duration::from_secs(110)
        );
        assert_eq!(
            schedule.seconds_before_next_poll(Duration::from_secs(40), AN_HOUR),
            2
        );
        assert_eq!(
            schedule.seconds_before_next_poll(Duration::from_secs(150), AN_HOUR),
            38
        );
        assert_eq!(
            schedule.poll_window(Duration::from_secs(188)),
            Duration::from_secs(47)
        );
        assert_eq!(
            schedule.seconds_before_next_poll(Duration::from_secs(800), AN_HOUR),
            200
        );
    }

    #[test]
    fn a_step_that_ends_within_two_minutes_of_the_reply_asks_for_it() {
        assert!(
            reply_now(Duration::from_secs(60)),
            "start's 840 s end 60 s before it"
        );
        assert!(reply_now(Duration::ZERO));
        assert!(!reply_now(Duration::from_secs(120)));
    }

    #[test]
    fn many_invalidations_are_asked_less_often_each() {
        assert_eq!(poll_interval(1), Duration::from_secs(2));
        assert_eq!(poll_interval(8), Duration::from_secs(2));
        assert_eq!(poll_interval(40), Duration::from_secs(10));
    }
}
