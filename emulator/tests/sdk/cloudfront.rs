//! CloudFront invalidations through `aws-sdk-cloudfront`.

use std::time::Duration;

use aws_emulator::{Operation, COMPLETED, IN_PROGRESS};
use aws_sdk_cloudfront::error::ProvideErrorMetadata;
use aws_sdk_cloudfront::operation::create_invalidation::CreateInvalidationError;
use aws_sdk_cloudfront::operation::get_invalidation::GetInvalidationError;
use aws_sdk_cloudfront::operation::RequestId;
use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};

use crate::common::{
    advance, batch, cloudfront, config, files, start, status, wildcards, DENIED, DIST, DIST2,
};

#[tokio::test]
async fn create_get_and_completion() {
    let emu = start(
        config()
            .manual_clock()
            .invalidation_duration(Duration::from_secs(5)),
    )
    .await;
    let cf = cloudfront(&emu);

    let out = cf
        .create_invalidation()
        .distribution_id(DIST)
        .invalidation_batch(batch("ref-1", &["/index.html", "/img/*"]))
        .send()
        .await
        .unwrap();
    let inv = out.invalidation().unwrap();
    let id = inv.id().to_string();
    assert_eq!(id.len(), 14);
    assert!(id.starts_with('I'));
    assert!(id
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
    assert_eq!(inv.status(), IN_PROGRESS);
    assert_eq!(
        out.location(),
        Some(
            format!(
                "{}/2020-05-31/distribution/{DIST}/invalidation/{id}",
                emu.endpoint_url()
            )
            .as_str()
        )
    );
    let b = inv.invalidation_batch().unwrap();
    assert_eq!(b.caller_reference(), "ref-1");
    assert_eq!(b.paths().unwrap().quantity(), 2);
    assert_eq!(b.paths().unwrap().items(), ["/index.html", "/img/*"]);
    let age = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - inv.create_time().secs();
    assert!((0..=5).contains(&age), "CreateTime is {age}s old");
    assert!(out.request_id().is_some());

    let got = cf
        .get_invalidation()
        .distribution_id(DIST)
        .id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.invalidation().unwrap().status(), IN_PROGRESS);
    assert_eq!(
        got.invalidation().unwrap().invalidation_batch(),
        inv.invalidation_batch()
    );

    // One millisecond short of the duration it is still in progress; at the
    // duration it is complete.
    advance(&emu, Duration::from_millis(4999));
    let status = || async {
        cf.get_invalidation()
            .distribution_id(DIST)
            .id(&id)
            .send()
            .await
            .unwrap()
            .invalidation()
            .unwrap()
            .status()
            .to_string()
    };
    assert_eq!(status().await, IN_PROGRESS);
    advance(&emu, Duration::from_millis(1));
    assert_eq!(status().await, COMPLETED);
    // CreateTime is where the clock stood at creation, not where it is now.
    let got = cf
        .get_invalidation()
        .distribution_id(DIST)
        .id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.invalidation().unwrap().create_time(), inv.create_time());

    let snap = emu.snapshot();
    assert_eq!(snap.invalidations.len(), 1);
    let rec = &snap.invalidations[0];
    assert_eq!(
        (rec.distribution_id.as_str(), rec.id.as_str()),
        (DIST, id.as_str())
    );
    assert_eq!(rec.caller_reference, "ref-1");
    assert_eq!(rec.paths, ["/index.html", "/img/*"]);
    assert_eq!(rec.status, COMPLETED);
    assert_eq!(snap.calls_of(Operation::CreateInvalidation), 1);
    assert_eq!(snap.calls_of(Operation::GetInvalidation), 4);
}

#[tokio::test]
async fn caller_reference_replays_or_conflicts() {
    let emu = start(config()).await;
    let cf = cloudfront(&emu);
    let create = |reference: &'static str, paths: &'static [&'static str], dist: &'static str| {
        cf.create_invalidation()
            .distribution_id(dist)
            .invalidation_batch(batch(reference, paths))
            .send()
    };

    let first = create("same", &["/a", "/b"], DIST).await.unwrap();
    let first_id = first.invalidation().unwrap().id().to_string();
    // Same reference, same paths in another order: the original comes back.
    let again = create("same", &["/b", "/a"], DIST).await.unwrap();
    assert_eq!(again.invalidation().unwrap().id(), first_id);
    assert_eq!(
        again
            .invalidation()
            .unwrap()
            .invalidation_batch()
            .unwrap()
            .paths()
            .unwrap()
            .items(),
        ["/a", "/b"]
    );
    assert!(again.location().unwrap().ends_with(&first_id));

    // Same reference, other paths: refused with an unmodelled code.
    let err = create("same", &["/a", "/c"], DIST).await.unwrap_err();
    assert_eq!(err.code(), Some("InvalidationBatchAlreadyExists"));
    assert_eq!(status(&err), 409);
    // Unmodelled, so no variant of its own: `code()` is how callers tell.
    let service = err.as_service_error().unwrap();
    assert!(!service.is_invalid_argument() && !service.is_too_many_invalidations_in_progress());

    // References are per distribution.
    let other = create("same", &["/a", "/c"], DIST2).await.unwrap();
    assert_ne!(other.invalidation().unwrap().id(), first_id);
    assert_eq!(emu.snapshot().invalidations.len(), 2);
}

#[tokio::test]
async fn in_progress_limits() {
    let emu = start(
        config()
            .manual_clock()
            .invalidation_duration(Duration::from_secs(2)),
    )
    .await;
    let cf = cloudfront(&emu);
    let send = |reference: String, paths: Vec<String>| {
        cf.create_invalidation()
            .distribution_id(DIST)
            .invalidation_batch(batch(&reference, &paths))
            .send()
    };

    // One batch over a quota on its own is too large.
    let err = send("big-files".into(), files(3001, "f"))
        .await
        .unwrap_err();
    assert!(
        err.as_service_error().unwrap().is_batch_too_large(),
        "{err:?}"
    );
    assert_eq!(status(&err), 413);
    let err = send("big-wild".into(), wildcards(16, "w"))
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_batch_too_large());

    // The two quotas fill independently.
    send("w15".into(), wildcards(15, "w")).await.unwrap();
    send("f3000".into(), files(3000, "f")).await.unwrap();
    let err = send("w1".into(), wildcards(1, "x")).await.unwrap_err();
    assert!(
        err.as_service_error()
            .unwrap()
            .is_too_many_invalidations_in_progress(),
        "{err:?}"
    );
    assert_eq!(status(&err), 400);
    let err = send("f1".into(), files(1, "x")).await.unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_too_many_invalidations_in_progress());
    // Another distribution has its own quota.
    cf.create_invalidation()
        .distribution_id(DIST2)
        .invalidation_batch(batch("w-other", &["/*"]))
        .send()
        .await
        .unwrap();

    // Once they complete, room is free again.
    advance(&emu, Duration::from_secs(2));
    send("w1".into(), wildcards(1, "x")).await.unwrap();
    send("f1".into(), files(1, "x")).await.unwrap();
    assert_eq!(emu.snapshot().invalidations.len(), 5);
}

#[tokio::test]
async fn errors_map_to_modelled_variants() {
    let emu = start(config()).await;
    let cf = cloudfront(&emu);

    // NoSuchDistribution, on both operations.
    let err = cf
        .create_invalidation()
        .distribution_id("EUNKNOWN000000")
        .invalidation_batch(batch("r", &["/a"]))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        err.as_service_error(),
        Some(CreateInvalidationError::NoSuchDistribution(_))
    ));
    assert_eq!(status(&err), 404);
    assert!(err.message().is_some());
    assert!(err.request_id().is_some());
    let err = cf
        .get_invalidation()
        .distribution_id("EUNKNOWN000000")
        .id("I1")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        err.as_service_error(),
        Some(GetInvalidationError::NoSuchDistribution(_))
    ));

    // AccessDenied.
    let err = cf
        .create_invalidation()
        .distribution_id(DENIED)
        .invalidation_batch(batch("r", &["/a"]))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        err.as_service_error(),
        Some(CreateInvalidationError::AccessDenied(_))
    ));
    assert_eq!(status(&err), 403);
    let err = cf
        .get_invalidation()
        .distribution_id(DENIED)
        .id("I1")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        err.as_service_error(),
        Some(GetInvalidationError::AccessDenied(_))
    ));

    // NoSuchInvalidation.
    let err = cf
        .get_invalidation()
        .distribution_id(DIST)
        .id("I0000000000000")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        err.as_service_error(),
        Some(GetInvalidationError::NoSuchInvalidation(_))
    ));
    assert_eq!(status(&err), 404);

    // InvalidArgument: no leading slash, inner wildcard, too long, empty.
    let long = format!("/{}", "x".repeat(4000));
    for paths in [
        vec!["index.html"],
        vec!["/a*/b"],
        vec![long.as_str()],
        vec![],
    ] {
        let err = cf
            .create_invalidation()
            .distribution_id(DIST)
            .invalidation_batch(batch("r", &paths))
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.as_service_error(),
                Some(CreateInvalidationError::InvalidArgument(_))
            ),
            "{paths:?}: {err:?}"
        );
        assert_eq!(status(&err), 400);
    }

    // InconsistentQuantities.
    let bad = InvalidationBatch::builder()
        .paths(Paths::builder().quantity(2).items("/a").build().unwrap())
        .caller_reference("r")
        .build()
        .unwrap();
    let err = cf
        .create_invalidation()
        .distribution_id(DIST)
        .invalidation_batch(bad)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        err.as_service_error(),
        Some(CreateInvalidationError::InconsistentQuantities(_))
    ));

    // MissingBody: the SDK sends no body when the batch is unset.
    let err = cf
        .create_invalidation()
        .distribution_id(DIST)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.as_service_error(),
            Some(CreateInvalidationError::MissingBody(_))
        ),
        "{err:?}"
    );

    assert!(emu.snapshot().invalidations.is_empty());
}
