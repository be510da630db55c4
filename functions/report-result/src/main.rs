//! report-result: records the outcome on the CodePipeline job, if any, shapes the execution's
//! output and writes the run's metric record; the work is
//! [`invalidation::report::report_result_with_metrics`].

use std::time::SystemTime;

use invalidation::budget::Budget;
use invalidation::codepipeline::report_backoff;
use invalidation::metrics::MetricsOutput;
use invalidation::panics::catching_panics;
use invalidation::payload::Payload;
use invalidation::report::report_result_with_metrics;
use invalidation::state_bucket::StateBucket;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    invalidation::logging::init();
    let config = invalidation::sdk::config().await;
    let codepipeline = aws_sdk_codepipeline::Client::new(&config);
    // A run that replies "in progress" leaves its state there for the next job.
    let state_bucket = StateBucket::from_env(aws_sdk_s3::Client::from_conf(
        invalidation::sdk::s3_config(&config),
    ));
    // The run's metric record goes to standard output, which Lambda sends to CloudWatch Logs.
    let metrics = MetricsOutput::from_env();
    run(service_fn(|event: LambdaEvent<Payload>| {
        let budget = Budget::until_deadline(SystemTime::now(), event.context.deadline());
        catching_panics(report_result_with_metrics(
            &codepipeline,
            &state_bucket,
            event.payload,
            report_backoff(),
            budget,
            &metrics,
        ))
    }))
    .await
}
