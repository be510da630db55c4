//! Helpers shared by the workspace-level tests: where the repository is, its files, and what
//! the end-to-end suites ask of a local run.

use std::path::PathBuf;
use std::time::Duration;

use aws_emulator::{JobResult, Operation, Snapshot};
use local_run::{Environment, Execution, Settings};
use serde_json::{json, Value};

/// The job of `events/codepipeline-job.json`.
pub const JOB_ID: &str = "11111111-abcd-1111-abcd-111111abcdef";
/// The distribution of the sample inputs.
pub const DISTRIBUTION: &str = "E2QWRUHEXAMPLE";
/// A second distribution.
pub const SECOND_DISTRIBUTION: &str = "E1U5RQF7T870K0";
/// The artifact credentials of the sample job event.
pub const CREDENTIALS: [&str; 3] = [
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "FwoGZXIvYXdzEXAMPLESESSIONTOKENvalueForTestsOnlyQzXwVbNmLk",
];

/// The repository's top folder.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

/// A repository file's text, with its path in the panic message when it is missing.
pub fn read_repo_file(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A JSON file of the repository.
pub fn read_repo_json(relative: &str) -> serde_json::Value {
    serde_json::from_str(&read_repo_file(relative))
        .unwrap_or_else(|e| panic!("{relative} is not JSON: {e}"))
}

/// A local run for tests, in virtual time (no test waits for an invalidation or a Wait state),
/// with these distributions, whose invalidations take 8 s (of virtual time) to complete.
pub fn settings(distributions: &[&str]) -> Settings {
    let mut settings = Settings::for_tests(repo_root());
    settings.distributions = distributions.iter().map(|d| d.to_string()).collect();
    settings
}

/// How long an invalidation takes that outlasts a job's reply window on any machine: the
/// reply window is real time (the functions' clock), CloudFront's time the emulator's
/// (virtual), and thirty virtual days pass only when [`run_job_past_its_reply`] moves them.
pub const OUTLASTS_THE_REPLY: Duration = Duration::from_secs(30 * 24 * 3600);

/// [`settings`] in which a run with a job replies "in progress" after a second, its
/// invalidations taking [`OUTLASTS_THE_REPLY`].
pub fn settings_outlasting_the_reply(distributions: &[&str]) -> Settings {
    let mut settings = settings(distributions);
    settings.invalidation_time = OUTLASTS_THE_REPLY;
    settings.reply_window = Some(Duration::from_secs(1));
    settings
}

/// Runs `job` down the Lambda invoke action path in an environment of
/// [`settings_outlasting_the_reply`]: the first run must reply "in progress"; once a continued
/// job's run has begun, the emulator's clock moves past the invalidation, and that run sees it
/// completed.
pub async fn run_job_past_its_reply(environment: &Environment, job: &Value) -> Vec<Execution> {
    let job_id = job["CodePipeline.job"]["id"].as_str().unwrap_or_default();
    let first_run = format!("job-{job_id}");
    let mut finished = false;
    environment
        .run_pipeline_job(job, |run, _| {
            if run != first_run && !finished {
                environment.advance_clock(OUTLASTS_THE_REPLY).unwrap();
                finished = true;
            }
        })
        .await
        .unwrap()
}

/// The sample job event with other UserParameters (a string as it is, else its JSON).
pub fn job_with(user_parameters: Value) -> Value {
    let mut event = read_repo_json("events/codepipeline-job.json");
    event["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] =
        match user_parameters {
            Value::String(text) => json!(text),
            other => json!(other.to_string()),
        };
    event
}

/// The execution failed with this error; its cause.
pub fn assert_failed_with(execution: &Execution, error: &str) -> String {
    let (name, cause) = execution
        .error
        .clone()
        .unwrap_or_else(|| panic!("expected failure {error}, got {:?}", execution.output));
    assert_eq!(execution.status, "FAILED");
    assert_eq!(name, error, "cause: {cause}");
    cause
}

/// The one result CodePipeline received for `job_id`: every job gets exactly one.
pub fn the_result<'a>(seen: &'a Snapshot, job_id: &str) -> &'a JobResult {
    let results: Vec<&JobResult> = seen
        .job_results
        .iter()
        .filter(|result| result.job_id == job_id)
        .collect();
    assert_eq!(results.len(), 1, "results of {job_id}: {results:#?}");
    results[0]
}

/// The one result of the sample job, which must be a failure of this type; its message.
pub fn the_failure(seen: &Snapshot, failure_type: &str) -> String {
    let result = the_result(seen, JOB_ID);
    assert_eq!(result.operation, Operation::PutJobFailureResult);
    let details = result.failure_details.as_ref().expect("failure details");
    assert_eq!(details.kind, failure_type);
    details.message.clone()
}

/// The summary of a success or "in progress" result.
pub fn summary(result: &JobResult) -> &str {
    result
        .execution_details
        .as_ref()
        .and_then(|details| details.summary.as_deref())
        .unwrap_or_default()
}

/// The state names an execution entered, counted.
pub fn entered(execution: &Execution, state: &str) -> usize {
    execution
        .states_entered()
        .iter()
        .filter(|entered| **entered == state)
        .count()
}

/// The metric records report-result wrote in this environment (at least `expected`), each
/// checked as CloudWatch reads the embedded metric format, parsed.
pub async fn metric_records(environment: &local_run::Environment, expected: usize) -> Vec<Value> {
    let records = environment
        .metric_records(expected)
        .await
        .expect("the environment hosts the functions");
    assert!(records.len() >= expected, "{records:#?}");
    records
        .iter()
        .map(|line| {
            invalidation::metrics::check_emf_line(line)
                .unwrap_or_else(|problem| panic!("{problem}: {line}"));
            serde_json::from_str(line).unwrap()
        })
        .collect()
}
