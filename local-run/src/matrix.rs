//! The fault matrix: the sample job down the Lambda invoke action path under each kind of
//! fault a real AWS account meets — throttling and 5xx answers at several rates, answers lost
//! after the call took effect, functions that crash or hang once or on every attempt, another
//! deploy holding CloudFront's in-progress limit — and what came of it: every job must end with
//! exactly one terminal result, no invalidation may be created twice, and no credential of the
//! job event may appear in any log, output, result or recorded request.
//!
//! `cargo run -p local-run --bin fault-matrix` prints the matrix as a table and exits 1 when a
//! case does not end as it must; `scripts/test` runs it. Runs are in virtual time.

use std::time::{Duration, Instant};

use aws_emulator::{
    FaultCode, FaultSpec, FaultTimes, FunctionFault, FunctionFaultKind, Operation, Snapshot,
};
use invalidation::job::JobView;
use serde_json::Value;

use crate::{Environment, RunError, Settings};

/// The job event every case runs.
pub const SAMPLE_JOB: &str = "events/codepipeline-job.json";
/// The distribution it invalidates.
const DISTRIBUTION: &str = "E2QWRUHEXAMPLE";

/// How a case should end for its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// PutJobSuccessResult, the invalidation completed.
    Success,
    /// PutJobFailureResult of this failure type.
    Failure(&'static str),
}

/// What a case does to the run.
#[derive(Debug, Clone)]
pub enum Fault {
    /// These operations fail at this rate with these codes.
    Calls {
        operations: Vec<Operation>,
        rate: f64,
        codes: Vec<FaultCode>,
    },
    /// These operations take effect, and their answer is lost at this rate.
    LostResponses {
        operations: Vec<Operation>,
        rate: f64,
    },
    /// A function's invocations crash or hang.
    Function {
        binary: &'static str,
        fault: FunctionFault,
    },
    /// Another deploy's invalidation fills the distribution's 15 wildcards when the run starts.
    ForeignLimit,
}

/// One row of the matrix.
#[derive(Debug, Clone)]
pub struct Case {
    /// What is done, for the table.
    pub name: String,
    /// The fault.
    pub fault: Fault,
    /// How each job should end.
    pub expected: Expected,
    /// How many jobs run, one after another: a run makes few calls of each operation (one
    /// CreateInvalidation, one result), so a rate needs several jobs to meet its faults.
    pub jobs: usize,
    /// The seed of the emulator's fault draws.
    pub seed: u64,
}

/// Jobs per case of a fault rate.
const JOBS_AT_A_RATE: usize = 4;
/// The seed of the cases of a fault rate, chosen so that even the 10 % ones meet faults (with
/// seeds 1, 2 and 4 some of them met none in their few calls).
const RATE_SEED: u64 = 3;

const CLOUDFRONT: [Operation; 2] = [Operation::CreateInvalidation, Operation::GetInvalidation];
const PUT_JOB: [Operation; 2] = [
    Operation::PutJobSuccessResult,
    Operation::PutJobFailureResult,
];

/// Every case of the matrix.
pub fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let rates = [0.1, 0.3, 0.5];
    for (service, operations) in [("CloudFront", CLOUDFRONT), ("PutJob*", PUT_JOB)] {
        for (kind, codes) in [
            ("throttling", vec![FaultCode::Throttling]),
            (
                "5xx",
                vec![FaultCode::InternalError, FaultCode::ServiceUnavailable],
            ),
        ] {
            for rate in rates {
                cases.push(Case {
                    name: format!("{service} {kind} {:.0} %", rate * 100.0),
                    fault: Fault::Calls {
                        operations: operations.to_vec(),
                        rate,
                        codes: codes.clone(),
                    },
                    expected: Expected::Success,
                    jobs: JOBS_AT_A_RATE,
                    seed: RATE_SEED,
                });
            }
        }
    }
    for (name, operation) in [
        ("CreateInvalidation", Operation::CreateInvalidation),
        ("GetInvalidation", Operation::GetInvalidation),
        ("PutJobSuccessResult", Operation::PutJobSuccessResult),
        ("StartExecution", Operation::StartExecution),
    ] {
        cases.push(Case {
            name: format!("{name}: half the answers lost"),
            fault: Fault::LostResponses {
                operations: vec![operation],
                rate: 0.5,
            },
            expected: Expected::Success,
            jobs: JOBS_AT_A_RATE,
            seed: RATE_SEED,
        });
    }
    let function = |binary, kind, times, expected| {
        let fault = FunctionFault::new(kind, times);
        Case {
            name: format!("{binary}: {fault}"),
            fault: Fault::Function { binary, fault },
            expected,
            jobs: 1,
            seed: 1,
        }
    };
    use FaultTimes::{Always, Once};
    use FunctionFaultKind::{Crash, CrashAfterWork, Hang, LongError};
    for binary in [
        "pipeline-entry",
        "start-invalidation",
        "check-status",
        "report-result",
    ] {
        cases.push(function(binary, Crash, Once, Expected::Success));
        cases.push(function(binary, Hang, Once, Expected::Success));
    }
    // A crash on every attempt: Lambda's and the state machine's retries run out, and the job
    // still hears why (report-result's failures are recorded by the state machine itself). A
    // hang is a lost answer: the work was done (the run started, the result recorded), so
    // where the next step can go on the job still succeeds.
    cases.push(function(
        "pipeline-entry",
        Crash,
        Always,
        Expected::Failure("JobFailed"),
    ));
    cases.push(function("pipeline-entry", Hang, Always, Expected::Success));
    cases.push(function(
        "start-invalidation",
        Crash,
        Always,
        Expected::Failure("JobFailed"),
    ));
    cases.push(function(
        "start-invalidation",
        Hang,
        Always,
        Expected::Failure("SystemUnavailable"),
    ));
    cases.push(function(
        "check-status",
        Crash,
        Always,
        Expected::Failure("JobFailed"),
    ));
    cases.push(function(
        "check-status",
        Hang,
        Always,
        Expected::Failure("SystemUnavailable"),
    ));
    cases.push(function(
        "report-result",
        Crash,
        Always,
        Expected::Failure("SystemUnavailable"),
    ));
    cases.push(function("report-result", Hang, Always, Expected::Success));
    // report-result fails on every attempt with a 32,000-character message: the state machine's
    // own PutJobFailureResult names the error and the execution, within CodePipeline's 5,000.
    cases.push(function(
        "report-result",
        LongError,
        Always,
        Expected::Failure("SystemUnavailable"),
    ));
    // The answer is lost after the work was done: the result recorded, the run started.
    cases.push(function(
        "report-result",
        CrashAfterWork,
        Once,
        Expected::Success,
    ));
    cases.push(function(
        "report-result",
        CrashAfterWork,
        Always,
        Expected::Success,
    ));
    cases.push(function(
        "pipeline-entry",
        CrashAfterWork,
        Once,
        Expected::Success,
    ));
    cases.push(Case {
        name: "another deploy holds the wildcard limit".into(),
        fault: Fault::ForeignLimit,
        expected: Expected::Success,
        jobs: 1,
        seed: 1,
    });
    cases
}

/// What a case came to.
#[derive(Debug, Clone)]
pub struct CaseReport {
    /// The case.
    pub case: Case,
    /// The jobs' terminal results: (operation, failure type), in order.
    pub terminal: Vec<(String, Option<String>)>,
    /// Results per job id, most of any job.
    pub most_results_per_job: usize,
    /// Invalidations of each job's run (by their CallerReferences).
    pub invalidations: Vec<usize>,
    /// Faults the emulator injected (error answers, lost answers, function faults).
    pub injected: usize,
    /// Credential values found anywhere they must not be: where.
    pub leaks: Vec<String>,
    /// How the run ended, for the table.
    pub outcome: String,
    /// Wall time.
    pub elapsed: Duration,
    /// Whether everything the case must show holds.
    pub passed: bool,
}

fn settings_for(case: &Case, root: &std::path::Path, number: usize) -> Settings {
    let mut settings = Settings::for_tests(root);
    settings.distributions = vec![DISTRIBUTION.to_owned()];
    settings.log_dir = settings
        .log_dir
        .join("matrix")
        .join(format!("case-{number:02}"));
    settings.seed = case.seed;
    // Verbose logs: what might leak a credential is most likely at trace level.
    settings.log_functions_at("trace");
    match &case.fault {
        Fault::Calls {
            operations,
            rate,
            codes,
        } => {
            for operation in operations {
                settings.faults.push((
                    *operation,
                    FaultSpec {
                        error_rate: *rate,
                        codes: codes.clone(),
                        ..FaultSpec::default()
                    },
                ));
            }
        }
        Fault::LostResponses { operations, rate } => {
            for operation in operations {
                settings.faults.push((
                    *operation,
                    FaultSpec {
                        lost_response_rate: *rate,
                        ..FaultSpec::default()
                    },
                ));
            }
        }
        Fault::Function { binary, fault } => {
            settings
                .function_faults
                .push(((*binary).to_owned(), *fault));
        }
        Fault::ForeignLimit => {}
    }
    settings
}

/// Runs one case and says what came of it.
pub async fn run_case(
    root: &std::path::Path,
    number: usize,
    case: &Case,
) -> Result<CaseReport, RunError> {
    let started = Instant::now();
    let settings = settings_for(case, root, number);
    let log_dir = settings.log_dir.clone();
    let _ = std::fs::remove_dir_all(&log_dir);
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join(SAMPLE_JOB))
            .map_err(|e| RunError::Setup(format!("{SAMPLE_JOB}: {e}")))?,
    )
    .map_err(|e| RunError::Setup(format!("{SAMPLE_JOB}: {e}")))?;
    let credentials = JobView::of(&event).credentials;
    let sample_id = JobView::of(&event).id.unwrap_or_default();

    let environment = Environment::start(settings).await?;
    if matches!(case.fault, Fault::ForeignLimit) {
        hold_the_wildcard_limit(&environment).await?;
    }
    let mut executions = Vec::new();
    let mut job_ids = Vec::new();
    for job in 0..case.jobs {
        // Job ids of the sample's shape, one per job: …-111111abcd00, …-111111abcd01, …
        let job_id = format!("{}{job:02}", &sample_id[..sample_id.len() - 2]);
        let mut event = event.clone();
        event["CodePipeline.job"]["id"] = Value::String(job_id.clone());
        executions.extend(environment.run_pipeline_job(&event, |_, _| {}).await?);
        job_ids.push(job_id);
    }
    let seen = environment.snapshot();

    let terminal: Vec<(String, Option<String>)> = seen
        .job_results
        .iter()
        .filter(|result| result.is_terminal())
        .map(|result| {
            (
                result.operation.name().to_owned(),
                result.failure_details.as_ref().map(|d| d.kind.clone()),
            )
        })
        .collect();
    let invalidations_of = |job_id: &str| {
        seen.invalidations
            .iter()
            .filter(|i| i.caller_reference.starts_with(job_id))
            .count()
    };
    let mut per_job = std::collections::BTreeMap::<&str, usize>::new();
    for result in &seen.job_results {
        *per_job.entry(result.job_id.as_str()).or_default() += 1;
    }
    let most_results_per_job = per_job.values().copied().max().unwrap_or(0);
    let invalidations: Vec<usize> = job_ids.iter().map(|id| invalidations_of(id)).collect();
    let injected = seen.fault_log.len()
        + seen.lost_response_log.len()
        + seen
            .lambda_invocations
            .iter()
            .filter(|i| i.injected_fault.is_some())
            .count();
    let leaks = leaks(&credentials, &log_dir, &seen, &executions);
    let one = match case.expected {
        Expected::Success => ("PutJobSuccessResult".to_owned(), None),
        Expected::Failure(kind) => ("PutJobFailureResult".to_owned(), Some(kind.to_owned())),
    };
    let expected_terminal = vec![one; case.jobs];
    // A run that fails before it creates anything (pipeline-entry or start crashing on every
    // attempt) creates none; every other run creates its one invalidation, once.
    let invalidations_ok = match (&case.fault, case.expected) {
        (Fault::Function { binary, .. }, Expected::Failure(_))
            if *binary == "pipeline-entry" || *binary == "start-invalidation" =>
        {
            invalidations.iter().all(|count| *count <= 1)
        }
        _ => invalidations.iter().all(|count| *count == 1),
    };
    let mut outcomes: Vec<String> = terminal
        .iter()
        .map(|(operation, kind)| match kind {
            Some(kind) => format!("{operation} {kind}"),
            None => operation.clone(),
        })
        .collect();
    outcomes.dedup();
    let outcome = match outcomes.is_empty() {
        true => "no result".to_owned(),
        false => outcomes.join(" / "),
    };
    // A case of faults that injected none would show nothing.
    let faults_met = injected > 0 || matches!(case.fault, Fault::ForeignLimit);
    let passed = terminal == expected_terminal
        && most_results_per_job == 1
        && invalidations_ok
        && leaks.is_empty()
        && faults_met;
    Ok(CaseReport {
        case: case.clone(),
        terminal,
        most_results_per_job,
        invalidations,
        injected,
        leaks,
        outcome,
        elapsed: started.elapsed(),
        passed,
    })
}

/// Another deploy's invalidation of 15 wildcards on the distribution (8 s of virtual time).
async fn hold_the_wildcard_limit(environment: &Environment) -> Result<(), RunError> {
    let body = format!(
        r#"<InvalidationBatch xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><CallerReference>other-deploy</CallerReference><Paths><Quantity>15</Quantity><Items>{}</Items></Paths></InvalidationBatch>"#,
        (0..15)
            .map(|i| format!("<Path>/other-{i}/*</Path>"))
            .collect::<String>()
    );
    let url = format!(
        "{}/2020-05-31/distribution/{DISTRIBUTION}/invalidation",
        environment.endpoint_url()
    );
    let (status, body) = crate::http::post(&url, "application/xml", &body, "cloudfront").await?;
    if status != 201 {
        return Err(RunError::Setup(format!(
            "the foreign invalidation was refused (HTTP {status}): {body}"
        )));
    }
    Ok(())
}

/// Where any credential value appears: the functions' and the interpreter's logs, the
/// emulator's records (job results, executions and their input, invalidations), and every
/// state's input and output.
fn leaks(
    credentials: &[String],
    log_dir: &std::path::Path,
    seen: &Snapshot,
    executions: &[crate::Execution],
) -> Vec<String> {
    let mut places: Vec<(String, String)> = std::fs::read_dir(log_dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| {
            (
                entry.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(entry.path()).unwrap_or_default(),
            )
        })
        .collect();
    places.push((
        "the emulator's records".to_owned(),
        serde_json::to_string(seen).unwrap_or_default(),
    ));
    for execution in executions {
        places.push((
            format!("the history of {}", execution.name),
            serde_json::to_string(&execution.events).unwrap_or_default(),
        ));
    }
    let mut found = Vec::new();
    for (place, text) in &places {
        for secret in credentials {
            // The execution input of a run started directly with the job event would hold
            // them; pipeline-entry starts runs without.
            if text.contains(secret.as_str()) {
                found.push(place.clone());
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// The matrix as a Markdown table.
pub fn table(reports: &[CaseReport]) -> String {
    let mut lines = vec![
        "| fault | jobs | expected | each job's result | results per job | invalidations per job | faults injected | credentials found | time |".to_owned(),
        "|---|---|---|---|---|---|---|---|---|".to_owned(),
    ];
    for report in reports {
        lines.push(format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} s |",
            report.case.name,
            report.case.jobs,
            match report.case.expected {
                Expected::Success => "PutJobSuccessResult".to_owned(),
                Expected::Failure(kind) => format!("PutJobFailureResult {kind}"),
            },
            report.outcome,
            report.most_results_per_job,
            report
                .invalidations
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            report.injected,
            if report.leaks.is_empty() {
                "none".to_owned()
            } else {
                report.leaks.join(", ")
            },
            report.elapsed.as_secs_f64(),
        ));
    }
    lines.join("\n")
}
