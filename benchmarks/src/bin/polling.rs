//! polling: detection lag and cost per run of this project's polling against its previous
//! schedule, the Wait loop alone, the AWS CLI waiter, CDK BucketDeployment, the Rust SDK
//! waiter and an ideal lower bound, for invalidations of several durations, with what the lag
//! costs a CodePipeline V2 pipeline; with `--charts`, the same as SVG charts; with
//! `--measured`, real local runs beside the model. The work is in [`benchmarks::model`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use benchmarks::charts::{self, Panel, Series};
use benchmarks::deployment::Deployed;
use benchmarks::fake_cloudfront::Latency;
use benchmarks::model::{self, Action, Sample, CDK_WAITER, CLI_WAITER, SDK_WAITER_MAX_WAIT};
use benchmarks::prices::{self, Architecture, Usage};
use benchmarks::stats::{duration_text, label, Summary};
use clap::Parser;
use invalidation::continuation::DEFAULT_REPLY_WINDOW_SECONDS;
use invalidation::schedule::EARLY_REPLY_SECONDS;

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
    /// CodePipeline's delay in seconds between a run's "in progress" reply and its invocation
    /// of pipeline-entry with the new job (AWS documents none): it adds to the lag of the
    /// completions that fall in it.
    #[arg(long, default_value_t = 0)]
    reinvocation_seconds: u64,
    /// Also write the lag and cost charts into this directory (polling-lag.svg,
    /// polling-cost.svg).
    #[arg(long)]
    charts: Option<PathBuf>,
    /// Also do real local runs (debug binaries, cargo lambda, the emulator, in real time) for
    /// invalidations of these seconds, and compare their lag with the model's.
    #[arg(long, value_delimiter = ',', num_args = 0.., default_missing_value = "5,25,40")]
    measured: Option<Vec<u64>>,
    /// Exit 1 when one of the targets printed at the end (lag, cost, call rate) is not met.
    #[arg(long)]
    check: bool,
}

/// A way to wait for an invalidation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    Ideal,
    ThisProject(Action),
    Previous(Action),
    WaitLoop,
    CliWaiter,
    CdkWaiter,
    SdkWaiter,
}

impl Strategy {
    fn name(&self) -> &'static str {
        match self {
            Self::Ideal => "ideal (oracle)",
            Self::ThisProject(Action::Direct) => "this project",
            Self::ThisProject(_) => "this project, Lambda action",
            Self::Previous(Action::Direct) => "previous schedule",
            Self::Previous(_) => "previous schedule, Lambda action",
            Self::WaitLoop => "Wait loop only",
            Self::CliWaiter => "AWS CLI waiter",
            Self::CdkWaiter => "CDK BucketDeployment",
            Self::SdkWaiter => "Rust SDK waiter",
        }
    }
}

/// The strategies run at `duration`: the Lambda invoke action's runs only where completions
/// fall past the reply window (elsewhere they are the direct runs and a PutJobSuccessResult).
fn strategies(duration: Duration, lambda: Action) -> Vec<Strategy> {
    let past_reply = duration.mul_f64(1.2) > Duration::from_secs(DEFAULT_REPLY_WINDOW_SECONDS);
    let mut strategies = vec![Strategy::Ideal, Strategy::ThisProject(Action::Direct)];
    if past_reply {
        strategies.push(Strategy::ThisProject(lambda));
    }
    strategies.push(Strategy::Previous(Action::Direct));
    if past_reply {
        strategies.push(Strategy::Previous(lambda));
    }
    strategies.extend([
        Strategy::WaitLoop,
        Strategy::CliWaiter,
        Strategy::CdkWaiter,
        Strategy::SdkWaiter,
    ]);
    strategies
}

/// What the targets allow.
const MEDIAN_LAG: Duration = Duration::from_secs(2);
const P95_LAG: Duration = Duration::from_secs(4);
/// The workflow's own cost may rise this much over the previous schedule's for invalidations
/// from [`LONG_INVALIDATION`] on.
const WORKFLOW_COST_RISE: f64 = 0.20;
/// Where watching until the completion alone costs more than that, the workflow's own cost may
/// be this much above that floor: a schedule that sees completions within seconds can watch no
/// less.
const ABOVE_FLOOR: f64 = 0.10;
const LONG_INVALIDATION: Duration = Duration::from_secs(15 * 60);
/// A 25 s invalidation's run costs at most this.
const TYPICAL_RUN_USD: f64 = 0.0003;
const MAX_CALLS_PER_MINUTE: u32 = 30;

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
    let previous = deployed.previous_schedule();
    let wait_loop = deployed.before_polling();
    let lambda = Action::LambdaInvoke {
        reinvocation: Duration::from_secs(flags.reinvocation_seconds),
    };
    let paused = paused_runtime()?;
    print_assumptions(flags, &deployed, &previous);
    println!(
        "| invalidation | strategy | lag median | lag p95 | lag max | gave up | transitions | \
         Lambda invocations | billed ms | GetInvalidation calls (most in 60 s) | $ per run | \
         with V2 lag minutes |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut all_met = true;
    let mut verdicts = Vec::new();
    let mut results: Vec<(Duration, Vec<(Strategy, Summary)>)> = Vec::new();
    for &seconds in &flags.durations {
        let duration = Duration::from_secs(seconds);
        let mut spread = fastrand::Rng::with_seed(flags.seed ^ seconds);
        let completions: Vec<Duration> = (0..flags.samples)
            .map(|_| duration.mul_f64(0.8 + 0.4 * spread.f64()))
            .collect();
        let mut summaries = Vec::new();
        for strategy in strategies(duration, lambda) {
            let samples = sample_all(&completions, |paused, index, takes| {
                let latency = Latency::MODEL;
                match strategy {
                    Strategy::Ideal => Ok(model::ideal(takes, latency)),
                    Strategy::ThisProject(action) => {
                        paused.block_on(model::workflow(&deployed, takes, latency, action))
                    }
                    Strategy::Previous(action) => {
                        paused.block_on(model::workflow(&previous, takes, latency, action))
                    }
                    Strategy::WaitLoop => {
                        paused.block_on(model::workflow(&wait_loop, takes, latency, Action::Direct))
                    }
                    Strategy::CliWaiter => {
                        paused.block_on(model::fixed_delay_waiter(CLI_WAITER, takes, latency))
                    }
                    Strategy::CdkWaiter => {
                        paused.block_on(model::fixed_delay_waiter(CDK_WAITER, takes, latency))
                    }
                    Strategy::SdkWaiter => paused.block_on(model::sdk_waiter(
                        takes,
                        latency,
                        flags.seed.wrapping_mul(1_000_003) ^ (seconds << 20) ^ index as u64,
                    )),
                }
            })?;
            let summary = Summary::of(&samples);
            print_row(duration, strategy, &summary);
            summaries.push((strategy, summary));
        }
        let mean_completion = completions.iter().sum::<Duration>() / flags.samples.max(1) as u32;
        for action in [Action::Direct, lambda] {
            let find = |wanted: Strategy| summaries.iter().find(|(s, _)| *s == wanted);
            if let (Some((_, ours)), Some((_, before))) = (
                find(Strategy::ThisProject(action)),
                find(Strategy::Previous(action)),
            ) {
                let name = Strategy::ThisProject(action).name();
                let (met, verdict) = targets(duration, name, ours, before, mean_completion);
                all_met &= met;
                verdicts.push(verdict);
            }
        }
        results.push((duration, summaries));
    }
    println!(
        "\nTargets for this project, against the previous schedule on the same path: median lag \
         ≤ {} and p95 ≤ {}; the user's whole cost (the workflow and the V2 pipeline minutes of \
         the lag) not above the previous schedule's (the two are the same code, and up to 2 \
         minutes the same schedule); from {} on, the workflow's own cost at most \
         {:.0} % above it, or, where watching until the completion alone costs more, at most \
         {:.0} % above that floor; at most {MAX_CALLS_PER_MINUTE} GetInvalidation calls in any 60 s; \
         no run gives up; a 25 s invalidation's run at most ${TYPICAL_RUN_USD}.",
        duration_text(Some(MEDIAN_LAG)),
        duration_text(Some(P95_LAG)),
        label(LONG_INVALIDATION),
        WORKFLOW_COST_RISE * 100.0,
        ABOVE_FLOOR * 100.0,
    );
    for verdict in verdicts {
        println!("  {verdict}");
    }
    if let Some(directory) = &flags.charts {
        write_charts(directory, &results)?;
    }
    if let Some(measured) = &flags.measured {
        all_met &= measure(measured, &deployed, &paused)?;
    }
    Ok(all_met || !flags.check)
}

/// A runtime on tokio's paused clock, for the model.
fn paused_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| e.to_string())
}

/// `one(runtime, index, completion)` for every completion time, in order, on as many threads as
/// the machine has cores, each with its own paused runtime (the runs are independent, and each
/// is seeded by its index).
fn sample_all(
    completions: &[Duration],
    one: impl Fn(&tokio::runtime::Runtime, usize, Duration) -> Result<Sample, String> + Sync,
) -> Result<Vec<Sample>, String> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = completions.len().div_ceil(threads).max(1);
    let one = &one;
    std::thread::scope(|scope| {
        let handles: Vec<_> = completions
            .chunks(chunk)
            .enumerate()
            .map(|(part, takes)| {
                scope.spawn(move || {
                    let paused = paused_runtime()?;
                    takes
                        .iter()
                        .enumerate()
                        .map(|(offset, takes)| one(&paused, part * chunk + offset, *takes))
                        .collect::<Result<Vec<Sample>, String>>()
                })
            })
            .collect();
        let mut samples = Vec::with_capacity(completions.len());
        for handle in handles {
            samples.extend(handle.join().map_err(|_| "a model thread panicked")??);
        }
        Ok(samples)
    })
}

fn print_assumptions(flags: &Flags, deployed: &Deployed, previous: &Deployed) {
    println!(
        "Model ({} runs per duration, completion times uniform over ±20 %, seed {}):\n\
         - this project: its start-invalidation, check-status and report-result functions, run \
         as the state machine definition says, on tokio's paused clock; template.yaml's \
         start-invalidation Timeout {} s and POLL_SECONDS {}, check-status Timeout {} s and \
         POLL_SECONDS {}, a dense phase of {} s; \"previous schedule\": the same code with a \
         dense phase of {} s, then checks that poll a quarter of the time since the submission \
         and waits of a quarter (at most 4 min), with start-invalidation Timeout {} s and \
         POLL_SECONDS {}, check-status Timeout {} s and POLL_SECONDS {} (the rest of today's \
         code: a continued run's first look a poll interval in, the early reply below); \
         \"Wait loop only\": \
         POLL_SECONDS 0 and StartInvalidation → WaitBeforeCheck;\n\
         - \"Lambda action\": CodePipeline's Lambda invoke action, for durations whose \
         completions can fall past the {} s reply window: pipeline-entry starts the run for the \
         job, the run replies \"in progress\" by the end of the window (a step that ends \
         within {} s of it replies then), and CodePipeline invokes pipeline-entry with a new \
         job {} s after that reply (--reinvocation-seconds; AWS \
         documents no delay): a completion that falls in that delay waits for the new run's \
         first look;\n\
         - CloudFront: GetInvalidation {} ms and CreateInvalidation {} ms round trips, \
         CodePipeline and Step Functions {} ms (assumed);\n\
         - prices: ${} a state transition, ${} a GB-s on arm64, ${} on x86_64, $0.20 per \
         million requests, 128 MB; init {} ms once per function and run, {} ms per warm \
         invocation beside its calls; a CodePipeline V2 pipeline ${} per action-execution \
         minute, its 100 free minutes a month not counted (V1 pipelines bill per active \
         pipeline and month, so there the lag costs nothing);\n\
         - lag: from the completion to ReportResult entered (a waiter: to its answer); \"with \
         V2 lag minutes\": the run's cost and the V2 minutes of its lag, the user's whole cost \
         (billing rounds each action up to the minute; a second of lag costs 1/60 of a minute \
         on average);\n\
         - the waiters run in one 128 MB Lambda billed for the whole wait (CLI and SDK waiter \
         on arm64, CDK on x86_64, its default); the CLI gives up after {} polls, CDK after {}, \
         the SDK waiter at max_wait {} s.\n",
        flags.samples,
        flags.seed,
        deployed.start.timeout.as_secs(),
        deployed.start.polling.longest().as_secs(),
        deployed.check.timeout.as_secs(),
        deployed.check.polling.longest().as_secs(),
        deployed
            .check
            .polling
            .schedule()
            .map_or(0, |schedule| schedule.dense_phase().as_secs()),
        previous
            .check
            .polling
            .schedule()
            .map_or(0, |schedule| schedule.dense_phase().as_secs()),
        previous.start.timeout.as_secs(),
        previous.start.polling.longest().as_secs(),
        previous.check.timeout.as_secs(),
        previous.check.polling.longest().as_secs(),
        DEFAULT_REPLY_WINDOW_SECONDS,
        EARLY_REPLY_SECONDS,
        flags.reinvocation_seconds,
        Latency::MODEL.get.as_millis(),
        Latency::MODEL.create.as_millis(),
        model::PIPELINE_ROUND_TRIP.as_millis(),
        prices::STATE_TRANSITION_USD,
        prices::LAMBDA_ARM64_GB_SECOND_USD,
        prices::LAMBDA_X86_GB_SECOND_USD,
        model::INIT_MS,
        model::WARM_OVERHEAD_MS,
        prices::PIPELINE_MINUTE_USD,
        CLI_WAITER.max_attempts,
        CDK_WAITER.max_attempts,
        SDK_WAITER_MAX_WAIT.as_secs(),
    );
}

fn print_row(duration: Duration, strategy: Strategy, summary: &Summary) {
    println!(
        "| {} | {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.0} | {:.0} ({}) | ${:.6} | {} |",
        label(duration),
        strategy.name(),
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
        summary
            .whole_cost_usd
            .map_or("—".to_owned(), |usd| format!("${usd:.6}")),
    );
}

/// Whether `ours` meets the targets at `duration` against `before` (the previous schedule on
/// the same path), and a line saying so.
fn targets(
    duration: Duration,
    name: &str,
    ours: &Summary,
    before: &Summary,
    mean_completion: Duration,
) -> (bool, String) {
    let median = ours.median().unwrap_or(Duration::MAX);
    let p95 = ours.p95().unwrap_or(Duration::MAX);
    let whole = ours.whole_cost_usd.unwrap_or(f64::INFINITY);
    let whole_before = before.whole_cost_usd.unwrap_or(f64::INFINITY);
    let mut checks: Vec<(bool, String)> = vec![
        (
            median <= MEDIAN_LAG,
            format!(
                "median {} ≤ {}",
                duration_text(Some(median)),
                duration_text(Some(MEDIAN_LAG))
            ),
        ),
        (
            p95 <= P95_LAG,
            format!(
                "p95 {} ≤ {}",
                duration_text(Some(p95)),
                duration_text(Some(P95_LAG))
            ),
        ),
        (
            whole <= whole_before,
            format!("whole cost ${whole:.6} ≤ ${whole_before:.6} previous"),
        ),
    ];
    if duration >= LONG_INVALIDATION {
        // The cap on the workflow's own cost, unless watching until the completion (what any
        // schedule meeting the lag targets pays) already costs more: then close to that floor.
        let capped = before.cost_usd * (1.0 + WORKFLOW_COST_RISE);
        let floor = watching_floor_usd(mean_completion);
        let allowed = capped.max(floor * (1.0 + ABOVE_FLOOR));
        checks.push((
            ours.cost_usd <= allowed,
            format!(
                "workflow ${:.6} ≤ ${allowed:.6} ({:+.0} % on ${:.6} previous; watching until \
                 the mean completion alone costs ${floor:.6}, so the cap is the larger of \
                 {:.0} % above the previous and {:.0} % above that)",
                ours.cost_usd,
                (ours.cost_usd / before.cost_usd - 1.0) * 100.0,
                before.cost_usd,
                WORKFLOW_COST_RISE * 100.0,
                ABOVE_FLOOR * 100.0,
            ),
        ));
    }
    if duration == Duration::from_secs(25) {
        checks.push((
            ours.cost_usd <= TYPICAL_RUN_USD,
            format!("${:.6} ≤ ${TYPICAL_RUN_USD}", ours.cost_usd),
        ));
    }
    checks.push((
        ours.max_calls_per_minute <= MAX_CALLS_PER_MINUTE,
        format!(
            "at most {} GetInvalidation calls in 60 s ≤ {MAX_CALLS_PER_MINUTE}",
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
            "{}, {name}: {} — {line}",
            label(duration),
            if met { "met" } else { "NOT MET" }
        ),
    )
}

/// What any schedule that polls until the completion at least pays: one 128 MB arm64 Lambda
/// for that long, and the five transitions of a run that needs no check.
fn watching_floor_usd(until: Duration) -> f64 {
    let mut usage = Usage {
        transitions: 5,
        ..Usage::default()
    };
    usage.invoke(Architecture::Arm64, until.as_secs_f64() * 1000.0);
    usage.cost_usd()
}

/// Writes polling-lag.svg (median and p95 lag) and polling-cost.svg (the workflow's cost, and
/// with the V2 pipeline minutes of the lag) into `directory`, for the strategies run at every
/// duration.
fn write_charts(
    directory: &Path,
    results: &[(Duration, Vec<(Strategy, Summary)>)],
) -> Result<(), String> {
    std::fs::create_dir_all(directory).map_err(|e| format!("{}: {e}", directory.display()))?;
    let series = |value: &dyn Fn(&Summary) -> Option<f64>| -> Vec<Series> {
        let mut all: Vec<Series> = Vec::new();
        for (duration, summaries) in results {
            for (strategy, summary) in summaries {
                if matches!(
                    strategy,
                    Strategy::ThisProject(Action::LambdaInvoke { .. })
                        | Strategy::Previous(Action::LambdaInvoke { .. })
                ) {
                    continue;
                }
                let index = match all.iter().position(|s| s.name == strategy.name()) {
                    Some(index) => index,
                    None => {
                        all.push(Series {
                            name: strategy.name().to_owned(),
                            points: Vec::new(),
                        });
                        all.len() - 1
                    }
                };
                if let Some(value) = value(summary).filter(|v| *v > 0.0) {
                    all[index].points.push((duration.as_secs_f64(), value));
                }
            }
        }
        all
    };
    let seconds = |lag: Option<Duration>| lag.map(|lag| lag.as_secs_f64());
    let median = series(&|s| seconds(s.median()));
    let p95 = series(&|s| seconds(s.p95()));
    let workflow = series(&|s| Some(s.cost_usd));
    let whole = series(&|s| s.whole_cost_usd);
    // The durations, as axis labels far enough apart to read (25 s, not also 30 s).
    let mut durations: Vec<f64> = Vec::new();
    for (duration, _) in results {
        let seconds = duration.as_secs_f64();
        if durations.last().is_none_or(|last| seconds >= last * 1.5) {
            durations.push(seconds);
        }
    }
    let lag_ticks = [0.1, 1.0, 2.0, 4.0, 10.0, 60.0, 240.0, 600.0];
    let dollar_ticks = [0.0001, 0.0003, 0.001, 0.003, 0.01];
    charts::draw(
        &directory.join("polling-lag.svg"),
        &durations,
        &[
            Panel {
                title: "median lag (completion to report)",
                unit: "lag",
                range: (0.03, 1500.0),
                ticks: &lag_ticks,
                format: charts::lag_label,
                series: &median,
            },
            Panel {
                title: "p95 lag",
                unit: "lag",
                range: (0.03, 1500.0),
                ticks: &lag_ticks,
                format: charts::lag_label,
                series: &p95,
            },
        ],
    )?;
    charts::draw(
        &directory.join("polling-cost.svg"),
        &durations,
        &[
            Panel {
                title: "the workflow's cost per run",
                unit: "dollars per run",
                range: (0.00002, 0.012),
                ticks: &dollar_ticks,
                format: charts::dollar_label,
                series: &workflow,
            },
            Panel {
                title: "with the V2 pipeline minutes of the lag",
                unit: "dollars per run",
                range: (0.00002, 0.012),
                ticks: &dollar_ticks,
                format: charts::dollar_label,
                series: &whole,
            },
        ],
    )?;
    println!(
        "\nCharts: {} and {}",
        directory.join("polling-lag.svg").display(),
        directory.join("polling-cost.svg").display()
    );
    Ok(())
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
        let modelled = paused.block_on(model::workflow(
            &local,
            takes,
            Latency::NONE,
            Action::Direct,
        ))?;
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
