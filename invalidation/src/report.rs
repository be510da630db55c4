//! report-result: tells CodePipeline how the run ended, and shapes the execution's output.

use std::collections::HashMap;

use aws_sdk_codepipeline::Client;
use backon::ExponentialBuilder;
use serde_json::value::RawValue;

use crate::codepipeline::{record_job_result, JobResult, JobTarget};
use crate::continuation::Continuation;
use crate::error::{ErrorKind, FailureType, WorkflowError};
use crate::job::{is_job_id, JobView};
use crate::payload::{
    describe_invalidations, CaughtError, InvalidationState, Outcome, PathReport, Payload,
    PipelineReport, ReportInput, ReportRequest, Run, RunStatus,
};
use crate::planning::{estimated_cost_usd, items_named};
use crate::secrets::Secrets;

/// Decides the outcome from what the run knows, records it on the CodePipeline job when there is
/// one (PutJobSuccessResult or PutJobFailureResult, retried with `backoff`), and returns it as
/// the execution's output. A `Failed` outcome is returned, not raised: the state machine sends
/// it to its `Fail` state so the execution ends failed with the same error and cause.
///
/// Any payload gets an answer: one that cannot be read at all is an `InvalidInput` failure,
/// reported to the job when its id can still be found; Lambda's record of a pipeline-entry
/// invocation that failed on every attempt (this function is its on-failure destination) is
/// reported to that invocation's job.
pub async fn report_result(
    client: &Client,
    payload: Payload,
    backoff: ExponentialBuilder,
) -> Result<Outcome, WorkflowError> {
    let report = match payload.parse::<ReportRequest>("report-result") {
        Ok(request) if request.request_context.is_some() => Report::of_failed_entry(&request),
        Ok(ReportRequest {
            state: Some(state),
            retry_count,
            ..
        }) => Report::of_state(state, retry_count),
        Ok(_) => Report::unreadable(
            &payload,
            WorkflowError::invalid_input(
                "report-result payload: neither a state (`state`) nor an invocation record \
                 (`requestContext`)",
            ),
        ),
        Err(error) => Report::unreadable(&payload, error),
    };
    report.record(client, backoff).await
}

/// A decided outcome, and where to record it.
struct Report {
    outcome: Outcome,
    /// The job to tell, if any.
    job_id: Option<String>,
    external_execution_id: Option<String>,
    /// The run, for the details of a success or an "in progress" reply.
    run: Option<Run>,
    secrets: Secrets,
    /// Whether an earlier invocation may have recorded the result already.
    earlier_attempts: bool,
}

impl Report {
    fn of_state(input: ReportInput, retry_count: u32) -> Self {
        let secrets = input
            .request
            .as_ref()
            .map(Secrets::from_request)
            .unwrap_or_default();
        let outcome = decide_outcome(&input, &secrets);
        let job_id = match &input.run {
            Some(run) => run.job_id.clone(),
            // start-invalidation failed before making a run: the job of the execution input.
            None => input
                .request
                .as_ref()
                .and_then(|request| JobView::of(request).id),
        }
        // CodePipeline accepts results only for job ids; the failure is the run's alone.
        .filter(|id| is_job_id(id));
        let external_execution_id = input
            .run
            .as_ref()
            .and_then(|run| run.execution_arn.clone())
            .or_else(|| input.execution.as_ref()?.id.clone());
        Self {
            outcome,
            job_id,
            external_execution_id,
            run: input.run,
            secrets,
            earlier_attempts: retry_count > 0,
        }
    }

    /// A payload nothing could read: its job, if its id can still be found, is told why: the
    /// error the state machine caught, when that can be read, else why the payload cannot.
    fn unreadable(payload: &Payload, error: WorkflowError) -> Self {
        let lenient = LenientState::of(payload.text());
        let view = lenient.job();
        let secrets = Secrets::from_view(&view);
        let (name, cause) = match lenient.caught() {
            Some(caught) => (caught.error.clone(), caught.message()),
            None => (error.name().to_owned(), error.message),
        };
        let cause = secrets.redact(&cause);
        Self {
            outcome: failed_outcome(&name, &cause, "Cache invalidation failed"),
            job_id: lenient.run_job_id().or(view.id).filter(|id| is_job_id(id)),
            external_execution_id: lenient.execution_arn(),
            run: None,
            secrets,
            // The payload says nothing about earlier attempts; only ours would have recorded.
            earlier_attempts: lenient.retry_count > 0,
        }
    }

    /// pipeline-entry failed on every attempt (or its event grew too old): the job it was given
    /// hears why instead of waiting for CodePipeline's timeout.
    fn of_failed_entry(request: &ReportRequest) -> Self {
        let context = request
            .request_context
            .as_ref()
            .expect("called for an invocation record");
        let event = request.request_payload.as_ref().map_or("", |raw| raw.get());
        let view = JobView::of_text(event);
        let secrets = Secrets::from_view(&view);
        let answer = request
            .response_payload
            .as_ref()
            .map_or("", |raw| raw.get());
        #[derive(serde::Deserialize, Default)]
        #[serde(rename_all = "camelCase", default)]
        struct ErrorDocument {
            error_type: String,
            error_message: String,
        }
        let document: ErrorDocument = serde_json::from_str(answer).unwrap_or_default();
        let (error, cause) = match context.condition.as_str() {
            "EventAgeExceeded" => (
                // The event waited too long for a free function; a later try may well succeed.
                "Lambda.TooManyRequestsException".to_owned(),
                format!(
                    "Lambda dropped the job's event to pipeline-entry after {} attempts: it was \
                     older than the function's MaximumEventAgeInSeconds",
                    context.approximate_invoke_count
                ),
            ),
            _ => (
                non_empty(document.error_type, "Lambda.Unknown"),
                format!(
                    "pipeline-entry failed on all {} attempts; the last: {}",
                    context.approximate_invoke_count,
                    non_empty(document.error_message, "no message")
                ),
            ),
        };
        let cause = secrets.redact(&cause);
        Self {
            outcome: failed_outcome(&error, &cause, "Cache invalidation could not start"),
            job_id: view.id.filter(|id| is_job_id(id)),
            external_execution_id: None,
            run: None,
            secrets,
            // pipeline-entry's attempts may have recorded a failure before they ended.
            earlier_attempts: true,
        }
    }

    async fn record(
        self,
        client: &Client,
        backoff: ExponentialBuilder,
    ) -> Result<Outcome, WorkflowError> {
        let Self {
            mut outcome,
            job_id,
            external_execution_id,
            run,
            secrets,
            earlier_attempts,
        } = self;
        let Some(job_id) = job_id else {
            return Ok(outcome);
        };
        let result = job_result(&outcome, run.as_ref());
        let target = JobTarget {
            job_id: &job_id,
            external_execution_id: external_execution_id.as_deref(),
            earlier_attempts,
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
}

fn non_empty(text: String, otherwise: &str) -> String {
    if text.is_empty() {
        otherwise.to_owned()
    } else {
        text
    }
}

/// A failed outcome with nothing created: `<headline>: <error>: <cause>`.
fn failed_outcome(error: &str, cause: &str, headline: &str) -> Outcome {
    Outcome {
        status: RunStatus::Failed,
        error: Some(error.to_owned()),
        cause: Some(cause.to_owned()),
        summary: format!("{headline}: {error}: {cause}"),
        invalidations: Vec::new(),
        code_pipeline: None,
        paths: None,
    }
}

/// What can still be read of a state that does not parse: where its job id and execution are.
/// Every other value is skipped unread (see [`crate::job`]).
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct LenientState {
    state: Option<LenientInner>,
    retry_count: u32,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct LenientInner {
    run: Option<LenientRun>,
    request: Option<Box<RawValue>>,
    execution: Option<LenientExecution>,
    error: Option<Box<RawValue>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct LenientRun {
    job_id: Option<Box<RawValue>>,
    execution_arn: Option<Box<RawValue>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct LenientExecution {
    id: Option<Box<RawValue>>,
}

fn raw_string(raw: &Option<Box<RawValue>>) -> Option<String> {
    serde_json::from_str(raw.as_ref()?.get()).ok()
}

impl LenientState {
    fn of(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_default()
    }

    fn inner(&self) -> Option<&LenientInner> {
        self.state.as_ref()
    }

    fn job(&self) -> JobView {
        self.inner()
            .and_then(|inner| inner.request.as_ref())
            .map(|request| JobView::of_text(request.get()))
            .unwrap_or_default()
    }

    /// The error the state machine caught, if it reads as one.
    fn caught(&self) -> Option<CaughtError> {
        serde_json::from_str(self.inner()?.error.as_ref()?.get()).ok()
    }

    fn run_job_id(&self) -> Option<String> {
        raw_string(&self.inner()?.run.as_ref()?.job_id)
    }

    fn execution_arn(&self) -> Option<String> {
        let inner = self.inner()?;
        inner
            .run
            .as_ref()
            .and_then(|run| raw_string(&run.execution_arn))
            .or_else(|| raw_string(&inner.execution.as_ref()?.id))
    }
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
        tags: run.tag_count,
        batches: batches_done(run).1,
        estimated_cost_usd: estimated_cost_usd(run.path_count * distributions),
    }
}

fn success_summary(run: &Run) -> String {
    let paths = items_named(
        run.path_count - run.tag_count.min(run.path_count),
        run.tag_count,
    );
    let targets: Vec<String> = run
        .invalidations
        .iter()
        .map(|i| format!("{} (invalidation {})", i.distribution_id, i.invalidation_id))
        .collect();
    let report = path_report(run);
    format!(
        "Invalidated {paths} ({} requested) on {}: completed after {}. \
         Estimated cost ${:.3} at $0.005 a path{} beyond the free 1,000 a month.",
        report.requested,
        targets.join(", "),
        status_checks(run.checks),
        report.estimated_cost_usd,
        if run.tag_count > 0 {
            " (a cache tag is billed as one path)"
        } else {
            ""
        }
    )
}

fn status_checks(count: u32) -> String {
    match count {
        1 => "1 status check".to_owned(),
        n => format!("{n} status checks"),
    }
}

fn job_result(outcome: &Outcome, run: Option<&Run>) -> JobResult {
    let invalidations = run.map(|r| r.invalidations.as_slice()).unwrap_or_default();
    match outcome.status {
        RunStatus::Failed => JobResult::Failure {
            failure_type: FailureType::for_error_name(outcome.error.as_deref().unwrap_or("")),
            message: outcome.summary.clone(),
        },
        RunStatus::Continued => {
            let run = run.expect("a continued outcome comes from a run");
            let (done, total) = batches_done(run);
            match Continuation::token(run) {
                Ok(continuation_token) => JobResult::InProgress {
                    summary: outcome.summary.clone(),
                    // Never 100 while something is still in progress.
                    percent_complete: (done * 100 / total.max(1)).min(99) as i32,
                    continuation_token,
                },
                // The request checks make this unreachable; the job still hears why.
                Err(error) => JobResult::Failure {
                    failure_type: error.kind.failure_type(),
                    message: format!(
                        "Cache invalidation failed: {}: {}",
                        error.name(),
                        error.message
                    ),
                },
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
    }
}
