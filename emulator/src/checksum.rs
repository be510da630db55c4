//! S3's object checksums: the five algorithms a client may send a value of
//! (`x-amz-checksum-crc32`, `-crc32c`, `-crc64nvme`, `-sha1`, `-sha256`), as
//! base64 of the big-endian digest, and `Content-MD5`. S3 computes the same
//! digest over what it received and refuses the upload when the two differ
//! ([Checking object integrity](https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html));
//! an object uploaded with no checksum gets CRC64NVME, S3's default. Libraries
//! do the arithmetic: `crc-fast` (what aws-sdk-s3 uses), `sha1`, `sha2`, `md-5`.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use crc_fast::CrcAlgorithm;
use md5::{Digest as _, Md5};

/// A checksum algorithm S3 verifies and stores with an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChecksumAlgorithm {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

/// Why a checksum value a client sent was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChecksumError {
    /// Not base64 of a digest of the algorithm's length.
    Invalid,
    /// Well formed, but not the digest of what was received.
    Mismatch,
}

impl ChecksumAlgorithm {
    /// Every algorithm, in the order S3's documentation lists them.
    pub const ALL: [ChecksumAlgorithm; 5] = [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
    ];

    /// The name S3 writes (`ChecksumAlgorithm` in a listing, error messages):
    /// `CRC32`, `CRC32C`, `CRC64NVME`, `SHA1`, `SHA256`.
    pub fn name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "CRC32",
            ChecksumAlgorithm::Crc32c => "CRC32C",
            ChecksumAlgorithm::Crc64Nvme => "CRC64NVME",
            ChecksumAlgorithm::Sha1 => "SHA1",
            ChecksumAlgorithm::Sha256 => "SHA256",
        }
    }

    /// The header (or trailer) that carries a value, lowercase.
    pub fn header(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "x-amz-checksum-crc32",
            ChecksumAlgorithm::Crc32c => "x-amz-checksum-crc32c",
            ChecksumAlgorithm::Crc64Nvme => "x-amz-checksum-crc64nvme",
            ChecksumAlgorithm::Sha1 => "x-amz-checksum-sha1",
            ChecksumAlgorithm::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// The algorithm a header or trailer name carries a value of, in any case.
    pub fn from_header(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.header().eq_ignore_ascii_case(name.trim()))
    }

    /// The algorithm `x-amz-sdk-checksum-algorithm` names, in any case.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name.trim()))
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            ChecksumAlgorithm::Crc32 => (crc_fast::checksum(CrcAlgorithm::Crc32IsoHdlc, data)
                as u32)
                .to_be_bytes()
                .to_vec(),
            ChecksumAlgorithm::Crc32c => (crc_fast::checksum(CrcAlgorithm::Crc32Iscsi, data)
                as u32)
                .to_be_bytes()
                .to_vec(),
            ChecksumAlgorithm::Crc64Nvme => crc_fast::checksum(CrcAlgorithm::Crc64Nvme, data)
                .to_be_bytes()
                .to_vec(),
            ChecksumAlgorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
            ChecksumAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
        }
    }

    fn digest_len(self) -> usize {
        match self {
            ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c => 4,
            ChecksumAlgorithm::Crc64Nvme => 8,
            ChecksumAlgorithm::Sha1 => 20,
            ChecksumAlgorithm::Sha256 => 32,
        }
    }

    /// The value S3 stores and answers with: base64 of the digest.
    pub fn compute(self, data: &[u8]) -> String {
        BASE64.encode(self.digest(data))
    }

    /// Checks a value a client sent for `data`.
    pub fn verify(self, sent: &str, data: &[u8]) -> Result<(), ChecksumError> {
        let digest = BASE64
            .decode(sent.trim())
            .ok()
            .filter(|d| d.len() == self.digest_len())
            .ok_or(ChecksumError::Invalid)?;
        if digest == self.digest(data) {
            Ok(())
        } else {
            Err(ChecksumError::Mismatch)
        }
    }
}

/// A `Content-MD5` value: base64 of 16 bytes, or `None` if it is not one.
pub(crate) fn decode_content_md5(sent: &str) -> Option<[u8; 16]> {
    BASE64.decode(sent.trim()).ok()?.try_into().ok()
}

/// The MD5 digest of `data`, as `Content-MD5` carries it (base64).
pub(crate) fn md5_base64(data: &[u8]) -> String {
    BASE64.encode(Md5::digest(data))
}

/// The MD5 digest of `data`.
pub(crate) fn md5(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

/// S3's `ETag` of an object put in one piece without SSE-KMS or SSE-C: the
/// hex MD5 of its bytes, quoted, which tools such as `aws s3 sync` compare
/// with a local file's
/// ([Object](https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html)).
pub(crate) fn etag(data: &[u8]) -> String {
    format!("\"{}\"", hex(&md5(data)))
}

/// `bytes` as lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 0xf)] as char);
    }
    out
}

/// Base64 (standard alphabet, padded) of `bytes`, as S3's opaque tokens are.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// Undoes [`base64_encode`]; `None` for text that is not base64.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    BASE64.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_what_s3_answers() {
        // Empty and "test", as S3 answered boto3's default CRC32 in LocalStack's
        // AWS-validated snapshots (test_s3_api.snapshot.json).
        assert_eq!(ChecksumAlgorithm::Crc32.compute(b""), "AAAAAA==");
        assert_eq!(ChecksumAlgorithm::Crc32.compute(b"test"), "2H9+DA==");
        // The check values of each CRC over "123456789" (the CRC catalogue).
        let check =
            |algorithm: ChecksumAlgorithm| BASE64.decode(algorithm.compute(b"123456789")).unwrap();
        assert_eq!(
            check(ChecksumAlgorithm::Crc32),
            0xCBF4_3926u32.to_be_bytes()
        );
        assert_eq!(
            check(ChecksumAlgorithm::Crc32c),
            0xE306_9283u32.to_be_bytes()
        );
        assert_eq!(
            check(ChecksumAlgorithm::Crc64Nvme),
            0xAE8B_1486_0A79_9888u64.to_be_bytes()
        );
        assert_eq!(
            hex(&BASE64
                .decode(ChecksumAlgorithm::Sha1.compute(b"abc"))
                .unwrap()),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(&BASE64
                .decode(ChecksumAlgorithm::Sha256.compute(b"abc"))
                .unwrap()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn verifies_and_tells_invalid_from_wrong() {
        let crc = ChecksumAlgorithm::Crc32;
        assert_eq!(crc.verify("2H9+DA==", b"test"), Ok(()));
        assert_eq!(
            crc.verify("AAAAAA==", b"test"),
            Err(ChecksumError::Mismatch)
        );
        for bad in ["not base64!", "AAAAAAAA", ""] {
            assert_eq!(
                crc.verify(bad, b"test"),
                Err(ChecksumError::Invalid),
                "{bad}"
            );
        }
        assert_eq!(
            ChecksumAlgorithm::from_header("X-Amz-Checksum-CRC32C"),
            Some(ChecksumAlgorithm::Crc32c)
        );
        assert_eq!(ChecksumAlgorithm::from_header("x-amz-checksum-md5"), None);
        assert_eq!(
            ChecksumAlgorithm::from_name("crc64nvme"),
            Some(ChecksumAlgorithm::Crc64Nvme)
        );
    }

    #[test]
    fn etags_are_quoted_rfc_1321_digests() {
        assert_eq!(etag(b""), "\"d41d8cd98f00b204e9800998ecf8427e\"");
        assert_eq!(etag(b"abc"), "\"900150983cd24fb0d6963f7d28e17f72\"");
        assert_eq!(
            etag(b"The quick brown fox jumps over the lazy dog"),
            "\"9e107d9d372bb6826bd81d3542a419d6\""
        );
    }

    #[test]
    fn reads_content_md5() {
        let md5_of_hello = md5_base64(b"hello");
        assert_eq!(md5_of_hello, "XUFAKrxLKna5cZ2REBfFkg==");
        assert_eq!(decode_content_md5(&md5_of_hello), Some(md5(b"hello")));
        assert_eq!(decode_content_md5("MTIz"), None);
        assert_eq!(decode_content_md5("__invalid__"), None);
    }
}
