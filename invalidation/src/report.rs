//! report-result: tells CodePipeline how the run ended, and shapes the execution's output.

use std::collections::HashMap;

use aws_sdk_codepipeline::Client;
use backon::ExponentialBuilder;
use serde_json::value::RawValue;

use crate::budget::Budget;
use crate::codepipeline::{record_job_result, JobResult, JobTarget};
use crate::continuation::Continuation;
use crate::error::{ErrorKind, FailureType, WorkflowError};
use crate::job::{is_job_id, JobView};
use crate::metrics::{MetricsOutput, RunRecord};
use crate::payload::{
    from_json_text, invalidation_reports, CaughtError, Outcome, PathReport, Payload,
    PipelineReport, ReportInput, ReportRequest, RunStatus, SiteReport,
};
use crate::planning::{estimated_cost_usd, items_named};
use crate::run::{describe_created, Phase, RunState};
use crate::secrets::Secrets;
use crate::site::ManifestKept;
use crate::state_bucket::{keep_manifest, store_continuation, ObjectStore};

/// Decides the outcome from what the run knows, records it on the CodePipeline job when there is
/// one (PutJobSuccessResult or PutJobFailureResult, retried with `backoff` while `budget`
/// leaves room for another call), and returns it as the execution's output. A `Failed` outcome
/// is returned, not raised: the state machine sends it to its `Fail` state so the execution ends
/// failed with the same error and cause. A run whose reply is due keeps its state in `store`
/// for the job CodePipeline creates next, and the job is told "in progress" with a token naming
/// it.
///
/// Any payload gets an answer: one that cannot be read at all is an `InvalidInput` failure,
/// reported to the job when its id can still be found; Lambda's record of a pipeline-entry
/// invocation that failed on every attempt (this function is its on-failure destination) is
/// reported to that invocation's job.
///
/// This writes no metric record: [`report_result_with_metrics`] does, as the function does.
pub async fn report_result(
    client: &Client,
    store: &impl ObjectStore,
    payload: Payload,
    backoff: ExponentialBuilder,
    budget: Budget,
) -> Result<Outcome, WorkflowError> {
    let metrics = MetricsOutput::nowhere();
    report_result_with_metrics(client, store, payload, backoff, budget, &metrics).await
}

/// [`report_result`], then the run's metric record written to `metrics` (see
/// [`crate::metrics`]), once the job's result is recorded: the outcome reported, or, when
/// CodePipeline refused the result for good, a failure with that error. A transient failure
/// writes none: the state machine retries the step, and the attempt that gets through does.
pub async fn report_result_with_metrics(
    client: &Client,
    store: &impl ObjectStore,
    payload: Payload,
    backoff: ExponentialBuilder,
    budget: Budget,
    metrics: &MetricsOutput,
) -> Result<Outcome, WorkflowError> {
    let report = Report::of_payload(&payload);
    let mut record = RunRecord::of(
        report.run.as_ref(),
        &report.outcome,
        report.external_execution_id.as_deref(),
        report.job_id.as_deref(),
    );
    let result = report.record(client, store, backoff, &budget).await;
    match &result {
        Ok(_) => metrics.write(&record, budget.current()),
        Err(error) if error.is_transient() => {}
        Err(error) => {
            record.fail(error.name(), &error.message);
            metrics.write(&record, budget.current());
        }
    }
    result
}

impl Report {
    /// The outcome a payload asks to report.
    fn of_payload(payload: &Payload) -> Self {
        match payload.parse::<ReportRequest>("report-result") {
            Ok(request) if request.request_context.is_some() => Report::of_failed_entry(&request),
            Ok(ReportRequest {
                state: Some(state),
                retry_count,
                ..
            }) => Report::of_state(&state, retry_count),
            Ok(_) => Report::unreadable(
                payload,
                WorkflowError::invalid_input(
                    "report-result payload: neither a state (`state`) nor an invocation record \
                 (`requestContext`)",
                ),
            ),
            Err(error) => Report::unreadable(payload, error),
        }
    }
}

/// A decided outcome, and where to record it.
struct Report {
    outcome: Outcome,
    /// The job to tell, if any.
    job_id: Option<String>,
    external_execution_id: Option<String>,
    /// The run, for the details of a success or an "in progress" reply.
    run: Option<RunState>,
    secrets: Secrets,
    /// Whether an earlier invocation may have recorded the result already.
    earlier_attempts: bool,
}

impl Report {
    /// The state the state machine hands over: a run, with the error a Catch caught if a step
    /// failed; or, when start-invalidation could not run at all, the execution input and the
    /// error, which is all there is (read leniently: the input can be anything).
    fn of_state(state: &RawValue, retry_count: u32) -> Self {
        let earlier_attempts = retry_count > 0;
        match from_json_text::<ReportInput>("report-result payload: state", state.get()) {
            Ok(ReportInput {
                run: Some(run),
                error,
            }) => Self::of_run(run, error, earlier_attempts),
            Ok(ReportInput {
                run: None,
                error: Some(caught),
            }) => Self::of_failed_start(state.get(), &caught, earlier_attempts),
            Ok(ReportInput {
                run: None,
                error: None,
            }) => Self::of_failed_start(
                state.get(),
                &CaughtError {
                    error: ErrorKind::InvalidInput.name().to_owned(),
                    cause: "report-result was given a state with neither a run nor an error"
                        .to_owned(),
                },
                earlier_attempts,
            ),
            Err(error) => Self::of_unreadable_state(state.get(), error, earlier_attempts),
        }
    }

    fn of_run(run: RunState, caught: Option<CaughtError>, earlier_attempts: bool) -> Self {
        let failure = match (&caught, run.phase, &run.failure) {
            (Some(caught), _, _) => Some((caught.error.clone(), caught.message())),
            (None, Phase::Failed, Some(failure)) => {
                Some((failure.error.name().to_owned(), failure.cause.clone()))
            }
            (None, Phase::Completed, _) => None,
            (None, Phase::ReplyDue, _) if run.job_id.is_some() => None,
            (None, phase, _) => Some((
                ErrorKind::InvalidInput.name().to_owned(),
                format!(
                    "report-result was given a run in phase {phase:?} with no error; nothing \
                     is finished to report"
                ),
            )),
        };
        let invalidations = invalidation_reports(&run);
        // A run that never began planned nothing.
        let paths = (run.plan.batches > 0).then(|| path_report(&run));
        let outcome = match failure {
            Some((error, cause)) => {
                let created = describe_created(run.created());
                let cause = match created.is_empty() {
                    true => cause,
                    false => format!("{cause}; already created: {created}"),
                };
                Outcome {
                    invalidations,
                    paths,
                    ..failed_outcome(&error, &cause, "Cache invalidation failed")
                }
            }
            None => {
                let (status, summary) = match run.phase {
                    Phase::Completed => (RunStatus::Succeeded, success_summary(&run)),
                    _ => (RunStatus::Continued, progress_summary(&run)),
                };
                Outcome {
                    status,
                    error: None,
                    cause: None,
                    summary,
                    invalidations,
                    code_pipeline: None,
                    paths,
                    site: None,
                }
            }
        };
        Self {
            outcome,
            job_id: run.job_id.clone().filter(|id| is_job_id(id)),
            external_execution_id: run.execution_arn.clone(),
            run: Some(run),
            // A run state holds no credential.
            secrets: Secrets::default(),
            earlier_attempts,
        }
    }

    /// start-invalidation could not run: the state is the execution input with the caught
    /// error beside it. Its job, if it is a job event, hears why.
    fn of_failed_start(state: &str, caught: &CaughtError, earlier_attempts: bool) -> Self {
        let view = JobView::of_text(state);
        let secrets = Secrets::from_view(&view);
        let cause = secrets.redact(&caught.message());
        Self {
            outcome: failed_outcome(&caught.error, &cause, "Cache invalidation failed"),
            job_id: view.id.filter(|id| is_job_id(id)),
            external_execution_id: None,
            run: None,
            secrets,
            earlier_attempts,
        }
    }

    /// A state that says it holds a run but does not read as one (written by another version of
    /// the functions, say): what can still be read of it decides.
    fn of_unreadable_state(state: &str, error: WorkflowError, earlier_attempts: bool) -> Self {
        let lenient = LenientState::of(state);
        let mut report = match lenient.caught() {
            Some(caught) => Self::of_failed_start(state, &caught, earlier_attempts),
            None => Self::of_failed_start(
                state,
                &CaughtError {
                    error: error.name().to_owned(),
                    cause: error.message,
                },
                earlier_attempts,
            ),
        };
        report.job_id = lenient
            .run_job_id()
            .or(report.job_id)
            .filter(|id| is_job_id(id));
        report.external_execution_id = lenient.run_execution_arn();
        report
    }

    /// A payload nothing could read: its job, if its id can still be found, is told why.
    fn unreadable(payload: &Payload, error: WorkflowError) -> Self {
        #[derive(serde::Deserialize, Default)]
        #[serde(rename_all = "camelCase", default)]
        struct Envelope {
            state: Option<Box<RawValue>>,
            retry_count: u32,
        }
        let envelope: Envelope = serde_json::from_str(payload.text()).unwrap_or_default();
        let state = envelope.state.as_ref().map_or("", |state| state.get());
        Self::of_unreadable_state(state, error, envelope.retry_count > 0)
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
        store: &impl ObjectStore,
        backoff: ExponentialBuilder,
        budget: &Budget,
    ) -> Result<Outcome, WorkflowError> {
        let Self {
            mut outcome,
            job_id,
            external_execution_id,
            run,
            secrets,
            earlier_attempts,
        } = self;
        // The site's manifest first, so that the job's summary says what became of it; in half
        // of the time left at most, the other half kept for the job's result (its calls and
        // retries, see [`record_job_result`]), which matters more.
        if let (RunStatus::Succeeded, Some(run)) = (outcome.status, &run) {
            if let Some(update) = &run.site {
                let room = budget.remaining() / 2;
                let kept = tokio::time::timeout(room, keep_manifest(store, update))
                    .await
                    .unwrap_or_else(|_| ManifestKept::NotWritten {
                        why: "report-result keeps half of its time for the job's result".to_owned(),
                    });
                outcome.summary = format!("{} {}", outcome.summary, kept.describe());
                outcome.site = Some(SiteReport {
                    update: update.clone(),
                    kept,
                });
            }
        }
        let Some(job_id) = job_id else {
            return Ok(outcome);
        };
        let result = job_result(&outcome, run.as_ref(), store, &job_id).await?;
        let target = JobTarget {
            job_id: &job_id,
            external_execution_id: external_execution_id.as_deref(),
            earlier_attempts,
        };
        let already_recorded = record_job_result(client, target, &result, backoff, budget)
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
        site: None,
    }
}

/// What can still be read of a state that does not parse as this version writes it: where its
/// job id and execution are, and the caught error. Every other value is skipped unread (see
/// [`crate::job`]).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct LenientState {
    run: Option<LenientRun>,
    error: Option<Box<RawValue>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct LenientRun {
    job_id: Option<Box<RawValue>>,
    execution_arn: Option<Box<RawValue>>,
}

fn raw_string(raw: &Option<Box<RawValue>>) -> Option<String> {
    serde_json::from_str(raw.as_ref()?.get()).ok()
}

impl LenientState {
    fn of(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_default()
    }

    /// The error the state machine caught, if it reads as one.
    fn caught(&self) -> Option<CaughtError> {
        serde_json::from_str(self.error.as_ref()?.get()).ok()
    }

    fn run_job_id(&self) -> Option<String> {
        raw_string(&self.run.as_ref()?.job_id)
    }

    fn run_execution_arn(&self) -> Option<String> {
        raw_string(&self.run.as_ref()?.execution_arn)
    }
}

fn progress_summary(run: &RunState) -> String {
    let (done, total) = batches_done(run);
    let created = describe_created(run.created());
    let created = match created.is_empty() {
        true => String::new(),
        false => format!(" ({created})"),
    };
    let waiting = total - run.created().count();
    let waiting = match waiting {
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

/// Completed invalidations, and all the run will have made once every batch is in.
fn batches_done(run: &RunState) -> (usize, usize) {
    let done = run.created().filter(|(_, i)| i.is_completed()).count();
    (done, run.plan.batches * run.targets.len())
}

fn path_report(run: &RunState) -> PathReport {
    PathReport {
        requested: run.plan.requested,
        planned: run.plan.items,
        tags: run.plan.tags,
        batches: batches_done(run).1,
        estimated_cost_usd: estimated_cost_usd(run.plan.items * run.targets.len()),
    }
}

fn success_summary(run: &RunState) -> String {
    let plan = &run.plan;
    let changes = run
        .site
        .as_ref()
        .map(|site| format!("{}. ", site.describe()))
        .unwrap_or_default();
    if plan.items == 0 {
        let targets: Vec<&str> = run.targets.iter().map(|t| t.id.as_str()).collect();
        return format!(
            "{changes}Nothing to invalidate on {}: no invalidation created.",
            targets.join(", ")
        );
    }
    let paths = items_named(plan.items - plan.tags.min(plan.items), plan.tags);
    let targets: Vec<String> = run
        .targets
        .iter()
        .map(|target| {
            let ids: Vec<&str> = target.invalidations.iter().map(|i| i.id.as_str()).collect();
            match ids.as_slice() {
                [one] => format!("{} (invalidation {one})", target.id),
                many => format!("{} (invalidations {})", target.id, many.join(", ")),
            }
        })
        .collect();
    let report = path_report(run);
    format!(
        "{changes}Invalidated {paths} ({} requested) on {}: completed after {}. \
         Estimated cost ${:.3} at $0.005 a path{} beyond the free 1,000 a month.",
        report.requested,
        targets.join(", "),
        status_checks(run.checks),
        report.estimated_cost_usd,
        if plan.tags > 0 {
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

/// The result to record for the outcome. An "in progress" reply first keeps the run's state in
/// the state bucket, under a key of this job, for the job CodePipeline creates next.
async fn job_result(
    outcome: &Outcome,
    run: Option<&RunState>,
    store: &impl ObjectStore,
    job_id: &str,
) -> Result<JobResult, WorkflowError> {
    Ok(match outcome.status {
        RunStatus::Failed => JobResult::Failure {
            failure_type: FailureType::for_error_name(outcome.error.as_deref().unwrap_or("")),
            message: outcome.summary.clone(),
        },
        RunStatus::Continued => {
            let run = run.expect("a continued outcome comes from a run");
            let (done, total) = batches_done(run);
            let state = store_continuation(store, run, job_id).await?;
            JobResult::InProgress {
                summary: outcome.summary.clone(),
                // Never 100 while something is still in progress.
                percent_complete: (done * 100 / total.max(1)).min(99) as i32,
                continuation_token: Continuation::at(state).token(),
            }
        }
        RunStatus::Succeeded => {
            let invalidations = &outcome.invalidations;
            let join = |field: fn(&crate::payload::InvalidationReport) -> &str| {
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
