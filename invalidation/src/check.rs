//! check-status: asks CloudFront how far the run's invalidations are.

use std::time::SystemTime;

use aws_sdk_cloudfront::Client;
use serde_json::Value;

use crate::artifact::ArtifactStore;
use crate::batches::{any_due, submit_due_batches};
use crate::cloudfront::invalidation_status;
use crate::error::{ErrorKind, WorkflowError};
use crate::payload::{from_payload, CheckInput, Run};
use crate::request::read_request;
use crate::schedule::seconds_before_next_check;
use crate::secrets::Secrets;
use crate::start::{describe_invalidations, parse_time};

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
    // The paths of a due batch come from planning the execution input again.
    let submitted = if any_due(&run) {
        let plan = read_request(&request, artifacts).await?;
        submit_due_batches(client, &mut run, &plan.batches).await?
    } else {
        false
    };
    run.checks += 1;
    run.checks_since_submit = if submitted {
        0
    } else {
        run.checks_since_submit + 1
    };
    run.all_completed = run.is_finished();
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
