//! ListObjectsV2 through `aws-sdk-s3`, as a function lists a site bucket to
//! keep a manifest of it: pages of up to 1,000 with the SDK's paginator,
//! prefixes, delimiters, `start-after`, keys that need escaping and
//! `encoding-type=url`; and, by raw HTTP, the document itself and the
//! parameters S3 refuses.

use aws_emulator::{Config, Operation};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::EncodingType;
use sha2::Digest as _;

use crate::common::{raw, s3, start, status, S3_AUTH};

/// A site bucket, as a deploy stage syncs a static site into.
const SITE: &str = "example-site-bucket";

/// A site bucket holding `keys`, each object its own key as bytes, on a
/// manual clock (so that the objects' time is the emulator's now).
fn site(keys: &[String]) -> Config {
    keys.iter().fold(
        Config::default().manual_clock().bucket(SITE),
        |config, key| config.object(SITE, key.clone(), key.as_bytes().to_vec()),
    )
}

/// Every key the SDK's paginator lists, and the size of each page.
async fn list_all(
    client: &aws_sdk_s3::Client,
    page_size: Option<i32>,
) -> (Vec<String>, Vec<usize>) {
    let mut pages = client
        .list_objects_v2()
        .bucket(SITE)
        .set_max_keys(page_size)
        .into_paginator()
        .send();
    let (mut keys, mut sizes) = (Vec::new(), Vec::new());
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        let listed: Vec<String> = page
            .contents()
            .iter()
            .map(|o| o.key().unwrap().to_string())
            .collect();
        assert_eq!(page.key_count(), Some(listed.len() as i32));
        sizes.push(listed.len());
        keys.extend(listed);
    }
    (keys, sizes)
}

#[tokio::test]
async fn the_paginator_lists_more_than_a_thousand_keys_in_order() {
    let keys: Vec<String> = (0..2_345).map(|i| format!("posts/{i:05}.html")).collect();
    let emu = start(site(&keys)).await;
    let client = s3(&emu);

    let (listed, pages) = list_all(&client, None).await;
    assert_eq!(listed, keys);
    assert_eq!(pages, [1000, 1000, 345]);
    // A page size asked for is kept; more than 1,000 is 1,000.
    let (listed, pages) = list_all(&client, Some(700)).await;
    assert_eq!(listed.len(), keys.len());
    assert_eq!(pages, [700, 700, 700, 245]);
    let (_, pages) = list_all(&client, Some(5_000)).await;
    assert_eq!(pages, [1000, 1000, 345]);

    let first = client
        .list_objects_v2()
        .bucket(SITE)
        .max_keys(2)
        .send()
        .await
        .unwrap();
    assert_eq!(first.is_truncated(), Some(true));
    assert_eq!(first.max_keys(), Some(2));
    assert_eq!(first.name(), Some(SITE));
    let object = &first.contents()[0];
    assert_eq!(object.size(), Some(keys[0].len() as i64));
    assert_eq!(object.e_tag().unwrap().len(), 34);
    assert_eq!(object.storage_class().map(|c| c.as_str()), Some("STANDARD"));
    assert_eq!(
        object.last_modified().unwrap().secs(),
        aws_sdk_s3::primitives::DateTime::from(emu.now()).secs()
    );
    let token = first.next_continuation_token().unwrap();
    let second = client
        .list_objects_v2()
        .bucket(SITE)
        .max_keys(2)
        .continuation_token(token)
        .send()
        .await
        .unwrap();
    assert_eq!(second.continuation_token(), Some(token));
    assert_eq!(second.contents()[0].key(), Some(keys[2].as_str()));
    assert_eq!(
        emu.snapshot().calls_of(Operation::ListObjectsV2),
        3 + 4 + 3 + 2
    );
}

#[tokio::test]
async fn keys_with_spaces_and_other_scripts_list_as_put() {
    let emu = start(Config::default().bucket(SITE)).await;
    let client = s3(&emu);
    // In UTF-8 binary order, as S3 lists: "Z" < "a" < "a b" < "a+b" < "z" < "é" < "日".
    let keys = [
        "Z.html",
        "a b/c d.html",
        "a+b.html",
        "docs/naïve café.html",
        "z.html",
        "é.html",
        "日本語/ページ.html",
    ];
    for key in keys.iter().rev() {
        client
            .put_object()
            .bucket(SITE)
            .key(*key)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap();
    }
    let (listed, _) = list_all(&client, Some(3)).await;
    assert_eq!(listed, keys);
}

#[tokio::test]
async fn encoding_type_url_encodes_keys_and_what_is_echoed() {
    let keys = ["a b/c.txt", "a+b/c.txt", "a b/d=e (1).txt", "ü/x.txt"].map(String::from);
    let emu = start(site(&keys)).await;
    let client = s3(&emu);
    let page = client
        .list_objects_v2()
        .bucket(SITE)
        .encoding_type(EncodingType::Url)
        .prefix("a b/")
        .start_after("a b/c.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(page.encoding_type(), Some(&EncodingType::Url));
    // The Rust SDK leaves the decoding to the caller: S3's form encoding.
    assert_eq!(page.prefix(), Some("a+b/"));
    assert_eq!(page.start_after(), Some("a+b/c.txt"));
    let listed: Vec<&str> = page.contents().iter().map(|o| o.key().unwrap()).collect();
    assert_eq!(listed, ["a+b/d%3De+%281%29.txt"]);

    let page = client
        .list_objects_v2()
        .bucket(SITE)
        .encoding_type(EncodingType::Url)
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let prefixes: Vec<&str> = page
        .common_prefixes()
        .iter()
        .map(|p| p.prefix().unwrap())
        .collect();
    assert_eq!(prefixes, ["a+b/", "a%2Bb/", "%C3%BC/"]);
    assert_eq!(page.delimiter(), Some("/"));
    // Decoded as boto3 decodes them (unquote_plus), they are the keys again.
    let decoded: Vec<String> = prefixes
        .iter()
        .map(|p| {
            let spaced = p.replace('+', " ");
            percent_encoding::percent_decode_str(&spaced)
                .decode_utf8()
                .unwrap()
                .into_owned()
        })
        .collect();
    assert_eq!(decoded, ["a b/", "a+b/", "ü/"]);
}

#[tokio::test]
async fn delimiter_and_prefix_list_a_folder() {
    let keys = [
        "404.html",
        "css/site.css",
        "css/vendor/reset.css",
        "img/logo.png",
        "index.html",
        "posts/a.html",
        "posts/b.html",
        "posts/drafts/c.html",
    ]
    .map(String::from);
    let emu = start(site(&keys)).await;
    let client = s3(&emu);
    let root = client
        .list_objects_v2()
        .bucket(SITE)
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let files: Vec<&str> = root.contents().iter().map(|o| o.key().unwrap()).collect();
    let folders: Vec<&str> = root
        .common_prefixes()
        .iter()
        .map(|p| p.prefix().unwrap())
        .collect();
    assert_eq!(files, ["404.html", "index.html"]);
    assert_eq!(folders, ["css/", "img/", "posts/"]);
    assert_eq!(root.key_count(), Some(5));

    let posts = client
        .list_objects_v2()
        .bucket(SITE)
        .prefix("posts/")
        .delimiter("/")
        .max_keys(2)
        .send()
        .await
        .unwrap();
    let files: Vec<&str> = posts.contents().iter().map(|o| o.key().unwrap()).collect();
    assert_eq!(files, ["posts/a.html", "posts/b.html"]);
    assert_eq!(posts.is_truncated(), Some(true));
    let rest = client
        .list_objects_v2()
        .bucket(SITE)
        .prefix("posts/")
        .delimiter("/")
        .continuation_token(posts.next_continuation_token().unwrap())
        .send()
        .await
        .unwrap();
    assert!(rest.contents().is_empty());
    assert_eq!(rest.common_prefixes()[0].prefix(), Some("posts/drafts/"));
    assert_eq!(rest.is_truncated(), Some(false));
    assert_eq!(rest.next_continuation_token(), None);
}

#[tokio::test]
async fn the_list_document_is_written_as_s3_writes_it() {
    let keys = ["a.html", "b.html"].map(String::from);
    let emu = start(site(&keys)).await;
    let res = raw(
        &emu,
        "GET",
        &format!("/{SITE}?list-type=2&max-keys=1&fetch-owner=true"),
        &[S3_AUTH],
        "",
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/xml"));
    assert!(res.header("x-amz-request-id").is_some());
    let token = res
        .body
        .split("<NextContinuationToken>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap();
    let now = aws_sdk_s3::primitives::DateTime::from(emu.now()).secs();
    let modified = aws_sdk_s3::primitives::DateTime::from_secs(now)
        .fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime)
        .unwrap();
    let modified = format!("{}.000Z", modified.trim_end_matches('Z'));
    let md5: [u8; 16] = md5::Md5::digest(b"a.html").into();
    let etag: String = md5.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        res.body,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>{SITE}</Name><Prefix></Prefix><NextContinuationToken>{token}</NextContinuationToken><KeyCount>1</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>true</IsTruncated><Contents><Key>a.html</Key><LastModified>{modified}</LastModified><ETag>&quot;{}&quot;</ETag><ChecksumAlgorithm>CRC64NVME</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType><Size>6</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>",
            etag
        )
    );
    // An empty bucket: no Contents at all.
    let emu = start(Config::default().bucket(SITE)).await;
    let res = raw(
        &emu,
        "GET",
        &format!("/{SITE}/?list-type=2"),
        &[S3_AUTH],
        "",
    )
    .await;
    assert!(
        res.body.ends_with("<Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>"),
        "{}",
        res.body
    );
}

#[tokio::test]
async fn parameters_s3_refuses() {
    let keys = ["a".to_string()];
    let emu = start(site(&keys)).await;
    for (query, argument) in [
        (
            "encoding-type=base64",
            "<ArgumentName>encoding-type</ArgumentName><ArgumentValue>base64</ArgumentValue>",
        ),
        (
            "max-keys=-1",
            "<ArgumentName>max-keys</ArgumentName><ArgumentValue>-1</ArgumentValue>",
        ),
        ("max-keys=ten", "<ArgumentName>max-keys</ArgumentName>"),
        (
            "continuation-token=",
            "<ArgumentName>continuation-token</ArgumentName>",
        ),
        (
            "continuation-token=bm90IGEgdG9rZW4%3D",
            "<ArgumentName>continuation-token</ArgumentName>",
        ),
    ] {
        let res = raw(
            &emu,
            "GET",
            &format!("/{SITE}?list-type=2&{query}"),
            &[S3_AUTH],
            "",
        )
        .await;
        assert_eq!(res.status, 400, "{query}");
        assert!(
            res.body.contains("<Code>InvalidArgument</Code>") && res.body.contains(argument),
            "{query}: {}",
            res.body
        );
    }
    let err = s3(&emu)
        .list_objects_v2()
        .bucket("no-such-bucket")
        .send()
        .await
        .unwrap_err();
    assert_eq!((err.code(), status(&err)), (Some("NoSuchBucket"), 404));
    // max-keys=0 is an empty page that is not truncated.
    let page = s3(&emu)
        .list_objects_v2()
        .bucket(SITE)
        .max_keys(0)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (page.key_count(), page.is_truncated()),
        (Some(0), Some(false))
    );
}
