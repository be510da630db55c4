//! S3's object operations through `aws-sdk-s3`: GetObject as a function reads
//! a CodePipeline input artifact, and PutObject (conditional writes,
//! checksums, streamed uploads), HeadObject and DeleteObject as the functions
//! keep a run's state in a state bucket; per-bucket access keys; what each
//! call leaves in the records. Where the SDK would not send a request (a
//! wrong checksum, a malformed condition), raw HTTP. Listing is in
//! `s3_listing`.

use std::io::{Cursor, Read as _, Write as _};
use std::time::Duration;

use aws_emulator::{Config, FaultCode, FaultSpec, Operation, DEFAULT_CONTENT_TYPE};
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::head_object::HeadObjectError;
use aws_sdk_s3::operation::RequestId;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode};
use base64::Engine as _;
use sha2::Digest as _;

use crate::common::{always, raw, s3, s3_as, start, state, status, ACCESS_KEY, S3_AUTH};

/// The pipeline's artifact bucket.
const BUCKET: &str = "codepipeline-us-east-1-123456789012";
/// Where CodePipeline puts an input artifact: pipeline, artifact, object.
const ARTIFACT_KEY: &str = "site-pipeline/SourceArti/Xz9Ab3c";
/// The job's temporary artifact access key id.
const ARTIFACT_KEY_ID: &str = "ASIAARTIFACTCREDS01";

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
        &[S3_AUTH],
        "",
    )
    .await;
    assert_eq!(res.status, 404);
    assert!(
        res.body.contains("<Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>dir/a c.txt</Key>"),
        "{}",
        res.body
    );
    let res = raw(&emu, "GET", "/other-bucket/k", &[S3_AUTH], "").await;
    assert!(
        res.body.contains("<BucketName>other-bucket</BucketName>"),
        "{}",
        res.body
    );

    // Bucket operations, ListObjects (v1), CopyObject and subresources are
    // not emulated, and not counted.
    let calls = emu.snapshot().calls;
    let copy = [S3_AUTH, ("x-amz-copy-source", "/other/k")];
    for (method, path, headers) in [
        ("PUT", format!("/{BUCKET}"), &[S3_AUTH][..]),
        ("GET", format!("/{BUCKET}"), &[S3_AUTH]),
        ("GET", format!("/{BUCKET}/k?acl"), &[S3_AUTH]),
        ("POST", format!("/{BUCKET}/k?uploads"), &[S3_AUTH]),
        ("PUT", format!("/{BUCKET}/k"), &copy),
    ] {
        let res = raw(&emu, method, &path, headers, "").await;
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

/// A state bucket, as the functions keep a run's plan in.
const STATE: &str = "invalidation-state-123456789012";

/// Base64 of a digest, as S3's checksum headers carry it.
fn b64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The quoted hex MD5 S3 gives an object put in one piece.
fn etag_of(data: &[u8]) -> String {
    let digest: [u8; 16] = md5::Md5::digest(data).into();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Puts `body` at `key` in the state bucket with the SDK's defaults.
async fn put(client: &aws_sdk_s3::Client, key: &str, body: &[u8]) -> String {
    client
        .put_object()
        .bucket(STATE)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string()
}

/// What GetObject answers for `key` in the state bucket.
async fn read(client: &aws_sdk_s3::Client, key: &str) -> Vec<u8> {
    let got = client
        .get_object()
        .bucket(STATE)
        .key(key)
        .send()
        .await
        .unwrap();
    got.body.collect().await.unwrap().into_bytes().to_vec()
}

#[tokio::test]
async fn put_get_head_and_delete_as_s3_answers_them() {
    let emu = start(Config::default().manual_clock().bucket(STATE)).await;
    crate::common::advance(&emu, Duration::from_secs(3600));
    let client = s3(&emu);
    let plan = br#"{"batches":[["/a.html","/b.html"]]}"#;

    let put = client
        .put_object()
        .bucket(STATE)
        .key("runs/job-1/plan.json")
        .content_type("application/json")
        .metadata("run", "job-1")
        .body(ByteStream::from_static(plan))
        .send()
        .await
        .unwrap();
    let etag = etag_of(plan);
    assert_eq!(put.e_tag(), Some(etag.as_str()));
    // The SDK sent a CRC32 by default; S3 checked it and answers with it.
    let crc32 =
        b64((crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32IsoHdlc, plan) as u32).to_be_bytes());
    assert_eq!(put.checksum_crc32(), Some(crc32.as_str()));
    assert_eq!(put.checksum_type().map(|t| t.as_str()), Some("FULL_OBJECT"));
    assert_eq!(
        put.server_side_encryption().map(|e| e.as_str()),
        Some("AES256")
    );
    assert!(put.request_id().is_some());

    let got = client
        .get_object()
        .bucket(STATE)
        .key("runs/job-1/plan.json")
        .send()
        .await
        .unwrap();
    assert_eq!(got.e_tag(), Some(etag.as_str()));
    assert_eq!(got.content_type(), Some("application/json"));
    assert_eq!(got.content_length(), Some(plan.len() as i64));
    assert_eq!(got.metadata().unwrap()["run"], "job-1");
    // Last-Modified is the emulator's clock, an hour past the machine's.
    assert_eq!(
        got.last_modified().unwrap().secs(),
        aws_sdk_s3::primitives::DateTime::from(emu.now()).secs()
    );
    // The SDK asked for the checksum and checked the body against it.
    assert_eq!(got.checksum_crc32(), Some(crc32.as_str()));
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        plan
    );

    let head = client
        .head_object()
        .bucket(STATE)
        .key("runs/job-1/plan.json")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(plan.len() as i64));
    assert_eq!(head.e_tag(), Some(etag.as_str()));
    assert_eq!(head.content_type(), Some("application/json"));

    // Deleting is idempotent: the second delete of the key succeeds too.
    for _ in 0..2 {
        client
            .delete_object()
            .bucket(STATE)
            .key("runs/job-1/plan.json")
            .send()
            .await
            .unwrap();
    }
    let err = client
        .head_object()
        .bucket(STATE)
        .key("runs/job-1/plan.json")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err.as_service_error(), Some(HeadObjectError::NotFound(_))),
        "{err:?}"
    );
    assert_eq!(status(&err), 404);
    let err = client
        .get_object()
        .bucket(STATE)
        .key("runs/job-1/plan.json")
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_no_such_key(), "{err:?}");

    let snap = emu.snapshot();
    for (op, n) in [
        (Operation::PutObject, 1),
        (Operation::GetObject, 2),
        (Operation::HeadObject, 2),
        (Operation::DeleteObject, 2),
    ] {
        assert_eq!(snap.calls_of(op), n, "{op}");
    }
    assert!(snap.objects.is_empty());
    let statuses: Vec<(Operation, u16)> = snap
        .s3_requests
        .iter()
        .map(|r| (r.operation, r.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (Operation::PutObject, 200),
            (Operation::GetObject, 200),
            (Operation::HeadObject, 200),
            (Operation::DeleteObject, 204),
            (Operation::DeleteObject, 204),
            (Operation::HeadObject, 404),
            (Operation::GetObject, 404),
        ]
    );
}

#[tokio::test]
async fn every_call_is_recorded_with_what_it_carried() {
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let emu = start(Config::default().bucket(STATE)).await;
    let client = s3(&emu);
    let body = format!("{{\"credentials\":\"{secret}\"}}");
    put(&client, "runs/job-1/plan.json", body.as_bytes()).await;
    // A streamed upload (aws-chunked, signed chunks, a trailing checksum) is
    // recorded decoded.
    let file = std::env::temp_dir().join(format!("emulator-s3-record-{}", std::process::id()));
    std::fs::write(&file, format!("{}{secret}", "x".repeat(100_000))).unwrap();
    client
        .put_object()
        .bucket(STATE)
        .key("runs/job-1/big")
        .metadata("note", "plain")
        .body(ByteStream::from_path(&file).await.unwrap())
        .send()
        .await
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    read(&client, "runs/job-1/plan.json").await;

    let snap = emu.snapshot();
    let puts: Vec<_> = snap.s3_requests_of(Operation::PutObject).collect();
    assert_eq!(puts.len(), 2);
    assert_eq!(
        (
            puts[0].bucket.as_str(),
            puts[0].key.as_str(),
            puts[0].status
        ),
        (STATE, "runs/job-1/plan.json", 200)
    );
    assert_eq!(puts[0].body.as_deref(), Some(body.as_str()));
    assert!(puts[1].body.as_deref().unwrap().ends_with(secret));
    assert_eq!(puts[1].metadata["note"], "plain");
    // A test can find a value wherever a call carried it.
    let carrying: Vec<&str> = snap
        .s3_requests
        .iter()
        .filter(|r| r.carries(secret))
        .map(|r| r.key.as_str())
        .collect();
    assert_eq!(carrying, ["runs/job-1/plan.json", "runs/job-1/big"]);
    let get = snap.s3_requests_of(Operation::GetObject).next().unwrap();
    assert_eq!((get.body.as_deref(), get.status), (None, 200));
    // Sequence numbers order them among every other record.
    assert!(snap
        .s3_requests
        .windows(2)
        .all(|w| w[0].sequence < w[1].sequence));
}

#[tokio::test]
async fn if_none_match_creates_the_object_only_once() {
    let emu = start(Config::default().bucket(STATE)).await;
    let client = s3(&emu);
    let create = |body: &'static [u8]| {
        client
            .put_object()
            .bucket(STATE)
            .key("runs/job-1/lock")
            .if_none_match("*")
            .body(ByteStream::from_static(body))
            .send()
    };
    create(b"first").await.unwrap();
    let err = create(b"second").await.unwrap_err();
    assert_eq!(err.code(), Some("PreconditionFailed"));
    assert_eq!(
        err.message(),
        Some("At least one of the pre-conditions you specified did not hold")
    );
    assert_eq!(status(&err), 412);
    assert_eq!(read(&client, "runs/job-1/lock").await, b"first");
    // Once the key is free again, the create succeeds.
    client
        .delete_object()
        .bucket(STATE)
        .key("runs/job-1/lock")
        .send()
        .await
        .unwrap();
    create(b"third").await.unwrap();
    assert_eq!(read(&client, "runs/job-1/lock").await, b"third");
    let snap = emu.snapshot();
    let codes: Vec<&str> = snap
        .s3_requests_of(Operation::PutObject)
        .map(|r| r.error_code.as_deref().unwrap_or("-"))
        .collect();
    assert_eq!(codes, ["-", "PreconditionFailed", "-"]);
}

#[tokio::test]
async fn if_match_replaces_only_the_version_that_was_read() {
    let emu = start(Config::default().bucket(STATE)).await;
    let client = s3(&emu);
    let first = put(&client, "runs/job-1/state.json", b"v1").await;
    let replace = |etag: String, body: &'static [u8]| {
        client
            .put_object()
            .bucket(STATE)
            .key("runs/job-1/state.json")
            .if_match(etag)
            .body(ByteStream::from_static(body))
            .send()
    };
    let second = replace(first.clone(), b"v2").await.unwrap();
    assert_eq!(second.e_tag(), Some(etag_of(b"v2").as_str()));
    // The ETag read before the replace is stale now; unquoted, as some
    // clients send it, it is still the same ETag.
    let err = replace(first.trim_matches('"').to_string(), b"v3")
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), status(&err)),
        (Some("PreconditionFailed"), 412)
    );
    assert_eq!(read(&client, "runs/job-1/state.json").await, b"v2");
    replace(etag_of(b"v2").trim_matches('"').to_string(), b"v3")
        .await
        .unwrap();

    // If-Match on a key with no object: S3 answers 404 NoSuchKey.
    let err = client
        .put_object()
        .bucket(STATE)
        .key("runs/job-2/state.json")
        .if_match(first)
        .body(ByteStream::from_static(b"v1"))
        .send()
        .await
        .unwrap_err();
    assert_eq!((err.code(), status(&err)), (Some("NoSuchKey"), 404));
    assert!(emu
        .snapshot()
        .objects
        .iter()
        .all(|o| o.key != "runs/job-2/state.json"));
}

#[tokio::test]
async fn conditions_s3_refuses_are_not_implemented() {
    let emu = start(Config::default().bucket(STATE)).await;
    let path = format!("/{STATE}/k");
    let etag = etag_of(b"x");
    for (headers, header, why) in [
        (
            vec![("If-None-Match", etag.as_str())],
            "If-None-Match",
            "We don't accept the provided value of If-None-Match header for this API",
        ),
        (
            vec![("If-Match", "*")],
            "If-Match",
            "We don't accept the provided value of If-Match header for this API",
        ),
        (
            vec![("If-Match", etag.as_str()), ("If-None-Match", "*")],
            "If-Match,If-None-Match",
            "Multiple conditional request headers present in the request",
        ),
    ] {
        let mut all = vec![S3_AUTH];
        all.extend(headers);
        let res = raw(&emu, "PUT", &path, &all, "x").await;
        assert_eq!(res.status, 501, "{header}");
        // XML's escape of the apostrophe is the same text to any parser.
        let body = res.body.replace("&apos;", "'");
        assert!(
            body.contains(&format!(
                "<Code>NotImplemented</Code><Message>A header you provided implies functionality that is not implemented</Message><Header>{header}</Header><additionalMessage>{why}</additionalMessage>"
            )),
            "{body}"
        );
    }
    assert!(emu.snapshot().objects.is_empty());
    assert_eq!(emu.snapshot().calls_of(Operation::PutObject), 3);
}

#[tokio::test]
async fn conditional_deletes() {
    let emu = start(Config::default().bucket(STATE)).await;
    let client = s3(&emu);
    let etag = put(&client, "k", b"v1").await;
    let delete = |condition: &str| {
        client
            .delete_object()
            .bucket(STATE)
            .key("k")
            .if_match(condition)
            .send()
    };
    let err = delete(&etag_of(b"other")).await.unwrap_err();
    assert_eq!(
        (err.code(), status(&err)),
        (Some("PreconditionFailed"), 412)
    );
    delete(&etag).await.unwrap();
    // `*` asks that the object exist; with none, S3 answers 404.
    let err = delete("*").await.unwrap_err();
    assert_eq!((err.code(), status(&err)), (Some("NoSuchKey"), 404));
    // The directory buckets' conditions are S3's 501 on a general purpose bucket.
    let res = raw(
        &emu,
        "DELETE",
        &format!("/{STATE}/k"),
        &[S3_AUTH, ("x-amz-if-match-size", "2")],
        "",
    )
    .await;
    assert_eq!(res.status, 501);
    assert!(
        res.body.contains("<Header>x-amz-if-match-size</Header>"),
        "{}",
        res.body
    );
}

#[tokio::test]
async fn a_conflict_strikes_conditional_writes_only_and_writes_nothing() {
    let emu = start(Config::default().bucket(STATE).fault(
        Operation::PutObject,
        always(FaultCode::ConditionalRequestConflict),
    ))
    .await;
    let client = s3(&emu);
    // An unconditional write cannot conflict: S3 lets the last writer win.
    put(&client, "runs/job-1/plan.json", b"v1").await;
    let err = client
        .put_object()
        .bucket(STATE)
        .key("runs/job-1/plan.json")
        .if_match(etag_of(b"v1"))
        .body(ByteStream::from_static(b"v2"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ConditionalRequestConflict"));
    assert_eq!(
        err.message(),
        Some("The conditional request cannot succeed due to a conflicting operation against this resource.")
    );
    assert_eq!(status(&err), 409);
    assert_eq!(read(&client, "runs/job-1/plan.json").await, b"v1");

    let res = raw(
        &emu,
        "PUT",
        &format!("/{STATE}/runs/job-2/plan.json"),
        &[S3_AUTH, ("If-None-Match", "*")],
        "v1",
    )
    .await;
    assert_eq!(res.status, 409);
    assert!(
        res.body
            .contains("<Condition>If-None-Match</Condition><Key>runs/job-2/plan.json</Key>"),
        "{}",
        res.body
    );
    let snap = emu.snapshot();
    assert_eq!(snap.objects.len(), 1);
    assert_eq!(snap.calls_of(Operation::PutObject), 3);
    assert_eq!(snap.faults_of(Operation::PutObject), 2);
    assert!(snap
        .fault_log
        .iter()
        .all(|f| (f.fault, f.code.as_str(), f.status)
            == (
                FaultCode::ConditionalRequestConflict,
                "ConditionalRequestConflict",
                409
            )));
}

#[tokio::test]
async fn a_lost_answer_to_a_create_meets_its_own_object_on_retry() {
    let lose_every_answer = FaultSpec {
        lost_response_rate: 1.0,
        ..FaultSpec::default()
    };
    let emu = start(
        Config::default()
            .bucket(STATE)
            .fault(Operation::PutObject, lose_every_answer),
    )
    .await;
    let retry = RetryConfig::standard()
        .with_max_attempts(2)
        .with_initial_backoff(Duration::from_millis(1));
    let client = s3_as(&emu, ACCESS_KEY, retry);
    // The first attempt takes effect and its answer is lost (500); the SDK
    // retries, and the retry finds the object the first one created.
    let err = client
        .put_object()
        .bucket(STATE)
        .key("runs/job-1/lock")
        .if_none_match("*")
        .body(ByteStream::from_static(b"mine"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), status(&err)),
        (Some("PreconditionFailed"), 412)
    );
    let snap = emu.snapshot();
    assert_eq!(snap.lost_responses_of(Operation::PutObject), 1);
    assert_eq!(snap.objects.len(), 1);
    let statuses: Vec<u16> = snap.s3_requests.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 412]);
}

#[tokio::test]
async fn every_checksum_algorithm_is_verified_and_answered() {
    let emu = start(Config::default().bucket(STATE)).await;
    let client = s3(&emu);
    let data = b"The quick brown fox jumps over the lazy dog";
    let crc = |algorithm| b64(crc_fast::checksum(algorithm, data).to_be_bytes());
    let crc32 = |algorithm| b64((crc_fast::checksum(algorithm, data) as u32).to_be_bytes());
    for (algorithm, expected) in [
        (
            ChecksumAlgorithm::Crc32,
            crc32(crc_fast::CrcAlgorithm::Crc32IsoHdlc),
        ),
        (
            ChecksumAlgorithm::Crc32C,
            crc32(crc_fast::CrcAlgorithm::Crc32Iscsi),
        ),
        (
            ChecksumAlgorithm::Crc64Nvme,
            crc(crc_fast::CrcAlgorithm::Crc64Nvme),
        ),
        (ChecksumAlgorithm::Sha1, b64(sha1::Sha1::digest(data))),
        (ChecksumAlgorithm::Sha256, b64(sha2::Sha256::digest(data))),
    ] {
        let key = format!("fox.{}", algorithm.as_str());
        let put = client
            .put_object()
            .bucket(STATE)
            .key(&key)
            .checksum_algorithm(algorithm.clone())
            .body(ByteStream::from_static(data))
            .send()
            .await
            .unwrap();
        let answered = [
            put.checksum_crc32(),
            put.checksum_crc32_c(),
            put.checksum_crc64_nvme(),
            put.checksum_sha1(),
            put.checksum_sha256(),
        ];
        assert_eq!(
            answered.into_iter().flatten().collect::<Vec<_>>(),
            [expected.as_str()],
            "{algorithm:?}"
        );
        // GetObject answers the stored checksum, and the SDK checks the body.
        let got = client
            .get_object()
            .bucket(STATE)
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .unwrap();
        let answered = [
            got.checksum_crc32(),
            got.checksum_crc32_c(),
            got.checksum_crc64_nvme(),
            got.checksum_sha1(),
            got.checksum_sha256(),
        ];
        assert_eq!(
            answered.into_iter().flatten().collect::<Vec<_>>(),
            [expected.as_str()]
        );
        assert_eq!(
            got.body.collect().await.unwrap().into_bytes().as_ref(),
            data
        );
    }
}

#[tokio::test]
async fn an_object_put_without_a_checksum_gets_crc64nvme() {
    let emu = start(
        Config::default()
            .bucket(STATE)
            .object(STATE, "seeded", b"seed".to_vec()),
    )
    .await;
    let res = raw(&emu, "PUT", &format!("/{STATE}/plain"), &[S3_AUTH], "plain").await;
    assert_eq!(res.status, 200);
    let crc64 = |data: &[u8]| {
        b64(crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Nvme, data).to_be_bytes())
    };
    assert_eq!(
        res.header("x-amz-checksum-crc64nvme"),
        Some(crc64(b"plain").as_str())
    );
    assert_eq!(res.header("x-amz-checksum-type"), Some("FULL_OBJECT"));
    assert_eq!(res.header("etag"), Some(etag_of(b"plain").as_str()));
    assert_eq!(res.header("content-length"), Some("0"));
    assert_eq!(res.header("content-type"), None);
    assert_eq!(res.body, "");
    // Seeded objects have it too, and the SDK checks a read against it.
    let got = s3(&emu)
        .get_object()
        .bucket(STATE)
        .key("seeded")
        .send()
        .await
        .unwrap();
    assert_eq!(got.checksum_crc64_nvme(), Some(crc64(b"seed").as_str()));
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        b"seed"
    );
}

#[tokio::test]
async fn wrong_checksums_and_digests_are_refused_and_nothing_is_stored() {
    let emu = start(Config::default().bucket(STATE)).await;
    let path = format!("/{STATE}/k");
    let md5_of_other = b64(md5::Md5::digest(b"other"));
    let md5_hex_of_other: String = md5::Md5::digest(b"other")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for (header, value, code, message) in [
        (
            "x-amz-checksum-crc32",
            "AAAAAA==",
            "BadDigest",
            "<Message>The CRC32 you specified did not match the calculated checksum.</Message>".to_string(),
        ),
        (
            "x-amz-checksum-sha256",
            "not-base64",
            "InvalidRequest",
            "<Message>Value for x-amz-checksum-sha256 header is invalid.</Message>".to_string(),
        ),
        (
            "Content-MD5",
            md5_of_other.as_str(),
            "BadDigest",
            format!(
                "<Message>The Content-MD5 you specified did not match what we received.</Message><ExpectedDigest>{md5_hex_of_other}</ExpectedDigest><CalculatedDigest>{}</CalculatedDigest>",
                b64(md5::Md5::digest(b"data"))
            ),
        ),
        (
            "Content-MD5",
            "MTIz",
            "InvalidDigest",
            "<Message>The Content-MD5 you specified was invalid.</Message><Content-MD5>MTIz</Content-MD5>".to_string(),
        ),
    ] {
        let res = raw(&emu, "PUT", &path, &[S3_AUTH, (header, value)], "data").await;
        assert_eq!(res.status, 400, "{header}: {value}");
        assert!(
            res.body.contains(&format!("<Code>{code}</Code>{message}")),
            "{header}: {}",
            res.body
        );
    }
    // A right Content-MD5 beside a right checksum is taken.
    let md5_of_data = b64(md5::Md5::digest(b"data"));
    let res = raw(
        &emu,
        "PUT",
        &path,
        &[
            S3_AUTH,
            ("Content-MD5", &md5_of_data),
            ("x-amz-checksum-sha1", &b64(sha1::Sha1::digest(b"data"))),
        ],
        "data",
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let snap = emu.snapshot();
    assert_eq!(snap.objects.len(), 1);
    let codes: Vec<&str> = snap
        .s3_requests
        .iter()
        .map(|r| r.error_code.as_deref().unwrap_or("-"))
        .collect();
    assert_eq!(
        codes,
        [
            "BadDigest",
            "InvalidRequest",
            "BadDigest",
            "InvalidDigest",
            "-"
        ]
    );
}

/// `data` as one `aws-chunked` chunk, signed or not, with a trailing checksum.
fn chunked(data: &str, signed: bool, trailer: (&str, &str)) -> String {
    let signature = if signed {
        format!(";chunk-signature={}", "0".repeat(64))
    } else {
        String::new()
    };
    let mut body = format!("{:x}{signature}\r\n{data}\r\n0{signature}\r\n", data.len());
    body.push_str(&format!("{}:{}\r\n", trailer.0, trailer.1));
    if signed {
        body.push_str(&format!("x-amz-trailer-signature:{}\r\n", "0".repeat(64)));
    }
    body.push_str("\r\n");
    body
}

#[tokio::test]
async fn chunked_uploads_are_decoded_and_their_trailers_checked() {
    let emu = start(Config::default().bucket(STATE)).await;
    let data = "hello, chunked world";
    let crc32 = b64(
        (crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32IsoHdlc, data.as_bytes()) as u32)
            .to_be_bytes(),
    );
    let length = data.len().to_string();
    for (signed, payload) in [
        (true, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"),
        (false, "STREAMING-UNS3_AUTH-PAYLOAD-TRAILER"),
    ] {
        let key = format!("/{STATE}/{payload}");
        let headers = [
            S3_AUTH,
            ("Content-Encoding", "aws-chunked"),
            ("x-amz-content-sha256", payload),
            ("x-amz-decoded-content-length", &length),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
        ];
        let res = raw(
            &emu,
            "PUT",
            &key,
            &headers,
            &chunked(data, signed, ("x-amz-checksum-crc32", &crc32)),
        )
        .await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(res.header("x-amz-checksum-crc32"), Some(crc32.as_str()));
        assert_eq!(res.header("etag"), Some(etag_of(data.as_bytes()).as_str()));
        let wrong = chunked(data, signed, ("x-amz-checksum-crc32", "AAAAAA=="));
        let res = raw(&emu, "PUT", &key, &headers, &wrong).await;
        assert_eq!(res.status, 400);
        assert!(res.body.contains("<Code>BadDigest</Code>"), "{}", res.body);
    }
    // A body shorter than declared, and one that is not aws-chunked at all.
    let headers = [
        S3_AUTH,
        ("Content-Encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "99"),
    ];
    let res = raw(
        &emu,
        "PUT",
        &format!("/{STATE}/short"),
        &headers,
        &chunked(data, false, ("x-amz-checksum-crc32", &crc32)),
    )
    .await;
    assert_eq!(res.status, 400);
    assert!(
        res.body.contains("<Code>IncompleteBody</Code>"),
        "{}",
        res.body
    );
    let res = raw(
        &emu,
        "PUT",
        &format!("/{STATE}/garbled"),
        &headers[..2],
        "not chunked",
    )
    .await;
    assert_eq!(res.status, 400);
    assert!(
        res.body.contains("<Code>InvalidRequest</Code>"),
        "{}",
        res.body
    );
    let stored: Vec<(String, u64)> = emu
        .snapshot()
        .objects
        .iter()
        .map(|o| (o.key.clone(), o.size))
        .collect();
    assert_eq!(
        stored,
        [
            (
                "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER".to_string(),
                data.len() as u64
            ),
            (
                "STREAMING-UNS3_AUTH-PAYLOAD-TRAILER".to_string(),
                data.len() as u64
            ),
        ]
    );
}

#[tokio::test]
async fn reads_honour_their_conditions() {
    let emu = start(Config::default().bucket(STATE)).await;
    let client = s3(&emu);
    let etag = put(&client, "k", b"v1").await;
    let path = format!("/{STATE}/k");
    let last_modified = raw(&emu, "HEAD", &path, &[S3_AUTH], "")
        .await
        .header("last-modified")
        .unwrap()
        .to_string();
    let long_ago = "Mon, 01 Jan 2001 00:00:00 GMT";
    for (method, condition, value, expected) in [
        ("GET", "If-Match", etag.as_str(), 200),
        ("GET", "If-Match", "\"0000\"", 412),
        ("HEAD", "If-Match", "\"0000\"", 412),
        ("GET", "If-None-Match", etag.as_str(), 304),
        ("HEAD", "If-None-Match", etag.as_str(), 304),
        ("GET", "If-None-Match", "\"0000\"", 200),
        ("GET", "If-Modified-Since", last_modified.as_str(), 304),
        ("GET", "If-Modified-Since", long_ago, 200),
        ("GET", "If-Unmodified-Since", long_ago, 412),
        ("GET", "If-Unmodified-Since", last_modified.as_str(), 200),
    ] {
        let res = raw(&emu, method, &path, &[S3_AUTH, (condition, value)], "").await;
        assert_eq!(res.status, expected, "{method} {condition}: {value}");
        if expected == 304 {
            assert_eq!(res.header("etag"), Some(etag.as_str()));
            assert_eq!(res.body, "");
        }
        if expected == 412 && method == "GET" {
            assert!(
                res.body
                    .contains(&format!("<Condition>{condition}</Condition>")),
                "{}",
                res.body
            );
        }
    }
    // A true If-Match outweighs a false If-Unmodified-Since, as the API
    // reference says.
    let res = raw(
        &emu,
        "GET",
        &path,
        &[
            S3_AUTH,
            ("If-Match", &etag),
            ("If-Unmodified-Since", long_ago),
        ],
        "",
    )
    .await;
    assert_eq!(res.status, 200);
    // Through the SDK: a failed If-Match is the 412 of S3's error document.
    let err = client
        .get_object()
        .bucket(STATE)
        .key("k")
        .if_match("\"0000\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), status(&err)),
        (Some("PreconditionFailed"), 412)
    );
}

#[tokio::test]
async fn head_tells_the_length_and_sends_no_body() {
    let emu = start(Config::default().object(STATE, "a b/ü.txt", b"twelve bytes".to_vec())).await;
    let res = raw(
        &emu,
        "HEAD",
        &format!("/{STATE}/a%20b/%C3%BC.txt"),
        &[S3_AUTH],
        "",
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-length"), Some("12"));
    assert_eq!(res.header("content-type"), Some(DEFAULT_CONTENT_TYPE));
    assert_eq!(res.header("accept-ranges"), Some("bytes"));
    assert_eq!(res.header("x-amz-server-side-encryption"), Some("AES256"));
    assert_eq!(res.body, "");
    // A missing key: 404 with no body, as S3 answers a HEAD.
    let res = raw(&emu, "HEAD", &format!("/{STATE}/nope"), &[S3_AUTH], "").await;
    assert_eq!((res.status, res.body.as_str()), (404, ""));
}

#[tokio::test]
async fn keys_longer_than_s3_takes_are_refused() {
    let emu = start(Config::default().bucket(STATE)).await;
    let key = "k".repeat(1025);
    let err = s3(&emu)
        .put_object()
        .bucket(STATE)
        .key(&key)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!((err.code(), status(&err)), (Some("KeyTooLongError"), 400));
    assert!(emu.snapshot().objects.is_empty());
}

/// The functions' own role, which a state or site bucket opens to.
const FUNCTIONS_KEY_ID: &str = "AKIAFUNCTIONSROLE01";

#[tokio::test]
async fn each_bucket_opens_to_its_own_access_keys() {
    let emu = start(
        Config::default()
            .object(BUCKET, ARTIFACT_KEY, site_zip())
            .bucket_access_key(BUCKET, ARTIFACT_KEY_ID)
            .bucket(STATE)
            .bucket_access_key(STATE, FUNCTIONS_KEY_ID),
    )
    .await;
    let functions = s3_as(&emu, FUNCTIONS_KEY_ID, RetryConfig::disabled());
    let artifact = s3_as(&emu, ARTIFACT_KEY_ID, RetryConfig::disabled());

    put(&functions, "runs/job-1/plan.json", b"{}").await;
    let listed = functions
        .list_objects_v2()
        .bucket(STATE)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(1));
    let got = artifact
        .get_object()
        .bucket(BUCKET)
        .key(ARTIFACT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_length(), Some(site_zip().len() as i64));

    // Each key is refused at the other bucket, whatever the operation.
    let err = functions
        .get_object()
        .bucket(BUCKET)
        .key(ARTIFACT_KEY)
        .send()
        .await
        .unwrap_err();
    assert_eq!((err.code(), status(&err)), (Some("AccessDenied"), 403));
    let err = artifact
        .put_object()
        .bucket(STATE)
        .key("runs/job-1/plan.json")
        .body(ByteStream::from_static(b"{}"))
        .send()
        .await
        .unwrap_err();
    assert_eq!((err.code(), status(&err)), (Some("AccessDenied"), 403));
    let err = artifact
        .list_objects_v2()
        .bucket(STATE)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDenied"));
    // With no key for every other bucket, a name that is no bucket is told so.
    let err = functions
        .list_objects_v2()
        .bucket("no-such-bucket")
        .send()
        .await
        .unwrap_err();
    assert_eq!((err.code(), status(&err)), (Some("NoSuchBucket"), 404));

    let denied: Vec<(Operation, u16)> = emu
        .snapshot()
        .s3_requests
        .iter()
        .filter(|r| r.error_code.as_deref() == Some("AccessDenied"))
        .map(|r| (r.operation, r.status))
        .collect();
    assert_eq!(
        denied,
        [
            (Operation::GetObject, 403),
            (Operation::PutObject, 403),
            (Operation::ListObjectsV2, 403),
        ]
    );
}

#[tokio::test]
async fn faults_strike_every_s3_operation_as_s3_throttles() {
    let mut config = Config::default()
        .bucket(STATE)
        .object(STATE, "k", b"v".to_vec());
    for op in [
        Operation::PutObject,
        Operation::HeadObject,
        Operation::DeleteObject,
        Operation::ListObjectsV2,
    ] {
        config = config.fault(op, always(FaultCode::Throttling));
    }
    let emu = start(config).await;
    let client = s3(&emu);
    let errors = [
        client
            .put_object()
            .bucket(STATE)
            .key("k")
            .body(ByteStream::from_static(b"v2"))
            .send()
            .await
            .unwrap_err()
            .into_service_error()
            .meta()
            .clone(),
        client
            .head_object()
            .bucket(STATE)
            .key("k")
            .send()
            .await
            .unwrap_err()
            .into_service_error()
            .meta()
            .clone(),
        client
            .delete_object()
            .bucket(STATE)
            .key("k")
            .send()
            .await
            .unwrap_err()
            .into_service_error()
            .meta()
            .clone(),
        client
            .list_objects_v2()
            .bucket(STATE)
            .send()
            .await
            .unwrap_err()
            .into_service_error()
            .meta()
            .clone(),
    ];
    // HEAD answers carry no body, so the SDK sees the status alone there.
    let codes: Vec<Option<&str>> = errors.iter().map(|e| e.code()).collect();
    assert_eq!(codes[0], Some("SlowDown"));
    assert_eq!(codes[2..], [Some("SlowDown"), Some("SlowDown")]);
    let snap = emu.snapshot();
    assert_eq!(snap.fault_log.len(), 4);
    assert!(snap
        .fault_log
        .iter()
        .all(|f| (f.code.as_str(), f.status) == ("SlowDown", 503)));
    // Nothing took effect.
    assert_eq!(snap.objects.len(), 1);
    assert_eq!(snap.objects[0].size, 1);
    assert!(snap.s3_requests.iter().all(|r| r.status == 503));
}
