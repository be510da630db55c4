//! report-result: records the outcome on the CodePipeline job, if any, and shapes the
//! execution's output; the work is [`invalidation::report::report_result`].

use invalidation::codepipeline::report_backoff;
use invalidation::panics::catching_panics;
use invalidation::payload::Payload;
use invalidation::report::report_result;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    invalidation::logging::init();
    let config = invalidation::sdk::config().await;
    let codepipeline = aws_sdk_codepipeline::Client::new(&config);
    run(service_fn(|event: LambdaEvent<Payload>| {
        catching_panics(report_result(
            &codepipeline,
            event.payload,
            report_backoff(),
        ))
    }))
    .await
}
