//! local-run: runs the workflow once on this machine and prints what happened; the work is
//! [`local_run::Environment`].

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use local_run::artifacts::{artifact_access_key, attach_paths_file};
use local_run::progress::{describe_event, final_account};
use local_run::{distributions_in, repo_root, Environment, Settings, PIPELINE_ENTRY};

/// Runs the state machine in statemachine/ against the Lambda binaries and the AWS emulator.
#[derive(Parser)]
#[command(name = "local-run")]
struct Flags {
    /// Execution input: inline JSON, or a file, absolute or relative to the repository (such as
    /// events/console-input.json).
    #[arg(long, default_value = "events/codepipeline-job.json")]
    input: String,
    /// Distributions that exist (repeatable); default: the ones the input names.
    #[arg(long = "distribution")]
    distributions: Vec<String>,
    /// Distributions that exist but answer AccessDenied (repeatable).
    #[arg(long)]
    denied: Vec<String>,
    /// How long an emulated invalidation stays InProgress.
    #[arg(long, default_value_t = 8.0)]
    invalidation_seconds: f64,
    /// Share of CloudFront, CodePipeline and Step Functions calls that fail with throttling, 500
    /// or 503.
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Seed of the injected faults.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Execution name (`$$.Execution.Name`) of a direct run; default: local-<time>.
    #[arg(long)]
    name: Option<String>,
    /// Start the state machine with a CodePipeline job event directly, instead of invoking
    /// pipeline-entry with it as CodePipeline's Lambda invoke action does.
    #[arg(long)]
    direct: bool,
    /// How long a run with a job waits before replying "in progress" (default: template.yaml's).
    #[arg(long)]
    reply_window_seconds: Option<u64>,
    /// A file of paths (a JSON list, or one per line; absolute or relative to the repository)
    /// that the job reads from its input artifact: it is zipped into the emulated artifact bucket where the job event's
    /// inputArtifacts[0] points, and named as pathsFile in the job's UserParameters.
    #[arg(long)]
    paths_file: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let flags = Flags::parse();
    match run(flags).await {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(error) => {
            eprintln!("local-run: {error}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(flags: Flags) -> Result<bool, Box<dyn std::error::Error>> {
    let root = repo_root();
    let input_text = if flags.input.trim_start().starts_with(['{', '[', '"']) {
        flags.input.clone()
    } else {
        std::fs::read_to_string(root.join(PathBuf::from(&flags.input)))
            .map_err(|e| format!("--input {}: {e}", flags.input))?
    };
    let mut input: serde_json::Value =
        serde_json::from_str(&input_text).map_err(|e| format!("--input is not JSON: {e}"))?;
    let mut settings = Settings::new(&root);
    if let Some(path) = &flags.paths_file {
        let contents = std::fs::read(root.join(path))
            .map_err(|e| format!("--paths-file {}: {e}", path.display()))?;
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or("--paths-file names no file")?;
        settings
            .artifacts
            .push(attach_paths_file(&mut input, name, &contents)?);
        settings.artifact_access_key = artifact_access_key(&input);
    }
    settings.distributions = if flags.distributions.is_empty() {
        distributions_in(&input)
    } else {
        flags.distributions
    };
    settings.denied = flags.denied;
    settings.invalidation_time = Duration::from_secs_f64(flags.invalidation_seconds);
    settings.fault_rate = flags.fault_rate;
    settings.seed = flags.seed;
    settings.reply_window = flags.reply_window_seconds.map(Duration::from_secs);
    let name = flags.name.unwrap_or_else(|| {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        format!("local-{millis}")
    });

    println!(
        "Local run `{name}` of {input}: distributions {:?}{}, invalidations take {} s, fault rate {}",
        settings.distributions,
        if settings.denied.is_empty() { String::new() } else { format!(", denied {:?}", settings.denied) },
        flags.invalidation_seconds,
        flags.fault_rate,
        input = flags.input.chars().take(60).collect::<String>(),
    );
    let environment = Environment::start(settings.clone()).await?;
    println!(
        "AWS emulator at {}; logs in {}\n",
        environment.endpoint_url(),
        settings.log_dir.display()
    );
    let started = std::time::Instant::now();
    let print = |execution: &str, event: &serde_json::Value| {
        if let Some(line) = describe_event(event) {
            println!(
                "{:6.1}s  {execution:<12.12}  {line}",
                started.elapsed().as_secs_f64()
            );
        }
    };
    let executions = if input.get("CodePipeline.job").is_some() && !flags.direct {
        println!("CodePipeline invokes {PIPELINE_ENTRY} with the job (Lambda invoke action)");
        let answer = environment.deliver_job(&input).await?;
        println!("{PIPELINE_ENTRY} answered: {answer}");
        environment.drive_executions(print).await?
    } else {
        vec![
            environment
                .execute(&input, &name, |event| print(&name, event))
                .await?,
        ]
    };
    let last = executions.last();
    println!(
        "{}",
        final_account(
            last.map_or("NOT STARTED", |e| e.status.as_str()),
            last.and_then(|e| e.error.as_ref()),
            last.and_then(|e| e.output.as_ref()),
            &environment.snapshot(),
            started.elapsed()
        )
    );
    Ok(last.is_some_and(|e| e.succeeded()))
}
