//! Tests of the reply window.

use super::common::*;

#[tokio::test]
async fn with_a_job_the_run_must_reply_within_the_window_of_its_start() {
    let create = create_rule();
    let client = cloudfront(&[&create]);
    let run = start(
        &client,
        &NoArtifacts,
        &MemoryStore::new(),
        start_payload(event("codepipeline-job.json")),
        at("2026-11-26T12:00:01Z"),
        Duration::from_secs(3),
    )
    .await
    .unwrap();
    assert_eq!(
        run.reply_by.map(|time| time.to_string()).as_deref(),
        Some("2026-11-26T12:00:03Z")
    );
    assert_eq!(
        run.wait_seconds, 2,
        "the first check comes before the reply is due"
    );

    let console = start(
        &client,
        &NoArtifacts,
        &MemoryStore::new(),
        start_payload(event("console-input.json")),
        at("2026-11-26T12:00:01Z"),
        Duration::from_secs(3),
    )
    .await
    .unwrap();
    assert_eq!(console.reply_by, None);
    assert_eq!(console.wait_seconds, 5);
}

#[tokio::test]
async fn when_the_reply_window_closes_the_check_asks_for_a_reply() {
    let get = mock!(aws_sdk_cloudfront::Client::get_invalidation)
        .then_output(|| get_output("InProgress"));
    let client = cloudfront(&[&get]);
    let mut run = run_in_progress("2026-11-26T13:00:00Z", 4);
    run["jobId"] = json!(JOB_ID);
    run["replyBy"] = json!("2026-11-26T12:15:00Z");

    let early = check(
        &client,
        &MemoryStore::new(),
        checking(run.clone()),
        at("2026-11-26T12:14:30Z"),
    )
    .await
    .unwrap();
    assert_eq!(early.phase, Phase::InProgress);
    assert_eq!(early.wait_seconds, 30, "the wait stops at the reply time");

    let due = check(
        &client,
        &MemoryStore::new(),
        checking(run),
        at("2026-11-26T12:15:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(due.phase, Phase::ReplyDue);
    assert_eq!(due.wait_seconds, 0);
}

#[tokio::test]
async fn a_due_reply_is_an_in_progress_result_with_a_continuation_token() {
    let put = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .match_requests(|request| {
            let details = request.execution_details().unwrap();
            request.job_id() == Some(JOB_ID)
                && request.output_variables().is_none()
                && details.percent_complete() == Some(50)
                && details.summary().unwrap().starts_with("Still waiting after 4 status checks: 1 of 2 invalidations completed (E2QWRUHEXAMPLE: IA; E1U5RQF7T870K0: IB);")
                && request.continuation_token()
                    == Some(&*format!(r#"{{"v":2,"state":"runs/run-42/continued-{JOB_ID}.json"}}"#))
        })
        .then_output(|| PutJobSuccessResultOutput::builder().build());
    let client = codepipeline(&[&put]);
    let mut run = run_in_progress("2026-11-26T13:00:00Z", 4);
    run["jobId"] = json!(JOB_ID);
    run["phase"] = json!("ReplyDue");

    let outcome = report(&client, json!({"run": run})).await.unwrap();

    assert_eq!(put.num_calls(), 1);
    assert_eq!(outcome.status, RunStatus::Continued);
    assert!(outcome.code_pipeline.unwrap().continuation_token.is_some());
}

#[tokio::test]
async fn a_token_of_the_earlier_format_is_refused_with_a_reason_and_nothing_is_created() {
    let create = create_rule();
    let client = cloudfront(&[&create]);
    let request = continued_job(
        r#"{"v":1,"deadline":"2026-11-26T13:00:00Z","paths":2,"checks":9,"invalidations":[["E2QWRUHEXAMPLE","I2J0I21PCUYOIK"]]}"#,
    );
    let run = start(
        &client,
        &NoArtifacts,
        &MemoryStore::new(),
        start_payload(request),
        at("2026-11-26T12:20:00Z"),
        WINDOW,
    )
    .await
    .unwrap();
    let (name, cause) = failure(&run).unwrap();
    assert_eq!(name, "InvalidInput");
    assert!(cause.contains("run the action again"), "{cause}");
    assert_eq!(create.num_calls(), 0);
}

#[tokio::test]
async fn a_token_whose_state_expired_is_named() {
    let run = start(
        &cloudfront(&[]),
        &NoArtifacts,
        &MemoryStore::new(),
        start_payload(continued_job(
            r#"{"v":2,"state":"runs/job-x/continued-y.json"}"#,
        )),
        at("2026-11-26T12:20:00Z"),
        WINDOW,
    )
    .await
    .unwrap();
    let (name, cause) = failure(&run).unwrap();
    assert_eq!(name, "PlanNotFound");
    assert!(cause.contains("runs/job-x/continued-y.json"), "{cause}");
    assert_eq!(
        run.job_id.as_deref(),
        Some("22222222-abcd-2222-abcd-222222abcdef")
    );
}
