//! pipeline-entry: the target of a CodePipeline Lambda invoke action. It starts a run of the
//! state machine for the job and returns at once; the run reports the result to the job.
//!
//! A job must never go unanswered: whatever keeps the run from starting (input that can be
//! rejected now, a missing state machine, a denied permission, throttling that outlasts the
//! retries) is reported here with PutJobFailureResult. Starting is idempotent: the execution is
//! named after the job, so a redelivered event (Lambda retries asynchronous invocations) finds
//! the run already started instead of starting a second one.
//!
//! It is also the step that first holds the job's artifact credentials, so it plans the run
//! (reading a paths file with them) and keeps the plan in the state bucket; the execution input
//! is the event without its credentials, whatever the size of the list.

use aws_sdk_codepipeline::Client as CodePipeline;
use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::Client as StepFunctions;
use backon::{ExponentialBuilder, Retryable};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::artifact::ArtifactStore;
use crate::aws_error::classify;
use crate::budget::Budget;
use crate::codepipeline::{record_job_result, JobResult, JobTarget, REPORT_RETRY_DELAY_CAP};
use crate::error::{shorten, ErrorKind, WorkflowError};
use crate::job::{is_job_id, JobView, CODEPIPELINE_JOB_KEY};
use crate::payload::Payload;
use crate::request::parse_request;
use crate::sdk::OPERATION_TIMEOUT;
use crate::secrets::Secrets;
use crate::state_bucket::ObjectStore;

/// The environment variable that gives pipeline-entry the state machine's ARN.
pub const STATE_MACHINE_ARN_VARIABLE: &str = "STATE_MACHINE_ARN";

/// What pipeline-entry did with a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryOutcome {
    /// The job.
    pub job_id: String,
    /// The execution name used for it.
    pub execution_name: String,
    /// The execution, when one was started now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    /// True when an execution of this name existed already (a redelivered job).
    pub already_started: bool,
    /// The failure reported to the job when no run could start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reported: Option<String>,
}

/// The state machine pipeline-entry starts, as [`STATE_MACHINE_ARN_VARIABLE`] names it.
///
/// Read once at start, but a bad value does not stop the function there: a function that cannot
/// start would leave every job without a result until CodePipeline's 20-minute timeout. Instead
/// each job is told why, as a ConfigurationError. (Under `sam local`, the template's
/// `!Ref InvalidationStateMachine` gives the bare logical id, not an ARN.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMachineTarget(Result<String, String>);

impl StateMachineTarget {
    /// The target named by [`STATE_MACHINE_ARN_VARIABLE`].
    pub fn from_env() -> Self {
        Self::new(std::env::var(STATE_MACHINE_ARN_VARIABLE).ok())
    }

    /// The target named by this value of [`STATE_MACHINE_ARN_VARIABLE`], if set.
    pub fn new(value: Option<String>) -> Self {
        let checked = match value {
            None => Err(format!(
                "{STATE_MACHINE_ARN_VARIABLE} is not set: give pipeline-entry the state machine's \
                 ARN (the stack's StateMachineArn output)"
            )),
            Some(arn) if is_state_machine_arn(&arn) => Ok(arn),
            Some(other) => Err(format!(
                "{STATE_MACHINE_ARN_VARIABLE} `{}` is not a state machine ARN \
                 (arn:<partition>:states:<region>:<account>:stateMachine:<name>); under \
                 `sam local`, the template's !Ref gives the logical id: set the ARN with \
                 --env-vars events/sam-local-env.json",
                shorten(&other)
            )),
        };
        Self(checked)
    }

    /// The ARN, or why there is none, as the error the job is told.
    pub fn arn(&self) -> Result<&str, WorkflowError> {
        self.0
            .as_deref()
            .map_err(|why| WorkflowError::invalid_input(why.clone()))
    }

    /// The ARN the execution of this name will have, when the target is known.
    pub fn execution_arn(&self, name: &str) -> Option<String> {
        let arn = self.0.as_deref().ok()?;
        Some(format!(
            "{}:{name}",
            arn.replacen(":stateMachine:", ":execution:", 1)
        ))
    }
}

fn is_state_machine_arn(text: &str) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    matches!(
        parts.as_slice(),
        ["arn", partition, "states", region, account, "stateMachine", name]
            if partition.starts_with("aws") && !region.is_empty()
                && account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
                && !name.is_empty()
    )
}

/// The execution name for a job: unique per job, within Step Functions' 80-character and
/// character-set rules (a job id is a UUID).
pub fn execution_name(job_id: &str) -> String {
    format!("job-{job_id}")
}

/// Starts the run for a CodePipeline job event, or reports why it cannot.
///
/// The request is checked and planned here, the paths file (if any) read with the job's
/// artifact credentials, and the plan kept in the state bucket `store` under the execution's
/// name, so the run plans nothing again. The execution input is the event without its artifact
/// credentials, so that they appear nowhere in Step Functions. Every AWS call is retried with
/// `backoff` only while `budget` leaves room for it; what still fails is reported to the job,
/// or, if even that cannot be done in time, returned for Lambda to retry the invocation.
#[allow(clippy::too_many_arguments)]
pub async fn start_pipeline_run(
    step_functions: &StepFunctions,
    codepipeline: &CodePipeline,
    artifacts: &impl ArtifactStore,
    store: &impl ObjectStore,
    state_machine: &StateMachineTarget,
    payload: Payload,
    backoff: ExponentialBuilder,
    budget: Budget,
) -> Result<EntryOutcome, WorkflowError> {
    let view = JobView::of_text(payload.text());
    let secrets = Secrets::from_view(&view);
    let job_id = view.id.clone().ok_or_else(|| {
        WorkflowError::invalid_input(
            "pipeline-entry takes the event of a CodePipeline Lambda invoke action, \
             {\"CodePipeline.job\": {\"id\": …}}; start the state machine directly for other input",
        )
    })?;
    if !is_job_id(&job_id) {
        // CodePipeline would refuse a result for it: there is no job to tell.
        return Err(secrets.redact_error(WorkflowError::invalid_input(format!(
            "the CodePipeline job id `{}` is not a job id (a UUID)",
            shorten(&job_id)
        ))));
    }
    let name = execution_name(&job_id);
    // The planning and the start get the function's time less one whole call, which is kept
    // for telling the job when they fail.
    let work = budget.reserving(OPERATION_TIMEOUT);
    let started = match state_machine.arn() {
        Err(rejection) => Err(rejection),
        Ok(arn) => {
            // Boxed: the nested futures are too deep a type to lay out inline.
            let planned_and_started = Box::pin(async {
                let input = execution_input(&payload, artifacts, store, &name).await?;
                start(step_functions, arn, &name, &input, backoff, &work).await
            });
            work.within("planning and starting the run", planned_and_started)
                .await
        }
    };
    let mut outcome = EntryOutcome {
        job_id: job_id.clone(),
        execution_name: name,
        execution_arn: None,
        already_started: false,
        failure_reported: None,
    };
    match started {
        Ok(Started::New(arn)) => {
            tracing::info!(job_id = %job_id, execution_arn = %arn, "run started");
            outcome.execution_arn = Some(arn);
        }
        Ok(Started::Already) => {
            tracing::info!(job_id = %job_id, "the run for this job was started before");
            outcome.already_started = true;
        }
        Err(error) => {
            let error = secrets.redact_error(error);
            tracing::warn!(job_id = %job_id, error = error.name(), message = %error.message, "no run started");
            let message = format!(
                "Cache invalidation could not start: {}: {}",
                error.name(),
                error.message
            );
            let failure = JobResult::Failure {
                failure_type: error.kind.failure_type(),
                message: message.clone(),
            };
            let execution_arn = state_machine.execution_arn(&outcome.execution_name);
            let target = JobTarget {
                job_id: &job_id,
                external_execution_id: execution_arn.as_deref(),
                // Lambda retries a failed invocation, which may have recorded this failure
                // before it failed; no run started, so nobody else reports to the job.
                earlier_attempts: true,
            };
            // If even this fails, the error makes Lambda retry the whole (idempotent) invocation.
            record_job_result(codepipeline, target, &failure, backoff, &budget)
                .await
                .map_err(|e| secrets.redact_error(e))?;
            outcome.failure_reported = Some(message);
        }
    }
    Ok(outcome)
}

enum Started {
    New(String),
    Already,
}

/// The execution input for a job event, once everything that can be checked now was, and the
/// run's plan is in the state bucket under the execution's name `run` (a job that carries on
/// an earlier one's run has its plan there already): the event without its credentials.
async fn execution_input(
    payload: &Payload,
    artifacts: &impl ArtifactStore,
    store: &impl ObjectStore,
    run: &str,
) -> Result<Value, WorkflowError> {
    let event: Value = payload.parse("pipeline-entry")?;
    let parsed = parse_request(&event)?;
    if parsed.continuation.is_none() {
        parsed.plan_once(store, artifacts, run).await?;
    }
    Ok(without_credentials(&event))
}

/// The event with its artifact credentials emptied (the event type requires the key).
fn without_credentials(event: &Value) -> Value {
    let mut event = event.clone();
    if let Some(credentials) =
        event.pointer_mut(&format!("/{CODEPIPELINE_JOB_KEY}/data/artifactCredentials"))
    {
        *credentials = serde_json::json!({});
    }
    event
}

async fn start(
    client: &StepFunctions,
    state_machine_arn: &str,
    name: &str,
    input: &Value,
    backoff: ExponentialBuilder,
    budget: &Budget,
) -> Result<Started, WorkflowError> {
    let input = input.to_string();
    let call = format!("StartExecution {name} of {state_machine_arn}");
    let attempt = || async {
        let answer = client
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(&input)
            .send()
            .await;
        match answer {
            Ok(output) => Ok(Started::New(output.execution_arn)),
            // Same name, other input or a finished run: this job's run exists already.
            Err(error) if error.code() == Some("ExecutionAlreadyExists") => Ok(Started::Already),
            Err(error) => Err(classify_start_error(&call, error)),
        }
    };
    attempt
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(|error| {
            error.is_transient() && budget.has_room_for_call_after(REPORT_RETRY_DELAY_CAP)
        })
        .notify(|error, wait| {
            tracing::warn!(
                error = error.name(),
                retry_in_ms = wait.as_millis() as u64,
                "StartExecution failed; retrying"
            );
        })
        .await
}

/// Step Functions' own codes for a wrong configuration become `InvalidInput` (so the job gets
/// ConfigurationError); `ExecutionLimitExceeded` passes with time, like throttling.
fn classify_start_error<E>(
    call: &str,
    error: aws_sdk_sfn::error::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> WorkflowError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = error.code().unwrap_or_default().to_owned();
    let classified = classify(call, error);
    let kind = match code.as_str() {
        "StateMachineDoesNotExist"
        | "StateMachineDeleting"
        | "InvalidArn"
        | "InvalidName"
        | "InvalidExecutionInput" => ErrorKind::InvalidInput,
        "ExecutionLimitExceeded" => ErrorKind::Throttled,
        _ => classified.kind,
    };
    WorkflowError::new(kind, classified.message)
}
