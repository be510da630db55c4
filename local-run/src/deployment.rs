//! What template.yaml deploys, read from template.yaml itself: the state machine file and which
//! function binary each `${…}` placeholder of its DefinitionSubstitutions stands for. The local
//! run keeps no second copy of this wiring.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

use crate::RunError;

/// The logical id of the state machine in template.yaml.
const STATE_MACHINE: &str = "InvalidationStateMachine";
/// Account and region of the ARNs a local run invents for the functions.
const LOCAL_ARN_PREFIX: &str = "arn:aws:lambda:us-east-1:123456789012:function:";
/// The ARN a local run gives the state machine.
pub const LOCAL_STATE_MACHINE_ARN: &str =
    "arn:aws:states:us-east-1:123456789012:stateMachine:InvalidationStateMachine";
/// The name a local run gives the state bucket (the template's `StateBucket`), as
/// `events/sam-local-env.json` does.
pub const LOCAL_STATE_BUCKET: &str = "invalidation-state-local";
/// The stack name a local run gives `AWS::StackName` (as `sam local` does): the Stack
/// dimension of report-result's metric record.
pub const LOCAL_STACK_NAME: &str = "local";

/// How the functions are named where they are invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FunctionNames {
    /// By binary (`start-invalidation`), as `cargo lambda watch` serves them.
    #[default]
    Binaries,
    /// By the template's logical id (`StartInvalidationFunction`), as `sam local start-lambda`
    /// serves them.
    LogicalIds,
}

/// A function's `EventInvokeConfig`, as the template declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventInvoke {
    /// `MaximumRetryAttempts`.
    pub maximum_retry_attempts: u32,
    /// `MaximumEventAgeInSeconds`.
    pub maximum_event_age: std::time::Duration,
    /// The function binary of `DestinationConfig.OnFailure` (`!GetAtt XFunction.Arn`).
    pub on_failure: Option<String>,
}

/// The state machine and the functions it invokes, as template.yaml declares them.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The state machine definition, as in the file (placeholders not yet substituted).
    pub definition_text: String,
    /// The definition file, relative to the repository.
    pub definition_uri: String,
    /// Placeholder name → the function binary it stands for.
    pub functions: BTreeMap<String, String>,
    /// Every function binary of the template → its environment variables, with a `!Ref` to the
    /// state machine replaced by [`LOCAL_STATE_MACHINE_ARN`], one to the state bucket by
    /// [`LOCAL_STATE_BUCKET`] and one to `AWS::StackName` by [`LOCAL_STACK_NAME`].
    pub environments: BTreeMap<String, BTreeMap<String, String>>,
    /// Every function binary of the template → its logical id.
    pub logical_ids: BTreeMap<String, String>,
    /// Function binary → how Lambda runs its asynchronous invocations (`EventInvokeConfig`).
    pub event_invoke: BTreeMap<String, EventInvoke>,
    /// Function binary → its Lambda `Timeout`.
    pub timeouts: BTreeMap<String, std::time::Duration>,
    /// The functions' `MemorySize` (Globals), in MB.
    pub memory_size: Option<i64>,
    /// The default of the `Architecture` parameter.
    pub architecture: Option<String>,
    /// How the definition and the runner name the functions they invoke.
    pub names: FunctionNames,
}

impl Deployment {
    /// Reads template.yaml and the state machine file it names.
    pub fn load(repo_root: &Path) -> Result<Self, RunError> {
        let template_path = repo_root.join("template.yaml");
        let text = read(&template_path)?;
        let template = YamlLoader::load_from_str(&text)
            .map_err(|e| RunError::Setup(format!("template.yaml: {e}")))?
            .into_iter()
            .next()
            .ok_or_else(|| RunError::Setup("template.yaml is empty".into()))?;
        let resources = &template["Resources"];
        let machine = &resources[STATE_MACHINE]["Properties"];
        let definition_uri = machine["DefinitionUri"]
            .as_str()
            .ok_or_else(|| missing(&format!("{STATE_MACHINE}.Properties.DefinitionUri")))?
            .to_owned();
        let substitutions = machine["DefinitionSubstitutions"]
            .as_hash()
            .ok_or_else(|| {
                missing(&format!(
                    "{STATE_MACHINE}.Properties.DefinitionSubstitutions"
                ))
            })?;
        let mut functions = BTreeMap::new();
        for (key, value) in substitutions {
            let key = key.as_str().unwrap_or_default().to_owned();
            functions.insert(key.clone(), function_binary(resources, &key, value)?);
        }
        let mut environments = BTreeMap::new();
        let mut logical_ids = BTreeMap::new();
        let mut event_invoke = BTreeMap::new();
        let mut timeouts = BTreeMap::new();
        for (id, resource) in resources.as_hash().into_iter().flatten() {
            if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
                continue;
            }
            let id = id.as_str().unwrap_or_default();
            let binary = resource["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .ok_or_else(|| missing(&format!("{id}.Metadata.BuildProperties.Binary")))?;
            // SAM merges the Globals' variables with the function's own (the function's win).
            let global = template["Globals"]["Function"]["Environment"]["Variables"].as_hash();
            let own = resource["Properties"]["Environment"]["Variables"].as_hash();
            let variables = global
                .into_iter()
                .flatten()
                .chain(own.into_iter().flatten())
                .map(|(key, value)| (scalar(key), scalar(value)))
                // `!Ref AWS::NoValue` (loaded as the scalar) drops the variable when deployed.
                .filter(|(_, value)| value != "AWS::NoValue")
                .map(|(key, value)| {
                    // `!Ref X` loads as the scalar `X`.
                    let value = match resources[value.as_str()]["Type"].as_str() {
                        Some("AWS::Serverless::StateMachine") => LOCAL_STATE_MACHINE_ARN.to_owned(),
                        Some("AWS::S3::Bucket") => LOCAL_STATE_BUCKET.to_owned(),
                        _ if value == "AWS::StackName" => LOCAL_STACK_NAME.to_owned(),
                        _ => value,
                    };
                    (key, value)
                })
                .collect();
            environments.insert(binary.to_owned(), variables);
            logical_ids.insert(binary.to_owned(), id.to_owned());
            let timeout = resource["Properties"]["Timeout"]
                .as_i64()
                .and_then(|seconds| u64::try_from(seconds).ok())
                .ok_or_else(|| missing(&format!("{id}.Properties.Timeout")))?;
            timeouts.insert(binary.to_owned(), std::time::Duration::from_secs(timeout));
            let config = &resource["Properties"]["EventInvokeConfig"];
            if !config.is_badvalue() {
                let on_failure =
                    match config["DestinationConfig"]["OnFailure"]["Destination"].as_str() {
                        Some(target) => Some(function_binary(
                            resources,
                            "OnFailure",
                            &Yaml::String(target.to_owned()),
                        )?),
                        None => None,
                    };
                event_invoke.insert(
                    binary.to_owned(),
                    EventInvoke {
                        maximum_retry_attempts: config["MaximumRetryAttempts"].as_i64().unwrap_or(2)
                            as u32,
                        maximum_event_age: std::time::Duration::from_secs(
                            config["MaximumEventAgeInSeconds"]
                                .as_i64()
                                .unwrap_or(21_600) as u64,
                        ),
                        on_failure,
                    },
                );
            }
        }
        let definition_text = read(&repo_root.join(&definition_uri))?;
        Ok(Self {
            definition_text,
            definition_uri,
            functions,
            environments,
            logical_ids,
            event_invoke,
            timeouts,
            memory_size: template["Globals"]["Function"]["MemorySize"].as_i64(),
            architecture: template["Parameters"]["Architecture"]["Default"]
                .as_str()
                .map(str::to_owned),
            names: FunctionNames::Binaries,
        })
    }

    /// The ARN of a local run's execution of this name, as Step Functions forms it.
    pub fn execution_arn(name: &str) -> String {
        format!(
            "{}:{name}",
            LOCAL_STATE_MACHINE_ARN.replacen(":stateMachine:", ":execution:", 1)
        )
    }

    /// The name a function binary is invoked by: its binary or its logical id, as the Lambda
    /// endpoint serving the functions knows them (the emulator passes the name on).
    pub fn invoke_name(&self, binary: &str) -> String {
        match self.names {
            FunctionNames::Binaries => binary.to_owned(),
            FunctionNames::LogicalIds => self
                .logical_ids
                .get(binary)
                .cloned()
                .unwrap_or_else(|| binary.to_owned()),
        }
    }

    /// The ARN a local run uses for a function binary (see [`Deployment::invoke_name`]).
    pub fn function_arn(&self, binary: &str) -> String {
        format!("{LOCAL_ARN_PREFIX}{}", self.invoke_name(binary))
    }

    /// The definition with each `${Placeholder}` replaced, as DefinitionSubstitutions does.
    pub fn definition(&self) -> Result<Value, RunError> {
        let text = self
            .functions
            .iter()
            .fold(self.definition_text.clone(), |text, (key, binary)| {
                text.replace(&format!("${{{key}}}"), &self.function_arn(binary))
            });
        if let Some(at) = text.find("${") {
            let rest: String = text[at..].chars().take(40).collect();
            return Err(RunError::Setup(format!(
                "{}: placeholder without a substitution in template.yaml: {rest}",
                self.definition_uri
            )));
        }
        serde_json::from_str(&text)
            .map_err(|e| RunError::Setup(format!("{}: {e}", self.definition_uri)))
    }

    /// Every function binary the template deploys.
    pub fn binaries(&self) -> Vec<String> {
        self.environments.keys().cloned().collect()
    }
}

/// `!GetAtt XFunction.Arn` (loaded as the scalar `XFunction.Arn`) → X's Metadata Binary.
fn function_binary(resources: &Yaml, key: &str, value: &Yaml) -> Result<String, RunError> {
    let target = value.as_str().unwrap_or_default();
    let logical_id = target.strip_suffix(".Arn").ok_or_else(|| {
        RunError::Setup(format!(
            "template.yaml: substitution {key} is `{target}`, expected !GetAtt <Function>.Arn"
        ))
    })?;
    resources[logical_id]["Metadata"]["BuildProperties"]["Binary"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| missing(&format!("{logical_id}.Metadata.BuildProperties.Binary")))
}

fn scalar(value: &Yaml) -> String {
    match value {
        Yaml::String(text) | Yaml::Real(text) => text.clone(),
        Yaml::Integer(number) => number.to_string(),
        Yaml::Boolean(flag) => flag.to_string(),
        _ => String::new(),
    }
}

fn missing(what: &str) -> RunError {
    RunError::Setup(format!("template.yaml has no {what}"))
}

fn read(path: &Path) -> Result<String, RunError> {
    std::fs::read_to_string(path)
        .map_err(|e| RunError::Setup(format!("cannot read {}: {e}", path.display())))
}
