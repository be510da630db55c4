//! check-status: asks CloudFront how far the invalidations are and how long to wait; the work
//! is [`invalidation::check::check_status`].

use std::time::SystemTime;

use invalidation::budget::Budget;
use invalidation::check::check_status;
use invalidation::panics::catching_panics;
use invalidation::payload::Payload;
use invalidation::polling::Polling;
use invalidation::state_bucket::StateBucket;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    invalidation::logging::init();
    let polling = Polling::from_env()?;
    let config = invalidation::sdk::config().await;
    let cloudfront = aws_sdk_cloudfront::Client::new(&config);
    // Later batches' paths come from the run's plan there.
    let state_bucket = StateBucket::from_env(aws_sdk_s3::Client::from_conf(
        invalidation::sdk::s3_config(&config),
    ));
    run(service_fn(|event: LambdaEvent<Payload>| {
        let budget = Budget::until_deadline(SystemTime::now(), event.context.deadline());
        catching_panics(check_status(
            &cloudfront,
            &state_bucket,
            event.payload,
            budget,
            polling,
        ))
    }))
    .await
}
