//! HTTP plumbing every protocol shares: the response type and its
//! builders, the largest body read, the signer named in `Authorization`, and
//! reading a JSON-protocol body.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
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

/// What a SigV4 `Authorization` header's credential scope says
/// (`AWS4-HMAC-SHA256 Credential=AKID/20261126/us-east-1/s3/aws4_request, …`):
/// who signed, in which region, for which service. The signature itself is
/// not checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Credential {
    pub access_key_id: String,
    pub region: String,
    /// `s3`, `lambda`, `cloudfront`…
    pub service: String,
}

/// The credential scope of a request's SigV4 `Authorization` header, if it
/// has one; every SDK the emulator serves signs so.
pub(crate) fn credential(headers: &HeaderMap) -> Option<Credential> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let scope = value
        .split("Credential=")
        .nth(1)?
        .split([',', ' '])
        .next()?;
    match scope.split('/').collect::<Vec<_>>().as_slice() {
        [access_key_id, _date, region, service, "aws4_request"] => Some(Credential {
            access_key_id: access_key_id.to_string(),
            region: region.to_string(),
            service: service.to_string(),
        }),
        _ => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn reads_the_credential_scope() {
        let signed = authorization(
            "AWS4-HMAC-SHA256 Credential=ASIAART/20261126/eu-west-3/s3/aws4_request, SignedHeaders=host, Signature=ab",
        );
        assert_eq!(
            credential(&signed),
            Some(Credential {
                access_key_id: "ASIAART".into(),
                region: "eu-west-3".into(),
                service: "s3".into(),
            })
        );
        assert_eq!(credential(&HeaderMap::new()), None);
        assert_eq!(credential(&authorization("Bearer x")), None);
    }
}
