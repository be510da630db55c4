//! Every file in events/ parses into the type it stands for, survives a serialize → parse round
//! trip, and (for execution inputs) is accepted by the request checks.

use aws_lambda_events::event::codepipeline_job::CodePipelineJobEvent;
use invalidation::payload::{ReportInput, ReportRequest, StartInput, StepInput};
use invalidation::request::parse_request;
use invalidation::run::Phase;
use serde::de::DeserializeOwned;
use serde::Serialize;
use workflow_tests::{read_repo_file, read_repo_json, repo_root};

fn round_trip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(file: &str) -> T {
    let parsed: T =
        serde_json::from_value(read_repo_json(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let again: T = serde_json::from_value(serde_json::to_value(&parsed).unwrap()).unwrap();
    assert_eq!(parsed, again, "{file} changes in a round trip");
    parsed
}

const EXECUTION_INPUTS: [&str; 5] = [
    "events/console-input.json",
    "events/console-input-several.json",
    "events/codepipeline-job.json",
    "events/codepipeline-job-distribution-id.json",
    "events/codepipeline-job-paths-file.json",
];

#[test]
fn execution_inputs_pass_the_request_checks() {
    for file in EXECUTION_INPUTS {
        let request =
            parse_request(&read_repo_json(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(!request.distribution_ids.is_empty(), "{file}");
    }
}

#[test]
fn job_events_are_codepipeline_job_events() {
    for file in [
        "events/codepipeline-job.json",
        "events/codepipeline-job-distribution-id.json",
        "events/codepipeline-job-paths-file.json",
    ] {
        let event: CodePipelineJobEvent = round_trip(file);
        assert_eq!(
            event.code_pipeline_job.id.as_deref(),
            Some("11111111-abcd-1111-abcd-111111abcdef")
        );
    }
}

#[test]
fn the_paths_file_sample_reads_its_file_from_the_build_output() {
    let request =
        parse_request(&read_repo_json("events/codepipeline-job-paths-file.json")).unwrap();
    let file = request.paths_file.expect("pathsFile is set");
    assert_eq!(
        (file.file.as_str(), file.artifact.as_str()),
        ("invalidation-paths.txt", "BuildOutput")
    );
}

/// report-result's payload, which survives a round trip through its type (compared as JSON: the
/// type keeps an invocation record's events unparsed).
fn report_request(file: &str) -> ReportRequest {
    let parsed: ReportRequest =
        serde_json::from_value(read_repo_json(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let once = serde_json::to_value(&parsed).unwrap();
    let again: ReportRequest = serde_json::from_value(once.clone()).unwrap();
    assert_eq!(
        serde_json::to_value(&again).unwrap(),
        once,
        "{file} changes in a round trip"
    );
    parsed
}

#[test]
fn function_samples_are_their_payload_types() {
    let start: StartInput = round_trip("events/start-invalidation.json");
    parse_request(&start.request).unwrap();
    let check: StepInput = round_trip("events/check-status.json");
    assert_eq!(check.run.phase, Phase::InProgress);
    let state = |file: &str| -> ReportInput {
        let text = report_request(file)
            .state
            .expect("a state")
            .get()
            .to_owned();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
    };
    assert_eq!(
        state("events/report-result.json").run.unwrap().phase,
        Phase::Completed
    );
    let timed_out = state("events/report-result-timed-out.json").run.unwrap();
    assert_eq!(
        timed_out.failure.unwrap().error.name(),
        "InvalidationTimedOut"
    );
}

#[test]
fn the_sam_local_env_vars_file_names_template_functions_and_string_values() {
    // `sam local invoke --env-vars`: {"Parameters": {…every function…}, "<LogicalId>": {…}}.
    let template = read_repo_file("template.yaml");
    let env = read_repo_json("events/sam-local-env.json");
    for (key, variables) in env.as_object().unwrap() {
        assert!(
            key == "Parameters"
                || template.contains(&format!("\n  {key}:\n    Type: AWS::Serverless::Function")),
            "{key} is no function of template.yaml"
        );
        for (name, value) in variables.as_object().unwrap() {
            assert!(value.is_string(), "{key}.{name} must be a string");
        }
    }
}

#[test]
fn every_events_file_is_covered_here() {
    let covered = [
        &EXECUTION_INPUTS[..],
        &[
            "events/start-invalidation.json",
            "events/check-status.json",
            "events/report-result.json",
            "events/report-result-timed-out.json",
            "events/sam-local-env.json",
        ],
    ]
    .concat();
    let mut files: Vec<String> = std::fs::read_dir(repo_root().join("events"))
        .unwrap()
        .map(|entry| format!("events/{}", entry.unwrap().file_name().to_string_lossy()))
        .collect();
    files.sort();
    let mut expected: Vec<String> = covered.iter().map(|f| f.to_string()).collect();
    expected.sort();
    assert_eq!(files, expected, "add a check for each new events/ file");
}
