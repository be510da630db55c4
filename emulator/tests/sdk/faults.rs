//! Seeded fault injection as the SDK clients see it.

use std::time::Duration;

use aws_emulator::{Config, FaultCode, FaultSpec, Operation};
use aws_sdk_cloudfront::config::retry::RetryConfig;
use aws_sdk_cloudfront::error::ProvideErrorMetadata;
use aws_sdk_codepipeline::types::{FailureDetails, FailureType};

use crate::common::{
    always, batch, cloudfront_with, codepipeline, config, start, status, DIST, JOB, TENANT,
};

#[tokio::test]
async fn faults_reach_the_sdk_and_change_nothing() {
    let cfg = config()
        .tenant(TENANT)
        .fault(Operation::CreateInvalidation, always(FaultCode::Throttling))
        .fault(Operation::GetInvalidation, always(FaultCode::InternalError))
        .fault(
            Operation::GetInvalidationForDistributionTenant,
            always(FaultCode::ServiceUnavailable),
        )
        .fault(
            Operation::PutJobSuccessResult,
            always(FaultCode::Throttling),
        )
        .fault(
            Operation::PutJobFailureResult,
            always(FaultCode::InternalError),
        );
    let emu = start(cfg).await;
    let cf = cloudfront_with(&emu, RetryConfig::disabled());
    let cp = codepipeline(&emu);

    let err = cf
        .create_invalidation()
        .distribution_id(DIST)
        .invalidation_batch(batch("r", &["/a"]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("Throttling"));
    assert_eq!(err.message(), Some("Rate exceeded"));
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 400);

    let err = cf
        .get_invalidation()
        .distribution_id(DIST)
        .id("I1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InternalError"));
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 500);

    let err = cf
        .get_invalidation_for_distribution_tenant()
        .distribution_tenant_id(TENANT)
        .id("I1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ServiceUnavailable"));
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 503);

    let err = cp
        .put_job_success_result()
        .job_id(JOB)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_codepipeline::error::ProvideErrorMetadata::code(&err),
        Some("ThrottlingException")
    );
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 400);
    let err = cp
        .put_job_failure_result()
        .job_id(JOB)
        .failure_details(
            FailureDetails::builder()
                .r#type(FailureType::JobFailed)
                .message("m")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_codepipeline::error::ProvideErrorMetadata::code(&err),
        Some("InternalFailure")
    );
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 500);

    let snap = emu.snapshot();
    assert!(snap.invalidations.is_empty());
    assert!(snap.job_results.is_empty());
    for op in [
        Operation::CreateInvalidation,
        Operation::GetInvalidation,
        Operation::GetInvalidationForDistributionTenant,
        Operation::PutJobSuccessResult,
        Operation::PutJobFailureResult,
    ] {
        assert_eq!(snap.calls_of(op), 1, "{op}");
        assert_eq!(snap.faults_of(op), 1, "{op}");
    }
    assert_eq!(snap.fault_log.len(), 5);
    assert_eq!(snap.fault_log[0].code, "Throttling");
    assert_eq!(snap.fault_log[3].code, "ThrottlingException");
}

/// Outcome of `n` creates against a fresh emulator: `Ok(id)` or `Err(code)`.
async fn run(seed: u64, n: usize) -> Vec<Result<String, String>> {
    let spec = FaultSpec {
        error_rate: 0.4,
        ..FaultSpec::default()
    };
    let emu = start(
        config()
            .seed(seed)
            .fault(Operation::CreateInvalidation, spec),
    )
    .await;
    let cf = cloudfront_with(&emu, RetryConfig::disabled());
    let mut out = Vec::new();
    for i in 0..n {
        let res = cf
            .create_invalidation()
            .distribution_id(DIST)
            .invalidation_batch(batch(&format!("r{i}"), &["/a"]))
            .send()
            .await;
        out.push(match res {
            Ok(o) => Ok(o.invalidation().unwrap().id().to_string()),
            Err(e) => Err(e.code().unwrap_or("?").to_string()),
        });
    }
    let snap = emu.snapshot();
    assert_eq!(
        snap.invalidations.len(),
        out.iter().filter(|r| r.is_ok()).count()
    );
    out
}

#[tokio::test]
async fn same_seed_same_run() {
    let a = run(42, 30).await;
    assert_eq!(a, run(42, 30).await);
    let codes: std::collections::BTreeSet<&str> = a
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(String::as_str)
        .collect();
    assert_eq!(
        codes,
        ["InternalError", "ServiceUnavailable", "Throttling"].into()
    );
    assert!(a.iter().any(Result::is_ok));
    assert_ne!(a, run(43, 30).await);
}

#[tokio::test]
async fn retried_calls_take_effect_once() {
    let spec = FaultSpec {
        error_rate: 0.5,
        ..FaultSpec::default()
    };
    let emu = start(config().seed(7).fault(Operation::CreateInvalidation, spec)).await;
    let retry = RetryConfig::standard()
        .with_max_attempts(8)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5));
    let cf = cloudfront_with(&emu, retry);
    for i in 0..10 {
        cf.create_invalidation()
            .distribution_id(DIST)
            .invalidation_batch(batch(&format!("r{i}"), &["/a"]))
            .send()
            .await
            .unwrap();
    }
    let snap = emu.snapshot();
    assert_eq!(snap.invalidations.len(), 10);
    let faults = snap.faults_of(Operation::CreateInvalidation);
    assert!(faults > 0);
    assert_eq!(snap.calls_of(Operation::CreateInvalidation), 10 + faults);
}

#[tokio::test]
async fn s3_and_tenant_faults_use_each_services_codes() {
    let cfg = config()
        .tenant(TENANT)
        .object("artifacts-bucket", "k", b"x".to_vec())
        .fault(Operation::GetObject, always(FaultCode::Throttling))
        .fault(
            Operation::CreateInvalidationForDistributionTenant,
            always(FaultCode::Throttling),
        );
    let emu = start(cfg).await;
    let s3 = crate::common::s3(&emu);

    let err = s3
        .get_object()
        .bucket("artifacts-bucket")
        .key("k")
        .send()
        .await
        .unwrap_err();
    // S3 throttles with 503 SlowDown, not CloudFront's 400 Throttling.
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::code(&err),
        Some("SlowDown")
    );
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 503);

    let err = cloudfront_with(&emu, RetryConfig::disabled())
        .create_invalidation_for_distribution_tenant()
        .id(TENANT)
        .invalidation_batch(batch("r", &["/a"]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("Throttling"));
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 400);

    let snap = emu.snapshot();
    assert!(snap.invalidations.is_empty());
    let seen: Vec<(&str, u16)> = snap
        .fault_log
        .iter()
        .map(|f| (f.code.as_str(), f.status))
        .collect();
    assert_eq!(seen, [("SlowDown", 503), ("Throttling", 400)]);
    for op in [
        Operation::GetObject,
        Operation::CreateInvalidationForDistributionTenant,
    ] {
        assert_eq!((snap.calls_of(op), snap.faults_of(op)), (1, 1), "{op}");
    }
}

#[tokio::test]
async fn s3_slowdown_is_retried_by_the_sdk() {
    let spec = FaultSpec {
        error_rate: 0.5,
        codes: vec![FaultCode::Throttling],
        ..FaultSpec::default()
    };
    let emu = start(
        Config::default()
            .seed(7)
            .object("artifacts-bucket", "k", b"artifact".to_vec())
            .fault(Operation::GetObject, spec),
    )
    .await;
    let retry = aws_sdk_s3::config::retry::RetryConfig::standard()
        .with_max_attempts(10)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5));
    let s3 = crate::common::s3_as(&emu, "AKIDEXAMPLE", retry);
    for _ in 0..6 {
        let got = s3
            .get_object()
            .bucket("artifacts-bucket")
            .key("k")
            .send()
            .await
            .unwrap();
        let bytes = got.body.collect().await.unwrap().into_bytes();
        assert_eq!(bytes.as_ref(), b"artifact");
    }
    let snap = emu.snapshot();
    let faults = snap.faults_of(Operation::GetObject);
    assert!(faults > 0);
    assert_eq!(snap.calls_of(Operation::GetObject), 6 + faults);
}

/// A fault spec that loses the answer of every call that succeeds.
fn lose_every_answer() -> FaultSpec {
    FaultSpec {
        lost_response_rate: 1.0,
        ..FaultSpec::default()
    }
}

#[tokio::test]
async fn a_lost_create_takes_effect_and_its_retry_gets_the_same_invalidation() {
    let emu = start(config().fault(Operation::CreateInvalidation, lose_every_answer())).await;
    let cf = cloudfront_with(&emu, RetryConfig::disabled());
    let send = || {
        cf.create_invalidation()
            .distribution_id(DIST)
            .invalidation_batch(batch("lost-1", &["/a"]))
            .send()
    };
    let err = send().await.unwrap_err();
    assert_eq!(err.code(), Some("InternalError"));
    assert_eq!(status(&err), 500);
    // It took effect all the same.
    let snap = emu.snapshot();
    assert_eq!(snap.invalidations.len(), 1);
    let created = snap.invalidations[0].id.clone();
    // A retry with the same CallerReference replays it; its answer is lost
    // too (rate 1), and still nothing new is created.
    assert_eq!(send().await.unwrap_err().code(), Some("InternalError"));
    let snap = emu.snapshot();
    assert_eq!(snap.invalidations.len(), 1);
    assert_eq!(snap.lost_responses_of(Operation::CreateInvalidation), 2);
    assert_eq!(snap.faults_of(Operation::CreateInvalidation), 0);
    assert!(
        snap.fault_log.is_empty(),
        "lost responses have their own log"
    );
    let log: Vec<(Operation, &str, u16)> = snap
        .lost_response_log
        .iter()
        .map(|l| (l.operation, l.code.as_str(), l.status))
        .collect();
    assert_eq!(
        log,
        [
            (Operation::CreateInvalidation, "InternalError", 500),
            (Operation::CreateInvalidation, "InternalError", 500)
        ]
    );
    // A call that fails on its own keeps its own answer.
    let err = cf
        .create_invalidation()
        .distribution_id(DIST)
        .invalidation_batch(batch("lost-1", &["/other"]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidationBatchAlreadyExists"));
    assert_eq!(emu.snapshot().invalidations[0].id, created);
}

#[tokio::test]
async fn sdk_retries_of_lost_creates_never_duplicate_an_invalidation() {
    let spec = FaultSpec {
        lost_response_rate: 0.5,
        ..FaultSpec::default()
    };
    let emu = start(config().seed(5).fault(Operation::CreateInvalidation, spec)).await;
    let retry = RetryConfig::standard()
        .with_max_attempts(20)
        .with_initial_backoff(Duration::from_millis(1));
    let cf = cloudfront_with(&emu, retry);
    let mut ids = Vec::new();
    for i in 0..10 {
        let out = cf
            .create_invalidation()
            .distribution_id(DIST)
            .invalidation_batch(batch(&format!("r{i}"), &[&format!("/p{i}")]))
            .send()
            .await
            .unwrap();
        ids.push(out.invalidation().unwrap().id().to_string());
    }
    let snap = emu.snapshot();
    let stored: Vec<&str> = snap.invalidations.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        stored, ids,
        "one invalidation per reference, the one answered"
    );
    let lost = snap.lost_responses_of(Operation::CreateInvalidation);
    assert!(lost > 0);
    assert_eq!(snap.calls_of(Operation::CreateInvalidation), 10 + lost);
}

#[tokio::test]
async fn a_lost_job_result_is_recorded_and_its_retry_is_refused() {
    let emu = start(config().fault(Operation::PutJobSuccessResult, lose_every_answer())).await;
    let cp = codepipeline(&emu);
    let err = cp
        .put_job_success_result()
        .job_id(JOB)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_codepipeline::error::ProvideErrorMetadata::code(&err),
        Some("InternalFailure")
    );
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 500);
    assert_eq!(emu.snapshot().job_results.len(), 1, "recorded all the same");
    let err = cp
        .put_job_success_result()
        .job_id(JOB)
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .unwrap()
            .is_invalid_job_state_exception(),
        "{err:?}"
    );
    let snap = emu.snapshot();
    assert_eq!(snap.job_results.len(), 1);
    assert_eq!(snap.lost_responses_of(Operation::PutJobSuccessResult), 1);
}

#[test]
fn lost_response_rates_are_checked() {
    let bad = Config::default().fault(
        Operation::GetObject,
        FaultSpec {
            lost_response_rate: -0.1,
            ..FaultSpec::default()
        },
    );
    assert!(bad.validate().is_err());
}
