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
pub mod interpreter;
pub mod matrix;
pub mod progress;
pub mod site;
pub mod stepfunctions_action;

/// The function a CodePipeline Lambda invoke action targets.
pub const PIPELINE_ENTRY: &str = "pipeline-entry";
/// How long the pipeline path waits for the next execution before it calls the job stuck.
const IDLE_LIMIT: Duration = Duration::from_secs(60);
/// The same in virtual time: longer than Lambda's retries of an asynchronous invocation take
/// (1 and then 2 minutes) and an event may wait (pipeline-entry's 240 s).
const VIRTUAL_IDLE_LIMIT: Duration = Duration::from_secs(3600);
/// How far virtual time moves while nothing runs.
const IDLE_STEP: Duration = Duration::from_secs(10);
/// How long to wait for a metric record that should be on its way: report-result writes it
/// before it answers, so only the reading of its output can lag.
const METRIC_RECORD_PATIENCE: Duration = Duration::from_secs(2);

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_emulator::{
    Config, EmulatorHandle, ExecutionOutcome, FaultCode, FaultSpec, FunctionFault, Operation,
    Snapshot, StartedExecution,
};
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde_json::{json, Value};

use invalidation::continuation::REPLY_WINDOW_VARIABLE;
use invalidation::limits::{is_distribution_id, is_distribution_tenant_id};
use invalidation::polling::POLL_SECONDS_VARIABLE;
use invalidation::request::parse_request;

use crate::artifacts::Artifact;
pub use crate::deployment::FunctionNames;
use crate::deployment::{Deployment, LOCAL_STATE_BUCKET, LOCAL_STATE_MACHINE_ARN};
pub use crate::hosts::FunctionHost;
use crate::hosts::{free_port, require, NODE};
use crate::interpreter::Interpreter;

/// An S3 object in place when the emulator starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededObject {
    /// Its bucket, which exists from then on.
    pub bucket: String,
    /// Its key.
    pub key: String,
    /// Its bytes.
    pub body: Vec<u8>,
}

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
    /// Other S3 objects in place at start: a site deployed (`--site`), the manifests a
    /// previous local run kept (see [`site`]).
    pub objects: Vec<SeededObject>,
    /// Buckets that exist at start, objects or not (a site bucket whose site is empty).
    pub buckets: Vec<String>,
    /// When set, the artifact bucket opens only to this access key id (the job's artifact
    /// credentials), so a run proves the functions read artifacts with those.
    pub artifact_access_key: Option<String>,
    /// A Lambda invoke API that already serves the functions (`sam local start-lambda`, `cargo
    /// lambda watch`); None starts a [`FunctionHost`].
    pub lambda_endpoint: Option<LambdaEndpoint>,
    /// Where the emulator listens; None picks a free port on 127.0.0.1. Functions behind an
    /// endpoint of their own must be told this address (AWS_ENDPOINT_URL).
    pub emulator_address: Option<std::net::SocketAddr>,
    /// Virtual time: Wait states take none, and the emulator's clock moves on by what each
    /// would have waited (and, while the pipeline waits for its next job, by a second at a
    /// time), so invalidations, Lambda's retries and CodePipeline's re-invocations come as
    /// they would, at once. The functions keep the real clock: deadlines and reply windows
    /// pass in real time.
    pub virtual_time: bool,
    /// The wait before each retry of a state (the state machine's Retry), instead of the
    /// definition's intervals; None keeps them.
    pub retry_interval: Option<Duration>,
    /// Faults per AWS operation, over `fault_rate`'s.
    pub faults: Vec<(Operation, FaultSpec)>,
    /// Faults of function invocations: (function binary, fault).
    pub function_faults: Vec<(String, FunctionFault)>,
    /// Distributions (and tenants) that have no CacheTagConfig: CloudFront refuses cache tag
    /// items for them. The others have one.
    pub without_cache_tags: Vec<String>,
    /// How many processes of each function run side by side (Lambda runs as many instances as
    /// invocations come at once).
    pub function_instances: usize,
    /// Whether the interpreter validates the definition (with asl-validator, about a second of
    /// CPU per interpreter process) before it runs it. Tests leave it off: `scripts/test`
    /// validates the same file with the same validator once, first.
    pub validate_definition: bool,
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
            objects: Vec::new(),
            buckets: Vec::new(),
            artifact_access_key: None,
            lambda_endpoint: None,
            emulator_address: None,
            virtual_time: false,
            retry_interval: None,
            faults: Vec::new(),
            function_faults: Vec::new(),
            without_cache_tags: Vec::new(),
            function_instances: 1,
            validate_definition: true,
        }
    }

    /// Settings for tests: virtual time, and the state machine's retries at once.
    pub fn for_tests(repo_root: impl Into<PathBuf>) -> Self {
        Self {
            virtual_time: true,
            retry_interval: Some(Duration::ZERO),
            validate_definition: false,
            ..Self::new(repo_root)
        }
    }

    /// Every function logs at `level` (`RUST_LOG`, read by `invalidation::logging`), over
    /// template.yaml's variables.
    pub fn log_functions_at(&mut self, level: &str) {
        for binary in [
            "pipeline-entry",
            "start-invalidation",
            "check-status",
            "report-result",
        ] {
            self.env_overrides
                .push((binary.into(), "RUST_LOG".into(), level.into()));
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

    fn emulator_config(&self, lambda_backend: String, deployment: &Deployment) -> Config {
        let mut config = Config::default();
        if self.virtual_time {
            config = config.manual_clock();
        }
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
            } else {
                continue;
            }
            if !self.without_cache_tags.contains(id) {
                config = config.cache_tags(id.clone());
            }
        }
        for id in &self.denied {
            config = config.deny(id.clone());
        }
        // The state bucket opens to the functions' own credentials; an artifact bucket only to
        // the job's artifact credentials, when the event carries them.
        config = config.bucket(LOCAL_STATE_BUCKET);
        for bucket in &self.buckets {
            config = config.bucket(bucket.clone());
        }
        for object in &self.objects {
            config = config.object(
                object.bucket.clone(),
                object.key.clone(),
                object.body.clone(),
            );
        }
        for artifact in &self.artifacts {
            config = config.object(
                artifact.bucket.clone(),
                artifact.key.clone(),
                artifact.zip.clone(),
            );
            if let Some(key) = &self.artifact_access_key {
                config = config.bucket_access_key(artifact.bucket.clone(), key.clone());
            }
        }
        if self.fault_rate > 0.0 {
            let spec = FaultSpec {
                error_rate: self.fault_rate,
                codes: vec![
                    FaultCode::Throttling,
                    FaultCode::InternalError,
                    FaultCode::ServiceUnavailable,
                ],
                ..FaultSpec::default()
            };
            // Every AWS operation the workflow calls; Lambda Invoke is the local plumbing.
            for operation in Operation::ALL {
                config = config.fault(operation, spec.clone());
            }
        }
        for (operation, spec) in &self.faults {
            config = config.fault(*operation, spec.clone());
        }
        for (binary, fault) in &self.function_faults {
            config = config.function_fault(deployment.invoke_name(binary), *fault);
        }
        // Lambda's asynchronous invocations as template.yaml configures them (CodePipeline
        // invokes pipeline-entry so).
        for (binary, event_invoke) in &deployment.event_invoke {
            let mut settings = config
                .event_invoke_for(&deployment.invoke_name(binary))
                .clone();
            settings.maximum_retry_attempts = event_invoke.maximum_retry_attempts;
            settings.maximum_event_age = event_invoke.maximum_event_age;
            settings.on_failure = event_invoke
                .on_failure
                .as_deref()
                .map(|destination| deployment.invoke_name(destination));
            config = config.event_invoke(deployment.invoke_name(binary), settings);
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
    interpreter: Interpreter,
    emulator: EmulatorHandle,
    functions: Option<FunctionHost>,
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
        let emulator = aws_emulator::start(settings.emulator_config(backend, &deployment))
            .await
            .map_err(|e| RunError::Setup(format!("emulator: {e}")))?;
        let functions = match host_port {
            Some(port) => Some(
                FunctionHost::start(&settings, &deployment, port, &emulator.endpoint_url()).await?,
            ),
            None => None,
        };
        let interpreter = Interpreter::start(&root, &emulator.endpoint_url(), &settings.log_dir)?;
        Ok(Self {
            settings,
            deployment,
            interpreter,
            emulator,
            functions,
        })
    }

    /// The metric records report-result wrote in this environment (one per execution that
    /// reached it), once `expected` have arrived or a moment has passed; None when the
    /// functions run behind a Lambda endpoint of their own, whose logs are its own.
    pub async fn metric_records(&self, expected: usize) -> Option<Vec<String>> {
        let host = self.functions.as_ref()?;
        Some(
            host.metric_records()
                .at_least(expected, METRIC_RECORD_PATIENCE)
                .await,
        )
    }

    /// The emulator's endpoint (for other AWS clients to look at it).
    pub fn endpoint_url(&self) -> String {
        self.emulator.endpoint_url()
    }

    /// Moves the emulator's manual clock (virtual time) on, as a test that needs CloudFront to
    /// finish at a chosen moment does; work that became due runs in the background.
    pub fn advance_clock(&self, by: Duration) -> Result<(), RunError> {
        self.emulator
            .advance_clock(by)
            .map(|_| ())
            .map_err(|e| RunError::Setup(format!("emulator clock: {e}")))
    }

    /// What the emulated services have received so far.
    pub fn snapshot(&self) -> Snapshot {
        self.emulator.snapshot()
    }

    /// The bytes of an emulated S3 object, if there is one.
    pub fn object_body(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        self.emulator.object_body(bucket, key)
    }

    /// Runs one execution of the state machine with this input and name, calling `on_event` for
    /// each interpreter event as it happens.
    pub async fn execute(
        &self,
        input: &Value,
        name: &str,
        mut on_event: impl FnMut(&Value),
    ) -> Result<Execution, RunError> {
        let started = Instant::now();
        let mut request = json!({
            "definition": self.deployment.definition()?,
            "input": input,
            "context": {"Execution": {
                "Name": name,
                "Id": Deployment::execution_arn(name),
            }},
        });
        if self.settings.virtual_time {
            request["clockUrl"] = json!(format!("{}/_emulator/clock", self.endpoint_url()));
        }
        if let Some(interval) = self.settings.retry_interval {
            request["retryIntervalMs"] = json!(interval.as_millis() as u64);
        }
        if !self.settings.validate_definition {
            request["validate"] = json!(false);
        }
        let (events, result) = self.interpreter.run(request, &mut on_event).await?;
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
    /// event asynchronously (`X-Amz-Invocation-Type: Event`), as CodePipeline does, so Lambda's
    /// retries and the on-failure destination of template.yaml's `EventInvokeConfig` apply.
    /// Lambda answers 202 at once; what pipeline-entry did shows in the emulator's snapshot.
    pub async fn deliver_job(&self, event: &Value) -> Result<(), RunError> {
        let url = format!(
            "{}/2015-03-31/functions/{}/invocations",
            self.endpoint_url(),
            self.deployment.function_arn(PIPELINE_ENTRY)
        );
        let (status, _, body) = http::post_json(&url, &event.to_string(), "Event").await?;
        if status != 202 {
            return Err(RunError::Setup(format!(
                "Lambda refused the event for {PIPELINE_ENTRY} (HTTP {status}): {body}"
            )));
        }
        Ok(())
    }

    /// Runs every execution that pipeline-entry starts (including those for the jobs
    /// CodePipeline creates after an "in progress" reply), side by side, until every job
    /// delivered has its final result.
    pub async fn drive_executions(
        &self,
        on_event: impl FnMut(&str, &Value),
    ) -> Result<Vec<Execution>, RunError> {
        let on_event = std::cell::RefCell::new(on_event);
        let mut executions = Vec::new();
        let mut running = FuturesUnordered::new();
        let mut idle = Duration::ZERO;
        let poll = match self.settings.virtual_time {
            true => Duration::from_millis(50),
            false => Duration::from_millis(200),
        };
        loop {
            if running.is_empty() && pipeline_settled(&self.snapshot()) {
                return Ok(executions);
            }
            tokio::select! {
                Some(done) = running.next(), if !running.is_empty() => {
                    executions.push(done?);
                    idle = Duration::ZERO;
                }
                started = self.emulator.next_started_execution(poll) => match started {
                    Some(started) => {
                        let on_event = &on_event;
                        running.push(async move {
                            self.run_started(&started, |name, event| {
                                (on_event.borrow_mut())(name, event)
                            })
                            .await
                        });
                        idle = Duration::ZERO;
                    }
                    None if running.is_empty() => idle += self.let_time_pass(poll).await?,
                    None => {}
                },
            }
            let limit = match self.settings.virtual_time {
                true => VIRTUAL_IDLE_LIMIT,
                false => IDLE_LIMIT,
            };
            if idle > limit {
                return Err(RunError::Setup(format!(
                    "no final job result and no new execution for {} s",
                    limit.as_secs()
                )));
            }
        }
    }

    /// While nothing runs: in virtual time, moves the clock on for what is due later (Lambda's
    /// retries, CodePipeline's next job), once the emulator has nothing in hand. How much time
    /// passed.
    async fn let_time_pass(&self, polled: Duration) -> Result<Duration, RunError> {
        if !self.settings.virtual_time {
            return Ok(polled);
        }
        if !self.emulator.settle(Duration::from_secs(5)).await {
            return Ok(Duration::ZERO);
        }
        self.emulator
            .advance_clock(IDLE_STEP)
            .map_err(|e| RunError::Setup(format!("emulator clock: {e}")))?;
        Ok(IDLE_STEP)
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

/// Whether every job delivered has come to its final result, and no execution runs: the last
/// job of each chain (a job, and those CodePipeline created from its continuation tokens) has
/// a result that is not "in progress".
pub fn pipeline_settled(snapshot: &Snapshot) -> bool {
    let running = snapshot
        .executions
        .iter()
        .any(|execution| execution.status == "RUNNING");
    let continued: std::collections::BTreeSet<&str> = snapshot
        .jobs
        .iter()
        .filter_map(|job| job.continued_from.as_deref())
        .collect();
    let every_chain_ended = snapshot
        .jobs
        .iter()
        .filter(|job| !continued.contains(job.job_id.as_str()))
        .all(|last| {
            snapshot
                .job_results
                .iter()
                .any(|result| result.job_id == last.job_id && result.is_terminal())
        });
    !running && !snapshot.jobs.is_empty() && every_chain_ended
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
