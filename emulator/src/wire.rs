//! How values are spelled on the wire, shared by every protocol: percent
//! escapes in paths and query strings, S3's URL encoding of listed keys, the
//! two date forms, and shortening of values echoed in messages. Libraries do
//! the decoding (`percent-encoding`) and the dates (`chrono`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat, Utc};

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

/// How ListObjectsV2 writes a key (and a prefix, delimiter or start-after)
/// when asked for `encoding-type=url`: a space as `+`, `/` and the characters
/// `A-Z a-z 0-9 - _ . *` as they are, every other byte of the UTF-8 as `%XX`.
/// Observed on S3: `a b.txt` as `a+b.txt`, `a+b.txt` as `a%2Bb.txt`,
/// `한글/x.txt` as `%ED%95%9C%EA%B8%80/x.txt` (github.com/brekkylab/backlot
/// issue 178, measured 2026-09-14; github.com/versity/versitygw issue 2169),
/// `date=2026-03-01/` as `date%3D2026-03-01/` (LocalStack's AWS-validated
/// `test_list_objects_v2_continuation_token_safe_chars`), `test_file(3).png`
/// as `test_file%283%29.png` (the SDKs' `EncodingType` documentation). boto3
/// decodes it with `unquote_plus`.
pub(crate) fn s3_url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b' ' => out.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// `t` cut to the whole second: the precision of S3's `Last-Modified`.
pub(crate) fn whole_seconds(t: SystemTime) -> SystemTime {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    UNIX_EPOCH + Duration::from_secs(since.as_secs())
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

/// Reads an HTTP date (`If-Modified-Since`, `If-Unmodified-Since`): the
/// IMF-fixdate form every client sends, or RFC 2822's.
pub(crate) fn parse_http_date(text: &str) -> Option<SystemTime> {
    let parsed = DateTime::parse_from_rfc2822(text.trim()).ok()?;
    let secs = u64::try_from(parsed.timestamp()).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn reads_http_dates_to_the_second() {
        let t = UNIX_EPOCH + Duration::from_millis(1_709_283_600_123);
        assert_eq!(
            parse_http_date(&format_http_date(t)),
            Some(whole_seconds(t))
        );
        assert_eq!(
            parse_http_date("Fri, 01 Mar 2024 09:00:00 +0000"),
            Some(UNIX_EPOCH + Duration::from_secs(1_709_283_600))
        );
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn url_encodes_keys_as_s3_lists_them() {
        assert_eq!(s3_url_encode("a b.txt"), "a+b.txt");
        assert_eq!(s3_url_encode("a+b.txt"), "a%2Bb.txt");
        assert_eq!(s3_url_encode("100%.csv"), "100%25.csv");
        assert_eq!(s3_url_encode("한글/x.txt"), "%ED%95%9C%EA%B8%80/x.txt");
        assert_eq!(s3_url_encode("date=2026-03-01/"), "date%3D2026-03-01/");
        assert_eq!(s3_url_encode("test_file(3).png"), "test_file%283%29.png");
        assert_eq!(s3_url_encode("a\u{1}~*"), "a%01%7E*");
    }

    #[test]
    fn clips_long_values() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("ééééé", 2), "éé...");
    }
}
