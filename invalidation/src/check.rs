//! check-status: asks CloudFront how far the run's invalidations are.

use aws_sdk_cloudfront::Client;

use crate::artifact::ArtifactStore;
use crate::batches::{any_due, submit_due_batches};
use crate::budget::Budget;
use crate::cloudfront::invalidation_status;
use crate::error::{ErrorKind, WorkflowError};
use crate::payload::{CheckInput, Payload, Run};
use crate::request::{read_request, MAX_FILE_PATHS, MAX_WILDCARD_PATHS};
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
    payload: Payload,
    budget: Budget,
) -> Result<Run, WorkflowError> {
    let input: CheckInput = payload.parse("check-status")?;
    let secrets = Secrets::from_request(&input.request);
    check_run(client, artifacts, input, budget)
        .await
        .map_err(|error| secrets.redact_error(error))
}

async fn check_run(
    client: &Client,
    artifacts: &impl ArtifactStore,
    input: CheckInput,
    budget: Budget,
) -> Result<Run, WorkflowError> {
    let CheckInput { mut run, request } = input;
    let now = budget.now;
    update_statuses(client, &mut run, &budget).await?;
    // The paths of a due batch come from planning the execution input again.
    let submitted = if any_due(&run) {
        let plan = read_request(&request, artifacts).await?;
        submit_due_batches(client, &mut run, &plan.batches, &budget).await?
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

/// Asks CloudFront for every unfinished invalidation, side by side within the budget. One it
/// does not answer in time keeps its last status, for the next check.
async fn update_statuses(
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

/// "I1 on E1; not yet submitted: batch 2 for E2", for messages.
fn describe_unfinished(run: &Run) -> String {
    let in_progress =
        describe_invalidations(run.invalidations.iter().filter(|i| !i.is_completed()));
    let pending: Vec<String> = run
        .pending
        .iter()
        .map(|batch| match batch.refused_for_limit {
            0 => format!("batch {} for {}", batch.batch, batch.distribution_id),
            refused => format!(
                "batch {} for {} (CloudFront refused it {refused} times: other invalidations \
                 held the distribution's in-progress limit of {MAX_FILE_PATHS} file paths and \
                 {MAX_WILDCARD_PATHS} wildcards)",
                batch.batch, batch.distribution_id
            ),
        })
        .collect();
    match (in_progress.is_empty(), pending.is_empty()) {
        (_, true) => in_progress,
        (true, false) => format!("not yet submitted: {}", pending.join(", ")),
        (false, false) => format!("{in_progress}; not yet submitted: {}", pending.join(", ")),
    }
}
