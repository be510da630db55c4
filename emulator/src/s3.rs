//! S3's object operations — GetObject, HeadObject, PutObject — enough for a
//! function to read a CodePipeline input artifact and for a test to put one:
//! path-style and virtual-hosted addressing, the access-key gate, the
//! `aws-chunked` upload encoding, ranges, and S3's own error document.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_LENGTH};

use crate::config::Operation;
use crate::error::ApiError;
use crate::http::{response, set_header, HttpResponse};
use crate::state::{Shared, StoredObject};
use crate::wire::{clip, format_http_date, parse_query, percent_decode};
use crate::xml;

/// Longest key S3 accepts, in bytes of UTF-8.
pub const MAX_KEY_LEN: usize = 1024;
/// Largest object the emulator stores; S3 allows 5 GB in one `PutObject`,
/// but the emulator keeps everything in memory.
pub const MAX_OBJECT_SIZE: usize = 256 * 1024 * 1024;
/// Largest request body read for S3: an object of [`MAX_OBJECT_SIZE`] plus
/// its `aws-chunked` framing.
pub(crate) const MAX_BODY: usize = MAX_OBJECT_SIZE + 1024 * 1024;
/// `Content-Type` of an object stored without one, as S3 defaults it.
pub const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// What a SigV4 credential scope says: who signed, for which service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Credential {
    pub access_key_id: String,
    /// `s3`, `cloudfront`…; `None` for a signature without a scope (SigV2).
    pub service: Option<String>,
}

/// The credential a request was signed with: from the `Authorization`
/// header (`AWS4-HMAC-SHA256 Credential=AKID/20261126/us-east-1/s3/aws4_request, …`,
/// SigV4a's scope has no region, SigV2's `AWS AKID:signature` no scope) or,
/// for a presigned URL, from `X-Amz-Credential` in the query.
pub(crate) fn credential(headers: &HeaderMap, query: Option<&str>) -> Option<Credential> {
    let scope = match headers.get(hyper::header::AUTHORIZATION) {
        Some(value) => {
            let value = value.to_str().ok()?;
            if let Some(v2) = value.strip_prefix("AWS ") {
                let (akid, _) = v2.split_once(':')?;
                return Some(Credential {
                    access_key_id: akid.trim().to_string(),
                    service: None,
                });
            }
            let start = value.find("Credential=")? + "Credential=".len();
            value[start..]
                .split([',', ' '])
                .next()
                .unwrap_or_default()
                .to_string()
        }
        None => {
            parse_query(query.unwrap_or(""))
                .into_iter()
                .find(|(k, _)| k == "X-Amz-Credential")?
                .1
        }
    };
    let parts: Vec<&str> = scope.split('/').collect();
    // AKID/date/region/service/aws4_request (SigV4) or AKID/date/service/aws4_request (SigV4a).
    let service = match parts.as_slice() {
        [_, _, _, service, "aws4_request"] | [_, _, service, "aws4_request"] => *service,
        _ => return None,
    };
    Some(Credential {
        access_key_id: parts[0].to_string(),
        service: Some(service.to_string()),
    })
}

/// A recognised S3 object request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub operation: Operation,
    pub bucket: String,
    /// Decoded; never empty.
    pub key: String,
}

/// Finds bucket and key. Path-style (`/bucket/key`) unless the `Host` header
/// names the bucket in front of an IP address, `localhost` or an S3 host
/// name (`bucket.127.0.0.1:4566`, `bucket.localhost:4566`), which is how a
/// client that does virtual-hosted addressing against a custom endpoint
/// sends it. `Err` carries the error for a request that is S3's but not an
/// emulated operation (bucket operations, subresources such as `?acl`).
pub(crate) fn route(
    method: &str,
    path: &str,
    query: Option<&str>,
    host: &str,
) -> Result<Route, ApiError> {
    let raw = path.strip_prefix('/').unwrap_or(path);
    let (bucket, raw_key) = match virtual_host_bucket(host) {
        Some(bucket) => (bucket, raw),
        None => {
            let (bucket, key) = raw.split_once('/').unwrap_or((raw, ""));
            (percent_decode(bucket), key)
        }
    };
    // Keys keep `/` and every other byte; only the escapes are undone (`+`
    // is itself in a path).
    let key = percent_decode(raw_key);
    let operation = match method {
        "GET" => Operation::GetObject,
        "HEAD" => Operation::HeadObject,
        "PUT" => Operation::PutObject,
        _ => return Err(not_implemented(method, path)),
    };
    if bucket.is_empty() || key.is_empty() {
        return Err(not_implemented(method, path));
    }
    for (name, _) in parse_query(query.unwrap_or("")) {
        // `x-id` is the Rust SDK's operation marker, `response-*` override
        // answer headers (accepted, not applied), `X-Amz-*` carry a
        // presigned URL's signature; anything else is a subresource or
        // version the emulator lacks.
        let known = name == "x-id" || name.starts_with("response-") || name.starts_with("X-Amz-");
        if !known {
            return Err(not_implemented(method, path).with_detail("Subresource", name));
        }
    }
    Ok(Route {
        operation,
        bucket,
        key,
    })
}

/// The bucket named in front of the endpoint's host, if the request is
/// virtual-hosted.
fn virtual_host_bucket(host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    // Drop the port; an IPv6 literal (`[::1]:4566`) is never virtual-hosted.
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host.as_str(),
    };
    if name.starts_with('[') || is_endpoint_host(name) {
        return None;
    }
    // The first dot after which the rest is an endpoint host; bucket names
    // may themselves contain dots.
    name.match_indices('.')
        .map(|(i, _)| (&name[..i], &name[i + 1..]))
        .find(|(bucket, rest)| !bucket.is_empty() && is_endpoint_host(rest))
        .map(|(bucket, _)| bucket.to_string())
}

/// Whether `name` is a host an endpoint URL would name: an IPv4 address,
/// `localhost`, or an S3 service host (`s3.amazonaws.com`,
/// `s3.us-east-1.amazonaws.com`, `s3-us-west-2.amazonaws.com`).
fn is_endpoint_host(name: &str) -> bool {
    name == "localhost"
        || name.parse::<std::net::Ipv4Addr>().is_ok()
        || ((name.starts_with("s3.") || name.starts_with("s3-"))
            && name.ends_with(".amazonaws.com"))
}

fn not_implemented(method: &str, path: &str) -> ApiError {
    ApiError::new(
        501,
        "NotImplemented",
        format!(
            "A header or query you provided implies functionality that is not implemented: the emulator serves S3 GetObject, HeadObject and PutObject only, not {method} {}",
            clip(path, 200)
        ),
    )
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Runs one S3 call against the state. Nothing is changed unless it succeeds.
pub(crate) fn handle(
    shared: &Shared,
    route: &Route,
    headers: &HeaderMap,
    credential: Option<&Credential>,
    body: Bytes,
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
    if !shared.lock().buckets.contains(&route.bucket) {
        return Err(
            ApiError::new(404, "NoSuchBucket", "The specified bucket does not exist")
                .with_detail("BucketName", route.bucket.clone()),
        );
    }
    match route.operation {
        Operation::PutObject => put(shared, route, headers, body),
        Operation::HeadObject => get(shared, route, headers, false),
        _ => get(shared, route, headers, true),
    }
}

/// S3's answer to an unsigned request for a private bucket, and to a signer
/// the bucket does not open to.
pub(crate) fn access_denied() -> ApiError {
    ApiError::new(403, "AccessDenied", "Access Denied")
}

fn put(
    shared: &Shared,
    route: &Route,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    if route.key.len() > MAX_KEY_LEN {
        return Err(ApiError::new(
            400,
            "KeyTooLongError",
            "Your key is too long",
        ));
    }
    let encoding = header(headers, "content-encoding").unwrap_or("");
    let chunked = encoding
        .split(',')
        .any(|e| e.trim().eq_ignore_ascii_case("aws-chunked"))
        || header(headers, "x-amz-content-sha256").is_some_and(|v| v.starts_with("STREAMING-"));
    let body = if chunked {
        let decoded = decode_aws_chunked(&body).map_err(|why| {
            ApiError::new(
                400,
                "InvalidRequest",
                format!("The aws-chunked request body is malformed: {why}"),
            )
        })?;
        if let Some(declared) = header(headers, "x-amz-decoded-content-length") {
            if declared.trim().parse::<usize>().ok() != Some(decoded.len()) {
                return Err(ApiError::new(
                    400,
                    "IncompleteBody",
                    format!(
                        "The request body holds {} bytes, not the {} that x-amz-decoded-content-length declares",
                        decoded.len(),
                        clip(declared, 40)
                    ),
                ));
            }
        }
        Bytes::from(decoded)
    } else {
        body
    };
    if body.len() > MAX_OBJECT_SIZE {
        return Err(too_large());
    }
    let content_encoding: Vec<&str> = encoding
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("aws-chunked"))
        .collect();
    let metadata = headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("x-amz-meta-"))
        .filter_map(|(name, value)| {
            Some((name.as_str().to_string(), value.to_str().ok()?.to_string()))
        })
        .collect();
    let object = StoredObject::new(
        body,
        header(headers, "content-type").map(str::to_string),
        (!content_encoding.is_empty()).then(|| content_encoding.join(", ")),
        metadata,
        shared.now(),
    );
    let etag = object.etag.clone();
    let size = object.body.len();
    shared
        .lock()
        .objects
        .insert((route.bucket.clone(), route.key.clone()), object);
    tracing::info!(bucket = %route.bucket, key = %route.key, size, chunked, "put object");
    // No body and no Content-Type, as S3 answers a PutObject.
    let mut resp = HttpResponse::new(Full::new(Bytes::new()));
    set_header(&mut resp, "etag", &etag);
    Ok(resp)
}

/// S3's answer to a body over the size it takes.
pub(crate) fn too_large() -> ApiError {
    ApiError::new(
        400,
        "EntityTooLarge",
        format!(
            "Your proposed upload exceeds the maximum allowed object size ({MAX_OBJECT_SIZE} bytes in the emulator)"
        ),
    )
}

fn get(
    shared: &Shared,
    route: &Route,
    headers: &HeaderMap,
    with_body: bool,
) -> Result<HttpResponse, ApiError> {
    let object = shared
        .lock()
        .objects
        .get(&(route.bucket.clone(), route.key.clone()))
        .cloned()
        .ok_or_else(|| {
            ApiError::new(404, "NoSuchKey", "The specified key does not exist.")
                .with_detail("Key", route.key.clone())
        })?;
    let size = object.body.len();
    let range = match header(headers, "range") {
        Some(spec) => parse_range(spec, size)?,
        None => None,
    };
    let (status, part) = match range {
        Some((first, last)) => (206, object.body.slice(first..=last)),
        None => (200, object.body.clone()),
    };
    let length = part.len();
    let content_type = object
        .content_type
        .as_deref()
        .unwrap_or(DEFAULT_CONTENT_TYPE);
    let mut resp = response(
        status,
        "application/octet-stream",
        if with_body { part } else { Bytes::new() },
    );
    if let Ok(value) = HeaderValue::from_str(content_type) {
        resp.headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    // A HEAD answer has no body but tells the length a GET would send.
    resp.headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(length));
    set_header(&mut resp, "etag", &object.etag);
    set_header(
        &mut resp,
        "last-modified",
        &format_http_date(object.last_modified),
    );
    set_header(&mut resp, "accept-ranges", "bytes");
    if let Some((first, last)) = range {
        set_header(
            &mut resp,
            "content-range",
            &format!("bytes {first}-{last}/{size}"),
        );
    }
    if let Some(encoding) = &object.content_encoding {
        set_header(&mut resp, "content-encoding", encoding);
    }
    for (name, value) in &object.metadata {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            resp.headers_mut().insert(name, value);
        }
    }
    Ok(resp)
}

/// One `bytes=` range of an object of `size` bytes, as inclusive offsets.
/// S3 ignores a header it cannot read (and several ranges), answering with
/// the whole object; a range that starts past the end is `InvalidRange`.
fn parse_range(spec: &str, size: usize) -> Result<Option<(usize, usize)>, ApiError> {
    let Some(spec) = spec.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (first, last) = (first.trim(), last.trim());
    let parsed = match (first.parse::<usize>(), last.parse::<usize>()) {
        // `bytes=-N`: the last N bytes.
        (Err(_), Ok(n)) if first.is_empty() => {
            if n == 0 {
                None
            } else {
                Some((size.saturating_sub(n), size.checked_sub(1)))
            }
        }
        (Ok(a), Err(_)) if last.is_empty() => Some((a, size.checked_sub(1))),
        (Ok(a), Ok(b)) if a <= b => Some((a, Some(b.min(size.saturating_sub(1))))),
        _ => return Ok(None),
    };
    match parsed {
        Some((first, Some(last))) if first < size => Ok(Some((first, last))),
        _ => Err(ApiError::new(
            416,
            "InvalidRange",
            "The requested range is not satisfiable",
        )
        .with_detail("RangeRequested", format!("bytes={spec}"))
        .with_detail("ActualObjectSize", size.to_string())),
    }
}

/// Undoes `Content-Encoding: aws-chunked`: chunks of `hex-size[;extensions]\r\n`
/// (the extension is `chunk-signature=…` when the SDK signs each chunk, as
/// the Rust SDK does over plain HTTP), data and `\r\n`; a zero-size chunk;
/// then trailers (`x-amz-checksum-crc32:…`, `x-amz-trailer-signature:…`),
/// one a line, and an empty line. Trailers and signatures are read past, not
/// checked: the emulator verifies no signature or checksum.
pub(crate) fn decode_aws_chunked(body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    loop {
        let (line, after) = split_line(rest).ok_or("a chunk header has no CRLF")?;
        let size_text = line.split(|b| *b == b';').next().unwrap_or_default();
        let size_text = std::str::from_utf8(size_text)
            .map_err(|_| "a chunk size is not text".to_string())?
            .trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size `{}`", clip(size_text, 20)))?;
        rest = after;
        if size == 0 {
            break;
        }
        if rest.len() < size + 2 || &rest[size..size + 2] != b"\r\n" {
            return Err(format!("a chunk of {size} bytes is cut short"));
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
    // Trailers, up to an empty line (or the end, for a sender that leaves
    // the last CRLF out).
    while let Some((line, after)) = split_line(rest) {
        rest = after;
        if line.is_empty() {
            break;
        }
        if !line.contains(&b':') {
            return Err("a trailer has no `:`".into());
        }
    }
    Ok(out)
}

/// The bytes before the first CRLF, and those after it.
fn split_line(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = data.windows(2).position(|w| w == b"\r\n")?;
    Some((&data[..at], &data[at + 2..]))
}

/// The error document and headers S3 answers with. (The listener drops the
/// body of any `HEAD` answer, so clients read a `HeadObject` error's status
/// alone: the SDKs' `NotFound`.)
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

    fn auth(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            hyper::header::AUTHORIZATION,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn reads_the_credential_scope() {
        let v4 = credential(
            &auth("AWS4-HMAC-SHA256 Credential=ASIAART/20261126/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=ab"),
            None,
        )
        .unwrap();
        assert_eq!(v4.access_key_id, "ASIAART");
        assert_eq!(v4.service.as_deref(), Some("s3"));
        let v4a = credential(
            &auth("AWS4-ECDSA-P256-SHA256 Credential=AKID/20261126/s3/aws4_request,SignedHeaders=host,Signature=ab"),
            None,
        )
        .unwrap();
        assert_eq!(v4a.service.as_deref(), Some("s3"));
        let v2 = credential(&auth("AWS AKID:c2ln"), None).unwrap();
        assert_eq!((v2.access_key_id.as_str(), v2.service), ("AKID", None));
        let presigned = credential(
            &HeaderMap::new(),
            Some("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20261126%2Fus-east-1%2Fs3%2Faws4_request"),
        )
        .unwrap();
        assert_eq!(presigned.service.as_deref(), Some("s3"));
        assert!(credential(&HeaderMap::new(), None).is_none());
        assert!(credential(&auth("Bearer x"), None).is_none());
    }

    #[test]
    fn routes_path_style_and_virtual_hosted() {
        let r = route(
            "GET",
            "/bkt/a/b%20c%2Bd.zip",
            Some("x-id=GetObject"),
            "127.0.0.1:4566",
        )
        .unwrap();
        assert_eq!(
            r,
            Route {
                operation: Operation::GetObject,
                bucket: "bkt".into(),
                key: "a/b c+d.zip".into()
            }
        );
        for host in [
            "bkt.127.0.0.1:4566",
            "bkt.localhost:4566",
            "bkt.s3.us-east-1.amazonaws.com",
        ] {
            let r = route("HEAD", "/a/b", None, host).unwrap();
            assert_eq!(
                (r.bucket.as_str(), r.key.as_str()),
                ("bkt", "a/b"),
                "{host}"
            );
            assert_eq!(r.operation, Operation::HeadObject);
        }
        let dotted = route("PUT", "/k", None, "my.bkt.localhost").unwrap();
        assert_eq!(dotted.bucket, "my.bkt");
        assert_eq!(
            route("PUT", "/b/k", None, "localhost:1").unwrap().bucket,
            "b"
        );
        assert_eq!(
            route("PUT", "/b/k", None, "emulator:4566").unwrap().bucket,
            "b"
        );
        for (method, path, query) in [
            ("GET", "/", None),
            ("GET", "/bkt", None),
            ("GET", "/bkt/", Some("list-type=2")),
            ("DELETE", "/bkt/k", None),
            ("GET", "/bkt/k", Some("acl")),
            ("GET", "/bkt/k", Some("versionId=3")),
        ] {
            let err = route(method, path, query, "127.0.0.1").unwrap_err();
            assert_eq!(
                (err.status, err.code.as_ref()),
                (501, "NotImplemented"),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn decodes_aws_chunked_bodies() {
        let unsigned = b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
        assert_eq!(decode_aws_chunked(unsigned).unwrap(), b"hello world");
        let sig = "0".repeat(64);
        let signed = format!(
            "3;chunk-signature={sig}\r\nabc\r\n0;chunk-signature={sig}\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-trailer-signature:{sig}\r\n\r\n"
        );
        assert_eq!(decode_aws_chunked(signed.as_bytes()).unwrap(), b"abc");
        assert_eq!(decode_aws_chunked(b"0\r\n\r\n").unwrap(), b"");
        assert_eq!(decode_aws_chunked(b"2\r\n\r\n\r\n0\r\n").unwrap(), b"\r\n");
        assert!(decode_aws_chunked(b"5\r\nhel").is_err());
        assert!(decode_aws_chunked(b"zz\r\nhello\r\n0\r\n\r\n").is_err());
        assert!(decode_aws_chunked(b"hello").is_err());
    }

    #[test]
    fn reads_ranges() {
        assert_eq!(parse_range("bytes=0-3", 10).unwrap(), Some((0, 3)));
        assert_eq!(parse_range("bytes=4-", 10).unwrap(), Some((4, 9)));
        assert_eq!(parse_range("bytes=-3", 10).unwrap(), Some((7, 9)));
        assert_eq!(parse_range("bytes=-30", 10).unwrap(), Some((0, 9)));
        assert_eq!(parse_range("bytes=5-100", 10).unwrap(), Some((5, 9)));
        assert_eq!(parse_range("bytes=0-1,4-5", 10).unwrap(), None);
        assert_eq!(parse_range("items=0-1", 10).unwrap(), None);
        assert_eq!(parse_range("bytes=5-2", 10).unwrap(), None);
        assert_eq!(parse_range("bytes=10-", 10).unwrap_err().status, 416);
        assert_eq!(parse_range("bytes=0-", 0).unwrap_err().code, "InvalidRange");
    }
}
