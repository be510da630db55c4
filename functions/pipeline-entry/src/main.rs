//! pipeline-entry: starts the state machine for a CodePipeline job, or reports why it cannot;
//! the work is [`invalidation::entry::start_pipeline_run`].

use invalidation::codepipeline::report_backoff;
use invalidation::entry::{start_pipeline_run, StateMachineTarget};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    invalidation::logging::init();
    let state_machine = StateMachineTarget::from_env();
    let config = aws_config::load_from_env().await;
    let step_functions = aws_sdk_sfn::Client::new(&config);
    let codepipeline = aws_sdk_codepipeline::Client::new(&config);
    run(service_fn(|event: LambdaEvent<Value>| {
        start_pipeline_run(
            &step_functions,
            &codepipeline,
            &state_machine,
            event.payload,
            report_backoff(),
        )
    }))
    .await
}
