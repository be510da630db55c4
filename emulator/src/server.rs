//! The HTTP listener: tells the protocols apart, applies the
//! authorization-header check and injected faults, then hands the call to
//! `cloudfront`, `codepipeline`, `stepfunctions` or `s3` and writes the
//! protocol's answer. Lambda calls (under `/2015-03-31/`) go to `lambda`
//! before any of that: they are never faulted.
//!
//! An S3 call is one signed for service `s3` (the SigV4 credential scope
//! names it), or one that is under neither CloudFront's nor Lambda's prefix
//! and has no `X-Amz-Target`: CodePipeline and Step Functions always send
//! one, and an unsigned S3 request names no service.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, AUTHORIZATION, HOST, LOCATION};
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

use crate::clock::ClockError;
use crate::cloudfront::{self, API_PREFIX};
use crate::codepipeline;
use crate::config::{Config, FaultCode, Operation};
use crate::error::{ApiError, Error};
use crate::http::{self, response, set_header, Credential, HttpResponse, MAX_BODY};
use crate::lambda;
use crate::records::{ExecutionOutcome, Snapshot, StartedExecution};
use crate::s3;
use crate::state::Shared;
use crate::stepfunctions;
use crate::wire::format_timestamp;
use crate::xml;

/// The wire protocols served on one port (besides Lambda's REST-JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// CloudFront: REST with XML bodies and the `ErrorResponse` document.
    RestXml,
    /// CodePipeline: `POST /` with `X-Amz-Target`, JSON bodies, `__type` errors.
    Json11,
    /// Step Functions: as JSON 1.1, with `application/x-amz-json-1.0`; told
    /// apart by the `AWSStepFunctions.` target prefix.
    Json10,
    /// S3: REST with a bare `Error` document, errors of its own codes.
    S3,
}

impl Protocol {
    fn json_content_type(self) -> &'static str {
        match self {
            Protocol::Json10 => "application/x-amz-json-1.0",
            _ => "application/x-amz-json-1.1",
        }
    }
}

/// The error a fault of `kind` shows as in `protocol`.
fn fault_error(kind: FaultCode, protocol: Protocol) -> ApiError {
    if protocol == Protocol::S3 {
        // S3 throttles with 503 SlowDown, not a 400.
        let (status, code, message) = match kind {
            FaultCode::Throttling => (503, "SlowDown", "Please reduce your request rate."),
            FaultCode::InternalError => (
                500,
                "InternalError",
                "We encountered an internal error. Please try again.",
            ),
            FaultCode::ServiceUnavailable => (
                503,
                "ServiceUnavailable",
                "Service is unable to handle request.",
            ),
            FaultCode::ConditionalRequestConflict => {
                (409, "ConditionalRequestConflict", s3::CONFLICT_MESSAGE)
            }
        };
        return ApiError::new(status, code, message);
    }
    let (code, message) = match (kind, protocol) {
        (FaultCode::Throttling, Protocol::RestXml) => ("Throttling", "Rate exceeded"),
        (FaultCode::Throttling, _) => ("ThrottlingException", "Rate exceeded"),
        (FaultCode::InternalError, Protocol::RestXml) => (
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
        (FaultCode::InternalError, _) => (
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
        ),
        (FaultCode::ServiceUnavailable, _) => (
            "ServiceUnavailable",
            "The service is unavailable. Please try again later.",
        ),
        // The configuration refuses it for these services' operations.
        (FaultCode::ConditionalRequestConflict, _) => {
            ("ConditionalRequestConflict", s3::CONFLICT_MESSAGE)
        }
    };
    ApiError::new(kind.status(), code, message)
}

/// A running emulator; dropping it stops the listener.
#[derive(Debug)]
pub struct EmulatorHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl EmulatorHandle {
    /// The URL to give SDK clients, e.g. `http://127.0.0.1:41234`; the same
    /// value works as `AWS_ENDPOINT_URL`.
    pub fn endpoint_url(&self) -> String {
        // A listener on every address is reached from here through the loopback one.
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{addr}")
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the emulator has seen so far.
    pub fn snapshot(&self) -> Snapshot {
        self.shared.snapshot()
    }

    /// The bytes of the S3 object at `bucket`/`key`, if there is one (what a GetObject would
    /// return, without the request).
    pub fn object_body(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let inner = self.shared.lock();
        let object = inner.buckets.get(bucket)?.get(key)?;
        Some(object.body.to_vec())
    }

    /// The emulator's time: the machine's on a real clock, or where a manual
    /// clock has been moved to (see [`Config::clock`](Config#structfield.clock)).
    pub fn now(&self) -> SystemTime {
        self.shared.now()
    }

    /// Moves a manual clock forward by `by` and answers the new time.
    /// Whatever waits for a time now reached is woken: invalidations read as
    /// completed, a pending continuation or Lambda retry runs, an event too
    /// old is discarded. That work runs in the background; [`EmulatorHandle::settle`]
    /// waits for it. A real clock cannot be moved: [`ClockError::NotManual`].
    pub fn advance_clock(&self, by: Duration) -> Result<SystemTime, ClockError> {
        let now = self.shared.clock.advance(by)?;
        tracing::info!(now = %format_timestamp(now), advanced_ms = by.as_millis() as u64, "clock advanced");
        Ok(now)
    }

    /// Waits, at most `wait` of real time, until the emulator's background
    /// work is done: no `Event` invocation, Lambda retry, on-failure
    /// destination or continuation is running, and none that waits on the
    /// clock is due. Answers whether that happened within `wait`. Work due
    /// later on a manual clock does not count: it waits for
    /// [`EmulatorHandle::advance_clock`].
    pub async fn settle(&self, wait: Duration) -> bool {
        self.shared.clock.settle(wait).await
    }

    /// The next execution created by `StartExecution` that this method has
    /// not returned yet, in creation order, waiting up to `wait` for one;
    /// `None` if none came. Idempotent repeats of `StartExecution` create
    /// nothing. The emulator runs no state machine: the caller runs the
    /// execution and ends it with [`EmulatorHandle::finish_execution`].
    pub async fn next_started_execution(&self, wait: Duration) -> Option<StartedExecution> {
        tokio::time::timeout(wait, async {
            self.shared.started_rx.lock().await.recv().await
        })
        .await
        .ok()
        .flatten()
    }

    /// Ends a `RUNNING` execution with `outcome`: `DescribeExecution` then
    /// reports it (`SUCCEEDED` with the output, or `FAILED` with the error and
    /// cause, and a `stopDate`), and a `StartExecution` of the same name no
    /// longer succeeds idempotently (`ExecutionAlreadyExists`). An unknown or
    /// already ended execution is left as it is, with a warning in the log.
    pub fn finish_execution(&self, execution_arn: &str, outcome: ExecutionOutcome) {
        stepfunctions::finish(&self.shared, execution_arn, outcome);
    }

    /// Stops accepting connections, drops open ones and waits for the
    /// listener task to end. Background work (pending continuations, `Event`
    /// invocations and their retries) is ended and awaited.
    pub async fn shutdown(mut self) {
        self.shared.clock.shut_down().await;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        self.shared.stop();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds `config.host` (127.0.0.1 by default) on `config.port` (0 picks a
/// free port) and starts serving in the background on the current Tokio
/// runtime.
pub async fn start(config: Config) -> Result<EmulatorHandle, Error> {
    config.validate()?;
    let port = config.port;
    let listener = TcpListener::bind((config.host, port))
        .await
        .map_err(|source| Error::Bind { port, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| Error::Bind { port, source })?;
    let shared = Arc::new(Shared::new(config));
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(accept_loop(listener, shared.clone(), stopped));
    tracing::info!(%addr, "emulator listening");
    Ok(EmulatorHandle {
        addr,
        shared,
        stop: Some(stop),
        task: Some(task),
    })
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: oneshot::Receiver<()>,
) {
    // Connections live in the set so that ending the loop drops (aborts) them.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                let shared = shared.clone();
                connections.spawn(async move {
                    let service = service_fn(move |req| serve(shared.clone(), req));
                    if let Err(e) = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                    {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
        }
        while connections.try_join_next().is_some() {}
    }
    tracing::info!("emulator stopped");
}

fn error_response(protocol: Protocol, err: &ApiError, request_id: &str) -> HttpResponse {
    match protocol {
        Protocol::RestXml => {
            let body = xml::error_document(&err.code, &err.message, request_id, err.status < 500);
            let mut resp = response(err.status, "text/xml", body);
            set_header(&mut resp, "x-amz-request-id", request_id);
            resp
        }
        Protocol::Json11 | Protocol::Json10 => {
            let body = serde_json::json!({ "__type": err.code, "message": err.message });
            let mut resp = response(err.status, protocol.json_content_type(), body.to_string());
            set_header(&mut resp, "x-amzn-RequestId", request_id);
            set_header(&mut resp, "x-amzn-ErrorType", &err.code);
            resp
        }
        Protocol::S3 => s3::error_response(err, request_id),
    }
}

/// The one request handler.
async fn serve(shared: Arc<Shared>, req: Request<Incoming>) -> Result<HttpResponse, Infallible> {
    Ok(answer(shared, req).await)
}

async fn answer(shared: Arc<Shared>, req: Request<Incoming>) -> HttpResponse {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let method = parts.method.as_str().to_string();
    let query = parts.uri.query();

    if let Some(admin) = path.strip_prefix("/_emulator/") {
        let body = match Limited::new(body, MAX_ADMIN_BODY).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => return admin_error(400, &format!("could not read the body: {e}")),
        };
        return serve_admin(&shared, &method, admin, &body).await;
    }

    let request_id = shared.lock().new_request_id();
    let credential = http::credential(&parts.headers);
    let signed_for_s3 = credential.as_ref().is_some_and(|c| c.service == "s3");
    if path.starts_with(lambda::API_PREFIX) && !signed_for_s3 {
        return lambda::serve(shared, parts, body, request_id).await;
    }
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let protocol = match target.as_deref() {
        _ if signed_for_s3 => Protocol::S3,
        _ if path.starts_with(API_PREFIX) => Protocol::RestXml,
        None => Protocol::S3,
        Some(t) if t.starts_with(stepfunctions::TARGET_PREFIX) => Protocol::Json10,
        Some(_) => Protocol::Json11,
    };
    let host = parts
        .headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();

    // Which operation is it? A call to something not emulated ends here,
    // uncounted.
    let op_and_route = match protocol {
        Protocol::RestXml => {
            cloudfront::route(&method, &path).map(|r| (r.operation(), Route::CloudFront(r)))
        }
        Protocol::S3 => {
            s3::route(&method, &path, query, &parts.headers).map(|r| (r.operation, Route::S3(r)))
        }
        Protocol::Json11 if method == "POST" && path == "/" => {
            codepipeline::operation_for_target(target.as_deref().unwrap_or_default())
                .map(|op| (op, Route::Json))
        }
        Protocol::Json10 if method == "POST" && path == "/" => {
            stepfunctions::operation_for_target(target.as_deref().unwrap_or_default())
                .map(|op| (op, Route::Json))
        }
        Protocol::Json11 | Protocol::Json10 => Err(ApiError::new(
            404,
            "UnknownOperationException",
            format!("CodePipeline and Step Functions are served at POST /, not {method} {path}"),
        )),
    };
    let (op, route) = match op_and_route {
        Ok(found) => found,
        Err(err) => return error_response(protocol, &err, &request_id),
    };

    let limit = if protocol == Protocol::S3 {
        s3::MAX_BODY
    } else {
        MAX_BODY
    };
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let err = if protocol == Protocol::S3 && e.downcast_ref::<LengthLimitError>().is_some()
            {
                s3::too_large(None)
            } else {
                ApiError::new(
                    400,
                    "InvalidRequest",
                    format!("Could not read the request body: {e}"),
                )
            };
            return error_response(protocol, &err, &request_id);
        }
    };

    shared.lock().count_call(op);
    // What an S3 call asked and carried, recorded with its answer.
    let s3_record = match &route {
        Route::S3(route) => Some(s3::request_record(route, &parts.headers, &body)),
        _ => None,
    };
    let call = Call {
        protocol,
        op,
        route,
        headers: &parts.headers,
        credential: credential.as_ref(),
        body: &body,
        host: &host,
        request_id: &request_id,
    };
    let (resp, error_code) = match serve_call(&shared, call) {
        Ok(resp) => (resp, None),
        Err(err) => {
            let resp = error_response(protocol, &err, &request_id);
            (resp, Some(err.code.into_owned()))
        }
    };
    if let Some(mut record) = s3_record {
        record.status = resp.status().as_u16();
        record.error_code = error_code;
        record.at = format_timestamp(shared.now());
        shared.lock().record_s3_request(record);
    }
    resp
}

/// A recognised, counted call, and what serving it needs.
struct Call<'a> {
    protocol: Protocol,
    op: Operation,
    route: Route,
    headers: &'a HeaderMap,
    credential: Option<&'a Credential>,
    body: &'a Bytes,
    host: &'a str,
    request_id: &'a str,
}

/// Serves a recognised call: the authorization-header check, injected
/// faults, the service, a lost response. `Err` is the error the caller gets.
fn serve_call(shared: &Arc<Shared>, call: Call<'_>) -> Result<HttpResponse, ApiError> {
    let Call {
        protocol,
        op,
        route,
        headers,
        credential,
        body,
        host,
        request_id,
    } = call;
    // Real AWS refuses unsigned calls; the signature itself is not checked.
    // S3 takes an unsigned request as anonymous, which a private bucket
    // refuses.
    let signed = match protocol {
        Protocol::S3 => credential.is_some(),
        _ => headers.contains_key(AUTHORIZATION),
    };
    if !signed {
        return Err(match protocol {
            Protocol::RestXml => ApiError::new(
                403,
                "MissingAuthenticationToken",
                "Request is missing Authentication Token",
            ),
            Protocol::Json11 | Protocol::Json10 => ApiError::new(
                400,
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
            ),
            Protocol::S3 => s3::access_denied(),
        });
    }

    // Error faults strike before the call has any effect, so a retry meets
    // the state the first attempt saw; a lost response strikes after it, so
    // a retry meets the effect.
    if let Some(kind) = shared.faults.draw(op) {
        let err = match (kind, &route) {
            // A conflict is S3's answer to a conditional request only; any
            // other call is served as if nothing had been drawn.
            (FaultCode::ConditionalRequestConflict, Route::S3(route)) => s3::conflict(route),
            _ => Some(fault_error(kind, protocol)),
        };
        if let Some(err) = err {
            shared
                .lock()
                .record_fault(op, kind, &err.code, err.status, shared.now());
            tracing::warn!(operation = %op, code = %err.code, status = err.status, %request_id, "injected fault");
            return Err(err);
        }
    }

    let outcome = match route {
        Route::CloudFront(route) => cloudfront::handle(shared, &route, body, host).map(|reply| {
            let mut resp = response(reply.status, "text/xml", reply.body);
            if let Some(location) = &reply.location {
                set_header(&mut resp, LOCATION.as_str(), location);
            }
            set_header(&mut resp, "x-amz-request-id", request_id);
            resp
        }),
        Route::S3(route) => {
            s3::handle(shared, &route, headers, credential, body).map(|mut resp| {
                s3::set_request_ids(&mut resp, request_id);
                resp
            })
        }
        Route::Json if protocol == Protocol::Json10 => {
            stepfunctions::handle(shared, op, body).map(|answer| {
                let mut resp = response(200, protocol.json_content_type(), answer.to_string());
                set_header(&mut resp, "x-amzn-RequestId", request_id);
                resp
            })
        }
        Route::Json => codepipeline::handle(shared, op, body).map(|()| {
            let mut resp = response(200, protocol.json_content_type(), "{}");
            set_header(&mut resp, "x-amzn-RequestId", request_id);
            resp
        }),
    };
    let lose_response = shared.faults.draw_lost_response(op);
    match outcome {
        Ok(resp) if lose_response && resp.status().is_success() => {
            let err = fault_error(FaultCode::InternalError, protocol);
            shared
                .lock()
                .record_lost_response(op, &err.code, err.status, shared.now());
            tracing::warn!(operation = %op, code = %err.code, %request_id, "injected lost response: the call took effect");
            Err(err)
        }
        Ok(resp) => Ok(resp),
        Err(err) => {
            tracing::info!(operation = %op, code = %err.code, status = err.status, "answered with an error");
            Err(err)
        }
    }
}

/// What a recognised call is, per protocol.
enum Route {
    CloudFront(cloudfront::Route),
    S3(s3::Route),
    /// CodePipeline or Step Functions: the operation says it all.
    Json,
}

/// Largest body read by the `/_emulator/` endpoints.
const MAX_ADMIN_BODY: usize = 64 * 1024;

fn admin_error(status: u16, message: &str) -> HttpResponse {
    response(
        status,
        "application/json",
        serde_json::json!({ "error": message }).to_string(),
    )
}

fn clock_answer(now: SystemTime) -> HttpResponse {
    let body = serde_json::json!({ "now": format_timestamp(now) });
    response(200, "application/json", body.to_string())
}

/// A number of seconds from a JSON body: finite and not negative.
fn seconds_field(body: &[u8], field: &str) -> Result<Duration, String> {
    let doc: serde_json::Value = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?
    };
    let seconds = doc
        .get(field)
        .and_then(serde_json::Value::as_f64)
        .ok_or_else(|| format!("expected a JSON body with a number `{field}`"))?;
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(format!(
            "`{field}` must be a non-negative number of seconds, got {seconds}"
        ));
    }
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("`{field}`: {e}"))
}

/// `GET health`, `GET state`, `GET clock`, `POST clock` with
/// `{"advanceSeconds": n}`, and `POST settle` with `{"waitSeconds": n}`.
async fn serve_admin(shared: &Shared, method: &str, what: &str, body: &[u8]) -> HttpResponse {
    match (method, what) {
        ("GET", "clock") => clock_answer(shared.now()),
        ("POST", "clock") => match seconds_field(body, "advanceSeconds") {
            Ok(by) => match shared.clock.advance(by) {
                Ok(now) => {
                    tracing::info!(now = %format_timestamp(now), advanced_ms = by.as_millis() as u64, "clock advanced");
                    clock_answer(now)
                }
                Err(e @ ClockError::NotManual) => admin_error(409, &e.to_string()),
            },
            Err(message) => admin_error(400, &message),
        },
        ("POST", "settle") => match seconds_field(body, "waitSeconds") {
            Ok(wait) => {
                let settled = shared.clock.settle(wait).await;
                let body = serde_json::json!({ "settled": settled });
                response(200, "application/json", body.to_string())
            }
            Err(message) => admin_error(400, &message),
        },
        (_, "clock") => admin_error(405, "the clock is served to GET and POST"),
        (_, "settle") => admin_error(405, "settle is served to POST"),
        ("GET", _) => serve_admin_get(shared, what),
        _ => admin_error(
            405,
            "only GET is served under /_emulator/, but for POST clock and POST settle",
        ),
    }
}

fn serve_admin_get(shared: &Shared, what: &str) -> HttpResponse {
    match what {
        "health" => response(200, "application/json", r#"{"status":"ok"}"#),
        "state" => match serde_json::to_string(&shared.snapshot()) {
            Ok(json) => response(200, "application/json", json),
            Err(e) => response(
                500,
                "application/json",
                serde_json::json!({ "error": e.to_string() }).to_string(),
            ),
        },
        _ => response(
            404,
            "application/json",
            r#"{"error":"unknown emulator endpoint"}"#,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_use_each_protocols_codes() {
        assert_eq!(
            fault_error(FaultCode::Throttling, Protocol::RestXml).code,
            "Throttling"
        );
        assert_eq!(
            fault_error(FaultCode::Throttling, Protocol::Json11).code,
            "ThrottlingException"
        );
        assert_eq!(
            fault_error(FaultCode::InternalError, Protocol::RestXml).status,
            500
        );
        assert_eq!(
            fault_error(FaultCode::ServiceUnavailable, Protocol::Json11).status,
            503
        );
        assert_eq!(
            fault_error(FaultCode::Throttling, Protocol::Json10).code,
            "ThrottlingException"
        );
        assert_eq!(
            fault_error(FaultCode::InternalError, Protocol::Json10).code,
            "InternalFailure"
        );
        let slow = fault_error(FaultCode::Throttling, Protocol::S3);
        assert_eq!((slow.status, slow.code.as_ref()), (503, "SlowDown"));
        let internal = fault_error(FaultCode::InternalError, Protocol::S3);
        assert_eq!(
            (internal.status, internal.code.as_ref()),
            (500, "InternalError")
        );
        let unavailable = fault_error(FaultCode::ServiceUnavailable, Protocol::S3);
        assert_eq!(
            (unavailable.status, unavailable.code.as_ref()),
            (503, "ServiceUnavailable")
        );
    }

    #[test]
    fn json_errors_carry_type_and_header() {
        let resp = error_response(
            Protocol::Json11,
            &ApiError::new(400, "ValidationException", "bad"),
            "rid",
        );
        assert_eq!(resp.status(), 400);
        assert_eq!(resp.headers()["x-amzn-ErrorType"], "ValidationException");
        assert_eq!(resp.headers()["x-amzn-RequestId"], "rid");
        assert_eq!(resp.headers()["content-type"], "application/x-amz-json-1.1");
        let resp = error_response(
            Protocol::Json10,
            &ApiError::new(400, "InvalidName", "bad"),
            "rid",
        );
        assert_eq!(resp.headers()["content-type"], "application/x-amz-json-1.0");
    }
}
