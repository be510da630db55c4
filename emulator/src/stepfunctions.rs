//! Step Functions' execution operations (JSON 1.0): `StartExecution` and
//! `DescribeExecution`, validated as the service model and documentation
//! describe them, with the idempotency Step Functions documents for STANDARD
//! state machines.
//!
//! The emulator runs no state machine. A new execution stays `RUNNING` until
//! whoever embeds the emulator takes it from
//! [`crate::EmulatorHandle::next_started_execution`], runs it, and ends it with
//! [`crate::EmulatorHandle::finish_execution`].

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::config::Operation;
use crate::error::ApiError;
use crate::http::parse_json;
use crate::records::{ExecutionOutcome, StartedExecution};
use crate::state::{Shared, StoredExecution};
use crate::wire::clip;

/// `X-Amz-Target` prefix of every Step Functions operation.
pub const TARGET_PREFIX: &str = "AWSStepFunctions.";
/// Largest execution input, in UTF-8 bytes (the model's `SensitiveData`).
pub const MAX_EXECUTION_INPUT: usize = 262_144;
/// Longest execution name, in characters (the model's `Name`).
pub const MAX_EXECUTION_NAME: usize = 80;
/// Longest ARN the model accepts (`Arn`).
const MAX_ARN: usize = 256;

/// `status` of an execution nobody has finished yet.
pub const RUNNING: &str = "RUNNING";
/// `status` after [`ExecutionOutcome::Succeeded`].
pub const SUCCEEDED: &str = "SUCCEEDED";
/// `status` after [`ExecutionOutcome::Failed`].
pub const FAILED: &str = "FAILED";

/// A parsed state machine ARN:
/// `arn:<partition>:states:<region>:<account>:stateMachine:<name>[:<qualifier>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StateMachineArn {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub name: String,
    /// A version number or alias name, if the ARN is qualified.
    pub qualifier: Option<String>,
}

impl StateMachineArn {
    pub(crate) fn parse(arn: &str) -> Option<StateMachineArn> {
        let parts: Vec<&str> = arn.split(':').collect();
        if !(7..=8).contains(&parts.len()) || parts[5] != "stateMachine" {
            return None;
        }
        let (partition, region, account) = arn_prefix(&parts)?;
        let name = parts[6];
        if !is_valid_name(name) {
            return None;
        }
        let qualifier = match parts.get(7) {
            Some(q) if q.is_empty() || !is_valid_name(q) => return None,
            Some(q) => Some(q.to_string()),
            None => None,
        };
        Some(StateMachineArn {
            partition,
            region,
            account,
            name: name.to_string(),
            qualifier,
        })
    }

    /// The ARN of this state machine's execution `name`.
    pub(crate) fn execution_arn(&self, name: &str) -> String {
        format!(
            "arn:{}:states:{}:{}:execution:{}:{name}",
            self.partition, self.region, self.account, self.name
        )
    }
}

/// `arn`, a partition, `states`, a region and a 12-digit account, common to
/// every Step Functions ARN.
fn arn_prefix(parts: &[&str]) -> Option<(String, String, String)> {
    let partition = parts[1];
    let region = parts[3];
    let account = parts[4];
    let ok = parts[0] == "arn"
        && partition.starts_with("aws")
        && parts[2] == "states"
        && !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| {
        (
            partition.to_string(),
            region.to_string(),
            account.to_string(),
        )
    })
}

/// Whether `arn` has the shape of an execution ARN
/// (`arn:<partition>:states:<region>:<account>:execution:<state machine>:<name>`).
fn is_execution_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    parts.len() == 8
        && parts[5] == "execution"
        && arn_prefix(&parts).is_some()
        && is_valid_name(parts[6])
        && is_valid_name(parts[7])
}

/// The documented rules for a name: 1 to 80 characters, none of them white
/// space, `< > { } [ ]`, `? *`, `" # % \ ^ | ~ ` $ & , ; : /`, or a control
/// character (U+0000–001F, U+007F–009F, U+FFFE–FFFF).
pub(crate) fn is_valid_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=MAX_EXECUTION_NAME).contains(&n)
        && !name.chars().any(|c| {
            let code = c as u32;
            c.is_whitespace()
                || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)
                || code <= 0x1f
                || (0x7f..=0x9f).contains(&code)
                || code == 0xfffe
                || code == 0xffff
        })
}

/// Maps an `X-Amz-Target` value to the emulated operation.
pub(crate) fn operation_for_target(target: &str) -> Result<Operation, ApiError> {
    match target.strip_prefix(TARGET_PREFIX) {
        Some("StartExecution") => Ok(Operation::StartExecution),
        Some("DescribeExecution") => Ok(Operation::DescribeExecution),
        _ => Err(ApiError::new(
            400,
            "UnknownOperationException",
            format!("The emulator does not implement the operation {target}"),
        )),
    }
}

/// The `DescribeExecution` answer for `execution`.
fn describe(execution: &StoredExecution) -> Value {
    let mut out = Map::new();
    out.insert("executionArn".into(), json!(execution.execution_arn));
    out.insert("stateMachineArn".into(), json!(execution.state_machine_arn));
    out.insert("name".into(), json!(execution.name));
    out.insert("status".into(), json!(execution.status));
    out.insert(
        "startDate".into(),
        json!(epoch_seconds(execution.start_date)),
    );
    if let Some(stop) = execution.stop_date {
        out.insert("stopDate".into(), json!(epoch_seconds(stop)));
    }
    out.insert("input".into(), json!(execution.input));
    out.insert("inputDetails".into(), json!({ "included": true }));
    if let Some(output) = &execution.output {
        out.insert("output".into(), json!(output));
        out.insert("outputDetails".into(), json!({ "included": true }));
    }
    if let Some(error) = &execution.error {
        out.insert("error".into(), json!(error));
    }
    if let Some(cause) = &execution.cause {
        out.insert("cause".into(), json!(cause));
    }
    Value::Object(out)
}

/// A timestamp as the JSON protocols send it: epoch seconds, with milliseconds.
fn epoch_seconds(t: SystemTime) -> f64 {
    let millis = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
    millis as f64 / 1000.0
}

// Wire forms: every member optional, so that a missing required member is
// reported as the service reports it rather than as a parse error.

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartInput {
    state_machine_arn: Option<String>,
    name: Option<String>,
    input: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeInput {
    execution_arn: Option<String>,
}

fn validation(value: Option<&str>, at: &str, constraint: &str) -> ApiError {
    let value = match value {
        Some(v) => format!("'{}'", clip(v, 100)),
        None => "null".to_string(),
    };
    ApiError::new(
        400,
        "ValidationException",
        format!("1 validation error detected: Value {value} at '{at}' failed to satisfy constraint: {constraint}"),
    )
}

/// A required ARN member: present and within the model's length.
fn required_arn<'a>(value: Option<&'a str>, at: &str) -> Result<&'a str, ApiError> {
    let arn = value.ok_or_else(|| validation(None, at, "Member must not be null"))?;
    let n = arn.chars().count();
    if n < 1 {
        return Err(validation(
            Some(arn),
            at,
            "Member must have length greater than or equal to 1",
        ));
    }
    if n > MAX_ARN {
        return Err(validation(
            Some(arn),
            at,
            &format!("Member must have length less than or equal to {MAX_ARN}"),
        ));
    }
    Ok(arn)
}

fn invalid_arn(arn: &str) -> ApiError {
    ApiError::new(
        400,
        "InvalidArn",
        format!("Invalid Arn: '{}'", clip(arn, 300)),
    )
}

/// Runs one Step Functions call; answers the JSON document to send back.
pub(crate) fn handle(shared: &Shared, op: Operation, body: &[u8]) -> Result<Value, ApiError> {
    match op {
        Operation::StartExecution => start_execution(shared, parse_json(body)?),
        Operation::DescribeExecution => describe_execution(shared, parse_json(body)?),
        _ => unreachable!("not a Step Functions operation: {op}"),
    }
}

fn start_execution(shared: &Shared, input: StartInput) -> Result<Value, ApiError> {
    let arn = required_arn(input.state_machine_arn.as_deref(), "stateMachineArn")?;
    let state_machine = StateMachineArn::parse(arn).ok_or_else(|| invalid_arn(arn))?;
    if let Some(name) = input.name.as_deref() {
        if !is_valid_name(name) {
            return Err(ApiError::new(
                400,
                "InvalidName",
                format!("Invalid Name: '{}'", clip(name, 100)),
            ));
        }
    }
    let execution_input = input.input.unwrap_or_else(|| "{}".to_string());
    if execution_input.len() > MAX_EXECUTION_INPUT {
        return Err(ApiError::new(
            400,
            "InvalidExecutionInput",
            format!(
                "Invalid State Machine Execution Input: 'The input is {} bytes; at most {MAX_EXECUTION_INPUT} are accepted'",
                execution_input.len()
            ),
        ));
    }
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&execution_input) {
        return Err(ApiError::new(
            400,
            "InvalidExecutionInput",
            format!("Invalid State Machine Execution Input: '{e}'"),
        ));
    }
    if !shared.config.state_machines.contains(arn) {
        return Err(ApiError::new(
            400,
            "StateMachineDoesNotExist",
            format!("State Machine Does Not Exist: '{arn}'"),
        ));
    }

    let mut inner = shared.lock();
    let name = match input.name {
        Some(name) => name,
        None => inner.new_execution_name(),
    };
    let execution_arn = state_machine.execution_arn(&name);
    if let Some(&index) = inner.execution_index.get(&execution_arn) {
        let existing = &mut inner.executions[index];
        existing.start_calls += 1;
        // Idempotent for STANDARD: the same name and input as a running
        // execution answer as the first call did.
        if existing.status == RUNNING && existing.input == execution_input {
            tracing::info!(%execution_arn, start_calls = existing.start_calls, "StartExecution repeated for a running execution");
            return Ok(json!({
                "executionArn": existing.execution_arn,
                "startDate": epoch_seconds(existing.start_date),
            }));
        }
        return Err(ApiError::new(
            400,
            "ExecutionAlreadyExists",
            format!("Execution Already Exists: '{execution_arn}'"),
        ));
    }

    let start_date = shared.now();
    let stored = StoredExecution {
        execution_arn: execution_arn.clone(),
        state_machine_arn: arn.to_string(),
        name: name.clone(),
        input: execution_input.clone(),
        status: RUNNING,
        start_date,
        stop_date: None,
        output: None,
        error: None,
        cause: None,
        start_calls: 1,
    };
    let index = inner.executions.len();
    inner.executions.push(stored);
    inner.execution_index.insert(execution_arn.clone(), index);
    shared.announce_started(StartedExecution {
        execution_arn: execution_arn.clone(),
        state_machine_arn: arn.to_string(),
        name,
        input: execution_input,
        start_date,
    });
    drop(inner);
    tracing::info!(%execution_arn, "execution started");
    Ok(json!({
        "executionArn": execution_arn,
        "startDate": epoch_seconds(start_date),
    }))
}

fn describe_execution(shared: &Shared, input: DescribeInput) -> Result<Value, ApiError> {
    let arn = required_arn(input.execution_arn.as_deref(), "executionArn")?;
    if !is_execution_arn(arn) {
        return Err(invalid_arn(arn));
    }
    let inner = shared.lock();
    inner
        .execution_index
        .get(arn)
        .map(|&index| describe(&inner.executions[index]))
        .ok_or_else(|| {
            ApiError::new(
                400,
                "ExecutionDoesNotExist",
                format!("Execution Does Not Exist: '{arn}'"),
            )
        })
}

/// Ends a running execution; an unknown or already finished one is left as it
/// is (and logged).
pub(crate) fn finish(shared: &Shared, execution_arn: &str, outcome: ExecutionOutcome) {
    let mut inner = shared.lock();
    let Some(&index) = inner.execution_index.get(execution_arn) else {
        tracing::warn!(%execution_arn, "finish_execution: no such execution");
        return;
    };
    let execution = &mut inner.executions[index];
    if execution.status != RUNNING {
        tracing::warn!(%execution_arn, status = execution.status, "finish_execution: the execution has already ended");
        return;
    }
    execution.stop_date = Some(shared.now());
    match outcome {
        ExecutionOutcome::Succeeded { output } => {
            execution.status = SUCCEEDED;
            execution.output = Some(output);
        }
        ExecutionOutcome::Failed { error, cause } => {
            execution.status = FAILED;
            execution.error = Some(error);
            execution.cause = Some(cause);
        }
    }
    tracing::info!(%execution_arn, status = execution.status, "execution finished");
}

#[cfg(test)]
mod tests {
    use super::*;

    const SM: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:Flow";

    #[test]
    fn parses_state_machine_arns() {
        let sm = StateMachineArn::parse(SM).unwrap();
        assert_eq!(sm.name, "Flow");
        assert_eq!(sm.qualifier, None);
        assert_eq!(
            sm.execution_arn("run-1"),
            "arn:aws:states:us-east-1:123456789012:execution:Flow:run-1"
        );
        let qualified = StateMachineArn::parse(&format!("{SM}:PROD")).unwrap();
        assert_eq!(qualified.qualifier.as_deref(), Some("PROD"));
        assert!(
            StateMachineArn::parse("arn:aws-cn:states:cn-north-1:123456789012:stateMachine:F")
                .is_some()
        );
        for bad in [
            "",
            "Flow",
            "arn:aws:states:us-east-1:123456789012:stateMachine:",
            "arn:aws:states:us-east-1:1234:stateMachine:Flow",
            "arn:aws:states::123456789012:stateMachine:Flow",
            "arn:aws:lambda:us-east-1:123456789012:stateMachine:Flow",
            "arn:aws:states:us-east-1:123456789012:activity:Flow",
            "arn:aws:states:us-east-1:123456789012:stateMachine:Flow:1:2",
            "arn:aws:states:us-east-1:123456789012:stateMachine:Flow:",
        ] {
            assert!(StateMachineArn::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn recognises_execution_arns() {
        assert!(is_execution_arn(
            "arn:aws:states:us-east-1:123456789012:execution:Flow:run-1"
        ));
        assert!(!is_execution_arn(SM));
        assert!(!is_execution_arn(
            "arn:aws:states:us-east-1:123456789012:execution:Flow"
        ));
    }

    #[test]
    fn names_follow_the_documented_rules() {
        assert!(is_valid_name("job-0f3e8d7a-1b2c-4d5e-8f90-a1b2c3d4e5f6"));
        assert!(is_valid_name(&"x".repeat(80)));
        assert!(is_valid_name("ünïcode.ok_-(x)"));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name(&"x".repeat(81)));
        for c in [
            ' ', '\t', '\u{a0}', '<', '>', '{', '}', '[', ']', '?', '*', '"', '#', '%', '\\', '^',
            '|', '~', '`', '$', '&', ',', ';', ':', '/', '\u{0}', '\u{1f}', '\u{7f}', '\u{9f}',
            '\u{fffe}', '\u{ffff}',
        ] {
            assert!(!is_valid_name(&format!("a{c}b")), "{c:?}");
        }
    }
}
