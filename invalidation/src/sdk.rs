//! The AWS SDK configuration every function builds its clients from.
//!
//! Region, credentials and endpoint come from the environment as usual (`AWS_ENDPOINT_URL`
//! points the clients at a local emulator). What is added are timeouts: without them one hung
//! HTTP call uses up a function's whole Lambda timeout, and the step fails as
//! `Sandbox.Timedout` instead of retrying the call. And the HTTP client: rustls on ring, the one
//! crypto library the build has (the SDK's default client would add aws-lc).

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

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

/// HTTPS (and plain HTTP, for a local emulator) with rustls on ring, trusting the system's
/// root certificates, as the SDK's default client does.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The configuration from the environment, with [`timeouts`] and [`http_client`].
pub async fn config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .timeout_config(timeouts())
        .load()
        .await
}

/// The S3 client configuration from `config`. With an endpoint of its own
/// (`AWS_ENDPOINT_URL` or `AWS_ENDPOINT_URL_S3`: a local emulator, as under `sam local`, where the
/// endpoint is `host.docker.internal`), buckets are addressed by path: a name such as
/// `bucket.host.docker.internal` resolves nowhere. AWS's own endpoint keeps the SDK's default,
/// virtual-hosted addressing.
pub fn s3_config(config: &SdkConfig) -> aws_sdk_s3::Config {
    let own_endpoint =
        config.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    aws_sdk_s3::config::Builder::from(config)
        .force_path_style(own_endpoint)
        .build()
}
