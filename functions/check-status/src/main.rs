//! check-status: asks CloudFront how far the invalidations are and how long to wait; the work
//! is [`invalidation::check::check_status`].

use std::time::SystemTime;

use invalidation::artifact::S3Artifacts;
use invalidation::check::check_status;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    invalidation::logging::init();
    let config = aws_config::load_from_env().await;
    let cloudfront = aws_sdk_cloudfront::Client::new(&config);
    // Paths files are read with each job's artifact credentials, not the function's role.
    let artifacts = S3Artifacts::new(aws_sdk_s3::Config::new(&config));
    run(service_fn(|event: LambdaEvent<Value>| {
        check_status(&cloudfront, &artifacts, event.payload, SystemTime::now())
    }))
    .await
}
