//! report-result: records the outcome on the CodePipeline job, if any, and shapes the
//! execution's output; the work is [`invalidation::report::report_result`].

use invalidation::codepipeline::report_backoff;
use invalidation::report::report_result;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    invalidation::logging::init();
    let config = aws_config::load_from_env().await;
    let codepipeline = aws_sdk_codepipeline::Client::new(&config);
    run(service_fn(|event: LambdaEvent<Value>| {
        report_result(&codepipeline, event.payload, report_backoff())
    }))
    .await
}
