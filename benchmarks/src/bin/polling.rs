//! polling: detection lag and cost per run of this project's polling against the AWS CLI
//! waiter, CDK BucketDeployment, the Rust SDK waiter and an ideal lower bound, for
//! invalidations of several durations; with `--measured`, real local runs beside the model.
//! The work is in [`benchmarks::model`].

use std::time::Duration;

use benchmarks::deployment::Deployed;
use benchmarks::fake_cloudfront::Latency;
use benchmarks::model::{self, Sample, CDK_WAITER, CLI_WAITER, SDK_WAITER_MAX_WAIT};
use benchmarks::prices;
use benchmarks::stats::{duration_text, label, Summary};
use clap::Parser;

#[derive(Parser)]
#[command(name = "polling")]
struct Flags {
    /// Runs per duration and strategy, with completion times spread over ±20 % of it.
    #[arg(long, default_value_t = 300)]
    samples: usize,
    /// Seed of the spread and of the SDK waiter's jitter.
    #[arg(long, default_value_t = 12)]
    seed: u64,
    /// Invalidation durations in seconds.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "5,15,25,30,60,120,300,900,2400"
    )]
    durations: Vec<u64>,
    /// Also do real local runs (debug binaries, cargo lambda, the emulator, in real time) for
    /// invalidations of these seconds, and compare their lag with the model's.
    #[arg(long, value_delimiter = ',', num_args = 0.., default_missing_value = "5,25,40")]
    measured: Option<Vec<u64>>,
    /// Exit 1 when one of the targets printed at the end (lag, cost, call rate) is not met.
    #[arg(long)]
    check: bool,
}

const STRATEGIES: [&str; 6] = [
    "ideal (oracle)",
    "this project",
    "before (Wait loop)",
    "AWS CLI waiter",
    "CDK BucketDeployment",
    "Rust SDK waiter",
];

fn main() -> std::process::ExitCode {
    let flags = Flags::parse();
    match run(&flags) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(error) => {
            eprintln!("polling: {error}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run(flags: &Flags) -> Result<bool, String> {
    let root = local_run::repo_root();
    let deployed = Deployed::load(&root)?;
    let before = deployed.before_polling();
    let paused = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| e.to_string())?;
    println!(
        "Model ({} runs per duration, completion times uniform over ±20 %, seed {}):\n\
         - this project: its start-invalidation, check-status and report-result functions, run \
         as the state machine definition says, on tokio's paused clock; template.yaml's \
         start-invalidation Timeout {} s and POLL_SECONDS {}, check-status Timeout {} s and \
         POLL_SECONDS {}; \"before (Wait loop)\": the same with POLL_SECONDS 0, the state \
         machine's Wait loop alone;\n\
         - CloudFront: GetInvalidation {} ms and CreateInvalidation {} ms round trips (assumed);\n\
         - prices: ${} a state transition, ${} a GB-s on arm64, ${} on x86_64, $0.20 per \
         million requests, 128 MB; init {} ms once per function and run, {} ms per warm \
         invocation beside its calls;\n\
         - lag: from the completion to ReportResult entered (a waiter: to its answer);\n\
         - the waiters run in one 128 MB Lambda billed for the whole wait (CLI and SDK waiter \
         on arm64, CDK on x86_64, its default); the CLI gives up after {} polls, CDK after {}, \
         the SDK waiter at max_wait {} s.\n",
        flags.samples,
        flags.seed,
        deployed.start.timeout.as_secs(),
        deployed.start.polling.longest().as_secs(),
        deployed.check.timeout.as_secs(),
        deployed.check.polling.longest().as_secs(),
        Latency::MODEL.get.as_millis(),
        Latency::MODEL.create.as_millis(),
        prices::STATE_TRANSITION_USD,
        prices::LAMBDA_ARM64_GB_SECOND_USD,
        prices::LAMBDA_X86_GB_SECOND_USD,
        model::INIT_MS,
        model::WARM_OVERHEAD_MS,
        CLI_WAITER.max_attempts,
        CDK_WAITER.max_attempts,
        SDK_WAITER_MAX_WAIT.as_secs(),
    );
    println!(
        "| invalidation | strategy | lag median | lag p95 | lag max | gave up | transitions | \
         Lambda invocations | billed ms | GetInvalidation calls (most in 60 s) | $ per run |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut all_met = true;
    let mut verdicts = Vec::new();
    for &seconds in &flags.durations {
        let duration = Duration::from_secs(seconds);
        let mut spread = fastrand::Rng::with_seed(flags.seed ^ seconds);
        let completions: Vec<Duration> = (0..flags.samples)
            .map(|_| duration.mul_f64(0.8 + 0.4 * spread.f64()))
            .collect();
        let mut summaries = Vec::new();
        for strategy in STRATEGIES {
            let mut samples: Vec<Sample> = Vec::new();
            for (index, takes) in completions.iter().enumerate() {
                let sample = match strategy {
                    "ideal (oracle)" => model::ideal(*takes, Latency::MODEL),
                    "this project" => {
                        paused.block_on(model::workflow(&deployed, *takes, Latency::MODEL))?
                    }
                    "before (Wait loop)" => {
                        paused.block_on(model::workflow(&before, *takes, Latency::MODEL))?
                    }
                    "AWS CLI waiter" => paused.block_on(model::fixed_delay_waiter(
                        CLI_WAITER,
                        *takes,
                        Latency::MODEL,
                    ))?,
                    "CDK BucketDeployment" => paused.block_on(model::fixed_delay_waiter(
                        CDK_WAITER,
                        *takes,
                        Latency::MODEL,
                    ))?,
                    _ => paused.block_on(model::sdk_waiter(
                        *takes,
                        Latency::MODEL,
                        flags.seed.wrapping_mul(1_000_003) ^ (seconds << 20) ^ index as u64,
                    ))?,
                };
                samples.push(sample);
            }
            let summary = Summary::of(&samples);
            println!(
                "| {} | {strategy} | {} | {} | {} | {} | {:.1} | {:.1} | {:.0} | {:.0} ({}) | ${:.6} |",
                label(duration),
                duration_text(summary.median()),
                duration_text(summary.p95()),
                duration_text(summary.max()),
                match summary.gave_up {
                    0 => "—".to_owned(),
                    n => format!("{:.0} %", 100.0 * n as f64 / summary.runs as f64),
                },
                summary.transitions,
                summary.invocations,
                summary.billed_ms,
                summary.get_calls,
                summary.max_calls_per_minute,
                summary.cost_usd,
            );
            summaries.push(summary);
        }
        let (ours, today) = (&summaries[1], &summaries[2]);
        let (met, verdict) = targets(duration, ours, today);
        all_met &= met;
        verdicts.push(verdict);
    }
    println!(
        "\nTargets for this project: median lag ≤ 2 s and p95 ≤ 4 s up to 2 minutes, median ≤ 5 % \
         of the duration beyond; cost per run ≤ \"before (Wait loop)\", and ≤ $0.0003 at 25 s; at \
         most 30 GetInvalidation calls in any 60 s; no run gives up:"
    );
    for verdict in verdicts {
        println!("  {verdict}");
    }
    if let Some(measured) = &flags.measured {
        all_met &= measure(measured, &deployed, &paused)?;
    }
    Ok(all_met || !flags.check)
}

/// Whether this project meets its targets at `duration`, and a line saying so.
fn targets(duration: Duration, ours: &Summary, today: &Summary) -> (bool, String) {
    let median = ours.median().unwrap_or(Duration::MAX);
    let p95 = ours.p95().unwrap_or(Duration::MAX);
    let mut checks: Vec<(bool, String)> = Vec::new();
    if duration <= Duration::from_secs(120) {
        checks.push((
            median <= Duration::from_secs(2) && p95 <= Duration::from_secs(4),
            format!(
                "median {} ≤ 2 s and p95 {} ≤ 4 s",
                duration_text(Some(median)),
                duration_text(Some(p95))
            ),
        ));
    } else {
        checks.push((
            median <= duration / 20,
            format!(
                "median {} ≤ 5 % ({})",
                duration_text(Some(median)),
                duration_text(Some(duration / 20))
            ),
        ));
    }
    checks.push((
        ours.cost_usd <= today.cost_usd,
        format!("${:.6} ≤ ${:.6} before", ours.cost_usd, today.cost_usd),
    ));
    if duration == Duration::from_secs(25) {
        checks.push((
            ours.cost_usd <= 0.0003,
            format!("${:.6} ≤ $0.0003", ours.cost_usd),
        ));
    }
    checks.push((
        ours.max_calls_per_minute <= 30,
        format!(
            "at most {} GetInvalidation calls in 60 s ≤ 30",
            ours.max_calls_per_minute
        ),
    ));
    checks.push((ours.gave_up == 0, format!("{} runs gave up", ours.gave_up)));
    let met = checks.iter().all(|(met, _)| *met);
    let line = checks
        .iter()
        .map(|(met, text)| format!("{text}{}", if *met { "" } else { " (NOT MET)" }))
        .collect::<Vec<_>>()
        .join("; ");
    (
        met,
        format!(
            "{}: {} — {line}",
            label(duration),
            if met { "met" } else { "NOT MET" }
        ),
    )
}

/// Real local runs beside the model of the same host (28 s budgets, as `cargo lambda watch`
/// gives no deadline) at exactly the same durations, without latency.
fn measure(
    seconds: &[u64],
    deployed: &Deployed,
    paused: &tokio::runtime::Runtime,
) -> Result<bool, String> {
    let real = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let local = deployed.on_local_host();
    println!(
        "\nMeasured: local runs (target/debug binaries behind cargo lambda watch, the emulator, \
         real time; POLL_SECONDS from template.yaml, 28 s step budgets), beside the model of \
         that host with no latency."
    );
    println!(
        "| invalidation | measured lag | model lag | measured transitions | model | measured \
         GetInvalidation calls | model |"
    );
    println!("|---|---|---|---|---|---|---|");
    for &s in seconds {
        let takes = Duration::from_secs(s);
        let measured = real.block_on(benchmarks::measured::local_run(takes))?;
        let modelled = paused.block_on(model::workflow(&local, takes, Latency::NONE))?;
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            label(takes),
            duration_text(Some(measured.lag)),
            duration_text(modelled.lag),
            measured.transitions,
            modelled.usage.transitions,
            measured.get_calls,
            modelled.get_calls,
        );
    }
    Ok(true)
}
