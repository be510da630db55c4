//! S3 objects through `aws-sdk-s3`, as a function reads a CodePipeline input
//! artifact (and, where the SDK would not send the request, raw HTTP).

use std::io::{Cursor, Read as _, Write as _};
use std::time::SystemTime;

use aws_emulator::{Config, Operation, DEFAULT_CONTENT_TYPE};
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::head_object::HeadObjectError;
use aws_sdk_s3::operation::RequestId;
use aws_sdk_s3::primitives::ByteStream;

use crate::common::{raw, s3, s3_as, start, status};

/// The pipeline's artifact bucket.
const BUCKET: &str = "codepipeline-us-east-1-123456789012";
/// Where CodePipeline puts an input artifact: pipeline, artifact, object.
const ARTIFACT_KEY: &str = "site-pipeline/SourceArti/Xz9Ab3c";
/// The job's temporary artifact access key id.
const ARTIFACT_KEY_ID: &str = "ASIAARTIFACTCREDS01";

const SIGNED: (&str, &str) = ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00");

/// A deflated zip with a nested entry, as a build stage's output artifact.
fn site_zip() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("index.html", options).unwrap();
    zip.write_all(b"<h1>hello</h1>".repeat(100).as_slice())
        .unwrap();
    zip.start_file("css/site.css", options).unwrap();
    zip.write_all(b"body { margin: 0 }").unwrap();
    zip.finish().unwrap().into_inner()
}

/// Bytes that are not all alike, so a misplaced chunk would show.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

fn is_quoted_md5(etag: &str) -> bool {
    etag.len() == 34
        && etag.starts_with('"')
        && etag.ends_with('"')
        && etag[1..33]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[tokio::test]
async fn put_then_get_a_zip_artifact() {
    let emu = start(Config::default().bucket(BUCKET)).await;
    let client = s3(&emu);
    let zip = site_zip();

    let put = client
        .put_object()
        .bucket(BUCKET)
        .key(ARTIFACT_KEY)
        .content_type("application/zip")
        .body(ByteStream::from(zip.clone()))
        .send()
        .await
        .unwrap();
    let etag = put.e_tag().unwrap().to_string();
    assert!(is_quoted_md5(&etag), "{etag}");
    assert!(put.request_id().is_some());

    let got = client
        .get_object()
        .bucket(BUCKET)
        .key(ARTIFACT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_length(), Some(zip.len() as i64));
    assert_eq!(got.content_type(), Some("application/zip"));
    assert_eq!(got.e_tag(), Some(etag.as_str()));
    let modified = got.last_modified().unwrap().secs();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((0..=5).contains(&(now - modified)), "{modified} vs {now}");
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes.as_ref(), zip.as_slice());

    // What the function does with it: open the archive, read the entries.
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).unwrap();
    let mut names: Vec<String> = archive
        .file_names()
        .map(|name| name.unwrap().into_owned())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["css/site.css", "index.html"]);
    let mut css = String::new();
    archive
        .by_name("css/site.css")
        .unwrap()
        .read_to_string(&mut css)
        .unwrap();
    assert_eq!(css, "body { margin: 0 }");

    let snap = emu.snapshot();
    assert_eq!(snap.calls_of(Operation::PutObject), 1);
    assert_eq!(snap.calls_of(Operation::GetObject), 1);
    assert_eq!(snap.objects.len(), 1);
    let rec = &snap.objects[0];
    assert_eq!(
        (
            rec.bucket.as_str(),
            rec.key.as_str(),
            rec.size,
            rec.etag.as_str()
        ),
        (BUCKET, ARTIFACT_KEY, zip.len() as u64, etag.as_str())
    );
}

#[tokio::test]
async fn etag_is_the_md5_of_the_bytes() {
    let emu = start(Config::default().object(BUCKET, "hello.txt", b"hello".to_vec())).await;
    let head = s3(&emu)
        .head_object()
        .bucket(BUCKET)
        .key("hello.txt")
        .send()
        .await
        .unwrap();
    // md5("hello"), as S3 tags an object put in one piece.
    assert_eq!(head.e_tag(), Some("\"5d41402abc4b2a76b9719d911017c592\""));
}

#[tokio::test]
async fn streamed_upload_is_decoded_from_aws_chunked() {
    // A body from a file is streamed: the SDK sends it aws-chunked in signed
    // 64 KiB chunks with a trailing checksum. Three chunks and a partial one.
    let emu = start(Config::default().bucket(BUCKET)).await;
    let client = s3(&emu);
    let data = pattern(3 * 65_536 + 1234);
    let path = std::env::temp_dir().join(format!(
        "aws-emulator-s3-{}-{}.bin",
        std::process::id(),
        emu.local_addr().port()
    ));
    std::fs::write(&path, &data).unwrap();
    let body = ByteStream::from_path(&path).await.unwrap();
    let put = client
        .put_object()
        .bucket(BUCKET)
        .key("big/artifact.zip")
        .body(body)
        .send()
        .await;
    std::fs::remove_file(&path).unwrap();
    put.unwrap();

    let got = client
        .get_object()
        .bucket(BUCKET)
        .key("big/artifact.zip")
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_length(), Some(data.len() as i64));
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert!(bytes.as_ref() == data.as_slice(), "the bytes differ");
    assert_eq!(emu.snapshot().objects[0].size, data.len() as u64);
}

#[tokio::test]
async fn keys_keep_slashes_spaces_and_escapes() {
    let emu = start(Config::default().bucket(BUCKET)).await;
    let client = s3(&emu);
    let key = "site pipeline/Source Artifact/a b+c%20d=e.zip";
    client
        .put_object()
        .bucket(BUCKET)
        .key(key)
        .body(ByteStream::from_static(b"spaced"))
        .send()
        .await
        .unwrap();

    let got = client
        .get_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap();
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes.as_ref(), b"spaced");
    assert_eq!(emu.snapshot().objects[0].key, key);

    // The escapes were undone once: the key read literally is another one.
    let err = client
        .get_object()
        .bucket(BUCKET)
        .key("site pipeline/Source Artifact/a b+c d=e.zip")
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_no_such_key(), "{err:?}");
}

#[tokio::test]
async fn head_object_tells_size_and_type_without_the_body() {
    let zip = site_zip();
    let emu = start(Config::default().object(BUCKET, ARTIFACT_KEY, zip.clone())).await;
    let client = s3(&emu);

    let head = client
        .head_object()
        .bucket(BUCKET)
        .key(ARTIFACT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(zip.len() as i64));
    // Seeded without a type, as S3 stores an object put without one.
    assert_eq!(head.content_type(), Some(DEFAULT_CONTENT_TYPE));
    assert!(is_quoted_md5(head.e_tag().unwrap()));
    assert!(head.last_modified().is_some());

    let err = client
        .head_object()
        .bucket(BUCKET)
        .key("site-pipeline/SourceArti/missing")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err.as_service_error(), Some(HeadObjectError::NotFound(_))),
        "{err:?}"
    );
    assert_eq!(status(&err), 404);
    assert_eq!(emu.snapshot().calls_of(Operation::HeadObject), 2);
}

#[tokio::test]
async fn ranges_read_part_of_an_object() {
    let emu = start(Config::default().object(BUCKET, "k", b"0123456789".to_vec())).await;
    let client = s3(&emu);
    let got = client
        .get_object()
        .bucket(BUCKET)
        .key("k")
        .range("bytes=2-5")
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_range(), Some("bytes 2-5/10"));
    assert_eq!(got.content_length(), Some(4));
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes.as_ref(), b"2345");

    let err = client
        .get_object()
        .bucket(BUCKET)
        .key("k")
        .range("bytes=10-")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidRange"));
    assert_eq!(status(&err), 416);
}

#[tokio::test]
async fn missing_keys_and_buckets() {
    let emu = start(Config::default().bucket(BUCKET)).await;
    let client = s3(&emu);

    let err = client
        .get_object()
        .bucket(BUCKET)
        .key("site-pipeline/SourceArti/missing")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err.as_service_error(), Some(GetObjectError::NoSuchKey(_))),
        "{err:?}"
    );
    assert_eq!(status(&err), 404);
    assert_eq!(err.message(), Some("The specified key does not exist."));
    assert!(err.request_id().is_some());

    // NoSuchBucket is not modelled for these operations: `code()` tells it.
    let err = client
        .get_object()
        .bucket("no-such-bucket")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NoSuchBucket"));
    assert_eq!(status(&err), 404);
    let err = client
        .put_object()
        .bucket("no-such-bucket")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NoSuchBucket"));
    assert_eq!(status(&err), 404);
    assert!(emu.snapshot().objects.is_empty());
}

#[tokio::test]
async fn artifact_bucket_opens_to_the_artifact_credentials_only() {
    let emu = start(
        Config::default()
            .object(BUCKET, ARTIFACT_KEY, site_zip())
            .s3_access_key(ARTIFACT_KEY_ID),
    )
    .await;
    // The function's own role (the default test key) is refused…
    let own_role = s3(&emu);
    let err = own_role
        .get_object()
        .bucket(BUCKET)
        .key(ARTIFACT_KEY)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDenied"));
    assert_eq!(status(&err), 403);
    let err = own_role
        .head_object()
        .bucket(BUCKET)
        .key(ARTIFACT_KEY)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 403);
    let err = own_role
        .put_object()
        .bucket(BUCKET)
        .key("other")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDenied"));
    // …and learns nothing about which buckets exist.
    let err = own_role
        .get_object()
        .bucket("no-such-bucket")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDenied"));

    // The job's artifact credentials open it.
    let artifact_creds = s3_as(&emu, ARTIFACT_KEY_ID, RetryConfig::disabled());
    let got = artifact_creds
        .get_object()
        .bucket(BUCKET)
        .key(ARTIFACT_KEY)
        .send()
        .await
        .unwrap();
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes.as_ref(), site_zip().as_slice());
    let snap = emu.snapshot();
    assert_eq!(snap.calls_of(Operation::GetObject), 3);
    assert_eq!(snap.objects.len(), 1, "the refused put stored nothing");
}

#[tokio::test]
async fn raw_protocol_edges() {
    let emu = start(Config::default().object(BUCKET, "dir/a b.txt", b"text".to_vec())).await;

    // Unsigned: S3 takes it as anonymous, which a private bucket refuses, in
    // S3's bare error document.
    let res = raw(&emu, "GET", &format!("/{BUCKET}/dir/a%20b.txt"), &[], "").await;
    assert_eq!(res.status, 403);
    assert_eq!(res.header("content-type"), Some("application/xml"));
    assert!(
        res.body.contains(
            "<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>"
        ),
        "{}",
        res.body
    );
    assert!(!res.body.contains("ErrorResponse"));
    let rid = res.header("x-amz-request-id").unwrap();
    assert!(res.body.contains(&format!("<RequestId>{rid}</RequestId>")));
    assert!(res.header("x-amz-id-2").is_some());

    // NoSuchKey names the key, decoded.
    let res = raw(
        &emu,
        "GET",
        &format!("/{BUCKET}/dir/a%20c.txt"),
        &[SIGNED],
        "",
    )
    .await;
    assert_eq!(res.status, 404);
    assert!(
        res.body.contains("<Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>dir/a c.txt</Key>"),
        "{}",
        res.body
    );
    let res = raw(&emu, "GET", "/other-bucket/k", &[SIGNED], "").await;
    assert!(
        res.body.contains("<BucketName>other-bucket</BucketName>"),
        "{}",
        res.body
    );

    // Virtual-hosted addressing: the bucket in front of the endpoint's host.
    let host = format!("{BUCKET}.127.0.0.1:{}", emu.local_addr().port());
    let res = raw(
        &emu,
        "GET",
        "/dir/a%20b.txt",
        &[SIGNED, ("Host", &host)],
        "",
    )
    .await;
    assert_eq!((res.status, res.body.as_str()), (200, "text"));
    let host = format!("{BUCKET}.localhost:{}", emu.local_addr().port());
    let res = raw(
        &emu,
        "GET",
        "/dir/a%20b.txt",
        &[SIGNED, ("Host", &host)],
        "",
    )
    .await;
    assert_eq!((res.status, res.body.as_str()), (200, "text"));

    // HEAD: the length a GET would send, no body.
    let res = raw(
        &emu,
        "HEAD",
        &format!("/{BUCKET}/dir/a%20b.txt"),
        &[SIGNED],
        "",
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-length"), Some("4"));
    assert_eq!(res.body, "");

    // An unsigned-payload aws-chunked upload (what a streaming client sends
    // over HTTPS), and one whose declared length is wrong.
    let chunked = "4\r\nabcd\r\n2\r\nef\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
    let headers = [
        SIGNED,
        ("Content-Encoding", "aws-chunked"),
        ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
        ("x-amz-trailer", "x-amz-checksum-crc32"),
        ("x-amz-decoded-content-length", "6"),
    ];
    let res = raw(
        &emu,
        "PUT",
        &format!("/{BUCKET}/chunked"),
        &headers,
        chunked,
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(res.header("etag").is_some());
    let res = raw(&emu, "GET", &format!("/{BUCKET}/chunked"), &[SIGNED], "").await;
    assert_eq!(res.body, "abcdef");
    assert_eq!(res.header("content-encoding"), None);
    let mut wrong = headers;
    wrong[4] = ("x-amz-decoded-content-length", "7");
    let res = raw(&emu, "PUT", &format!("/{BUCKET}/chunked2"), &wrong, chunked).await;
    assert_eq!(res.status, 400);
    assert!(
        res.body.contains("<Code>IncompleteBody</Code>"),
        "{}",
        res.body
    );

    // Bucket operations and subresources are not emulated, and not counted.
    let calls = emu.snapshot().calls;
    for path in [format!("/{BUCKET}?list-type=2"), format!("/{BUCKET}/k?acl")] {
        let res = raw(&emu, "GET", &path, &[SIGNED], "").await;
        assert_eq!(res.status, 501, "{path}");
        assert!(
            res.body.contains("<Code>NotImplemented</Code>"),
            "{}",
            res.body
        );
    }
    assert_eq!(emu.snapshot().calls, calls);
}

#[tokio::test]
async fn state_lists_objects_never_their_bytes() {
    let emu = start(Config::default().object(BUCKET, ARTIFACT_KEY, b"secret-bytes".to_vec())).await;
    let state = raw(&emu, "GET", "/_emulator/state", &[], "").await;
    let json: serde_json::Value = serde_json::from_str(&state.body).unwrap();
    let object = json["objects"][0].as_object().unwrap();
    let mut fields: Vec<&str> = object.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["bucket", "etag", "key", "size"]);
    assert_eq!(object["size"], 12);
    assert!(!state.body.contains("secret-bytes"));
}
