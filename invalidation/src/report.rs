//! report-result: tells CodePipeline how the run ended, and shapes the execution's output.

use std::collections::HashMap;

use aws_sdk_codepipeline::Client;
use backon::ExponentialBuilder;
use serde_json::Value;

use crate::codepipeline::{record_job_result, JobResult, JobTarget};
use crate::continuation::Continuation;
use crate::error::{ErrorKind, FailureType, WorkflowError};
use crate::payload::{
    from_payload, InvalidationState, Outcome, PathReport, PipelineReport, ReportInput, Run,
    RunStatus,
};
use crate::planning::estimated_cost_usd;
use crate::request::CODEPIPELINE_JOB_KEY;
use crate::secrets::Secrets;
use crate::start::describe_invalidations;

/// Decides the outcome from what the run knows, records it on the CodePipeline job when there is
/// one (PutJobSuccessResult or PutJobFailureResult, retried with `backoff`), and returns it as
/// the execution's output. A `Failed` outcome is returned, not raised: the state machine sends
/// it to its `Fail` state so the execution ends failed with the same error and cause.
pub async fn report_result(
    client: &Client,
    payload: Value,
    backoff: ExponentialBuilder,
) -> Result<Outcome, WorkflowError> {
    let input: ReportInput = from_payload("report-result", payload)?;
    let secrets = input
        .request
        .as_ref()
        .map(Secrets::from_request)
        .unwrap_or_default();
    let mut outcome = decide_outcome(&input, &secrets);
    let Some(job_id) = job_id(&input) else {
        return Ok(outcome);
    };
    let result = job_result(&outcome, input.run.as_ref())?;
    let external_execution_id = input
        .run
        .as_ref()
        .and_then(|run| run.execution_arn.as_deref())
        .or_else(|| input.execution.as_ref()?.id.as_deref());
    let target = JobTarget {
        job_id: &job_id,
        external_execution_id,
    };
    let already_recorded = record_job_result(client, target, &result, backoff)
        .await
        .map_err(|error| secrets.redact_error(error))?;
    tracing::info!(
        job_id = %job_id,
        result = result.operation(),
        already_recorded,
        "job result recorded"
    );
    outcome.code_pipeline = Some(PipelineReport {
        job_id,
        result: result.operation().to_owned(),
        failure_type: match &result {
            JobResult::Failure { failure_type, .. } => Some(*failure_type),
            _ => None,
        },
        already_recorded,
        continuation_token: match result {
            JobResult::InProgress {
                continuation_token, ..
            } => Some(continuation_token),
            _ => None,
        },
    });
    Ok(outcome)
}

/// The job to report to: the run's, or, when start-invalidation failed before making a run, the
/// one in the execution input.
fn job_id(input: &ReportInput) -> Option<String> {
    if let Some(run) = &input.run {
        return run.job_id.clone();
    }
    input
        .request
        .as_ref()?
        .get(CODEPIPELINE_JOB_KEY)?
        .get("id")?
        .as_str()
        .map(str::to_owned)
}

fn decide_outcome(input: &ReportInput, secrets: &Secrets) -> Outcome {
    let invalidations = input
        .run
        .as_ref()
        .map(|run| run.invalidations.clone())
        .unwrap_or_default();
    let paths = input.run.as_ref().map(path_report);
    let outcome = |status, summary, error: Option<(String, String)>| {
        let (error, cause) = error.unzip();
        Outcome {
            status,
            error,
            cause,
            summary,
            invalidations: invalidations.clone(),
            code_pipeline: None,
            paths: paths.clone(),
        }
    };
    match (&input.error, &input.run) {
        (Some(caught), _) => {
            let cause = secrets.redact(&caught.message());
            let summary = format!("Cache invalidation failed: {}: {cause}", caught.error);
            outcome(
                RunStatus::Failed,
                summary,
                Some((caught.error.clone(), cause)),
            )
        }
        (None, Some(run)) if run.all_completed => {
            outcome(RunStatus::Succeeded, success_summary(run), None)
        }
        (None, Some(run)) if run.reply_due && run.job_id.is_some() => {
            outcome(RunStatus::Continued, progress_summary(run), None)
        }
        (None, _) => {
            let cause = "report-result was called with neither an error nor a finished run";
            let name = ErrorKind::InvalidInput.name().to_owned();
            let summary = format!("Cache invalidation failed: {name}: {cause}");
            outcome(RunStatus::Failed, summary, Some((name, cause.to_owned())))
        }
    }
}

fn progress_summary(run: &Run) -> String {
    let (done, total) = batches_done(run);
    let created = match run.invalidations.is_empty() {
        true => String::new(),
        false => format!(" ({})", describe_invalidations(&run.invalidations)),
    };
    let waiting = match run.pending.len() {
        0 => String::new(),
        1 => ", 1 batch not yet submitted".to_owned(),
        n => format!(", {n} batches not yet submitted"),
    };
    format!(
        "Still waiting after {}: {done} of {total} invalidations completed{created}{waiting}; \
         a new job carries on until {}.",
        status_checks(run.checks),
        run.deadline
    )
}

/// Completed invalidations, and all the run will have made once its pending batches are in.
fn batches_done(run: &Run) -> (usize, usize) {
    let done = run.earlier_completed
        + run
            .invalidations
            .iter()
            .filter(|i| i.is_completed())
            .count();
    let total = run.earlier_completed + run.invalidations.len() + run.pending.len();
    (done, total)
}

fn path_report(run: &Run) -> PathReport {
    // Runs from before distribution_count existed: count the distributions named.
    let named: std::collections::BTreeSet<&str> = run
        .invalidations
        .iter()
        .map(|i| i.distribution_id.as_str())
        .chain(run.pending.iter().map(|b| b.distribution_id.as_str()))
        .collect();
    let distributions = run.distribution_count.max(named.len());
    PathReport {
        requested: run.paths_requested,
        planned: run.path_count,
        batches: batches_done(run).1,
        estimated_cost_usd: estimated_cost_usd(run.path_count * distributions),
    }
}

fn success_summary(run: &Run) -> String {
    let paths = match run.path_count {
        1 => "1 path".to_owned(),
        n => format!("{n} paths"),
    };
    let targets: Vec<String> = run
        .invalidations
        .iter()
        .map(|i| format!("{} (invalidation {})", i.distribution_id, i.invalidation_id))
        .collect();
    let report = path_report(run);
    format!(
        "Invalidated {paths} ({} requested) on {}: completed after {}. \
         Estimated cost ${:.3} at $0.005 a path beyond the free 1,000 a month.",
        report.requested,
        targets.join(", "),
        status_checks(run.checks),
        report.estimated_cost_usd
    )
}

fn status_checks(count: u32) -> String {
    match count {
        1 => "1 status check".to_owned(),
        n => format!("{n} status checks"),
    }
}

fn job_result(outcome: &Outcome, run: Option<&Run>) -> Result<JobResult, WorkflowError> {
    let invalidations = run.map(|r| r.invalidations.as_slice()).unwrap_or_default();
    Ok(match outcome.status {
        RunStatus::Failed => JobResult::Failure {
            failure_type: FailureType::for_error_name(outcome.error.as_deref().unwrap_or("")),
            message: outcome.summary.clone(),
        },
        RunStatus::Continued => {
            let run = run.expect("a continued outcome comes from a run");
            let (done, total) = batches_done(run);
            JobResult::InProgress {
                summary: outcome.summary.clone(),
                // Never 100 while something is still in progress.
                percent_complete: (done * 100 / total.max(1)).min(99) as i32,
                continuation_token: Continuation::token(run)?,
            }
        }
        RunStatus::Succeeded => {
            let join = |field: fn(&InvalidationState) -> &str| {
                invalidations
                    .iter()
                    .map(field)
                    .collect::<Vec<_>>()
                    .join(",")
            };
            JobResult::Success {
                summary: outcome.summary.clone(),
                output_variables: HashMap::from([
                    ("DistributionIds".to_owned(), join(|i| &i.distribution_id)),
                    ("InvalidationIds".to_owned(), join(|i| &i.invalidation_id)),
                ]),
            }
        }
    })
}
