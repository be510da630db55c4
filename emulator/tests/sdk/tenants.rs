//! CloudFront invalidations of distribution tenants (multi-tenant
//! distributions) through `aws-sdk-cloudfront`.

use std::time::Duration;

use aws_emulator::{Operation, COMPLETED, IN_PROGRESS};
use aws_sdk_cloudfront::error::ProvideErrorMetadata;
use aws_sdk_cloudfront::operation::create_invalidation::CreateInvalidationError;
use aws_sdk_cloudfront::operation::create_invalidation_for_distribution_tenant::CreateInvalidationForDistributionTenantError;
use aws_sdk_cloudfront::operation::get_invalidation_for_distribution_tenant::GetInvalidationForDistributionTenantError;
use aws_sdk_cloudfront::operation::RequestId;

use crate::common::{
    advance, batch, cloudfront, config, files, start, state, status, wildcards, DIST, TENANT,
    TENANT2,
};

/// A tenant configured as denied.
const DENIED_TENANT: &str = "dt_DeniedTenant000000000001";
/// Well-formed, but not configured.
const UNKNOWN_TENANT: &str = "dt_UnknownTenant00000000001";

fn tenant_config() -> aws_emulator::Config {
    config()
        .tenant(TENANT)
        .tenant(TENANT2)
        .tenant(DENIED_TENANT)
        .deny(DENIED_TENANT)
}

#[tokio::test]
async fn create_get_and_completion() {
    let emu = start(
        tenant_config()
            .manual_clock()
            .invalidation_duration(Duration::from_secs(5)),
    )
    .await;
    let cf = cloudfront(&emu);

    let out = cf
        .create_invalidation_for_distribution_tenant()
        .id(TENANT)
        .invalidation_batch(batch("ref-1", &["/index.html", "/img/*"]))
        .send()
        .await
        .unwrap();
    let inv = out.invalidation().unwrap();
    let id = inv.id().to_string();
    assert_eq!(id.len(), 14);
    assert!(id.starts_with('I'));
    assert_eq!(inv.status(), IN_PROGRESS);
    assert_eq!(
        out.location(),
        Some(
            format!(
                "{}/2020-05-31/distribution-tenant/{TENANT}/invalidation/{id}",
                emu.endpoint_url()
            )
            .as_str()
        )
    );
    let b = inv.invalidation_batch().unwrap();
    assert_eq!(b.caller_reference(), "ref-1");
    assert_eq!(b.paths().unwrap().items(), ["/index.html", "/img/*"]);
    assert!(out.request_id().is_some());

    let got = cf
        .get_invalidation_for_distribution_tenant()
        .distribution_tenant_id(TENANT)
        .id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.invalidation().unwrap().status(), IN_PROGRESS);
    assert_eq!(
        got.invalidation().unwrap().invalidation_batch(),
        inv.invalidation_batch()
    );

    // A tenant's invalidations are its own: the distribution has none of them.
    let err = cf
        .get_invalidation()
        .distribution_id(DIST)
        .id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NoSuchInvalidation"));

    advance(&emu, Duration::from_secs(5));
    let got = cf
        .get_invalidation_for_distribution_tenant()
        .distribution_tenant_id(TENANT)
        .id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.invalidation().unwrap().status(), COMPLETED);

    let snap = emu.snapshot();
    assert_eq!(snap.invalidations.len(), 1);
    let rec = &snap.invalidations[0];
    assert_eq!(
        (rec.distribution_id.as_str(), rec.tenant, rec.id.as_str()),
        (TENANT, true, id.as_str())
    );
    assert_eq!(rec.status, COMPLETED);
    assert_eq!(
        snap.calls_of(Operation::CreateInvalidationForDistributionTenant),
        1
    );
    assert_eq!(
        snap.calls_of(Operation::GetInvalidationForDistributionTenant),
        2
    );
    assert_eq!(snap.calls_of(Operation::CreateInvalidation), 0);

    let json = state(&emu).await.json();
    assert_eq!(json["invalidations"][0]["distributionId"], TENANT);
    assert_eq!(json["invalidations"][0]["tenant"], true);
    assert_eq!(json["calls"]["GetInvalidationForDistributionTenant"], 2);
}

#[tokio::test]
async fn unknown_tenants_are_entity_not_found() {
    let emu = start(tenant_config()).await;
    let cf = cloudfront(&emu);

    let err = cf
        .create_invalidation_for_distribution_tenant()
        .id(UNKNOWN_TENANT)
        .invalidation_batch(batch("r", &["/a"]))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.as_service_error(),
            Some(CreateInvalidationForDistributionTenantError::EntityNotFound(_))
        ),
        "{err:?}"
    );
    assert_eq!(status(&err), 404);
    assert!(err.message().unwrap().contains(UNKNOWN_TENANT));
    let err = cf
        .get_invalidation_for_distribution_tenant()
        .distribution_tenant_id(UNKNOWN_TENANT)
        .id("I1")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        err.as_service_error(),
        Some(GetInvalidationForDistributionTenantError::EntityNotFound(_))
    ));

    // A distribution id is not a tenant id, nor the other way round.
    let err = cf
        .get_invalidation_for_distribution_tenant()
        .distribution_tenant_id(DIST)
        .id("I1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("EntityNotFound"));
    let err = cf
        .create_invalidation()
        .distribution_id(TENANT)
        .invalidation_batch(batch("r", &["/a"]))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        err.as_service_error(),
        Some(CreateInvalidationError::NoSuchDistribution(_))
    ));

    // A denied tenant.
    let err = cf
        .create_invalidation_for_distribution_tenant()
        .id(DENIED_TENANT)
        .invalidation_batch(batch("r", &["/a"]))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        err.as_service_error(),
        Some(CreateInvalidationForDistributionTenantError::AccessDenied(
            _
        ))
    ));
    assert_eq!(status(&err), 403);

    // A known tenant, an invalidation it does not have (here, the
    // distribution's).
    let dist_inv = cf
        .create_invalidation()
        .distribution_id(DIST)
        .invalidation_batch(batch("r", &["/a"]))
        .send()
        .await
        .unwrap();
    let err = cf
        .get_invalidation_for_distribution_tenant()
        .distribution_tenant_id(TENANT)
        .id(dist_inv.invalidation().unwrap().id())
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        err.as_service_error(),
        Some(GetInvalidationForDistributionTenantError::NoSuchInvalidation(_))
    ));
    assert_eq!(status(&err), 404);
    assert_eq!(emu.snapshot().invalidations.len(), 1);
}

#[tokio::test]
async fn caller_reference_replays_or_conflicts_per_tenant() {
    let emu = start(tenant_config()).await;
    let cf = cloudfront(&emu);
    let create = |reference: &'static str, paths: &'static [&'static str], tenant: &'static str| {
        cf.create_invalidation_for_distribution_tenant()
            .id(tenant)
            .invalidation_batch(batch(reference, paths))
            .send()
    };

    let first = create("same", &["/a", "/b"], TENANT).await.unwrap();
    let first_id = first.invalidation().unwrap().id().to_string();
    let again = create("same", &["/b", "/a"], TENANT).await.unwrap();
    assert_eq!(again.invalidation().unwrap().id(), first_id);
    assert!(again.location().unwrap().ends_with(&first_id));

    let err = create("same", &["/a", "/c"], TENANT).await.unwrap_err();
    assert_eq!(err.code(), Some("InvalidationBatchAlreadyExists"));
    assert_eq!(status(&err), 409);

    // References are per tenant, and apart from the distributions'.
    let other = create("same", &["/a", "/c"], TENANT2).await.unwrap();
    assert_ne!(other.invalidation().unwrap().id(), first_id);
    let dist = cf
        .create_invalidation()
        .distribution_id(DIST)
        .invalidation_batch(batch("same", &["/a", "/c"]))
        .send()
        .await
        .unwrap();
    assert_ne!(dist.invalidation().unwrap().id(), first_id);
    let snap = emu.snapshot();
    assert_eq!(snap.invalidations.len(), 3);
    assert_eq!(
        snap.invalidations
            .iter()
            .map(|inv| inv.tenant)
            .collect::<Vec<_>>(),
        [true, true, false]
    );
}

#[tokio::test]
async fn in_progress_limits_count_per_tenant() {
    let emu = start(tenant_config()).await;
    let cf = cloudfront(&emu);
    let send = |tenant: &'static str, reference: String, paths: Vec<String>| {
        cf.create_invalidation_for_distribution_tenant()
            .id(tenant)
            .invalidation_batch(batch(&reference, &paths))
            .send()
    };

    let err = send(TENANT, "big".into(), wildcards(16, "w"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.as_service_error(),
            Some(CreateInvalidationForDistributionTenantError::BatchTooLarge(
                _
            ))
        ),
        "{err:?}"
    );
    assert_eq!(status(&err), 413);

    send(TENANT, "w15".into(), wildcards(15, "w"))
        .await
        .unwrap();
    send(TENANT, "f3000".into(), files(3000, "f"))
        .await
        .unwrap();
    for (reference, paths) in [("w1", wildcards(1, "x")), ("f1", files(1, "x"))] {
        let err = send(TENANT, reference.into(), paths).await.unwrap_err();
        assert!(
            matches!(
                err.as_service_error(),
                Some(
                    CreateInvalidationForDistributionTenantError::TooManyInvalidationsInProgress(_)
                )
            ),
            "{reference}: {err:?}"
        );
        assert_eq!(status(&err), 400);
    }

    // Another tenant, and the distribution, have quotas of their own.
    send(TENANT2, "w15".into(), wildcards(15, "w"))
        .await
        .unwrap();
    cf.create_invalidation()
        .distribution_id(DIST)
        .invalidation_batch(batch("w-dist", &["/*"]))
        .send()
        .await
        .unwrap();
    assert_eq!(emu.snapshot().invalidations.len(), 4);
}
