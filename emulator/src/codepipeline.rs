//! CodePipeline's job-result operations (JSON 1.1): input validation as the
//! service model constrains it, job state, and recording of every result.
//!
//! It also plays CodePipeline's part in continuations. A Lambda invoke
//! action's function may answer `PutJobSuccessResult` with a
//! `continuationToken`; CodePipeline then creates a new job for the same
//! action and invokes the same function with it, the token in
//! `CodePipeline.job.data.continuationToken`. The emulator remembers every job
//! event that goes through Lambda `Invoke` (`Shared::observe_job_event`); when such
//! a job gets a token, it waits [`Config::continuation_delay`], builds the new
//! job's event (the remembered one with a fresh job id and the token) and
//! invokes the function with it as an `Event` invocation.
//!
//! [`Config::continuation_delay`]: crate::Config#structfield.continuation_delay

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

use serde::Deserialize;

use crate::config::Operation;
use crate::error::ApiError;
use crate::http::parse_json;
use crate::records::{ExecutionDetails, FailureDetails, JobResult, JOB_EVENT_KEY};
use crate::state::{JobEvent, Shared};
use crate::wire::{clip, format_timestamp};

/// `X-Amz-Target` prefix of every CodePipeline operation.
pub const TARGET_PREFIX: &str = "CodePipeline_20150709.";

/// The allowed values of `failureDetails.type`.
pub const FAILURE_TYPES: [&str; 6] = [
    "JobFailed",
    "ConfigurationError",
    "PermissionError",
    "RevisionOutOfSync",
    "RevisionUnavailable",
    "SystemUnavailable",
];

const JOB_ID_PATTERN: &str = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const OUTPUT_KEY_PATTERN: &str = "[A-Za-z0-9@\\-_]+";

// Wire forms: every member optional, so that a missing required member is
// reported as the service reports it (a ValidationException) rather than as
// a parse error.

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SuccessInput {
    job_id: Option<String>,
    continuation_token: Option<String>,
    execution_details: Option<WireDetails>,
    output_variables: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireDetails {
    summary: Option<String>,
    external_execution_id: Option<String>,
    percent_complete: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FailureInput {
    job_id: Option<String>,
    failure_details: Option<WireFailure>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireFailure {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<String>,
    external_execution_id: Option<String>,
}

/// Maps an `X-Amz-Target` value to the emulated operation.
pub(crate) fn operation_for_target(target: &str) -> Result<Operation, ApiError> {
    match target.strip_prefix(TARGET_PREFIX) {
        Some("PutJobSuccessResult") => Ok(Operation::PutJobSuccessResult),
        Some("PutJobFailureResult") => Ok(Operation::PutJobFailureResult),
        _ => Err(ApiError::new(
            400,
            "UnknownOperationException",
            format!("The emulator does not implement the operation {target}"),
        )),
    }
}

/// Collects constraint violations in the service's wording, e.g.
/// `Value 'x' at 'jobId' failed to satisfy constraint: Member must ...`.
#[derive(Default)]
struct Violations(Vec<String>);

impl Violations {
    fn push(&mut self, value: Option<&str>, at: &str, constraint: impl AsRef<str>) {
        let value = match value {
            Some(v) => format!("'{}'", clip(v, 100)),
            None => "null".to_string(),
        };
        self.0.push(format!(
            "Value {value} at '{at}' failed to satisfy constraint: {}",
            constraint.as_ref()
        ));
    }

    fn required(&mut self, value: Option<&str>, at: &str) -> bool {
        if value.is_none() {
            self.push(None, at, "Member must not be null");
        }
        value.is_some()
    }

    fn length(&mut self, value: Option<&str>, at: &str, min: usize, max: usize) {
        let Some(v) = value else { return };
        // Smithy lengths count characters (code points), not bytes.
        let n = v.chars().count();
        if n < min {
            self.push(
                value,
                at,
                format!("Member must have length greater than or equal to {min}"),
            );
        } else if n > max {
            self.push(
                value,
                at,
                format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    fn into_result(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let n = self.0.len();
        Err(validation(format!(
            "{n} validation error{} detected: {}",
            if n == 1 { "" } else { "s" },
            self.0.join("; ")
        )))
    }
}

fn validation(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "ValidationException", message)
}

/// Full match of the (unanchored, in the model) job id pattern.
fn is_job_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        })
}

fn is_output_key(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '@' | '-' | '_'))
}

fn check_job_id(v: &mut Violations, job_id: Option<&str>) {
    if v.required(job_id, "jobId") {
        if let Some(id) = job_id.filter(|id| !is_job_id(id)) {
            v.push(
                Some(id),
                "jobId",
                format!("Member must satisfy regular expression pattern: {JOB_ID_PATTERN}"),
            );
        }
    }
}

/// Runs one CodePipeline call. Nothing is recorded unless it succeeds. A
/// success with a continuation token for a job whose event is known schedules
/// the job's continuation.
pub(crate) fn handle(shared: &Arc<Shared>, op: Operation, body: &[u8]) -> Result<(), ApiError> {
    let result = match op {
        Operation::PutJobSuccessResult => success_result(parse_json(body)?)?,
        Operation::PutJobFailureResult => failure_result(parse_json(body)?)?,
        _ => unreachable!("not a CodePipeline operation: {op}"),
    };
    if let Some((job_id, token, event)) = record(shared, result)? {
        schedule_continuation(shared, job_id, token, event);
    }
    Ok(())
}

/// The event of the job that continues `event`: the same, with a new job id
/// and `data.continuationToken` set.
fn continued_event(mut event: Value, new_job_id: &str, token: &str) -> Value {
    if let Some(job) = event.get_mut(JOB_EVENT_KEY).and_then(Value::as_object_mut) {
        job.insert("id".into(), Value::String(new_job_id.to_string()));
        let data = job
            .entry("data")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if !data.is_object() {
            *data = Value::Object(serde_json::Map::new());
        }
        if let Some(data) = data.as_object_mut() {
            data.insert("continuationToken".into(), Value::String(token.to_string()));
        }
    }
    event
}

/// After the configured delay on the emulator's clock, creates the job that
/// continues `job_id` and invokes its function with it.
fn schedule_continuation(shared: &Arc<Shared>, job_id: String, token: String, from: JobEvent) {
    let clock = shared.clock.clone();
    let shared = shared.clone();
    // Due from the result's arrival, not from when the task first runs.
    let due = shared.now() + shared.config.continuation_delay;
    clock.spawn(|mut work| async move {
        if !work.sleep_until(due).await {
            return;
        }
        let function = from.function_name.clone();
        let (new_job_id, payload) = {
            let now = shared.now();
            let mut inner = shared.lock();
            let new_job_id = inner.new_job_id();
            let event = continued_event(from.event, &new_job_id, &token);
            let payload = serde_json::to_vec(&event).unwrap_or_default();
            let remembered = JobEvent {
                function_name: function.clone(),
                event,
            };
            inner.remember_job(
                &new_job_id,
                remembered,
                Some(job_id.clone()),
                Some(token),
                now,
            );
            (new_job_id, payload)
        };
        tracing::info!(%job_id, %new_job_id, %function, "continuing the job with a new one");
        crate::lambda::invoke_event(shared, work, function, Bytes::from(payload)).await;
    });
}

/// A validated result, not yet numbered.
struct Pending {
    job_id: String,
    operation: Operation,
    continuation_token: Option<String>,
    execution_details: Option<ExecutionDetails>,
    output_variables: Option<BTreeMap<String, String>>,
    failure_details: Option<FailureDetails>,
}

fn success_result(input: SuccessInput) -> Result<Pending, ApiError> {
    let mut v = Violations::default();
    check_job_id(&mut v, input.job_id.as_deref());
    v.length(
        input.continuation_token.as_deref(),
        "continuationToken",
        1,
        2048,
    );
    if let Some(d) = &input.execution_details {
        v.length(d.summary.as_deref(), "executionDetails.summary", 1, 2048);
        v.length(
            d.external_execution_id.as_deref(),
            "executionDetails.externalExecutionId",
            1,
            1500,
        );
        if let Some(p) = d.percent_complete {
            let text = p.to_string();
            if p < 0 {
                v.push(
                    Some(&text),
                    "executionDetails.percentComplete",
                    "Member must have value greater than or equal to 0",
                );
            } else if p > 100 {
                v.push(
                    Some(&text),
                    "executionDetails.percentComplete",
                    "Member must have value less than or equal to 100",
                );
            }
        }
    }
    if let Some(vars) = &input.output_variables {
        if let Some(bad) = vars.keys().find(|k| !is_output_key(k)) {
            v.push(
                Some(bad),
                "outputVariables",
                format!("Map keys must satisfy constraint: [Member must satisfy regular expression pattern: {OUTPUT_KEY_PATTERN}]"),
            );
        }
    }
    v.into_result()?;
    // Documented on the model: "outputVariables can be included only when
    // there is no continuation token on the request."
    if input.output_variables.is_some() && input.continuation_token.is_some() {
        return Err(validation(
            "outputVariables can be included only when there is no continuation token on the request.",
        ));
    }

    Ok(Pending {
        job_id: input.job_id.unwrap_or_default(),
        operation: Operation::PutJobSuccessResult,
        continuation_token: input.continuation_token,
        execution_details: input.execution_details.map(|d| ExecutionDetails {
            summary: d.summary,
            external_execution_id: d.external_execution_id,
            // Checked to be within 0..=100 above.
            percent_complete: d.percent_complete.map(|p| p as i32),
        }),
        output_variables: input.output_variables,
        failure_details: None,
    })
}

fn failure_result(input: FailureInput) -> Result<Pending, ApiError> {
    let mut v = Violations::default();
    check_job_id(&mut v, input.job_id.as_deref());
    if v.required(input.failure_details.as_ref().map(|_| ""), "failureDetails") {
        let f = input.failure_details.as_ref().expect("checked above");
        if v.required(f.kind.as_deref(), "failureDetails.type") {
            if let Some(kind) = f.kind.as_deref().filter(|k| !FAILURE_TYPES.contains(k)) {
                v.push(
                    Some(kind),
                    "failureDetails.type",
                    format!(
                        "Member must satisfy enum value set: [{}]",
                        FAILURE_TYPES.join(", ")
                    ),
                );
            }
        }
        if v.required(f.message.as_deref(), "failureDetails.message") {
            v.length(f.message.as_deref(), "failureDetails.message", 1, 5000);
        }
        v.length(
            f.external_execution_id.as_deref(),
            "failureDetails.externalExecutionId",
            1,
            1500,
        );
    }
    v.into_result()?;
    let f = input.failure_details.expect("validated above");
    Ok(Pending {
        job_id: input.job_id.unwrap_or_default(),
        operation: Operation::PutJobFailureResult,
        continuation_token: None,
        execution_details: None,
        output_variables: None,
        failure_details: Some(FailureDetails {
            kind: f.kind.unwrap_or_default(),
            message: f.message.unwrap_or_default(),
            external_execution_id: f.external_execution_id,
        }),
    })
}

/// Records a result; for a success with a continuation token whose job event
/// is known, answers the job id, the token and the event to continue.
fn record(shared: &Shared, p: Pending) -> Result<Option<(String, String, JobEvent)>, ApiError> {
    let now = shared.now();
    let mut inner = shared.lock();
    if let Some(seq) = inner.finished_jobs.get(&p.job_id) {
        return Err(ApiError::new(
            400,
            "InvalidJobStateException",
            format!(
                "The job {} already has a final result (result #{seq}); it cannot accept another.",
                p.job_id
            ),
        ));
    }
    let sequence = inner.next_sequence();
    let result = JobResult {
        sequence,
        job_id: p.job_id,
        operation: p.operation,
        recorded_at: format_timestamp(now),
        continuation_token: p.continuation_token,
        execution_details: p.execution_details,
        output_variables: p.output_variables,
        failure_details: p.failure_details,
    };
    let continuation = match &result.continuation_token {
        Some(token) if !result.is_terminal() => inner
            .job_event(&result.job_id)
            .map(|event| (result.job_id.clone(), token.clone(), event)),
        _ => None,
    };
    if result.is_terminal() {
        inner.finished_jobs.insert(result.job_id.clone(), sequence);
        inner.forget_job_event(&result.job_id);
    }
    tracing::info!(
        job_id = %result.job_id,
        operation = %result.operation,
        sequence,
        terminal = result.is_terminal(),
        continues = continuation.is_some(),
        "recorded job result"
    );
    inner.job_results.push(result);
    Ok(continuation)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOB: &str = "11111111-2222-3333-4444-555555555555";

    #[test]
    fn job_id_pattern_is_a_full_match() {
        assert!(is_job_id(JOB));
        assert!(!is_job_id("11111111-2222-3333-4444-55555555555A"));
        assert!(!is_job_id(&format!("x{JOB}")));
        assert!(!is_job_id("job-1"));
    }

    #[test]
    fn continued_events_get_the_new_id_and_the_token() {
        let event = serde_json::json!({
            "CodePipeline.job": {
                "id": JOB,
                "accountId": "123456789012",
                "data": {
                    "actionConfiguration": {"configuration": {"UserParameters": "{}"}},
                    "artifactCredentials": {"secretAccessKey": "s"}
                }
            }
        });
        let next = continued_event(event.clone(), "new-id", "tok");
        assert_eq!(next["CodePipeline.job"]["id"], "new-id");
        assert_eq!(next["CodePipeline.job"]["data"]["continuationToken"], "tok");
        assert_eq!(next["CodePipeline.job"]["accountId"], "123456789012");
        assert_eq!(
            next["CodePipeline.job"]["data"]["actionConfiguration"],
            event["CodePipeline.job"]["data"]["actionConfiguration"]
        );
        let bare = continued_event(
            serde_json::json!({"CodePipeline.job": {"id": JOB}}),
            "n",
            "t",
        );
        assert_eq!(bare["CodePipeline.job"]["data"]["continuationToken"], "t");
    }

    #[test]
    fn output_keys() {
        assert!(is_output_key("a-B_9@"));
        assert!(!is_output_key("a b"));
        assert!(!is_output_key(""));
    }

    #[test]
    fn reports_every_violation() {
        let input: FailureInput = serde_json::from_str(
            r#"{"jobId":"nope","failureDetails":{"type":"Oops","message":""}}"#,
        )
        .unwrap();
        let err = failure_result(input).err().unwrap();
        assert_eq!(err.code, "ValidationException");
        assert!(
            err.message.starts_with("3 validation errors detected"),
            "{}",
            err.message
        );
    }

    #[test]
    fn missing_members_are_null() {
        let input: FailureInput = serde_json::from_str("{}").unwrap();
        let err = failure_result(input).err().unwrap();
        assert!(
            err.message.contains("Value null at 'jobId'"),
            "{}",
            err.message
        );
        assert!(
            err.message.contains("Value null at 'failureDetails'"),
            "{}",
            err.message
        );
    }
}
