//! The two CloudFront calls the workflow makes, with errors mapped to [`WorkflowError`].
//!
//! A distribution tenant of a multi-tenant distribution (id `dt_…`) has its own pair of
//! operations, CreateInvalidationForDistributionTenant and GetInvalidationForDistributionTenant,
//! with the same batch and the same answer; the id alone decides which pair is called.

use aws_sdk_cloudfront::types::{Invalidation, InvalidationBatch, Paths};
use aws_sdk_cloudfront::Client;

use crate::aws_error::classify;
use crate::error::truncate_chars;
use crate::error::{ErrorKind, WorkflowError};
use crate::limits::is_distribution_tenant_id;
use crate::planning::is_tag;
use crate::run::{CreatedInvalidation, MAX_ID_CHARS, MAX_STATUS_CHARS};

/// What an invalidation belongs to: a distribution, or a distribution tenant of a
/// multi-tenant distribution. The id alone decides (`dt_…` is a tenant), and this is the one
/// place that picks the pair of operations for it.
#[derive(Debug, Clone, Copy)]
enum Target<'a> {
    Distribution(&'a str),
    Tenant(&'a str),
}

impl<'a> Target<'a> {
    fn of(id: &'a str) -> Self {
        if is_distribution_tenant_id(id) {
            Target::Tenant(id)
        } else {
            Target::Distribution(id)
        }
    }

    /// The call as messages name it, e.g. "CreateInvalidation on distribution E2QWRUHEXAMPLE",
    /// or, for a tenant, "CreateInvalidationForDistributionTenant on distribution tenant dt_…".
    /// `operation` is the distribution operation's name; `subject` what it acts on, if more
    /// than the target (an invalidation id).
    fn call(self, operation: &str, subject: Option<&str>) -> String {
        let subject = subject.map(|s| format!(" {s}")).unwrap_or_default();
        match self {
            Target::Distribution(id) => format!("{operation}{subject} on distribution {id}"),
            Target::Tenant(id) => {
                format!("{operation}ForDistributionTenant{subject} on distribution tenant {id}")
            }
        }
    }

    async fn create(
        self,
        client: &Client,
        batch: InvalidationBatch,
        call: &str,
    ) -> Result<Option<Invalidation>, WorkflowError> {
        let tags = batch.paths().map_or(0, |paths| {
            paths.items().iter().filter(|i| is_tag(i)).count()
        });
        let refused = |error: WorkflowError| with_tag_hint(error, tags);
        match self {
            Target::Distribution(id) => client
                .create_invalidation()
                .distribution_id(id)
                .invalidation_batch(batch)
                .send()
                .await
                .map(|output| output.invalidation)
                .map_err(|e| refused(classify(call, e))),
            Target::Tenant(id) => client
                .create_invalidation_for_distribution_tenant()
                .id(id)
                .invalidation_batch(batch)
                .send()
                .await
                .map(|output| output.invalidation)
                .map_err(|e| refused(classify(call, e))),
        }
    }

    async fn get(
        self,
        client: &Client,
        invalidation_id: &str,
        call: &str,
    ) -> Result<Option<Invalidation>, WorkflowError> {
        match self {
            Target::Distribution(id) => client
                .get_invalidation()
                .distribution_id(id)
                .id(invalidation_id)
                .send()
                .await
                .map(|output| output.invalidation)
                .map_err(|e| classify(call, e)),
            Target::Tenant(id) => client
                .get_invalidation_for_distribution_tenant()
                .distribution_tenant_id(id)
                .id(invalidation_id)
                .send()
                .await
                .map(|output| output.invalidation)
                .map_err(|e| classify(call, e)),
        }
    }
}

/// Creates an invalidation, or gets back the one created earlier with the same caller
/// reference and paths (CloudFront answers a repeated request with the existing invalidation).
pub async fn create_invalidation(
    client: &Client,
    distribution_id: &str,
    caller_reference: &str,
    paths: &[String],
) -> Result<CreatedInvalidation, WorkflowError> {
    let target = Target::of(distribution_id);
    let call = target.call("CreateInvalidation", None);
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
    let invalidation = target
        .create(client, batch, &call)
        .await?
        .ok_or_else(|| no_invalidation(&call))?;
    if invalidation.id.is_empty() || invalidation.id.chars().count() > MAX_ID_CHARS {
        return Err(WorkflowError::new(
            ErrorKind::AwsRequestFailed,
            format!(
                "{call}: the answer's invalidation id `{}` is not an id CloudFront gives",
                truncate_chars(&invalidation.id, MAX_ID_CHARS)
            ),
        ));
    }
    Ok(CreatedInvalidation {
        id: invalidation.id,
        status: truncate_chars(&invalidation.status, MAX_STATUS_CHARS),
        ..CreatedInvalidation::default()
    })
}

/// Says what to check when CloudFront refuses a batch that holds cache tags. CloudFront's
/// documentation does not say what it answers for a tag on a distribution without a
/// `CacheTagConfig`; a refusal of the batch (`InvalidArgument`) is the likely answer, and the
/// missing configuration is the likely cause once planning has checked every tag's syntax.
fn with_tag_hint(mut error: WorkflowError, tags: usize) -> WorkflowError {
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
    let target = Target::of(distribution_id);
    let call = target.call("GetInvalidation", Some(invalidation_id));
    target
        .get(client, invalidation_id, &call)
        .await?
        .map(|invalidation| truncate_chars(&invalidation.status, MAX_STATUS_CHARS))
        .ok_or_else(|| no_invalidation(&call))
}

fn no_invalidation(call: &str) -> WorkflowError {
    WorkflowError::new(
        ErrorKind::AwsRequestFailed,
        format!("{call}: the answer held no invalidation"),
    )
}
