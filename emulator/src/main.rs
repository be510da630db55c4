//! `aws-emulator`: runs the CloudFront + CodePipeline + Step Functions + S3 +
//! Lambda Invoke emulator until SIGINT or SIGTERM. Wiring only; the behaviour
//! lives in the library.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::time::Duration;

use aws_emulator::{ClockMode, Config};
use clap::Parser;

/// Local emulator of the CloudFront invalidation (distributions and
/// distribution tenants) and CodePipeline job-result APIs, of Step Functions
/// StartExecution/DescribeExecution (executions stay RUNNING: the binary runs
/// no state machine), of S3 GetObject, HeadObject, PutObject (conditional
/// writes, checksums), DeleteObject and ListObjectsV2 on the buckets given by
/// --bucket and --object (path-style), and of Lambda Invoke (forwarded to
/// --lambda-backend). Point clients at it with AWS_ENDPOINT_URL=<printed URL>.
/// Faults, function faults, per-bucket access keys and the rest of what
/// local-run sets are in the library (aws_emulator::Config), not here.
#[derive(Parser, Debug)]
#[command(name = "aws-emulator", version, about, long_about = None)]
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
    /// An S3 bucket that exists at start, empty (repeatable, or
    /// comma-separated). Any other bucket answers NoSuchBucket.
    #[arg(long = "bucket", value_name = "NAME", value_delimiter = ',')]
    buckets: Vec<String>,
    /// An S3 object in place at start, from a local file:
    /// BUCKET/KEY=PATH (repeatable); its bucket exists. The key runs to the
    /// first `=`.
    #[arg(long = "object", value_name = "BUCKET/KEY=PATH")]
    objects: Vec<String>,
    /// Run on a manual clock: it starts at the real time and moves only when
    /// told, with POST /_emulator/clock {"advanceSeconds": N}.
    #[arg(long)]
    manual_clock: bool,
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
        let mut config = Config {
            host: self.host,
            port: self.port,
            distributions: self.distributions.into_iter().collect(),
            tenants: self.tenants.into_iter().collect(),
            denied: self.denied.into_iter().collect(),
            invalidation_duration: Duration::from_secs_f64(self.invalidation_seconds),
            lambda_backend: self.lambda_backend,
            lambda_timeout: Duration::from_secs_f64(self.lambda_timeout_seconds),
            state_machines: self.state_machines.into_iter().collect(),
            buckets: self.buckets.into_iter().collect(),
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

    fn config(args: &[&str]) -> Result<Config, aws_emulator::Error> {
        let argv = std::iter::once("aws-emulator").chain(args.iter().copied());
        Args::try_parse_from(argv)
            .expect("the flags parse")
            .into_config()
    }

    #[test]
    fn the_flags_of_the_documented_uses_reach_the_config() {
        let dir = std::env::temp_dir().join(format!("aws-emulator-main-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let zip = dir.join("artifact.zip");
        std::fs::write(&zip, b"PK").unwrap();
        let object = format!("artifacts/pipe/Source/a b.zip={}", zip.display());
        let config = config(&[
            "--manual-clock",
            "--distribution",
            "E2QWRUHAPOMQZL",
            "--tenant",
            "dt_2wjDZi3hD1ivOXf6rpZJO1AB",
            "--denied",
            "EDENIED0000000",
            "--invalidation-seconds",
            "1",
            "--lambda-timeout-seconds",
            "0.5",
            "--state-machine",
            "arn:aws:states:us-east-1:123456789012:stateMachine:InvalidationStateMachine",
            "--object",
            &object,
            "--bucket",
            "state-bucket,site-bucket",
        ])
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(config.clock, ClockMode::Manual);
        assert_eq!(config.invalidation_duration, Duration::from_secs(1));
        assert_eq!(config.lambda_timeout, Duration::from_millis(500));
        assert_eq!(config.tenants.len(), 1);
        assert_eq!(config.denied.len(), 1);
        assert_eq!(config.state_machines.len(), 1);
        assert_eq!(
            config.existing_buckets().into_iter().collect::<Vec<_>>(),
            ["artifacts", "site-bucket", "state-bucket"]
        );
        let seeded = &config.objects[0];
        assert_eq!(
            (
                seeded.bucket.as_str(),
                seeded.key.as_str(),
                seeded.body.as_slice()
            ),
            ("artifacts", "pipe/Source/a b.zip", b"PK".as_slice())
        );
    }

    #[test]
    fn bad_values_are_refused_with_the_flag_named() {
        for (args, flag) in [
            (vec!["--invalidation-seconds=-1"], "--invalidation-seconds"),
            (
                vec!["--lambda-timeout-seconds", "0"],
                "--lambda-timeout-seconds",
            ),
            (
                vec!["--object", "no-equals-sign"],
                "--object no-equals-sign",
            ),
            (
                vec!["--object", "bucket-only=/x"],
                "--object bucket-only=/x",
            ),
            (vec!["--bucket", "Not_A_Bucket"], "Not_A_Bucket"),
        ] {
            let err = config(&args).unwrap_err().to_string();
            assert!(err.contains(flag), "{args:?}: {err}");
        }
    }
}
