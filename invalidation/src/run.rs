//! A run's plan and its state.
//!
//! The **plan** ([`RunPlan`]) is made once, by the step that first holds the request
//! (pipeline-entry for a Lambda invoke action's job, start-invalidation otherwise), and kept in
//! the state bucket (see [`crate::state_bucket`]); it holds every path, so it may be large.
//!
//! The **state** ([`RunState`]) is what the steps hand each other through Step Functions:
//! start-invalidation makes it, each check-status updates it, report-result reads it. It names
//! the targets and the invalidations, never a path, so its size has a fixed bound whatever the
//! request ([`MAX_RUN_STATE_BYTES`]), far below Step Functions' 256 KiB. Start and check share
//! its one constructor ([`RunState::new`]) and its one [`RunState::settle`].
//!
//! A failure after something was created is not raised: it is written into the state
//! ([`Phase::Failed`], [`RunFailure`]), so report-result sees every invalidation the run created
//! beside the error.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::error::{shorten, truncate_chars, ErrorKind, WorkflowError};
use crate::limits::{is_wildcard, MAX_FILE_PATHS, MAX_WILDCARD_PATHS};
use crate::planning::is_tag;
use crate::schedule::{reply_now, seconds_before_next_check, Schedule};
use crate::site::SiteUpdate;
use crate::timestamps::Timestamp;

/// The version of the plan's format, so a later change can still read the plans of runs in
/// progress.
pub const PLAN_FORMAT: u32 = 1;

/// What a run invalidates, decided once: the targets and the planned batches of paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunPlan {
    /// [`PLAN_FORMAT`].
    pub v: u32,
    /// The CodePipeline job the run reports to, when it was started for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// What every CallerReference of the run starts with: the job id, or the execution name.
    pub reference_prefix: String,
    /// The distributions (or distribution tenants), in the order given, without repeats.
    pub targets: Vec<String>,
    /// The planned items (paths and cache tags) in batches that each fit CloudFront's
    /// in-progress limits; every target gets every batch, one after another.
    pub batches: Vec<Vec<String>>,
    /// How many items the request named, repeats included.
    pub requested: usize,
    /// How many of the planned items are cache tags (`#…`).
    pub tags: usize,
    /// How long the run waits for every invalidation to complete.
    pub timeout_seconds: u64,
    /// With `changesIn`: what changed in the site, and where its manifest goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteUpdate>,
}

impl RunPlan {
    /// The planned items per target, over all batches.
    pub fn items(&self) -> usize {
        self.batches.iter().map(Vec::len).sum()
    }

    /// The plan in numbers, as the run state carries it.
    pub fn counts(&self) -> PlanCounts {
        PlanCounts {
            requested: self.requested,
            items: self.items(),
            tags: self.tags,
            batches: self.batches.len(),
        }
    }
}

/// Where a run stands: what the state machine's `WhatNext` choice reads (`$.run.phase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Invalidations are in progress or batches are still to submit: wait, then check again.
    InProgress,
    /// Every batch of every target was created and CloudFront reports each `Completed`.
    Completed,
    /// The CodePipeline job must hear from the run now: report-result replies "in progress"
    /// with a continuation token and the run ends; the job CodePipeline creates next carries on.
    ReplyDue,
    /// The run failed; [`RunState::failure`] says why.
    Failed,
}

/// Which step settles a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// start-invalidation (and a continued job's first step).
    Start,
    /// check-status.
    Check,
}

/// Why a run failed, once something may have been created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunFailure {
    /// The error name.
    pub error: ErrorKind,
    /// What failed, for a person; at most [`MAX_CAUSE_CHARS`].
    pub cause: String,
}

/// The longest failure cause a run state keeps.
pub const MAX_CAUSE_CHARS: usize = 2000;

/// The plan, in numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanCounts {
    /// Items the request named.
    pub requested: usize,
    /// Items invalidated on each target, after planning: paths and cache tags.
    pub items: usize,
    /// How many of the items are cache tags.
    pub tags: usize,
    /// Batches per target.
    pub batches: usize,
}

/// One invalidation the run created, what CloudFront last said of it, and when (on the
/// functions' clock) the run saw it change: the metric record's durations (see
/// [`crate::metrics`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedInvalidation {
    /// CloudFront's id for it.
    pub id: String,
    /// CloudFront's status: `InProgress` or `Completed`.
    pub status: String,
    /// When CloudFront answered the CreateInvalidation that made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// When an answer last said it was in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_progress_at: Option<Timestamp>,
    /// When an answer first said it was completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
}

/// The status CloudFront reports for a finished invalidation.
pub const COMPLETED: &str = "Completed";
/// The status of an invalidation CloudFront is still working on.
pub const IN_PROGRESS: &str = "InProgress";

impl CreatedInvalidation {
    /// Whether CloudFront reported it `Completed`.
    pub fn is_completed(&self) -> bool {
        self.status == COMPLETED
    }

    /// Notes CloudFront's answer to its creation, at `at`.
    pub fn note_created(&mut self, at: SystemTime) {
        self.created_at = Some(Timestamp(at));
        let status = std::mem::take(&mut self.status);
        self.note_status(status, at);
    }

    /// Notes a status CloudFront answered at `at`.
    pub fn note_status(&mut self, status: String, at: SystemTime) {
        if status == COMPLETED {
            self.completed_at.get_or_insert(Timestamp(at));
        } else {
            self.in_progress_at = Some(Timestamp(at));
        }
        self.status = status;
    }

    /// CloudFront's time for it, as the run saw it: from its creation to the first answer that
    /// said it was completed. None unless the run saw both.
    pub fn took(&self) -> Option<Duration> {
        Some(self.created_at?.until(self.completed_at?.0))
    }

    /// The longest its completion can have gone unseen: from the last answer that said it was
    /// in progress to the first that said it was completed. None unless the run saw both.
    pub fn detection_lag(&self) -> Option<Duration> {
        Some(self.in_progress_at?.until(self.completed_at?.0))
    }
}

/// What an execution sent CloudFront, in the invalidations it created: the metric record's
/// counts (see [`crate::metrics`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SentCounts {
    /// Invalidations created.
    pub invalidations: usize,
    /// File paths in them.
    pub paths: usize,
    /// Wildcard paths in them.
    pub wildcards: usize,
    /// Cache tags in them.
    pub tags: usize,
}

impl SentCounts {
    /// Counts one invalidation of these items.
    pub fn add(&mut self, items: &[String]) {
        let tags = items.iter().filter(|item| is_tag(item)).count();
        let wildcards = items
            .iter()
            .filter(|item| !is_tag(item) && is_wildcard(item))
            .count();
        self.invalidations += 1;
        self.tags += tags;
        self.wildcards += wildcards;
        self.paths += items.len() - tags - wildcards;
    }

    fn is_none(&self) -> bool {
        *self == Self::default()
    }
}

/// Calls for one target that keep failing with throttling or 5xx, after the SDK's own
/// retries. They do not fail the step: a status read is harmless to repeat, and a creation is
/// idempotent. The run fails only when they keep failing for [`FAILING_FOR_AT_MOST`] and at
/// least [`FAILED_CALLS_AT_LEAST`] calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Failing {
    /// When the first failed call of this streak was answered.
    pub since: Timestamp,
    /// Failed calls in a row.
    pub calls: u32,
    /// The last error's name.
    pub error: ErrorKind,
    /// The last error's message, at most [`MAX_FAILING_MESSAGE_CHARS`].
    pub message: String,
}

/// The longest message of a failing call a run state keeps.
pub const MAX_FAILING_MESSAGE_CHARS: usize = 300;

/// How long a target's calls may keep failing transiently before the run fails…
pub const FAILING_FOR_AT_MOST: Duration = Duration::from_secs(600);
/// …provided that many calls in a row failed (a single slow retry is not a streak).
pub const FAILED_CALLS_AT_LEAST: u32 = 5;

/// One distribution (or distribution tenant) of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetState {
    /// The distribution or tenant id.
    pub id: String,
    /// Every invalidation created for it, in batch order: the n-th is batch n.
    pub invalidations: Vec<CreatedInvalidation>,
    /// How often CloudFront refused its next batch because other invalidations held the
    /// distribution's in-progress limits (said when the run times out waiting).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub refused_for_limit: u32,
    /// Its calls failing transiently, if they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing: Option<Failing>,
}

fn is_zero(count: &u32) -> bool {
    *count == 0
}

impl TargetState {
    /// The invalidation CloudFront is still working on, if any (at most one: a target's batches
    /// go in one after another).
    pub fn in_progress(&self) -> Option<&CreatedInvalidation> {
        self.invalidations.iter().find(|i| !i.is_completed())
    }

    /// The batch to submit next, if the plan has one left (`batches` per target).
    pub fn next_batch(&self, batches: usize) -> Option<usize> {
        (self.invalidations.len() < batches).then_some(self.invalidations.len())
    }

    /// Whether its next batch may go in now: one is left and nothing of the run is in progress
    /// on it.
    pub fn is_due(&self, batches: usize) -> bool {
        self.next_batch(batches).is_some() && self.in_progress().is_none()
    }

    /// Notes a call that failed with a transient error at `now`.
    pub fn note_failure(&mut self, now: SystemTime, error: &WorkflowError) {
        let failing = self.failing.get_or_insert_with(|| Failing {
            since: Timestamp(now),
            calls: 0,
            error: error.kind,
            message: String::new(),
        });
        failing.calls += 1;
        failing.error = error.kind;
        failing.message = truncate_chars(&error.message, MAX_FAILING_MESSAGE_CHARS);
    }
}

/// The state of a run between steps (see the module doc). Field names are camelCase because
/// the state machine reads them with JSONPath (`$.run.phase`, `$.run.waitSeconds`,
/// `$.run.jobId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunState {
    /// The run's name in the state bucket: the execution name of the run that planned it. The
    /// plan is kept under it, and continued jobs keep it.
    pub key: String,
    /// The CodePipeline job to report to, if the run was started for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// The execution's ARN (`$$.Execution.Id`), named in the job result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    /// What the run's CallerReferences start with: the job id or the execution name of the run
    /// that planned (a continued job keeps it).
    pub reference_prefix: String,
    /// When the run gives up waiting.
    pub deadline: Timestamp,
    /// When the run must reply to its CodePipeline job: CodePipeline fails a Lambda invoke action
    /// that is silent for 20 minutes. None without a job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_by: Option<Timestamp>,
    /// When a batch last went in: the polling windows and waits grow with the time since (see
    /// [`crate::schedule`]).
    pub submitted_at: Timestamp,
    /// Steps that asked CloudFront for the status.
    pub checks: u32,
    /// Checks since a batch was last submitted: without in-function polling, the wait before
    /// the next check grows with it.
    pub checks_since_submit: u32,
    /// The plan, in numbers.
    pub plan: PlanCounts,
    /// Each target and what was created for it.
    pub targets: Vec<TargetState>,
    /// Where the run stands.
    pub phase: Phase,
    /// How long the state machine waits before the next check, while in progress.
    pub wait_seconds: u64,
    /// Why the run failed, when [`Phase::Failed`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<RunFailure>,
    /// When this execution started (`$$.Execution.StartTime`; a continued job's own): the
    /// metric record's run duration, and which completions this execution saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    /// What this execution sent CloudFront.
    #[serde(default, skip_serializing_if = "SentCounts::is_none")]
    pub sent: SentCounts,
    /// With `changesIn`: what changed in the site, and where its manifest goes once the run
    /// succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteUpdate>,
}

/// The longest a run state serializes to. It is bounded whatever the request: at most
/// [`MAX_DISTRIBUTIONS`] targets of at most 64 characters, at most [`MAX_INVALIDATIONS_PER_RUN`]
/// invalidations with ids of at most [`MAX_ID_CHARS`], names and ARNs as Step Functions bounds
/// them, and causes of at most [`MAX_CAUSE_CHARS`] (the largest such state is about 118 KiB,
/// each invalidation's three times taking about 120 bytes of it). With a caught error's cause
/// (at most 32,768 characters) beside it, a state stays far below Step Functions' 256 KiB, so
/// no step can reach `States.DataLimitExceeded`, which no Catch catches.
pub const MAX_RUN_STATE_BYTES: usize = 128 * 1024;
/// The longest invalidation id accepted from CloudFront (its ids are 14 characters for a
/// distribution and 25 for a tenant).
pub const MAX_ID_CHARS: usize = 64;
/// The longest status kept (CloudFront's are `InProgress` and `Completed`).
pub const MAX_STATUS_CHARS: usize = 32;
/// The longest execution name Step Functions allows.
pub const MAX_EXECUTION_NAME_CHARS: usize = 80;
/// The longest execution ARN kept: Step Functions' names of at most 80 characters each, a
/// region, an account and the partition fit well within.
pub const MAX_EXECUTION_ARN_CHARS: usize = 400;

/// The parts of the Step Functions context object the workflow uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionContext {
    /// `$$.Execution.Name`: unique per state machine for 90 days and kept by a redrive, so it
    /// names the run in the state bucket and makes an idempotent CallerReference when there is
    /// no pipeline job.
    pub name: String,
    /// `$$.Execution.StartTime`: the deadline counts from here, so a retried start step
    /// computes the same deadline.
    pub start_time: Timestamp,
    /// `$$.Execution.Id`, the execution's ARN: the job result names it as its
    /// `externalExecutionId`, so the pipeline leads to the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl ExecutionContext {
    /// Checks the lengths the run state's bound relies on (Step Functions keeps to them).
    pub fn check(&self) -> Result<(), WorkflowError> {
        if self.name.is_empty() || self.name.chars().count() > MAX_EXECUTION_NAME_CHARS {
            return Err(WorkflowError::invalid_input(format!(
                "execution.name `{}` is not an execution name of 1 to {MAX_EXECUTION_NAME_CHARS} \
                 characters",
                shorten(&self.name)
            )));
        }
        if let Some(id) = &self.id {
            if id.chars().count() > MAX_EXECUTION_ARN_CHARS {
                return Err(WorkflowError::invalid_input(format!(
                    "execution.id `{}` is longer than an execution ARN can be",
                    shorten(id)
                )));
            }
        }
        Ok(())
    }
}

impl RunState {
    /// The state of a run that starts now on `plan`, kept under `key`: nothing created yet,
    /// the deadline `timeoutSeconds` after the execution's start, and, with a job, the reply
    /// due `reply_window` after it.
    pub fn new(
        plan: &RunPlan,
        key: &str,
        execution: &ExecutionContext,
        reply_window: Duration,
        now: SystemTime,
    ) -> Self {
        let started = execution.start_time;
        Self {
            key: key.to_owned(),
            job_id: plan.job_id.clone(),
            execution_arn: execution.id.clone(),
            reference_prefix: plan.reference_prefix.clone(),
            deadline: started.after(Duration::from_secs(plan.timeout_seconds)),
            reply_by: plan.job_id.as_ref().map(|_| started.after(reply_window)),
            submitted_at: Timestamp(now),
            checks: 0,
            checks_since_submit: 0,
            plan: plan.counts(),
            targets: plan
                .targets
                .iter()
                .map(|id| TargetState {
                    id: id.clone(),
                    invalidations: Vec::new(),
                    refused_for_limit: 0,
                    failing: None,
                })
                .collect(),
            phase: Phase::InProgress,
            wait_seconds: 0,
            failure: None,
            started_at: Some(started),
            sent: SentCounts::default(),
            site: plan.site.clone(),
        }
    }

    /// The state of a run that could not begin (its input was refused, its plan conflicts):
    /// failed, with nothing created, reported to `job_id` if the input was a job event. So a
    /// refusal reaches report-result as a small state, never through a Catch that would carry
    /// the whole execution input.
    pub fn not_started(
        execution: &ExecutionContext,
        job_id: Option<String>,
        error: WorkflowError,
        now: SystemTime,
    ) -> Self {
        let job_id = job_id.filter(|id| id.chars().count() <= MAX_EXECUTION_NAME_CHARS);
        let mut run = Self {
            key: truncate_chars(&execution.name, MAX_EXECUTION_NAME_CHARS),
            reference_prefix: job_id
                .clone()
                .unwrap_or_else(|| truncate_chars(&execution.name, MAX_EXECUTION_NAME_CHARS)),
            job_id,
            execution_arn: execution
                .id
                .clone()
                .filter(|id| id.chars().count() <= MAX_EXECUTION_ARN_CHARS),
            deadline: execution.start_time,
            reply_by: None,
            submitted_at: Timestamp(now),
            checks: 0,
            checks_since_submit: 0,
            plan: PlanCounts::default(),
            targets: Vec::new(),
            phase: Phase::InProgress,
            wait_seconds: 0,
            failure: None,
            started_at: Some(execution.start_time),
            sent: SentCounts::default(),
            site: None,
        };
        run.fail(error);
        run
    }

    /// The state of a run carried on by a continued job: the same run, targets and deadline,
    /// reported to `job_id` from the execution `execution`, which must reply by its own window.
    pub fn continued(
        mut self,
        job_id: &str,
        execution: &ExecutionContext,
        reply_window: Duration,
    ) -> Self {
        self.job_id = Some(job_id.to_owned());
        self.execution_arn = execution.id.clone();
        self.reply_by = Some(execution.start_time.after(reply_window));
        self.phase = Phase::InProgress;
        self.wait_seconds = 0;
        self.failure = None;
        // Its record counts what it sends and the completions it sees.
        self.started_at = Some(execution.start_time);
        self.sent = SentCounts::default();
        self
    }

    /// Whether every batch of every target was created and has completed.
    pub fn is_finished(&self) -> bool {
        self.targets.iter().all(|target| {
            target.next_batch(self.plan.batches).is_none() && target.in_progress().is_none()
        })
    }

    /// How many invalidations CloudFront is still working on.
    pub fn in_progress(&self) -> usize {
        self.targets
            .iter()
            .filter(|target| target.in_progress().is_some())
            .count()
    }

    /// Whether any target's next batch may go in now.
    pub fn any_due(&self) -> bool {
        self.targets
            .iter()
            .any(|target| target.is_due(self.plan.batches))
    }

    /// Every invalidation created, with its target, in target and batch order.
    pub fn created(&self) -> impl Iterator<Item = (&str, &CreatedInvalidation)> + '_ {
        self.targets.iter().flat_map(|target| {
            target
                .invalidations
                .iter()
                .map(move |invalidation| (target.id.as_str(), invalidation))
        })
    }

    /// The CallerReference of one target's batch: deterministic on purpose, since CloudFront
    /// returns the existing invalidation for a repeated reference with the same paths.
    pub fn caller_reference(&self, target: &str, batch: usize) -> String {
        caller_reference(&self.reference_prefix, target, batch)
    }

    /// Ends the run as failed, unless it has failed already (the first failure is the cause).
    pub fn fail(&mut self, error: WorkflowError) {
        if self.failure.is_none() {
            self.failure = Some(RunFailure {
                error: error.kind,
                cause: truncate_chars(&error.message, MAX_CAUSE_CHARS),
            });
        }
        self.phase = Phase::Failed;
        self.wait_seconds = 0;
    }

    /// What a step hands back once its calls are done, at `now`: completed; failed (an error
    /// recorded, calls failing too long, or, after a check, the deadline passed with work
    /// left); a reply due;
    /// or, still in progress, how long to wait before the next check, never past the deadline
    /// or the reply time. `polling` is the schedule the steps poll on, or `None` without
    /// in-function polling.
    pub fn settle(&mut self, step: Step, now: SystemTime, polling: Option<Schedule>) {
        self.wait_seconds = 0;
        if self.phase == Phase::Failed {
            return;
        }
        if self.is_finished() {
            self.phase = Phase::Completed;
            return;
        }
        if let Some(error) = self.failing_too_long(now) {
            self.fail(error);
            return;
        }
        let until_deadline = self.deadline.since(now);
        // The start step creates and hands on what it created; the check that follows (a
        // second later) fails the run at the deadline, naming what exists.
        if until_deadline.is_zero() && step == Step::Check {
            let error = WorkflowError::new(
                ErrorKind::InvalidationTimedOut,
                format!(
                    "still in progress at the deadline {} after {} checks: {}",
                    self.deadline,
                    self.checks,
                    self.describe_unfinished()
                ),
            );
            self.fail(error);
            return;
        }
        // Only a run with a job has a reply to give. A polling step that ends shortly before
        // the reply time has the run reply now: a check until then is not worth its
        // transitions, and the next job carries on at once (see [`reply_now`]).
        let until_reply = self.reply_by.map(|reply_by| reply_by.since(now));
        if until_reply.is_some_and(|left| left.is_zero() || (polling.is_some() && reply_now(left)))
        {
            self.phase = Phase::ReplyDue;
            return;
        }
        self.phase = Phase::InProgress;
        let until_stop = until_deadline.min(until_reply.unwrap_or(until_deadline));
        self.wait_seconds = match polling {
            Some(schedule) => {
                schedule.seconds_before_next_poll(self.submitted_at.until(now), until_stop)
            }
            None => seconds_before_next_check(self.checks_since_submit, until_stop),
        };
    }

    /// The error of a target whose calls have failed for too long, if one has.
    fn failing_too_long(&self, now: SystemTime) -> Option<WorkflowError> {
        self.targets.iter().find_map(|target| {
            let failing = target.failing.as_ref()?;
            let lasted = failing.since.until(now);
            (lasted >= FAILING_FOR_AT_MOST && failing.calls >= FAILED_CALLS_AT_LEAST).then(|| {
                WorkflowError::new(
                    failing.error,
                    format!(
                        "CloudFront's calls for {} failed {} times in a row over {} s; the last: \
                         {}",
                        target.id,
                        failing.calls,
                        lasted.as_secs(),
                        failing.message
                    ),
                )
            })
        })
    }

    /// "I1 on E1; not yet submitted: batch 2 of 3 for E2", for messages.
    pub fn describe_unfinished(&self) -> String {
        let in_progress: Vec<String> = self
            .targets
            .iter()
            .filter_map(|target| {
                let invalidation = target.in_progress()?;
                Some(format!("{} on {}", invalidation.id, target.id))
            })
            .collect();
        let pending: Vec<String> = self
            .targets
            .iter()
            .filter_map(|target| {
                let batch = target.next_batch(self.plan.batches)?;
                let count = self.plan.batches;
                Some(match target.refused_for_limit {
                    0 => format!("batch {} of {count} for {}", batch + 1, target.id),
                    refused => format!(
                        "batch {} of {count} for {} (CloudFront refused it {refused} times: \
                         other invalidations held the distribution's in-progress limit of \
                         {MAX_FILE_PATHS} file paths and {MAX_WILDCARD_PATHS} wildcards)",
                        batch + 1,
                        target.id
                    ),
                })
            })
            .collect();
        match (in_progress.is_empty(), pending.is_empty()) {
            (_, true) => in_progress.join(", "),
            (true, false) => format!("not yet submitted: {}", pending.join(", ")),
            (false, false) => format!(
                "{}; not yet submitted: {}",
                in_progress.join(", "),
                pending.join(", ")
            ),
        }
    }
}

/// The CallerReference for one batch of one target of one job or execution. The first batch has
/// no suffix, as in every run before batches existed.
pub fn caller_reference(prefix: &str, target: &str, batch: usize) -> String {
    match batch {
        0 => format!("{prefix}-{target}"),
        n => format!("{prefix}-{target}-{n}"),
    }
}

/// "E1: I1, I2; E2: I3", every invalidation of the run grouped by target, for messages.
pub fn describe_created<'a>(
    created: impl IntoIterator<Item = (&'a str, &'a CreatedInvalidation)>,
) -> String {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for (target, invalidation) in created {
        match groups.last_mut() {
            Some((last, ids)) if *last == target => ids.push(&invalidation.id),
            _ => groups.push((target, vec![&invalidation.id])),
        }
    }
    groups
        .iter()
        .map(|(target, ids)| format!("{target}: {}", ids.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{MAX_DISTRIBUTIONS, MAX_INVALIDATIONS_PER_RUN};
    use crate::site::{ChangeCounts, MAX_PREFIX_BYTES, MAX_UNREADABLE_CHARS};

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000 + seconds)
    }

    fn plan(targets: &[&str], batches: usize) -> RunPlan {
        RunPlan {
            v: PLAN_FORMAT,
            job_id: Some("11111111-abcd-1111-abcd-111111abcdef".into()),
            reference_prefix: "11111111-abcd-1111-abcd-111111abcdef".into(),
            targets: targets.iter().map(|t| t.to_string()).collect(),
            batches: (0..batches).map(|n| vec![format!("/b{n}/*")]).collect(),
            requested: batches,
            tags: 0,
            timeout_seconds: 3600,
            site: None,
        }
    }

    fn execution() -> ExecutionContext {
        ExecutionContext {
            name: "job-11111111-abcd-1111-abcd-111111abcdef".into(),
            start_time: Timestamp(at(0)),
            id: Some("arn:aws:states:us-east-1:123456789012:execution:M:job-1".into()),
        }
    }

    #[test]
    fn a_new_run_has_every_batch_ahead_of_it() {
        let run = RunState::new(
            &plan(&["E1AAAAAA", "E2AAAAAA"], 2),
            "job-1",
            &execution(),
            Duration::from_secs(900),
            at(1),
        );
        assert_eq!(run.deadline, Timestamp(at(3600)));
        assert_eq!(run.reply_by, Some(Timestamp(at(900))));
        assert!(run.any_due());
        assert!(!run.is_finished());
        assert_eq!(
            run.describe_unfinished(),
            "not yet submitted: batch 1 of 2 for E1AAAAAA, batch 1 of 2 for E2AAAAAA"
        );
    }

    #[test]
    fn settle_fails_the_run_at_the_deadline_and_names_what_is_left() {
        let mut run = RunState::new(
            &plan(&["E1AAAAAA"], 2),
            "job-1",
            &execution(),
            Duration::from_secs(900),
            at(1),
        );
        run.reply_by = None;
        run.targets[0].invalidations.push(CreatedInvalidation {
            id: "I1".into(),
            status: IN_PROGRESS.into(),
            ..CreatedInvalidation::default()
        });
        run.settle(Step::Check, at(3600), None);
        assert_eq!(run.phase, Phase::Failed);
        let failure = run.failure.unwrap();
        assert_eq!(failure.error, ErrorKind::InvalidationTimedOut);
        assert!(
            failure.cause.ends_with(
                "after 0 checks: I1 on E1AAAAAA; not yet submitted: batch 2 of 2 for E1AAAAAA"
            ),
            "{}",
            failure.cause
        );
    }

    #[test]
    fn a_start_past_the_deadline_leaves_the_failure_to_the_check_and_a_run_without_a_job_never_replies(
    ) {
        let mut plan = plan(&["E1AAAAAA"], 1);
        plan.job_id = None;
        let mut run = RunState::new(
            &plan,
            "run-1",
            &execution(),
            Duration::from_secs(900),
            at(0),
        );
        run.settle(Step::Start, at(7200), None);
        assert_eq!((run.phase, run.wait_seconds), (Phase::InProgress, 1));
        run.settle(Step::Check, at(7201), None);
        assert_eq!(run.failure.unwrap().error, ErrorKind::InvalidationTimedOut);
    }

    #[test]
    fn a_target_failing_briefly_waits_and_one_failing_long_fails_the_run() {
        let mut run = RunState::new(
            &plan(&["E1AAAAAA"], 1),
            "job-1",
            &execution(),
            Duration::from_secs(900),
            at(0),
        );
        let throttled = WorkflowError::new(ErrorKind::Throttled, "GetInvalidation: Throttling");
        for second in [10, 20, 30, 40, 50] {
            run.targets[0].note_failure(at(second), &throttled);
        }
        run.settle(Step::Check, at(60), Some(Schedule::DEFAULT));
        assert_eq!(
            run.phase,
            Phase::InProgress,
            "5 failures in 50 s are a blip"
        );
        run.settle(Step::Check, at(10 + 600), Some(Schedule::DEFAULT));
        assert_eq!(run.phase, Phase::Failed);
        let failure = run.failure.unwrap();
        assert_eq!(failure.error, ErrorKind::Throttled);
        assert_eq!(
            failure.cause,
            "CloudFront's calls for E1AAAAAA failed 5 times in a row over 600 s; the last: \
             GetInvalidation: Throttling"
        );
    }

    #[test]
    fn an_invalidation_is_timed_from_its_creation_and_its_last_in_progress_answer() {
        let mut invalidation = CreatedInvalidation {
            id: "I1".into(),
            status: IN_PROGRESS.into(),
            ..CreatedInvalidation::default()
        };
        invalidation.note_created(at(10));
        assert_eq!(
            (invalidation.took(), invalidation.detection_lag()),
            (None, None)
        );
        invalidation.note_status(IN_PROGRESS.into(), at(15));
        invalidation.note_status(COMPLETED.into(), at(35));
        // A later answer changes nothing: the first Completed counts.
        invalidation.note_status(COMPLETED.into(), at(50));
        assert_eq!(invalidation.took(), Some(Duration::from_secs(25)));
        assert_eq!(invalidation.detection_lag(), Some(Duration::from_secs(20)));
        // One CloudFront says is completed when it answers the creation was never seen in
        // progress: no lag to tell.
        let mut repeated = CreatedInvalidation {
            id: "I2".into(),
            status: COMPLETED.into(),
            ..CreatedInvalidation::default()
        };
        repeated.note_created(at(10));
        assert_eq!(repeated.took(), Some(Duration::ZERO));
        assert_eq!(repeated.detection_lag(), None);
    }

    #[test]
    fn what_is_sent_is_counted_by_kind() {
        let mut sent = SentCounts::default();
        let batch: Vec<String> = ["/a.html", "/img/*", "#product-1", "/b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        sent.add(&batch);
        sent.add(&batch[..1]);
        assert_eq!(
            sent,
            SentCounts {
                invalidations: 2,
                paths: 3,
                wildcards: 1,
                tags: 1
            }
        );
    }

    #[test]
    fn a_continued_job_counts_from_its_own_start() {
        let mut run = RunState::new(
            &plan(&["E1AAAAAA"], 1),
            "job-1",
            &execution(),
            Duration::from_secs(900),
            at(1),
        );
        run.sent.add(&["/a".to_owned()]);
        let mut later = execution();
        later.start_time = Timestamp(at(900));
        let run = run.continued(
            "22222222-abcd-1111-abcd-111111abcdef",
            &later,
            Duration::ZERO,
        );
        assert_eq!(run.started_at, Some(Timestamp(at(900))));
        assert_eq!(run.sent, SentCounts::default());
    }

    #[test]
    fn invalidations_are_described_grouped_by_target() {
        let created = |id: &str| CreatedInvalidation {
            id: id.into(),
            status: COMPLETED.into(),
            ..CreatedInvalidation::default()
        };
        let (a, b, c) = (created("I1"), created("I2"), created("I3"));
        assert_eq!(
            describe_created([("E1", &a), ("E1", &b), ("E2", &c)]),
            "E1: I1, I2; E2: I3"
        );
    }

    #[test]
    fn the_largest_run_state_stays_within_its_bound() {
        // GIVEN the most targets with the longest ids, the most invalidations with the longest
        // ids and statuses, and the longest names, ARN and cause.
        let targets: Vec<String> = (0..MAX_DISTRIBUTIONS)
            .map(|n| format!("dt_{n:0>61}"))
            .collect();
        let names: Vec<&str> = targets.iter().map(String::as_str).collect();
        let per_target = MAX_INVALIDATIONS_PER_RUN / MAX_DISTRIBUTIONS;
        let mut execution = execution();
        execution.name = "n".repeat(MAX_EXECUTION_NAME_CHARS);
        execution.id = Some("a".repeat(MAX_EXECUTION_ARN_CHARS));
        let mut plan = plan(&names, per_target);
        plan.reference_prefix = execution.name.clone();
        (plan.requested, plan.tags) = (usize::MAX, usize::MAX);
        let mut run = RunState::new(&plan, &execution.name, &execution, Duration::ZERO, at(0));
        (run.checks, run.checks_since_submit, run.wait_seconds) = (u32::MAX, u32::MAX, u64::MAX);
        let sent = usize::MAX / 4;
        run.sent = SentCounts {
            invalidations: sent,
            paths: sent,
            wildcards: sent,
            tags: sent,
        };
        // Times with their longest text: milliseconds.
        let seen = Some(Timestamp(at(0) + Duration::from_millis(123)));
        for target in &mut run.targets {
            target.refused_for_limit = u32::MAX;
            target.invalidations = (0..per_target)
                .map(|_| CreatedInvalidation {
                    id: "I".repeat(MAX_ID_CHARS),
                    status: "S".repeat(MAX_STATUS_CHARS),
                    created_at: seen,
                    in_progress_at: seen,
                    completed_at: seen,
                })
                .collect();
            target.failing = Some(Failing {
                since: Timestamp(at(0)),
                calls: u32::MAX,
                error: ErrorKind::ServiceUnavailable,
                message: "m".repeat(MAX_FAILING_MESSAGE_CHARS),
            });
        }
        run.fail(WorkflowError::new(
            ErrorKind::InvalidationTimedOut,
            "c".repeat(10 * MAX_CAUSE_CHARS),
        ));
        // A site whose prefix is the longest, each character escaped in JSON.
        run.site = Some(SiteUpdate {
            site: format!("s3://{}/{}", "b".repeat(63), "\"".repeat(MAX_PREFIX_BYTES)),
            manifest_key: format!("manifests/{}/{}.jsonl.gz", "b".repeat(63), "h".repeat(32)),
            previous_etag: Some("e".repeat(64)),
            manifest_unreadable: Some("\"".repeat(MAX_UNREADABLE_CHARS)),
            listing_key: format!(
                "runs/{}/manifest-{}.jsonl.gz",
                execution.name,
                "d".repeat(16)
            ),
            counts: ChangeCounts {
                objects: usize::MAX,
                added: usize::MAX,
                changed: usize::MAX,
                removed: usize::MAX,
                paths: usize::MAX,
                first_run: false,
            },
        });
        // THEN it serializes within the bound.
        let size = serde_json::to_vec(&run).unwrap().len();
        assert!(size <= MAX_RUN_STATE_BYTES, "{size} bytes");
    }
}
