//! start-invalidation: checks the request, then creates one invalidation per distribution.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudfront::Client;

use crate::artifact::ArtifactStore;
use crate::batches::{pending_batches, submit_due_batches};
use crate::budget::Budget;
use crate::continuation::Continuation;
use crate::error::WorkflowError;
use crate::payload::{describe_invalidations, Payload, Run, StartInput};
use crate::planning::{check_same_plan, fingerprint};
use crate::polling::{poll, Polling};
use crate::request::{parse_request, ParsedRequest};
use crate::schedule::{checks_within, reply_now, seconds_before_next_check};
use crate::secrets::Secrets;
use crate::timestamps::{format_time, parse_time};

/// Validates the execution input and creates the invalidations, idempotently: the same job (or
/// execution) and distribution always give the same CallerReference, so a retried step or a
/// redriven run gets the existing invalidation back instead of a second, billed one.
///
/// Nothing is sent to CloudFront unless the whole request is valid, the paths file (if
/// `pathsFile` names one) included, which is read from the job's input artifact through
/// `artifacts`. No message this returns holds the job event's artifact credentials.
///
/// A job CodePipeline created after an "in progress" reply carries a continuation token: its run
/// resumes the token's invalidations and deadline and creates nothing. With a job, the run must
/// reply within `reply_window` of the execution's start (see [`crate::continuation`]).
///
/// With `polling` on, the step then asks CloudFront until all are completed or its window in
/// the schedule ends (see [`crate::polling`]); `allCompleted` says whether it saw them finish.
pub async fn start_invalidation(
    client: &Client,
    artifacts: &impl ArtifactStore,
    payload: Payload,
    budget: Budget,
    reply_window: Duration,
    polling: Polling,
) -> Result<Run, WorkflowError> {
    let input: StartInput = payload.parse("start-invalidation")?;
    let secrets = Secrets::from_request(&input.request);
    start_run(client, artifacts, &input, budget, reply_window, polling)
        .await
        .map_err(|error| secrets.redact_error(error))
}

async fn start_run(
    client: &Client,
    artifacts: &impl ArtifactStore,
    input: &StartInput,
    budget: Budget,
    reply_window: Duration,
    polling: Polling,
) -> Result<Run, WorkflowError> {
    let now = budget.now;
    let parsed = parse_request(&input.request)?;
    let started = parse_time("execution.startTime", &input.execution.start_time)?;
    let reply_by = parsed.job_id.as_ref().map(|_| started + reply_window);
    if let Some(continuation) = parsed.continuation.clone() {
        let (mut run, batches) = resume(parsed, continuation, artifacts, reply_by, now).await?;
        run.execution_arn = input.execution.id.clone();
        if polling.is_on() {
            // The earlier job's run polled until its reply, which may be a moment ago: the
            // first look waits a poll interval, as any other does (poll's first round).
            let polled = Box::pin(poll(
                client,
                &mut run,
                &mut batches.as_slice(),
                &budget,
                polling,
            ))
            .await?;
            if polled > 0 {
                run.checks += 1;
            }
        }
        return Ok(settle_start(run, &budget, polling));
    }
    let request = parsed.read_and_plan(artifacts).await?;
    let deadline = started + Duration::from_secs(request.timeout_seconds);
    let source = request.job_id.as_deref().unwrap_or(&input.execution.name);
    let mut run = Run {
        job_id: request.job_id.clone(),
        execution_arn: input.execution.id.clone(),
        deadline: format_time(deadline),
        path_count: request.paths.len(),
        paths_requested: request.paths_requested,
        tag_count: request.tag_count,
        distribution_count: request.distribution_ids.len(),
        earlier_completed: 0,
        all_completed: false,
        pending: request
            .distribution_ids
            .iter()
            .flat_map(|distribution_id| pending_batches(distribution_id, request.batches.len(), 0))
            .collect(),
        reference_prefix: source.to_owned(),
        plan: match request.batches.len() {
            1 => String::new(),
            _ => fingerprint(&request.batches),
        },
        invalidations: Vec::new(),
        checks: 0,
        checks_since_submit: 0,
        submitted_at: Some(format_time(now)),
        wait_seconds: 0,
        reply_by: reply_by.map(format_time),
        reply_due: false,
    };
    // Each distribution's first batch, unless another deploy's invalidations hold its limit:
    // then the batch waits like any other, and check-status submits it.
    submit_due_batches(client, &mut run, &request.batches, &budget).await?;
    if polling.is_on() && !run.is_finished() {
        let polled = Box::pin(poll(
            client,
            &mut run,
            &mut request.batches.as_slice(),
            &budget,
            polling,
        ))
        .await
        .map_err(|error| {
            // Say what exists already, so a person knows what the failed step left behind.
            let created = describe_invalidations(&run.invalidations);
            error.with_context(format!("already created: {created}"))
        })?;
        if polled > 0 {
            run.checks += 1;
        }
    }
    Ok(settle_start(run, &budget, polling))
}

/// Whether the start step saw every invalidation completed, else whether the run should reply
/// now (polling ended within [`reply_now`]'s margin of the reply time), else how long the state
/// machine waits before the first check: never past the deadline or the reply time. (Unlike a
/// check, the start step never fails at the deadline; the first check does.)
fn settle_start(mut run: Run, budget: &Budget, polling: Polling) -> Run {
    run.all_completed = run.is_finished();
    if run.all_completed {
        run.wait_seconds = 0;
        return run;
    }
    let now = budget.current();
    let until = |time: &str| {
        parse_time("", time)
            .ok()
            .and_then(|time| time.duration_since(now).ok())
            .unwrap_or_default()
    };
    if polling.is_on()
        && run
            .reply_by
            .as_deref()
            .is_some_and(|by| reply_now(until(by)))
    {
        // The reply is due soon and a check until then is not worth its transitions:
        // report-result replies "in progress" now, and the next job carries on.
        run.reply_due = true;
        run.wait_seconds = 0;
        return run;
    }
    let until_stop = run
        .reply_by
        .as_deref()
        .map_or(until(&run.deadline), |reply_by| {
            until(reply_by).min(until(&run.deadline))
        });
    run.wait_seconds = match (polling.is_on(), run.submitted_at.as_deref()) {
        (true, Some(submitted)) => {
            let since = parse_time("", submitted)
                .ok()
                .and_then(|submitted| now.duration_since(submitted).ok())
                .unwrap_or_default();
            polling
                .schedule()
                .seconds_before_next_poll(since, until_stop)
        }
        _ => seconds_before_next_check(run.checks_since_submit, until_stop),
    };
    run
}

/// The run of a job CodePipeline created after an "in progress" reply: the token's
/// invalidations, deadline and schedule; the plan is read again only when batches are still to
/// submit (and returned, else empty).
async fn resume(
    parsed: ParsedRequest,
    continuation: Continuation,
    artifacts: &impl ArtifactStore,
    reply_by: Option<SystemTime>,
    now: SystemTime,
) -> Result<(Run, Vec<Vec<String>>), WorkflowError> {
    tracing::info!(
        invalidations = continuation.invalidations.len(),
        deadline = %continuation.deadline,
        "resuming the invalidations of an earlier job"
    );
    parse_time("continuationToken deadline", &continuation.deadline)?;
    // Where the schedule had got to: the waits carry on from the last submission.
    let submitted_at = continuation.submitted_at();
    let checks_since_submit = match &submitted_at {
        Some(since) => checks_within(
            now.duration_since(parse_time("continuationToken since", since)?)
                .unwrap_or_default(),
        ),
        None => 0,
    };
    let job_id = parsed.job_id.clone();
    let distribution_count = parsed.distribution_ids.len();
    let plan = continuation.plan.clone().unwrap_or_default();
    let batches = if continuation.next.is_empty() {
        Vec::new()
    } else {
        let batches = parsed.read_and_plan(artifacts).await?.batches;
        check_same_plan(&plan, &batches)?;
        batches
    };
    let pending = continuation
        .next
        .iter()
        .flat_map(|(distribution_id, next)| pending_batches(distribution_id, batches.len(), *next))
        .collect();
    let run = Run {
        pending,
        reference_prefix: job_id.clone().unwrap_or_default(),
        plan,
        job_id,
        execution_arn: None,
        deadline: continuation.deadline.clone(),
        path_count: continuation.paths,
        paths_requested: continuation.requested,
        tag_count: continuation.tags,
        distribution_count,
        invalidations: continuation.invalidations(),
        earlier_completed: continuation.done,
        checks: continuation.checks,
        checks_since_submit,
        submitted_at: Some(submitted_at.unwrap_or_else(|| format_time(now))),
        all_completed: false,
        wait_seconds: 0,
        reply_by: reply_by.map(format_time),
        reply_due: false,
    };
    Ok((run, batches))
}
