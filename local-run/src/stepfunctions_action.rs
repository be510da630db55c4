//! CodePipeline's StepFunctions invoke action, played locally: what the action sends to Step
//! Functions and how it watches the execution, as the CodePipeline user guide's action reference
//! describes it.
//!
//! - The input is `Input` itself (`InputType: Literal`, at most 1000 characters like any action
//!   configuration value, `{}` when empty) or a file of the action's one input artifact, read
//!   after unzipping it (`InputType: FilePath`).
//! - The execution is named `<ExecutionNamePrefix>-<action execution id>`, or the action
//!   execution id alone without a prefix.
//! - The action polls DescribeExecution until the execution ends: SUCCEEDED succeeds the
//!   action; FAILED, TIMED_OUT and ABORTED fail it with the execution's error and cause.
//! - It exposes the output variables `StateMachineArn` and `ExecutionArn`, and, with an output
//!   artifact, the execution's output.

use std::io::Read;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::Value;

use crate::deployment::LOCAL_STATE_MACHINE_ARN;
use crate::{Environment, Execution, RunError};

/// CodePipeline's longest action configuration value, `Input` included.
pub const MAX_CONFIGURATION_VALUE_CHARS: usize = 1000;

/// Where the action's input comes from (`InputType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionInput {
    /// `InputType: Literal`: `Input` is the execution input.
    Literal(String),
    /// `InputType: FilePath`: `Input` names a file in the input artifact, here a zip.
    FilePath {
        /// The path inside the artifact.
        path: String,
        /// The artifact as CodePipeline stores it.
        artifact_zip: Vec<u8>,
    },
}

/// The action's configuration, as in the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepFunctionsAction {
    /// `Input` and `InputType`.
    pub input: ActionInput,
    /// `ExecutionNamePrefix`, if set.
    pub execution_name_prefix: Option<String>,
}

/// How the action ended, as the pipeline shows it.
#[derive(Debug, Clone)]
pub struct ActionResult {
    /// `Succeeded` or `Failed`.
    pub status: &'static str,
    /// The execution's status as DescribeExecution reports it.
    pub execution_status: String,
    /// The execution's error and cause, for a failed action.
    pub error: Option<(String, String)>,
    /// The output variables: `StateMachineArn`, `ExecutionArn`.
    pub variables: Vec<(&'static str, String)>,
    /// The execution output, what an output artifact would hold.
    pub output: Option<String>,
    /// The execution as the interpreter ran it.
    pub execution: Execution,
}

impl StepFunctionsAction {
    /// The execution input the action sends, or why CodePipeline would not run the action.
    pub fn execution_input(&self) -> Result<String, RunError> {
        match &self.input {
            ActionInput::Literal(text) if text.chars().count() > MAX_CONFIGURATION_VALUE_CHARS => {
                Err(RunError::Setup(format!(
                    "the action's Input is {} characters, more than CodePipeline's \
                     {MAX_CONFIGURATION_VALUE_CHARS}: use InputType FilePath",
                    text.chars().count()
                )))
            }
            ActionInput::Literal(text) if text.trim().is_empty() => Ok("{}".to_owned()),
            ActionInput::Literal(text) => Ok(text.clone()),
            ActionInput::FilePath { path, artifact_zip } => {
                let mut archive = zip::ZipArchive::new(std::io::Cursor::new(artifact_zip))
                    .map_err(|e| RunError::Setup(format!("the input artifact: {e}")))?;
                let mut file = archive.by_name(path).map_err(|e| {
                    RunError::Setup(format!("Input `{path}` in the input artifact: {e}"))
                })?;
                let mut text = String::new();
                file.read_to_string(&mut text)
                    .map_err(|e| RunError::Setup(format!("Input `{path}`: {e}")))?;
                Ok(text)
            }
        }
    }

    /// The execution name for an action execution id.
    pub fn execution_name(&self, action_execution_id: &str) -> String {
        match &self.execution_name_prefix {
            Some(prefix) => format!("{prefix}-{action_execution_id}"),
            None => action_execution_id.to_owned(),
        }
    }
}

impl Environment {
    /// Plays the StepFunctions invoke action: starts the execution through the emulator's Step
    /// Functions, runs it, and reads how it ended with DescribeExecution, as the action does.
    pub async fn run_stepfunctions_action(
        &self,
        action: &StepFunctionsAction,
        mut on_event: impl FnMut(&str, &Value),
    ) -> Result<ActionResult, RunError> {
        let input = action.execution_input()?;
        let name = action.execution_name(&action_execution_id());
        let client = self.step_functions_client();
        let failed =
            |call: &str, e: &dyn std::fmt::Display| RunError::Setup(format!("{call}: {}", e));
        let started = client
            .start_execution()
            .state_machine_arn(LOCAL_STATE_MACHINE_ARN)
            .name(&name)
            .input(&input)
            .send()
            .await
            .map_err(|e| {
                failed(
                    "StartExecution",
                    &aws_sdk_sfn::error::DisplayErrorContext(e),
                )
            })?;
        let execution_arn = started.execution_arn;
        let recorded = self
            .emulator
            .next_started_execution(Duration::from_secs(5))
            .await
            .ok_or_else(|| RunError::Setup("StartExecution recorded no execution".into()))?;
        let execution = self.run_started(&recorded, &mut on_event).await?;
        let described = client
            .describe_execution()
            .execution_arn(&execution_arn)
            .send()
            .await
            .map_err(|e| {
                failed(
                    "DescribeExecution",
                    &aws_sdk_sfn::error::DisplayErrorContext(e),
                )
            })?;
        let succeeded = described.status == ExecutionStatus::Succeeded;
        Ok(ActionResult {
            status: if succeeded { "Succeeded" } else { "Failed" },
            execution_status: described.status.as_str().to_owned(),
            error: (!succeeded).then(|| {
                (
                    described.error.clone().unwrap_or_default(),
                    described.cause.clone().unwrap_or_default(),
                )
            }),
            variables: vec![
                ("StateMachineArn", described.state_machine_arn),
                ("ExecutionArn", described.execution_arn),
            ],
            output: described.output,
            execution,
        })
    }

    fn step_functions_client(&self) -> aws_sdk_sfn::Client {
        let config = aws_sdk_sfn::Config::builder()
            .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
            .endpoint_url(self.endpoint_url())
            .region(aws_sdk_sfn::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sfn::config::Credentials::new(
                "local",
                "local",
                None,
                None,
                "local-run",
            ))
            .http_client(invalidation::sdk::http_client())
            .build();
        aws_sdk_sfn::Client::from_conf(config)
    }
}

/// An action execution id: a version-4-shaped UUID, as CodePipeline's, drawn from the clock.
fn action_execution_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    // splitmix64: spreads the clock's bits over both halves.
    let mix = |mut x: u64| {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^ (x >> 31)
    };
    let (high, low) = (mix(nanos), mix(nanos ^ 0xA5A5_A5A5_A5A5_A5A5));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xfff,
        0x8000 | (low >> 48) & 0x3fff,
        low & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::zip_files;

    #[test]
    fn the_input_is_the_literal_or_the_file_of_the_artifact() {
        let literal = |text: &str| StepFunctionsAction {
            input: ActionInput::Literal(text.to_owned()),
            execution_name_prefix: Some("invalidate".into()),
        };
        assert_eq!(literal("").execution_input().unwrap(), "{}");
        assert_eq!(literal("{\"a\":1}").execution_input().unwrap(), "{\"a\":1}");
        let long = format!("{{\"paths\":[\"{}\"]}}", "x".repeat(1000));
        let refused = literal(&long).execution_input().unwrap_err().to_string();
        assert!(
            refused.contains("more than CodePipeline's 1000"),
            "{refused}"
        );

        let from_file = StepFunctionsAction {
            input: ActionInput::FilePath {
                path: "out/invalidation.json".into(),
                artifact_zip: zip_files(&[("out/invalidation.json", b"{\"b\":2}")]),
            },
            execution_name_prefix: None,
        };
        assert_eq!(from_file.execution_input().unwrap(), "{\"b\":2}");
        assert_eq!(from_file.execution_name("id-1"), "id-1");
        assert_eq!(literal("").execution_name("id-1"), "invalidate-id-1");
    }
}
