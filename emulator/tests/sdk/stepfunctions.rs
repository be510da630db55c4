//! Step Functions executions through `aws-sdk-sfn`, and the embedder's side:
//! `next_started_execution` and `finish_execution`.

use std::time::{Duration, UNIX_EPOCH};

use aws_emulator::{Config, ExecutionOutcome, FaultCode, FaultSpec, Operation};
use aws_sdk_sfn::config::retry::RetryConfig;
use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionError;
use aws_sdk_sfn::operation::start_execution::StartExecutionError;
use aws_sdk_sfn::types::ExecutionStatus;

use crate::common::{
    always, config, raw, start, state, status, stepfunctions, stepfunctions_with, STATE_MACHINE,
};

const EXECUTION_PREFIX: &str = "arn:aws:states:us-east-1:123456789012:execution:Invalidation:";
const SHORT: Duration = Duration::from_millis(50);

fn sfn_config() -> Config {
    config().state_machine(STATE_MACHINE)
}

#[tokio::test]
async fn start_restart_describe_and_finish() {
    let emu = start(sfn_config()).await;
    let sfn = stepfunctions(&emu);
    let input = r#"{"CodePipeline.job":{"id":"j-1"}}"#;

    let first = sfn
        .start_execution()
        .state_machine_arn(STATE_MACHINE)
        .name("job-1")
        .input(input)
        .send()
        .await
        .unwrap();
    let arn = first.execution_arn().to_string();
    assert_eq!(arn, format!("{EXECUTION_PREFIX}job-1"));
    assert!(first.start_date().secs() > 1_600_000_000);

    let started = emu.next_started_execution(SHORT).await.unwrap();
    assert_eq!(started.execution_arn, arn);
    assert_eq!(started.state_machine_arn, STATE_MACHINE);
    assert_eq!(started.name, "job-1");
    assert_eq!(started.input, input);
    assert!(emu.next_started_execution(SHORT).await.is_none());

    let described = sfn
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.status(), &ExecutionStatus::Running);
    assert_eq!(described.execution_arn(), arn);
    assert_eq!(described.state_machine_arn(), STATE_MACHINE);
    assert_eq!(described.name(), Some("job-1"));
    assert_eq!(described.input(), Some(input));
    assert_eq!(described.start_date(), first.start_date());
    assert_eq!(described.stop_date(), None);
    assert_eq!(described.output(), None);

    // Same name, same input, still running: the same answer, no new execution.
    let again = sfn
        .start_execution()
        .state_machine_arn(STATE_MACHINE)
        .name("job-1")
        .input(input)
        .send()
        .await
        .unwrap();
    assert_eq!(again.execution_arn(), arn);
    assert_eq!(again.start_date(), first.start_date());
    assert!(emu.next_started_execution(SHORT).await.is_none());
    let snap = emu.snapshot();
    assert_eq!(snap.executions.len(), 1);
    assert_eq!(snap.executions[0].start_calls, 2);
    assert_eq!(snap.executions[0].status, "RUNNING");

    // Same name, other input.
    let err = sfn
        .start_execution()
        .state_machine_arn(STATE_MACHINE)
        .name("job-1")
        .input("{}")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.as_service_error(),
            Some(StartExecutionError::ExecutionAlreadyExists(_))
        ),
        "{err:?}"
    );
    assert_eq!(status(&err), 400);
    assert_eq!(
        err.message(),
        Some(format!("Execution Already Exists: '{arn}'").as_str())
    );

    emu.finish_execution(
        &arn,
        ExecutionOutcome::Succeeded {
            output: r#"{"summary":"done"}"#.into(),
        },
    );
    let described = sfn
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.status(), &ExecutionStatus::Succeeded);
    assert_eq!(described.output(), Some(r#"{"summary":"done"}"#));
    assert!(described.stop_date().unwrap() >= described.start_date());
    assert_eq!(described.error(), None);

    // A finished execution ends idempotent restarts.
    let err = sfn
        .start_execution()
        .state_machine_arn(STATE_MACHINE)
        .name("job-1")
        .input(input)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        err.as_service_error(),
        Some(StartExecutionError::ExecutionAlreadyExists(_))
    ));
    // Finishing twice changes nothing.
    emu.finish_execution(
        &arn,
        ExecutionOutcome::Failed {
            error: "Late".into(),
            cause: "late".into(),
        },
    );

    let snap = emu.snapshot();
    let record = &snap.executions[0];
    assert_eq!(record.status, "SUCCEEDED");
    assert_eq!(record.start_calls, 4);
    assert_eq!(record.output.as_deref(), Some(r#"{"summary":"done"}"#));
    assert!(record.stop_date.as_deref().unwrap().ends_with('Z'));
    assert_eq!(snap.calls_of(Operation::StartExecution), 4);
    assert_eq!(snap.calls_of(Operation::DescribeExecution), 2);

    // The same record through the state endpoint, in camelCase.
    let state = state(&emu).await.json();
    let execution = &state["executions"][0];
    assert_eq!(execution["executionArn"], arn.as_str());
    assert_eq!(execution["stateMachineArn"], STATE_MACHINE);
    assert_eq!(execution["startCalls"], 4);
    assert_eq!(execution["status"], "SUCCEEDED");
    assert!(execution["startDate"].is_string());
    assert!(execution["stopDate"].is_string());
    assert!(execution.get("error").is_none());
    assert_eq!(state["calls"]["StartExecution"], 4);
}

#[tokio::test]
async fn failures_generated_names_and_order() {
    let emu = start(sfn_config()).await;
    let sfn = stepfunctions(&emu);

    let mut arns = Vec::new();
    for _ in 0..3 {
        let out = sfn
            .start_execution()
            .state_machine_arn(STATE_MACHINE)
            .send()
            .await
            .unwrap();
        arns.push(out.execution_arn().to_string());
    }
    for arn in &arns {
        let started = emu.next_started_execution(SHORT).await.unwrap();
        assert_eq!(&started.execution_arn, arn, "in creation order");
        // A generated name is a UUID; the input defaults to `{}`.
        assert_eq!(started.name.len(), 36);
        assert_eq!(started.name.matches('-').count(), 4);
        assert_eq!(started.input, "{}");
    }
    assert!(emu.next_started_execution(SHORT).await.is_none());

    // A waiting call gets an execution started while it waits.
    let waiter = emu.next_started_execution(Duration::from_secs(5));
    // `join!` polls the waiter first, so it is waiting before the start.
    let starter = async {
        sfn.start_execution()
            .state_machine_arn(STATE_MACHINE)
            .name("late")
            .send()
            .await
            .unwrap()
    };
    let (got, out) = tokio::join!(waiter, starter);
    assert_eq!(got.unwrap().execution_arn, out.execution_arn());

    emu.finish_execution(
        &arns[0],
        ExecutionOutcome::Failed {
            error: "InvalidationFailed".into(),
            cause: "the budget is spent".into(),
        },
    );
    let described = sfn
        .describe_execution()
        .execution_arn(&arns[0])
        .send()
        .await
        .unwrap();
    assert_eq!(described.status(), &ExecutionStatus::Failed);
    assert_eq!(described.error(), Some("InvalidationFailed"));
    assert_eq!(described.cause(), Some("the budget is spent"));
    assert_eq!(described.output(), None);
    assert!(described.stop_date().is_some());

    // Unknown executions are ignored.
    emu.finish_execution(
        &format!("{EXECUTION_PREFIX}nope"),
        ExecutionOutcome::Succeeded {
            output: "{}".into(),
        },
    );
    let snap = emu.snapshot();
    assert_eq!(snap.executions.len(), 4);
    assert_eq!(snap.executions[0].status, "FAILED");
    assert_eq!(
        snap.executions[0].error.as_deref(),
        Some("InvalidationFailed")
    );
    assert!(snap.executions[1..].iter().all(|e| e.status == "RUNNING"));
}

#[tokio::test]
async fn errors_as_the_model_names_them() {
    let emu = start(sfn_config()).await;
    let sfn = stepfunctions(&emu);

    let other = "arn:aws:states:us-east-1:123456789012:stateMachine:Other";
    let err = sfn
        .start_execution()
        .state_machine_arn(other)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.as_service_error(),
            Some(StartExecutionError::StateMachineDoesNotExist(_))
        ),
        "{err:?}"
    );
    assert_eq!(status(&err), 400);
    assert_eq!(
        err.message(),
        Some(format!("State Machine Does Not Exist: '{other}'").as_str())
    );

    for bad in [
        "Invalidation",
        "arn:aws:lambda:us-east-1:123456789012:function:f",
    ] {
        let err = sfn
            .start_execution()
            .state_machine_arn(bad)
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.as_service_error(),
                Some(StartExecutionError::InvalidArn(_))
            ),
            "{bad}: {err:?}"
        );
    }

    for bad in [
        "has space",
        "a/b",
        "semi;colon",
        "tab\tname",
        &"x".repeat(81),
    ] {
        let err = sfn
            .start_execution()
            .state_machine_arn(STATE_MACHINE)
            .name(bad)
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.as_service_error(),
                Some(StartExecutionError::InvalidName(_))
            ),
            "{bad:?}: {err:?}"
        );
        assert_eq!(status(&err), 400);
    }
    // 80 characters are fine.
    sfn.start_execution()
        .state_machine_arn(STATE_MACHINE)
        .name("x".repeat(80))
        .send()
        .await
        .unwrap();

    let too_big = format!("\"{}\"", "x".repeat(262_143));
    for bad in ["not json", "{\"a\":", too_big.as_str()] {
        let err = sfn
            .start_execution()
            .state_machine_arn(STATE_MACHINE)
            .input(bad)
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.as_service_error(),
                Some(StartExecutionError::InvalidExecutionInput(_))
            ),
            "{err:?}"
        );
    }
    // Exactly the limit is accepted.
    let at_limit = format!("\"{}\"", "x".repeat(262_142));
    sfn.start_execution()
        .state_machine_arn(STATE_MACHINE)
        .input(at_limit)
        .send()
        .await
        .unwrap();

    let err = sfn
        .describe_execution()
        .execution_arn(format!("{EXECUTION_PREFIX}never"))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.as_service_error(),
            Some(DescribeExecutionError::ExecutionDoesNotExist(_))
        ),
        "{err:?}"
    );
    let err = sfn
        .describe_execution()
        .execution_arn(STATE_MACHINE)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        err.as_service_error(),
        Some(DescribeExecutionError::InvalidArn(_))
    ));

    // Only the two valid starts made executions.
    assert_eq!(emu.snapshot().executions.len(), 2);
}

#[tokio::test]
async fn the_wire_format() {
    let emu = start(sfn_config().manual_clock()).await;
    let auth = ("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/states/aws4_request, SignedHeaders=host, Signature=00");
    let call = |target: &'static str, with_auth: bool, body: &'static str| {
        let emu = &emu;
        async move {
            let target = ("X-Amz-Target", target);
            let content = ("Content-Type", "application/x-amz-json-1.0");
            let headers: Vec<(&str, &str)> = if with_auth {
                vec![target, content, auth]
            } else {
                vec![target, content]
            };
            raw(emu, "POST", "/", &headers, body).await
        }
    };

    let res = call(
        "AWSStepFunctions.StartExecution",
        true,
        r#"{"stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:Invalidation","name":"wire"}"#,
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        res.header("content-type"),
        Some("application/x-amz-json-1.0")
    );
    assert!(res.header("x-amzn-RequestId").is_some());
    let body = res.json();
    assert_eq!(body["executionArn"], format!("{EXECUTION_PREFIX}wire"));
    // Epoch seconds with milliseconds, as the JSON protocols send a
    // timestamp; the manual clock has not moved since the start.
    let millis = emu.now().duration_since(UNIX_EPOCH).unwrap().as_millis();
    assert_eq!(body["startDate"], serde_json::json!(millis as f64 / 1000.0));

    let res = call("AWSStepFunctions.StartExecution", true, "{}").await;
    assert_eq!(res.status, 400);
    assert_eq!(res.header("x-amzn-ErrorType"), Some("ValidationException"));
    let body = res.json();
    assert_eq!(body["__type"], "ValidationException");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("Value null at 'stateMachineArn'"));

    let res = call("AWSStepFunctions.StartExecution", false, "{}").await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.header("x-amzn-ErrorType"),
        Some("MissingAuthenticationTokenException")
    );

    let res = call("AWSStepFunctions.ListExecutions", true, "{}").await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.header("x-amzn-ErrorType"),
        Some("UnknownOperationException")
    );
    assert_eq!(
        res.header("content-type"),
        Some("application/x-amz-json-1.0")
    );

    let res = call("AWSStepFunctions.DescribeExecution", true, "[1]").await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.header("x-amzn-ErrorType"),
        Some("SerializationException")
    );
}

#[tokio::test]
async fn faults_strike_before_any_effect() {
    let cfg = sfn_config()
        .fault(Operation::StartExecution, always(FaultCode::Throttling))
        .fault(
            Operation::DescribeExecution,
            always(FaultCode::InternalError),
        );
    let emu = start(cfg).await;
    let sfn = stepfunctions(&emu);

    let err = sfn
        .start_execution()
        .state_machine_arn(STATE_MACHINE)
        .name("faulted")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ThrottlingException"));
    assert_eq!(err.message(), Some("Rate exceeded"));
    assert_eq!(status(&err), 400);
    let err = sfn
        .describe_execution()
        .execution_arn(format!("{EXECUTION_PREFIX}faulted"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InternalFailure"));
    assert_eq!(status(&err), 500);

    assert!(emu.next_started_execution(SHORT).await.is_none());
    let snap = emu.snapshot();
    assert!(snap.executions.is_empty());
    assert_eq!(snap.calls_of(Operation::StartExecution), 1);
    assert_eq!(snap.faults_of(Operation::StartExecution), 1);
    assert_eq!(snap.faults_of(Operation::DescribeExecution), 1);
    assert_eq!(snap.fault_log[0].code, "ThrottlingException");
}

#[tokio::test]
async fn retried_starts_take_effect_once() {
    let spec = FaultSpec {
        error_rate: 0.5,
        ..FaultSpec::default()
    };
    let emu = start(sfn_config().seed(11).fault(Operation::StartExecution, spec)).await;
    let retry = RetryConfig::standard()
        .with_max_attempts(10)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5));
    let sfn = stepfunctions_with(&emu, retry);
    for i in 0..8 {
        sfn.start_execution()
            .state_machine_arn(STATE_MACHINE)
            .name(format!("run-{i}"))
            .send()
            .await
            .unwrap();
    }
    let snap = emu.snapshot();
    assert_eq!(snap.executions.len(), 8);
    assert!(snap.executions.iter().all(|e| e.start_calls == 1));
    let faults = snap.faults_of(Operation::StartExecution);
    assert!(faults > 0);
    assert_eq!(snap.calls_of(Operation::StartExecution), 8 + faults);
}
