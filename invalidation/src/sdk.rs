//! The AWS SDK configuration every function builds its clients from.
//!
//! Region, credentials and endpoint come from the environment as usual (`AWS_ENDPOINT_URL`
//! points the clients at a local emulator). What is added are timeouts: without them one hung
//! HTTP call uses up a function's whole Lambda timeout, and the step fails as
//! `Sandbox.Timedout` instead of retrying the call.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// Longest wait for a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest wait for one HTTP attempt; the SDK retries a timed-out attempt.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for a call, its retries included: a step's calls run side by side, so this
/// fits the 30 s a function has beside its polling more than twice.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(12);

/// The timeouts above.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The configuration from the environment, with [`timeouts`].
pub async fn config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts())
        .load()
        .await
}
