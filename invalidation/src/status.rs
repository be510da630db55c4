//! Asking CloudFront how far a run's invalidations are: one GetInvalidation for each
//! unfinished one, side by side, within the step's budget.

use aws_sdk_cloudfront::Client;

use crate::budget::Budget;
use crate::cloudfront::invalidation_status;
use crate::error::WorkflowError;
use crate::payload::Run;

/// Asks CloudFront for every unfinished invalidation, side by side within the budget. One it
/// does not answer in time keeps its last status, for the next check.
pub(crate) async fn update_statuses(
    client: &Client,
    run: &mut Run,
    budget: &Budget,
) -> Result<(), WorkflowError> {
    let unfinished: Vec<usize> = (0..run.invalidations.len())
        .filter(|&index| !run.invalidations[index].is_completed())
        .collect();
    let calls = unfinished.iter().map(|&index| {
        let invalidation = &run.invalidations[index];
        invalidation_status(
            client,
            &invalidation.distribution_id,
            &invalidation.invalidation_id,
        )
    });
    let answers = budget.run_all(calls).await;
    let mut failure = None;
    for (index, answer) in unfinished.into_iter().zip(answers) {
        let invalidation = &mut run.invalidations[index];
        match answer {
            Some(Ok(status)) => {
                invalidation.status = status;
                tracing::info!(
                    distribution_id = %invalidation.distribution_id,
                    invalidation_id = %invalidation.invalidation_id,
                    status = %invalidation.status,
                    "invalidation checked"
                );
            }
            Some(Err(error)) => {
                failure.get_or_insert(error);
            }
            None => tracing::info!(
                invalidation_id = %invalidation.invalidation_id,
                "no time left in this step to check the invalidation; the next check will"
            ),
        }
    }
    failure.map_or(Ok(()), Err)
}
