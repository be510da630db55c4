//! What the emulator shows of what it has seen: the [`Snapshot`] and the
//! records in it, the job-result details they carry, and the executions it
//! hands to whoever embeds it. Plain data, serialized as `GET
//! /_emulator/state` answers it.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::config::{FaultCode, Operation};

/// The key of the job in a Lambda invoke action's event.
pub const JOB_EVENT_KEY: &str = "CodePipeline.job";

/// `Status` of an invalidation that is still running, exactly as CloudFront
/// spells it.
pub const IN_PROGRESS: &str = "InProgress";
/// `Status` of a finished invalidation.
pub const COMPLETED: &str = "Completed";

/// A point-in-time copy of everything the emulator has seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// All invalidations, oldest first.
    pub invalidations: Vec<InvalidationRecord>,
    /// All accepted job results, in the order they were recorded.
    pub job_results: Vec<JobResult>,
    /// Calls received per operation name (faulted calls included).
    pub calls: BTreeMap<String, u64>,
    /// Injected faults per operation name: calls failed before they took
    /// effect ([`FaultSpec::error_rate`](crate::FaultSpec#structfield.error_rate)).
    pub injected_faults: BTreeMap<String, u64>,
    /// Every injected fault, in order.
    pub fault_log: Vec<InjectedFault>,
    /// Lost responses per operation name: calls that took effect and were
    /// answered with a 500 instead ([`FaultSpec::lost_response_rate`](crate::FaultSpec#structfield.lost_response_rate)).
    #[serde(default)]
    pub lost_responses: BTreeMap<String, u64>,
    /// Every lost response, in order, as the client saw it.
    #[serde(default)]
    pub lost_response_log: Vec<InjectedFault>,
    /// Every Lambda invocation that was run (or found no function), in the
    /// order they finished. Each
    /// attempt of an `Event` call is listed. The emulator's own invocations
    /// (continued CodePipeline jobs, on-failure destinations) are listed (as
    /// `Event` calls, status 202) but not counted in `calls`.
    #[serde(default)]
    pub lambda_invocations: Vec<LambdaInvocation>,
    /// Every asynchronous event Lambda gave up on, in order: after its last
    /// retry failed, or when it was too old for the next one.
    #[serde(default)]
    pub discarded_events: Vec<DiscardedEvent>,
    /// Every Step Functions execution, in creation order.
    #[serde(default)]
    pub executions: Vec<ExecutionRecord>,
    /// Every CodePipeline job event seen, in order: those that came through
    /// Lambda `Invoke`, and those the emulator created to continue a job.
    #[serde(default)]
    pub jobs: Vec<JobRecord>,
    /// Every S3 object, by bucket then key; never their bytes.
    #[serde(default)]
    pub objects: Vec<ObjectRecord>,
    /// Every S3 call that named an emulated operation, in the order they were
    /// answered, with what it carried and the status it got (faulted and
    /// refused calls included).
    #[serde(default)]
    pub s3_requests: Vec<S3Request>,
}

impl Snapshot {
    /// Calls received for `op` so far.
    pub fn calls_of(&self, op: Operation) -> u64 {
        self.calls.get(op.name()).copied().unwrap_or(0)
    }

    /// Faults injected into `op` so far.
    pub fn faults_of(&self, op: Operation) -> u64 {
        self.injected_faults.get(op.name()).copied().unwrap_or(0)
    }

    /// Responses of `op` lost so far.
    pub fn lost_responses_of(&self, op: Operation) -> u64 {
        self.lost_responses.get(op.name()).copied().unwrap_or(0)
    }

    /// The S3 calls of `op` so far, in order.
    pub fn s3_requests_of(&self, op: Operation) -> impl Iterator<Item = &S3Request> {
        self.s3_requests.iter().filter(move |r| r.operation == op)
    }
}

/// One invalidation as seen in a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvalidationRecord {
    /// The distribution it belongs to, or the distribution tenant when
    /// `tenant` is set.
    pub distribution_id: String,
    /// Whether `distribution_id` is a distribution tenant id (the
    /// invalidation came from CreateInvalidationForDistributionTenant).
    #[serde(default)]
    pub tenant: bool,
    /// The invalidation id, e.g. `I2J0I21PCUYOIK`.
    pub id: String,
    /// The caller reference it was created with.
    pub caller_reference: String,
    /// Its paths, in request order.
    pub paths: Vec<String>,
    /// `InProgress` or `Completed` at the time of the snapshot.
    pub status: String,
    /// Creation time, RFC 3339 in UTC with milliseconds.
    pub created_at: String,
}

/// One S3 object, as seen in a [`Snapshot`]: where it is and how big, never
/// its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRecord {
    /// The bucket.
    pub bucket: String,
    /// The key, decoded.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The `ETag` clients see, quotes included (the hex MD5 of the bytes).
    pub etag: String,
}

/// One S3 call, as seen in a [`Snapshot`]: what it asked and carried (so a
/// test can look for a value, a credential say, in everything written) and
/// how it was answered. The signature and the signer are not kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Request {
    /// Position among all recorded results, faults, invocations and S3
    /// calls, starting at 1; taken when the call was answered.
    pub sequence: u64,
    /// `GetObject`, `PutObject`, `HeadObject`, `DeleteObject` or `ListObjectsV2`.
    pub operation: Operation,
    /// The bucket named.
    pub bucket: String,
    /// The object key, decoded; empty for `ListObjectsV2`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// The query parameters, decoded (`prefix`, `continuation-token`…); the
    /// Rust SDK's `x-id` marker left out.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    /// `PutObject`: its user metadata (`x-amz-meta-*` headers, names
    /// lowercase without the prefix).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// `PutObject`: the bytes it carried (an `aws-chunked` body decoded), as
    /// text, a byte that is not UTF-8 as U+FFFD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The HTTP status the caller got.
    pub status: u16,
    /// The error code the caller got, if any (`NoSuchKey`, `PreconditionFailed`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// When it was answered, RFC 3339 in UTC with milliseconds, on the
    /// emulator's clock.
    pub at: String,
}

impl S3Request {
    /// Whether `text` occurs in anything the call carried: key, parameters,
    /// metadata or body.
    pub fn carries(&self, text: &str) -> bool {
        self.key.contains(text)
            || self
                .parameters
                .iter()
                .chain(&self.metadata)
                .any(|(name, value)| name.contains(text) || value.contains(text))
            || self.body.as_deref().is_some_and(|body| body.contains(text))
    }
}

/// One recorded `PutJobSuccessResult` or `PutJobFailureResult`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobResult {
    /// Position among all recorded results and faults, starting at 1.
    pub sequence: u64,
    /// The job the result is for.
    pub job_id: String,
    /// Which call delivered it.
    pub operation: Operation,
    /// When it was recorded, RFC 3339 in UTC with milliseconds.
    pub recorded_at: String,
    /// Success only: the token that asks CodePipeline to call the action again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
    /// Success only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_details: Option<ExecutionDetails>,
    /// Success only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_variables: Option<BTreeMap<String, String>>,
    /// Failure only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_details: Option<FailureDetails>,
}

impl JobResult {
    /// Whether this result ends the job: any failure, or a success without a
    /// continuation token.
    pub fn is_terminal(&self) -> bool {
        self.operation == Operation::PutJobFailureResult || self.continuation_token.is_none()
    }
}

/// One Lambda invocation, as seen in a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaInvocation {
    /// Position among all recorded results, faults and invocations, starting
    /// at 1; taken when the invocation finished.
    pub sequence: u64,
    /// The function name the call resolved to (no ARN, no qualifier).
    pub function_name: String,
    /// When the attempt started, RFC 3339 in UTC with milliseconds, on the
    /// emulator's clock.
    pub started_at: String,
    /// Real time from the attempt's start to the backend's answer (or the
    /// timeout): what the function host took, whichever clock the emulator
    /// runs on.
    pub duration_ms: u64,
    /// `ok`; the function's `errorType` (`Sandbox.Timedout` for a timeout or
    /// an injected hang, `Runtime.ExitError` for an injected crash);
    /// or, when the function never ran to an answer, the API error the caller
    /// got (`ResourceNotFoundException`, `ServiceException`).
    pub outcome: String,
    /// The HTTP status the caller got: 200 (also for function errors), 202
    /// for an `Event` call, 404 or 502.
    pub status: u16,
    /// The invocation's request id: the `x-amzn-RequestId` the caller got
    /// (kept by every attempt of an `Event` call, as Lambda keeps it).
    #[serde(default)]
    pub request_id: String,
    /// `RequestResponse` or `Event`.
    #[serde(default)]
    pub invocation_type: String,
    /// 1 for the first attempt; 2 and 3 for Lambda's retries of an `Event`
    /// call that ended in a function error.
    #[serde(default = "first_attempt")]
    pub attempt: u32,
    /// The fault [`Config::function_faults`](crate::Config#structfield.function_faults)
    /// injected into this invocation, by [`FunctionFaultKind::name`](crate::FunctionFaultKind::name):
    /// `crash`, `crash-after-work` or `hang`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injected_fault: Option<String>,
    /// For an invocation of an on-failure destination: the request id of
    /// the discarded event it reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure_of: Option<String>,
}

fn first_attempt() -> u32 {
    1
}

/// An asynchronous event Lambda gave up on, as seen in a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscardedEvent {
    /// Position among all recorded results, faults and invocations.
    pub sequence: u64,
    /// The event's request id.
    pub request_id: String,
    /// The function it was for.
    pub function_name: String,
    /// `RetriesExhausted` or `EventAgeExceeded`, as in Lambda's invocation record.
    pub condition: String,
    /// How many times the function was invoked with it.
    pub approximate_invoke_count: u32,
    /// The on-failure destination invoked with the invocation record, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<String>,
    /// When, RFC 3339 in UTC with milliseconds, on the emulator's clock.
    pub at: String,
}

/// One Step Functions execution, as seen in a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionRecord {
    /// `arn:aws:states:<region>:<account>:execution:<state machine>:<name>`.
    pub execution_arn: String,
    /// The state machine it runs.
    pub state_machine_arn: String,
    /// The execution name.
    pub name: String,
    /// Its input, exactly as given (`{}` when none was).
    pub input: String,
    /// `RUNNING`, `SUCCEEDED` or `FAILED`.
    pub status: String,
    /// When it started, RFC 3339 in UTC with milliseconds.
    pub start_date: String,
    /// When it ended, RFC 3339 in UTC with milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<String>,
    /// Its output, if it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Its error name, if it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its error cause, if it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// How many `StartExecution` calls named it, idempotent repeats included.
    pub start_calls: u64,
}

/// One CodePipeline job event, as seen in a [`Snapshot`] (never the event
/// itself, which holds artifact credentials).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRecord {
    /// `CodePipeline.job.id`.
    pub job_id: String,
    /// The function the event was sent to (plain name).
    pub function_name: String,
    /// For a job the emulator created after a continuation token: the job
    /// whose result carried the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continued_from: Option<String>,
    /// For such a job: the token, as put in `CodePipeline.job.data.continuationToken`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
    /// When the event was first sent, RFC 3339 in UTC with milliseconds.
    pub invoked_at: String,
}

/// One injected fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InjectedFault {
    /// Position among all recorded results and faults, starting at 1.
    pub sequence: u64,
    /// The operation that was failed.
    pub operation: Operation,
    /// The kind of fault.
    pub fault: FaultCode,
    /// The error code the client saw.
    pub code: String,
    /// The HTTP status the client saw.
    pub status: u16,
    /// When, RFC 3339 in UTC with milliseconds.
    pub at: String,
}

/// `executionDetails` of a success result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionDetails {
    /// A summary of the action's run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The id of the run in the external system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_execution_id: Option<String>,
    /// 0..=100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_complete: Option<i32>,
}

/// `failureDetails` of a failure result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureDetails {
    /// One of [`FAILURE_TYPES`](crate::FAILURE_TYPES).
    #[serde(rename = "type")]
    pub kind: String,
    /// The failure's message.
    pub message: String,
    /// The id of the run in the external system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_execution_id: Option<String>,
}

/// An execution created by `StartExecution`, as handed to whoever runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedExecution {
    /// `arn:aws:states:<region>:<account>:execution:<state machine>:<name>`.
    pub execution_arn: String,
    /// The state machine to run.
    pub state_machine_arn: String,
    /// The execution name (given, or a generated UUID).
    pub name: String,
    /// The input, exactly as given (`{}` when none was).
    pub input: String,
    /// When `StartExecution` created it.
    pub start_date: SystemTime,
}

/// How an execution ended; see [`crate::EmulatorHandle::finish_execution`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecutionOutcome {
    /// `SUCCEEDED`, with the execution's output (JSON text).
    Succeeded {
        /// The output document.
        output: String,
    },
    /// `FAILED`, with the error name and cause.
    Failed {
        /// The error name, e.g. `States.TaskFailed`.
        error: String,
        /// The cause.
        cause: String,
    },
}
