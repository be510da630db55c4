//! How long the state machine waits between status checks, and how long a step keeps asking
//! CloudFront itself before it hands back to a Wait state.
//!
//! Step Functions Standard bills $0.000025 per state transition and each check costs three
//! (Wait, CheckStatus, AllCompleted), while a 128 MB arm64 Lambda costs about $0.0000017 a
//! second: one check through the state machine costs as much as 45 s of polling inside a
//! function. So with in-function polling on (`POLL_SECONDS` above 0, see [`crate::polling`]),
//! the steps poll GetInvalidation every [`POLL_INTERVAL`] and return as soon as all are
//! `Completed`, on this schedule, counted from the last submission of a batch:
//!
//! | since the submission | the step polls for | then the state machine waits |
//! |---|---|---|
//! | under [`DENSE_SECONDS`] (2.5 min) | the rest of the 2.5 min | 2 s, if the step had to stop early |
//! | `t` beyond | `t / 4` | `t / 4`, at most 4 min |
//!
//! So an invalidation that completes within 2.5 minutes of its creation (CloudFront quotes
//! under 25 s at P95) is seen within a poll interval, mostly by start-invalidation itself;
//! beyond, a step polls for a quarter of the time elapsed and the run then waits a quarter (at
//! most [`MAX_POLLING_WAIT_SECONDS`]), so half the time or more is covered and the median lag
//! stays under 5 % of the duration, with a handful of checks even for 40 minutes; the cap keeps
//! the worst lag near 4 minutes however long an invalidation takes. A continued job carries on
//! the run's state (kept in the state bucket), so it keeps the backoff it had reached.
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

/// With in-function polling: how long after a submission the steps poll without pause. It
/// covers invalidations of up to 2 minutes and 20 % more.
pub const DENSE_SECONDS: u64 = 150;
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

/// How long a step that starts `since_submit` after the last submission polls, with
/// in-function polling (before the step's own limits: `POLL_SECONDS`, its Lambda deadline, the
/// run's deadline and reply time).
pub fn poll_window(since_submit: Duration) -> Duration {
    let dense = Duration::from_secs(DENSE_SECONDS);
    match dense.checked_sub(since_submit) {
        Some(rest) if !rest.is_zero() => rest,
        _ => since_submit / WINDOW_DIVISOR,
    }
}

/// Seconds the state machine waits after a polling step that ended `since_submit` after the
/// last submission, with `until_stop` left until the deadline or the reply time. Within the
/// dense phase a step only stops early (at its own limits), and the next one carries on at the
/// polling pace, [`POLL_INTERVAL`] later; less than that before the dense phase ends, it is
/// over. Never zero.
pub fn seconds_before_next_poll(since_submit: Duration, until_stop: Duration) -> u64 {
    let dense = Duration::from_secs(DENSE_SECONDS);
    let wait = if since_submit + POLL_INTERVAL < dense {
        whole_seconds(POLL_INTERVAL)
    } else {
        whole_seconds(since_submit.max(dense) / WAIT_DIVISOR).min(MAX_POLLING_WAIT_SECONDS)
    };
    wait.min(whole_seconds(until_stop)).max(1)
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
            seconds_before_next_poll(Duration::from_secs(1000), Duration::from_secs(25)),
            25
        );
    }

    #[test]
    fn the_wait_is_at_least_a_second() {
        assert_eq!(seconds_before_next_check(3, Duration::ZERO), 1);
        assert_eq!(seconds_before_next_poll(AN_HOUR, Duration::ZERO), 1);
    }

    #[test]
    fn polling_is_continuous_for_two_and_a_half_minutes_then_a_quarter_on_a_quarter_off() {
        assert_eq!(poll_window(Duration::ZERO), Duration::from_secs(150));
        assert_eq!(
            poll_window(Duration::from_secs(40)),
            Duration::from_secs(110)
        );
        assert_eq!(
            seconds_before_next_poll(Duration::from_secs(40), AN_HOUR),
            2,
            "a step stopped early in the dense phase is followed at the polling pace"
        );
        assert_eq!(
            seconds_before_next_poll(Duration::from_millis(148_500), AN_HOUR),
            38,
            "less than a poll interval before its end, the dense phase is over"
        );
        assert_eq!(
            seconds_before_next_poll(Duration::from_secs(150), AN_HOUR),
            38
        );
        assert_eq!(
            poll_window(Duration::from_secs(188)),
            Duration::from_secs(47)
        );
        assert_eq!(
            poll_window(Duration::from_secs(1200)),
            Duration::from_secs(300)
        );
        assert_eq!(
            seconds_before_next_poll(Duration::from_secs(800), AN_HOUR),
            200
        );
        assert_eq!(
            seconds_before_next_poll(Duration::from_secs(2400), AN_HOUR),
            240,
            "at most 4 minutes"
        );
    }

    #[test]
    fn many_invalidations_are_asked_less_often_each() {
        assert_eq!(poll_interval(1), Duration::from_secs(2));
        assert_eq!(poll_interval(8), Duration::from_secs(2));
        assert_eq!(poll_interval(40), Duration::from_secs(10));
    }
}
