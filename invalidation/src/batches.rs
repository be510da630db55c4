//! Submitting planned batches within CloudFront's in-progress limits, for start-invalidation
//! (every first batch) and check-status (each next one) alike.
//!
//! A distribution gets its next pending batch only when nothing of this run is in progress on
//! it: waiting for our own batches keeps the run within the limits. When another deploy's
//! invalidations fill them (`TooManyInvalidationsInProgress`), the batch stays pending and a
//! later check tries again, until the deadline.

use aws_sdk_cloudfront::Client;

use crate::budget::Budget;
use crate::cloudfront::create_invalidation;
use crate::error::{ErrorKind, WorkflowError};
use crate::payload::{describe_invalidations, PendingBatch, Run};

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
pub(crate) fn pending_batches(
    distribution_id: &str,
    batch_count: usize,
    first: usize,
) -> Vec<PendingBatch> {
    (first..batch_count)
        .map(|batch| PendingBatch {
            distribution_id: distribution_id.to_owned(),
            batch,
            refused_for_limit: 0,
        })
        .collect()
}

/// Whether the pending batch at `index` may go in now: nothing of the run is in progress on
/// its distribution, and no earlier batch of that distribution is still waiting.
fn is_due(run: &Run, index: usize) -> bool {
    let distribution_id = &run.pending[index].distribution_id;
    let busy = run
        .invalidations
        .iter()
        .any(|i| &i.distribution_id == distribution_id && !i.is_completed());
    let earlier_waiting = run.pending[..index]
        .iter()
        .any(|batch| &batch.distribution_id == distribution_id);
    !busy && !earlier_waiting
}

/// Whether any pending batch may go in now (so that its paths are worth planning).
pub(crate) fn any_due(run: &Run) -> bool {
    (0..run.pending.len()).any(|index| is_due(run, index))
}

/// Submits every due batch side by side, within `budget`, taking its paths from `batches` (the
/// plan). Says whether any was submitted. A batch refused for the in-progress limit, or not sent
/// before the budget ended, stays pending for a later check. Another error ends the step; its
/// message names every invalidation this call created (a retried step gets them back from
/// CloudFront, by their CallerReferences, rather than duplicates).
pub(crate) async fn submit_due_batches(
    client: &Client,
    run: &mut Run,
    batches: &[Vec<String>],
    budget: &Budget,
) -> Result<bool, WorkflowError> {
    let due: Vec<usize> = (0..run.pending.len())
        .filter(|&index| is_due(run, index))
        .collect();
    let mut sends = Vec::new();
    for &index in &due {
        let batch = &run.pending[index];
        let paths = batches.get(batch.batch).ok_or_else(|| {
            WorkflowError::invalid_input(format!(
                "the execution input now plans {} batches, so batch {} of {} is gone; was the \
                 input changed during the run?",
                batches.len(),
                batch.batch,
                batch.distribution_id
            ))
        })?;
        let reference =
            caller_reference(&run.reference_prefix, &batch.distribution_id, batch.batch);
        let distribution_id = batch.distribution_id.clone();
        sends.push(async move {
            create_invalidation(client, &distribution_id, &reference, paths).await
        });
    }
    let answers = budget.run_all(sends).await;

    let mut created = Vec::new();
    let mut failure = None;
    let mut submitted = Vec::new();
    for (index, answer) in due.into_iter().zip(answers) {
        let batch = &mut run.pending[index];
        match answer {
            Some(Ok(invalidation)) => {
                tracing::info!(
                    distribution_id = %invalidation.distribution_id,
                    invalidation_id = %invalidation.invalidation_id,
                    status = %invalidation.status,
                    batch = batch.batch,
                    paths = batches[batch.batch].len(),
                    batches = batches.len(),
                    "invalidation created"
                );
                created.push(invalidation);
                submitted.push(index);
            }
            Some(Err(error)) if error.kind == ErrorKind::TooManyInvalidationsInProgress => {
                tracing::info!(
                    distribution_id = %batch.distribution_id,
                    batch = batch.batch,
                    "other invalidations hold the limit; the batch waits"
                );
                batch.refused_for_limit += 1;
            }
            Some(Err(error)) => {
                failure.get_or_insert(error);
            }
            None => tracing::info!(
                distribution_id = %batch.distribution_id,
                batch = batch.batch,
                "no time left in this step to submit the batch; it waits"
            ),
        }
    }
    for index in submitted.into_iter().rev() {
        run.pending.remove(index);
    }
    let any = !created.is_empty();
    let names = describe_invalidations(&created);
    run.invalidations.extend(created);
    match failure {
        // Say what exists already, so a person knows what the failed step left behind.
        Some(error) if any => Err(error.with_context(format!("already created: {names}"))),
        Some(error) => Err(error),
        None => Ok(any),
    }
}
