//! check-status: asks CloudFront how far the run's invalidations are, submits a target's next
//! batch once its earlier one has completed, and says how long to wait before the next check.

use aws_sdk_cloudfront::Client;

use crate::budget::Budget;
use crate::error::WorkflowError;
use crate::payload::{Payload, StepInput};
use crate::polling::{poll, submit_due, PlanAtHand, Polling};
use crate::run::{RunState, Step};
use crate::state_bucket::ObjectStore;
use crate::status::update_statuses;

/// Updates the status of every invalidation not yet completed and submits the batches that are
/// due (their paths from the run's plan in `store`, read only when one is due). The returned
/// state says what comes next (see [`RunState::settle`]): completed, in progress with the wait
/// before the next check, a reply due to the job, or failed (the deadline passed, CloudFront
/// refused a batch or lost an invalidation, or its calls kept failing).
///
/// With `polling` on, the step then keeps asking CloudFront until all are completed or its
/// window in the schedule ends (see [`crate::polling`]).
pub async fn check_status(
    client: &Client,
    store: &impl ObjectStore,
    payload: Payload,
    budget: Budget,
    polling: Polling,
) -> Result<RunState, WorkflowError> {
    let StepInput { mut run } = payload.parse("check-status")?;
    let mut plan = PlanAtHand::in_bucket(store);
    update_statuses(client, &mut run, &budget).await;
    run.checks += 1;
    run.checks_since_submit += 1;
    submit_due(client, &mut run, &mut plan, &budget).await?;
    if polling.is_on() && !run.is_finished() {
        // Boxed: the polling future nested in this one is too deep a type to lay out inline.
        Box::pin(poll(client, &mut run, &mut plan, &budget, polling)).await?;
    }
    run.settle(Step::Check, budget.current(), polling.is_on());
    Ok(run)
}
