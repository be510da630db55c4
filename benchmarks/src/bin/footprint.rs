//! footprint: builds the functions as SAM builds them (release, arm64, cargo lambda) and prints
//! each one's zip and stripped binary size; builds them again for this machine (release,
//! x86_64, same profile) and prints init, warm overhead over the AWS call and peak RSS; then
//! shows what a panic in that build becomes. `--debug` measures the debug binaries the tests
//! built instead, building nothing (what CI runs). The work is in [`benchmarks::footprint`].

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use benchmarks::deployment::Deployed;
use benchmarks::footprint::{self, Answer, AwsEndpoint, Function};
use benchmarks::stats::quantile;
use clap::Parser;

#[derive(Parser)]
#[command(name = "footprint")]
struct Flags {
    /// Measure target/debug's binaries, as built by `cargo build --workspace`; build nothing.
    #[arg(long, conflicts_with = "binaries")]
    debug: bool,
    /// Measure the function binaries in this directory (another build, to compare); build
    /// nothing.
    #[arg(long)]
    binaries: Option<PathBuf>,
    /// Process starts per function, for the init time.
    #[arg(long, default_value_t = 20)]
    cold_starts: usize,
    /// Invocations of one process per function (the first is reported apart).
    #[arg(long, default_value_t = 200)]
    invocations: usize,
    /// Exit 1 when a footprint target (printed at the end) is not met (release only).
    #[arg(long)]
    check: bool,
}

const FUNCTIONS: [&str; 4] = [
    "start-invalidation",
    "check-status",
    "report-result",
    "pipeline-entry",
];

/// The footprint targets of a release build, per function.
const MAX_ZIP_BYTES: u64 = 3_000_000;
const MAX_INIT: Duration = Duration::from_millis(10);
const MAX_WARM_OVERHEAD: Duration = Duration::from_micros(500);
const MAX_PEAK_RSS_KIB: u64 = 16 * 1024;

fn main() -> ExitCode {
    let flags = Flags::parse();
    match run(&flags) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("footprint: {error}");
            ExitCode::from(2)
        }
    }
}

fn run(flags: &Flags) -> Result<bool, String> {
    let root = local_run::repo_root();
    let deployed = Deployed::load(&root)?;
    let logs = root.join("target/footprint");
    std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
    let (binaries, zips) = if let Some(directory) = &flags.binaries {
        (directory.clone(), None)
    } else if flags.debug {
        (root.join("target/debug"), None)
    } else {
        build_as_sam_does(&root)?;
        let zips = FUNCTIONS
            .iter()
            .map(|name| zip_sizes(&root.join("target/lambda").join(name).join("bootstrap.zip")))
            .collect::<Result<Vec<_>, _>>()?;
        build_for_here(&root)?;
        (root.join("target/release"), Some(zips))
    };
    let aws = AwsEndpoint::start()?;
    let log_of = |name: &str| logs.join(format!("{name}.log"));
    let poll_seconds = |f: benchmarks::deployment::Function| f.polling.longest().as_secs();
    let event = |file: &str| {
        std::fs::read_to_string(root.join("events").join(file)).map_err(|e| format!("{file}: {e}"))
    };
    let functions = [
        Function {
            name: FUNCTIONS[0],
            environment: vec![
                ("POLL_SECONDS", poll_seconds(deployed.start).to_string()),
                ("REPLY_WINDOW_SECONDS", "900".to_owned()),
            ],
            event: event("start-invalidation.json")?,
            log: log_of("start-invalidation"),
        },
        Function {
            name: FUNCTIONS[1],
            environment: vec![("POLL_SECONDS", poll_seconds(deployed.check).to_string())],
            event: event("check-status.json")?,
            log: log_of("check-status"),
        },
        Function {
            name: FUNCTIONS[2],
            // So that it writes its metric record, as deployed (template.yaml sets the stack).
            environment: vec![("STACK_NAME", "footprint".to_owned())],
            event: event("report-result.json")?,
            log: log_of("report-result"),
        },
        Function {
            name: FUNCTIONS[3],
            environment: vec![(
                "STATE_MACHINE_ARN",
                "arn:aws:states:us-east-1:123456789012:stateMachine:InvalidationStateMachine"
                    .to_owned(),
            )],
            event: event("codepipeline-job.json")?,
            log: log_of("pipeline-entry"),
        },
    ];

    let build = if let Some(directory) = &flags.binaries {
        format!("the binaries in {}", directory.display())
    } else if flags.debug {
        "debug, x86_64 (target/debug, as the tests built it)".to_owned()
    } else {
        "release, x86_64 (target/release, the profile SAM's arm64 build uses)".to_owned()
    };
    println!(
        "Functions ({} starts each for init; {} invocations of one process for the overhead, \
         the first apart; AWS answered at once on loopback; {build}):",
        flags.cold_starts, flags.invocations
    );
    println!(
        "| function | zip (arm64) | stripped binary (arm64) | binary here | init median (max) | \
         init CPU | first invocation | warm overhead median (p95) | warm CPU median (p95) | \
         peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut met = Vec::new();
    for (index, function) in functions.iter().enumerate() {
        let binary = binaries.join(function.name);
        let measured = footprint::measure(
            &binary,
            function,
            &aws,
            flags.cold_starts,
            flags.invocations,
        )?;
        let init = quantile_of(&measured.inits, 0.5);
        let init_max = measured.inits.iter().max().copied().unwrap_or_default();
        let warm = quantile_of(&measured.warm_overheads, 0.5);
        let warm_p95 = quantile_of(&measured.warm_overheads, 0.95);
        let init_cpu = quantile_of(&measured.init_cpu, 0.5);
        let warm_cpu = quantile_of(&measured.warm_cpu, 0.5);
        let warm_cpu_p95 = quantile_of(&measured.warm_cpu, 0.95);
        let here = file_size(&binary)?;
        let (zip, stripped) = match &zips {
            Some(zips) => (mb(zips[index].0), mb(zips[index].1)),
            None => ("—".to_owned(), "—".to_owned()),
        };
        println!(
            "| {} | {zip} | {stripped} | {} | {} ({}) | {} | {} | {} ({}) | {} ({}) | {:.1} MB |",
            function.name,
            mb(here),
            ms(init),
            ms(init_max),
            ms(init_cpu),
            ms(measured.first_overhead),
            ms(warm),
            ms(warm_p95),
            ms(warm_cpu),
            ms(warm_cpu_p95),
            measured.peak_rss_kib as f64 / 1024.0,
        );
        if let Some(zips) = &zips {
            met.push((
                zips[index].0 <= MAX_ZIP_BYTES,
                format!("{}: zip {} ≤ 3 MB", function.name, mb(zips[index].0)),
            ));
        }
        met.push((
            init <= MAX_INIT,
            format!("{}: init {} ≤ 10 ms", function.name, ms(init)),
        ));
        // The CPU time, not the wall-clock overhead: it is the function's own work with no
        // wait in it, however the harness's threads are scheduled (module doc).
        met.push((
            warm_cpu <= MAX_WARM_OVERHEAD,
            format!(
                "{}: warm overhead {} of CPU ≤ 0.5 ms (wall clock {})",
                function.name,
                ms(warm_cpu),
                ms(warm)
            ),
        ));
        met.push((
            measured.peak_rss_kib <= MAX_PEAK_RSS_KIB,
            format!(
                "{}: peak RSS {:.1} MB ≤ 16 MB",
                function.name,
                measured.peak_rss_kib as f64 / 1024.0
            ),
        ));
    }

    let probe = Function {
        name: "panic-probe",
        environment: vec![],
        event: r#"{"batches":[]}"#.to_owned(),
        log: log_of("panic-probe"),
    };
    let answer = footprint::answer_once(&binaries.join(probe.name), &probe, &aws)?;
    let named =
        matches!(&answer, Answer::Error { error_type, .. } if error_type == "FunctionPanicked");
    println!(
        "\nA panic in this build (panic-probe, wired as the functions are): {}",
        match &answer {
            Answer::Error { error_type, body } => format!("error {error_type}: {body}"),
            Answer::Response(body) => format!("a response, {body}"),
            Answer::Exited(how) => format!("no answer, the process {how}"),
        }
    );
    met.push((
        named,
        "a panic reaches the Runtime API as FunctionPanicked".to_owned(),
    ));

    if zips.is_none() {
        println!("\nNot the release build: the footprint targets (zip size, init, warm overhead, peak RSS) are for that (footprint without --debug or --binaries).");
        return Ok(named || !flags.check);
    }
    println!("\nFootprint targets of the release build:");
    for (ok, text) in &met {
        println!("  {}{text}", if *ok { "met: " } else { "NOT MET: " });
    }
    Ok(met.iter().all(|(ok, _)| *ok) || !flags.check)
}

/// `cargo lambda build --release --arm64`, SAM's build for an arm64 `rust-cargolambda`
/// function, with zips.
fn build_as_sam_does(root: &Path) -> Result<(), String> {
    let mut command = cargo(root);
    command.args([
        "lambda",
        "build",
        "--release",
        "--arm64",
        "--output-format",
        "zip",
    ]);
    for name in FUNCTIONS {
        command.args(["--package", name]);
    }
    run_command(command)
}

/// The same profile for this machine, with the panic probe.
fn build_for_here(root: &Path) -> Result<(), String> {
    let mut command = cargo(root);
    command.args(["build", "--release"]);
    for name in FUNCTIONS.iter().chain(&["panic-probe"]) {
        command.args(["--package", name]);
    }
    run_command(command)
}

/// cargo, finding cargo-lambda and zig where scripts/setup installs them.
fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![root.join(".venv/bin")];
    paths.extend(std::env::split_paths(&path));
    command
        .current_dir(root)
        .env("PATH", std::env::join_paths(paths).unwrap_or(path));
    command
}

fn run_command(mut command: Command) -> Result<(), String> {
    eprintln!("footprint: {command:?}");
    let status = command.status().map_err(|e| format!("{command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?}: {status}"))
    }
}

/// The zip's size and its `bootstrap`'s, in bytes.
fn zip_sizes(zip: &Path) -> Result<(u64, u64), String> {
    let file = std::fs::File::open(zip).map_err(|e| format!("{}: {e}", zip.display()))?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    let mut archive = zip::ZipArchive::new(file).map_err(|e| format!("{}: {e}", zip.display()))?;
    let bootstrap = archive
        .by_name("bootstrap")
        .map_err(|e| format!("{}: {e}", zip.display()))?
        .size();
    Ok((size, bootstrap))
}

fn file_size(path: &Path) -> Result<u64, String> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The value at quantile `q` of unsorted `values`.
fn quantile_of(values: &[Duration], q: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    quantile(&sorted, q).unwrap_or_default()
}

fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1_000_000.0)
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}
