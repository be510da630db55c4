//! The `aws-chunked` content encoding, in which the SDKs stream an upload:
//! chunks of `hex-size[;chunk-signature=…]\r\n`, the data and `\r\n`; a
//! zero-size chunk; then trailers such as `x-amz-checksum-crc32:…` (and
//! `x-amz-trailer-signature:…` when the chunks are signed), one a line, and
//! an empty line. SigV4's streaming forms (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`,
//! `…-TRAILER`, `STREAMING-UNSIGNED-PAYLOAD-TRAILER`) all take this shape
//! ([SigV4 streaming](https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html));
//! signatures are read past, not checked, as the emulator checks none.

use crate::wire::clip;

/// A decoded `aws-chunked` body.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// The object's bytes.
    pub body: Vec<u8>,
    /// Trailer names (lowercase) and values, in order.
    pub trailers: Vec<(String, String)>,
}

/// Decodes an `aws-chunked` body; the error says what is malformed.
pub(crate) fn decode(body: &[u8]) -> Result<Decoded, String> {
    let mut out = Decoded {
        body: Vec::with_capacity(body.len()),
        trailers: Vec::new(),
    };
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
        if rest.len() < size.saturating_add(2) || &rest[size..size + 2] != b"\r\n" {
            return Err(format!("a chunk of {size} bytes is cut short"));
        }
        out.body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
    // Trailers, up to an empty line (or the end, for a sender that leaves the
    // last CRLF out).
    while !rest.is_empty() {
        let (line, after) = split_line(rest).unwrap_or((rest, &[]));
        rest = after;
        if line.is_empty() {
            break;
        }
        let line = std::str::from_utf8(line).map_err(|_| "a trailer is not text".to_string())?;
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("trailer `{}` has no `:`", clip(line, 40)))?;
        out.trailers
            .push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok(out)
}

/// The bytes before the first CRLF, and those after it.
fn split_line(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = data.windows(2).position(|w| w == b"\r\n")?;
    Some((&data[..at], &data[at + 2..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trailer<'a>(decoded: &'a Decoded, name: &str) -> Option<&'a str> {
        decoded
            .trailers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn decodes_unsigned_chunks_with_a_trailer() {
        let body = b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
        let decoded = decode(body).unwrap();
        assert_eq!(decoded.body, b"hello world");
        assert_eq!(trailer(&decoded, "x-amz-checksum-crc32"), Some("DUoRhQ=="));
    }

    #[test]
    fn decodes_signed_chunks_and_reads_past_signatures() {
        let sig = "0".repeat(64);
        let signed = format!(
            "3;chunk-signature={sig}\r\nabc\r\n0;chunk-signature={sig}\r\nX-Amz-Checksum-Sha256:AAAA\r\nx-amz-trailer-signature:{sig}\r\n\r\n"
        );
        let decoded = decode(signed.as_bytes()).unwrap();
        assert_eq!(decoded.body, b"abc");
        assert_eq!(trailer(&decoded, "x-amz-checksum-sha256"), Some("AAAA"));
        // Signed without a trailer: the zero chunk and its CRLF end it.
        let plain = format!("3;chunk-signature={sig}\r\nabc\r\n0;chunk-signature={sig}\r\n\r\n");
        assert_eq!(decode(plain.as_bytes()).unwrap().body, b"abc");
    }

    #[test]
    fn data_may_hold_crlf_and_the_last_crlf_may_be_missing() {
        assert_eq!(decode(b"2\r\n\r\n\r\n0\r\n").unwrap().body, b"\r\n");
        assert_eq!(decode(b"0\r\n\r\n").unwrap(), Decoded::default());
    }

    #[test]
    fn refuses_malformed_bodies() {
        for bad in [
            &b"5\r\nhel"[..],
            b"zz\r\nhello\r\n0\r\n\r\n",
            b"hello",
            b"0\r\nno-colon\r\n\r\n",
            b"ffffffffffffffff\r\nx\r\n",
        ] {
            assert!(decode(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
