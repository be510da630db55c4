//! Records a run's result on its CodePipeline job, and makes sure the signal is not lost.
//!
//! A job without a result hangs its pipeline until the action times out, so transient errors
//! (throttling, 5xx, timeouts) are retried here with exponential backoff and jitter, bounded in
//! attempts and by the function's own deadline (an attempt starts only if it can end before the
//! function must answer), before the state machine's own retries. A retry can meet a result that the previous
//! attempt did record although its answer was lost: CodePipeline then says
//! `InvalidJobStateException`, which after a retry means "already recorded".

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_codepipeline::types::{
    ExecutionDetails, FailureDetails, FailureType as SdkFailureType,
};
use aws_sdk_codepipeline::Client;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use backon::{ExponentialBuilder, Retryable};

use crate::aws_error::classify;
use crate::budget::Budget;
use crate::error::{truncate_chars, ErrorKind, FailureType, WorkflowError};

/// CodePipeline's longest `executionDetails.summary`.
pub const MAX_SUMMARY_CHARS: usize = 2048;
/// CodePipeline's longest `failureDetails.message`.
pub const MAX_FAILURE_MESSAGE_CHARS: usize = 5000;

/// The result to record on a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobResult {
    /// PutJobSuccessResult.
    Success {
        /// `executionDetails.summary`; cut to [`MAX_SUMMARY_CHARS`].
        summary: String,
        /// `outputVariables`, readable by later pipeline actions.
        output_variables: HashMap<String, String>,
    },
    /// PutJobSuccessResult with a continuation token: "still in progress, call again".
    InProgress {
        /// `executionDetails.summary`; cut to [`MAX_SUMMARY_CHARS`].
        summary: String,
        /// `executionDetails.percentComplete`, 0 to 99.
        percent_complete: i32,
        /// The token CodePipeline hands to the next job.
        continuation_token: String,
    },
    /// PutJobFailureResult.
    Failure {
        /// `failureDetails.type`.
        failure_type: FailureType,
        /// `failureDetails.message`; cut to [`MAX_FAILURE_MESSAGE_CHARS`].
        message: String,
    },
}

impl JobResult {
    /// The name of the CodePipeline call that records this result.
    pub fn operation(&self) -> &'static str {
        match self {
            Self::Success { .. } | Self::InProgress { .. } => "PutJobSuccessResult",
            Self::Failure { .. } => "PutJobFailureResult",
        }
    }
}

/// The longest pause between two attempts of [`report_backoff`].
pub const REPORT_RETRY_DELAY_CAP: Duration = Duration::from_secs(5);

/// The retry policy for recording a result: 5 retries from 200 ms, doubling to
/// [`REPORT_RETRY_DELAY_CAP`], with jitter. Each attempt may take the SDK's whole operation
/// timeout, so the function's [`Budget`] decides whether another one starts at all.
pub fn report_backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(REPORT_RETRY_DELAY_CAP)
        .with_max_times(5)
        .with_jitter()
}

/// CodePipeline's longest `externalExecutionId`.
pub const MAX_EXTERNAL_EXECUTION_ID_CHARS: usize = 1500;

/// The job a result is for, and the run that produced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobTarget<'a> {
    /// The CodePipeline job.
    pub job_id: &'a str,
    /// The Step Functions execution's ARN, sent as `externalExecutionId` so that the action's
    /// result in CodePipeline names the run (ListActionExecutions shows it; the console links
    /// only custom actions to an external run).
    pub external_execution_id: Option<&'a str>,
    /// Whether an earlier invocation of the reporting step may have recorded the result (the
    /// state machine retried the step, or Lambda retried pipeline-entry).
    pub earlier_attempts: bool,
}

/// Counts the HTTP attempts of the calls it is attached to, the SDK's own retries included: an
/// `InvalidJobStateException` after any earlier attempt may be that attempt's result, recorded
/// while its answer was lost.
#[derive(Debug, Clone, Default)]
struct AttemptCounter(Arc<AtomicU32>);

impl Intercept for AttemptCounter {
    fn name(&self) -> &'static str {
        "AttemptCounter"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Records the result on the job. Returns whether CodePipeline already had it (a retry met the
/// result an earlier attempt recorded). A transient failure is retried with `backoff` only while
/// `budget` has room for the pause and a whole call; then it is returned, by name, for the
/// state machine (or Lambda) to retry the step.
pub async fn record_job_result(
    client: &Client,
    target: JobTarget<'_>,
    result: &JobResult,
    backoff: ExponentialBuilder,
    budget: &Budget,
) -> Result<bool, WorkflowError> {
    let job_id = target.job_id;
    let attempts = AttemptCounter::default();
    let outcome = (|| send(client, target, result, &attempts))
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(|error| {
            error.is_transient() && budget.has_room_for_call_after(REPORT_RETRY_DELAY_CAP)
        })
        .notify(|error, wait| {
            tracing::warn!(
                job_id,
                error = error.name(),
                message = %error.message,
                retry_in_ms = wait.as_millis() as u64,
                "recording the job result failed; retrying"
            );
        })
        .await;
    match outcome {
        Ok(()) => Ok(false),
        // Only a first-ever attempt meeting a closed job means someone else closed it.
        Err(error)
            if error.kind == ErrorKind::JobAlreadyClosed
                && (target.earlier_attempts || attempts.0.load(Ordering::Relaxed) > 1) =>
        {
            tracing::info!(job_id, "the job result was recorded by an earlier attempt");
            Ok(true)
        }
        Err(error) => Err(error),
    }
}

async fn send(
    client: &Client,
    target: JobTarget<'_>,
    result: &JobResult,
    attempts: &AttemptCounter,
) -> Result<(), WorkflowError> {
    let job_id = target.job_id;
    let call = format!("{} for job {job_id}", result.operation());
    let external_execution_id = target
        .external_execution_id
        .filter(|id| id.chars().count() <= MAX_EXTERNAL_EXECUTION_ID_CHARS);
    match result {
        JobResult::Success {
            summary,
            output_variables,
        } => client
            .put_job_success_result()
            .job_id(job_id)
            .execution_details(
                ExecutionDetails::builder()
                    .summary(truncate_chars(summary, MAX_SUMMARY_CHARS))
                    .percent_complete(100)
                    .set_external_execution_id(external_execution_id.map(str::to_owned))
                    .build(),
            )
            .set_output_variables((!output_variables.is_empty()).then(|| output_variables.clone()))
            .customize()
            .interceptor(attempts.clone())
            .send()
            .await
            .map(drop)
            .map_err(|e| classify(&call, e)),
        JobResult::InProgress {
            summary,
            percent_complete,
            continuation_token,
        } => client
            .put_job_success_result()
            .job_id(job_id)
            .continuation_token(continuation_token)
            .execution_details(
                ExecutionDetails::builder()
                    .summary(truncate_chars(summary, MAX_SUMMARY_CHARS))
                    .percent_complete(*percent_complete)
                    .set_external_execution_id(external_execution_id.map(str::to_owned))
                    .build(),
            )
            .customize()
            .interceptor(attempts.clone())
            .send()
            .await
            .map(drop)
            .map_err(|e| classify(&call, e)),
        JobResult::Failure {
            failure_type,
            message,
        } => {
            let details = FailureDetails::builder()
                .r#type(SdkFailureType::from(failure_type.as_str()))
                .message(truncate_chars(message, MAX_FAILURE_MESSAGE_CHARS))
                .set_external_execution_id(external_execution_id.map(str::to_owned))
                .build()
                .map_err(|e| {
                    WorkflowError::new(ErrorKind::JobReportRejected, format!("{call}: {e}"))
                })?;
            client
                .put_job_failure_result()
                .job_id(job_id)
                .failure_details(details)
                .customize()
                .interceptor(attempts.clone())
                .send()
                .await
                .map(drop)
                .map_err(|e| classify(&call, e))
        }
    }
}
