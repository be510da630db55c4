//! S3's object operations and listing, as S3 answers them: GetObject,
//! HeadObject, PutObject (conditional writes, checksums, `aws-chunked`
//! uploads), DeleteObject and ListObjectsV2, path-style (`/bucket/key`, what
//! the SDKs send to an endpoint at an IP address), behind a per-bucket
//! access-key gate, with S3's own error document.
//!
//! Sources, besides the API reference page of each operation
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html> and
//! its siblings): the user guide's
//! [conditional writes](https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html),
//! [conditional deletes](https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html)
//! and [checking object integrity](https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html)
//! pages; where they leave a code or message unsaid, what S3 answered in
//! LocalStack's AWS-validated snapshots (`tests/aws/services/s3/*.snapshot.json`,
//! recorded against S3 in 2026), cited as "S3's recorded answer".

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::rc::Rc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::StatusCode;

use crate::checksum::{
    base64_decode, base64_encode, decode_content_md5, hex, md5, md5_base64, ChecksumAlgorithm,
    ChecksumError,
};
use crate::chunked;
use crate::config::Operation;
use crate::error::ApiError;
use crate::http::{response, set_header, Credential, HttpResponse};
use crate::listing::{self, Start};
use crate::records::S3Request;
use crate::state::{Shared, StoredObject};
use crate::wire::{
    clip, format_http_date, format_timestamp, parse_http_date, parse_query, percent_decode,
    s3_url_encode,
};
use crate::xml;

/// Longest key S3 accepts, in bytes of UTF-8.
pub const MAX_KEY_LEN: usize = 1024;
/// `Content-Type` of an object stored without one, as S3 defaults it.
pub const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";
/// Largest object the emulator stores. S3 takes 5 GB in one PutObject; the
/// emulator keeps everything in memory.
pub const MAX_OBJECT_SIZE: usize = 256 * 1024 * 1024;
/// Most entries of one ListObjectsV2 page, whatever `max-keys` asks.
pub const MAX_KEYS: usize = 1000;
/// Largest S3 request body read: an object of [`MAX_OBJECT_SIZE`] and its
/// `aws-chunked` framing.
pub(crate) const MAX_BODY: usize = MAX_OBJECT_SIZE + 4 * 1024 * 1024;

/// The query parameters ListObjectsV2 takes; `fetch-owner` is accepted and
/// ignored (no `Owner` is listed).
const LIST_PARAMETERS: [&str; 8] = [
    "list-type",
    "prefix",
    "delimiter",
    "max-keys",
    "continuation-token",
    "start-after",
    "encoding-type",
    "fetch-owner",
];

/// A recognised S3 call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub operation: Operation,
    pub bucket: String,
    /// Decoded; empty for ListObjectsV2, never empty otherwise.
    pub key: String,
    /// Decoded query parameters, each its first value; the Rust SDK's
    /// operation marker `x-id` left out.
    pub parameters: BTreeMap<String, String>,
    /// The precondition a concurrent write can defeat (409
    /// `ConditionalRequestConflict`): `If-None-Match` or `If-Match` of a
    /// PutObject, `If-Match` of a DeleteObject.
    pub condition: Option<&'static str>,
}

/// Finds operation, bucket and key. `Err` carries the answer for a request
/// that is S3's but no emulated operation: ListBuckets, ListObjects (v1),
/// bucket operations, CopyObject, subresources such as `?acl` or `?uploads`.
pub(crate) fn route(
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Route, ApiError> {
    let raw = path.strip_prefix('/').unwrap_or(path);
    let (bucket, key) = raw.split_once('/').unwrap_or((raw, ""));
    // Keys keep `/` and every other byte; only the escapes are undone (`+`
    // is itself in a path).
    let (bucket, key) = (percent_decode(bucket), percent_decode(key));
    let mut parameters = BTreeMap::new();
    for (name, value) in parse_query(query.unwrap_or("")) {
        if name != "x-id" {
            parameters.entry(name).or_insert(value);
        }
    }
    let operation = match (method, key.is_empty()) {
        _ if bucket.is_empty() => return Err(not_implemented(method, path)),
        ("GET", true) if parameters.get("list-type").is_some_and(|t| t == "2") => {
            Operation::ListObjectsV2
        }
        (_, true) => return Err(not_implemented(method, path)),
        ("GET", false) => Operation::GetObject,
        ("HEAD", false) => Operation::HeadObject,
        ("PUT", false) if !headers.contains_key("x-amz-copy-source") => Operation::PutObject,
        ("DELETE", false) => Operation::DeleteObject,
        _ => return Err(not_implemented(method, path)),
    };
    let allowed: &[&str] = if operation == Operation::ListObjectsV2 {
        &LIST_PARAMETERS
    } else {
        &[]
    };
    if let Some(name) = parameters.keys().find(|n| !allowed.contains(&n.as_str())) {
        return Err(not_implemented(method, path).with_detail("Subresource", name.clone()));
    }
    let condition = match operation {
        Operation::PutObject if headers.contains_key("if-none-match") => Some("If-None-Match"),
        Operation::PutObject | Operation::DeleteObject if headers.contains_key("if-match") => {
            Some("If-Match")
        }
        _ => None,
    };
    Ok(Route {
        operation,
        bucket,
        key,
        parameters,
        condition,
    })
}

fn not_implemented(method: &str, path: &str) -> ApiError {
    ApiError::new(
        501,
        "NotImplemented",
        format!(
            "A header or query you provided implies functionality that is not implemented: the emulator serves S3 GetObject, HeadObject, PutObject, DeleteObject and ListObjectsV2 only, not {method} {}",
            clip(path, 200)
        ),
    )
}

/// S3's 501 for a header it does not take, or not with that value (S3's
/// recorded answers to `If-None-Match: "etag"`, `If-Match: *` and both at
/// once on PutObject, and to the directory-bucket conditions on DeleteObject).
fn header_not_implemented(header: &str, why: Option<&str>) -> ApiError {
    let err = ApiError::new(
        501,
        "NotImplemented",
        "A header you provided implies functionality that is not implemented",
    )
    .with_detail("Header", header);
    match why {
        Some(why) => err.with_detail("additionalMessage", why),
        None => err,
    }
}

/// Runs one S3 call against the state. Nothing is changed unless it succeeds.
pub(crate) fn handle(
    shared: &Shared,
    route: &Route,
    headers: &HeaderMap,
    credential: Option<&Credential>,
    body: &Bytes,
) -> Result<HttpResponse, ApiError> {
    // Who may open the bucket is decided before anything about it is told.
    if let Some(allowed) = shared.config.s3_access_keys_for(&route.bucket) {
        let signer = credential.map(|c| c.access_key_id.as_str());
        if !signer.is_some_and(|id| allowed.contains(id)) {
            tracing::info!(bucket = %route.bucket, operation = %route.operation, "S3 access denied: the signer is not one the bucket opens to");
            return Err(access_denied());
        }
    }
    if !shared.lock().buckets.contains_key(&route.bucket) {
        return Err(no_such_bucket(&route.bucket));
    }
    match route.operation {
        Operation::PutObject => put_object(shared, route, headers, body),
        Operation::HeadObject => get_object(shared, route, headers, false),
        Operation::DeleteObject => delete_object(shared, route, headers),
        Operation::ListObjectsV2 => list_objects_v2(shared, route),
        _ => get_object(shared, route, headers, true),
    }
}

/// S3's answer to an unsigned request for a private bucket, and to a signer
/// the bucket does not open to.
pub(crate) fn access_denied() -> ApiError {
    ApiError::new(403, "AccessDenied", "Access Denied")
}

fn no_such_bucket(bucket: &str) -> ApiError {
    ApiError::new(404, "NoSuchBucket", "The specified bucket does not exist")
        .with_detail("BucketName", bucket)
}

fn no_such_key(key: &str) -> ApiError {
    ApiError::new(404, "NoSuchKey", "The specified key does not exist.").with_detail("Key", key)
}

fn precondition_failed(condition: &str) -> ApiError {
    ApiError::new(
        412,
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
    )
    .with_detail("Condition", condition)
}

fn invalid_argument(message: &str, name: &str, value: &str) -> ApiError {
    ApiError::new(400, "InvalidArgument", message)
        .with_detail("ArgumentName", name)
        .with_detail("ArgumentValue", clip(value, 200))
}

/// The message of S3's 409 `ConditionalRequestConflict` (S3's recorded answer).
pub(crate) const CONFLICT_MESSAGE: &str =
    "The conditional request cannot succeed due to a conflicting operation against this resource.";

/// What S3 answers a conditional write that lost a race with another write
/// to the key (the user guide's conditional writes page for when): nothing
/// was written.
pub(crate) fn conflict(route: &Route) -> Option<ApiError> {
    let condition = route.condition?;
    Some(
        ApiError::new(409, "ConditionalRequestConflict", CONFLICT_MESSAGE)
            .with_detail("Condition", condition)
            .with_detail("Key", route.key.clone()),
    )
}

/// S3's answer to an upload over the size the emulator keeps.
pub(crate) fn too_large(size: Option<usize>) -> ApiError {
    let err = ApiError::new(
        400,
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
    );
    match size {
        Some(size) => err.with_detail("ProposedSize", size.to_string()),
        None => err,
    }
    .with_detail("MaxSizeAllowed", MAX_OBJECT_SIZE.to_string())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether the body is `aws-chunked`: by its content encoding, or by a
/// streaming payload hash (which implies it).
fn is_aws_chunked(headers: &HeaderMap) -> bool {
    header(headers, "content-encoding").is_some_and(|encoding| {
        encoding
            .split(',')
            .any(|e| e.trim().eq_ignore_ascii_case("aws-chunked"))
    }) || header(headers, "x-amz-content-sha256").is_some_and(|v| v.starts_with("STREAMING-"))
}

/// User metadata: the `x-amz-meta-` headers, names lowercase without it.
fn user_metadata(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            let name = name.as_str().strip_prefix("x-amz-meta-")?;
            Some((name.to_string(), value.to_str().ok()?.to_string()))
        })
        .collect()
}

/// Whether an `If-Match`/`If-None-Match` value names the stored ETag; the
/// quotes are optional, as S3 takes the ETag either way.
fn etag_matches(stored: &str, given: &str) -> bool {
    given.trim().trim_matches('"') == stored.trim_matches('"')
}

/// The record of a call, filled in by the listener once it is answered.
pub(crate) fn request_record(route: &Route, headers: &HeaderMap, body: &Bytes) -> S3Request {
    let put = route.operation == Operation::PutObject;
    let body = put.then(|| {
        let decoded = is_aws_chunked(headers)
            .then(|| chunked::decode(body).ok())
            .flatten();
        match decoded {
            Some(decoded) => String::from_utf8_lossy(&decoded.body).into_owned(),
            None => String::from_utf8_lossy(body).into_owned(),
        }
    });
    S3Request {
        sequence: 0,
        operation: route.operation,
        bucket: route.bucket.clone(),
        key: route.key.clone(),
        parameters: route.parameters.clone(),
        metadata: if put {
            user_metadata(headers).into_iter().collect()
        } else {
            BTreeMap::new()
        },
        body,
        status: 0,
        error_code: None,
        at: String::new(),
    }
}

/// An answer with no body and no `Content-Type`, as S3 sends for a
/// PutObject, a DeleteObject and a 304.
fn empty(status: StatusCode) -> HttpResponse {
    let mut resp = HttpResponse::new(Full::new(Bytes::new()));
    *resp.status_mut() = status;
    resp
}

fn put_object(
    shared: &Shared,
    route: &Route,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<HttpResponse, ApiError> {
    if route.key.len() > MAX_KEY_LEN {
        return Err(
            ApiError::new(400, "KeyTooLongError", "Your key is too long")
                .with_detail("Size", route.key.len().to_string())
                .with_detail("MaxSizeAllowed", MAX_KEY_LEN.to_string()),
        );
    }
    let if_match = header(headers, "if-match");
    let if_none_match = header(headers, "if-none-match");
    // S3's recorded answers: one condition at a time, If-None-Match only as
    // `*`, If-Match only as an ETag.
    match (if_match, if_none_match) {
        (Some(_), Some(_)) => {
            return Err(header_not_implemented(
                "If-Match,If-None-Match",
                Some("Multiple conditional request headers present in the request"),
            ))
        }
        (None, Some(value)) if value.trim() != "*" => {
            return Err(header_not_implemented(
                "If-None-Match",
                Some("We don't accept the provided value of If-None-Match header for this API"),
            ))
        }
        (Some(value), None) if value.trim() == "*" => {
            return Err(header_not_implemented(
                "If-Match",
                Some("We don't accept the provided value of If-Match header for this API"),
            ))
        }
        _ => {}
    }
    let content_md5 = match header(headers, "content-md5") {
        Some(sent) => Some((
            sent,
            decode_content_md5(sent).ok_or_else(|| {
                ApiError::new(
                    400,
                    "InvalidDigest",
                    "The Content-MD5 you specified was invalid.",
                )
                .with_detail("Content-MD5", clip(sent, 100))
            })?,
        )),
        None => None,
    };

    let (data, trailers) = if is_aws_chunked(headers) {
        let decoded = chunked::decode(body).map_err(|why| {
            ApiError::new(
                400,
                "InvalidRequest",
                format!("The aws-chunked request body is malformed: {why}"),
            )
        })?;
        if let Some(declared) = header(headers, "x-amz-decoded-content-length") {
            if declared.trim().parse::<usize>().ok() != Some(decoded.body.len()) {
                return Err(ApiError::new(
                    400,
                    "IncompleteBody",
                    "You did not provide the number of bytes specified by the Content-Length HTTP header",
                ));
            }
        }
        (Bytes::from(decoded.body), decoded.trailers)
    } else {
        (body.clone(), Vec::new())
    };
    if data.len() > MAX_OBJECT_SIZE {
        return Err(too_large(Some(data.len())));
    }

    let checksum = checksum_of(headers, &trailers, &data)?;
    if let Some((sent, expected)) = content_md5 {
        if expected != md5(&data) {
            // S3's recorded answer gives the sent digest in hex, the computed one in base64.
            let sent_hex = base64_decode(sent.trim())
                .map(|bytes| hex(&bytes))
                .unwrap_or_default();
            return Err(ApiError::new(
                400,
                "BadDigest",
                "The Content-MD5 you specified did not match what we received.",
            )
            .with_detail("ExpectedDigest", sent_hex)
            .with_detail("CalculatedDigest", md5_base64(&data)));
        }
    }

    let mut object = StoredObject::new(data, shared.now(), checksum);
    object.content_type = header(headers, CONTENT_TYPE.as_str()).map(str::to_string);
    object.metadata = user_metadata(headers);
    let (etag, algorithm, value) = (
        object.etag.clone(),
        object.checksum_algorithm,
        object.checksum.clone(),
    );
    let size = object.body.len();
    {
        // The condition is checked and the object stored under one lock, so
        // that of two conditional writes racing, one sees the other's object.
        let mut inner = shared.lock();
        let bucket = inner
            .buckets
            .get_mut(&route.bucket)
            .ok_or_else(|| no_such_bucket(&route.bucket))?;
        let existing = bucket.get(&route.key);
        if if_none_match.is_some() && existing.is_some() {
            return Err(precondition_failed("If-None-Match"));
        }
        if let Some(wanted) = if_match {
            // The user guide: If-Match on a key with no object is 404 NoSuchKey
            // (S3's recorded answer names the key).
            let existing = existing.ok_or_else(|| no_such_key(&route.key))?;
            if !etag_matches(&existing.etag, wanted) {
                return Err(precondition_failed("If-Match"));
            }
        }
        bucket.insert(route.key.clone(), object);
    }
    // Debug, not info: a benchmark puts 100,000 objects.
    tracing::debug!(bucket = %route.bucket, key = %route.key, size, condition = route.condition.unwrap_or("-"), "put object");
    let mut resp = empty(StatusCode::OK);
    set_header(&mut resp, "etag", &etag);
    set_object_headers(&mut resp, algorithm, &value);
    Ok(resp)
}

/// Headers S3 sends about a stored object's integrity and encryption: its
/// checksum (with `x-amz-checksum-type`), and SSE-S3, which every bucket
/// applies by default since 2023.
fn set_object_headers(resp: &mut HttpResponse, algorithm: ChecksumAlgorithm, value: &str) {
    set_header(resp, algorithm.header(), value);
    set_header(resp, "x-amz-checksum-type", "FULL_OBJECT");
    set_header(resp, "x-amz-server-side-encryption", "AES256");
}

/// The checksum to verify and keep: one sent as a header or an
/// `aws-chunked` trailer (checked against `data`), or one of the algorithm
/// `x-amz-sdk-checksum-algorithm` names, computed here, or `None` for S3's
/// default.
fn checksum_of(
    headers: &HeaderMap,
    trailers: &[(String, String)],
    data: &[u8],
) -> Result<Option<(ChecksumAlgorithm, String)>, ApiError> {
    let sent: Vec<(ChecksumAlgorithm, &str)> = headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .chain(trailers.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        .filter_map(|(name, value)| Some((ChecksumAlgorithm::from_header(name)?, value)))
        .collect();
    match sent.as_slice() {
        [] => {}
        [(algorithm, value)] => {
            return match algorithm.verify(value, data) {
                Ok(()) => Ok(Some((*algorithm, value.trim().to_string()))),
                Err(ChecksumError::Invalid) => Err(ApiError::new(
                    400,
                    "InvalidRequest",
                    format!("Value for {} header is invalid.", algorithm.header()),
                )),
                Err(ChecksumError::Mismatch) => Err(ApiError::new(
                    400,
                    "BadDigest",
                    format!(
                        "The {} you specified did not match the calculated checksum.",
                        algorithm.name()
                    ),
                )),
            };
        }
        _ => return Err(ApiError::new(
            400,
            "InvalidRequest",
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        )),
    }
    match header(headers, "x-amz-sdk-checksum-algorithm") {
        None => Ok(None),
        Some(name) => match ChecksumAlgorithm::from_name(name) {
            Some(algorithm) => Ok(Some((algorithm, algorithm.compute(data)))),
            None => Err(ApiError::new(
                400,
                "InvalidRequest",
                "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]",
            )),
        },
    }
}

/// GetObject, or HeadObject (`with_body` false): the same headers, and for
/// HeadObject the length a GET would send.
fn get_object(
    shared: &Shared,
    route: &Route,
    headers: &HeaderMap,
    with_body: bool,
) -> Result<HttpResponse, ApiError> {
    let object = shared
        .lock()
        .buckets
        .get(&route.bucket)
        .and_then(|bucket| bucket.get(&route.key))
        .cloned()
        .ok_or_else(|| no_such_key(&route.key))?;
    let not_modified = read_preconditions(&object, headers, shared.now())?;
    let last_modified = format_http_date(object.last_modified);
    if not_modified {
        let mut resp = empty(StatusCode::NOT_MODIFIED);
        set_header(&mut resp, "etag", &object.etag);
        set_header(&mut resp, "last-modified", &last_modified);
        return Ok(resp);
    }
    let size = object.body.len();
    let mut resp = response(
        200,
        DEFAULT_CONTENT_TYPE,
        if with_body {
            object.body.clone()
        } else {
            Bytes::new()
        },
    );
    if let Some(Ok(content_type)) = object.content_type.as_deref().map(HeaderValue::from_str) {
        resp.headers_mut().insert(CONTENT_TYPE, content_type);
    }
    // A HEAD answer has no body but tells the length a GET would send.
    resp.headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(size));
    set_header(&mut resp, "etag", &object.etag);
    set_header(&mut resp, "last-modified", &last_modified);
    set_header(&mut resp, "accept-ranges", "bytes");
    set_header(&mut resp, "x-amz-server-side-encryption", "AES256");
    for (name, value) in &object.metadata {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(format!("x-amz-meta-{name}").as_bytes()),
            HeaderValue::from_str(value),
        ) {
            resp.headers_mut().insert(name, value);
        }
    }
    // The checksum only when asked for, as S3 sends it; the SDKs ask by
    // default and check the body against it.
    if header(headers, "x-amz-checksum-mode").is_some_and(|m| m.eq_ignore_ascii_case("ENABLED")) {
        set_header(
            &mut resp,
            object.checksum_algorithm.header(),
            &object.checksum,
        );
        set_header(&mut resp, "x-amz-checksum-type", "FULL_OBJECT");
    }
    Ok(resp)
}

/// The conditions of a read (GetObject's and HeadObject's `If-Match`,
/// `If-Unmodified-Since`, `If-None-Match`, `If-Modified-Since`): `Err` 412
/// when the object is not the one asked for, `Ok(true)` for a 304. As the API
/// reference puts it, a true `If-Match` overrides a false
/// `If-Unmodified-Since`; a false `If-None-Match` or a true
/// `If-Modified-Since` is then a 304 (RFC 9110 section 13.2.2's order).
fn read_preconditions(
    object: &StoredObject,
    headers: &HeaderMap,
    now: std::time::SystemTime,
) -> Result<bool, ApiError> {
    let date = |name: &str| header(headers, name).and_then(parse_http_date);
    if let Some(wanted) = header(headers, "if-match") {
        if wanted.trim() != "*" && !etag_matches(&object.etag, wanted) {
            return Err(precondition_failed("If-Match"));
        }
    } else if let Some(since) = date("if-unmodified-since") {
        if object.last_modified > since {
            return Err(precondition_failed("If-Unmodified-Since"));
        }
    }
    if let Some(tags) = header(headers, "if-none-match") {
        return Ok(tags.trim() == "*" || tags.split(',').any(|t| etag_matches(&object.etag, t)));
    }
    // A date in the future is ignored, as HTTP says.
    Ok(
        date("if-modified-since")
            .is_some_and(|since| since <= now && object.last_modified <= since),
    )
}

fn delete_object(
    shared: &Shared,
    route: &Route,
    headers: &HeaderMap,
) -> Result<HttpResponse, ApiError> {
    // Directory buckets' conditions; S3's recorded answer for a general
    // purpose bucket.
    for directory_only in ["x-amz-if-match-last-modified-time", "x-amz-if-match-size"] {
        if headers.contains_key(directory_only) {
            return Err(header_not_implemented(directory_only, None));
        }
    }
    let mut inner = shared.lock();
    let bucket = inner
        .buckets
        .get_mut(&route.bucket)
        .ok_or_else(|| no_such_bucket(&route.bucket))?;
    // Conditional deletes (user guide): `If-Match: *` asks that the object
    // exist, an ETag that it be that one; no object is 404.
    if let Some(wanted) = header(headers, "if-match") {
        let existing = bucket
            .get(&route.key)
            .ok_or_else(|| no_such_key(&route.key))?;
        if wanted.trim() != "*" && !etag_matches(&existing.etag, wanted) {
            return Err(precondition_failed("If-Match"));
        }
    }
    // Deleting a key that holds nothing succeeds too, as S3's does in a
    // bucket without versioning.
    let existed = bucket.remove(&route.key).is_some();
    drop(inner);
    tracing::debug!(bucket = %route.bucket, key = %route.key, existed, "delete object");
    Ok(empty(StatusCode::NO_CONTENT))
}

/// A continuation token: opaque to clients, as S3's are, and telling where
/// the next page starts.
fn continuation_token(next_key: &str) -> String {
    let mut bytes = vec![0u8];
    bytes.extend_from_slice(next_key.as_bytes());
    base64_encode(&bytes)
}

/// The key a [`continuation_token`] starts at; `None` for anything else.
fn token_key(token: &str) -> Option<String> {
    let bytes = base64_decode(token)?;
    let key = bytes.strip_prefix(&[0u8])?;
    String::from_utf8(key.to_vec()).ok()
}

fn list_objects_v2(shared: &Shared, route: &Route) -> Result<HttpResponse, ApiError> {
    let parameter = |name: &str| route.parameters.get(name).map(String::as_str);
    let url_encoded = match parameter("encoding-type") {
        None => false,
        Some("url") => true,
        Some(other) => {
            return Err(invalid_argument(
                "Invalid Encoding Method specified in Request",
                "encoding-type",
                other,
            ))
        }
    };
    let max_keys = match parameter("max-keys") {
        None => MAX_KEYS,
        Some(text) => text
            .parse::<i32>()
            .ok()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                invalid_argument(
                    "Provided max-keys not an integer or within integer range",
                    "max-keys",
                    text,
                )
            })?,
    };
    let token = parameter("continuation-token");
    let token_start = match token {
        Some(token) => Some(token_key(token).ok_or_else(|| {
            invalid_argument(
                "The continuation token provided is incorrect",
                "continuation-token",
                token,
            )
        })?),
        None => None,
    };
    let start_after = parameter("start-after").filter(|s| !s.is_empty());
    let prefix = parameter("prefix").unwrap_or("");
    let delimiter = parameter("delimiter").filter(|d| !d.is_empty());
    let query = listing::Query {
        prefix,
        delimiter,
        start: match (&token_start, start_after) {
            (Some(key), _) => Start::At(key),
            (None, Some(after)) => Start::After(after),
            (None, None) => Start::Beginning,
        },
        max_keys: max_keys.min(MAX_KEYS),
    };

    let inner = shared.lock();
    let bucket = inner
        .buckets
        .get(&route.bucket)
        .ok_or_else(|| no_such_bucket(&route.bucket))?;
    let page = listing::page(bucket, &query);
    let wire = |text: &'_ str| -> String {
        if url_encoded {
            s3_url_encode(text)
        } else {
            text.to_string()
        }
    };
    let keys: Vec<Cow<'_, str>> = page
        .contents
        .iter()
        .map(|(key, _)| {
            if url_encoded {
                Cow::Owned(s3_url_encode(key))
            } else {
                Cow::Borrowed(*key)
            }
        })
        .collect();
    // Objects put in the same second share their date: format it once.
    let mut dates: Vec<Rc<str>> = Vec::with_capacity(page.contents.len());
    let mut previous: Option<(std::time::SystemTime, Rc<str>)> = None;
    for (_, object) in &page.contents {
        let date = match &previous {
            Some((time, text)) if *time == object.last_modified => text.clone(),
            _ => Rc::from(format_timestamp(object.last_modified)),
        };
        previous = Some((object.last_modified, date.clone()));
        dates.push(date);
    }
    let common_prefixes: Vec<String> = page.common_prefixes.iter().map(|p| wire(p)).collect();
    let (prefix, delimiter) = (wire(prefix), delimiter.map(wire));
    // StartAfter is echoed unless a continuation token took its place.
    let start_after = start_after.filter(|_| token.is_none()).map(wire);
    let next_token = page.next.map(continuation_token);
    let body = xml::list_bucket_result(&xml::ListBucketResult {
        name: &route.bucket,
        prefix: &prefix,
        start_after: start_after.as_deref(),
        continuation_token: token,
        next_continuation_token: next_token.as_deref(),
        key_count: page.len(),
        max_keys,
        delimiter: delimiter.as_deref(),
        encoding_type: url_encoded.then_some("url"),
        is_truncated: page.next.is_some(),
        contents: page
            .contents
            .iter()
            .zip(keys.iter().zip(&dates))
            .map(|((_, object), (key, date))| xml::ListedObject {
                key,
                last_modified: date,
                etag: &object.etag,
                checksum_algorithm: object.checksum_algorithm.name(),
                size: object.body.len() as u64,
            })
            .collect(),
        common_prefixes: common_prefixes.iter().map(String::as_str).collect(),
    });
    Ok(response(200, "application/xml", body))
}

/// The error document and headers S3 answers with. (The listener drops the
/// body of any `HEAD` answer, so clients read a HeadObject error's status
/// alone, as S3 sends it: the SDKs' `NotFound`.)
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

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn op(method: &str, path: &str, query: Option<&str>) -> Result<Operation, ApiError> {
        route(method, path, query, &HeaderMap::new()).map(|r| r.operation)
    }

    #[test]
    fn routes_the_five_operations_path_style() {
        let r = route(
            "GET",
            "/bkt/a/b%20c%2Bd.zip",
            Some("x-id=GetObject"),
            &HeaderMap::new(),
        )
        .unwrap();
        assert_eq!(
            (r.operation, r.bucket.as_str(), r.key.as_str()),
            (Operation::GetObject, "bkt", "a/b c+d.zip")
        );
        assert!(r.parameters.is_empty());
        assert_eq!(op("HEAD", "/bkt/k", None).unwrap(), Operation::HeadObject);
        assert_eq!(
            op("PUT", "/bkt/k", Some("x-id=PutObject")).unwrap(),
            Operation::PutObject
        );
        assert_eq!(
            op("DELETE", "/bkt/k", None).unwrap(),
            Operation::DeleteObject
        );
        let list = route(
            "GET",
            "/bkt",
            Some("list-type=2&prefix=a%2Fb+c&max-keys=5&prefix=second"),
            &HeaderMap::new(),
        )
        .unwrap();
        assert_eq!(list.operation, Operation::ListObjectsV2);
        assert_eq!(list.key, "");
        // A parameter sent twice counts once, as first given.
        assert_eq!(list.parameters["prefix"], "a/b c");
        assert_eq!(
            op("GET", "/bkt/", Some("list-type=2")).unwrap(),
            Operation::ListObjectsV2
        );
    }

    #[test]
    fn other_s3_calls_are_not_implemented() {
        let copy = route(
            "PUT",
            "/bkt/k",
            None,
            &headers(&[("x-amz-copy-source", "/o/k")]),
        );
        for (what, result) in [
            ("ListBuckets", op("GET", "/", None)),
            ("ListObjects v1", op("GET", "/bkt", None)),
            ("list-type=1", op("GET", "/bkt", Some("list-type=1"))),
            ("CreateBucket", op("PUT", "/bkt", None)),
            ("HeadBucket", op("HEAD", "/bkt", None)),
            ("POST", op("POST", "/bkt/k", None)),
            ("acl", op("GET", "/bkt/k", Some("acl"))),
            ("versionId", op("GET", "/bkt/k", Some("versionId=3"))),
            ("uploads", op("POST", "/bkt/k", Some("uploads"))),
            (
                "unknown list parameter",
                op("GET", "/bkt", Some("list-type=2&marker=a")),
            ),
            ("CopyObject", copy.map(|r| r.operation)),
        ] {
            let err = result.unwrap_err();
            assert_eq!(
                (err.status, err.code.as_ref()),
                (501, "NotImplemented"),
                "{what}"
            );
        }
    }

    #[test]
    fn conditions_a_conflict_can_defeat() {
        let condition = |method, pairs: &[(&'static str, &str)]| {
            route(method, "/b/k", None, &headers(pairs))
                .unwrap()
                .condition
        };
        assert_eq!(
            condition("PUT", &[("if-none-match", "*")]),
            Some("If-None-Match")
        );
        assert_eq!(condition("PUT", &[("if-match", "\"e\"")]), Some("If-Match"));
        assert_eq!(condition("DELETE", &[("if-match", "*")]), Some("If-Match"));
        assert_eq!(condition("PUT", &[]), None);
        assert_eq!(condition("GET", &[("if-match", "\"e\"")]), None);
        let r = route("PUT", "/b/k", None, &headers(&[("if-match", "\"e\"")])).unwrap();
        let err = conflict(&r).unwrap();
        assert_eq!(
            (err.status, err.code.as_ref()),
            (409, "ConditionalRequestConflict")
        );
        assert_eq!(
            err.details,
            [
                ("Condition", "If-Match".to_string()),
                ("Key", "k".to_string())
            ]
        );
    }

    #[test]
    fn continuation_tokens_round_trip_and_refuse_strangers() {
        for key in ["", "a", "dir/a b+c/é.html"] {
            assert_eq!(token_key(&continuation_token(key)).as_deref(), Some(key));
        }
        assert_ne!(continuation_token("a"), base64_encode(b"a"));
        for bad in [
            "",
            "not base64!",
            &base64_encode(b"a"),
            &base64_encode(&[0, 0xff]),
        ] {
            assert_eq!(token_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn reads_checksums_from_headers_trailers_or_the_algorithm_named() {
        let data = b"test";
        let sent =
            checksum_of(&headers(&[("x-amz-checksum-crc32", "2H9+DA==")]), &[], data).unwrap();
        assert_eq!(
            sent,
            Some((ChecksumAlgorithm::Crc32, "2H9+DA==".to_string()))
        );
        let trailer = [("x-amz-checksum-crc32".to_string(), "2H9+DA==".to_string())];
        assert_eq!(
            checksum_of(&HeaderMap::new(), &trailer, data).unwrap(),
            sent
        );
        let named = checksum_of(
            &headers(&[("x-amz-sdk-checksum-algorithm", "sha256")]),
            &[],
            data,
        )
        .unwrap()
        .unwrap();
        assert_eq!(named.0, ChecksumAlgorithm::Sha256);
        assert_eq!(checksum_of(&HeaderMap::new(), &[], data).unwrap(), None);

        let err =
            |h: &[(&'static str, &str)]| checksum_of(&headers(h), &trailer, data).unwrap_err();
        let wrong =
            checksum_of(&headers(&[("x-amz-checksum-crc32", "AAAAAA==")]), &[], data).unwrap_err();
        assert_eq!(
            (wrong.code.as_ref(), wrong.message.as_str()),
            (
                "BadDigest",
                "The CRC32 you specified did not match the calculated checksum."
            )
        );
        let invalid =
            checksum_of(&headers(&[("x-amz-checksum-sha1", "nope")]), &[], data).unwrap_err();
        assert_eq!(
            (invalid.code.as_ref(), invalid.message.as_str()),
            (
                "InvalidRequest",
                "Value for x-amz-checksum-sha1 header is invalid."
            )
        );
        assert!(err(&[("x-amz-checksum-crc32c", "AAAAAA==")])
            .message
            .starts_with("Expecting a single x-amz-checksum- header"));
        let unknown = checksum_of(
            &headers(&[("x-amz-sdk-checksum-algorithm", "MD5")]),
            &[],
            data,
        )
        .unwrap_err();
        assert_eq!(unknown.code, "InvalidRequest");
    }

    #[test]
    fn etags_match_with_or_without_quotes() {
        assert!(etag_matches("\"abc\"", "\"abc\""));
        assert!(etag_matches("\"abc\"", "abc"));
        assert!(!etag_matches("\"abc\"", "\"abd\""));
    }
}
