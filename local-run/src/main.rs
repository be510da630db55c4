//! local-run: runs the workflow once on this machine and prints what happened; the work is
//! [`local_run::Environment`].

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use invalidation::payload::repeated_key;
use local_run::artifacts::{artifact_access_key, attach_paths_file, zip_artifact};
use local_run::progress::{describe_event, final_account, metric_account};
use local_run::site::{name_site, LocalSite};
use local_run::stepfunctions_action::{ActionInput, StepFunctionsAction};
use local_run::{
    distributions_in, repo_root, Environment, FunctionNames, LambdaEndpoint, RunError, Settings,
    PIPELINE_ENTRY,
};

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
    /// How long one step of start-invalidation and check-status polls CloudFront itself, 0 for
    /// the Wait loop alone (POLL_SECONDS; default: template.yaml's, 0 with --virtual-time,
    /// whose clock moves only on Wait states). The local Lambda host
    /// gives no real deadline, so a step gets 28 s, of which it polls 23.
    #[arg(long)]
    poll_seconds: Option<u64>,
    /// A file of paths (a JSON list, or one per line; absolute or relative to the repository)
    /// that the job reads from its input artifact: it is zipped into the emulated artifact bucket where the job event's
    /// inputArtifacts[0] points, and named as pathsFile in the job's UserParameters.
    #[arg(long)]
    paths_file: Option<PathBuf>,
    /// A Lambda invoke API that serves the functions already, instead of starting them here:
    /// `sam local start-lambda` (http://127.0.0.1:3001, the real provided.al2023 build in
    /// Docker) or `cargo lambda watch`. Point its functions at the emulator (AWS_ENDPOINT_URL,
    /// see --emulator-address and events/sam-local-env.json).
    #[arg(long, value_name = "URL")]
    lambda_endpoint: Option<String>,
    /// How the --lambda-endpoint names the functions: by logical id (StartInvalidationFunction,
    /// as sam local does) or by binary (start-invalidation, as cargo lambda does).
    #[arg(long, value_enum, default_value = "logical-ids")]
    lambda_names: Names,
    /// Where the emulator listens (default 127.0.0.1 on a free port; with --lambda-endpoint,
    /// 0.0.0.0:4570, the address events/sam-local-env.json gives the functions).
    #[arg(long, value_name = "HOST:PORT")]
    emulator_address: Option<std::net::SocketAddr>,
    /// Play CodePipeline's StepFunctions invoke action: start the state machine with the
    /// action's input (--input as InputType Literal, or --input-type file-path), name the
    /// execution <--execution-name-prefix>-<action execution id>, watch it with
    /// DescribeExecution and show the action's result as the pipeline would.
    #[arg(long)]
    stepfunctions_action: bool,
    /// The action's InputType: literal (--input is the input) or file-path (--input is a path
    /// inside --input-artifact).
    #[arg(long, value_enum, default_value = "literal")]
    input_type: InputType,
    /// The action's input artifact for --input-type file-path: a zip, or a directory zipped as
    /// a build stage's output artifact is.
    #[arg(long, value_name = "ZIP_OR_DIR")]
    input_artifact: Option<PathBuf>,
    /// The action's ExecutionNamePrefix (none: the execution is named by the action execution
    /// id alone).
    #[arg(long, default_value = "invalidate")]
    execution_name_prefix: String,
    /// Let waits pass at once: Wait states take no time and the emulator's clock moves on by
    /// what they would have waited (the functions keep real time).
    #[arg(long)]
    virtual_time: bool,
    /// A distribution or tenant without a CacheTagConfig (repeatable): CloudFront refuses its
    /// cache tag items (#tag). The others have one.
    #[arg(long = "without-cache-tags", value_name = "ID")]
    without_cache_tags: Vec<String>,
    /// A site directory, deployed to the emulated site bucket before the run as a deploy leaves
    /// it (every file an object, keys relative to DIR, nothing else in the bucket), and named as
    /// changesIn in the input unless it names one: the run invalidates what changed since the
    /// last local run for the site (see --kept-state).
    #[arg(long, value_name = "DIR")]
    site: Option<PathBuf>,
    /// The emulated site bucket of --site.
    #[arg(long, value_name = "NAME", default_value = local_run::site::DEFAULT_SITE_BUCKET)]
    site_bucket: String,
    /// Where --site runs keep the state bucket's manifests from one local run to the next
    /// (absolute, or relative to the repository); delete it to start over with a first run.
    #[arg(long, value_name = "DIR", default_value = local_run::site::DEFAULT_KEPT_STATE)]
    kept_state: PathBuf,
    /// A fault of a function's invocations, FUNCTION=KIND-TIMES with KIND crash,
    /// crash-after-work or hang and TIMES once or always (repeatable), e.g.
    /// report-result=crash-once.
    #[arg(long = "function-fault", value_name = "FUNCTION=KIND-TIMES")]
    function_faults: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum InputType {
    Literal,
    FilePath,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Names {
    LogicalIds,
    Binaries,
}

/// Where the emulator listens when the functions run behind a --lambda-endpoint: the address
/// events/sam-local-env.json points them at (through host.docker.internal for sam local).
const ENDPOINT_EMULATOR_ADDRESS: &str = "0.0.0.0:4570";

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

/// The text of --input: inline JSON, or a file (absolute or relative to the repository). A key
/// given twice is refused: Step Functions, like any JSON parser here, would keep the last value
/// without a word, and no step of the workflow could tell.
fn read_input(root: &std::path::Path, input: &str) -> Result<String, String> {
    let text = if input.trim_start().starts_with(['{', '[', '"']) {
        input.to_owned()
    } else {
        std::fs::read_to_string(root.join(PathBuf::from(input)))
            .map_err(|e| format!("--input {input}: {e}"))?
    };
    match repeated_key(&text) {
        Some(key) => Err(format!(
            "--input gives `{key}` twice; Step Functions would keep the last value without a word"
        )),
        None => Ok(text),
    }
}

/// The StepFunctions invoke action the flags describe.
fn stepfunctions_action(
    flags: &Flags,
    root: &std::path::Path,
) -> Result<StepFunctionsAction, String> {
    let input = match flags.input_type {
        InputType::Literal => ActionInput::Literal(read_input(root, &flags.input)?),
        InputType::FilePath => {
            let artifact = flags
                .input_artifact
                .as_ref()
                .ok_or("--input-type file-path needs --input-artifact")?;
            ActionInput::FilePath {
                path: flags.input.clone(),
                artifact_zip: zip_artifact(&root.join(artifact))
                    .map_err(|e| format!("--input-artifact {}: {e}", artifact.display()))?,
            }
        }
    };
    Ok(StepFunctionsAction {
        input,
        execution_name_prefix: Some(flags.execution_name_prefix.clone())
            .filter(|prefix| !prefix.is_empty()),
    })
}

/// "1 file", "3 files".
fn counted(count: usize, thing: &str) -> String {
    match count {
        1 => format!("1 {thing}"),
        n => format!("{n} {thing}s"),
    }
}

fn keep_manifests(site: &LocalSite, environment: &Environment) -> Result<(), RunError> {
    let kept = site.keep(environment)?;
    println!(
        "Kept {} in {} for the next --site run",
        counted(kept, "manifest"),
        site.kept_state.display()
    );
    Ok(())
}

async fn run(flags: Flags) -> Result<bool, Box<dyn std::error::Error>> {
    let root = repo_root();
    let action = if flags.stepfunctions_action {
        Some(stepfunctions_action(&flags, &root)?)
    } else {
        None
    };
    let mut input: serde_json::Value = match &action {
        // What the action sends may be anything; the run shows what Step Functions makes of it.
        Some(action) => serde_json::from_str(&action.execution_input()?).unwrap_or_default(),
        None => serde_json::from_str(&read_input(&root, &flags.input)?)
            .map_err(|e| format!("--input is not JSON: {e}"))?,
    };
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
    let site = flags.site.as_ref().map(|directory| LocalSite {
        directory: root.join(directory),
        bucket: flags.site_bucket.clone(),
        kept_state: root.join(&flags.kept_state),
    });
    if let Some(site) = &site {
        name_site(&mut input, &site.bucket);
        let (files, manifests) = site.seed(&mut settings)?;
        println!(
            "Site: {} of {} deployed to s3://{}; {} kept from earlier local runs in {}",
            counted(files, "file"),
            site.directory.display(),
            site.bucket,
            counted(manifests, "manifest"),
            site.kept_state.display()
        );
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
    settings.virtual_time = flags.virtual_time;
    settings.without_cache_tags = flags.without_cache_tags.clone();
    for assignment in &flags.function_faults {
        settings
            .function_faults
            .push(aws_emulator::FunctionFault::parse_assignment(assignment)?);
    }
    // In virtual time only Wait states move CloudFront's clock; a function polling in real
    // time would see nothing finish, so the Wait loop alone runs unless the flag says otherwise.
    settings.poll_seconds = match (flags.poll_seconds, flags.virtual_time) {
        (None, true) => Some(0),
        (seconds, _) => seconds,
    };
    settings.lambda_endpoint = flags.lambda_endpoint.map(|url| LambdaEndpoint {
        url,
        names: match flags.lambda_names {
            Names::LogicalIds => FunctionNames::LogicalIds,
            Names::Binaries => FunctionNames::Binaries,
        },
    });
    settings.emulator_address = match (flags.emulator_address, &settings.lambda_endpoint) {
        (Some(address), _) => Some(address),
        (None, Some(_)) => Some(ENDPOINT_EMULATOR_ADDRESS.parse()?),
        (None, None) => None,
    };
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
        input = if flags.input.chars().count() > 100 {
            format!("{}…", flags.input.chars().take(99).collect::<String>())
        } else {
            flags.input.clone()
        },
    );
    let environment = Environment::start(settings.clone()).await?;
    println!(
        "AWS emulator at {}; logs in {}",
        environment.endpoint_url(),
        settings.log_dir.display()
    );
    match &settings.lambda_endpoint {
        Some(endpoint) => println!("Functions: the Lambda endpoint {}\n", endpoint.url),
        None => println!("Functions: the debug binaries behind cargo lambda watch\n"),
    }
    let started = std::time::Instant::now();
    let print = |execution: &str, event: &serde_json::Value| {
        if let Some(line) = describe_event(event) {
            println!(
                "{:6.1}s  {execution:<12.12}  {line}",
                started.elapsed().as_secs_f64()
            );
        }
    };
    if let Some(action) = &action {
        println!(
            "CodePipeline's StepFunctions invoke action starts the state machine (InputType {})",
            match flags.input_type {
                InputType::Literal => "Literal",
                InputType::FilePath => "FilePath",
            }
        );
        let result = environment.run_stepfunctions_action(action, print).await?;
        println!(
            "{}",
            final_account(
                &result.execution_status,
                result.error.as_ref(),
                result.execution.output.as_ref(),
                &environment.snapshot(),
                started.elapsed()
            )
        );
        println!(
            "{}",
            metric_account(environment.metric_records(1).await.as_deref())
        );
        println!("\nThe pipeline shows the action {}", result.status);
        if let Some((error, cause)) = &result.error {
            println!("  Error: {error}\n  Cause: {cause}");
        }
        println!("  Output variables:");
        for (name, value) in &result.variables {
            println!("    {name} = {value}");
        }
        if let Some(output) = &result.output {
            println!("  Output artifact (the execution output): {output}");
        }
        if let Some(site) = &site {
            keep_manifests(site, &environment)?;
        }
        return Ok(result.status == "Succeeded");
    }
    let executions = if input.get("CodePipeline.job").is_some() && !flags.direct {
        println!("CodePipeline invokes {PIPELINE_ENTRY} with the job (Lambda invoke action)");
        environment.deliver_job(&input).await?;
        println!("Lambda accepted the event for {PIPELINE_ENTRY} (202), asynchronously as CodePipeline invokes it");
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
    println!(
        "{}",
        metric_account(
            environment
                .metric_records(executions.len())
                .await
                .as_deref()
        )
    );
    if let Some(site) = &site {
        keep_manifests(site, &environment)?;
    }
    Ok(last.is_some_and(|e| e.succeeded()))
}
