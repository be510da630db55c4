//! The ASL interpreter: one Node process running `execute.mjs` (aws-local-stepfunctions) for
//! every execution of an environment, side by side. Starting Node and loading the interpreter
//! and the AWS SDK clients costs about half a second of CPU, more than an execution itself, so
//! the process is started once and given each execution as a line of JSON; its events come back
//! as lines tagged with the execution's number.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;

use crate::hosts::{local_command, log_to, EXECUTE_SCRIPT, NODE};
use crate::RunError;

type Routes = Arc<Mutex<HashMap<u64, mpsc::UnboundedSender<Value>>>>;

/// The running interpreter process. It stops when this is dropped.
pub struct Interpreter {
    stdin: tokio::sync::Mutex<ChildStdin>,
    routes: Routes,
    next_run: AtomicU64,
    log: std::path::PathBuf,
    _process: Child,
}

impl Interpreter {
    /// Starts Node on `execute.mjs`, with the emulator as every AWS endpoint.
    pub fn start(repo_root: &Path, endpoint_url: &str, log_dir: &Path) -> Result<Self, RunError> {
        let log = log_dir.join("interpreter.log");
        let (_, stderr) = log_to(&log)?;
        let mut process = local_command(&repo_root.join(NODE), endpoint_url)
            .env("AWS_ENDPOINT_URL_LAMBDA", endpoint_url)
            .arg(repo_root.join(EXECUTE_SCRIPT))
            .current_dir(repo_root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| RunError::Interpreter(e.to_string()))?;
        let stdin = process.stdin.take().expect("stdin is piped");
        let stdout = process.stdout.take().expect("stdout is piped");
        let routes = Routes::default();
        let dispatch = routes.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(event) = serde_json::from_str::<Value>(&line) else {
                    eprintln!("local-run: unreadable interpreter line: {line}");
                    continue;
                };
                let run = event["run"].as_u64().unwrap_or(u64::MAX);
                let route = dispatch.lock().expect("routes lock").get(&run).cloned();
                if let Some(route) = route {
                    let _ = route.send(event);
                }
            }
            // The process ended: every run still waiting hears so (its sender drops).
            dispatch.lock().expect("routes lock").clear();
        });
        Ok(Self {
            stdin: tokio::sync::Mutex::new(stdin),
            routes,
            next_run: AtomicU64::new(0),
            log,
            _process: process,
        })
    }

    /// Runs one execution: `request` as execute.mjs reads it. Calls `on_event` for each event
    /// as it comes; returns them all and the closing `Result` line.
    pub async fn run(
        &self,
        mut request: Value,
        mut on_event: impl FnMut(&Value),
    ) -> Result<(Vec<Value>, Value), RunError> {
        let run = self.next_run.fetch_add(1, Ordering::Relaxed);
        request["run"] = Value::from(run);
        let (sender, mut receiver) = mpsc::unbounded_channel();
        self.routes.lock().expect("routes lock").insert(run, sender);
        let mut line = request.to_string();
        line.push('\n');
        let written = self.stdin.lock().await.write_all(line.as_bytes()).await;
        let outcome = match written {
            Err(e) => Err(RunError::Interpreter(e.to_string())),
            Ok(()) => {
                let mut events = Vec::new();
                loop {
                    let Some(event) = receiver.recv().await else {
                        break Err(RunError::Interpreter(format!(
                            "it exited during an execution; see {}",
                            self.log.display()
                        )));
                    };
                    if event["type"] == "Result" {
                        break Ok((events, event));
                    }
                    on_event(&event);
                    events.push(event);
                }
            }
        };
        self.routes.lock().expect("routes lock").remove(&run);
        outcome
    }
}
