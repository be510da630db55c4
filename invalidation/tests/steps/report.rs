//! Tests of report-result.

use super::common::*;
use invalidation::metrics::{check_emf_line, MetricsOutput};
use invalidation::report::report_result_with_metrics;

/// The state a Catch leaves when a check fails: the run it was given, and the error.
fn caught(error: &str, message: &str) -> Value {
    let mut state = report_state("report-result-timed-out.json");
    state["run"]["phase"] = json!("InProgress");
    state["run"].as_object_mut().unwrap().remove("failure");
    let document = json!({"errorType": error, "errorMessage": message}).to_string();
    state["error"] = json!({"Error": error, "Cause": document});
    state
}

#[tokio::test]
async fn a_run_that_failed_in_its_state_is_reported_with_every_invalidation_it_created() {
    let put = failure_rule(
        SdkFailureType::JobFailed,
        "Cache invalidation failed: InvalidationTimedOut: still in progress at the deadline \
         2026-11-26T13:00:00Z after 63 checks: I2J0I21PCUYOIK on E2QWRUHEXAMPLE; already \
         created: E2QWRUHEXAMPLE: I2J0I21PCUYOIK",
    );
    let client = codepipeline(&[&put]);
    let outcome = report(&client, report_state("report-result-timed-out.json"))
        .await
        .unwrap();
    assert_eq!(put.num_calls(), 1);
    assert_eq!(outcome.error.as_deref(), Some("InvalidationTimedOut"));
    assert_eq!(outcome.invalidations[0].invalidation_id, "I2J0I21PCUYOIK");
}

#[tokio::test]
async fn a_failure_on_forty_distributions_names_all_forty_invalidations() {
    // GIVEN a run on 40 distributions, each with its invalidation created, that failed
    let mut state = report_state("report-result-timed-out.json");
    let targets: Vec<Value> = (0..40)
        .map(|n| json!({"id": format!("E{n:0>13}"), "invalidations": [{"id": format!("I{n:0>13}"), "status": "InProgress"}]}))
        .collect();
    state["run"]["targets"] = json!(targets);
    state["run"]["failure"] =
        json!({"error": "ServiceUnavailable", "cause": "CloudFront's calls failed"});
    let put = mock!(aws_sdk_codepipeline::Client::put_job_failure_result)
        .match_requests(|request| {
            let message = request.failure_details().unwrap().message();
            (0..40).all(|n| message.contains(&format!("E{n:0>13}: I{n:0>13}")))
        })
        .then_output(|| PutJobFailureResultOutput::builder().build());
    let client = codepipeline(&[&put]);
    // WHEN it is reported
    let outcome = report(&client, state).await.unwrap();
    // THEN the job's message and the output name every one of them
    assert_eq!(put.num_calls(), 1);
    assert_eq!(outcome.invalidations.len(), 40);
}

#[tokio::test]
async fn a_reply_due_keeps_the_run_in_the_state_bucket_and_the_token_names_it() {
    let store = MemoryStore::new();
    let mut state = report_state("report-result-timed-out.json");
    state["run"]["phase"] = json!("ReplyDue");
    state["run"].as_object_mut().unwrap().remove("failure");
    let put = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .match_requests(|request| {
            request.continuation_token()
                == Some(&*format!(
                    r#"{{"v":2,"state":"runs/job-{JOB_ID}/continued-{JOB_ID}.json"}}"#
                ))
                && request.execution_details().unwrap().percent_complete() == Some(0)
                && request.output_variables().is_none()
        })
        .then_output(|| PutJobSuccessResultOutput::builder().build());
    let client = codepipeline(&[&put]);

    let outcome = report_with_store(&client, &store, json!({"state": state, "retryCount": 0}))
        .await
        .unwrap();

    assert_eq!(put.num_calls(), 1);
    assert_eq!(outcome.status, RunStatus::Continued);
    assert_eq!(
        store.keys(),
        [format!("runs/job-{JOB_ID}/continued-{JOB_ID}.json")]
    );
    let kept = invalidation::state_bucket::load_continuation(&store, &store.keys()[0])
        .await
        .unwrap();
    assert_eq!(kept.targets[0].invalidations[0].id, "I2J0I21PCUYOIK");
}

#[tokio::test]
async fn success_is_recorded_with_a_summary_and_output_variables() {
    let put = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .match_requests(|request| {
            let details = request.execution_details().unwrap();
            let variables = request.output_variables().unwrap();
            request.job_id() == Some(JOB_ID)
                && details.summary() == Some("Invalidated 2 paths (2 requested) on E2QWRUHEXAMPLE (invalidation I2J0I21PCUYOIK): completed after 3 status checks. Estimated cost $0.010 at $0.005 a path beyond the free 1,000 a month.")
                && details.percent_complete() == Some(100)
                && variables.get("InvalidationIds").map(String::as_str) == Some("I2J0I21PCUYOIK")
                && variables.get("DistributionIds").map(String::as_str) == Some("E2QWRUHEXAMPLE")
                && request.continuation_token().is_none()
        })
        .then_output(|| PutJobSuccessResultOutput::builder().build());
    let client = codepipeline(&[&put]);

    let outcome = report(&client, report_state("report-result.json"))
        .await
        .unwrap();

    assert_eq!(put.num_calls(), 1);
    assert_eq!(outcome.status, RunStatus::Succeeded);
    let pipeline = outcome.code_pipeline.unwrap();
    assert_eq!(pipeline.result, "PutJobSuccessResult");
    assert!(!pipeline.already_recorded);
}

#[tokio::test]
async fn the_failure_type_follows_the_cause() {
    let cases = [
        (
            "DistributionNotFound",
            SdkFailureType::ConfigurationError,
            FailureType::ConfigurationError,
        ),
        (
            "InvalidInput",
            SdkFailureType::ConfigurationError,
            FailureType::ConfigurationError,
        ),
        (
            "AccessDenied",
            SdkFailureType::PermissionError,
            FailureType::PermissionError,
        ),
        (
            "InvalidationTimedOut",
            SdkFailureType::JobFailed,
            FailureType::JobFailed,
        ),
        (
            "States.Timeout",
            SdkFailureType::SystemUnavailable,
            FailureType::SystemUnavailable,
        ),
        (
            "ServiceUnavailable",
            SdkFailureType::SystemUnavailable,
            FailureType::SystemUnavailable,
        ),
        (
            "Lambda.Unknown",
            SdkFailureType::JobFailed,
            FailureType::JobFailed,
        ),
    ];
    for (error_name, sdk_type, failure_type) in cases {
        let put = failure_rule(sdk_type, "Cache invalidation failed: ");
        let client = codepipeline(&[&put]);
        let payload = caught(error_name, "it went wrong");

        let outcome = report(&client, payload).await.unwrap();

        assert_eq!(put.num_calls(), 1, "{error_name}");
        assert_eq!(outcome.status, RunStatus::Failed);
        assert_eq!(outcome.error.as_deref(), Some(error_name));
        assert_eq!(
            outcome.cause.as_deref(),
            Some("it went wrong; already created: E2QWRUHEXAMPLE: I2J0I21PCUYOIK")
        );
        assert_eq!(
            outcome.code_pipeline.unwrap().failure_type,
            Some(failure_type)
        );
    }
}

#[tokio::test]
async fn a_long_failure_message_is_cut_to_what_codepipeline_accepts() {
    let put = mock!(aws_sdk_codepipeline::Client::put_job_failure_result)
        .match_requests(|request| {
            request.failure_details().unwrap().message().chars().count() == 5000
        })
        .then_output(|| PutJobFailureResultOutput::builder().build());
    let client = codepipeline(&[&put]);
    report(&client, caught("ServiceUnavailable", &"x".repeat(9000)))
        .await
        .unwrap();
    assert_eq!(put.num_calls(), 1);
}

#[tokio::test]
async fn a_transient_codepipeline_error_is_retried_until_the_result_is_recorded() {
    let put = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .sequence()
        .http_status(400, Some(codepipeline_error("ThrottlingException")))
        .http_status(503, None)
        .output(|| PutJobSuccessResultOutput::builder().build())
        .build();
    let client = codepipeline(&[&put]);
    let outcome = report(&client, report_state("report-result.json"))
        .await
        .unwrap();
    assert_eq!(put.num_calls(), 3);
    assert!(!outcome.code_pipeline.unwrap().already_recorded);
}

#[tokio::test]
async fn invalid_job_state_after_a_retry_means_the_result_is_already_recorded() {
    let put = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .sequence()
        .http_status(500, None)
        .http_status(400, Some(codepipeline_error("InvalidJobStateException")))
        .build();
    let client = codepipeline(&[&put]);
    let outcome = report(&client, report_state("report-result.json"))
        .await
        .unwrap();
    assert_eq!(put.num_calls(), 2);
    assert_eq!(outcome.status, RunStatus::Succeeded);
    assert!(outcome.code_pipeline.unwrap().already_recorded);
}

#[tokio::test]
async fn invalid_job_state_on_the_first_attempt_is_a_closed_job() {
    let put = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .sequence()
        .http_status(400, Some(codepipeline_error("InvalidJobStateException")))
        .build();
    let client = codepipeline(&[&put]);
    let error = report(&client, report_state("report-result.json"))
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::JobAlreadyClosed);
    assert!(error.message.contains(JOB_ID), "{}", error.message);
}

#[tokio::test]
async fn retries_are_bounded() {
    let put = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .sequence()
        .http_status(400, Some(codepipeline_error("ThrottlingException")))
        .repeatedly()
        .build();
    let client = codepipeline(&[&put]);
    let error = report(&client, report_state("report-result.json"))
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Throttled);
    assert_eq!(put.num_calls(), 6, "one attempt and five retries");
}

#[tokio::test]
async fn a_rejected_result_is_an_error_not_a_silent_success() {
    let put = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .sequence()
        .http_status(400, Some(codepipeline_error("JobNotFoundException")))
        .build();
    let client = codepipeline(&[&put]);
    let error = report(&client, report_state("report-result.json"))
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::JobReportRejected);
    assert_eq!(put.num_calls(), 1);
}

#[tokio::test]
async fn without_a_job_nothing_is_sent_and_the_outcome_is_shaped() {
    let client = codepipeline(&[]);
    let mut payload = report_state("report-result.json");
    payload["run"].as_object_mut().unwrap().remove("jobId");
    let outcome = report(&client, payload).await.unwrap();
    assert_eq!(outcome.status, RunStatus::Succeeded);
    assert_eq!(outcome.code_pipeline, None);
    assert_eq!(outcome.invalidations.len(), 1);
    assert_eq!(
        serde_json::to_value(&outcome).unwrap()["summary"],
        "Invalidated 2 paths (2 requested) on E2QWRUHEXAMPLE (invalidation I2J0I21PCUYOIK): completed after 3 status checks. Estimated cost $0.010 at $0.005 a path beyond the free 1,000 a month."
    );
}

#[tokio::test]
async fn a_start_failure_is_reported_to_the_job_found_in_the_original_event() {
    let put = failure_rule(
        SdkFailureType::ConfigurationError,
        "Cache invalidation failed: InvalidInput: path `index.html` must start with /",
    );
    let client = codepipeline(&[&put]);
    // The Catch puts the error beside the execution input, which is the state then.
    let mut payload = event("codepipeline-job.json");
    payload["error"] = json!({"Error": "InvalidInput", "Cause": "{\"errorType\":\"InvalidInput\",\"errorMessage\":\"path `index.html` must start with /\"}"});
    let outcome = report(&client, payload).await.unwrap();
    assert_eq!(put.num_calls(), 1);
    assert_eq!(outcome.code_pipeline.unwrap().job_id, JOB_ID);
}

#[tokio::test]
async fn invalid_job_state_after_the_sdks_own_retry_means_the_result_is_already_recorded() {
    // The SDK retries a 5xx inside one attempt of ours; its retry meets the result the lost
    // answer had recorded.
    let put = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .sequence()
        .http_status(503, None)
        .http_status(400, Some(codepipeline_error("InvalidJobStateException")))
        .build();
    let client = mock_client!(
        aws_sdk_codepipeline,
        RuleMode::Sequential,
        [&put],
        |config| {
            config.retry_config(
                aws_sdk_codepipeline::config::retry::RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(Duration::from_millis(1)),
            )
        }
    );
    let outcome = report(&client, report_state("report-result.json"))
        .await
        .unwrap();
    assert_eq!(put.num_calls(), 2);
    assert!(outcome.code_pipeline.unwrap().already_recorded);
}

#[tokio::test]
async fn invalid_job_state_when_the_state_machine_retried_the_step_means_already_recorded() {
    // An earlier invocation of report-result recorded the result, then crashed or timed out.
    let put = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .sequence()
        .http_status(400, Some(codepipeline_error("InvalidJobStateException")))
        .build();
    let client = codepipeline(&[&put]);
    let outcome = report_payload(
        &client,
        json!({"state": report_state("report-result.json"), "retryCount": 1}),
    )
    .await
    .unwrap();
    assert_eq!(put.num_calls(), 1);
    assert_eq!(outcome.status, RunStatus::Succeeded);
    assert!(outcome.code_pipeline.unwrap().already_recorded);
}

#[tokio::test]
async fn pipeline_entry_failing_on_every_attempt_is_reported_to_its_job() {
    // Lambda's record of the asynchronous invocation, as the on-failure destination gets it.
    let put = failure_rule(
        SdkFailureType::JobFailed,
        "Cache invalidation could not start: Runtime.ExitError: pipeline-entry failed on all 3 \
         attempts; the last: RequestId: r-1 Error: Runtime exited with error: exit status 101",
    );
    let client = codepipeline(&[&put]);
    let record = json!({
        "version": "1.0",
        "timestamp": "2026-11-26T12:00:00.000Z",
        "requestContext": {"requestId": "r-1", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:pipeline-entry:$LATEST", "condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": event("codepipeline-job.json"),
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "Runtime.ExitError", "errorMessage": "RequestId: r-1 Error: Runtime exited with error: exit status 101"}
    });

    let outcome = report_payload(&client, record).await.unwrap();

    assert_eq!(put.num_calls(), 1);
    assert_eq!(outcome.status, RunStatus::Failed);
    let reported = outcome.code_pipeline.unwrap();
    assert_eq!(reported.job_id, JOB_ID);
    assert_eq!(reported.failure_type, Some(FailureType::JobFailed));
    let text = serde_json::to_string(&outcome.summary).unwrap();
    for secret in CREDENTIALS {
        assert!(!text.contains(secret), "{text}");
    }
}

/// report-result with this state at `now`, writing its metric record; the record's lines.
async fn report_measured(
    client: &aws_sdk_codepipeline::Client,
    state: Value,
    now: SystemTime,
) -> (Result<Outcome, WorkflowError>, Vec<Value>) {
    let metrics = MetricsOutput::in_memory("cloudfront-invalidation");
    let outcome = report_result_with_metrics(
        client,
        &MemoryStore::new(),
        json!({"state": state, "retryCount": 0}).into(),
        report_backoff().with_min_delay(Duration::from_millis(1)),
        Budget::of(now, REPORT_TIME),
        &metrics,
    )
    .await;
    let lines = metrics
        .lines()
        .iter()
        .map(|line| {
            check_emf_line(line).unwrap();
            serde_json::from_str(line).unwrap()
        })
        .collect();
    (outcome, lines)
}

#[tokio::test(start_paused = true)]
async fn the_record_times_the_run_and_each_invalidation_on_the_functions_clock() {
    // GIVEN an execution started at 12:00:00 whose invalidation was created at 12:00:01, seen
    // in progress at 12:00:06 and completed at 12:00:16
    let store = MemoryStore::new();
    let cloudfront = cloudfront(&[&create_rule()]);
    let request =
        json!({"distributionId": "E2QWRUHEXAMPLE", "paths": ["/a.html", "/img/*", "#release-1"]});
    let run = start(
        &cloudfront,
        &NoArtifacts,
        &store,
        start_payload(request),
        at("2026-11-26T12:00:01Z"),
        WINDOW,
    )
    .await
    .unwrap();
    let get = mock!(aws_sdk_cloudfront::Client::get_invalidation)
        .sequence()
        .output(|| get_output("InProgress"))
        .output(|| get_output("Completed"))
        .build();
    let cloudfront = super::common::cloudfront(&[&get]);
    let run = check(
        &cloudfront,
        &store,
        checking(&run),
        at("2026-11-26T12:00:06Z"),
    )
    .await
    .unwrap();
    let run = check(
        &cloudfront,
        &store,
        checking(&run),
        at("2026-11-26T12:00:16Z"),
    )
    .await
    .unwrap();
    assert_eq!(run.phase, Phase::Completed);
    // WHEN report-result reports it at 12:00:20
    let (outcome, records) = report_measured(
        &codepipeline(&[]),
        json!({"run": run}),
        at("2026-11-26T12:00:20Z"),
    )
    .await;
    // THEN one record says how long, what was sent, and to which stack
    assert_eq!(outcome.unwrap().status, RunStatus::Succeeded);
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record["Stack"], "cloudfront-invalidation");
    assert_eq!(record["Outcome"], "Succeeded");
    assert_eq!(record["RunDuration"], 20.0);
    assert_eq!(record["InvalidationDuration"], json!([15.0]));
    assert_eq!(record["DetectionLag"], json!([10.0]));
    for sent in [
        "Invalidations",
        "PathsSent",
        "WildcardsSent",
        "CacheTagsSent",
    ] {
        assert_eq!(record[sent], 1, "{sent}");
    }
    assert_eq!(record["EstimatedCost"], 0.015);
    assert_eq!(record["distributionIds"], json!(["E2QWRUHEXAMPLE"]));
}

#[tokio::test]
async fn a_result_codepipeline_refuses_is_recorded_as_that_failure() {
    let put = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .sequence()
        .http_status(400, Some(codepipeline_error("JobNotFoundException")))
        .build();
    let (outcome, records) = report_measured(
        &codepipeline(&[&put]),
        report_state("report-result.json"),
        SystemTime::now(),
    )
    .await;
    assert_eq!(outcome.unwrap_err().kind, ErrorKind::JobReportRejected);
    let record = &records[0];
    assert_eq!(record["Outcome"], "Failed");
    assert_eq!(record["ErrorName"], "JobReportRejected");
    assert_eq!(record["jobId"], JOB_ID);
}

#[tokio::test]
async fn a_transient_failure_writes_no_record_for_the_retry_will() {
    let put = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .sequence()
        .http_status(400, Some(codepipeline_error("ThrottlingException")))
        .repeatedly()
        .build();
    let state = report_state("report-result.json");
    let client = codepipeline(&[&put]);
    let metrics = MetricsOutput::in_memory("s");
    // A budget that leaves no room for a retry inside the step.
    let error = report_result_with_metrics(
        &client,
        &MemoryStore::new(),
        json!({"state": state, "retryCount": 0}).into(),
        report_backoff().with_min_delay(Duration::from_millis(1)),
        Budget::of(SystemTime::now(), Duration::from_secs(1)),
        &metrics,
    )
    .await
    .unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    assert!(metrics.lines().is_empty());
}
