//! How long the state machine waits between status checks.
//!
//! Invalidations usually complete within a few minutes, sometimes take half an hour. Waiting
//! 5 s, then doubling to a 60 s cap, notices a fast invalidation within seconds, costs few state
//! transitions on a slow one (each check is three: Wait, Check, Choice), and keeps GetInvalidation
//! far below its rate limit. The wait is cut short at the deadline so the last check happens
//! exactly when the run would give up. The count starts again when a batch is submitted: a new
//! invalidation may be as quick as the first one was.
//!
//! | check | 1 | 2  | 3  | 4  | 5+ |
//! |-------|---|----|----|----|----|
//! | wait before it (s) | 5 | 10 | 20 | 40 | 60 |

use std::time::Duration;

/// The wait before the first check.
pub const FIRST_WAIT_SECONDS: u64 = 5;
/// The longest wait between two checks.
pub const MAX_WAIT_SECONDS: u64 = 60;

/// Seconds to wait before the next check, given how many checks were done and how long is
/// left until the deadline. Never zero: a Wait of zero would spin the loop.
pub fn seconds_before_next_check(checks_done: u32, until_deadline: Duration) -> u64 {
    let doubled = FIRST_WAIT_SECONDS.saturating_mul(1u64 << checks_done.min(16));
    let remaining = until_deadline.as_secs() + u64::from(until_deadline.subsec_nanos() > 0);
    doubled.min(MAX_WAIT_SECONDS).min(remaining).max(1)
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
    }

    #[test]
    fn the_wait_is_at_least_a_second() {
        assert_eq!(seconds_before_next_check(3, Duration::ZERO), 1);
    }
}
