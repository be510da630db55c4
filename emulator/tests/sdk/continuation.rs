//! CodePipeline's part in continuations: a job whose event went through Lambda
//! `Invoke` and that gets a `PutJobSuccessResult` with a continuation token is
//! continued by a new job, sent to the same function as an `Event` invocation.

use std::time::Duration;

use aws_emulator::{Config, EmulatorHandle, Operation, DEFAULT_CONTINUATION_DELAY};
use serde_json::{json, Value};

use crate::common::{
    advance, codepipeline, continue_job, fake_host, invoke_as, lambda_config, settle, start, state,
    FakeHost, Received, JOB,
};

const SECRET: &str = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";
/// How soon CodePipeline continues a job, on the emulator's manual clock.
const DELAY: Duration = DEFAULT_CONTINUATION_DELAY;

fn job_event(job_id: &str) -> Value {
    json!({
        "CodePipeline.job": {
            "id": job_id,
            "accountId": "123456789012",
            "data": {
                "actionConfiguration": {
                    "configuration": {
                        "FunctionName": "pipeline-entry",
                        "UserParameters": "{\"distributionId\":\"E2QWRUHAPOMQZL\",\"paths\":[\"/*\"]}"
                    }
                },
                "inputArtifacts": [],
                "outputArtifacts": [],
                "artifactCredentials": {
                    "accessKeyId": "AKIAEXAMPLE",
                    "secretAccessKey": SECRET,
                    "sessionToken": "token"
                }
            }
        }
    })
}

/// What the host has received once the emulator's background work is done.
async fn received(emu: &EmulatorHandle, host: &FakeHost) -> Vec<Received> {
    settle(emu).await;
    host.received()
}

fn is_job_id(id: &str) -> bool {
    id.len() == 36
        && id.chars().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
        })
}

#[tokio::test]
async fn a_continuation_token_brings_a_new_job_to_the_same_function() {
    let host = fake_host().await;
    let emu = start(lambda_config(&host)).await;
    let cp = codepipeline(&emu);

    // CodePipeline invokes a Lambda action asynchronously.
    let res = invoke_as(&emu, "pipeline-entry", "Event", &job_event(JOB).to_string()).await;
    assert_eq!(res.status, 202);
    let first = received(&emu, &host).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].event()["CodePipeline.job"]["id"], JOB);

    continue_job(&emu, JOB, "poll-1").await;
    // The continuation waits the delay on the emulator's clock, to the millisecond.
    advance(&emu, DELAY - Duration::from_millis(1));
    assert_eq!(received(&emu, &host).await.len(), 1);
    advance(&emu, Duration::from_millis(1));
    let got = received(&emu, &host).await;
    assert_eq!(got.len(), 2);
    let second = &got[1];
    assert_eq!(second.function, "pipeline-entry");
    assert_eq!(second.invocation_type.as_deref(), Some("Event"));
    let second_job = second.event()["CodePipeline.job"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(is_job_id(&second_job), "{second_job}");
    assert_ne!(second_job, JOB);
    assert_eq!(
        second.event()["CodePipeline.job"]["data"]["continuationToken"],
        "poll-1"
    );
    // Everything else is the remembered event.
    let mut expected = job_event(&second_job);
    expected["CodePipeline.job"]["data"]["continuationToken"] = json!("poll-1");
    assert_eq!(second.event(), expected);

    // The new job can be continued in turn; the chain shows in the snapshot.
    continue_job(&emu, &second_job, "poll-2").await;
    advance(&emu, DELAY);
    let got = received(&emu, &host).await;
    assert_eq!(got.len(), 3);
    let third_job = got[2].event()["CodePipeline.job"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        got[2].event()["CodePipeline.job"]["data"]["continuationToken"],
        "poll-2"
    );
    assert_ne!(third_job, second_job);

    // A final result ends the chain.
    cp.put_job_success_result()
        .job_id(&third_job)
        .send()
        .await
        .unwrap();
    advance(&emu, DELAY * 4);
    assert_eq!(received(&emu, &host).await.len(), 3);

    let snap = emu.snapshot();
    let chain: Vec<(&str, &str, Option<&str>, Option<&str>)> = snap
        .jobs
        .iter()
        .map(|j| {
            (
                j.job_id.as_str(),
                j.function_name.as_str(),
                j.continued_from.as_deref(),
                j.continuation_token.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        chain,
        [
            (JOB, "pipeline-entry", None, None),
            (
                second_job.as_str(),
                "pipeline-entry",
                Some(JOB),
                Some("poll-1")
            ),
            (
                third_job.as_str(),
                "pipeline-entry",
                Some(second_job.as_str()),
                Some("poll-2")
            ),
        ]
    );
    assert!(snap.jobs.iter().all(|j| j.invoked_at.ends_with('Z')));
    // The emulator's invocations are listed as Event calls, not counted as calls.
    assert_eq!(snap.lambda_invocations.len(), 3);
    assert!(snap
        .lambda_invocations
        .iter()
        .all(|i| i.function_name == "pipeline-entry" && i.status == 202 && i.outcome == "ok"));
    assert_eq!(snap.calls_of(Operation::Invoke), 1);

    // The remembered events' credentials show nowhere.
    let state = state(&emu).await;
    assert!(!state.body.contains(SECRET));
    assert!(!state.body.contains("artifactCredentials"));
    let jobs = state.json()["jobs"].clone();
    assert_eq!(
        jobs[1],
        json!({
            "jobId": second_job,
            "functionName": "pipeline-entry",
            "continuedFrom": JOB,
            "continuationToken": "poll-1",
            "invokedAt": jobs[1]["invokedAt"],
        })
    );
    assert!(!format!("{emu:?}").contains(SECRET));
}

#[tokio::test]
async fn no_token_or_no_event_no_continuation() {
    let host = fake_host().await;
    let emu = start(lambda_config(&host)).await;
    let cp = codepipeline(&emu);

    // A synchronous invocation is remembered too.
    let res = invoke_as(
        &emu,
        "pipeline-entry",
        "RequestResponse",
        &job_event(JOB).to_string(),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    // So is it once only: a repeated event is the same job.
    invoke_as(
        &emu,
        "pipeline-entry",
        "RequestResponse",
        &job_event(JOB).to_string(),
    )
    .await;
    // A payload that is no job event is not.
    invoke_as(
        &emu,
        "pipeline-entry",
        "RequestResponse",
        &json!({"paths": ["/a"]}).to_string(),
    )
    .await;
    invoke_as(
        &emu,
        "pipeline-entry",
        "RequestResponse",
        &json!({"CodePipeline.job": {}}).to_string(),
    )
    .await;
    assert_eq!(host.received().len(), 4);
    assert_eq!(emu.snapshot().jobs.len(), 1);

    // A result without a token continues nothing.
    cp.put_job_success_result()
        .job_id(JOB)
        .send()
        .await
        .unwrap();
    // A token for a job whose event never went through Invoke: recorded only.
    let stranger = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
    continue_job(&emu, stranger, "t").await;
    // A failure after a token is final, as before.
    cp.put_job_failure_result()
        .job_id(stranger)
        .failure_details(
            aws_sdk_codepipeline::types::FailureDetails::builder()
                .r#type(aws_sdk_codepipeline::types::FailureType::JobFailed)
                .message("m")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    advance(&emu, DELAY * 4);

    assert_eq!(received(&emu, &host).await.len(), 4);
    let snap = emu.snapshot();
    assert_eq!(snap.jobs.len(), 1);
    assert_eq!(snap.job_results.len(), 3);
    assert_eq!(snap.job_results[1].continuation_token.as_deref(), Some("t"));
}

#[tokio::test]
async fn a_continuation_due_at_shutdown_is_dropped() {
    let host = fake_host().await;
    let emu = start(lambda_config(&host)).await;
    invoke_as(&emu, "pipeline-entry", "Event", &job_event(JOB).to_string()).await;
    assert_eq!(received(&emu, &host).await.len(), 1);
    continue_job(&emu, JOB, "later").await;
    settle(&emu).await;
    // Due, but the test's task does not yield before the shutdown, which
    // ends the continuation's task before it runs.
    advance(&emu, DELAY);
    emu.shutdown().await;
    assert_eq!(host.received().len(), 1);
}

#[tokio::test]
async fn on_a_real_clock_the_continuation_waits_real_time() {
    // The default clock, with a delay short enough for a test to wait out.
    let host = fake_host().await;
    let emu = start(
        Config::default()
            .lambda_backend(&host.url)
            .continuation_delay(Duration::from_millis(50)),
    )
    .await;
    invoke_as(&emu, "pipeline-entry", "Event", &job_event(JOB).to_string()).await;
    assert_eq!(received(&emu, &host).await.len(), 1);
    continue_job(&emu, JOB, "t").await;
    let err = emu.advance_clock(Duration::from_secs(1)).unwrap_err();
    assert_eq!(err, aws_emulator::ClockError::NotManual);
    // What is tested is that real time drives a real clock, so the test
    // waits the short delay out; once it has passed, the continuation is due
    // and `settle` waits for it.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(received(&emu, &host).await.len(), 2);
}
