//! pipeline-entry: plans the run for a CodePipeline job and starts the state machine, or reports
//! why it cannot; the work is [`invalidation::entry::start_pipeline_run`].

use std::time::SystemTime;

use invalidation::artifact::S3Artifacts;
use invalidation::budget::Budget;
use invalidation::codepipeline::report_backoff;
use invalidation::entry::{start_pipeline_run, StateMachineTarget};
use invalidation::panics::catching_panics;
use invalidation::payload::Payload;
use invalidation::state_bucket::StateBucket;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    invalidation::logging::init();
    let state_machine = StateMachineTarget::from_env();
    let config = invalidation::sdk::config().await;
    let step_functions = aws_sdk_sfn::Client::new(&config);
    let codepipeline = aws_sdk_codepipeline::Client::new(&config);
    let state_bucket = StateBucket::from_env(aws_sdk_s3::Client::from_conf(
        invalidation::sdk::s3_config(&config),
    ));
    // A paths file is read here, with the job's artifact credentials, so the run needs none.
    let artifacts = S3Artifacts::new(invalidation::sdk::s3_config(&config));
    run(service_fn(|event: LambdaEvent<Payload>| {
        let budget = Budget::until_deadline(SystemTime::now(), event.context.deadline());
        catching_panics(start_pipeline_run(
            &step_functions,
            &codepipeline,
            &artifacts,
            &state_bucket,
            &state_machine,
            event.payload,
            report_backoff(),
            budget,
        ))
    }))
    .await
}
