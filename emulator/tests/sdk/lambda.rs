//! Lambda `Invoke` over raw HTTP, forwarded to a fake invoke-API host that
//! answers like `cargo lambda watch`: 200 with the payload, 500 with an error
//! document, 404 for an unknown function — or never.

use std::time::{Duration, Instant};

use aws_emulator::{Config, EmulatorHandle, FaultCode, FaultSpec, Operation, MAX_PAYLOAD};
use tokio::net::TcpListener;

use crate::common::{
    fake_host, invoke_as, invoke_with, lambda_config, raw, settle, start, state, FakeHost,
    RawResponse, ERROR_DOC, LAMBDA_AUTH as AUTH,
};

/// A short Lambda timeout, which the tests of a hanging function wait out.
fn config_for(host: &FakeHost) -> Config {
    lambda_config(host).lambda_timeout(Duration::from_millis(600))
}

/// A signed call that leaves `X-Amz-Invocation-Type` out, as the SDKs do for
/// `RequestResponse`.
async fn invoke(emu: &EmulatorHandle, function: &str, body: &str) -> RawResponse {
    invoke_with(emu, function, &[AUTH], body).await
}

#[tokio::test]
async fn maps_the_hosts_answers_onto_lambdas() {
    let host = fake_host().await;
    let emu = start(config_for(&host)).await;

    let res = invoke(&emu, "good", r#"{"paths":["/a"]}"#).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body, r#"{"echo":{"paths":["/a"]}}"#);
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(res.header("X-Amz-Executed-Version"), Some("$LATEST"));
    assert_eq!(res.header("X-Amz-Function-Error"), None);
    assert!(res.header("x-amzn-RequestId").is_some());

    let res = invoke(&emu, "bad", "{}").await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.header("X-Amz-Function-Error"), Some("Unhandled"));
    assert_eq!(res.header("X-Amz-Executed-Version"), Some("$LATEST"));
    assert_eq!(res.body, ERROR_DOC, "the error document passes unchanged");

    let res = invoke(&emu, "missing", "{}").await;
    assert_eq!(res.status, 404);
    assert_eq!(
        res.header("x-amzn-ErrorType"),
        Some("ResourceNotFoundException")
    );
    assert_eq!(
        res.json(),
        serde_json::json!({
            "Type": "User",
            "message": "Function not found: arn:aws:lambda:us-east-1:000000000000:function:missing"
        })
    );

    for function in ["broken", "plain500"] {
        let res = invoke(&emu, function, "{}").await;
        assert_eq!(res.status, 502, "{function}: {}", res.body);
        assert_eq!(res.header("x-amzn-ErrorType"), Some("ServiceException"));
        let body = res.json();
        assert_eq!(body["Type"], "Service");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(&host.url), "{message}");
        assert!(message.contains(function), "{message}");
    }

    // The Lambda timeout bounds a real process on the host, so it runs in
    // real time on either clock: this waits it out (0.6 s).
    let began = Instant::now();
    let res = invoke(&emu, "hang", "{}").await;
    assert!(began.elapsed() >= Duration::from_millis(600));
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.header("X-Amz-Function-Error"), Some("Unhandled"));
    let doc = res.json();
    assert_eq!(doc["errorType"], "Sandbox.Timedout");
    let rid = res.header("x-amzn-RequestId").unwrap();
    assert_eq!(
        doc["errorMessage"],
        format!("RequestId: {rid} Error: Task timed out after 0.60 seconds")
    );

    // The host saw plain names and unchanged bodies.
    let seen = host.received();
    assert_eq!(seen[0].path, "/2015-03-31/functions/good/invocations");
    assert_eq!(seen[0].body, r#"{"paths":["/a"]}"#);

    let snap = emu.snapshot();
    assert_eq!(snap.calls_of(Operation::Invoke), 6);
    let got: Vec<(&str, &str, u16)> = snap
        .lambda_invocations
        .iter()
        .map(|i| (i.function_name.as_str(), i.outcome.as_str(), i.status))
        .collect();
    assert_eq!(
        got,
        [
            ("good", "ok", 200),
            ("bad", "BudgetExhausted", 200),
            ("missing", "ResourceNotFoundException", 404),
            ("broken", "ServiceException", 502),
            ("plain500", "ServiceException", 502),
            ("hang", "Sandbox.Timedout", 200),
        ]
    );
    let sequences: Vec<u64> = snap.lambda_invocations.iter().map(|i| i.sequence).collect();
    assert_eq!(sequences, [1, 2, 3, 4, 5, 6]);
    assert!(snap.lambda_invocations[5].duration_ms >= 600);
    assert!(snap.lambda_invocations[0].started_at.ends_with('Z'));

    // The same record through the state endpoint, in camelCase.
    let state = state(&emu).await.json();
    assert_eq!(state["calls"]["Invoke"], 6);
    let first = &state["lambdaInvocations"][0];
    assert_eq!(first["functionName"], "good");
    assert_eq!(first["outcome"], "ok");
    assert_eq!(first["sequence"], 1);
    assert!(first["durationMs"].is_u64());
    assert!(first["startedAt"].is_string());
    assert_eq!(state["lambdaInvocations"][1]["outcome"], "BudgetExhausted");
}

#[tokio::test]
async fn every_form_of_function_name_reaches_the_plain_name() {
    let host = fake_host().await;
    let emu = start(config_for(&host)).await;
    for form in [
        "good",
        "good:live",
        "good%3A%24LATEST",
        "123456789012:function:good",
        "123456789012%3Afunction%3Agood",
        "arn:aws:lambda:us-east-1:123456789012:function:good",
        "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Agood",
        "arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Agood%3Aprod",
    ] {
        let res = invoke(&emu, form, "1").await;
        assert_eq!(res.status, 200, "{form}: {}", res.body);
        assert_eq!(res.body, r#"{"echo":1}"#, "{form}");
    }
    assert!(host
        .paths()
        .iter()
        .all(|p| p == "/2015-03-31/functions/good/invocations"));
    assert_eq!(host.paths().len(), 8);
    assert!(emu
        .snapshot()
        .lambda_invocations
        .iter()
        .all(|i| i.function_name == "good"));

    // The ARN's region and account show in the not-found message.
    let res = invoke(
        &emu,
        "arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Anope%3Aprod",
        "{}",
    )
    .await;
    assert_eq!(res.status, 404);
    assert_eq!(
        res.json()["message"],
        "Function not found: arn:aws:lambda:eu-west-1:123456789012:function:nope:prod"
    );
    assert_eq!(
        host.paths().last().unwrap(),
        "/2015-03-31/functions/nope/invocations"
    );

    for bad in ["arn%3Aaws%3As3%3A%3A%3Abucket", "a%2Fb", "f%3Aq%3Aextra"] {
        let res = invoke(&emu, bad, "{}").await;
        assert_eq!(res.status, 400, "{bad}");
        assert_eq!(
            res.header("x-amzn-ErrorType"),
            Some("ValidationException"),
            "{bad}"
        );
        assert!(res.json()["message"]
            .as_str()
            .unwrap()
            .contains("at 'functionName' failed to satisfy constraint"));
    }
    assert_eq!(host.paths().len(), 9, "malformed names are not forwarded");
}

#[tokio::test]
async fn without_a_backend_no_function_exists() {
    let emu = start(Config::default()).await;
    let res = invoke(&emu, "start-invalidation", "{}").await;
    assert_eq!(res.status, 404);
    assert_eq!(
        res.header("x-amzn-ErrorType"),
        Some("ResourceNotFoundException")
    );
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(
        res.json()["message"],
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:start-invalidation"
    );
    let snap = emu.snapshot();
    assert_eq!(snap.calls_of(Operation::Invoke), 1);
    assert_eq!(
        snap.lambda_invocations[0].outcome,
        "ResourceNotFoundException"
    );
}

#[tokio::test]
async fn event_invocations_are_answered_at_once_and_run_in_the_background() {
    let host = fake_host().await;
    let emu = start(config_for(&host)).await;

    let began = Instant::now();
    let res = invoke_as(&emu, "hang", "Event", "{}").await;
    assert_eq!(res.status, 202);
    assert!(res.body.is_empty());
    assert!(began.elapsed() < Duration::from_millis(500));
    let res = invoke_as(&emu, "bad", "Event", "{}").await;
    assert_eq!(res.status, 202);

    // The hanging one ends at the (real) Lambda timeout.
    settle(&emu).await;
    let snap = emu.snapshot();
    let got: Vec<(&str, &str, u16)> = snap
        .lambda_invocations
        .iter()
        .map(|i| (i.function_name.as_str(), i.outcome.as_str(), i.status))
        .collect();
    assert_eq!(
        got,
        [
            ("bad", "BudgetExhausted", 202),
            ("hang", "Sandbox.Timedout", 202)
        ]
    );
    assert_eq!(snap.calls_of(Operation::Invoke), 2);

    // DryRun is Lambda's, but nothing here asks for it: refused as an
    // unknown kind, unforwarded.
    for kind in ["Sync", "DryRun"] {
        let res = invoke_as(&emu, "good", kind, "{}").await;
        assert_eq!(res.status, 400, "{kind}");
        assert_eq!(res.header("x-amzn-ErrorType"), Some("ValidationException"));
    }
    assert_eq!(host.count("good"), 0);
}

#[tokio::test]
async fn protocol_edges() {
    let host = fake_host().await;
    let emu = start(config_for(&host)).await;

    let res = invoke_with(&emu, "good", &[], "{}").await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.header("x-amzn-ErrorType"),
        Some("MissingAuthenticationTokenException")
    );

    let res = raw(
        &emu,
        "GET",
        "/2015-03-31/functions/good/invocations",
        &[AUTH],
        "",
    )
    .await;
    assert_eq!(res.status, 404);
    assert_eq!(
        res.header("x-amzn-ErrorType"),
        Some("UnknownOperationException")
    );
    let res = raw(&emu, "GET", "/2015-03-31/functions/good", &[AUTH], "").await;
    assert_eq!(res.status, 404);

    let big = "x".repeat(MAX_PAYLOAD + 1);
    let res = invoke(&emu, "good", &big).await;
    assert_eq!(res.status, 413);
    assert_eq!(
        res.header("x-amzn-ErrorType"),
        Some("RequestTooLargeException")
    );
    assert!(host.paths().is_empty());
}

#[tokio::test]
async fn an_unreachable_backend_is_a_service_exception() {
    // A port that was free a moment ago.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let emu = start(Config::default().lambda_backend(format!("http://127.0.0.1:{port}"))).await;
    let res = invoke(&emu, "good", "{}").await;
    assert_eq!(res.status, 502);
    assert_eq!(res.header("x-amzn-ErrorType"), Some("ServiceException"));
    let message = res.json()["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("Could not reach the Lambda backend"),
        "{message}"
    );
    assert_eq!(
        emu.snapshot().lambda_invocations[0].outcome,
        "ServiceException"
    );
}

#[tokio::test]
async fn faults_never_touch_invoke() {
    let host = fake_host().await;
    let spec = FaultSpec {
        error_rate: 1.0,
        codes: vec![FaultCode::InternalError],
        lost_response_rate: 1.0,
    };
    let mut config = config_for(&host);
    for op in Operation::ALL {
        config = config.fault(op, spec.clone());
    }
    let emu = start(config).await;
    let res = invoke(&emu, "good", "{}").await;
    assert_eq!(res.status, 200);
    let snap = emu.snapshot();
    assert_eq!(snap.calls_of(Operation::Invoke), 1);
    assert_eq!(snap.faults_of(Operation::Invoke), 0);

    let err = aws_emulator::start(Config::default().fault(Operation::Invoke, FaultSpec::default()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Invoke"), "{err}");
}
