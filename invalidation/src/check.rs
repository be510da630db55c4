//! check-status: asks CloudFront how far the run's invalidations are.

use std::time::SystemTime;

use aws_sdk_cloudfront::Client;
use serde_json::Value;

use crate::cloudfront::invalidation_status;
use crate::error::{ErrorKind, WorkflowError};
use crate::payload::{from_payload, InvalidationState, Run};
use crate::schedule::seconds_before_next_check;
use crate::start::{describe_invalidations, parse_time};

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
    run.checks += 1;
    run.all_completed = run
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
                describe_invalidations(run.invalidations.iter().filter(|i| !i.is_completed()))
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
