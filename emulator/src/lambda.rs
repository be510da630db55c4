//! Lambda `Invoke` (REST-JSON, API 2015-03-31), forwarded to a local host of
//! the invoke API such as `cargo lambda watch --only-lambda-apis`.
//!
//! Such a host differs from Lambda in two ways that matter to a caller: it
//! knows functions only by their plain name (an ARN in the path is a 404), and
//! it answers a function error with HTTP 500, which SDKs retry — running the
//! handler again — and which loses the error name. Lambda answers 200 with
//! `X-Amz-Function-Error: Unhandled` and the error document as the payload.
//! This module resolves any accepted form of `FunctionName` to the plain name,
//! forwards the payload unchanged, and maps the host's answer onto Lambda's:
//!
//! | host answer                                   | caller gets                                   |
//! |-----------------------------------------------|-----------------------------------------------|
//! | 200 (or 202 to an `Event` call)               | 200, the payload                              |
//! | 200 with `X-Amz-Function-Error` (Lambda, sam) | 200, `X-Amz-Function-Error: Unhandled`, body  |
//! | 500 with a JSON body that has `errorType`     | 200, `X-Amz-Function-Error: Unhandled`, body  |
//! | 404                                           | 404 `ResourceNotFoundException`               |
//! | no answer within [`Config::lambda_timeout`]   | 200, `Unhandled`, `Sandbox.Timedout` document |
//! | unreachable, anything else                    | 502 `ServiceException`                        |
//!
//! An `Event` call is answered 202 at once and forwarded in the background
//! with `X-Amz-Invocation-Type: Event`; one that ends in a function error is
//! retried and, once given up on, sent to the function's on-failure
//! destination, as [`Config::event_invoke`] says. A payload that is a
//! CodePipeline job event is remembered on the way, for continuations (see
//! `codepipeline`).
//!
//! [`Config::function_faults`] break chosen functions on purpose: a crash
//! (not forwarded; 200, `Unhandled`, `Runtime.ExitError`), a crash after the
//! handler ran (forwarded, then the same answer), or a hang (forwarded, then
//! the `Sandbox.Timedout` answer at once: the point is the lost response,
//! not the wait).
//!
//! [`Config::event_invoke`]: crate::Config#structfield.event_invoke
//! [`Config::function_faults`]: crate::Config#structfield.function_faults
//!
//! [`Config::lambda_timeout`]: crate::Config#structfield.lambda_timeout

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, AUTHORIZATION, CONNECTION, CONTENT_TYPE, HOST};
use hyper::http::request::Parts;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::clock::Work;
use crate::config::{FaultTimes, FunctionFaultKind, Operation, LONG_ERROR_MESSAGE_CHARS};
use crate::error::ApiError;
use crate::error::Error;
use crate::http::{self, response, set_header, HttpResponse, MAX_BODY};
use crate::records::{DiscardedEvent, LambdaInvocation};
use crate::state::Shared;
use crate::wire::{format_timestamp, percent_decode};

/// Path prefix of every Lambda operation (API version 2015-03-31).
pub(crate) const API_PREFIX: &str = "/2015-03-31/";
const FUNCTIONS_PREFIX: &str = "/2015-03-31/functions/";
const INVOCATIONS_SUFFIX: &str = "/invocations";

/// Largest `Invoke` payload Lambda accepts for a synchronous call (6 MB);
/// larger ones get 413 `RequestTooLargeException`.
pub const MAX_PAYLOAD: usize = 6 * 1024 * 1024;

/// Region named in messages when neither the ARN nor the signature names one.
const DEFAULT_REGION: &str = "us-east-1";
/// Account named in messages when the ARN names none.
const DEFAULT_ACCOUNT: &str = "000000000000";
/// `X-Amz-Executed-Version`: the emulator knows one version of a function.
const EXECUTED_VERSION: &str = "$LATEST";
/// Lambda's error name for a function that outlived its timeout.
pub(crate) const TIMEOUT_ERROR: &str = "Sandbox.Timedout";
/// Lambda's error name for a function whose runtime exited.
const RUNTIME_EXIT_ERROR: &str = "Runtime.ExitError";

/// The pattern Lambda validates `FunctionName` against, quoted in the
/// `ValidationException` message.
const NAME_PATTERN: &str = r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?";

/// Where invocations are forwarded: a parsed `http://host:port[/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Backend {
    /// `host:port`, to connect to and to send as `Host`.
    authority: String,
    /// Path the invoke API is mounted under, without a trailing `/`.
    base_path: String,
    /// The URL as configured, for messages.
    url: String,
}

impl Backend {
    /// Parses a base URL; only plain `http://` is supported.
    pub(crate) fn parse(url: &str) -> Result<Backend, Error> {
        let invalid = |why: &str| Error::InvalidConfig(format!("Lambda backend `{url}`: {why}"));
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| invalid("only http:// URLs are supported"))?;
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) if rest[i..].starts_with('/') => (&rest[..i], &rest[i..]),
            Some(_) => return Err(invalid("a query or fragment is not supported")),
            None => (rest, ""),
        };
        // The port follows the last `:` outside an IPv6 literal's brackets.
        let host_end = authority.rfind(']').map_or(0, |i| i + 1);
        let authority = match authority[host_end..].rfind(':') {
            Some(i) => {
                let (host, port) = authority.split_at(host_end + i);
                if host.is_empty() || port[1..].parse::<u16>().is_err() {
                    return Err(invalid("expected http://host:port"));
                }
                authority.to_string()
            }
            None if authority.is_empty() => return Err(invalid("no host")),
            None => format!("{authority}:80"),
        };
        Ok(Backend {
            authority,
            base_path: path.trim_end_matches('/').to_string(),
            url: url.to_string(),
        })
    }

    fn invocations_path(&self, function: &str) -> String {
        format!(
            "{}{FUNCTIONS_PREFIX}{function}{INVOCATIONS_SUFFIX}",
            self.base_path
        )
    }
}

/// `FunctionName` resolved: the plain name, and what the ARN said besides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FunctionRef {
    pub name: String,
    pub region: Option<String>,
    pub account: Option<String>,
    pub qualifier: Option<String>,
}

impl FunctionRef {
    /// A function known by its plain name only.
    fn plain(name: &str) -> Self {
        FunctionRef {
            name: name.to_string(),
            region: None,
            account: None,
            qualifier: None,
        }
    }

    /// The function's ARN without the qualifier.
    fn unqualified_arn(&self, signed_region: Option<&str>) -> String {
        FunctionRef {
            qualifier: None,
            ..self.clone()
        }
        .arn(signed_region)
    }

    /// The function's ARN as Lambda spells it in messages.
    fn arn(&self, signed_region: Option<&str>) -> String {
        let region = self
            .region
            .as_deref()
            .or(signed_region)
            .unwrap_or(DEFAULT_REGION);
        let account = self.account.as_deref().unwrap_or(DEFAULT_ACCOUNT);
        let mut arn = format!("arn:aws:lambda:{region}:{account}:function:{}", self.name);
        if let Some(q) = &self.qualifier {
            arn.push(':');
            arn.push_str(q);
        }
        arn
    }
}

/// Resolves `FunctionName` as it arrives in the path (URL-encoded): a plain
/// name (`name`, `name:qualifier`), a partial ARN (`123456789012:function:name`)
/// or a full ARN (`arn:aws:lambda:us-east-1:123456789012:function:name[:qualifier]`).
pub(crate) fn parse_function_name(segment: &str) -> Result<FunctionRef, ApiError> {
    let raw = percent_decode(segment);
    resolve(&raw).ok_or_else(|| {
        ApiError::new(
            400,
            "ValidationException",
            format!(
                "1 validation error detected: Value '{raw}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: {NAME_PATTERN}"
            ),
        )
    })
}

/// Walks the optional parts of [`NAME_PATTERN`] left to right.
fn resolve(raw: &str) -> Option<FunctionRef> {
    if raw.is_empty() || raw.chars().count() > 170 {
        return None;
    }
    let parts: Vec<&str> = raw.split(':').collect();
    let mut i = 0;
    // Each optional part is only taken when something follows it, so that a
    // function called `123456789012` is still a name.
    let more = |i: usize| i + 1 < parts.len();
    if parts[0] == "arn" {
        if parts.len() < 4 || !parts[1].starts_with("aws") || parts[2] != "lambda" {
            return None;
        }
        i = 3;
    }
    let mut region = None;
    if more(i) && is_region(parts[i]) {
        region = Some(parts[i].to_string());
        i += 1;
    }
    let mut account = None;
    if more(i) && parts[i].len() == 12 && parts[i].bytes().all(|b| b.is_ascii_digit()) {
        account = Some(parts[i].to_string());
        i += 1;
    }
    if more(i) && parts[i] == "function" {
        i += 1;
    }
    let name = *parts.get(i)?;
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !name_ok {
        return None;
    }
    i += 1;
    let mut qualifier = None;
    if let Some(q) = parts.get(i) {
        let q_ok = *q == "$LATEST"
            || (!q.is_empty()
                && q.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')));
        if !q_ok {
            return None;
        }
        qualifier = Some(q.to_string());
        i += 1;
    }
    (i == parts.len()).then(|| FunctionRef {
        name: name.to_string(),
        region,
        account,
        qualifier,
    })
}

/// `[a-z]{2}(-gov)?-[a-z]+-\d`, e.g. `us-east-1`, `us-gov-west-1`.
fn is_region(s: &str) -> bool {
    let pieces: Vec<&str> = s.split('-').collect();
    let lower = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    let (first, middle, last) = match pieces.as_slice() {
        [first, middle, last] => (*first, vec![*middle], *last),
        [first, "gov", middle, last] => (*first, vec![*middle], *last),
        _ => return false,
    };
    first.len() == 2
        && lower(first)
        && middle.iter().all(|m| lower(m))
        && last.len() == 1
        && last.bytes().all(|b| b.is_ascii_digit())
}

/// How a call asked to be run (`X-Amz-Invocation-Type`). Lambda's third
/// kind, `DryRun`, is not served: nothing in the workflow asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InvocationType {
    RequestResponse,
    Event,
}

impl InvocationType {
    fn name(self) -> &'static str {
        match self {
            InvocationType::RequestResponse => "RequestResponse",
            InvocationType::Event => "Event",
        }
    }

    fn from_headers(headers: &HeaderMap) -> Result<InvocationType, ApiError> {
        let Some(value) = headers.get("x-amz-invocation-type") else {
            return Ok(InvocationType::RequestResponse);
        };
        match value.to_str().unwrap_or_default() {
            "RequestResponse" => Ok(InvocationType::RequestResponse),
            "Event" => Ok(InvocationType::Event),
            other => Err(ApiError::new(
                400,
                "ValidationException",
                format!(
                    "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse] (the emulator serves no DryRun)"
                ),
            )),
        }
    }
}

/// What the backend's answer means to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The function returned this payload.
    Ok(Bytes),
    /// The function failed; the payload is its error document.
    FunctionError { error_type: String, payload: Bytes },
    /// The backend does not know the function.
    NotFound,
    /// The backend could not be used; the message says why.
    ServiceError(String),
}

impl Outcome {
    /// The function error Lambda reports when the function's runtime exits
    /// (a Rust runtime that panics exits with status 101).
    fn runtime_exit(request_id: &str) -> Outcome {
        let payload = serde_json::json!({
            "errorType": RUNTIME_EXIT_ERROR,
            "errorMessage": format!(
                "RequestId: {request_id} Error: Runtime exited with error: exit status 101"
            ),
        });
        Outcome::FunctionError {
            error_type: RUNTIME_EXIT_ERROR.to_string(),
            payload: Bytes::from(payload.to_string()),
        }
    }

    /// A function's own error with a message of [`LONG_ERROR_MESSAGE_CHARS`]
    /// characters.
    fn long_error() -> Outcome {
        const ERROR_TYPE: &str = "InjectedLongError";
        let payload = serde_json::json!({
            "errorType": ERROR_TYPE,
            "errorMessage": "x".repeat(LONG_ERROR_MESSAGE_CHARS),
        });
        Outcome::FunctionError {
            error_type: ERROR_TYPE.to_string(),
            payload: Bytes::from(payload.to_string()),
        }
    }

    /// The function error Lambda reports when a function outlives its
    /// timeout; the message has the shape of Lambda's own.
    fn timeout(request_id: &str, timeout: Duration) -> Outcome {
        let payload = serde_json::json!({
            "errorType": TIMEOUT_ERROR,
            "errorMessage": format!(
                "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
                timeout.as_secs_f64()
            ),
        });
        Outcome::FunctionError {
            error_type: TIMEOUT_ERROR.to_string(),
            payload: Bytes::from(payload.to_string()),
        }
    }

    /// Reads the backend's answer; `function_error` is whether it carried
    /// `X-Amz-Function-Error`, as Lambda's own answers (and `sam local
    /// start-lambda`'s) do.
    pub(crate) fn classify(
        backend: &str,
        function: &str,
        status: u16,
        function_error: bool,
        body: Bytes,
    ) -> Outcome {
        match status {
            200 if function_error => Outcome::FunctionError {
                error_type: error_type(&body).unwrap_or_else(|| "Unhandled".to_string()),
                payload: body,
            },
            // 202: a host that honours `X-Amz-Invocation-Type: Event`.
            200 | 202 => Outcome::Ok(body),
            404 => Outcome::NotFound,
            500 => match error_type(&body) {
                Some(error_type) => Outcome::FunctionError {
                    error_type,
                    payload: body,
                },
                None => Outcome::ServiceError(format!(
                    "The Lambda backend at {backend} answered HTTP 500 for function {function} without an error document: {}",
                    excerpt(&body)
                )),
            },
            _ => Outcome::ServiceError(format!(
                "The Lambda backend at {backend} answered HTTP {status} for function {function}: {}",
                excerpt(&body)
            )),
        }
    }

    /// The `outcome` recorded in the snapshot.
    fn label(&self) -> &str {
        match self {
            Outcome::Ok(_) => "ok",
            Outcome::FunctionError { error_type, .. } => error_type,
            Outcome::NotFound => "ResourceNotFoundException",
            Outcome::ServiceError(_) => "ServiceException",
        }
    }
}

/// `errorType` of a JSON error document (`{"errorType":…,"errorMessage":…}`).
fn error_type(body: &[u8]) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    doc.get("errorType")?.as_str().map(str::to_string)
}

/// The start of a body, for messages.
fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_string();
    }
    if text.chars().count() <= MAX {
        return text.to_string();
    }
    let mut out: String = text.chars().take(MAX).collect();
    out.push('…');
    out
}

/// Lambda's REST-JSON error answer: `{"Type":…,"message":…}` and the code in
/// `x-amzn-ErrorType`.
fn error_response(err: &ApiError, request_id: &str) -> HttpResponse {
    let kind = if err.status >= 500 { "Service" } else { "User" };
    let body = serde_json::json!({ "Type": kind, "message": err.message });
    let mut resp = response(err.status, "application/json", body.to_string());
    set_header(&mut resp, "x-amzn-RequestId", request_id);
    set_header(&mut resp, "x-amzn-ErrorType", &err.code);
    resp
}

fn not_found(function: &FunctionRef, signed_region: Option<&str>) -> ApiError {
    ApiError::new(
        404,
        "ResourceNotFoundException",
        format!("Function not found: {}", function.arn(signed_region)),
    )
}

/// The answer to a `RequestResponse` call that reached the backend.
fn invoke_response(
    outcome: &Outcome,
    function: &FunctionRef,
    signed_region: Option<&str>,
    request_id: &str,
) -> HttpResponse {
    let mut resp = match outcome {
        Outcome::Ok(payload) => response(200, "application/json", payload.clone()),
        Outcome::FunctionError { payload, .. } => {
            let mut resp = response(200, "application/json", payload.clone());
            set_header(&mut resp, "X-Amz-Function-Error", "Unhandled");
            resp
        }
        Outcome::NotFound => {
            return error_response(&not_found(function, signed_region), request_id)
        }
        Outcome::ServiceError(message) => {
            let err = ApiError::new(502, "ServiceException", message.clone());
            return error_response(&err, request_id);
        }
    };
    set_header(&mut resp, "X-Amz-Executed-Version", EXECUTED_VERSION);
    set_header(&mut resp, "x-amzn-RequestId", request_id);
    resp
}

/// Handles every call under [`API_PREFIX`].
pub(crate) async fn serve(
    shared: Arc<Shared>,
    parts: Parts,
    body: Incoming,
    request_id: String,
) -> HttpResponse {
    let started = Instant::now();
    let started_at = shared.now();
    let path = parts.uri.path();
    let segment = path
        .strip_prefix(FUNCTIONS_PREFIX)
        .and_then(|rest| rest.strip_suffix(INVOCATIONS_SUFFIX))
        .filter(|segment| !segment.is_empty() && !segment.contains('/'));
    let segment = match segment {
        Some(segment) if parts.method == hyper::Method::POST => segment.to_string(),
        _ => {
            let err = ApiError::new(
                404,
                "UnknownOperationException",
                format!(
                    "The emulator serves Lambda only at POST {FUNCTIONS_PREFIX}{{FunctionName}}{INVOCATIONS_SUFFIX}; not {} {path}",
                    parts.method
                ),
            );
            return error_response(&err, &request_id);
        }
    };
    shared.lock().count_call(Operation::Invoke);

    // Read one byte more than Lambda allows, to tell "too large" apart.
    let payload = match Limited::new(body, MAX_PAYLOAD.min(MAX_BODY) + 1)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let err = ApiError::new(
                400,
                "InvalidRequestContentException",
                format!("Could not read the request body: {e}"),
            );
            return error_response(&err, &request_id);
        }
    };
    if payload.len() > MAX_PAYLOAD {
        let err = ApiError::new(
            413,
            "RequestTooLargeException",
            format!(
                "Request must be smaller than {MAX_PAYLOAD} bytes for the InvokeFunction operation"
            ),
        );
        return error_response(&err, &request_id);
    }

    // Real AWS refuses unsigned calls; the signature itself is not checked.
    if !parts.headers.contains_key(AUTHORIZATION) {
        let err = ApiError::new(
            403,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        );
        return error_response(&err, &request_id);
    }
    let function = match parse_function_name(&segment) {
        Ok(function) => function,
        Err(err) => return error_response(&err, &request_id),
    };
    let invocation_type = match InvocationType::from_headers(&parts.headers) {
        Ok(kind) => kind,
        Err(err) => return error_response(&err, &request_id),
    };
    let region = http::credential(&parts.headers).map(|c| c.region);

    let call = Call {
        function: function.name.clone(),
        function_arn: function.unqualified_arn(region.as_deref()),
        payload,
        request_id: request_id.clone(),
    };

    let backend = configured_backend(&shared);
    let Some(backend) = backend else {
        // Without a backend no function exists.
        let attempt = Attempt {
            outcome: Outcome::NotFound,
            fault: None,
            started,
            started_at,
        };
        record(&shared, &call, invocation_type, 1, &attempt, 404, None);
        return error_response(&not_found(&function, region.as_deref()), &request_id);
    };

    shared.observe_job_event(&call.function, &call.payload);

    match invocation_type {
        InvocationType::Event => {
            let clock = shared.clock.clone();
            clock.spawn(|work| run_event(shared, work, backend, call, started_at));
            let mut resp = response(202, "application/json", Bytes::new());
            set_header(&mut resp, "x-amzn-RequestId", &request_id);
            resp
        }
        InvocationType::RequestResponse => {
            let attempt = run_attempt(&shared, &backend, &call, invocation_type).await;
            log_outcome(&call.function, &attempt.outcome, invocation_type.name());
            let resp = invoke_response(&attempt.outcome, &function, region.as_deref(), &request_id);
            record(
                &shared,
                &call,
                invocation_type,
                1,
                &attempt,
                resp.status().as_u16(),
                None,
            );
            resp
        }
    }
}

/// One invocation as the emulator runs it: whichever way it came (a caller,
/// a retry, a continuation, a destination), it is forwarded the same way.
#[derive(Clone)]
struct Call {
    /// The plain name.
    function: String,
    /// `arn:aws:lambda:<region>:<account>:function:<name>`, for the
    /// invocation record of an on-failure destination.
    function_arn: String,
    payload: Bytes,
    request_id: String,
}

/// How one attempt went.
struct Attempt {
    outcome: Outcome,
    /// The function fault that struck it, if one did.
    fault: Option<FunctionFaultKind>,
    started: Instant,
    /// On the emulator's clock.
    started_at: SystemTime,
}

/// Lists one finished attempt in the snapshot.
fn record(
    shared: &Shared,
    call: &Call,
    invocation_type: InvocationType,
    attempt_number: u32,
    attempt: &Attempt,
    status: u16,
    on_failure_of: Option<&str>,
) {
    shared.lock().record_invocation(LambdaInvocation {
        sequence: 0,
        function_name: call.function.clone(),
        started_at: format_timestamp(attempt.started_at),
        duration_ms: u64::try_from(attempt.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        outcome: attempt.outcome.label().to_string(),
        status,
        request_id: call.request_id.clone(),
        invocation_type: invocation_type.name().to_string(),
        attempt: attempt_number,
        injected_fault: attempt.fault.map(|kind| kind.name().to_string()),
        on_failure_of: on_failure_of.map(str::to_string),
    });
}

/// When a function fault strikes: before the handler runs, or after it
/// answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FaultPoint {
    BeforeHandler,
    AfterHandler,
}

/// The fault of `function` that strikes at `point` of this invocation, if
/// any; a `Once` fault is spent by it.
fn strike(shared: &Shared, function: &str, point: FaultPoint) -> Option<FunctionFaultKind> {
    let fault = shared.config.function_faults.get(function)?;
    let at = match fault.kind {
        FunctionFaultKind::Crash | FunctionFaultKind::LongError => FaultPoint::BeforeHandler,
        FunctionFaultKind::CrashAfterWork | FunctionFaultKind::Hang => FaultPoint::AfterHandler,
    };
    if at != point {
        return None;
    }
    if fault.times == FaultTimes::Once
        && !shared
            .lock()
            .spent_function_faults
            .insert(function.to_string())
    {
        return None;
    }
    Some(fault.kind)
}

/// Runs one attempt of `call`: the function's fault, if one strikes, else
/// the backend's answer within the Lambda timeout.
async fn run_attempt(
    shared: &Shared,
    backend: &Backend,
    call: &Call,
    invocation_type: InvocationType,
) -> Attempt {
    let started = Instant::now();
    let started_at = shared.now();
    let attempt = |outcome, fault| Attempt {
        outcome,
        fault,
        started,
        started_at,
    };
    if let Some(kind) = strike(shared, &call.function, FaultPoint::BeforeHandler) {
        tracing::warn!(function = %call.function, fault = kind.name(), "injected function fault: not forwarded");
        let outcome = match kind {
            FunctionFaultKind::LongError => Outcome::long_error(),
            _ => Outcome::runtime_exit(&call.request_id),
        };
        return attempt(outcome, Some(kind));
    }
    let outcome = run(
        shared,
        backend,
        &call.function,
        call.payload.clone(),
        invocation_type,
        &call.request_id,
    )
    .await;
    // Only a handler that answered can have its answer lost.
    let answered = matches!(outcome, Outcome::Ok(_) | Outcome::FunctionError { .. });
    let struck = answered
        .then(|| strike(shared, &call.function, FaultPoint::AfterHandler))
        .flatten();
    match struck {
        Some(kind) => {
            tracing::warn!(function = %call.function, fault = kind.name(), "injected function fault: the answer is discarded");
            let outcome = match kind {
                FunctionFaultKind::Hang => {
                    Outcome::timeout(&call.request_id, shared.config.lambda_timeout)
                }
                _ => Outcome::runtime_exit(&call.request_id),
            };
            attempt(outcome, Some(kind))
        }
        None => attempt(outcome, None),
    }
}

/// Runs an `Event` call as Lambda runs one: at once, then, while it ends in a
/// function error, retried after the configured delays on the emulator's
/// clock, up to the function's retry limit and while the event is young
/// enough; an event given up on is recorded and, if the function has an
/// on-failure destination, sent there in Lambda's invocation record. Each
/// attempt is listed with status 202. Only function errors are retried: a
/// function the backend does not know, or a backend that cannot be reached,
/// ends the event.
async fn run_event(
    shared: Arc<Shared>,
    mut work: Work,
    backend: Backend,
    call: Call,
    arrived: SystemTime,
) {
    let config = shared.config.event_invoke_for(&call.function).clone();
    let mut attempts = 0;
    let (condition, last_error) = loop {
        attempts += 1;
        let attempt = run_attempt(&shared, &backend, &call, InvocationType::Event).await;
        log_outcome(&call.function, &attempt.outcome, "Event");
        record(
            &shared,
            &call,
            InvocationType::Event,
            attempts,
            &attempt,
            202,
            None,
        );
        let Outcome::FunctionError { payload, .. } = attempt.outcome else {
            return;
        };
        if attempts > config.maximum_retry_attempts {
            break (RETRIES_EXHAUSTED, payload);
        }
        if !work.sleep(config.retry_delay(attempts)).await {
            return;
        }
        let age = shared.now().duration_since(arrived).unwrap_or_default();
        if age > config.maximum_event_age {
            break (EVENT_AGE_EXCEEDED, payload);
        }
    };
    let now = shared.now();
    tracing::warn!(function = %call.function, request_id = %call.request_id, condition, attempts, "asynchronous event discarded");
    shared.lock().record_discarded(DiscardedEvent {
        sequence: 0,
        request_id: call.request_id.clone(),
        function_name: call.function.clone(),
        condition: condition.to_string(),
        approximate_invoke_count: attempts,
        on_failure: config.on_failure.clone(),
        at: format_timestamp(now),
    });
    let Some(destination) = config.on_failure else {
        return;
    };
    let record_payload = invocation_record(&call, condition, attempts, &last_error, now);
    let destination_call = Call {
        function: destination.clone(),
        function_arn: FunctionRef::plain(&destination).unqualified_arn(None),
        payload: Bytes::from(record_payload.to_string()),
        request_id: shared.lock().new_request_id(),
    };
    let attempt = run_attempt(&shared, &backend, &destination_call, InvocationType::Event).await;
    log_outcome(&destination, &attempt.outcome, "Event");
    record(
        &shared,
        &destination_call,
        InvocationType::Event,
        1,
        &attempt,
        202,
        Some(&call.request_id),
    );
}

/// `requestContext.condition` of an event whose every attempt failed.
const RETRIES_EXHAUSTED: &str = "RetriesExhausted";
/// `requestContext.condition` of an event too old for its next attempt.
const EVENT_AGE_EXCEEDED: &str = "EventAgeExceeded";

/// The document Lambda sends an on-failure destination, as AWS documents it
/// ("Invocation record"): the original event and the last error.
fn invocation_record(
    call: &Call,
    condition: &str,
    attempts: u32,
    last_error: &[u8],
    at: SystemTime,
) -> serde_json::Value {
    // A payload that is not JSON is passed on as a string.
    let as_json = |bytes: &[u8]| {
        serde_json::from_slice::<serde_json::Value>(bytes)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(bytes).into()))
    };
    serde_json::json!({
        "version": "1.0",
        "timestamp": format_timestamp(at),
        "requestContext": {
            "requestId": call.request_id,
            "functionArn": format!("{}:{EXECUTED_VERSION}", call.function_arn),
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": as_json(&call.payload),
        "responseContext": {
            "statusCode": 200,
            "executedVersion": EXECUTED_VERSION,
            "functionError": "Unhandled",
        },
        "responsePayload": as_json(last_error),
    })
}

/// The runtime host invocations are forwarded to, if one is configured.
fn configured_backend(shared: &Shared) -> Option<Backend> {
    shared
        .config
        .lambda_backend
        .as_deref()
        .and_then(|url| Backend::parse(url).ok())
}

/// The emulator's own `Event` invocation of `function` (a continued
/// CodePipeline job), run as a caller's `Event` call is (retries and
/// destination included); listed in the snapshot's invocations but not
/// counted as a call. `work` is the background work it is part of.
pub(crate) async fn invoke_event(
    shared: Arc<Shared>,
    work: Work,
    function: String,
    payload: Bytes,
) {
    let request_id = shared.lock().new_request_id();
    let call = Call {
        function_arn: FunctionRef::plain(&function).unqualified_arn(None),
        function,
        payload,
        request_id,
    };
    let arrived = shared.now();
    let Some(backend) = configured_backend(&shared) else {
        tracing::warn!(function = %call.function, "no Lambda backend to invoke the function with");
        let attempt = Attempt {
            outcome: Outcome::NotFound,
            fault: None,
            started: Instant::now(),
            started_at: arrived,
        };
        record(
            &shared,
            &call,
            InvocationType::Event,
            1,
            &attempt,
            404,
            None,
        );
        return;
    };
    run_event(shared, work, backend, call, arrived).await;
}

fn log_outcome(function: &str, outcome: &Outcome, invocation_type: &str) {
    match outcome {
        Outcome::Ok(_) => tracing::info!(%function, invocation_type, "invocation succeeded"),
        Outcome::FunctionError { error_type, .. } => {
            tracing::info!(%function, invocation_type, error_type, "function error")
        }
        Outcome::NotFound => {
            tracing::warn!(%function, "the Lambda backend does not know the function")
        }
        Outcome::ServiceError(message) => tracing::warn!(%function, %message, "invocation failed"),
    }
}

/// Forwards one invocation and reads the answer, within the timeout.
async fn run(
    shared: &Shared,
    backend: &Backend,
    function: &str,
    payload: Bytes,
    invocation_type: InvocationType,
    request_id: &str,
) -> Outcome {
    let timeout = shared.config.lambda_timeout;
    let forwarding = forward(backend, function, payload, invocation_type);
    match tokio::time::timeout(timeout, forwarding).await {
        Ok(Ok((status, function_error, body))) => {
            Outcome::classify(&backend.url, function, status, function_error, body)
        }
        Ok(Err(message)) => Outcome::ServiceError(message),
        // Dropping the forward closes the connection; the host may still be
        // running the handler, as a timed-out Lambda sandbox would not.
        Err(_) => Outcome::timeout(request_id, timeout),
    }
}

/// One `POST {backend}/2015-03-31/functions/{function}/invocations` over a
/// fresh connection; the body goes unchanged, as JSON, and an `Event` call
/// says so in `X-Amz-Invocation-Type`.
async fn forward(
    backend: &Backend,
    function: &str,
    payload: Bytes,
    invocation_type: InvocationType,
) -> Result<(u16, bool, Bytes), String> {
    let unreachable = |e: &dyn std::fmt::Display| {
        format!(
            "Could not reach the Lambda backend at {} for function {function}: {e}",
            backend.url
        )
    };
    let stream = TcpStream::connect(&backend.authority)
        .await
        .map_err(|e| unreachable(&e))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| unreachable(&e))?;

    let mut request = Request::post(backend.invocations_path(function))
        .header(HOST, &backend.authority)
        .header(CONNECTION, "close")
        .header(CONTENT_TYPE, "application/json");
    if invocation_type == InvocationType::Event {
        request = request.header("X-Amz-Invocation-Type", invocation_type.name());
    }
    let request = request
        .body(Full::new(payload))
        .map_err(|e| unreachable(&e))?;

    let exchange = async move {
        let resp = sender
            .send_request(request)
            .await
            .map_err(|e| unreachable(&e))?;
        let status = resp.status().as_u16();
        let function_error = resp.headers().contains_key("x-amz-function-error");
        let body = Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| unreachable(&e))?
            .to_bytes();
        Ok((status, function_error, body))
        // `sender` drops here, which lets `connection` finish.
    };
    // The connection is driven in this task, so a timeout that drops this
    // future also closes the socket.
    let (result, _) = tokio::join!(exchange, connection);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(segment: &str) -> Option<String> {
        parse_function_name(segment).ok().map(|f| f.name)
    }

    #[test]
    fn resolves_every_form_of_function_name() {
        assert_eq!(
            name("start-invalidation").as_deref(),
            Some("start-invalidation")
        );
        assert_eq!(name("my_fn.v2:live").as_deref(), Some("my_fn.v2"));
        assert_eq!(name("my-fn:$LATEST").as_deref(), Some("my-fn"));
        assert_eq!(
            name("123456789012:function:check-status").as_deref(),
            Some("check-status")
        );
        let full = parse_function_name(
            "arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Areport-result%3A%24LATEST",
        )
        .unwrap();
        assert_eq!(full.name, "report-result");
        assert_eq!(full.region.as_deref(), Some("eu-west-1"));
        assert_eq!(full.account.as_deref(), Some("123456789012"));
        assert_eq!(full.qualifier.as_deref(), Some("$LATEST"));
        assert_eq!(
            full.arn(None),
            "arn:aws:lambda:eu-west-1:123456789012:function:report-result:$LATEST"
        );
        assert_eq!(
            name("arn:aws:lambda:us-gov-west-1:123456789012:function:f").as_deref(),
            Some("f")
        );
        assert_eq!(
            name("arn:aws-cn:lambda:cn-north-1:123456789012:function:f:7").as_deref(),
            Some("f")
        );
        // A name that looks like an account id is still a name.
        assert_eq!(name("123456789012").as_deref(), Some("123456789012"));
        assert_eq!(name("function").as_deref(), Some("function"));
    }

    #[test]
    fn refuses_malformed_function_names() {
        for bad in [
            "",
            "a%2Fb",
            "has space",
            "arn:aws:s3:::bucket",
            "arn:aws:lambda",
            "f:bad.qualifier",
            "f:q:extra",
            &"x".repeat(65),
        ] {
            let err = parse_function_name(bad).unwrap_err();
            assert_eq!(err.status, 400, "{bad}");
            assert_eq!(err.code, "ValidationException", "{bad}");
        }
    }

    #[test]
    fn parses_backend_urls() {
        let b = Backend::parse("http://127.0.0.1:9000").unwrap();
        assert_eq!(b.authority, "127.0.0.1:9000");
        assert_eq!(
            b.invocations_path("f"),
            "/2015-03-31/functions/f/invocations"
        );
        let b = Backend::parse("http://localhost/lambda/").unwrap();
        assert_eq!(b.authority, "localhost:80");
        assert_eq!(
            b.invocations_path("f"),
            "/lambda/2015-03-31/functions/f/invocations"
        );
        assert_eq!(
            Backend::parse("http://[::1]:9000").unwrap().authority,
            "[::1]:9000"
        );
        for bad in [
            "https://h:1",
            "h:1",
            "http://",
            "http://:9",
            "http://h:x",
            "http://h:1?x",
        ] {
            assert!(Backend::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn classifies_backend_answers() {
        let c = |status, body: &str| {
            Outcome::classify(
                "http://b",
                "f",
                status,
                false,
                Bytes::from(body.to_string()),
            )
        };
        // Lambda's own answer, as `sam local start-lambda` gives it too.
        let doc = r#"{"errorType":"InvalidInput","errorMessage":"bad"}"#;
        assert_eq!(
            Outcome::classify("http://b", "f", 200, true, Bytes::from(doc)),
            Outcome::FunctionError {
                error_type: "InvalidInput".into(),
                payload: Bytes::from(doc)
            }
        );
        assert_eq!(c(200, "{\"a\":1}"), Outcome::Ok(Bytes::from("{\"a\":1}")));
        let doc = r#"{"errorType":"BudgetExhausted","errorMessage":"no"}"#;
        assert_eq!(
            c(500, doc),
            Outcome::FunctionError {
                error_type: "BudgetExhausted".into(),
                payload: Bytes::from(doc)
            }
        );
        assert_eq!(c(404, ""), Outcome::NotFound);
        assert!(matches!(c(500, "oops"), Outcome::ServiceError(m) if m.contains("HTTP 500")));
        assert!(matches!(
            c(500, r#"{"errorMessage":"x"}"#),
            Outcome::ServiceError(_)
        ));
        assert!(
            matches!(c(503, ""), Outcome::ServiceError(m) if m.contains("HTTP 503") && m.contains("(empty body)"))
        );
    }

    #[test]
    fn timeouts_read_like_lambdas() {
        let Outcome::FunctionError {
            error_type,
            payload,
        } = Outcome::timeout("rid", Duration::from_millis(1500))
        else {
            panic!("a timeout is a function error");
        };
        assert_eq!(error_type, TIMEOUT_ERROR);
        let doc: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(doc["errorType"], "Sandbox.Timedout");
        assert_eq!(
            doc["errorMessage"],
            "RequestId: rid Error: Task timed out after 1.50 seconds"
        );
    }
}
