//! `aws-emulator`: runs the CloudFront + CodePipeline + Step Functions + S3 +
//! Lambda Invoke emulator until SIGINT or SIGTERM. Wiring only; the behaviour
//! lives in the library.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::time::Duration;

use aws_emulator::{ClockMode, Config, FaultCode, FaultSpec, FunctionFault, Operation};
use clap::Parser;

/// Local emulator of the CloudFront invalidation (distributions and
/// distribution tenants) and CodePipeline job-result APIs, of Step Functions
/// StartExecution/DescribeExecution (executions stay RUNNING: the binary runs
/// no state machine), of S3 GetObject/HeadObject/PutObject, and of Lambda
/// Invoke (forwarded to --lambda-backend). Point clients at it with
/// AWS_ENDPOINT_URL=<printed URL>.
#[derive(Debug, Parser)]
#[command(name = "aws-emulator", version)]
struct Args {
    /// Address to listen on; 0.0.0.0 lets containers (sam local) reach the
    /// emulator at the host's address (host.docker.internal).
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// A distribution id that exists (repeatable, or comma-separated).
    #[arg(long = "distribution", value_delimiter = ',')]
    distributions: Vec<String>,
    /// A distribution tenant id that exists, e.g. dt_2wjDZi3hD1ivOXf6rpZJO1AB
    /// (repeatable, or comma-separated).
    #[arg(long = "tenant", value_delimiter = ',')]
    tenants: Vec<String>,
    /// A distribution or tenant id that answers AccessDenied (repeatable).
    #[arg(long, value_delimiter = ',')]
    denied: Vec<String>,
    /// Seconds an invalidation stays InProgress (fractions allowed).
    #[arg(long, default_value_t = 5.0)]
    invalidation_seconds: f64,
    /// A job id that answers JobNotFoundException (repeatable).
    #[arg(long = "unknown-job", value_delimiter = ',')]
    unknown_jobs: Vec<String>,
    /// Probability (0..=1) that a call of a --fault-ops operation fails.
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Operations faults and latency apply to: create, get, success,
    /// failure, put (both put ops), start, describe, an operation's AWS name
    /// (e.g. GetObject), cloudfront (distribution and tenant operations),
    /// tenant, codepipeline, stepfunctions, s3, all.
    #[arg(long, default_value = "all")]
    fault_ops: String,
    /// Probability (0..=1) that a call of a --fault-ops operation that
    /// succeeded loses its answer: it took effect, and the caller gets a 500.
    #[arg(long, default_value_t = 0.0)]
    lost_response_rate: f64,
    /// Faults to draw from: throttling, 500, 503.
    #[arg(long, default_value = "throttling,500,503")]
    fault_codes: String,
    /// Milliseconds added before every call of a --fault-ops operation.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Seed of every random choice; the same seed repeats a run.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Base URL (http://host:port) of a Lambda invoke API host, such as
    /// `cargo lambda watch --only-lambda-apis`, that Lambda Invoke calls are
    /// forwarded to. Without it every function is unknown.
    #[arg(long, value_name = "URL")]
    lambda_backend: Option<String>,
    /// Seconds a forwarded invocation may run before it is answered as a
    /// function timeout (Sandbox.Timedout); fractions allowed.
    #[arg(long, default_value_t = 120.0)]
    lambda_timeout_seconds: f64,
    /// A state machine ARN that exists, e.g.
    /// arn:aws:states:us-east-1:123456789012:stateMachine:Name (repeatable).
    #[arg(long = "state-machine", value_name = "ARN", value_delimiter = ',')]
    state_machines: Vec<String>,
    /// Seconds after a PutJobSuccessResult with a continuation token before
    /// the job's function is invoked again with a new job (fractions allowed).
    #[arg(long, default_value_t = 1.0)]
    continuation_delay_seconds: f64,
    /// An S3 bucket that exists, empty (repeatable, or comma-separated).
    #[arg(long = "bucket", value_delimiter = ',')]
    buckets: Vec<String>,
    /// An S3 object in place at start, from a local file:
    /// BUCKET/KEY=PATH (repeatable); its bucket exists. The key runs to the
    /// first `=`.
    #[arg(long = "object", value_name = "BUCKET/KEY=PATH")]
    objects: Vec<String>,
    /// An access key id S3 opens to (repeatable, or comma-separated); with
    /// any given, requests signed with other keys get AccessDenied.
    #[arg(long = "s3-access-key", value_name = "ID", value_delimiter = ',')]
    s3_access_keys: Vec<String>,
    /// Run on a manual clock: it starts at the real time and moves only when
    /// told, with POST /_emulator/clock {"advanceSeconds": N}.
    #[arg(long)]
    manual_clock: bool,
    /// A distribution or distribution tenant id that has a CacheTagConfig,
    /// so that its invalidations may name cache tags (#tag) (repeatable, or
    /// comma-separated).
    #[arg(long = "cache-tags", value_name = "ID", value_delimiter = ',')]
    cache_tags: Vec<String>,
    /// A fault injected into a Lambda function: FUNCTION=KIND-TIMES, KIND
    /// crash (not forwarded), crash-after-work or hang (forwarded, answer
    /// lost), TIMES once or always; e.g. start-invalidation=crash-once
    /// (repeatable).
    #[arg(long = "function-fault", value_name = "FUNCTION=FAULT")]
    function_faults: Vec<String>,
    /// How many times a failed asynchronous invocation of FUNCTION is retried
    /// (0..=2; Lambda's default is 2) (repeatable).
    #[arg(long = "event-retries", value_name = "FUNCTION=N")]
    event_retries: Vec<String>,
    /// An on-failure destination: the function invoked with Lambda's
    /// invocation record when an asynchronous invocation of FUNCTION is given
    /// up on (repeatable).
    #[arg(long = "on-failure", value_name = "FUNCTION=DESTINATION")]
    on_failure: Vec<String>,
    /// Seconds before each retry of a failed asynchronous invocation, for
    /// every function (Lambda waits about 60, then 120; fractions allowed).
    #[arg(long, value_name = "SECONDS")]
    event_retry_delay_seconds: Option<f64>,
}

/// Reads an `--object BUCKET/KEY=PATH` argument into (bucket, key, bytes).
fn read_object(spec: &str) -> Result<(String, String, Vec<u8>), aws_emulator::Error> {
    let invalid =
        |why: String| aws_emulator::Error::InvalidConfig(format!("--object {spec}: {why}"));
    let (object, path) = spec
        .split_once('=')
        .ok_or_else(|| invalid("expected BUCKET/KEY=PATH".into()))?;
    let (bucket, key) = object
        .split_once('/')
        .filter(|(bucket, key)| !bucket.is_empty() && !key.is_empty())
        .ok_or_else(|| invalid("expected BUCKET/KEY before the `=`".into()))?;
    let bytes = std::fs::read(path).map_err(|e| invalid(format!("cannot read {path}: {e}")))?;
    Ok((bucket.to_string(), key.to_string(), bytes))
}

/// Splits a `NAME=VALUE` flag value; both parts must be there.
fn assignment<'a>(flag: &str, spec: &'a str) -> Result<(&'a str, &'a str), aws_emulator::Error> {
    spec.split_once('=')
        .map(|(name, value)| (name.trim(), value.trim()))
        .filter(|(name, value)| !name.is_empty() && !value.is_empty())
        .ok_or_else(|| {
            aws_emulator::Error::InvalidConfig(format!("{flag} {spec}: expected FUNCTION=VALUE"))
        })
}

impl Args {
    fn into_config(self) -> Result<Config, aws_emulator::Error> {
        if !self.invalidation_seconds.is_finite() || self.invalidation_seconds < 0.0 {
            return Err(aws_emulator::Error::InvalidConfig(
                "--invalidation-seconds must be a non-negative number".into(),
            ));
        }
        if !self.lambda_timeout_seconds.is_finite() || self.lambda_timeout_seconds <= 0.0 {
            return Err(aws_emulator::Error::InvalidConfig(
                "--lambda-timeout-seconds must be a positive number".into(),
            ));
        }
        if !self.continuation_delay_seconds.is_finite() || self.continuation_delay_seconds < 0.0 {
            return Err(aws_emulator::Error::InvalidConfig(
                "--continuation-delay-seconds must be a non-negative number".into(),
            ));
        }
        let mut config = Config {
            host: self.host,
            port: self.port,
            distributions: self.distributions.into_iter().collect(),
            denied: self.denied.into_iter().collect(),
            invalidation_duration: Duration::from_secs_f64(self.invalidation_seconds),
            unknown_jobs: self.unknown_jobs.into_iter().collect(),
            seed: self.seed,
            lambda_backend: self.lambda_backend,
            lambda_timeout: Duration::from_secs_f64(self.lambda_timeout_seconds),
            state_machines: self.state_machines.into_iter().collect(),
            continuation_delay: Duration::from_secs_f64(self.continuation_delay_seconds),
            tenants: self.tenants.into_iter().collect(),
            buckets: self.buckets.into_iter().collect(),
            s3_access_keys: (!self.s3_access_keys.is_empty())
                .then(|| self.s3_access_keys.into_iter().collect()),
            tag_distributions: self.cache_tags.into_iter().collect(),
            clock: if self.manual_clock {
                ClockMode::Manual
            } else {
                ClockMode::Real
            },
            ..Config::default()
        };
        for spec in &self.objects {
            let (bucket, key, bytes) = read_object(spec)?;
            config = config.object(bucket, key, bytes);
        }
        for spec in &self.function_faults {
            let (function, fault) = FunctionFault::parse_assignment(spec)?;
            config = config.function_fault(function, fault);
        }
        for spec in &self.event_retries {
            let (function, attempts) = assignment("--event-retries", spec)?;
            let attempts = attempts.parse().map_err(|_| {
                aws_emulator::Error::InvalidConfig(format!(
                    "--event-retries {spec}: expected FUNCTION=N with N in 0..=2"
                ))
            })?;
            config = config.event_retries(function, attempts);
        }
        for spec in &self.on_failure {
            let (function, destination) = assignment("--on-failure", spec)?;
            config = config.on_failure(function, destination);
        }
        // Last, so that it reaches every function configured above.
        if let Some(seconds) = self.event_retry_delay_seconds {
            if !seconds.is_finite() || seconds < 0.0 {
                return Err(aws_emulator::Error::InvalidConfig(
                    "--event-retry-delay-seconds must be a non-negative number".into(),
                ));
            }
            config = config.event_retry_delays(vec![Duration::from_secs_f64(seconds)]);
        }
        if self.fault_rate > 0.0 || self.latency_ms > 0 || self.lost_response_rate > 0.0 {
            let spec = FaultSpec {
                error_rate: self.fault_rate,
                codes: FaultCode::parse_list(&self.fault_codes)?,
                latency: Duration::from_millis(self.latency_ms),
                lost_response_rate: self.lost_response_rate,
            };
            for op in Operation::parse_list(&self.fault_ops)? {
                config = config.fault(op, spec.clone());
            }
        }
        config.validate()?;
        Ok(config)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only help a person at a terminal, not a CI log.
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let config = match Args::parse().into_config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("aws-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    if config.distributions.is_empty() && config.tenants.is_empty() {
        tracing::warn!(
            "no --distribution or --tenant given: every CloudFront call will get NoSuchDistribution or EntityNotFound"
        );
    }
    let emulator = match aws_emulator::start(config).await {
        Ok(emulator) => emulator,
        Err(e) => {
            eprintln!("aws-emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The one line on stdout, for scripts that wait for it.
    println!("listening on {}", emulator.endpoint_url());
    let _ = std::io::stdout().flush();

    wait_for_signal().await;
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_emulator::{FaultTimes, FunctionFaultKind};

    fn config(args: &[&str]) -> Result<Config, aws_emulator::Error> {
        let argv = std::iter::once("aws-emulator").chain(args.iter().copied());
        Args::try_parse_from(argv)
            .expect("the flags parse")
            .into_config()
    }

    #[test]
    fn new_settings_keep_todays_defaults() {
        let config = config(&[]).unwrap();
        assert_eq!(config.clock, ClockMode::Real);
        assert!(config.function_faults.is_empty());
        assert!(config.event_invoke.is_empty());
        assert_eq!(
            config.default_event_invoke,
            aws_emulator::EventInvokeConfig::default()
        );
    }

    #[test]
    fn clock_faults_and_event_flags_reach_the_config() {
        let config = config(&[
            "--manual-clock",
            "--distribution",
            "E2QWRUHAPOMQZL",
            "--tenant",
            "dt_2wjDZi3hD1ivOXf6rpZJO1AB",
            "--cache-tags",
            "E2QWRUHAPOMQZL,dt_2wjDZi3hD1ivOXf6rpZJO1AB",
            "--function-fault",
            "start-invalidation=crash-once",
            "--function-fault",
            "check-status=hang-always",
            "--event-retries",
            "pipeline-entry=0",
            "--on-failure",
            "pipeline-entry=failure-sink",
            "--event-retry-delay-seconds",
            "0",
        ])
        .unwrap();
        assert_eq!(config.clock, ClockMode::Manual);
        assert_eq!(config.tag_distributions.len(), 2);
        assert_eq!(
            config.function_faults["start-invalidation"],
            FunctionFault::new(FunctionFaultKind::Crash, FaultTimes::Once)
        );
        assert_eq!(
            config.function_faults["check-status"],
            FunctionFault::new(FunctionFaultKind::Hang, FaultTimes::Always)
        );
        let entry = config.event_invoke_for("pipeline-entry");
        assert_eq!(entry.maximum_retry_attempts, 0);
        assert_eq!(entry.on_failure.as_deref(), Some("failure-sink"));
        assert_eq!(entry.retry_delays, [Duration::ZERO]);
        assert_eq!(
            config.event_invoke_for("other").retry_delays,
            [Duration::ZERO]
        );
    }

    #[test]
    fn a_lost_response_rate_reaches_the_fault_operations() {
        let config = config(&["--lost-response-rate", "0.25", "--fault-ops", "create"]).unwrap();
        let spec = &config.faults[&Operation::CreateInvalidation];
        assert_eq!(spec.lost_response_rate, 0.25);
        assert_eq!(spec.error_rate, 0.0);
        assert_eq!(config.faults.len(), 1);
        assert!(self::config(&["--lost-response-rate", "2"]).is_err());
    }

    #[test]
    fn bad_values_are_refused_with_the_flag_named() {
        for (args, flag) in [
            (vec!["--function-fault", "f=explode-once"], "explode-once"),
            (vec!["--event-retries", "f=3"], "at most 2"),
            (vec!["--cache-tags", "EUNKNOWN"], "EUNKNOWN"),
            (vec!["--event-retries", "f"], "--event-retries"),
            (vec!["--on-failure", "=sink"], "--on-failure"),
            (
                vec!["--event-retry-delay-seconds=-1"],
                "--event-retry-delay-seconds",
            ),
        ] {
            let err = config(&args).unwrap_err().to_string();
            assert!(err.contains(flag), "{args:?}: {err}");
        }
    }
}
