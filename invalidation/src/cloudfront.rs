//! The two CloudFront calls the workflow makes, with errors mapped to [`WorkflowError`].

use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
use aws_sdk_cloudfront::Client;

use crate::aws_error::classify;
use crate::error::{ErrorKind, WorkflowError};
use crate::payload::InvalidationState;

/// Creates an invalidation, or gets back the one created earlier with the same caller
/// reference and paths (CloudFront answers a repeated request with the existing invalidation).
pub async fn create_invalidation(
    client: &Client,
    distribution_id: &str,
    caller_reference: &str,
    paths: &[String],
) -> Result<InvalidationState, WorkflowError> {
    let call = format!("CreateInvalidation on distribution {distribution_id}");
    let batch = InvalidationBatch::builder()
        .caller_reference(caller_reference)
        .paths(
            Paths::builder()
                .quantity(paths.len() as i32)
                .set_items(Some(paths.to_vec()))
                .build()
                .map_err(|e| WorkflowError::invalid_input(format!("{call}: {e}")))?,
        )
        .build()
        .map_err(|e| WorkflowError::invalid_input(format!("{call}: {e}")))?;
    let output = client
        .create_invalidation()
        .distribution_id(distribution_id)
        .invalidation_batch(batch)
        .send()
        .await
        .map_err(|e| classify(&call, e))?;
    let invalidation = output.invalidation.ok_or_else(|| {
        WorkflowError::new(
            ErrorKind::AwsRequestFailed,
            format!("{call}: the answer held no invalidation"),
        )
    })?;
    Ok(InvalidationState {
        distribution_id: distribution_id.to_owned(),
        invalidation_id: invalidation.id,
        caller_reference: caller_reference.to_owned(),
        status: invalidation.status,
    })
}

/// CloudFront's current status of an invalidation: `InProgress` or `Completed`.
pub async fn invalidation_status(
    client: &Client,
    distribution_id: &str,
    invalidation_id: &str,
) -> Result<String, WorkflowError> {
    let call = format!("GetInvalidation {invalidation_id} on distribution {distribution_id}");
    let output = client
        .get_invalidation()
        .distribution_id(distribution_id)
        .id(invalidation_id)
        .send()
        .await
        .map_err(|e| classify(&call, e))?;
    output
        .invalidation
        .map(|invalidation| invalidation.status)
        .ok_or_else(|| {
            WorkflowError::new(
                ErrorKind::AwsRequestFailed,
                format!("{call}: the answer held no invalidation"),
            )
        })
}
