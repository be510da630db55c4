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

pub mod artifacts;
pub mod deployment;
pub mod hosts;
mod http;
pub mod progress;
pub mod stepfunctions_action;

/// The function a CodePipeline Lambda invoke action targets.
pub const PIPELINE_ENTRY: &str = "pipeline-entry";
/// How long the pipeline path waits for the next execution before it calls the job stuck.
const IDLE_LIMIT: Duration = Duration::from_secs(60);

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_emulator::{
    Config, EmulatorHandle, ExecutionOutcome, FaultCode, FaultSpec, Operation, Snapshot,
    StartedExecution,
};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use invalidation::continuation::REPLY_WINDOW_VARIABLE;
use invalidation::polling::POLL_SECONDS_VARIABLE;
use invalidation::request::{is_distribution_id, is_distribution_tenant_id, parse_request};

use crate::artifacts::Artifact;
pub use crate::deployment::FunctionNames;
use crate::deployment::{Deployment, LOCAL_STATE_MACHINE_ARN};
pub use crate::hosts::FunctionHost;
use crate::hosts::{free_port, local_command, log_to, require, EXECUTE_SCRIPT, NODE};

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
    /// Share of calls to every CloudFront, CodePipeline and Step Functions operation that fail
    /// (throttling, 500 or 503), before they take effect.
    pub fault_rate: f64,
    /// Seed of the fault draws, so that a run can be repeated.
    pub seed: u64,
    /// Where process logs go.
    pub log_dir: PathBuf,
    /// How long a run with a job waits before replying "in progress" (start-invalidation's
    /// REPLY_WINDOW_SECONDS); None keeps template.yaml's value.
    pub reply_window: Option<Duration>,
    /// How long one step of start-invalidation and check-status polls CloudFront itself
    /// (their POLL_SECONDS); None keeps template.yaml's value. [`Settings::new`] sets 0, the
    /// state machine's Wait loop alone: in-function polling sleeps in real time, which the clock
    /// of a test need not follow.
    pub poll_seconds: Option<u64>,
    /// Extra environment variables: (function binary, name, value), over template.yaml's.
    pub env_overrides: Vec<(String, String, String)>,
    /// Objects of the emulated artifact bucket.
    pub artifacts: Vec<Artifact>,
    /// When set, the artifact bucket opens only to this access key id (the job's artifact
    /// credentials), so a run proves the functions read artifacts with those.
    pub artifact_access_key: Option<String>,
    /// A Lambda invoke API that already serves the functions (`sam local start-lambda`, `cargo
    /// lambda watch`); None starts a [`FunctionHost`].
    pub lambda_endpoint: Option<LambdaEndpoint>,
    /// Where the emulator listens; None picks a free port on 127.0.0.1. Functions behind an
    /// endpoint of their own must be told this address (AWS_ENDPOINT_URL).
    pub emulator_address: Option<std::net::SocketAddr>,
}

/// A Lambda invoke API (`POST /2015-03-31/functions/<name>/invocations`) serving the template's
/// functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaEndpoint {
    /// Its base URL, such as `http://127.0.0.1:3001`.
    pub url: String,
    /// How it names the functions.
    pub names: FunctionNames,
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
            reply_window: None,
            poll_seconds: Some(0),
            env_overrides: Vec::new(),
            artifacts: Vec::new(),
            artifact_access_key: None,
            lambda_endpoint: None,
            emulator_address: None,
        }
    }

    /// The environment of one function: template.yaml's variables, then the overrides.
    pub(crate) fn function_env(
        &self,
        deployment: &Deployment,
        binary: &str,
    ) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = deployment
            .environments
            .get(binary)
            .into_iter()
            .flatten()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        if let Some(window) = self.reply_window {
            if env.iter().any(|(key, _)| key == REPLY_WINDOW_VARIABLE) {
                env.push((
                    REPLY_WINDOW_VARIABLE.to_owned(),
                    window.as_secs().to_string(),
                ));
            }
        }
        if let Some(seconds) = self.poll_seconds {
            if env.iter().any(|(key, _)| key == POLL_SECONDS_VARIABLE) {
                env.push((POLL_SECONDS_VARIABLE.to_owned(), seconds.to_string()));
            }
        }
        env.extend(
            self.env_overrides
                .iter()
                .filter(|(function, _, _)| function == binary)
                .map(|(_, key, value)| (key.clone(), value.clone())),
        );
        env
    }

    fn emulator_config(&self, lambda_backend: String) -> Config {
        let mut config = Config::default();
        if let Some(address) = self.emulator_address {
            config.host = address.ip();
            config.port = address.port();
        }
        let mut config = config
            .invalidation_duration(self.invalidation_time)
            .seed(self.seed)
            .lambda_backend(lambda_backend)
            .state_machine(LOCAL_STATE_MACHINE_ARN);
        // Tenant ids (dt_…) are distribution tenants of a multi-tenant distribution. An id that
        // is neither gets no resource: the run itself says why it is wrong.
        for id in self.distributions.iter().chain(&self.denied) {
            if is_distribution_tenant_id(id) {
                config = config.tenant(id.clone());
            } else if is_distribution_id(id) {
                config = config.distribution(id.clone());
            }
        }
        for id in &self.denied {
            config = config.deny(id.clone());
        }
        for artifact in &self.artifacts {
            config = config.object(
                artifact.bucket.clone(),
                artifact.key.clone(),
                artifact.zip.clone(),
            );
        }
        if let Some(key) = &self.artifact_access_key {
            config = config.s3_access_key(key.clone());
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
            // Every AWS operation the workflow calls; Lambda Invoke is the local plumbing.
            for operation in Operation::ALL {
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

/// A running local environment: the emulator, and the functions behind a Lambda invoke API
/// (its own [`FunctionHost`], or the endpoint [`Settings::lambda_endpoint`] names). Several
/// executions may run in it one after another (the same job twice, say). Everything it started
/// stops when it is dropped.
pub struct Environment {
    settings: Settings,
    deployment: Deployment,
    emulator: EmulatorHandle,
    _functions: Option<FunctionHost>,
}

impl Environment {
    /// Starts the emulator and, unless the settings name a Lambda endpoint, a [`FunctionHost`]
    /// for the function binaries.
    pub async fn start(settings: Settings) -> Result<Self, RunError> {
        let root = settings.repo_root.clone();
        let mut deployment = Deployment::load(&root)?;
        require(&root, NODE)?;
        std::fs::create_dir_all(&settings.log_dir)
            .map_err(|e| RunError::Setup(format!("{}: {e}", settings.log_dir.display())))?;
        let (backend, host_port) = match &settings.lambda_endpoint {
            Some(endpoint) => {
                deployment.names = endpoint.names;
                (endpoint.url.clone(), None)
            }
            None => {
                let port = free_port()?;
                (format!("http://127.0.0.1:{port}"), Some(port))
            }
        };
        let emulator = aws_emulator::start(settings.emulator_config(backend))
            .await
            .map_err(|e| RunError::Setup(format!("emulator: {e}")))?;
        let functions = match host_port {
            Some(port) => Some(
                FunctionHost::start(&settings, &deployment, port, &emulator.endpoint_url()).await?,
            ),
            None => None,
        };
        Ok(Self {
            settings,
            deployment,
            emulator,
            _functions: functions,
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
                "Id": Deployment::execution_arn(name),
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

impl Environment {
    /// Plays CodePipeline invoking its Lambda invoke action: invokes pipeline-entry with the job
    /// event through the Lambda endpoint, and returns pipeline-entry's answer.
    pub async fn deliver_job(&self, event: &Value) -> Result<Value, RunError> {
        let url = format!(
            "{}/2015-03-31/functions/{}/invocations",
            self.endpoint_url(),
            self.deployment.function_arn(PIPELINE_ENTRY)
        );
        let (status, function_error, body) = http::post_json(&url, &event.to_string()).await?;
        let answer: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
        if status != 200 || function_error {
            return Err(RunError::Setup(format!(
                "{PIPELINE_ENTRY} failed (HTTP {status}): {answer}"
            )));
        }
        Ok(answer)
    }

    /// Runs every execution that pipeline-entry starts (including those for the jobs
    /// CodePipeline creates after an "in progress" reply) until the last job has its final
    /// result.
    pub async fn drive_executions(
        &self,
        mut on_event: impl FnMut(&str, &Value),
    ) -> Result<Vec<Execution>, RunError> {
        let mut executions = Vec::new();
        let mut idle_since = Instant::now();
        while !pipeline_settled(&self.snapshot()) {
            let Some(started) = self
                .emulator
                .next_started_execution(Duration::from_millis(200))
                .await
            else {
                if idle_since.elapsed() > IDLE_LIMIT {
                    return Err(RunError::Setup(format!(
                        "no final job result and no new execution for {} s",
                        IDLE_LIMIT.as_secs()
                    )));
                }
                continue;
            };
            let execution = self.run_started(&started, &mut on_event).await?;
            executions.push(execution);
            idle_since = Instant::now();
        }
        Ok(executions)
    }

    /// Runs an execution the emulated Step Functions recorded (StartExecution) with the
    /// interpreter, then ends it there with its outcome, so DescribeExecution reports it.
    pub async fn run_started(
        &self,
        started: &StartedExecution,
        mut on_event: impl FnMut(&str, &Value),
    ) -> Result<Execution, RunError> {
        let input: Value = serde_json::from_str(&started.input)
            .map_err(|e| RunError::Interpreter(format!("execution input: {e}")))?;
        let name = &started.name;
        let execution = self
            .execute(&input, name, |event| on_event(name, event))
            .await?;
        let outcome = match &execution.error {
            None => ExecutionOutcome::Succeeded {
                output: execution.output.clone().unwrap_or_default().to_string(),
            },
            Some((error, cause)) => ExecutionOutcome::Failed {
                error: error.clone(),
                cause: cause.clone(),
            },
        };
        self.emulator
            .finish_execution(&started.execution_arn, outcome);
        Ok(execution)
    }

    /// The Lambda invoke action path, end to end: deliver the job, run what it starts.
    pub async fn run_pipeline_job(
        &self,
        event: &Value,
        on_event: impl FnMut(&str, &Value),
    ) -> Result<Vec<Execution>, RunError> {
        self.deliver_job(event).await?;
        self.drive_executions(on_event).await
    }
}

/// Whether the newest job result is final (no continuation token) and no execution runs.
pub fn pipeline_settled(snapshot: &Snapshot) -> bool {
    let running = snapshot
        .executions
        .iter()
        .any(|execution| execution.status == "RUNNING");
    let last = snapshot.job_results.last();
    !running && last.is_some_and(|result| result.continuation_token.is_none())
}

/// The distribution ids an execution input names (console input or a job's UserParameters), so
/// that a plain local run can make them exist; read as the workflow reads them where the input
/// is valid, and as well as it can where it is not (the run then says what is wrong).
pub fn distributions_in(input: &Value) -> Vec<String> {
    if let Ok(parsed) = parse_request(input) {
        return parsed.distribution_ids;
    }
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
