//! check-status: asks CloudFront how far the run's invalidations are.

use std::time::SystemTime;

use aws_sdk_cloudfront::Client;
use serde_json::Value;

use crate::cloudfront::{create_invalidation, invalidation_status};
use crate::error::{ErrorKind, WorkflowError};
use crate::payload::{from_payload, InvalidationState, PendingBatch, Run};
use crate::schedule::seconds_before_next_check;
use crate::start::{caller_reference, describe_invalidations, parse_time};

/// Updates the status of every invalidation not yet completed, and says whether all are
/// completed and how long to wait before the next check. Past the deadline with some still in
/// progress, fails with [`ErrorKind::InvalidationTimedOut`] naming them. When the job's reply
/// window has closed, sets `replyDue` so that the run replies "in progress" and ends.
pub async fn check_status(
    client: &Client,
    payload: Value,
    now: SystemTime,
) -> Result<Run, WorkflowError> {
    let mut run: Run = from_payload("check-status", payload)?;
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
    submit_next_batches(client, &mut run).await?;
    run.checks += 1;
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
                "still in progress at the deadline {} after {} checks: {}{}",
                run.deadline,
                run.checks,
                describe_invalidations(run.invalidations.iter().filter(|i| !i.is_completed())),
                describe_pending(&run.pending)
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
        run.wait_seconds = seconds_before_next_check(run.checks, until_deadline.min(until_reply));
    }
    Ok(run)
}

/// Submits, for each distribution with nothing of this run in progress, its next pending batch.
/// Waiting for our own batches keeps the run within CloudFront's in-progress limits; when
/// another deploy's invalidations fill them (`TooManyInvalidationsInProgress`), the batch stays
/// pending and the next check tries again, until the deadline.
async fn submit_next_batches(client: &Client, run: &mut Run) -> Result<(), WorkflowError> {
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
        let batch = &run.pending[index];
        let reference = caller_reference(&run.reference_prefix, &distribution_id, batch.batch);
        match create_invalidation(client, &distribution_id, &reference, &batch.paths).await {
            Ok(invalidation) => {
                tracing::info!(
                    distribution_id = %distribution_id,
                    invalidation_id = %invalidation.invalidation_id,
                    batch = batch.batch,
                    paths = batch.paths.len(),
                    "next batch submitted"
                );
                run.invalidations.push(invalidation);
                run.pending.remove(index);
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
    Ok(())
}

/// "; batches not yet submitted: 2 of E1", for messages.
fn describe_pending(pending: &[PendingBatch]) -> String {
    if pending.is_empty() {
        return String::new();
    }
    let batches: Vec<String> = pending
        .iter()
        .map(|batch| format!("{} of {}", batch.batch, batch.distribution_id))
        .collect();
    format!("; batches not yet submitted: {}", batches.join(", "))
}
