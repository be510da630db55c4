//! site-diff: how long the step that plans a `changesIn` run takes to list a site bucket, compare
//! it with the last run's manifest and plan the changed paths, and how much memory it needs, at
//! 10,000 and 100,000 objects; and how long report-result takes to write a manifest that size.
//!
//! The site bucket and the state bucket are the AWS emulator's, on loopback, started by this
//! process. The planning runs in a process of its own (this binary again, `--worker`), as the
//! function's: the library's `read_and_plan`, which start-invalidation and pipeline-entry run,
//! through the SDK's S3 client, ListObjectsV2 page after page. Its peak RSS is the worker's
//! `VmHWM`. Each size is planned `--rounds` times (median printed) against a version of the
//! site in which 1% of the objects changed, 0.5% were added and 0.5% removed since the manifest.
//! Beside the wall time it prints the worker's CPU time (`/proc/self/schedstat`), that of the
//! listing alone, and what the CPU time would take at the vCPU share of a 128 MB function.
//!
//! ```text
//! cargo run --release -p benchmarks --bin site-diff -- [--objects 10000,100000] [--rounds 3] [--check]
//! ```
//!
//! `--check` exits 1 unless planning 100,000 objects takes at most 5 s and at most 128 MB (the
//! functions' MemorySize), in the build it runs in: the targets hold for the release build the
//! functions deploy as; the debug build the tests use is slower.

use std::process::{Command, ExitCode};
use std::time::Instant;

use aws_emulator::Config;
use clap::Parser;
use invalidation::artifact::S3Artifacts;
use invalidation::request::parse_request;
use invalidation::state_bucket::{keep_manifest, StateBucket, MANIFESTS_PREFIX};
use serde_json::{json, Value};

const SITE_BUCKET: &str = "bench-site";
const STATE_BUCKET: &str = "bench-state";
const DISTRIBUTION: &str = "E2QWRUHEXAMPLE";
/// The target: the most planning time for 100,000 objects…
const MOST_SECONDS: f64 = 5.0;
/// …and the most memory, the functions' MemorySize.
const MOST_MB: f64 = 128.0;
/// The vCPU share of a 128 MB function: Lambda allocates CPU in proportion to memory, one vCPU
/// at 1,769 MB (Lambda Developer Guide, "Configure Lambda function memory").
const LAMBDA_VCPU_AT_128_MB: f64 = 128.0 / 1769.0;

#[derive(Parser)]
#[command(name = "site-diff")]
struct Flags {
    /// Site sizes, in objects.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    objects: Vec<usize>,
    /// Plannings per size (the median is printed).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Exit 1 unless 100,000 objects plan within 5 s and 128 MB.
    #[arg(long)]
    check: bool,
    /// Internal: plan one run as the function does, against --endpoint, and print its figures.
    #[arg(long, hide = true)]
    worker: bool,
    #[arg(long, hide = true)]
    endpoint: Option<String>,
    #[arg(long, hide = true)]
    run: Option<String>,
    /// Internal, with --worker: also write the manifest, as report-result does once the run
    /// succeeded.
    #[arg(long, hide = true)]
    keep: bool,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    // The worker runs on one thread, as the function does; the emulator on threads of its own,
    // so that it answers while this process waits for the worker.
    let runtime = match flags.worker {
        true => tokio::runtime::Builder::new_current_thread(),
        false => tokio::runtime::Builder::new_multi_thread(),
    }
    .enable_all()
    .build()
    .expect("a tokio runtime starts");
    if flags.worker {
        let endpoint = flags.endpoint.expect("--worker needs --endpoint");
        let run = flags.run.expect("--worker needs --run");
        let figures = runtime.block_on(plan_as_the_function(&endpoint, &run, flags.keep));
        println!("{figures}");
        return ExitCode::SUCCESS;
    }
    runtime.block_on(measure(&flags))
}

/// What the worker prints: one JSON line.
async fn plan_as_the_function(endpoint: &str, run: &str, keep: bool) -> Value {
    // The function's own configuration, pointed at the emulator as the tests point it.
    let config = invalidation::sdk::config().await;
    let s3 = invalidation::sdk::s3_config(&config);
    let store = StateBucket::new(
        aws_sdk_s3::Client::from_conf(s3.clone()),
        Some(STATE_BUCKET.to_owned()),
    );
    let artifacts = S3Artifacts::new(s3);
    let request = parse_request(
        &json!({"distributionId": DISTRIBUTION, "changesIn": {"bucket": SITE_BUCKET}}),
    )
    .expect("the request is valid");
    // The listing alone first (what of the planning is S3's paginated list), then the whole
    // planning, each in wall and CPU time.
    let cpu_before = cpu_seconds();
    let listing = invalidation::state_bucket::ObjectStore::list(&store, SITE_BUCKET, "")
        .await
        .expect("the listing");
    let list_cpu = cpu_seconds() - cpu_before;
    drop(listing);
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let plan = request
        .read_and_plan(&store, &artifacts, run)
        .await
        .unwrap_or_else(|e| panic!("planning against {endpoint} failed: {e}"));
    let planned = started.elapsed();
    let plan_cpu = cpu_seconds() - cpu_before;
    let site = plan.site.clone().expect("a changesIn plan has its site");
    let kept = if keep {
        let started = Instant::now();
        let kept = keep_manifest(&store, &site).await;
        Some((started.elapsed(), kept))
    } else {
        None
    };
    json!({
        "planSeconds": planned.as_secs_f64(),
        "planCpu": plan_cpu,
        "listCpu": list_cpu,
        "keepSeconds": kept.as_ref().map(|(took, _)| took.as_secs_f64()),
        "kept": kept.map(|(_, kept)| kept.describe()),
        "counts": site.counts,
        "items": plan.items(),
        "peakRssKb": peak_rss_kb(),
    })
}

/// The CPU time this process has used, from `/proc/self/schedstat` (nanoseconds on a CPU).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0.0, |ns| ns as f64 / 1e9)
}

/// This process's peak resident set (`VmHWM`), in KiB.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix("VmHWM:")?
                    .trim()
                    .trim_end_matches(" kB")
                    .parse()
                    .ok()
            })
        })
        .unwrap_or(0)
}

/// The objects of a site of `count` pages, assets and images in nested directories: version 1,
/// or version 2 with 1% changed, 0.5% removed and 0.5% added.
fn site(count: usize, version: u32) -> Vec<(String, Vec<u8>)> {
    let mut objects = Vec::with_capacity(count + count / 200);
    for i in 0..count {
        let removed = version == 2 && i % 200 == 7;
        if removed {
            continue;
        }
        let changed = version == 2 && i % 100 == 3;
        let key = key_of(i);
        let body = format!("object {i}, {}", if changed { "v2" } else { "v1" });
        objects.push((key, body.into_bytes()));
    }
    if version == 2 {
        for i in (0..count).step_by(200) {
            objects.push((
                format!("new/{}", key_of(i)),
                format!("new {i}").into_bytes(),
            ));
        }
    }
    objects
}

/// Keys as a static site's: sections, then directories of about 100 files each.
fn key_of(i: usize) -> String {
    let sections = ["docs", "blog", "assets/js", "assets/img", "products"];
    let section = sections[i % sections.len()];
    format!("{section}/part-{:04}/item-{i:06}.html", i / 500)
}

fn emulator_config(objects: &[(String, Vec<u8>)], manifest: Option<(&str, Vec<u8>)>) -> Config {
    let mut config = Config::default().bucket(STATE_BUCKET).bucket(SITE_BUCKET);
    for (key, body) in objects {
        config = config.object(SITE_BUCKET, key.clone(), body.clone());
    }
    if let Some((key, body)) = manifest {
        config = config.object(STATE_BUCKET, key.to_owned(), body);
    }
    config
}

/// Runs the worker against `endpoint` and reads its line.
fn worker(endpoint: &str, run: &str, keep: bool) -> Value {
    let mut command = Command::new(std::env::current_exe().expect("this binary's path"));
    command
        .args(["--worker", "--endpoint", endpoint, "--run", run])
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE");
    if keep {
        command.arg("--keep");
    }
    let output = command.output().expect("the worker starts");
    assert!(
        output.status.success(),
        "the worker failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the worker prints one JSON line")
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn measure(flags: &Flags) -> ExitCode {
    println!(
        "Planning a changesIn run (list the site bucket, compare with the manifest, plan) as \
         start-invalidation does, against the AWS emulator on loopback; median of {} rounds; \
         the site changed since the manifest: 1% of its objects changed, 0.5% added, 0.5% \
         removed.\n",
        flags.rounds
    );
    println!(
        "{:>8}  {:>18}  {:>6}  {:>9}  {:>8}  {:>13}  {:>12}  {:>8}  {:>9}  {:>9}",
        "objects",
        "added/chg/removed",
        "paths",
        "plan (s)",
        "CPU (s)",
        "listing CPU",
        "at 128 MB",
        "peak MB",
        "manifest",
        "write (s)"
    );
    let mut met = true;
    for &count in &flags.objects {
        // The manifest a first run leaves, written as report-result writes it.
        let first = aws_emulator::start(emulator_config(&site(count, 1), None))
            .await
            .expect("the emulator starts");
        let wrote = worker(&first.endpoint_url(), "first-run", true);
        let manifest = first
            .snapshot()
            .objects
            .into_iter()
            .find(|object| object.key.starts_with(MANIFESTS_PREFIX))
            .expect("the first run wrote a manifest");
        let body = first
            .object_body(STATE_BUCKET, &manifest.key)
            .expect("the manifest reads back");
        drop(first);
        let manifest_mb = body.len() as f64 / 1e6;
        // The next version of the site, planned against that manifest.
        let emulator = aws_emulator::start(emulator_config(
            &site(count, 2),
            Some((&manifest.key, body)),
        ))
        .await
        .expect("the emulator starts");
        let rounds: Vec<Value> = (0..flags.rounds.max(1))
            .map(|round| worker(&emulator.endpoint_url(), &format!("round-{round}"), false))
            .collect();
        let figure =
            |name: &str| median(rounds.iter().map(|r| r[name].as_f64().unwrap()).collect());
        let seconds = figure("planSeconds");
        let cpu = figure("planCpu");
        let listing_cpu = figure("listCpu");
        let peak_mb = rounds
            .iter()
            .map(|r| r["peakRssKb"].as_f64().unwrap() / 1024.0)
            .fold(0.0, f64::max);
        let counts = &rounds[0]["counts"];
        println!(
            "{count:>8}  {:>18}  {:>6}  {seconds:>9.2}  {cpu:>8.2}  {listing_cpu:>13.2}  {:>10.1} s  {peak_mb:>8.1}  {manifest_mb:>6.2} MB  {:>9.2}",
            format!("{}/{}/{}", counts["added"], counts["changed"], counts["removed"]),
            rounds[0]["items"].as_u64().unwrap_or_default(),
            cpu / LAMBDA_VCPU_AT_128_MB,
            wrote["keepSeconds"].as_f64().unwrap_or_default(),
        );
        if count == 100_000 && (seconds > MOST_SECONDS || peak_mb > MOST_MB) {
            met = false;
        }
    }
    println!(
        "\n\"at 128 MB\": the CPU time at the share of a vCPU Lambda gives a 128 MB function \
         (one vCPU at 1,769 MB, proportionally less below), were this machine's core and Lambda's \
         alike.\nTarget: 100,000 objects planned in at most {MOST_SECONDS} s (plan, wall time \
         here) within {MOST_MB} MB (the functions' MemorySize), release build. {}",
        match (flags.objects.contains(&100_000), met) {
            (false, _) => "Not measured here (no 100,000-object size).",
            (true, true) => "Met.",
            (true, false) => "NOT met.",
        }
    );
    if flags.check && !met {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
