//! check-status: asks CloudFront how far the run's invalidations are.

use std::time::SystemTime;

use aws_sdk_cloudfront::Client;
use serde_json::Value;

use crate::artifact::ArtifactStore;
use crate::cloudfront::{create_invalidation, invalidation_status};
use crate::error::{ErrorKind, WorkflowError};
use crate::payload::{from_payload, CheckInput, InvalidationState, Run};
use crate::request::{read_request, InvalidationRequest};
use crate::schedule::seconds_before_next_check;
use crate::secrets::Secrets;
use crate::start::{caller_reference, describe_invalidations, parse_time};

/// Updates the status of every invalidation not yet completed, and says whether all are
/// completed and how long to wait before the next check. Past the deadline with some still in
/// progress, fails with [`ErrorKind::InvalidationTimedOut`] naming them. When the job's reply
/// window has closed, sets `replyDue` so that the run replies "in progress" and ends.
///
/// A distribution with nothing in progress gets its next pending batch; its paths come from
/// planning the execution input again (reading the paths file through `artifacts`, if any).
/// No message this returns holds the job event's artifact credentials.
pub async fn check_status(
    client: &Client,
    artifacts: &impl ArtifactStore,
    payload: Value,
    now: SystemTime,
) -> Result<Run, WorkflowError> {
    let input: CheckInput = from_payload("check-status", payload)?;
    let secrets = Secrets::from_request(&input.request);
    check_run(client, artifacts, input, now)
        .await
        .map_err(|error| secrets.redact_error(error))
}

async fn check_run(
    client: &Client,
    artifacts: &impl ArtifactStore,
    input: CheckInput,
    now: SystemTime,
) -> Result<Run, WorkflowError> {
    let CheckInput { mut run, request } = input;
    for invalidation in run.invalidations.iter_mut().filter(|i| !i.is_completed()) {
        invalidation.status = invalidation_status(
            client,
            &invalidation.distribution_id,
            &invalidation.invalidation_id,
        )
        .await?;
        tracing::info!(
            distribution_id = %invalidation.distribution_id,
            invalidation_id = %invalidation.invalidation_id,
            status = %invalidation.status,
            "invalidation checked"
        );
    }
    let submitted = submit_next_batches(client, artifacts, &request, &mut run).await?;
    run.checks += 1;
    run.checks_since_submit = if submitted {
        0
    } else {
        run.checks_since_submit + 1
    };
    run.all_completed = run.pending.is_empty()
        && run
            .invalidations
            .iter()
            .all(InvalidationState::is_completed);
    if run.all_completed {
        run.wait_seconds = 0;
        return Ok(run);
    }
    let deadline = parse_time("deadline", &run.deadline)?;
    let Some(until_deadline) = deadline
        .duration_since(now)
        .ok()
        .filter(|left| !left.is_zero())
    else {
        return Err(WorkflowError::new(
            ErrorKind::InvalidationTimedOut,
            format!(
                "still in progress at the deadline {} after {} checks: {}",
                run.deadline,
                run.checks,
                describe_unfinished(&run)
            ),
        ));
    };
    let until_reply = match &run.reply_by {
        Some(reply_by) => parse_time("replyBy", reply_by)?
            .duration_since(now)
            .unwrap_or_default(),
        None => until_deadline,
    };
    if until_reply.is_zero() {
        // CodePipeline must hear from the run now; report-result sends a continuation token.
        run.reply_due = true;
        run.wait_seconds = 0;
    } else {
        run.wait_seconds =
            seconds_before_next_check(run.checks_since_submit, until_deadline.min(until_reply));
    }
    Ok(run)
}

/// Submits, for each distribution with nothing of this run in progress, its next pending batch.
/// Waiting for our own batches keeps the run within CloudFront's in-progress limits; when
/// another deploy's invalidations fill them (`TooManyInvalidationsInProgress`), the batch stays
/// pending and the next check tries again, until the deadline. Says whether any was submitted.
async fn submit_next_batches(
    client: &Client,
    artifacts: &impl ArtifactStore,
    input: &Value,
    run: &mut Run,
) -> Result<bool, WorkflowError> {
    let mut submitted = false;
    // Planned at most once per check, and only when a batch is due.
    let mut planned: Option<InvalidationRequest> = None;
    let mut index = 0;
    while index < run.pending.len() {
        let distribution_id = run.pending[index].distribution_id.clone();
        let busy = run
            .invalidations
            .iter()
            .any(|i| i.distribution_id == distribution_id && !i.is_completed());
        let earlier_waiting = run.pending[..index]
            .iter()
            .any(|batch| batch.distribution_id == distribution_id);
        if busy || earlier_waiting {
            index += 1;
            continue;
        }
        if planned.is_none() {
            planned = Some(read_request(input, artifacts).await?);
        }
        let request = planned.as_ref().expect("planned just above");
        let batch = &run.pending[index];
        let paths = request.batches.get(batch.batch).ok_or_else(|| {
            WorkflowError::invalid_input(format!(
                "the execution input now plans {} batches, so batch {} of {} is gone; was the \
                 input changed during the run?",
                request.batches.len(),
                batch.batch,
                distribution_id
            ))
        })?;
        let reference = caller_reference(&run.reference_prefix, &distribution_id, batch.batch);
        match create_invalidation(client, &distribution_id, &reference, paths).await {
            Ok(invalidation) => {
                tracing::info!(
                    distribution_id = %distribution_id,
                    invalidation_id = %invalidation.invalidation_id,
                    batch = batch.batch,
                    paths = paths.len(),
                    "next batch submitted"
                );
                run.invalidations.push(invalidation);
                run.pending.remove(index);
                submitted = true;
            }
            Err(error) if error.kind == ErrorKind::TooManyInvalidationsInProgress => {
                tracing::info!(
                    distribution_id = %distribution_id,
                    batch = batch.batch,
                    "other invalidations hold the limit; the batch waits"
                );
                index += 1;
            }
            Err(error) => return Err(error),
        }
    }
    Ok(submitted)
}

/// "I1 on E1; not yet submitted: batch 2 for E2", for messages.
fn describe_unfinished(run: &Run) -> String {
    let in_progress =
        describe_invalidations(run.invalidations.iter().filter(|i| !i.is_completed()));
    let pending: Vec<String> = run
        .pending
        .iter()
        .map(|batch| format!("batch {} for {}", batch.batch, batch.distribution_id))
        .collect();
    match (in_progress.is_empty(), pending.is_empty()) {
        (_, true) => in_progress,
        (true, false) => format!("not yet submitted: {}", pending.join(", ")),
        (false, false) => format!("{in_progress}; not yet submitted: {}", pending.join(", ")),
    }
}
