//! HTTP plumbing every protocol shares: the response type and its
//! builders, the largest body read, and reading a JSON-protocol body.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde::Deserialize;

use crate::error::ApiError;

/// Largest request body read: 3000 paths of 4000 characters fit.
pub(crate) const MAX_BODY: usize = 16 * 1024 * 1024;

/// Every answer the emulator gives.
pub(crate) type HttpResponse = Response<Full<Bytes>>;

/// An answer with `status`, `Content-Type` and `body`.
pub(crate) fn response(
    status: u16,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> HttpResponse {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// Sets a header, unless `value` cannot be one (it is then left out).
pub(crate) fn set_header(resp: &mut HttpResponse, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

/// Reads a JSON-protocol request body into its wire form.
pub(crate) fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    // An empty body reads as `{}`, so missing members are reported as such.
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            "SerializationException",
            format!("Could not read the request body: {e}"),
        )
    })
}
