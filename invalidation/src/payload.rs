//! The payloads the state machine passes between the functions, declared once.
//!
//! ```text
//! execution input ──► StartInput ──start-invalidation──► Run ──check-status──► Run …
//!                                                      (CheckInput: Run + execution input)
//!                                         │ error                   │ error / all completed
//!                                         ▼                         ▼
//!                                     ReportInput ──report-result──► Outcome (execution output)
//! ```
//! Field names are camelCase because the state machine reads them with JSONPath
//! (`$.run.allCompleted`, `$.run.waitSeconds`, `$.status`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{FailureType, WorkflowError};

/// Reads a function's payload, turning a shape error into [`crate::ErrorKind::InvalidInput`]
/// (lambda_runtime's own deserialization error would carry an unreadable Rust type name).
pub fn from_payload<T: serde::de::DeserializeOwned>(
    what: &str,
    payload: Value,
) -> Result<T, WorkflowError> {
    serde_json::from_value(payload)
        .map_err(|e| WorkflowError::invalid_input(format!("{what} payload: {e}")))
}

/// What start-invalidation receives: the execution input, untouched, and facts about the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartInput {
    /// The execution input as given (console input or a CodePipeline job event).
    pub request: Value,
    /// Facts the state machine takes from its context object.
    pub execution: ExecutionContext,
}

/// The parts of the Step Functions context object the workflow uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionContext {
    /// `$$.Execution.Name`: unique per state machine for 90 days and kept by a redrive, so it
    /// makes an idempotent CallerReference when there is no pipeline job.
    pub name: String,
    /// `$$.Execution.StartTime` (RFC 3339): the deadline counts from here, so a retried start
    /// step computes the same deadline.
    pub start_time: String,
    /// `$$.Execution.Id`, the execution's ARN: the job result names it as its
    /// `externalExecutionId`, so the pipeline leads to the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// The state of a run between steps: the output of start-invalidation and check-status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// The CodePipeline job to report to, if the run was started with a job event.
    pub job_id: Option<String>,
    /// The execution's ARN (`$$.Execution.Id`), named in the job result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    /// When the run gives up waiting (RFC 3339, UTC).
    pub deadline: String,
    /// The paths invalidated on each distribution, after planning.
    pub path_count: usize,
    /// The paths the request named, before planning.
    #[serde(default)]
    pub paths_requested: usize,
    /// How many distributions (or tenants) the run invalidates.
    #[serde(default)]
    pub distribution_count: usize,
    /// Every invalidation this run (or the job it continues) created, batch after batch.
    pub invalidations: Vec<InvalidationState>,
    /// Completed invalidations of earlier jobs that the continuation token could not name.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub earlier_completed: usize,
    /// How many times check-status has asked CloudFront.
    pub checks: u32,
    /// Checks since a batch was last submitted: the wait before the next check grows with it.
    #[serde(default)]
    pub checks_since_submit: u32,
    /// Whether every invalidation reported `Completed`.
    pub all_completed: bool,
    /// How long the state machine waits before the next check.
    pub wait_seconds: u64,
    /// When the run must reply to its CodePipeline job (RFC 3339): CodePipeline fails a Lambda
    /// invoke action that is silent for 20 minutes. None without a job.
    #[serde(default)]
    pub reply_by: Option<String>,
    /// Whether the reply window has closed with invalidations still in progress: the run then
    /// records an "in progress" reply with a continuation token and ends.
    #[serde(default)]
    pub reply_due: bool,
    /// Batches not yet submitted; each goes in when its distribution has nothing in progress.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<PendingBatch>,
    /// What later batches' CallerReferences start with: the job id or the execution name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reference_prefix: String,
}

impl Run {
    /// Whether the run has nothing left to do: no batch pending, every invalidation completed.
    pub fn is_finished(&self) -> bool {
        self.pending.is_empty()
            && self
                .invalidations
                .iter()
                .all(InvalidationState::is_completed)
    }
}

/// For `skip_serializing_if`: counts that are zero are left out of payloads and tokens.
pub(crate) fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// A planned batch of paths waiting for its turn on a distribution. Its paths are not carried:
/// Step Functions limits a state to 256 KiB, less than 10,000 paths can take, so check-status
/// plans the execution input again (planning is deterministic) to find them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingBatch {
    /// The distribution.
    pub distribution_id: String,
    /// Its place in the plan (0 is submitted by start-invalidation).
    pub batch: usize,
}

/// What check-status receives: the run, and the execution input to plan later batches from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckInput {
    /// The run so far.
    pub run: Run,
    /// `$$.Execution.Input`, as start-invalidation received it.
    pub request: Value,
}

/// One invalidation this run created, and what CloudFront last said of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvalidationState {
    /// The distribution it invalidates.
    pub distribution_id: String,
    /// CloudFront's id for it.
    pub invalidation_id: String,
    /// The CallerReference it was created with.
    pub caller_reference: String,
    /// CloudFront's status: `InProgress` or `Completed`.
    pub status: String,
}

/// The status CloudFront reports for a finished invalidation.
pub const COMPLETED: &str = "Completed";

impl InvalidationState {
    /// Whether CloudFront reported this invalidation `Completed`.
    pub fn is_completed(&self) -> bool {
        self.status == COMPLETED
    }
}

/// What report-result receives. After a `Catch`, `error` is set and either `run` (a later step
/// failed) or `request` and `execution` (start-invalidation failed) hold what the run knew.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportInput {
    /// The run's state, once start-invalidation has succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
    /// The execution input, when start-invalidation failed: read only for the job id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Value>,
    /// The execution context, when start-invalidation failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<ExecutionContext>,
    /// The error a `Catch` caught.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CaughtError>,
}

/// The error object a Step Functions `Catch` puts at its `ResultPath`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaughtError {
    /// The error name: a [`crate::ErrorKind`] name, or one of Step Functions' own
    /// (`States.Timeout`, `Lambda.Unknown`, …).
    #[serde(rename = "Error")]
    pub error: String,
    /// For a Lambda function error, the JSON of `{errorType, errorMessage}`; otherwise text.
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

impl CaughtError {
    /// The human part of the cause: the function's `errorMessage` when the cause is a Lambda
    /// error document (as Step Functions gives it), else the cause without a leading
    /// `<Error>: ` (as local interpreters give it).
    pub fn message(&self) -> String {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct LambdaErrorDocument {
            error_message: String,
        }
        if let Ok(document) = serde_json::from_str::<LambdaErrorDocument>(&self.cause) {
            return document.error_message;
        }
        let cause = self
            .cause
            .strip_prefix(&self.error)
            .and_then(|rest| rest.strip_prefix(": "))
            .unwrap_or(&self.cause);
        if cause.is_empty() {
            "no cause given".to_owned()
        } else {
            cause.to_owned()
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunStatus {
    /// Every invalidation completed.
    Succeeded,
    /// Something failed; `error` and `cause` say what.
    Failed,
    /// The invalidations are still in progress and the job was told so with a continuation
    /// token; the run for the next job carries on.
    Continued,
}

/// The execution's output, shaped by report-result. A `Failed` outcome sends the state machine
/// to its `Fail` state with `error` and `cause`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// Whether the run succeeded.
    pub status: RunStatus,
    /// The error name, when failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What failed and why, when failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// One line for a person: what was invalidated, or what failed.
    pub summary: String,
    /// The invalidations the run created, with their last status.
    pub invalidations: Vec<InvalidationState>,
    /// What CodePipeline was told, when the run had a job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_pipeline: Option<PipelineReport>,
    /// Paths requested and invalidated, and what they cost, once invalidations were created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paths: Option<PathReport>,
}

/// What the run invalidated, in paths and money.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathReport {
    /// Paths the request named.
    pub requested: usize,
    /// Paths invalidated on each distribution, after planning.
    pub planned: usize,
    /// Invalidation batches, over all distributions.
    pub batches: usize,
    /// What this run's paths cost at $0.005 a path, if the month's 1,000 free paths are used up.
    pub estimated_cost_usd: f64,
}

/// The result recorded on a CodePipeline job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineReport {
    /// The job.
    pub job_id: String,
    /// `PutJobSuccessResult` or `PutJobFailureResult`.
    pub result: String,
    /// The failure type sent, for a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_type: Option<FailureType>,
    /// True when CodePipeline said the job already had this run's result (a retried report).
    pub already_recorded: bool,
    /// The continuation token sent, for an "in progress" reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_of_a_lambda_error_cause_is_its_error_message() {
        let caught = CaughtError {
            error: "DistributionNotFound".into(),
            cause: r#"{"errorType":"DistributionNotFound","errorMessage":"no E1"}"#.into(),
        };
        assert_eq!(caught.message(), "no E1");
        let caught = CaughtError {
            error: "States.Timeout".into(),
            cause: "Task timed out".into(),
        };
        assert_eq!(caught.message(), "Task timed out");
        let caught = CaughtError {
            error: "DistributionNotFound".into(),
            cause: "DistributionNotFound: no E1".into(),
        };
        assert_eq!(caught.message(), "no E1");
    }

    #[test]
    fn a_shape_error_in_a_payload_is_invalid_input() {
        let error =
            from_payload::<Run>("check-status", serde_json::json!({"checks": 1})).unwrap_err();
        assert_eq!(error.name(), "InvalidInput");
        assert!(
            error
                .message
                .starts_with("check-status payload: missing field"),
            "{}",
            error.message
        );
    }
}
