//! How large and quick the functions are: a function binary started as Lambda starts it,
//! against a Lambda Runtime API and an AWS endpoint of this module, both on loopback.
//!
//! - init: from the process start to its first `GET …/invocation/next` (what Lambda bills as
//!   the init duration);
//! - warm overhead: from writing an event to the function's connection to reading its
//!   response, less the time the AWS endpoint held the invocation's requests (from reading each
//!   to writing its answer, which it makes at once from canned bodies), so what remains is the
//!   function's own work: parsing, the SDK's signing and parsing, the runtime's and the SDK's
//!   HTTP on loopback;
//! - peak RSS: the process's `VmHWM` after the warm invocations;
//! - CPU time, of the init and of each warm invocation: the process's own work, from the
//!   scheduler's count (`/proc/<pid>/task/*/schedstat`). It leaves out every wait (for the
//!   harness's threads, for the AWS endpoint), which the wall-clock overhead can only subtract
//!   in part. Both swing by about 2× with this VM's speed from one minute to the next, so
//!   builds are compared side by side in one run (`--binaries`).

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::loopback_http::{Request, Server};

/// How long a function may take to ask for its first event or answer one.
const PATIENCE: Duration = Duration::from_secs(20);

/// What one function measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Init of each cold start.
    pub inits: Vec<Duration>,
    /// The first invocation's overhead, which pays for lazy set-up (the first connection).
    pub first_overhead: Duration,
    /// Overhead of each later invocation.
    pub warm_overheads: Vec<Duration>,
    /// CPU time the process used for its init, each cold start.
    pub init_cpu: Vec<Duration>,
    /// CPU time the process used for each later invocation (all its threads).
    pub warm_cpu: Vec<Duration>,
    /// Peak resident set size after the invocations, in KiB.
    pub peak_rss_kib: u64,
}

/// How a function answered one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `POST …/response`.
    Response(String),
    /// `POST …/error`, with the `errorType` of its body.
    Error { error_type: String, body: String },
    /// The process ended without answering (as a `panic = "abort"` build does).
    Exited(String),
}

/// A function to start: its binary, its environment beside the runtime's, and its event.
#[derive(Debug, Clone)]
pub struct Function<'a> {
    /// The binary's name, also its `AWS_LAMBDA_FUNCTION_NAME`.
    pub name: &'a str,
    /// Variables of its template entry (POLL_SECONDS, STATE_MACHINE_ARN, …).
    pub environment: Vec<(&'a str, String)>,
    /// The event it gets, each invocation.
    pub event: String,
    /// Where its standard output and error go.
    pub log: PathBuf,
}

/// The AWS endpoint: CloudFront's invalidation calls, CodePipeline's job results and Step
/// Functions' StartExecution, each answered at once, recording how long each answer took.
pub struct AwsEndpoint {
    url: String,
    spent: Arc<Mutex<Duration>>,
}

impl AwsEndpoint {
    /// Serves on a loopback port until the process ends.
    pub fn start() -> Result<Self, String> {
        let server = Server::start().map_err(|e| e.to_string())?;
        let url = format!("http://{}", server.address());
        let spent = Arc::new(Mutex::new(Duration::ZERO));
        let recorded = Arc::clone(&spent);
        std::thread::spawn(move || {
            while let Some(request) = server.receive(Duration::MAX) {
                let received = request.received;
                let (status, content_type, answer) = canned_answer(&request);
                let written = request.respond(status, &[("Content-Type", content_type)], &answer);
                if let Some(written) = written.wait() {
                    *recorded.lock().unwrap() += written - received;
                }
            }
        });
        Ok(Self { url, spent })
    }

    /// Its URL, for `AWS_ENDPOINT_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The time spent answering since the last call.
    fn take_spent(&self) -> Duration {
        std::mem::take(&mut *self.spent.lock().unwrap())
    }
}

/// The answer AWS would give, reduced to the fields the functions read.
fn canned_answer(request: &Request) -> (u16, &'static str, String) {
    let target = request
        .headers
        .get("x-amz-target")
        .map_or("", String::as_str);
    let json = "application/x-amz-json-1.0";
    if target.ends_with(".StartExecution") {
        let arn = "arn:aws:states:us-east-1:123456789012:execution:InvalidationStateMachine:run";
        return (
            200,
            json,
            format!(r#"{{"executionArn":"{arn}","startDate":1796000000.0}}"#),
        );
    }
    if target.starts_with("CodePipeline_") {
        return (200, "application/x-amz-json-1.1", "{}".to_owned());
    }
    let created = request.path.ends_with("/invalidation");
    let invalidation = r#"<?xml version="1.0" encoding="UTF-8"?>
<Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>I2J0I21PCUYOIK</Id><Status>Completed</Status><CreateTime>2026-11-26T12:00:01Z</CreateTime><InvalidationBatch><Paths><Quantity>2</Quantity><Items><Path>/index.html</Path><Path>/css/*</Path></Items></Paths><CallerReference>console-run-2026-11-26-E2QWRUHEXAMPLE</CallerReference></InvalidationBatch></Invalidation>"#;
    (
        if created { 201 } else { 200 },
        "text/xml",
        invalidation.to_owned(),
    )
}

/// Why the function made no request of the Runtime API.
enum NoRequest {
    /// Its process ended.
    Exited(ExitStatus),
    /// It stayed silent for [`PATIENCE`].
    Silent,
    /// Its state could not be read.
    Unknown(std::io::Error),
}

impl fmt::Display for NoRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exited(status) => write!(f, "exited: {status}"),
            Self::Silent => write!(f, "no request within {} s", PATIENCE.as_secs()),
            Self::Unknown(error) => write!(f, "{error}"),
        }
    }
}

/// One started function process and the Runtime API it talks to. Dropping it stops the
/// process, on every path out, error or not.
struct Started {
    api: Server,
    child: Child,
    log: PathBuf,
    pending: Option<Request>,
    invocations: u32,
    init_cpu: Duration,
}

impl Started {
    /// Starts `binary` as Lambda would and waits for its first request for an event.
    fn start(
        binary: &Path,
        function: &Function,
        aws: &AwsEndpoint,
    ) -> Result<(Self, Duration), String> {
        let api = Server::start().map_err(|e| e.to_string())?;
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", api.address().to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", function.name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", function.name),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "footprint")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "AKIAFOOTPRINT0000000")
            .env("AWS_SECRET_ACCESS_KEY", "footprint-secret-key")
            .env("AWS_ENDPOINT_URL", aws.url())
            .envs(function.environment.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        // A file, not a pipe: a pipe nobody reads would stop a chatty function when it fills.
        let log =
            File::create(&function.log).map_err(|e| format!("{}: {e}", function.log.display()))?;
        let log_again = log.try_clone().map_err(|e| e.to_string())?;
        command.stdout(log).stderr(log_again);
        let started_at = Instant::now();
        let child = command
            .spawn()
            .map_err(|e| format!("{}: {e}", binary.display()))?;
        let mut started = Self {
            api,
            child,
            log: function.log.clone(),
            pending: None,
            invocations: 0,
            init_cpu: Duration::ZERO,
        };
        let first = started
            .receive()
            .map_err(|e| format!("{}: {e}; {}", function.name, started.output()))?;
        let init = started_at.elapsed();
        started.init_cpu = started.cpu_time();
        if !first.path.ends_with("/invocation/next") {
            return Err(format!("{}: asked for {} first", function.name, first.path));
        }
        started.pending = Some(first);
        Ok((started, init))
    }

    /// The next request the function makes of the Runtime API, or why none came.
    fn receive(&mut self) -> Result<Request, NoRequest> {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Some(request) = self.api.receive(Duration::from_millis(20)) {
                return Ok(request);
            }
            if let Some(status) = self.child.try_wait().map_err(NoRequest::Unknown)? {
                return Err(NoRequest::Exited(status));
            }
        }
        Err(NoRequest::Silent)
    }

    /// Hands `event` over and waits for the answer; the second value is the time from handing
    /// over to receiving the answer.
    fn invoke(&mut self, event: &str) -> Result<(Answer, Duration), String> {
        let next = self
            .pending
            .take()
            .ok_or("no pending request for an event")?;
        self.invocations += 1;
        let request_id = format!("00000000-0000-4000-8000-{:012}", self.invocations);
        let deadline_ms = SystemTime::now()
            .checked_add(Duration::from_secs(60))
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis());
        let deadline_ms = deadline_ms.to_string();
        let headers = [
            ("Content-Type", "application/json"),
            ("Lambda-Runtime-Aws-Request-Id", request_id.as_str()),
            ("Lambda-Runtime-Deadline-Ms", deadline_ms.as_str()),
            (
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-1:123456789012:function:footprint",
            ),
        ];
        let handed_over = next
            .respond(200, &headers, event)
            .wait()
            .ok_or("the function closed its connection for events")?;
        let answer = match self.receive() {
            Ok(answer) => answer,
            Err(exited @ NoRequest::Exited(_)) => {
                return Ok((Answer::Exited(exited.to_string()), handed_over.elapsed()))
            }
            Err(other) => return Err(other.to_string()),
        };
        let took = answer.received - handed_over;
        let (url, body) = (answer.path.clone(), answer.body.clone());
        let _ = answer.respond(202, &[], "");
        let answer = if url.ends_with(&format!("{request_id}/response")) {
            Answer::Response(body)
        } else if url.ends_with(&format!("{request_id}/error")) {
            let error_type = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["errorType"].as_str().map(str::to_owned))
                .unwrap_or_default();
            Answer::Error { error_type, body }
        } else {
            return Err(format!("answered at {url}"));
        };
        // Wait for its next request for an event, so that the invocation is over.
        let next = self.receive().map_err(|e| e.to_string())?;
        self.pending = Some(next);
        Ok((answer, took))
    }

    /// The CPU time all the process's threads have used so far (0 if it cannot be read).
    fn cpu_time(&self) -> Duration {
        let tasks = format!("/proc/{}/task", self.child.id());
        let nanoseconds: u64 = std::fs::read_dir(tasks)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
            .filter_map(|line| line.split_whitespace().next()?.parse::<u64>().ok())
            .sum();
        Duration::from_nanos(nanoseconds)
    }

    /// VmHWM of the process, in KiB.
    fn peak_rss_kib(&self) -> Result<u64, String> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .map_err(|e| e.to_string())?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| "no VmHWM in /proc/…/status".to_owned())
    }

    /// Where its output is, for a message.
    fn output(&self) -> String {
        format!("its output is in {}", self.log.display())
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `binary` `cold_starts` times for its init, and in the last process invokes it
/// `invocations` times (at least 2) with the function's event, each of which must succeed.
pub fn measure(
    binary: &Path,
    function: &Function,
    aws: &AwsEndpoint,
    cold_starts: usize,
    invocations: usize,
) -> Result<Measured, String> {
    let mut inits = Vec::new();
    let mut init_cpu = Vec::new();
    for _ in 1..cold_starts.max(1) {
        let (started, init) = Started::start(binary, function, aws)?;
        inits.push(init);
        init_cpu.push(started.init_cpu);
    }
    let (mut started, init) = Started::start(binary, function, aws)?;
    inits.push(init);
    init_cpu.push(started.init_cpu);
    let mut overheads = Vec::new();
    let mut cpu = Vec::new();
    for _ in 0..invocations.max(2) {
        aws.take_spent();
        let cpu_before = started.cpu_time();
        let answer = started.invoke(&function.event);
        cpu.push(started.cpu_time().saturating_sub(cpu_before));
        let (answer, took) = match answer {
            Ok(answered) => answered,
            Err(error) => return Err(format!("{}: {error}; {}", function.name, started.output())),
        };
        if !matches!(answer, Answer::Response(_)) {
            return Err(format!(
                "{}: {answer:?}; {}",
                function.name,
                started.output()
            ));
        }
        overheads.push(took.saturating_sub(aws.take_spent()));
    }
    let peak_rss_kib = started.peak_rss_kib();
    drop(started);
    let first_overhead = overheads.remove(0);
    cpu.remove(0);
    Ok(Measured {
        inits,
        first_overhead,
        warm_overheads: overheads,
        init_cpu,
        warm_cpu: cpu,
        peak_rss_kib: peak_rss_kib?,
    })
}

/// Starts `binary` once and gives it `event`: how it answered.
pub fn answer_once(
    binary: &Path,
    function: &Function,
    aws: &AwsEndpoint,
) -> Result<Answer, String> {
    let (mut started, _) = Started::start(binary, function, aws)?;
    let answer = started.invoke(&function.event);
    answer.map(|(answer, _)| answer)
}
