//! start-invalidation: validates the request, keeps its plan and creates the invalidations; the
//! work is [`invalidation::start::start_invalidation`].

use std::time::SystemTime;

use invalidation::artifact::S3Artifacts;
use invalidation::budget::Budget;
use invalidation::continuation::reply_window_from_env;
use invalidation::panics::catching_panics;
use invalidation::payload::Payload;
use invalidation::polling::Polling;
use invalidation::start::start_invalidation;
use invalidation::state_bucket::StateBucket;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    invalidation::logging::init();
    let reply_window = reply_window_from_env()?;
    let polling = Polling::from_env()?;
    let config = invalidation::sdk::config().await;
    let cloudfront = aws_sdk_cloudfront::Client::new(&config);
    let state_bucket = StateBucket::from_env(aws_sdk_s3::Client::from_conf(
        invalidation::sdk::s3_config(&config),
    ));
    // Paths files are read with each job's artifact credentials, not the function's role.
    let artifacts = S3Artifacts::new(invalidation::sdk::s3_config(&config));
    run(service_fn(|event: LambdaEvent<Payload>| {
        let budget = Budget::until_deadline(SystemTime::now(), event.context.deadline());
        catching_panics(start_invalidation(
            &cloudfront,
            &artifacts,
            &state_bucket,
            event.payload,
            budget,
            reply_window,
            polling,
        ))
    }))
    .await
}
