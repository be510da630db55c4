//! The model's time: tokio's paused clock, read as wall-clock time from a fixed start.

use std::time::{Duration, SystemTime};

use aws_smithy_async::time::TimeSource;

/// Wall-clock time that moves with tokio's clock: `base` when the clock was made, then on by
/// however far tokio's (paused, auto-advancing) clock has gone.
#[derive(Debug, Clone, Copy)]
pub struct VirtualClock {
    base: SystemTime,
    origin: tokio::time::Instant,
}

impl VirtualClock {
    /// A clock that reads `base` now. Call inside the runtime.
    pub fn starting_at(base: SystemTime) -> Self {
        Self {
            base,
            origin: tokio::time::Instant::now(),
        }
    }

    /// The time now.
    pub fn now(&self) -> SystemTime {
        self.base + self.origin.elapsed()
    }

    /// Time since the clock was made.
    pub fn elapsed(&self) -> Duration {
        self.origin.elapsed()
    }
}

impl TimeSource for VirtualClock {
    fn now(&self) -> SystemTime {
        VirtualClock::now(self)
    }
}

/// 2026-12-01T00:00:00Z, where every modelled run starts.
pub fn model_epoch() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_083_200)
}
