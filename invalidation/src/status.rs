//! Asking CloudFront how far a run's invalidations are: one GetInvalidation for each
//! unfinished one, side by side, within the step's budget.

use aws_sdk_cloudfront::Client;

use crate::budget::Budget;
use crate::cloudfront::invalidation_status;
use crate::run::RunState;

/// How a round of status calls went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Round {
    /// Invalidations seen completing in this round.
    pub completed: usize,
    /// Calls that were throttled or failed with a 5xx (after the SDK's own retries).
    pub failed: usize,
}

/// Asks CloudFront for every unfinished invalidation, side by side within the budget.
///
/// A read that fails with throttling or a 5xx is harmless to repeat: the invalidation keeps its
/// last status until the next round, and the target notes the failure (the run fails only when
/// its calls keep failing, see [`crate::run::FAILING_FOR_AT_MOST`]). Any other error (the
/// invalidation or distribution is gone, access is denied) fails the run. One not answered in
/// time keeps its last status too.
pub(crate) async fn update_statuses(client: &Client, run: &mut RunState, budget: &Budget) -> Round {
    let unfinished: Vec<(usize, String)> = run
        .targets
        .iter()
        .enumerate()
        .filter_map(|(index, target)| Some((index, target.in_progress()?.id.clone())))
        .collect();
    let calls = unfinished.iter().map(|(index, invalidation_id)| {
        invalidation_status(client, &run.targets[*index].id, invalidation_id)
    });
    let answers = budget.run_all(calls).await;
    let answered = budget.current();
    // A streak of failures counts from the step that met the first: steps are what the
    // schedule spaces out.
    let now = budget.now;
    let mut round = Round::default();
    let mut refusal = None;
    for ((index, invalidation_id), answer) in unfinished.into_iter().zip(answers) {
        let target = &mut run.targets[index];
        match answer {
            Some(Ok(status)) => {
                tracing::info!(
                    distribution_id = %target.id,
                    invalidation_id = %invalidation_id,
                    status = %status,
                    "invalidation checked"
                );
                target.failing = None;
                if let Some(invalidation) = target
                    .invalidations
                    .iter_mut()
                    .find(|i| i.id == invalidation_id)
                {
                    invalidation.note_status(status, answered);
                    round.completed += usize::from(invalidation.is_completed());
                }
            }
            Some(Err(error)) if error.is_transient() => {
                tracing::warn!(
                    distribution_id = %target.id,
                    invalidation_id = %invalidation_id,
                    error = error.name(),
                    message = %error.message,
                    "the status read failed; the invalidation keeps its last status"
                );
                target.note_failure(now, &error);
                round.failed += 1;
            }
            Some(Err(error)) => {
                refusal.get_or_insert(error);
            }
            None => tracing::info!(
                invalidation_id = %invalidation_id,
                "no time left in this step to check the invalidation; the next check will"
            ),
        }
    }
    if let Some(error) = refusal {
        run.fail(error);
    }
    round
}
