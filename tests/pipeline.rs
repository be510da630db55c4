//! End to end, the CodePipeline Lambda invoke action path: the local runner plays CodePipeline
//! (invoking pipeline-entry with the job event, and, through the emulator, creating a new job
//! after each "in progress" reply); pipeline-entry starts executions in the emulated Step
//! Functions; the runner executes each with the real state machine file and function binaries.
//!
//! Needs the tools of scripts/setup and the binaries of `cargo build --workspace --all-targets`.

use std::time::Duration;

use local_run::{repo_root, Environment, Settings};
use serde_json::{json, Value};
use workflow_tests::read_repo_json;

const JOB_ID: &str = "11111111-abcd-1111-abcd-111111abcdef";
const DISTRIBUTION: &str = "E2QWRUHEXAMPLE";

fn settings() -> Settings {
    let mut settings = Settings::new(repo_root());
    settings.distributions = vec![DISTRIBUTION.to_owned()];
    settings.invalidation_time = Duration::from_secs(2);
    settings
}

fn seen(environment: &Environment) -> Value {
    serde_json::to_value(environment.snapshot()).unwrap()
}

fn list<'a>(seen: &'a Value, key: &str) -> &'a Vec<Value> {
    seen[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {seen}"))
}

#[tokio::test]
async fn a_job_starts_one_execution_named_after_it_which_reports_success() {
    let environment = Environment::start(settings()).await.unwrap();
    let answer = environment
        .deliver_job(&read_repo_json("events/codepipeline-job.json"))
        .await
        .unwrap();
    assert_eq!(answer["executionName"], format!("job-{JOB_ID}"));
    let executions = environment.drive_executions(|_, _| {}).await.unwrap();
    let seen = seen(&environment);

    assert_eq!(executions.len(), 1);
    assert!(executions[0].succeeded(), "{:?}", executions[0].error);
    assert_eq!(list(&seen, "executions").len(), 1);
    assert_eq!(list(&seen, "invalidations").len(), 1);
    let results = list(&seen, "jobResults");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["operation"], "PutJobSuccessResult");
    assert_eq!(results[0]["jobId"], JOB_ID);
    assert!(results[0].get("continuationToken").is_none());
}

#[tokio::test]
async fn the_same_job_delivered_twice_makes_one_execution_one_invalidation_one_result() {
    let environment = Environment::start(settings()).await.unwrap();
    let job = read_repo_json("events/codepipeline-job.json");
    environment.deliver_job(&job).await.unwrap();
    // Lambda retries an asynchronous invocation; CodePipeline may invoke again.
    let again = environment.deliver_job(&job).await.unwrap();
    let executions = environment.drive_executions(|_, _| {}).await.unwrap();
    let seen = seen(&environment);

    assert_eq!(executions.len(), 1);
    let started = list(&seen, "executions");
    assert_eq!(started.len(), 1, "{started:#?}");
    assert_eq!(started[0]["startCalls"], 2, "both deliveries asked");
    assert!(
        again["executionArn"].is_string() || again["alreadyStarted"] == true,
        "{again}"
    );
    assert_eq!(list(&seen, "invalidations").len(), 1);
    assert_eq!(list(&seen, "jobResults").len(), 1);
}

#[tokio::test]
async fn an_invalidation_that_outlasts_the_reply_window_continues_in_a_new_job() {
    let mut settings = settings();
    settings.invalidation_time = Duration::from_secs(6);
    settings.reply_window = Some(Duration::from_secs(3));
    let environment = Environment::start(settings).await.unwrap();
    let executions = environment
        .run_pipeline_job(&read_repo_json("events/codepipeline-job.json"), |_, _| {})
        .await
        .unwrap();
    let seen = seen(&environment);
    println!("{}", serde_json::to_string_pretty(&seen).unwrap());

    let results = list(&seen, "jobResults");
    assert!(results.len() >= 2, "{results:#?}");
    let (last, earlier) = results.split_last().unwrap();
    // Every earlier reply was "in progress" with a token, the first one on the original job…
    assert_eq!(earlier[0]["jobId"], JOB_ID);
    for reply in earlier {
        assert_eq!(reply["operation"], "PutJobSuccessResult");
        let token: Value =
            serde_json::from_str(reply["continuationToken"].as_str().unwrap()).unwrap();
        assert_eq!(token["invalidations"][0][0], DISTRIBUTION);
        assert!(
            reply["executionDetails"]["percentComplete"]
                .as_i64()
                .unwrap()
                < 100
        );
    }
    // …and the final success went to a job CodePipeline created from the token.
    assert_eq!(last["operation"], "PutJobSuccessResult");
    assert!(last.get("continuationToken").is_none());
    assert_ne!(last["jobId"], JOB_ID);
    let jobs = list(&seen, "jobs");
    let final_job = jobs
        .iter()
        .find(|job| job["jobId"] == last["jobId"])
        .expect("the final job was created by a continuation");
    assert!(final_job["continuedFrom"].is_string(), "{final_job}");
    // One invalidation, created once; every execution succeeded.
    assert_eq!(list(&seen, "invalidations").len(), 1);
    assert_eq!(seen["calls"]["CreateInvalidation"], 1);
    assert_eq!(executions.len(), results.len());
    assert!(executions.iter().all(|e| e.succeeded()));
}

#[tokio::test]
async fn a_run_that_cannot_start_is_reported_by_pipeline_entry() {
    let mut settings = settings();
    settings.env_overrides.push((
        "pipeline-entry".to_owned(),
        "STATE_MACHINE_ARN".to_owned(),
        "arn:aws:states:us-east-1:123456789012:stateMachine:Missing".to_owned(),
    ));
    let environment = Environment::start(settings).await.unwrap();
    let answer = environment
        .deliver_job(&read_repo_json("events/codepipeline-job.json"))
        .await
        .unwrap();
    let seen = seen(&environment);

    assert!(
        answer["failureReported"]
            .as_str()
            .unwrap()
            .contains("StateMachineDoesNotExist"),
        "{answer}"
    );
    assert!(list(&seen, "executions").is_empty());
    assert!(list(&seen, "invalidations").is_empty());
    let results = list(&seen, "jobResults");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["operation"], "PutJobFailureResult");
    assert_eq!(results[0]["failureDetails"]["type"], "ConfigurationError");
    let message = results[0]["failureDetails"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Cache invalidation could not start: InvalidInput: StartExecution"),
        "{message}"
    );
    assert_eq!(json!(answer["jobId"]), json!(JOB_ID));
}
