//! Tests of pipeline-entry.

use super::common::*;

#[tokio::test]
async fn a_state_machine_setting_that_is_no_arn_fails_each_job_as_a_configuration_error() {
    // Under `sam local`, the template's !Ref InvalidationStateMachine is the bare logical id.
    for (setting, named) in [
        (
            Some("InvalidationStateMachine"),
            "STATE_MACHINE_ARN `InvalidationStateMachine` is not a state machine ARN",
        ),
        (None, "STATE_MACHINE_ARN is not set"),
    ] {
        let start = mock!(aws_sdk_sfn::Client::start_execution)
            .then_output(|| StartExecutionOutput::builder().build().unwrap());
        let put = mock!(aws_sdk_codepipeline::Client::put_job_failure_result)
            .match_requests(move |request| {
                let details = request.failure_details().unwrap();
                details.r#type() == &SdkFailureType::ConfigurationError
                    && details.message().starts_with(&format!(
                        "Cache invalidation could not start: InvalidInput: {named}"
                    ))
                    && details.external_execution_id().is_none()
            })
            .then_output(|| PutJobFailureResultOutput::builder().build());
        let sfn = step_functions(&[&start]);
        let pipeline = codepipeline(&[&put]);

        let outcome = enter_with(
            &sfn,
            &pipeline,
            &NoArtifacts,
            &MemoryStore::new(),
            StateMachineTarget::new(setting.map(str::to_owned)),
            event("codepipeline-job.json"),
        )
        .await
        .unwrap();

        assert_eq!(start.num_calls(), 0, "{setting:?}");
        assert_eq!(put.num_calls(), 1, "{setting:?}");
        let reported = outcome.failure_reported.unwrap();
        assert!(reported.contains(named), "{reported}");
    }
}

#[tokio::test]
async fn entry_starts_one_execution_named_after_the_job_with_the_event_without_its_credentials() {
    let mut without_credentials = event("codepipeline-job.json");
    without_credentials["CodePipeline.job"]["data"]["artifactCredentials"] = json!({});
    let start = mock!(aws_sdk_sfn::Client::start_execution)
        .match_requests(move |request| {
            let text = request.input().unwrap();
            let input: Value = serde_json::from_str(text).unwrap();
            request.name() == Some(&format!("job-{JOB_ID}"))
                && request.state_machine_arn()
                    == Some("arn:aws:states:us-east-1:111111111111:stateMachine:Invalidation")
                && input == without_credentials
                && CREDENTIALS.iter().all(|secret| !text.contains(secret))
        })
        .then_output(started);
    let sfn = step_functions(&[&start]);
    let pipeline = codepipeline(&[]);

    let outcome = enter(&sfn, &pipeline, event("codepipeline-job.json"))
        .await
        .unwrap();

    assert_eq!(start.num_calls(), 1);
    assert_eq!(outcome.execution_name, format!("job-{JOB_ID}"));
    assert!(outcome.execution_arn.is_some() && !outcome.already_started);
    assert_eq!(outcome.failure_reported, None);
}

#[tokio::test]
async fn entry_plans_the_job_once_and_keeps_the_plan_under_the_execution_name() {
    let start = mock!(aws_sdk_sfn::Client::start_execution)
        .sequence()
        .output(started)
        .http_status(400, Some(sfn_error("ExecutionAlreadyExists")))
        .build();
    let sfn = step_functions(&[&start]);
    let pipeline = codepipeline(&[]);
    let store = MemoryStore::new();
    for _delivery in 0..2 {
        enter_with(
            &sfn,
            &pipeline,
            &NoArtifacts,
            &store,
            StateMachineTarget::new(Some(STATE_MACHINE.into())),
            event("codepipeline-job.json"),
        )
        .await
        .unwrap();
    }
    assert_eq!(store.keys(), [format!("runs/job-{JOB_ID}/plan.json")]);
    assert_eq!(store.writes(), 1, "the redelivered job found its plan");
    let plan = invalidation::state_bucket::load_plan(&store, &format!("job-{JOB_ID}"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(plan.batches, [["/css/*", "/index.html"]]);
    assert_eq!(plan.reference_prefix, JOB_ID);
}

#[tokio::test]
async fn a_five_megabyte_paths_file_is_planned_here_and_no_credential_reaches_step_functions() {
    // GIVEN a job whose paths file is 5 MB: far more than an execution input may hold
    let lines: String = (0..160_000)
        .map(|i| format!("/assets/build-2026-12/file-{i:06}.js\n"))
        .collect();
    assert!(lines.len() > 5_000_000, "{}", lines.len());
    let artifact = ZipArtifact(local_zip("paths.txt", &lines));
    let mut job = event("codepipeline-job.json");
    job["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] = json!(
        r#"{"distributionId":"E2QWRUHEXAMPLE","pathsFile":"paths.txt","collapseAbove":false}"#
    );
    job["CodePipeline.job"]["data"]["inputArtifacts"] = json!([{
        "location": {"s3Location": {"bucketName": "artifacts", "objectKey": "p/BuildOutput/k.zip"}, "type": "S3"},
        "revision": null, "name": "BuildOutput"
    }]);
    let inputs = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = inputs.clone();
    let start = mock!(aws_sdk_sfn::Client::start_execution)
        .match_requests(move |request| {
            seen.lock()
                .unwrap()
                .push(request.input().unwrap().to_owned());
            true
        })
        .then_output(started);
    let sfn = step_functions(&[&start]);
    let pipeline = codepipeline(&[]);
    let store = MemoryStore::new();

    // WHEN pipeline-entry takes the job
    let outcome = enter_with(
        &sfn,
        &pipeline,
        &artifact,
        &store,
        StateMachineTarget::new(Some(STATE_MACHINE.into())),
        job,
    )
    .await
    .unwrap();

    // THEN the plan of all 160,000 paths is in the state bucket, and the execution input is the
    // event without its credentials: small, and holding none of them
    assert_eq!(outcome.failure_reported, None);
    let plan = invalidation::state_bucket::load_plan(&store, &format!("job-{JOB_ID}"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((plan.items(), plan.batches.len()), (160_000, 54));
    let inputs = inputs.lock().unwrap();
    assert_eq!(inputs.len(), 1);
    assert!(inputs[0].len() < 2_000, "{} bytes", inputs[0].len());
    for secret in CREDENTIALS {
        assert!(!inputs[0].contains(secret));
    }
}

#[tokio::test]
async fn a_redelivered_job_finds_its_run_started_and_reports_nothing() {
    let start = mock!(aws_sdk_sfn::Client::start_execution)
        .sequence()
        .http_status(400, Some(sfn_error("ExecutionAlreadyExists")))
        .build();
    let sfn = step_functions(&[&start]);
    let pipeline = codepipeline(&[]);
    let outcome = enter(&sfn, &pipeline, event("codepipeline-job.json"))
        .await
        .unwrap();
    assert!(outcome.already_started);
    assert_eq!(outcome.failure_reported, None);
}

#[tokio::test]
async fn a_run_that_cannot_start_is_reported_to_the_job() {
    let cases = [
        (
            "StateMachineDoesNotExist",
            SdkFailureType::ConfigurationError,
        ),
        ("AccessDeniedException", SdkFailureType::PermissionError),
    ];
    for (code, failure_type) in cases {
        let start = mock!(aws_sdk_sfn::Client::start_execution)
            .sequence()
            .http_status(400, Some(sfn_error(code)))
            .build();
        let put = failure_rule(failure_type, "Cache invalidation could not start: ");
        let sfn = step_functions(&[&start]);
        let pipeline = codepipeline(&[&put]);

        let outcome = enter(&sfn, &pipeline, event("codepipeline-job.json"))
            .await
            .unwrap();

        assert_eq!(put.num_calls(), 1, "{code}");
        let reported = outcome.failure_reported.unwrap();
        assert!(reported.contains(code), "{reported}");
    }
}

#[tokio::test]
async fn throttling_is_retried_a_bounded_number_of_times_then_reported() {
    let start = mock!(aws_sdk_sfn::Client::start_execution)
        .sequence()
        .http_status(400, Some(sfn_error("ThrottlingException")))
        .repeatedly()
        .build();
    let put = failure_rule(
        SdkFailureType::SystemUnavailable,
        "Cache invalidation could not start: Throttled",
    );
    let sfn = step_functions(&[&start]);
    let pipeline = codepipeline(&[&put]);
    enter(&sfn, &pipeline, event("codepipeline-job.json"))
        .await
        .unwrap();
    assert_eq!(start.num_calls(), 6);
    assert_eq!(put.num_calls(), 1);
}

#[tokio::test]
async fn input_that_can_be_rejected_now_never_starts_a_run() {
    let start = mock!(aws_sdk_sfn::Client::start_execution).then_output(|| {
        StartExecutionOutput::builder()
            .execution_arn("x")
            .start_date(DateTime::from_secs(0))
            .build()
            .unwrap()
    });
    let put = failure_rule(
        SdkFailureType::ConfigurationError,
        "Cache invalidation could not start: InvalidInput: UserParameters `not-an-id`",
    );
    let sfn = step_functions(&[&start]);
    let pipeline = codepipeline(&[&put]);
    let mut job = event("codepipeline-job.json");
    job["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] =
        json!("not-an-id");

    let outcome = enter(&sfn, &pipeline, job).await.unwrap();

    assert_eq!(start.num_calls(), 0);
    assert_eq!(put.num_calls(), 1);
    let text = serde_json::to_string(&outcome).unwrap();
    for secret in CREDENTIALS {
        assert!(!text.contains(secret), "{text}");
    }
}

#[tokio::test]
async fn an_event_without_a_job_is_refused() {
    let sfn = step_functions(&[]);
    let pipeline = codepipeline(&[]);
    let error = enter(&sfn, &pipeline, event("console-input.json"))
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
}
