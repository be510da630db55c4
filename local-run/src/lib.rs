//! Runs the whole workflow on this machine, with no AWS account and no Docker.
//!
//! A local run is made of real parts: the state machine file that deploys
//! (`statemachine/*.asl.json`, wired as template.yaml's DefinitionSubstitutions say), executed by
//! an existing ASL interpreter (the npm package aws-local-stepfunctions); the Lambda binaries
//! that deploy, each hosted behind the Lambda runtime API by `cargo lambda watch
//! --only-lambda-apis`; and the AWS emulator (`aws-emulator`), which speaks CloudFront's,
//! CodePipeline's and Lambda's wire protocols. Functions and interpreter find it only through
//! `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_LAMBDA`.
//!
//! # Layout
//! - [`deployment`]: what template.yaml deploys — the definition and the function binaries.
//! - [`hosts`]: starting the processes with a clean, local-only environment.
//! - [`progress`]: interpreter events turned into lines a person can follow, and the final
//!   account of what CodePipeline and CloudFront received.

pub mod deployment;
pub mod hosts;
pub mod progress;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_emulator::{Config, EmulatorHandle, FaultCode, FaultSpec, Operation, Snapshot};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Child;

use crate::deployment::Deployment;
use crate::hosts::{
    free_port, function_binary, local_command, log_to, require, wait_for_port, CARGO_LAMBDA,
    EXECUTE_SCRIPT, NODE,
};

/// Why a local run could not be carried out (a failed execution is not one of these: it is an
/// [`Execution`] with status `FAILED`).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A tool, a binary or a file the run needs is missing or wrong.
    #[error("{0}")]
    Setup(String),
    /// The interpreter process failed outside the execution.
    #[error("the ASL interpreter failed: {0}")]
    Interpreter(String),
}

/// What the emulated AWS account looks like.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The repository (template.yaml, statemachine/, target/, the installed tools).
    pub repo_root: PathBuf,
    /// Distributions that exist.
    pub distributions: Vec<String>,
    /// Distributions that exist but that the functions may not touch (AccessDenied).
    pub denied: Vec<String>,
    /// How long an invalidation stays InProgress.
    pub invalidation_time: Duration,
    /// Share of calls to every CloudFront and CodePipeline operation that fail (throttling, 500
    /// or 503), before they take effect.
    pub fault_rate: f64,
    /// Seed of the fault draws, so that a run can be repeated.
    pub seed: u64,
    /// Where process logs go.
    pub log_dir: PathBuf,
}

impl Settings {
    /// Settings for a repository: no distributions, invalidations of 8 s, no faults.
    pub fn new(repo_root: impl Into<PathBuf>) -> Self {
        let repo_root = repo_root.into();
        Self {
            log_dir: repo_root.join("target").join("local-run"),
            repo_root,
            distributions: Vec::new(),
            denied: Vec::new(),
            invalidation_time: Duration::from_secs(8),
            fault_rate: 0.0,
            seed: 1,
        }
    }

    fn emulator_config(&self, lambda_backend: String) -> Config {
        let mut config = Config::with_distributions(&self.distributions)
            .invalidation_duration(self.invalidation_time)
            .seed(self.seed)
            .lambda_backend(lambda_backend);
        for id in &self.denied {
            config = config.distribution(id.clone()).deny(id.clone());
        }
        if self.fault_rate > 0.0 {
            let spec = FaultSpec {
                error_rate: self.fault_rate,
                codes: vec![
                    FaultCode::Throttling,
                    FaultCode::InternalError,
                    FaultCode::ServiceUnavailable,
                ],
                latency: Duration::ZERO,
            };
            let operations = Operation::parse_list("cloudfront,codepipeline")
                .expect("the emulator knows its service groups");
            for operation in operations {
                config = config.fault(operation, spec.clone());
            }
        }
        config
    }
}

/// How one execution ended, with everything the interpreter reported on the way.
#[derive(Debug, Clone)]
pub struct Execution {
    /// The execution name (`$$.Execution.Name`).
    pub name: String,
    /// `SUCCEEDED` or `FAILED`.
    pub status: String,
    /// The execution output, when it succeeded.
    pub output: Option<Value>,
    /// The error name and cause, when it failed.
    pub error: Option<(String, String)>,
    /// Every interpreter event, in order.
    pub events: Vec<Value>,
    /// Wall time of the execution.
    pub elapsed: Duration,
}

impl Execution {
    /// Whether the execution succeeded.
    pub fn succeeded(&self) -> bool {
        self.status == "SUCCEEDED"
    }

    /// The names of the states entered, in order.
    pub fn states_entered(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter(|event| event["type"] == "StateEntered")
            .filter_map(|event| event["state"]["name"].as_str())
            .collect()
    }
}

/// A running local environment: the emulator, the Lambda runtime API and the functions. Several
/// executions may run in it one after another (the same job twice, say). Everything stops when
/// it is dropped.
pub struct Environment {
    settings: Settings,
    deployment: Deployment,
    emulator: EmulatorHandle,
    _processes: Vec<Child>,
}

impl Environment {
    /// Starts the emulator, cargo-lambda's runtime API and one process per function binary.
    pub async fn start(settings: Settings) -> Result<Self, RunError> {
        let root = settings.repo_root.clone();
        let deployment = Deployment::load(&root)?;
        let cargo_lambda = require(&root, CARGO_LAMBDA)?;
        require(&root, NODE)?;
        let binaries = deployment
            .binaries()
            .iter()
            .map(|binary| Ok((binary.clone(), function_binary(&root, binary)?)))
            .collect::<Result<Vec<_>, RunError>>()?;
        std::fs::create_dir_all(&settings.log_dir)
            .map_err(|e| RunError::Setup(format!("{}: {e}", settings.log_dir.display())))?;

        let runtime_port = free_port()?;
        let runtime_api = format!("http://127.0.0.1:{runtime_port}");
        let emulator = aws_emulator::start(settings.emulator_config(runtime_api.clone()))
            .await
            .map_err(|e| RunError::Setup(format!("emulator: {e}")))?;
        let endpoint = emulator.endpoint_url();

        let mut processes = Vec::new();
        let (stdout, stderr) = log_to(&settings.log_dir.join("cargo-lambda.log"))?;
        let mut runtime = local_command(&cargo_lambda, &endpoint)
            .args(["lambda", "watch", "--only-lambda-apis", "--invoke-address"])
            .arg("127.0.0.1")
            .arg("--invoke-port")
            .arg(runtime_port.to_string())
            .current_dir(&root)
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|e| RunError::Setup(format!("{}: {e}", cargo_lambda.display())))?;
        wait_for_port(runtime_port, &mut runtime, "cargo lambda watch").await?;
        processes.push(runtime);

        for (binary, path) in binaries {
            let (stdout, stderr) = log_to(&settings.log_dir.join(format!("{binary}.log")))?;
            let function = local_command(&path, &endpoint)
                // cargo-lambda routes runtime API calls by the function name in the path.
                .env(
                    "AWS_LAMBDA_RUNTIME_API",
                    format!("{runtime_api}/.rt/{binary}"),
                )
                .env("AWS_LAMBDA_FUNCTION_NAME", &binary)
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{binary}"))
                .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
                .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
                .stdout(stdout)
                .stderr(stderr)
                .spawn()
                .map_err(|e| RunError::Setup(format!("{}: {e}", path.display())))?;
            processes.push(function);
        }
        Ok(Self {
            settings,
            deployment,
            emulator,
            _processes: processes,
        })
    }

    /// The emulator's endpoint (for other AWS clients to look at it).
    pub fn endpoint_url(&self) -> String {
        self.emulator.endpoint_url()
    }

    /// What the emulated services have received so far.
    pub fn snapshot(&self) -> Snapshot {
        self.emulator.snapshot()
    }

    /// Runs one execution of the state machine with this input and name, calling `on_event` for
    /// each interpreter event as it happens.
    pub async fn execute(
        &self,
        input: &Value,
        name: &str,
        mut on_event: impl FnMut(&Value),
    ) -> Result<Execution, RunError> {
        let root = &self.settings.repo_root;
        let started = Instant::now();
        let request = json!({
            "definition": self.deployment.definition()?,
            "input": input,
            "context": {"Execution": {
                "Name": name,
                "Id": format!("arn:aws:states:us-east-1:123456789012:execution:local:{name}"),
            }},
        });
        let (_, stderr) = log_to(&self.settings.log_dir.join("interpreter.log"))?;
        let mut interpreter = local_command(&root.join(NODE), &self.endpoint_url())
            .env("AWS_ENDPOINT_URL_LAMBDA", self.endpoint_url())
            .arg(root.join(EXECUTE_SCRIPT))
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| RunError::Interpreter(e.to_string()))?;
        let mut stdin = interpreter.stdin.take().expect("stdin is piped");
        stdin
            .write_all(request.to_string().as_bytes())
            .await
            .map_err(|e| RunError::Interpreter(e.to_string()))?;
        drop(stdin);

        let mut lines = BufReader::new(interpreter.stdout.take().expect("stdout is piped")).lines();
        let mut events = Vec::new();
        let mut result = None;
        while let Some(line) = lines
            .next_line()
            .await
            .map_err(|e| RunError::Interpreter(e.to_string()))?
        {
            let event: Value = serde_json::from_str(&line)
                .map_err(|e| RunError::Interpreter(format!("unreadable event {line}: {e}")))?;
            if event["type"] == "Result" {
                result = Some(event);
            } else {
                on_event(&event);
                events.push(event);
            }
        }
        let status = interpreter
            .wait()
            .await
            .map_err(|e| RunError::Interpreter(e.to_string()))?;
        let result = result.ok_or_else(|| {
            RunError::Interpreter(format!(
                "it exited with {status} without a result; see {}",
                self.settings.log_dir.join("interpreter.log").display()
            ))
        })?;
        let error = (result["status"] == "FAILED").then(|| {
            (
                result["error"].as_str().unwrap_or_default().to_owned(),
                result["cause"].as_str().unwrap_or_default().to_owned(),
            )
        });
        Ok(Execution {
            name: name.to_owned(),
            status: result["status"].as_str().unwrap_or_default().to_owned(),
            output: result.get("output").cloned(),
            error,
            events,
            elapsed: started.elapsed(),
        })
    }
}

/// The distribution ids an execution input names (console input or a job's UserParameters), so
/// that a plain local run can make them exist.
pub fn distributions_in(input: &Value) -> Vec<String> {
    let parameters = match input
        .pointer("/CodePipeline.job/data/actionConfiguration/configuration/UserParameters")
    {
        Some(Value::String(text)) => {
            serde_json::from_str(text).unwrap_or_else(|_| json!({"distributionId": text.trim()}))
        }
        _ => input.clone(),
    };
    let mut ids: Vec<String> = parameters["distributionIds"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(std::iter::once(&parameters["distributionId"]))
        .filter_map(|id| id.as_str().map(str::to_owned))
        .collect();
    ids.dedup();
    ids
}

/// The repository this crate belongs to.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("local-run/ sits in the repository")
        .to_path_buf()
}
