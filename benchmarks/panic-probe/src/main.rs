//! panic-probe: panics at each invocation, behind the same [`catching_panics`] and release
//! profile as the four functions, so that `footprint` can show what Step Functions would see.

use invalidation::panics::catching_panics;
use invalidation::WorkflowError;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    invalidation::logging::init();
    run(service_fn(|event: LambdaEvent<Value>| {
        catching_panics(async move {
            let batches = event.payload["batches"].as_array().map_or(0, Vec::len);
            // The kind of bug a panic is: an index past the end.
            let first: [u32; 0] = [];
            Ok::<Value, WorkflowError>(Value::from(first[batches]))
        })
    }))
    .await
}
