//! Clients and a raw HTTP helper shared by the tests.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_emulator::{Config, EmulatorHandle};
use aws_sdk_cloudfront::config::{Credentials, SharedCredentialsProvider};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The HTTP status an SDK error was answered with (every SDK shares the error type).
pub fn status<E>(
    err: &aws_sdk_cloudfront::error::SdkError<E, aws_sdk_cloudfront::config::http::HttpResponse>,
) -> u16 {
    err.raw_response()
        .expect("the service answered")
        .status()
        .as_u16()
}

/// A distribution the emulator knows.
pub const DIST: &str = "E2QWRUHAPOMQZL";
/// A second known distribution, for tests that must not share limits.
pub const DIST2: &str = "E1ABCDEFGHIJKL";
/// A distribution configured as denied.
pub const DENIED: &str = "EDENIED0000000";
/// A distribution tenant, for tests that add it.
pub const TENANT: &str = "dt_2wjDZi3hD1ivOXf6rpZJO1AB";
/// A second tenant, with limits of its own.
pub const TENANT2: &str = "dt_3xkEAj4iE2jwPYg7sqaKP2BC";
/// The access key id the clients sign with, unless a test names another.
pub const ACCESS_KEY: &str = "AKIDEXAMPLE";
/// A well-formed job id.
pub const JOB: &str = "0f3e8d7a-1b2c-4d5e-8f90-a1b2c3d4e5f6";
/// A state machine the emulator knows, when a test adds it.
pub const STATE_MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:Invalidation";

/// The usual test config: two known distributions, one denied; invalidations
/// stay in progress long enough that a loaded machine cannot finish them
/// mid-test (tests about completion set their own duration).
pub fn config() -> Config {
    Config::with_distributions([DIST, DIST2])
        .deny(DENIED)
        .invalidation_duration(Duration::from_secs(30))
}

pub async fn start(config: Config) -> EmulatorHandle {
    aws_emulator::start(config).await.expect("emulator starts")
}

/// A fault spec that fails every call with `code`, before it takes effect.
pub fn always(code: aws_emulator::FaultCode) -> aws_emulator::FaultSpec {
    aws_emulator::FaultSpec {
        error_rate: 1.0,
        codes: vec![code],
        ..aws_emulator::FaultSpec::default()
    }
}

/// Moves the emulator's manual clock forward.
pub fn advance(emu: &EmulatorHandle, by: Duration) {
    emu.advance_clock(by)
        .expect("the emulator runs on a manual clock");
}

/// Waits until the emulator's background work (Event invocations, retries,
/// continuations) that is running or due has finished. The bound is real
/// time for a loaded machine, not time the test lets pass.
pub async fn settle(emu: &EmulatorHandle) {
    assert!(
        emu.settle(Duration::from_secs(10)).await,
        "the emulator's background work did not finish within 10 s"
    );
}

/// What every SDK client of the tests shares: the emulator as endpoint,
/// credentials signing as `access_key` (the emulator checks no signature,
/// only, for S3, who signed), a region and `retry`. Built as a function's
/// clients are when `AWS_ENDPOINT_URL` points at the emulator.
fn sdk_config(handle: &EmulatorHandle, access_key: &str, retry: RetryConfig) -> SdkConfig {
    let credentials = Credentials::new(
        access_key,
        "secret",
        Some("session-token".to_string()),
        None,
        "test",
    );
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(handle.endpoint_url())
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .retry_config(retry)
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https(),
        )
        .build()
}

/// A CloudFront client with the SDK's default (standard) retries.
pub fn cloudfront(handle: &EmulatorHandle) -> aws_sdk_cloudfront::Client {
    cloudfront_with(handle, RetryConfig::standard())
}

/// A CloudFront client with the given retry policy.
pub fn cloudfront_with(handle: &EmulatorHandle, retry: RetryConfig) -> aws_sdk_cloudfront::Client {
    aws_sdk_cloudfront::Client::new(&sdk_config(handle, ACCESS_KEY, retry))
}

/// A CodePipeline client with retries off, so every error is seen as sent.
pub fn codepipeline(handle: &EmulatorHandle) -> aws_sdk_codepipeline::Client {
    codepipeline_with(handle, RetryConfig::disabled())
}

/// A CodePipeline client with the given retry policy.
pub fn codepipeline_with(
    handle: &EmulatorHandle,
    retry: RetryConfig,
) -> aws_sdk_codepipeline::Client {
    aws_sdk_codepipeline::Client::new(&sdk_config(handle, ACCESS_KEY, retry))
}

/// A Step Functions client with retries off, so every error is seen as sent.
pub fn stepfunctions(handle: &EmulatorHandle) -> aws_sdk_sfn::Client {
    stepfunctions_with(handle, RetryConfig::disabled())
}

/// A Step Functions client with the given retry policy.
pub fn stepfunctions_with(handle: &EmulatorHandle, retry: RetryConfig) -> aws_sdk_sfn::Client {
    aws_sdk_sfn::Client::new(&sdk_config(handle, ACCESS_KEY, retry))
}

/// An S3 client with retries off, so every error is seen as sent.
pub fn s3(handle: &EmulatorHandle) -> aws_sdk_s3::Client {
    s3_as(handle, ACCESS_KEY, RetryConfig::disabled())
}

/// An S3 client signing with access key id `access_key`, with the given
/// retry policy.
pub fn s3_as(handle: &EmulatorHandle, access_key: &str, retry: RetryConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::new(&sdk_config(handle, access_key, retry))
}

/// Builds an `InvalidationBatch` with `Quantity` equal to the path count.
pub fn batch(
    reference: &str,
    paths: &[impl AsRef<str>],
) -> aws_sdk_cloudfront::types::InvalidationBatch {
    let mut p = aws_sdk_cloudfront::types::Paths::builder().quantity(paths.len() as i32);
    for path in paths {
        p = p.items(path.as_ref());
    }
    aws_sdk_cloudfront::types::InvalidationBatch::builder()
        .paths(p.build().unwrap())
        .caller_reference(reference)
        .build()
        .unwrap()
}

/// Answers job `job_id` as a function that is not done does: a
/// PutJobSuccessResult with `token`, which CodePipeline must accept.
pub async fn continue_job(handle: &EmulatorHandle, job_id: &str, token: &str) {
    codepipeline(handle)
        .put_job_success_result()
        .job_id(job_id)
        .continuation_token(token)
        .send()
        .await
        .expect("CodePipeline accepts the continuation token");
}

/// `n` wildcard paths under `/{tag}/`, each counting toward CloudFront's
/// wildcard quota.
pub fn wildcards(n: usize, tag: &str) -> Vec<String> {
    (0..n).map(|i| format!("/{tag}/{i}/*")).collect()
}

/// `n` file paths under `/{tag}/`, each counting toward CloudFront's file
/// path quota.
pub fn files(n: usize, tag: &str) -> Vec<String> {
    (0..n).map(|i| format!("/{tag}/{i}.html")).collect()
}

/// A raw HTTP/1.1 answer.
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; a body that is not JSON fails the test, quoted.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// `GET /_emulator/state`: the snapshot as JSON text, as any client reads it.
pub async fn state(handle: &EmulatorHandle) -> RawResponse {
    raw(handle, "GET", "/_emulator/state", &[], "").await
}

/// Sends one request over a fresh connection, for what an SDK would not send;
/// `Host` is the emulator's address unless `headers` name one.
pub async fn raw(
    handle: &EmulatorHandle,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> RawResponse {
    let mut stream = tokio::net::TcpStream::connect(handle.local_addr())
        .await
        .unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    // A test may name another host.
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {}\r\n", handle.local_addr()));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    RawResponse {
        status,
        headers,
        body: body.to_string(),
    }
}

/// `Authorization` of a raw S3 call, signed by [`ACCESS_KEY`] (the signature
/// is not checked).
pub const S3_AUTH: (&str, &str) = ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00");

/// `Authorization` of a raw Lambda call (signed for us-east-1; the signature
/// is not checked).
pub const LAMBDA_AUTH: (&str, &str) = ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=00");

/// The error document the fake host's `bad` function answers with.
pub const ERROR_DOC: &str =
    r#"{"errorType":"BudgetExhausted","errorMessage":"the invalidation budget is spent"}"#;

/// One invocation a [`FakeHost`] received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request path, e.g. `/2015-03-31/functions/good/invocations`.
    pub path: String,
    /// The function named in the path.
    pub function: String,
    /// `X-Amz-Invocation-Type`, if sent.
    pub invocation_type: Option<String>,
    /// The body, as sent.
    pub body: String,
}

impl Received {
    /// The body as JSON (`null` if it is not JSON).
    pub fn event(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A host of the Lambda invoke API on 127.0.0.1:0 that answers like `cargo
/// lambda watch`. Functions: `good` (echoes the payload inside
/// `{"echo":…}`), `bad` (500 + [`ERROR_DOC`]), `plain500` (500 + text),
/// `broken` (503), `hang` (never answers), names starting with `missing` or
/// `nope` (404); any other answers 200 `{}`. Dropping it stops it.
pub struct FakeHost {
    pub url: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeHost {
    /// Every invocation received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }

    /// The paths of every invocation received so far, in order.
    pub fn paths(&self) -> Vec<String> {
        self.received().into_iter().map(|r| r.path).collect()
    }

    /// How many invocations of `function` were received.
    pub fn count(&self, function: &str) -> usize {
        self.received()
            .iter()
            .filter(|r| r.function == function)
            .count()
    }
}

impl Drop for FakeHost {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn fake_host() -> FakeHost {
    use http_body_util::BodyExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: std::sync::Arc<std::sync::Mutex<Vec<Received>>> = Default::default();
    let log = seen.clone();
    let task = tokio::spawn(async move {
        // Connections live in the set, so that aborting the host ends them.
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            while connections.try_join_next().is_some() {}
            let log = log.clone();
            connections.spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let log = log.clone();
                        async move {
                            let path = req.uri().path().to_string();
                            let invocation_type = req
                                .headers()
                                .get("x-amz-invocation-type")
                                .map(|v| v.to_str().unwrap().to_string());
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let body = String::from_utf8(body.to_vec()).unwrap();
                            let function = path
                                .strip_prefix("/2015-03-31/functions/")
                                .and_then(|p| p.strip_suffix("/invocations"))
                                .unwrap_or_default()
                                .to_string();
                            log.lock().unwrap().push(Received {
                                path,
                                function: function.clone(),
                                invocation_type,
                                body: body.clone(),
                            });
                            let (status, answer) = match function.as_str() {
                                "good" => (200, format!("{{\"echo\":{body}}}")),
                                "bad" => (500, ERROR_DOC.to_string()),
                                "plain500" => (500, "thread 'main' panicked".to_string()),
                                "broken" => (503, "upstream unavailable".to_string()),
                                "hang" => std::future::pending().await,
                                f if f.starts_with("missing") || f.starts_with("nope") => {
                                    (404, String::new())
                                }
                                _ => (200, "{}".to_string()),
                            };
                            let mut resp = hyper::Response::new(http_body_util::Full::new(
                                bytes::Bytes::from(answer),
                            ));
                            *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                            Ok::<_, std::convert::Infallible>(resp)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    FakeHost { url, seen, task }
}

/// Invokes `function` over raw HTTP with exactly `headers` (none: unsigned).
pub async fn invoke_with(
    emu: &EmulatorHandle,
    function: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> RawResponse {
    raw(
        emu,
        "POST",
        &format!("/2015-03-31/functions/{function}/invocations"),
        headers,
        body,
    )
    .await
}

/// Invokes `function` over raw HTTP, signed, with `X-Amz-Invocation-Type`
/// set to `invocation_type`.
pub async fn invoke_as(
    emu: &EmulatorHandle,
    function: &str,
    invocation_type: &str,
    body: &str,
) -> RawResponse {
    invoke_with(
        emu,
        function,
        &[LAMBDA_AUTH, ("X-Amz-Invocation-Type", invocation_type)],
        body,
    )
    .await
}

/// A config whose Lambda calls go to `host`, on a manual clock (the Lambda
/// timeout alone stays real time: it bounds a real process).
pub fn lambda_config(host: &FakeHost) -> Config {
    Config::default()
        .lambda_backend(host.url.clone())
        .manual_clock()
}
