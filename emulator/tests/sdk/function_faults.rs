//! Faults injected into Lambda functions (`Config::function_faults`): a crash
//! before the handler runs, a crash after it ran, and a hang, once or always.

use aws_emulator::{Config, FaultTimes, FunctionFault, FunctionFaultKind, DEFAULT_LAMBDA_TIMEOUT};
use serde_json::{json, Value};

use crate::common::{fake_host, invoke_as, lambda_config, start};

/// Lambda's answer for a runtime that exited, for request `request_id`.
fn runtime_exit(request_id: &str) -> Value {
    json!({
        "errorType": "Runtime.ExitError",
        "errorMessage": format!("RequestId: {request_id} Error: Runtime exited with error: exit status 101"),
    })
}

#[tokio::test]
async fn a_crash_is_not_forwarded_and_reads_as_a_runtime_exit_once() {
    let host = fake_host().await;
    let crash_once = FunctionFault::new(FunctionFaultKind::Crash, FaultTimes::Once);
    let emu = start(lambda_config(&host).function_fault("good", crash_once)).await;

    let res = invoke_as(&emu, "good", "RequestResponse", "{\"n\":1}").await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.header("X-Amz-Function-Error"), Some("Unhandled"));
    assert_eq!(res.header("X-Amz-Executed-Version"), Some("$LATEST"));
    let request_id = res.header("x-amzn-RequestId").unwrap().to_string();
    assert_eq!(res.json(), runtime_exit(&request_id));
    assert_eq!(host.count("good"), 0, "a crash is not forwarded");

    // Once: the next invocation runs.
    let res = invoke_as(&emu, "good", "RequestResponse", "{\"n\":2}").await;
    assert_eq!(
        (res.status, res.body.as_str()),
        (200, r#"{"echo":{"n":2}}"#)
    );
    assert_eq!(res.header("X-Amz-Function-Error"), None);
    assert_eq!(host.count("good"), 1);

    let snap = emu.snapshot();
    let seen: Vec<(&str, Option<&str>, &str)> = snap
        .lambda_invocations
        .iter()
        .map(|i| {
            (
                i.outcome.as_str(),
                i.injected_fault.as_deref(),
                i.invocation_type.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("Runtime.ExitError", Some("crash"), "RequestResponse"),
            ("ok", None, "RequestResponse")
        ]
    );
    assert_eq!(snap.lambda_invocations[0].request_id, request_id);
}

#[tokio::test]
async fn a_crash_after_work_runs_the_handler_and_loses_its_answer_always() {
    let host = fake_host().await;
    let fault = FunctionFault::new(FunctionFaultKind::CrashAfterWork, FaultTimes::Always);
    let emu = start(lambda_config(&host).function_fault("good", fault)).await;
    for n in 1..=2 {
        let res = invoke_as(&emu, "good", "RequestResponse", &format!("{{\"n\":{n}}}")).await;
        assert_eq!(res.header("X-Amz-Function-Error"), Some("Unhandled"));
        let request_id = res.header("x-amzn-RequestId").unwrap();
        assert_eq!(res.json(), runtime_exit(request_id));
    }
    // Both ran: their side effects happened.
    let bodies: Vec<String> = host.received().into_iter().map(|r| r.body).collect();
    assert_eq!(bodies, [r#"{"n":1}"#, r#"{"n":2}"#]);
    assert!(emu
        .snapshot()
        .lambda_invocations
        .iter()
        .all(|i| i.injected_fault.as_deref() == Some("crash-after-work")));
}

#[tokio::test]
async fn a_hang_answers_the_timeout_at_once_without_moving_the_clock() {
    let host = fake_host().await;
    let fault = FunctionFault::new(FunctionFaultKind::Hang, FaultTimes::Once);
    let emu = start(lambda_config(&host).function_fault("good", fault)).await;
    let before = emu.now();
    // The configured timeout is the default 120 s: a test that waited for it
    // would be stopped by the harness long before.
    let res = invoke_as(&emu, "good", "RequestResponse", "{}").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("X-Amz-Function-Error"), Some("Unhandled"));
    let request_id = res.header("x-amzn-RequestId").unwrap();
    assert_eq!(
        res.json(),
        json!({
            "errorType": "Sandbox.Timedout",
            "errorMessage": format!(
                "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
                DEFAULT_LAMBDA_TIMEOUT.as_secs_f64()
            ),
        })
    );
    assert_eq!(host.count("good"), 1, "the handler ran");
    assert_eq!(emu.now(), before);
    let snap = emu.snapshot();
    assert_eq!(snap.lambda_invocations[0].outcome, "Sandbox.Timedout");
    assert_eq!(
        snap.lambda_invocations[0].injected_fault.as_deref(),
        Some("hang")
    );
    // Once: the second gets the handler's answer.
    let res = invoke_as(&emu, "good", "RequestResponse", "{}").await;
    assert_eq!(res.body, r#"{"echo":{}}"#);
}

#[tokio::test]
async fn faults_are_per_function_and_need_a_handler_that_answered() {
    let host = fake_host().await;
    let emu = start(
        lambda_config(&host)
            .function_fault(
                "bad",
                FunctionFault::new(FunctionFaultKind::Hang, FaultTimes::Once),
            )
            .function_fault(
                "broken",
                FunctionFault::new(FunctionFaultKind::CrashAfterWork, FaultTimes::Once),
            ),
    )
    .await;
    // Another function is untouched.
    let res = invoke_as(&emu, "good", "RequestResponse", "1").await;
    assert_eq!(res.body, r#"{"echo":1}"#);
    // A function error is an answer too: its answer is lost to the hang.
    let res = invoke_as(&emu, "bad", "RequestResponse", "{}").await;
    assert_eq!(res.json()["errorType"], "Sandbox.Timedout");
    // A host that fails (503) ran no handler: the caller sees the host's
    // failure, and the fault is not spent.
    let res = invoke_as(&emu, "broken", "RequestResponse", "{}").await;
    assert_eq!(res.status, 502);
    let snap = emu.snapshot();
    let faults: Vec<(&str, Option<&str>)> = snap
        .lambda_invocations
        .iter()
        .map(|i| (i.function_name.as_str(), i.injected_fault.as_deref()))
        .collect();
    assert_eq!(
        faults,
        [("good", None), ("bad", Some("hang")), ("broken", None)]
    );
}

#[test]
fn faults_read_and_print_as_flags_spell_them() {
    for (text, kind, times) in [
        ("crash-once", FunctionFaultKind::Crash, FaultTimes::Once),
        (
            "crash-after-work-always",
            FunctionFaultKind::CrashAfterWork,
            FaultTimes::Always,
        ),
        ("hang-once", FunctionFaultKind::Hang, FaultTimes::Once),
    ] {
        let fault: FunctionFault = text.parse().unwrap();
        assert_eq!(fault, FunctionFault::new(kind, times));
        assert_eq!(fault.to_string(), text);
    }
    assert_eq!(
        FunctionFault::parse_assignment("start-invalidation=hang-always").unwrap(),
        (
            "start-invalidation".to_string(),
            FunctionFault::new(FunctionFaultKind::Hang, FaultTimes::Always)
        )
    );
    for bad in ["crash", "crash-twice", "explode-once", "once", ""] {
        assert!(bad.parse::<FunctionFault>().is_err(), "{bad}");
    }
    assert!(FunctionFault::parse_assignment("crash-once").is_err());
    let bad_name = Config::default().function_fault(
        "has space",
        FunctionFault::new(FunctionFaultKind::Crash, FaultTimes::Once),
    );
    assert!(bad_name.validate().is_err());
}
