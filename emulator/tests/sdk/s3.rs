//! S3 GetObject through `aws-sdk-s3`, as a function reads a CodePipeline input
//! artifact (and, where the SDK would not send the request, raw HTTP).

use std::io::{Cursor, Read as _, Write as _};

use aws_emulator::{Config, Operation, DEFAULT_CONTENT_TYPE};
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::RequestId;

use crate::common::{raw, s3, s3_as, start, state, status};

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

#[tokio::test]
async fn a_seeded_zip_artifact_reads_back_whole() {
    let zip = site_zip();
    let emu = start(
        Config::default()
            .manual_clock()
            .object(BUCKET, ARTIFACT_KEY, zip.clone()),
    )
    .await;
    let got = s3(&emu)
        .get_object()
        .bucket(BUCKET)
        .key(ARTIFACT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_length(), Some(zip.len() as i64));
    // Seeded without a type, as S3 stores an object put without one.
    assert_eq!(got.content_type(), Some(DEFAULT_CONTENT_TYPE));
    assert_eq!(
        got.last_modified().unwrap().secs(),
        aws_sdk_s3::primitives::DateTime::from(emu.now()).secs()
    );
    assert!(got.request_id().is_some());
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
    assert_eq!(snap.calls_of(Operation::GetObject), 1);
    let rec = &snap.objects[0];
    assert_eq!(
        (rec.bucket.as_str(), rec.key.as_str(), rec.size),
        (BUCKET, ARTIFACT_KEY, zip.len() as u64)
    );
}

#[tokio::test]
async fn etag_is_the_md5_of_the_bytes() {
    let emu = start(Config::default().object(BUCKET, "hello.txt", b"hello".to_vec())).await;
    let got = s3(&emu)
        .get_object()
        .bucket(BUCKET)
        .key("hello.txt")
        .send()
        .await
        .unwrap();
    // md5("hello"), as S3 tags an object put in one piece.
    let md5_of_hello = "\"5d41402abc4b2a76b9719d911017c592\"";
    assert_eq!(got.e_tag(), Some(md5_of_hello));
    assert_eq!(emu.snapshot().objects[0].etag, md5_of_hello);
}

#[tokio::test]
async fn keys_keep_slashes_spaces_and_escapes() {
    let key = "site pipeline/Source Artifact/a b+c%20d=e.zip";
    let emu = start(Config::default().object(BUCKET, key, b"spaced".to_vec())).await;
    let client = s3(&emu);
    let got = client
        .get_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap();
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes.as_ref(), b"spaced");

    // The escapes are undone once: the key read literally is another one.
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
async fn missing_keys_and_buckets() {
    let emu = start(Config::default().object(BUCKET, ARTIFACT_KEY, b"x".to_vec())).await;
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

    // NoSuchBucket is not modelled for GetObject: `code()` tells it.
    let err = client
        .get_object()
        .bucket("no-such-bucket")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NoSuchBucket"));
    assert_eq!(status(&err), 404);
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
    assert_eq!(emu.snapshot().calls_of(Operation::GetObject), 3);
}

#[tokio::test]
async fn raw_protocol_edges() {
    let emu = start(Config::default().object(BUCKET, "dir/a b.txt", b"text".to_vec())).await;

    // Unsigned: S3 takes it as anonymous, which a private bucket refuses, in
    // S3's bare error document.
    let res = raw(&emu, "GET", &format!("/{BUCKET}/dir/a%20b.txt"), &[], "").await;
    assert_eq!(res.status, 403);
    assert_eq!(res.header("content-type"), Some("application/xml"));
    let rid = res.header("x-amz-request-id").unwrap();
    assert_eq!(
        res.body,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>{rid}</RequestId><HostId>{}</HostId></Error>",
            rid.replace('-', "")
        )
    );
    assert_eq!(
        res.header("x-amz-id-2"),
        Some(rid.replace('-', "").as_str())
    );

    // NoSuchKey names the key, decoded; NoSuchBucket the bucket.
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

    // Other operations, bucket operations and subresources are not
    // emulated, and not counted.
    let calls = emu.snapshot().calls;
    for (method, path) in [
        ("PUT", format!("/{BUCKET}/k")),
        ("GET", format!("/{BUCKET}?list-type=2")),
        ("GET", format!("/{BUCKET}/k?acl")),
    ] {
        let res = raw(&emu, method, &path, &[SIGNED], "").await;
        assert_eq!(res.status, 501, "{method} {path}");
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
    let state = state(&emu).await;
    let json = state.json();
    let object = json["objects"][0].as_object().unwrap();
    let mut fields: Vec<&str> = object.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["bucket", "etag", "key", "size"]);
    assert_eq!(object["size"], 12);
    assert!(!state.body.contains("secret-bytes"));
}
