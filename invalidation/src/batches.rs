//! Submitting planned batches within CloudFront's in-progress limits, for start-invalidation
//! (every first batch) and check-status (each next one) alike.
//!
//! A target gets its next batch only when nothing of this run is in progress on it: waiting for
//! our own batches keeps the run within the limits. When another deploy's invalidations fill
//! them (`TooManyInvalidationsInProgress`), or CloudFront throttles or fails the call, the batch
//! stays pending and a later check tries again; any other refusal fails the run, with every
//! invalidation created so far in its state.

use aws_sdk_cloudfront::Client;

use crate::budget::Budget;
use crate::cloudfront::create_invalidation;
use crate::error::{ErrorKind, WorkflowError};
use crate::run::{RunPlan, RunState};

/// Submits every due batch side by side, within `budget`, taking its paths from `plan`. Says
/// whether any was submitted.
pub(crate) async fn submit_due_batches(
    client: &Client,
    run: &mut RunState,
    plan: &RunPlan,
    budget: &Budget,
) -> Result<bool, WorkflowError> {
    if plan.targets != run.targets.iter().map(|t| t.id.clone()).collect::<Vec<_>>()
        || plan.batches.len() != run.plan.batches
    {
        return Err(WorkflowError::new(
            ErrorKind::PlanConflict,
            format!(
                "the plan of run {} names other targets or batches than the run's state",
                run.key
            ),
        ));
    }
    let batches = run.plan.batches;
    let due: Vec<(usize, usize)> = run
        .targets
        .iter()
        .enumerate()
        .filter(|(_, target)| target.is_due(batches))
        .filter_map(|(index, target)| Some((index, target.next_batch(batches)?)))
        .collect();
    let sends = due.iter().map(|&(index, batch)| {
        let target = &run.targets[index].id;
        let reference = run.caller_reference(target, batch);
        let paths = &plan.batches[batch];
        async move { create_invalidation(client, target, &reference, paths).await }
    });
    let answers = budget.run_all(sends).await;
    let answered = budget.current();

    // A streak of failures counts from the step that met the first: steps are what the
    // schedule spaces out.
    let now = budget.now;
    let mut submitted = false;
    let mut refusal = None;
    for ((index, batch), answer) in due.into_iter().zip(answers) {
        let target = &mut run.targets[index];
        match answer {
            Some(Ok(mut invalidation)) => {
                invalidation.note_created(answered);
                run.sent.add(&plan.batches[batch]);
                tracing::info!(
                    distribution_id = %target.id,
                    invalidation_id = %invalidation.id,
                    status = %invalidation.status,
                    batch,
                    paths = plan.batches[batch].len(),
                    batches,
                    "invalidation created"
                );
                target.invalidations.push(invalidation);
                target.refused_for_limit = 0;
                target.failing = None;
                submitted = true;
            }
            Some(Err(error)) if error.kind == ErrorKind::TooManyInvalidationsInProgress => {
                tracing::info!(
                    distribution_id = %target.id,
                    batch,
                    "other invalidations hold the limit; the batch waits"
                );
                target.refused_for_limit += 1;
            }
            Some(Err(error)) if error.is_transient() => {
                tracing::warn!(
                    distribution_id = %target.id,
                    batch,
                    error = error.name(),
                    message = %error.message,
                    "creating the batch failed; a later check tries again"
                );
                target.note_failure(now, &error);
            }
            Some(Err(error)) => {
                refusal.get_or_insert(error);
            }
            None => tracing::info!(
                distribution_id = %target.id,
                batch,
                "no time left in this step to submit the batch; it waits"
            ),
        }
    }
    if let Some(error) = refusal {
        run.fail(error);
    }
    Ok(submitted)
}
