//! CodePipeline job results through `aws-sdk-codepipeline`.

use aws_emulator::Operation;
use aws_sdk_codepipeline::error::ProvideErrorMetadata;
use aws_sdk_codepipeline::operation::put_job_failure_result::PutJobFailureResultError;
use aws_sdk_codepipeline::operation::put_job_success_result::PutJobSuccessResultError;
use aws_sdk_codepipeline::types::{ExecutionDetails, FailureDetails, FailureType};

use crate::common::{codepipeline, config, continue_job, start, JOB};

fn failure(kind: FailureType, message: &str) -> FailureDetails {
    FailureDetails::builder()
        .r#type(kind)
        .message(message)
        .build()
        .unwrap()
}

#[tokio::test]
async fn second_terminal_result_is_refused() {
    let emu = start(config()).await;
    let cp = codepipeline(&emu);

    cp.put_job_success_result()
        .job_id(JOB)
        .execution_details(
            ExecutionDetails::builder()
                .summary("invalidated 2 paths")
                .external_execution_id("I2J0I21PCUYOIK")
                .percent_complete(100)
                .build(),
        )
        .output_variables("InvalidationId", "I2J0I21PCUYOIK")
        .send()
        .await
        .unwrap();

    let err = cp
        .put_job_failure_result()
        .job_id(JOB)
        .failure_details(failure(FailureType::JobFailed, "too late"))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.as_service_error(),
            Some(PutJobFailureResultError::InvalidJobStateException(_))
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), Some("InvalidJobStateException"));
    let err = cp
        .put_job_success_result()
        .job_id(JOB)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        err.as_service_error(),
        Some(PutJobSuccessResultError::InvalidJobStateException(_))
    ));

    let snap = emu.snapshot();
    assert_eq!(snap.job_results.len(), 1);
    let r = &snap.job_results[0];
    assert_eq!(r.job_id, JOB);
    assert_eq!(r.operation, Operation::PutJobSuccessResult);
    assert_eq!(
        r.output_variables.as_ref().unwrap()["InvalidationId"],
        "I2J0I21PCUYOIK"
    );
    let details = r.execution_details.as_ref().unwrap();
    assert_eq!(details.summary.as_deref(), Some("invalidated 2 paths"));
    assert_eq!(details.percent_complete, Some(100));
    assert_eq!(snap.calls_of(Operation::PutJobFailureResult), 1);
    assert_eq!(snap.calls_of(Operation::PutJobSuccessResult), 2);
}

#[tokio::test]
async fn continuation_is_not_terminal() {
    let emu = start(config()).await;
    let cp = codepipeline(&emu);
    let job2 = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

    continue_job(&emu, JOB, r#"{"invalidationId":"I1"}"#).await;
    continue_job(&emu, JOB, "again").await;
    cp.put_job_failure_result()
        .job_id(JOB)
        .failure_details(
            FailureDetails::builder()
                .r#type(FailureType::SystemUnavailable)
                .message("CloudFront kept throttling")
                .external_execution_id("I1")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let err = cp
        .put_job_success_result()
        .job_id(JOB)
        .continuation_token("after the end")
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_invalid_job_state_exception());
    // Another job is unaffected.
    cp.put_job_success_result()
        .job_id(job2)
        .send()
        .await
        .unwrap();

    let snap = emu.snapshot();
    let seen: Vec<(u64, &str, Operation, Option<&str>)> = snap
        .job_results
        .iter()
        .map(|r| {
            (
                r.sequence,
                r.job_id.as_str(),
                r.operation,
                r.continuation_token.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                1,
                JOB,
                Operation::PutJobSuccessResult,
                Some("{\"invalidationId\":\"I1\"}")
            ),
            (2, JOB, Operation::PutJobSuccessResult, Some("again")),
            (3, JOB, Operation::PutJobFailureResult, None),
            (4, job2, Operation::PutJobSuccessResult, None),
        ]
    );
    let f = snap.job_results[2].failure_details.as_ref().unwrap();
    assert_eq!(
        (f.kind.as_str(), f.message.as_str()),
        ("SystemUnavailable", "CloudFront kept throttling")
    );
    assert_eq!(f.external_execution_id.as_deref(), Some("I1"));
}

#[tokio::test]
async fn validation_exceptions() {
    let emu = start(config()).await;
    let cp = codepipeline(&emu);

    let err = cp
        .put_job_success_result()
        .job_id("not-a-uuid")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.as_service_error(),
            Some(PutJobSuccessResultError::ValidationException(_))
        ),
        "{err:?}"
    );
    assert!(
        err.message().unwrap().contains("at 'jobId'"),
        "{:?}",
        err.message()
    );
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 400);
    // Upper-case hex does not match the model's pattern.
    let err = cp
        .put_job_success_result()
        .job_id(JOB.to_uppercase())
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_validation_exception());

    let err = cp
        .put_job_failure_result()
        .job_id(JOB)
        .failure_details(failure(FailureType::JobFailed, &"x".repeat(5001)))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        err.as_service_error(),
        Some(PutJobFailureResultError::ValidationException(_))
    ));
    assert!(err.message().unwrap().contains("failureDetails.message"));
    let err = cp
        .put_job_failure_result()
        .job_id(JOB)
        .failure_details(failure(FailureType::from("Oops"), "m"))
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_validation_exception());

    let err = cp
        .put_job_success_result()
        .job_id(JOB)
        .continuation_token("t")
        .output_variables("k", "v")
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_validation_exception());
    assert!(err.message().unwrap().contains("continuation token"));

    for (token, summary, percent, key) in [
        ("x".repeat(2049), None, None, None),
        ("t".to_string(), Some("s".repeat(2049)), None, None),
        ("t".to_string(), None, Some(101), None),
        ("".to_string(), None, None, Some("bad key")),
    ] {
        let mut req = cp.put_job_success_result().job_id(JOB);
        if !token.is_empty() {
            req = req.continuation_token(token);
        }
        if summary.is_some() || percent.is_some() {
            req = req.execution_details(
                ExecutionDetails::builder()
                    .set_summary(summary)
                    .set_percent_complete(percent)
                    .build(),
            );
        }
        if let Some(key) = key {
            req = req.output_variables(key, "v");
        }
        let err = req.send().await.unwrap_err();
        assert!(
            err.as_service_error().unwrap().is_validation_exception(),
            "{err:?}"
        );
    }

    // Nothing was recorded, so the job can still finish.
    assert!(emu.snapshot().job_results.is_empty());
    cp.put_job_success_result()
        .job_id(JOB)
        .send()
        .await
        .unwrap();
}
