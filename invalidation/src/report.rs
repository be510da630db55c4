//! report-result: tells CodePipeline how the run ended, and shapes the execution's output.

use std::collections::HashMap;

use aws_sdk_codepipeline::Client;
use backon::ExponentialBuilder;
use serde_json::Value;

use crate::codepipeline::{record_job_result, JobResult};
use crate::error::{ErrorKind, FailureType, WorkflowError};
use crate::payload::{from_payload, Outcome, PipelineReport, ReportInput, Run, RunStatus};
use crate::request::CODEPIPELINE_JOB_KEY;
use crate::secrets::Secrets;

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
    let result = job_result(&outcome, input.run.as_ref());
    let already_recorded = record_job_result(client, &job_id, &result, backoff)
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
        failure_type: match result {
            JobResult::Failure { failure_type, .. } => Some(failure_type),
            JobResult::Success { .. } => None,
        },
        already_recorded,
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
    let failure = match (&input.error, &input.run) {
        (Some(caught), _) => Some((caught.error.clone(), secrets.redact(&caught.message()))),
        (None, Some(run)) if run.all_completed => None,
        (None, _) => Some((
            ErrorKind::InvalidInput.name().to_owned(),
            "report-result was called with neither an error nor a completed run".to_owned(),
        )),
    };
    match failure {
        None => Outcome {
            status: RunStatus::Succeeded,
            error: None,
            cause: None,
            summary: success_summary(input.run.as_ref().expect("a completed run")),
            invalidations,
            code_pipeline: None,
        },
        Some((error, cause)) => Outcome {
            status: RunStatus::Failed,
            summary: format!("Cache invalidation failed: {error}: {cause}"),
            error: Some(error),
            cause: Some(cause),
            invalidations,
            code_pipeline: None,
        },
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
    format!(
        "Invalidated {paths} on {}: completed after {} status checks.",
        targets.join(", "),
        run.checks
    )
}

fn job_result(outcome: &Outcome, run: Option<&Run>) -> JobResult {
    match (&outcome.error, run) {
        (Some(error), _) => JobResult::Failure {
            failure_type: FailureType::for_error_name(error),
            message: outcome.summary.clone(),
        },
        (None, run) => {
            let invalidations = run.map(|r| r.invalidations.as_slice()).unwrap_or_default();
            let join = |field: fn(&crate::payload::InvalidationState) -> &str| {
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
    }
}
