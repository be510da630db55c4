//! start-invalidation: checks the request, keeps its plan, then creates one invalidation per
//! target.

use std::time::Duration;

use aws_sdk_cloudfront::Client;

use crate::artifact::ArtifactStore;
use crate::budget::Budget;
use crate::error::WorkflowError;
use crate::job::JobView;
use crate::payload::{Payload, StartInput};
use crate::polling::{poll, submit_due, PlanAtHand, Polling};
use crate::request::parse_request;
use crate::run::{RunState, Step};
use crate::secrets::Secrets;
use crate::state_bucket::{load_continuation, ObjectStore};
use crate::status::update_statuses;

/// Validates the execution input, makes sure the run's plan is in the state bucket, and creates
/// the invalidations of each target's first batch, idempotently: the same job (or execution) and
/// target always give the same CallerReference, so a retried step or a redriven run gets the
/// existing invalidation back instead of a second, billed one.
///
/// The plan is the one stored under the execution's name (pipeline-entry plans a Lambda invoke
/// action's job before it starts the run, and an earlier attempt of this step may have), or
/// planned now and stored, reading the paths file (if `pathsFile` names one) through
/// `artifacts`. Nothing is sent to CloudFront unless the whole request is valid.
///
/// A job CodePipeline created after an "in progress" reply carries a continuation token: its run
/// carries on from the state the token names and creates no first batch again. With a job, the
/// run must reply within `reply_window` of the execution's start (see [`crate::continuation`]).
///
/// With `polling` on, the step then asks CloudFront until all are completed or its window in
/// the schedule ends (see [`crate::polling`]). A failure is written into the returned state
/// ([`RunState::not_started`] when the run cannot begin), not raised; only a payload that cannot
/// be read and a transient failure (which the state machine retries) are. No message this
/// returns holds the job event's artifact credentials.
pub async fn start_invalidation(
    client: &Client,
    artifacts: &impl ArtifactStore,
    store: &impl ObjectStore,
    payload: Payload,
    budget: Budget,
    reply_window: Duration,
    polling: Polling,
) -> Result<RunState, WorkflowError> {
    let input: StartInput = payload.parse("start-invalidation")?;
    let secrets = Secrets::from_request(&input.request);
    match start_run(
        client,
        artifacts,
        store,
        &input,
        budget,
        reply_window,
        polling,
    )
    .await
    {
        Ok(run) => Ok(run),
        // Worth another attempt: the state machine retries the step.
        Err(error) if error.is_transient() => Err(secrets.redact_error(error)),
        // The run cannot begin: it ends failed, its job (if any) told why.
        Err(error) => Ok(RunState::not_started(
            &input.execution,
            JobView::of(&input.request).id,
            secrets.redact_error(error),
            budget.now,
        )),
    }
}

async fn start_run(
    client: &Client,
    artifacts: &impl ArtifactStore,
    store: &impl ObjectStore,
    input: &StartInput,
    budget: Budget,
    reply_window: Duration,
    polling: Polling,
) -> Result<RunState, WorkflowError> {
    let execution = &input.execution;
    execution.check()?;
    let parsed = parse_request(&input.request)?;
    let continued = parsed.continuation.is_some();
    let (mut run, mut plan) = match (&parsed.continuation, &parsed.job_id) {
        (Some(continuation), Some(job_id)) => {
            let stored = load_continuation(store, &continuation.state).await?;
            tracing::info!(
                run = %stored.key,
                invalidations = stored.created().count(),
                deadline = %stored.deadline,
                "carrying on the run of an earlier job"
            );
            let run = stored.continued(job_id, execution, reply_window);
            (run, PlanAtHand::in_bucket(store))
        }
        _ => {
            let plan = parsed.plan_once(store, artifacts, &execution.name).await?;
            let run = RunState::new(&plan, &execution.name, execution, reply_window, budget.now);
            (run, PlanAtHand::read(store, plan))
        }
    };
    if continued && polling.is_on() {
        // What the earlier job saw may have changed since: look once before anything else.
        update_statuses(client, &mut run, &budget).await;
        run.checks += 1;
    }
    // Each target's next batch, unless another deploy's invalidations hold its limit or
    // CloudFront fails the call: then the batch waits, and a check submits it.
    submit_due(client, &mut run, &mut plan, &budget).await?;
    if polling.is_on() && !run.is_finished() {
        let polled = Box::pin(poll(client, &mut run, &mut plan, &budget, polling)).await?;
        if polled > 0 && !continued {
            run.checks += 1;
        }
    }
    run.settle(Step::Start, budget.current(), polling.is_on());
    Ok(run)
}
