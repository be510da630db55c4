//! The two CloudFront calls the workflow makes, with errors mapped to [`WorkflowError`].
//!
//! A distribution tenant of a multi-tenant distribution (id `dt_…`) has its own pair of
//! operations, CreateInvalidationForDistributionTenant and GetInvalidationForDistributionTenant,
//! with the same batch and the same answer; the id alone decides which pair is called.

use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
use aws_sdk_cloudfront::Client;

use crate::aws_error::classify;
use crate::error::{ErrorKind, WorkflowError};
use crate::payload::InvalidationState;
use crate::planning::is_tag;
use crate::request::is_distribution_tenant_id;

/// Creates an invalidation, or gets back the one created earlier with the same caller
/// reference and paths (CloudFront answers a repeated request with the existing invalidation).
pub async fn create_invalidation(
    client: &Client,
    distribution_id: &str,
    caller_reference: &str,
    paths: &[String],
) -> Result<InvalidationState, WorkflowError> {
    let tenant = is_distribution_tenant_id(distribution_id);
    let call = if tenant {
        format!("CreateInvalidationForDistributionTenant on distribution tenant {distribution_id}")
    } else {
        format!("CreateInvalidation on distribution {distribution_id}")
    };
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
    let invalidation = if tenant {
        client
            .create_invalidation_for_distribution_tenant()
            .id(distribution_id)
            .invalidation_batch(batch)
            .send()
            .await
            .map_err(|e| with_tag_hint(classify(&call, e), paths))?
            .invalidation
    } else {
        client
            .create_invalidation()
            .distribution_id(distribution_id)
            .invalidation_batch(batch)
            .send()
            .await
            .map_err(|e| with_tag_hint(classify(&call, e), paths))?
            .invalidation
    };
    let invalidation = invalidation.ok_or_else(|| {
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

/// Says what to check when CloudFront refuses a batch that holds cache tags. CloudFront's
/// documentation does not say what it answers for a tag on a distribution without a
/// `CacheTagConfig`; a refusal of the batch (`InvalidArgument`) is the likely answer, and the
/// missing configuration is the likely cause once planning has checked every tag's syntax.
fn with_tag_hint(mut error: WorkflowError, paths: &[String]) -> WorkflowError {
    let tags = paths.iter().filter(|item| is_tag(item)).count();
    if error.kind == ErrorKind::InvalidInput && tags > 0 {
        error.message.push_str(&format!(
            " (the batch holds {tags} cache tag{}: CloudFront invalidates by tag only on a \
             distribution whose DistributionConfig has a CacheTagConfig naming the response \
             header that carries the tags, such as x-amz-meta-cache-tag for an S3 origin)",
            if tags == 1 { "" } else { "s" }
        ));
    }
    error
}

/// CloudFront's current status of an invalidation: `InProgress` or `Completed`.
pub async fn invalidation_status(
    client: &Client,
    distribution_id: &str,
    invalidation_id: &str,
) -> Result<String, WorkflowError> {
    let tenant = is_distribution_tenant_id(distribution_id);
    let call = if tenant {
        format!(
            "GetInvalidationForDistributionTenant {invalidation_id} on distribution tenant \
             {distribution_id}"
        )
    } else {
        format!("GetInvalidation {invalidation_id} on distribution {distribution_id}")
    };
    let invalidation = if tenant {
        client
            .get_invalidation_for_distribution_tenant()
            .distribution_tenant_id(distribution_id)
            .id(invalidation_id)
            .send()
            .await
            .map_err(|e| classify(&call, e))?
            .invalidation
    } else {
        client
            .get_invalidation()
            .distribution_id(distribution_id)
            .id(invalidation_id)
            .send()
            .await
            .map_err(|e| classify(&call, e))?
            .invalidation
    };
    invalidation
        .map(|invalidation| invalidation.status)
        .ok_or_else(|| {
            WorkflowError::new(
                ErrorKind::AwsRequestFailed,
                format!("{call}: the answer held no invalidation"),
            )
        })
}
