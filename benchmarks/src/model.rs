//! One modelled run of each strategy, for an invalidation that takes a given time.
//!
//! This project's strategy is not modelled but run: the real start-invalidation,
//! check-status and report-result library functions, with the real SDK client, against
//! [`FakeCloudFront`], on tokio's paused clock, invoked as [`crate::asl::walk`] walks the real
//! state machine definition, with template.yaml's timeouts and POLL_SECONDS. The Rust SDK
//! waiter is the SDK's own `wait_until_invalidation_completed`, its jitter drawn from a seeded
//! generator. The AWS CLI and CDK waiters are botocore's fixed-delay loop (poll, then sleep
//! `Delay` between polls, `MaxAttempts` polls), against the same fake.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudfront::client::Waiters;
use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
use aws_smithy_types::date_time::{DateTime, Format};
use invalidation::artifact::{ArtifactStore, PathsFile};
use invalidation::budget::Budget;
use invalidation::check::check_status;
use invalidation::codepipeline::report_backoff;
use invalidation::continuation::DEFAULT_REPLY_WINDOW_SECONDS;
use invalidation::report::report_result;
use invalidation::start::start_invalidation;
use invalidation::state_bucket::MemoryStore;
use invalidation::WorkflowError;
use serde_json::{json, Value};

use crate::asl;
use crate::clock::{model_epoch, VirtualClock};
use crate::deployment::{Deployed, Function};
use crate::fake_cloudfront::{FakeCloudFront, Latency};
use crate::prices::{Architecture, Usage};

/// The billed time of a function's cold start, once per function and run (pipelines run
/// rarely, so each run's first invocation of a function is taken to be cold). The issue's
/// target; `footprint` measures it.
pub const INIT_MS: f64 = 10.0;
/// A warm invocation's own time beside its AWS calls (the target; `footprint`
/// measures it).
pub const WARM_OVERHEAD_MS: f64 = 0.5;

/// botocore's `invalidation_completed` waiter, which `aws cloudfront wait
/// invalidation-completed` runs: Delay 20, MaxAttempts 30 (botocore
/// `data/cloudfront/2020-05-31/waiters-2.json`).
pub const CLI_WAITER: FixedDelayWaiter = FixedDelayWaiter {
    delay: Duration::from_secs(20),
    max_attempts: 30,
    host: Architecture::Arm64,
};
/// CDK BucketDeployment's handler: the same waiter with `WaiterConfig={'Delay': 20,
/// 'MaxAttempts': (13*60)//20}`, in a Python Lambda of 128 MB (its `memoryLimit` default) on
/// Lambda's default x86_64, billed for the whole wait (aws-cdk `bucket-deployment-handler`).
pub const CDK_WAITER: FixedDelayWaiter = FixedDelayWaiter {
    delay: Duration::from_secs(20),
    max_attempts: (13 * 60) / 20,
    host: Architecture::X86_64,
};
/// The `max_wait` given to the Rust SDK waiter: a Lambda may run 15 minutes; a minute is left
/// for the rest.
pub const SDK_WAITER_MAX_WAIT: Duration = Duration::from_secs(14 * 60);

/// A waiter that polls, then sleeps `delay` between polls, for at most `max_attempts` polls,
/// inside one Lambda of 128 MB on `host` billed for the whole wait.
#[derive(Debug, Clone, Copy)]
pub struct FixedDelayWaiter {
    /// Sleep between polls.
    pub delay: Duration,
    /// Polls before it gives up.
    pub max_attempts: u32,
    /// The Lambda it runs in.
    pub host: Architecture,
}

/// What one run did.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// From the completion to the moment the run knew (ReportResult entered, or the waiter's
    /// answer); None when it gave up first.
    pub lag: Option<Duration>,
    /// What it used.
    pub usage: Usage,
    /// GetInvalidation calls.
    pub get_calls: u32,
    /// The most GetInvalidation calls in any 60 s.
    pub max_calls_per_minute: u32,
}

/// No paths file: the model's input names its paths.
struct NoArtifacts;

impl ArtifactStore for NoArtifacts {
    async fn read_artifact(&self, _: &PathsFile) -> Result<Vec<u8>, WorkflowError> {
        Err(WorkflowError::invalid_input("the model reads no artifact"))
    }
}

/// The execution input of every modelled run.
pub fn model_input() -> Value {
    json!({"distributionId": "E2QWRUHEXAMPLE", "paths": ["/*"]})
}

fn rfc3339(time: SystemTime) -> String {
    DateTime::from(time)
        .fmt(Format::DateTime)
        .unwrap_or_default()
}

/// One execution of the deployed workflow for an invalidation that takes `takes`.
pub async fn workflow(
    deployed: &Deployed,
    takes: Duration,
    latency: Latency,
) -> Result<Sample, String> {
    let clock = VirtualClock::starting_at(model_epoch());
    let cloudfront = FakeCloudFront::new(clock, takes, latency);
    let client = cloudfront.client();
    // report-result calls CodePipeline only for a job; the model's runs have none.
    let pipeline = aws_sdk_codepipeline::Client::from_conf(
        aws_sdk_codepipeline::Config::builder()
            .behavior_version(aws_sdk_codepipeline::config::BehaviorVersion::latest())
            .region(aws_sdk_codepipeline::config::Region::new("us-east-1"))
            .build(),
    );
    let input = model_input();
    let context = asl::context("model", &rfc3339(clock.now()), &input);
    let usage = Rc::new(RefCell::new(Usage::default()));
    let warm: Rc<RefCell<HashSet<String>>> = Rc::default();
    let reported = Rc::new(Cell::new(None));
    let reply_window = Duration::from_secs(DEFAULT_REPLY_WINDOW_SECONDS);

    // The state bucket, in memory: the run's plan is kept there as it is on AWS.
    let store = Rc::new(MemoryStore::new());
    let invoke = |_: String, resource: String, payload: Value| {
        let (client, pipeline, usage, warm, reported, store) = (
            client.clone(),
            pipeline.clone(),
            usage.clone(),
            warm.clone(),
            reported.clone(),
            store.clone(),
        );
        async move {
            let began = clock.now();
            let budget =
                |function: &Function| Budget::until_deadline(began, began + function.timeout);
            let result = match resource.as_str() {
                "${StartInvalidationFunctionArn}" => start_invalidation(
                    &client,
                    &NoArtifacts,
                    &*store,
                    payload.into(),
                    budget(&deployed.start),
                    reply_window,
                    deployed.start.polling,
                )
                .await
                .map(|run| serde_json::to_value(run).unwrap_or_default()),
                "${CheckStatusFunctionArn}" => check_status(
                    &client,
                    &*store,
                    payload.into(),
                    budget(&deployed.check),
                    deployed.check.polling,
                )
                .await
                .map(|run| serde_json::to_value(run).unwrap_or_default()),
                "${ReportResultFunctionArn}" => {
                    reported.set(Some(began));
                    report_result(
                        &pipeline,
                        &*store,
                        payload.into(),
                        report_backoff(),
                        budget(&deployed.report),
                    )
                    .await
                    .map(|outcome| serde_json::to_value(outcome).unwrap_or_default())
                }
                other => return Err(format!("the model runs no {other}")),
            };
            let cold = warm.borrow_mut().insert(resource.clone());
            let ran = clock.now().duration_since(began).unwrap_or_default();
            let millis =
                ran.as_secs_f64() * 1000.0 + WARM_OVERHEAD_MS + if cold { INIT_MS } else { 0.0 };
            usage.borrow_mut().invoke(Architecture::Arm64, millis);
            result.map_err(|e| format!("{resource}: {}: {}", e.name(), e.message))
        }
    };
    let walk = asl::walk(
        &deployed.definition,
        input.clone(),
        &context,
        invoke,
        tokio::time::sleep,
    )
    .await?;
    if walk.ended_in != "Succeed" {
        return Err(format!("the run ended in {}", walk.ended_in));
    }
    let mut usage = *usage.borrow();
    usage.transitions = walk.entered.len() as u32;
    let completed = cloudfront
        .completion_times()
        .into_iter()
        .max()
        .ok_or("nothing was created")?;
    let lag = reported
        .get()
        .and_then(|at: SystemTime| at.duration_since(completed).ok());
    Ok(with_polls(
        Sample {
            lag,
            usage,
            ..Sample::default()
        },
        &cloudfront,
    ))
}

fn with_polls(mut sample: Sample, cloudfront: &FakeCloudFront) -> Sample {
    let polls = cloudfront.polls();
    sample.get_calls = polls.len() as u32;
    sample.max_calls_per_minute = (0..polls.len())
        .map(|first| {
            polls[first..]
                .iter()
                .take_while(|at| {
                    at.duration_since(polls[first]).unwrap_or_default() < Duration::from_secs(60)
                })
                .count() as u32
        })
        .max()
        .unwrap_or(0);
    sample
}

async fn create(client: &aws_sdk_cloudfront::Client) -> Result<String, String> {
    let batch = InvalidationBatch::builder()
        .caller_reference("model")
        .paths(
            Paths::builder()
                .quantity(1)
                .items("/*")
                .build()
                .map_err(|e| e.to_string())?,
        )
        .build()
        .map_err(|e| e.to_string())?;
    let created = client
        .create_invalidation()
        .distribution_id("E2QWRUHEXAMPLE")
        .invalidation_batch(batch)
        .send()
        .await
        .map_err(|e| format!("CreateInvalidation: {e}"))?;
    created
        .invalidation
        .map(|invalidation| invalidation.id)
        .ok_or_else(|| "CreateInvalidation returned no invalidation".to_owned())
}

/// botocore's waiter after a CreateInvalidation, in one Lambda.
pub async fn fixed_delay_waiter(
    waiter: FixedDelayWaiter,
    takes: Duration,
    latency: Latency,
) -> Result<Sample, String> {
    let clock = VirtualClock::starting_at(model_epoch());
    let cloudfront = FakeCloudFront::new(clock, takes, latency);
    let client = cloudfront.client();
    let id = create(&client).await?;
    let mut lag = None;
    for attempt in 1..=waiter.max_attempts {
        let answer = client
            .get_invalidation()
            .distribution_id("E2QWRUHEXAMPLE")
            .id(&id)
            .send()
            .await
            .map_err(|e| format!("GetInvalidation: {e}"))?;
        if answer.invalidation.is_some_and(|i| i.status == "Completed") {
            lag = Some(since_completion(&cloudfront, clock.now()));
            break;
        }
        if attempt < waiter.max_attempts {
            tokio::time::sleep(waiter.delay).await;
        }
    }
    let mut usage = Usage::default();
    usage.invoke(waiter.host, clock.elapsed().as_secs_f64() * 1000.0);
    Ok(with_polls(
        Sample {
            lag,
            usage,
            ..Sample::default()
        },
        &cloudfront,
    ))
}

/// The Rust SDK's `wait_until_invalidation_completed` after a CreateInvalidation, in one
/// Lambda on arm64; its jitter comes from fastrand's thread-local generator, seeded here.
pub async fn sdk_waiter(takes: Duration, latency: Latency, seed: u64) -> Result<Sample, String> {
    fastrand::seed(seed);
    let clock = VirtualClock::starting_at(model_epoch());
    let cloudfront = FakeCloudFront::new(clock, takes, latency);
    let client = cloudfront.client();
    let id = create(&client).await?;
    let waited = client
        .wait_until_invalidation_completed()
        .distribution_id("E2QWRUHEXAMPLE")
        .id(&id)
        .wait(SDK_WAITER_MAX_WAIT)
        .await;
    let lag = waited
        .is_ok()
        .then(|| since_completion(&cloudfront, clock.now()));
    let mut usage = Usage::default();
    usage.invoke(Architecture::Arm64, clock.elapsed().as_secs_f64() * 1000.0);
    Ok(with_polls(
        Sample {
            lag,
            usage,
            ..Sample::default()
        },
        &cloudfront,
    ))
}

fn since_completion(cloudfront: &FakeCloudFront, now: SystemTime) -> Duration {
    let completed = cloudfront
        .completion_times()
        .into_iter()
        .max()
        .unwrap_or(now);
    now.duration_since(completed).unwrap_or_default()
}

/// An oracle that knows when the invalidation completes and looks once, then: the cheaper of
/// waiting inside start-invalidation (StartInvalidation, WhatNext and the three report states)
/// or one Wait state and one check (seven states). Its lag is half a
/// GetInvalidation round trip: the call reaches CloudFront as the invalidation completes.
pub fn ideal(takes: Duration, latency: Latency) -> Sample {
    let create_ms = latency.create.as_secs_f64() * 1000.0;
    let get_ms = latency.get.as_secs_f64() * 1000.0;
    let overhead = WARM_OVERHEAD_MS + INIT_MS;
    let mut inside = Usage {
        transitions: 5,
        ..Usage::default()
    };
    inside.invoke(
        Architecture::Arm64,
        create_ms + takes.as_secs_f64() * 1000.0 + get_ms + overhead,
    );
    inside.invoke(Architecture::Arm64, overhead);
    let mut waiting = Usage {
        transitions: 7,
        ..Usage::default()
    };
    for millis in [create_ms, get_ms, 0.0] {
        waiting.invoke(Architecture::Arm64, millis + overhead);
    }
    let usage = if inside.cost_usd() <= waiting.cost_usd() {
        inside
    } else {
        waiting
    };
    Sample {
        lag: Some(latency.get / 2),
        usage,
        get_calls: 1,
        max_calls_per_minute: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paused() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
    }

    #[test]
    fn the_workflow_sees_a_quick_invalidation_complete_in_the_start_step() {
        let deployed = Deployed::load(&local_run::repo_root()).unwrap();
        let sample = paused()
            .block_on(workflow(&deployed, Duration::from_secs(7), Latency::MODEL))
            .unwrap();
        let lag = sample.lag.unwrap();
        assert!(lag <= Duration::from_secs(2), "{lag:?}");
        // StartInvalidation, WhatNext, ReportResult, RunSucceeded, Succeeded.
        assert_eq!((sample.usage.transitions, sample.usage.invocations), (5, 2));
        // Polls 2 s apart from 0.3 s, the creation's round trip, until the first after 7 s.
        assert_eq!(sample.get_calls, 4);
    }

    #[test]
    fn the_waiters_poll_every_20_s_and_give_up_after_their_attempts() {
        let runtime = paused();
        let quick = runtime
            .block_on(fixed_delay_waiter(
                CLI_WAITER,
                Duration::from_secs(5),
                Latency::MODEL,
            ))
            .unwrap();
        assert_eq!(quick.get_calls, 2, "at once, then 20 s later");
        let slow = runtime
            .block_on(fixed_delay_waiter(
                CLI_WAITER,
                Duration::from_secs(900),
                Latency::MODEL,
            ))
            .unwrap();
        assert_eq!((slow.lag, slow.get_calls), (None, 30));
        let sdk = runtime
            .block_on(sdk_waiter(Duration::from_secs(5), Latency::MODEL, 1))
            .unwrap();
        assert_eq!(
            sdk.get_calls, 2,
            "the SDK waiter's first delay is its 20 s minimum"
        );
        let sdk = runtime
            .block_on(sdk_waiter(Duration::from_secs(900), Latency::MODEL, 1))
            .unwrap();
        assert_eq!(sdk.lag, None, "past max_wait");
    }
}
