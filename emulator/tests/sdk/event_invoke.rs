//! Asynchronous (`Event`) invocations as Lambda runs them: retries of a
//! function error after one and two minutes on the emulator's clock, the
//! maximum event age, and the on-failure destination's invocation record.

use std::time::Duration;

use aws_emulator::{
    Config, EmulatorHandle, EventInvokeConfig, FaultTimes, FunctionFault, FunctionFaultKind,
};
use serde_json::{json, Value};

use crate::common::{
    advance, continue_job, fake_host, invoke_as, lambda_config, settle, start, state, FakeHost,
    ERROR_DOC, JOB,
};

const MS: Duration = Duration::from_millis(1);
const MINUTE: Duration = Duration::from_secs(60);

/// Sends an `Event` call and answers its request id.
async fn invoke_event(emu: &EmulatorHandle, function: &str, body: &str) -> String {
    let res = invoke_as(emu, function, "Event", body).await;
    assert_eq!(res.status, 202, "{}", res.body);
    res.header("x-amzn-RequestId").unwrap().to_string()
}

/// How many times the host has run `function` once background work is done.
async fn runs(emu: &EmulatorHandle, host: &FakeHost, function: &str) -> usize {
    settle(emu).await;
    host.count(function)
}

#[tokio::test]
async fn a_function_error_is_retried_after_one_then_two_minutes() {
    let host = fake_host().await;
    let emu = start(lambda_config(&host)).await;
    let request_id = invoke_event(&emu, "bad", r#"{"n":1}"#).await;
    assert_eq!(runs(&emu, &host, "bad").await, 1);

    advance(&emu, MINUTE - MS);
    assert_eq!(runs(&emu, &host, "bad").await, 1);
    advance(&emu, MS);
    assert_eq!(runs(&emu, &host, "bad").await, 2);
    advance(&emu, 2 * MINUTE - MS);
    assert_eq!(runs(&emu, &host, "bad").await, 2);
    advance(&emu, MS);
    assert_eq!(runs(&emu, &host, "bad").await, 3);
    // Two retries, Lambda's default: nothing more, ever.
    advance(&emu, Duration::from_secs(24 * 3600));
    assert_eq!(runs(&emu, &host, "bad").await, 3);

    // Every attempt got the same event, as an Event call.
    assert!(host
        .received()
        .iter()
        .all(|r| r.body == r#"{"n":1}"# && r.invocation_type.as_deref() == Some("Event")));
    let snap = emu.snapshot();
    let attempts: Vec<(u32, &str, &str, u16)> = snap
        .lambda_invocations
        .iter()
        .map(|i| {
            (
                i.attempt,
                i.request_id.as_str(),
                i.outcome.as_str(),
                i.status,
            )
        })
        .collect();
    assert_eq!(
        attempts,
        [
            (1, request_id.as_str(), "BudgetExhausted", 202),
            (2, request_id.as_str(), "BudgetExhausted", 202),
            (3, request_id.as_str(), "BudgetExhausted", 202),
        ]
    );
    assert_eq!(snap.discarded_events.len(), 1);
    let discarded = &snap.discarded_events[0];
    assert_eq!(
        (
            discarded.request_id.as_str(),
            discarded.function_name.as_str(),
            discarded.condition.as_str(),
            discarded.approximate_invoke_count,
            discarded.on_failure.as_deref()
        ),
        (request_id.as_str(), "bad", "RetriesExhausted", 3, None)
    );
}

#[tokio::test]
async fn a_crash_once_is_survived_by_the_first_retry() {
    let host = fake_host().await;
    let crash_once = FunctionFault::new(FunctionFaultKind::Crash, FaultTimes::Once);
    let emu = start(lambda_config(&host).function_fault("good", crash_once)).await;
    invoke_event(&emu, "good", "{}").await;
    assert_eq!(runs(&emu, &host, "good").await, 0, "the crash ran nothing");
    advance(&emu, MINUTE);
    assert_eq!(runs(&emu, &host, "good").await, 1);
    let snap = emu.snapshot();
    let attempts: Vec<(u32, &str, Option<&str>)> = snap
        .lambda_invocations
        .iter()
        .map(|i| (i.attempt, i.outcome.as_str(), i.injected_fault.as_deref()))
        .collect();
    assert_eq!(
        attempts,
        [(1, "Runtime.ExitError", Some("crash")), (2, "ok", None)]
    );
    assert!(snap.discarded_events.is_empty());
}

#[tokio::test]
async fn exhausted_retries_go_to_the_on_failure_destination() {
    let host = fake_host().await;
    let emu = start(
        lambda_config(&host)
            .event_retries("bad", 1)
            .on_failure("bad", "failure-sink"),
    )
    .await;
    let request_id = invoke_event(&emu, "bad", r#"{"order":7}"#).await;
    assert_eq!(runs(&emu, &host, "bad").await, 1);
    advance(&emu, MINUTE);
    assert_eq!(runs(&emu, &host, "bad").await, 2);
    assert_eq!(host.count("failure-sink"), 1);

    let to_sink = host.received().pop().unwrap();
    assert_eq!(to_sink.function, "failure-sink");
    assert_eq!(to_sink.invocation_type.as_deref(), Some("Event"));
    let record = to_sink.event();
    let timestamp = emu.snapshot().discarded_events[0].at.clone();
    assert_eq!(
        record,
        json!({
            "version": "1.0",
            "timestamp": timestamp,
            "requestContext": {
                "requestId": request_id,
                "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:bad:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 2
            },
            "requestPayload": {"order": 7},
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled"
            },
            "responsePayload": serde_json::from_str::<Value>(ERROR_DOC).unwrap()
        })
    );

    // The destination's invocation is listed, tied to the event it reports,
    // and runs once: no retries of its own.
    let snap = emu.snapshot();
    let sink = snap.lambda_invocations.last().unwrap();
    assert_eq!(sink.function_name, "failure-sink");
    assert_eq!(sink.on_failure_of.as_deref(), Some(request_id.as_str()));
    assert_ne!(sink.request_id, request_id);
    assert_eq!(
        snap.discarded_events[0].on_failure.as_deref(),
        Some("failure-sink")
    );
    let state = state(&emu).await.json();
    assert_eq!(state["discardedEvents"][0]["condition"], "RetriesExhausted");
    assert_eq!(
        state["lambdaInvocations"][2]["onFailureOf"],
        json!(request_id)
    );
    assert_eq!(state["lambdaInvocations"][1]["attempt"], 2);
}

#[tokio::test]
async fn an_event_too_old_for_its_next_retry_is_discarded() {
    let host = fake_host().await;
    let config = EventInvokeConfig {
        maximum_event_age: Duration::from_secs(90),
        on_failure: Some("failure-sink".into()),
        ..EventInvokeConfig::default()
    };
    let emu = start(lambda_config(&host).event_invoke("bad", config)).await;
    invoke_event(&emu, "bad", "{}").await;
    // A retry waits from the failure of the attempt before it.
    assert_eq!(runs(&emu, &host, "bad").await, 1);
    advance(&emu, MINUTE);
    // 60 s old at the first retry: run.
    assert_eq!(runs(&emu, &host, "bad").await, 2);
    advance(&emu, 2 * MINUTE);
    // 180 s old at the second: discarded.
    assert_eq!(runs(&emu, &host, "bad").await, 2);
    let record = host.received().pop().unwrap().event();
    assert_eq!(record["requestContext"]["condition"], "EventAgeExceeded");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 2);
    assert_eq!(
        emu.snapshot().discarded_events[0].condition,
        "EventAgeExceeded"
    );
}

#[tokio::test]
async fn a_hang_lost_on_every_attempt_reports_the_timeout() {
    let host = fake_host().await;
    let emu = start(
        lambda_config(&host)
            .function_fault(
                "good",
                FunctionFault::new(FunctionFaultKind::Hang, FaultTimes::Always),
            )
            .event_retries("good", 0)
            .on_failure("good", "failure-sink"),
    )
    .await;
    invoke_event(&emu, "good", "{}").await;
    assert_eq!(runs(&emu, &host, "good").await, 1);
    let record = host.received().pop().unwrap().event();
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 1);
    assert_eq!(record["responsePayload"]["errorType"], "Sandbox.Timedout");
}

#[tokio::test]
async fn zero_delays_make_retries_immediate_on_a_real_clock() {
    let host = fake_host().await;
    let emu = start(
        Config::default()
            .lambda_backend(host.url.clone())
            .event_retry_delays(vec![Duration::ZERO])
            .event_retries("plain-ok", 0),
    )
    .await;
    invoke_event(&emu, "bad", "{}").await;
    assert_eq!(runs(&emu, &host, "bad").await, 3);
    // A success, or a host failure, is not retried.
    invoke_event(&emu, "good", "{}").await;
    invoke_event(&emu, "broken", "{}").await;
    invoke_event(&emu, "missing-function", "{}").await;
    settle(&emu).await;
    assert_eq!(
        (
            host.count("good"),
            host.count("broken"),
            host.count("missing-function")
        ),
        (1, 1, 1)
    );
    assert_eq!(emu.snapshot().discarded_events.len(), 1);
}

#[tokio::test]
async fn a_continuation_is_retried_like_any_event() {
    let host = fake_host().await;
    let emu = start(lambda_config(&host)).await;
    let event = json!({"CodePipeline.job": {"id": JOB, "data": {}}});
    // The job reaches `bad` (which fails); the test then answers for it with
    // a continuation token.
    invoke_as(&emu, "bad", "RequestResponse", &event.to_string()).await;
    continue_job(&emu, JOB, "t").await;
    advance(&emu, aws_emulator::DEFAULT_CONTINUATION_DELAY);
    assert_eq!(runs(&emu, &host, "bad").await, 2);
    advance(&emu, MINUTE);
    assert_eq!(runs(&emu, &host, "bad").await, 3);
    advance(&emu, 2 * MINUTE);
    assert_eq!(runs(&emu, &host, "bad").await, 4);
    let snap = emu.snapshot();
    assert_eq!(snap.discarded_events[0].approximate_invoke_count, 3);
    assert_eq!(snap.jobs.len(), 2, "each retry carries the same new job");
}

#[test]
fn event_invoke_settings_are_checked() {
    assert_eq!(
        EventInvokeConfig::default(),
        EventInvokeConfig {
            maximum_retry_attempts: 2,
            retry_delays: vec![MINUTE, 2 * MINUTE],
            maximum_event_age: Duration::from_secs(6 * 3600),
            on_failure: None,
        }
    );
    let config = Config::default();
    assert_eq!(
        config.event_invoke_for("any"),
        &EventInvokeConfig::default()
    );
    assert_eq!(config.event_invoke_for("any").retry_delay(2), 2 * MINUTE);
    assert_eq!(config.event_invoke_for("any").retry_delay(5), 2 * MINUTE);
    // Delays set after an entry reach it and the default; entries made after
    // start from the default.
    let config = Config::default()
        .event_retries("a", 1)
        .event_retry_delays(vec![Duration::ZERO])
        .on_failure("b", "sink");
    assert_eq!(config.event_invoke_for("a").retry_delays, [Duration::ZERO]);
    assert_eq!(config.event_invoke_for("b").retry_delays, [Duration::ZERO]);
    assert_eq!(config.event_invoke_for("b").maximum_retry_attempts, 2);
    assert!(config.validate().is_ok());
    for bad in [
        Config::default().event_retries("a", 3),
        Config::default().on_failure("a", "no/slash"),
        Config::default().event_invoke(
            "a",
            EventInvokeConfig {
                maximum_event_age: Duration::from_secs(6 * 3600 + 1),
                ..EventInvokeConfig::default()
            },
        ),
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
    }
}
