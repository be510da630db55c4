//! S3's GetObject, enough for a function to read a CodePipeline input
//! artifact the configuration put in place: path-style addressing, the
//! access-key gate, and S3's own error document.

use crate::error::ApiError;
use crate::http::{response, set_header, Credential, HttpResponse};
use crate::state::Shared;
use crate::wire::{clip, format_http_date, parse_query, percent_decode};
use crate::xml;

/// Longest key S3 accepts, in bytes of UTF-8.
pub const MAX_KEY_LEN: usize = 1024;
/// `Content-Type` of an object stored without one, as S3 defaults it.
pub const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// A recognised GetObject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub bucket: String,
    /// Decoded; never empty.
    pub key: String,
}

/// Finds bucket and key, path-style (`/bucket/key`): what the SDKs send to
/// an endpoint at an IP address, as every documented use of the emulator
/// gives them. `Err` carries the error for a request that is S3's but not
/// GetObject (other methods, bucket operations, subresources such as `?acl`).
pub(crate) fn route(method: &str, path: &str, query: Option<&str>) -> Result<Route, ApiError> {
    let raw = path.strip_prefix('/').unwrap_or(path);
    let (bucket, key) = raw.split_once('/').unwrap_or((raw, ""));
    // Keys keep `/` and every other byte; only the escapes are undone (`+`
    // is itself in a path).
    let (bucket, key) = (percent_decode(bucket), percent_decode(key));
    if method != "GET" || bucket.is_empty() || key.is_empty() {
        return Err(not_implemented(method, path));
    }
    for (name, _) in parse_query(query.unwrap_or("")) {
        // `x-id` is the Rust SDK's operation marker; anything else is a
        // subresource or version the emulator lacks.
        if name != "x-id" {
            return Err(not_implemented(method, path).with_detail("Subresource", name));
        }
    }
    Ok(Route { bucket, key })
}

fn not_implemented(method: &str, path: &str) -> ApiError {
    ApiError::new(
        501,
        "NotImplemented",
        format!(
            "A header or query you provided implies functionality that is not implemented: the emulator serves S3 GetObject only, not {method} {}",
            clip(path, 200)
        ),
    )
}

/// Runs one GetObject against the state.
pub(crate) fn handle(
    shared: &Shared,
    route: &Route,
    credential: Option<&Credential>,
) -> Result<HttpResponse, ApiError> {
    // Who may open the bucket is decided before anything about it is told.
    if let Some(allowed) = &shared.config.s3_access_keys {
        let signer = credential.map(|c| c.access_key_id.as_str());
        if !signer.is_some_and(|id| allowed.contains(id)) {
            tracing::info!(
                bucket = %route.bucket,
                access_key_id = signer.unwrap_or("-"),
                "S3 access denied: not one of the allowed access keys"
            );
            return Err(access_denied());
        }
    }
    let inner = shared.lock();
    if !inner.buckets.contains(&route.bucket) {
        return Err(
            ApiError::new(404, "NoSuchBucket", "The specified bucket does not exist")
                .with_detail("BucketName", route.bucket.clone()),
        );
    }
    let object = inner
        .objects
        .get(&(route.bucket.clone(), route.key.clone()))
        .ok_or_else(|| {
            ApiError::new(404, "NoSuchKey", "The specified key does not exist.")
                .with_detail("Key", route.key.clone())
        })?;
    let mut resp = response(200, DEFAULT_CONTENT_TYPE, object.body.clone());
    set_header(&mut resp, "etag", &object.etag);
    set_header(
        &mut resp,
        "last-modified",
        &format_http_date(object.last_modified),
    );
    Ok(resp)
}

/// S3's answer to an unsigned request for a private bucket, and to a signer
/// the bucket does not open to.
pub(crate) fn access_denied() -> ApiError {
    ApiError::new(403, "AccessDenied", "Access Denied")
}

/// The error document and headers S3 answers with.
pub(crate) fn error_response(err: &ApiError, request_id: &str) -> HttpResponse {
    let host_id = host_id(request_id);
    let body = xml::s3_error_document(&err.code, &err.message, &err.details, request_id, &host_id);
    let mut resp = response(err.status, "application/xml", body);
    set_header(&mut resp, "x-amz-request-id", request_id);
    set_header(&mut resp, "x-amz-id-2", &host_id);
    resp
}

/// Headers every S3 answer carries: the request id and the "extended"
/// request id (`x-amz-id-2`) the SDKs surface beside it.
pub(crate) fn set_request_ids(resp: &mut HttpResponse, request_id: &str) {
    set_header(resp, "x-amz-request-id", request_id);
    set_header(resp, "x-amz-id-2", &host_id(request_id));
}

/// A stand-in for S3's `HostId`: derived from the request id so the two
/// match in logs.
fn host_id(request_id: &str) -> String {
    request_id.replace('-', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_path_style_get_object_only() {
        let r = route("GET", "/bkt/a/b%20c%2Bd.zip", Some("x-id=GetObject")).unwrap();
        assert_eq!(
            r,
            Route {
                bucket: "bkt".into(),
                key: "a/b c+d.zip".into()
            }
        );
        for (method, path, query) in [
            ("GET", "/", None),
            ("GET", "/bkt", None),
            ("GET", "/bkt/", Some("list-type=2")),
            ("HEAD", "/bkt/k", None),
            ("PUT", "/bkt/k", None),
            ("DELETE", "/bkt/k", None),
            ("GET", "/bkt/k", Some("acl")),
            ("GET", "/bkt/k", Some("versionId=3")),
        ] {
            let err = route(method, path, query).unwrap_err();
            assert_eq!(
                (err.status, err.code.as_ref()),
                (501, "NotImplemented"),
                "{method} {path}"
            );
        }
    }
}
