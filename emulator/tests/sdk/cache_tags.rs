//! CloudFront invalidation by cache tag (`#tag` items in `Paths`) through
//! `aws-sdk-cloudfront`.

use aws_emulator::{
    Operation, MAX_CACHE_TAG_LEN, MAX_IN_PROGRESS_PATHS, MAX_IN_PROGRESS_WILDCARDS,
};
use aws_sdk_cloudfront::error::ProvideErrorMetadata;

use crate::common::{
    batch, cloudfront, config, files, start, status, wildcards, DIST, DIST2, TENANT, TENANT2,
};

/// A tenant with a cache tag config, and one without.
const TAGGED_TENANT: &str = TENANT;
const PLAIN_TENANT: &str = TENANT2;

/// `DIST` and `TAGGED_TENANT` have a CacheTagConfig; `DIST2` and
/// `PLAIN_TENANT` do not.
fn tag_config() -> aws_emulator::Config {
    config()
        .tenant(TAGGED_TENANT)
        .tenant(PLAIN_TENANT)
        .cache_tags(DIST)
        .cache_tags(TAGGED_TENANT)
}

#[tokio::test]
async fn tags_alone_are_stored_and_answered_as_sent() {
    let emu = start(tag_config()).await;
    let cf = cloudfront(&emu);
    let items = ["#product-123", "#Brand:Acme", "#a%20b"];
    let out = cf
        .create_invalidation()
        .distribution_id(DIST)
        .invalidation_batch(batch("tags", &items))
        .send()
        .await
        .unwrap();
    let inv = out.invalidation().unwrap();
    let paths = inv.invalidation_batch().unwrap().paths().unwrap();
    assert_eq!(paths.quantity(), 3);
    // No `/` added, no percent-decoding, no case folding.
    assert_eq!(paths.items(), items);
    let got = cf
        .get_invalidation()
        .distribution_id(DIST)
        .id(inv.id())
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.invalidation()
            .unwrap()
            .invalidation_batch()
            .unwrap()
            .paths()
            .unwrap()
            .items(),
        items
    );
    assert_eq!(emu.snapshot().invalidations[0].paths, items);
}

#[tokio::test]
async fn tags_mix_with_paths_for_distributions_and_tenants() {
    let emu = start(tag_config()).await;
    let cf = cloudfront(&emu);
    let items = ["/images/*", "#product-123", "/index.html"];
    let out = cf
        .create_invalidation()
        .distribution_id(DIST)
        .invalidation_batch(batch("mixed", &items))
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.invalidation()
            .unwrap()
            .invalidation_batch()
            .unwrap()
            .paths()
            .unwrap()
            .items(),
        items
    );
    let out = cf
        .create_invalidation_for_distribution_tenant()
        .id(TAGGED_TENANT)
        .invalidation_batch(batch("mixed", &items))
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.invalidation()
            .unwrap()
            .invalidation_batch()
            .unwrap()
            .paths()
            .unwrap()
            .items(),
        items
    );
    assert_eq!(emu.snapshot().invalidations.len(), 2);
}

#[tokio::test]
async fn a_tag_without_a_cache_tag_config_is_an_invalid_argument() {
    let emu = start(tag_config()).await;
    let cf = cloudfront(&emu);
    let err = cf
        .create_invalidation()
        .distribution_id(DIST2)
        .invalidation_batch(batch("r", &["/a", "#product-123"]))
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error().unwrap().is_invalid_argument(),
        "{err:?}"
    );
    assert_eq!(status(&err), 400);
    assert_eq!(
        err.message(),
        Some(
            format!(
                "The invalidation item #product-123 is a cache tag, and distribution {DIST2} has no CacheTagConfig."
            )
            .as_str()
        )
    );
    let err = cf
        .create_invalidation_for_distribution_tenant()
        .id(PLAIN_TENANT)
        .invalidation_batch(batch("r", &["#product-123"]))
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error().unwrap().is_invalid_argument(),
        "{err:?}"
    );
    assert!(
        err.message().unwrap().contains(&format!(
            "distribution tenant {PLAIN_TENANT} has no CacheTagConfig"
        )),
        "{err:?}"
    );
    // An unknown distribution is still NoSuchDistribution.
    let err = cf
        .create_invalidation()
        .distribution_id("EUNKNOWN000000")
        .invalidation_batch(batch("r", &["#product-123"]))
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_no_such_distribution());
    assert!(emu.snapshot().invalidations.is_empty(), "nothing created");
}

#[tokio::test]
async fn malformed_tags_are_refused_with_the_item_and_the_reason() {
    let emu = start(tag_config()).await;
    let cf = cloudfront(&emu);
    let too_long = format!("#{}", "x".repeat(MAX_CACHE_TAG_LEN + 1));
    let cases = [
        (
            "#a,b",
            "contains a character CloudFront does not allow in a cache tag: ','",
        ),
        (
            "#a b",
            "contains a character CloudFront does not allow in a cache tag: ' '",
        ),
        (
            too_long.as_str(),
            "is a cache tag longer than 256 characters",
        ),
        ("#product*", "cache tags do not support the wildcard '*'"),
        ("#", "is a cache tag with no name"),
    ];
    for (item, why) in cases {
        let err = cf
            .create_invalidation()
            .distribution_id(DIST)
            .invalidation_batch(batch("bad", &["/ok", item]))
            .send()
            .await
            .unwrap_err();
        assert!(
            err.as_service_error().unwrap().is_invalid_argument(),
            "{item}: {err:?}"
        );
        let message = err.message().unwrap();
        assert!(message.contains(why), "{item}: {message}");
        assert!(message.starts_with("The invalidation item #"), "{message}");
    }
    // Exactly 256 characters after the `#` is fine.
    let longest = format!("#{}", "x".repeat(MAX_CACHE_TAG_LEN));
    cf.create_invalidation()
        .distribution_id(DIST)
        .invalidation_batch(batch("longest", &[&longest]))
        .send()
        .await
        .unwrap();
    let snap = emu.snapshot();
    assert_eq!(snap.invalidations.len(), 1);
    assert_eq!(snap.calls_of(Operation::CreateInvalidation), 6);
}

#[tokio::test]
async fn a_tag_counts_as_one_file_path_toward_the_limits() {
    let emu = start(tag_config()).await;
    let cf = cloudfront(&emu);
    let send = |reference: &str, items: Vec<String>| {
        cf.create_invalidation()
            .distribution_id(DIST)
            .invalidation_batch(batch(reference, &items))
            .send()
    };
    let tags = |n: usize, prefix: &str| -> Vec<String> {
        (0..n).map(|i| format!("#{prefix}-{i}")).collect()
    };

    // Too many tags in one batch is too large, as too many files would be.
    let err = send("big", tags(MAX_IN_PROGRESS_PATHS + 1, "t"))
        .await
        .unwrap_err();
    assert!(
        err.as_service_error().unwrap().is_batch_too_large(),
        "{err:?}"
    );

    // The wildcard quota is full; tags still go in: they are not wildcards.
    send("wild", wildcards(MAX_IN_PROGRESS_WILDCARDS, "w"))
        .await
        .unwrap();
    let mut files_and_tags = files(MAX_IN_PROGRESS_PATHS - 2, "f");
    files_and_tags.push("#one".into());
    send("files", files_and_tags).await.unwrap();
    // One file path of room left: one tag fills it, the next does not fit.
    send("last", vec!["#last".into()]).await.unwrap();
    let err = send("over", vec!["#over".into()]).await.unwrap_err();
    assert!(
        err.as_service_error()
            .unwrap()
            .is_too_many_invalidations_in_progress(),
        "{err:?}"
    );
    assert!(
        err.message().unwrap().contains("3000 file paths"),
        "{err:?}"
    );
    assert_eq!(emu.snapshot().invalidations.len(), 3);
}
