//! check-status: asks CloudFront how far the run's invalidations are, submits a
//! distribution's next batch once its earlier one has completed, and says how long to wait
//! before the next check.

use aws_sdk_cloudfront::Client;
use serde_json::Value;

use crate::artifact::ArtifactStore;
use crate::batches::{any_due, submit_due_batches};
use crate::budget::Budget;
use crate::error::{ErrorKind, WorkflowError};
use crate::limits::{MAX_FILE_PATHS, MAX_WILDCARD_PATHS};
use crate::payload::{describe_invalidations, CheckInput, Payload, Run};
use crate::planning::check_same_plan;
use crate::polling::{poll, submitted_at, BatchSource, Polling};
use crate::request::read_request;
use crate::schedule::{reply_now, seconds_before_next_check};
use crate::secrets::Secrets;
use crate::status::update_statuses;
use crate::timestamps::{format_time, parse_time};

/// Updates the status of every invalidation not yet completed, and says whether all are
/// completed and how long to wait before the next check. Past the deadline with some still in
/// progress, fails with [`ErrorKind::InvalidationTimedOut`] naming them. When the job's reply
/// window has closed, sets `replyDue` so that the run replies "in progress" and ends.
///
/// A distribution with nothing in progress gets its next pending batch; its paths come from
/// planning the execution input again (reading the paths file through `artifacts`, if any),
/// which must give the plan the run started with ([`ErrorKind::PlanChanged`] otherwise).
/// With `polling` on, the step then keeps asking CloudFront until all are completed or its
/// window in the schedule ends (see [`crate::polling`]).
/// No message this returns holds the job event's artifact credentials.
pub async fn check_status(
    client: &Client,
    artifacts: &impl ArtifactStore,
    payload: Payload,
    budget: Budget,
    polling: Polling,
) -> Result<Run, WorkflowError> {
    let input: CheckInput = payload.parse("check-status")?;
    let secrets = Secrets::from_request(&input.request);
    check_run(client, artifacts, input, budget, polling)
        .await
        .map_err(|error| secrets.redact_error(error))
}

/// The plan of the execution input, made when a batch first needs its paths, and checked
/// against the fingerprint of the plan the run started with.
struct PlanWhenNeeded<'a, A> {
    request: &'a Value,
    artifacts: &'a A,
    fingerprint: String,
    batches: Option<Vec<Vec<String>>>,
}

impl<A: ArtifactStore> BatchSource for PlanWhenNeeded<'_, A> {
    async fn batches(&mut self) -> Result<&[Vec<String>], WorkflowError> {
        if self.batches.is_none() {
            // Boxed, like the polling: the nested futures are too deep a type to lay out inline.
            let plan = Box::pin(read_request(self.request, self.artifacts)).await?;
            check_same_plan(&self.fingerprint, &plan.batches)?;
            self.batches = Some(plan.batches);
        }
        Ok(self.batches.as_deref().unwrap_or_default())
    }
}

async fn check_run(
    client: &Client,
    artifacts: &impl ArtifactStore,
    input: CheckInput,
    budget: Budget,
    polling: Polling,
) -> Result<Run, WorkflowError> {
    let CheckInput { mut run, request } = input;
    let mut plan = PlanWhenNeeded {
        request: &request,
        artifacts,
        fingerprint: run.plan.clone(),
        batches: None,
    };
    update_statuses(client, &mut run, &budget).await?;
    // The paths of a due batch come from planning the execution input again.
    let submitted = if any_due(&run) {
        submit_due_batches(client, &mut run, plan.batches().await?, &budget).await?
    } else {
        false
    };
    run.checks += 1;
    run.checks_since_submit = if submitted {
        0
    } else {
        run.checks_since_submit + 1
    };
    if submitted || run.submitted_at.is_none() {
        run.submitted_at = Some(format_time(budget.now));
    }
    if polling.is_on() && !run.is_finished() {
        // Boxed: the polling future nested in this one is too deep a type to lay out inline.
        Box::pin(poll(client, &mut run, &mut plan, &budget, polling)).await?;
    }
    settle(run, &budget, polling)
}

/// What a step hands back once its calls are done: whether all are completed, else how long
/// to wait, whether the reply is due, or that the deadline has passed.
fn settle(mut run: Run, budget: &Budget, polling: Polling) -> Result<Run, WorkflowError> {
    run.all_completed = run.is_finished();
    if run.all_completed {
        run.wait_seconds = 0;
        return Ok(run);
    }
    let now = budget.current();
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
    let reply_soon = polling.is_on() && run.reply_by.is_some() && reply_now(until_reply);
    if until_reply.is_zero() || reply_soon {
        // CodePipeline must hear from the run now (or soon: a check until then is not worth
        // its transitions); report-result sends a continuation token.
        run.reply_due = true;
        run.wait_seconds = 0;
    } else {
        let until_stop = until_deadline.min(until_reply);
        run.wait_seconds = if polling.is_on() {
            let since = now
                .duration_since(submitted_at(&run, now)?)
                .unwrap_or_default();
            polling
                .schedule()
                .seconds_before_next_poll(since, until_stop)
        } else {
            seconds_before_next_check(run.checks_since_submit, until_stop)
        };
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
