//! How values are spelled on the wire, shared by every protocol: percent
//! escapes in paths and query strings, the two date forms, S3's `ETag`
//! digest, and shortening of values echoed in messages. Libraries do the
//! decoding (`percent-encoding`), the dates (`chrono`) and the digest
//! (`md-5`).

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat, Utc};
use md5::{Digest, Md5};

/// Shortens a value echoed in an error message to `max` characters: a 4000-character path or a
/// 5000-character message need not come back whole.
pub(crate) fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut clipped: String = text.chars().take(max).collect();
        clipped.push_str("...");
        clipped
    }
}

/// Decodes `%XX` escapes in a path segment (`+` is itself there); a
/// malformed escape is kept as it is, and bytes that are not UTF-8 become
/// U+FFFD.
pub(crate) fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Splits a query string into decoded pairs; in a query a `+` is a space
/// (an escaped one, `%2B`, stays a `+`).
pub(crate) fn parse_query(query: &str) -> Vec<(String, String)> {
    let decode = |s: &str| percent_decode(&s.replace('+', " "));
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// `t` in UTC, to the millisecond (the precision CloudFront and the JSON
/// protocols report).
fn utc(t: SystemTime) -> DateTime<Utc> {
    let millis = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
    DateTime::from_timestamp_millis(i64::try_from(millis).unwrap_or(i64::MAX)).unwrap_or_default()
}

/// Formats a time as RFC 3339 in UTC with milliseconds, the form CloudFront
/// uses for `CreateTime` (e.g. `2024-03-01T09:00:00.123Z`).
pub fn format_timestamp(t: SystemTime) -> String {
    utc(t).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Formats a time as an HTTP date (RFC 9110 IMF-fixdate, e.g.
/// `Fri, 01 Mar 2024 09:00:00 GMT`), the form of S3's `Last-Modified`.
pub(crate) fn format_http_date(t: SystemTime) -> String {
    utc(t).format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// The hex MD5 of `data`: S3's `ETag` of an object put in one piece, which
/// tools such as `aws s3 sync` compare with a local file's. Not for anything
/// that needs a secure hash.
pub(crate) fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_timestamps() {
        assert_eq!(format_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_709_283_600_123);
        assert_eq!(format_timestamp(t), "2024-03-01T09:00:00.123Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(format_timestamp(leap), "2000-02-29T00:00:00.000Z");
        assert_eq!(
            format_http_date(UNIX_EPOCH),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
        assert_eq!(format_http_date(t), "Fri, 01 Mar 2024 09:00:00 GMT");
        assert_eq!(format_http_date(leap), "Tue, 29 Feb 2000 00:00:00 GMT");
    }

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("a%3Ab%3ac"), "a:b:c");
        assert_eq!(percent_decode("%24LATEST"), "$LATEST");
        assert_eq!(percent_decode("a+b"), "a+b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("caf%C3%A9"), "café");
        assert_eq!(
            parse_query("a=1%2B2+3&x-id=GetObject&flag"),
            [
                ("a".to_string(), "1+2 3".to_string()),
                ("x-id".to_string(), "GetObject".to_string()),
                ("flag".to_string(), String::new()),
            ]
        );
    }

    #[test]
    fn digests_match_rfc_1321() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            md5_hex(b"The quick brown fox jumps over the lazy dog"),
            "9e107d9d372bb6826bd81d3542a419d6"
        );
    }

    #[test]
    fn clips_long_values() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("ééééé", 2), "éé...");
    }
}
