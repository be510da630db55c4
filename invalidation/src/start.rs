//! start-invalidation: checks the request, then creates one invalidation per distribution.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudfront::Client;
use aws_smithy_types::date_time::{DateTime, Format};
use serde_json::Value;

use crate::artifact::ArtifactStore;
use crate::cloudfront::create_invalidation;
use crate::continuation::Continuation;
use crate::error::{ErrorKind, WorkflowError};
use crate::payload::{from_payload, InvalidationState, PendingBatch, Run, StartInput};
use crate::request::{parse_request, ParsedRequest};
use crate::schedule::seconds_before_next_check;
use crate::secrets::Secrets;

/// Validates the execution input and creates the invalidations, idempotently: the same job (or
/// execution) and distribution always give the same CallerReference, so a retried step or a
/// redriven run gets the existing invalidation back instead of a second, billed one.
///
/// Nothing is sent to CloudFront unless the whole request is valid, the paths file (if
/// `pathsFile` names one) included, which is read from the job's input artifact through
/// `artifacts`. No message this returns holds the job event's artifact credentials.
///
/// A job CodePipeline created after an "in progress" reply carries a continuation token: its run
/// resumes the token's invalidations and deadline and creates nothing. With a job, the run must
/// reply within `reply_window` of the execution's start (see [`crate::continuation`]).
pub async fn start_invalidation(
    client: &Client,
    artifacts: &impl ArtifactStore,
    payload: Value,
    now: SystemTime,
    reply_window: Duration,
) -> Result<Run, WorkflowError> {
    let input: StartInput = from_payload("start-invalidation", payload)?;
    let secrets = Secrets::from_request(&input.request);
    start_run(client, artifacts, &input, now, reply_window)
        .await
        .map_err(|error| secrets.redact_error(error))
}

async fn start_run(
    client: &Client,
    artifacts: &impl ArtifactStore,
    input: &StartInput,
    now: SystemTime,
    reply_window: Duration,
) -> Result<Run, WorkflowError> {
    let parsed = parse_request(&input.request)?;
    let started = parse_time("execution.startTime", &input.execution.start_time)?;
    let reply_by = parsed.job_id.as_ref().map(|_| started + reply_window);
    if let Some(continuation) = parsed.continuation.clone() {
        return resume(parsed, continuation, artifacts, reply_by, now).await;
    }
    let request = parsed.read_and_plan(artifacts).await?;
    let deadline = started + Duration::from_secs(request.timeout_seconds);
    let source = request.job_id.as_deref().unwrap_or(&input.execution.name);

    let mut invalidations: Vec<InvalidationState> = Vec::new();
    let mut pending = Vec::new();
    for distribution_id in &request.distribution_ids {
        let caller_reference = caller_reference(source, distribution_id, 0);
        let first = &request.batches[0];
        let created = create_invalidation(client, distribution_id, &caller_reference, first).await;
        match created {
            Ok(invalidation) => {
                tracing::info!(
                    distribution_id = %invalidation.distribution_id,
                    invalidation_id = %invalidation.invalidation_id,
                    status = %invalidation.status,
                    paths = first.len(),
                    batches = request.batches.len(),
                    "invalidation created"
                );
                invalidations.push(invalidation);
                pending.extend(pending_batches(distribution_id, request.batches.len(), 1));
            }
            // Another deploy's invalidations fill the distribution's limits: the first batch
            // waits like any other, and check-status submits it once they complete.
            Err(error) if error.kind == ErrorKind::TooManyInvalidationsInProgress => {
                tracing::info!(
                    distribution_id = %distribution_id,
                    "other invalidations hold the limit; the first batch waits"
                );
                pending.extend(pending_batches(distribution_id, request.batches.len(), 0));
            }
            // Say what exists already, so a person knows what the failed run left behind.
            Err(error) if !invalidations.is_empty() => {
                return Err(error.with_context(format!(
                    "already created: {}",
                    describe_invalidations(&invalidations)
                )))
            }
            Err(error) => return Err(error),
        }
    }
    Ok(Run {
        job_id: request.job_id.clone(),
        deadline: format_time(deadline),
        path_count: request.paths.len(),
        paths_requested: request.paths_requested,
        distribution_count: request.distribution_ids.len(),
        earlier_completed: 0,
        all_completed: pending.is_empty()
            && invalidations.iter().all(InvalidationState::is_completed),
        pending,
        reference_prefix: source.to_owned(),
        invalidations,
        checks: 0,
        checks_since_submit: 0,
        wait_seconds: first_wait(deadline, reply_by, now),
        reply_by: reply_by.map(format_time),
        reply_due: false,
    })
}

/// The run of a job CodePipeline created after an "in progress" reply: the token's
/// invalidations and deadline; the plan is read again only when batches are still to submit.
async fn resume(
    parsed: ParsedRequest,
    continuation: Continuation,
    artifacts: &impl ArtifactStore,
    reply_by: Option<SystemTime>,
    now: SystemTime,
) -> Result<Run, WorkflowError> {
    tracing::info!(
        invalidations = continuation.invalidations.len(),
        deadline = %continuation.deadline,
        "resuming the invalidations of an earlier job"
    );
    let deadline = parse_time("continuationToken deadline", &continuation.deadline)?;
    let job_id = parsed.job_id.clone();
    let distribution_count = parsed.distribution_ids.len();
    let pending = if continuation.next.is_empty() {
        Vec::new()
    } else {
        let batch_count = parsed.read_and_plan(artifacts).await?.batches.len();
        continuation
            .next
            .iter()
            .flat_map(|(distribution_id, next)| {
                pending_batches(distribution_id, batch_count, *next)
            })
            .collect()
    };
    Ok(Run {
        pending,
        reference_prefix: job_id.clone().unwrap_or_default(),
        job_id,
        deadline: continuation.deadline.clone(),
        path_count: continuation.paths,
        paths_requested: continuation.requested,
        distribution_count,
        invalidations: continuation.invalidations(),
        earlier_completed: continuation.done,
        checks: continuation.checks,
        checks_since_submit: 0,
        all_completed: false,
        wait_seconds: first_wait(deadline, reply_by, now),
        reply_by: reply_by.map(format_time),
        reply_due: false,
    })
}

fn first_wait(deadline: SystemTime, reply_by: Option<SystemTime>, now: SystemTime) -> u64 {
    let until = reply_by.map_or(deadline, |reply_by| reply_by.min(deadline));
    seconds_before_next_check(0, until.duration_since(now).unwrap_or_default())
}

/// The CallerReference for one batch of one distribution of one job or execution.
/// Deterministic on purpose: CloudFront returns the existing invalidation for a repeated
/// reference with the same paths. The first batch has no suffix.
pub fn caller_reference(job_or_execution: &str, distribution_id: &str, batch: usize) -> String {
    match batch {
        0 => format!("{job_or_execution}-{distribution_id}"),
        n => format!("{job_or_execution}-{distribution_id}-{n}"),
    }
}

/// The batches of a distribution from `first` on, as pending work.
fn pending_batches(distribution_id: &str, batch_count: usize, first: usize) -> Vec<PendingBatch> {
    (first..batch_count)
        .map(|batch| PendingBatch {
            distribution_id: distribution_id.to_owned(),
            batch,
        })
        .collect()
}

/// "I1 on E1, I2 on E2", for messages.
pub fn describe_invalidations<'a>(
    invalidations: impl IntoIterator<Item = &'a InvalidationState>,
) -> String {
    invalidations
        .into_iter()
        .map(|i| format!("{} on {}", i.invalidation_id, i.distribution_id))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads an RFC 3339 time such as Step Functions' `$$.Execution.StartTime`.
pub(crate) fn parse_time(field: &str, text: &str) -> Result<SystemTime, WorkflowError> {
    DateTime::from_str(text, Format::DateTime)
        .ok()
        .and_then(|time| SystemTime::try_from(time).ok())
        .ok_or_else(|| {
            WorkflowError::invalid_input(format!("{field} `{text}` is not an RFC 3339 time"))
        })
}

pub(crate) fn format_time(time: SystemTime) -> String {
    DateTime::from(time)
        .fmt(Format::DateTime)
        .expect("a SystemTime after the epoch formats as RFC 3339")
}
