//! Turns an AWS SDK error into a [`WorkflowError`], the same way for every service call.
//!
//! Errors are classified by their code rather than by each operation's error enum: the same
//! code (`AccessDenied`, `Throttling`) means the same thing whichever operation returned it, and
//! some codes CloudFront sends (`InvalidationBatchAlreadyExists`, `Throttling`) are not modelled
//! at all, so they would reach an enum only as `Unhandled`.

use aws_sdk_cloudfront::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::error::{ErrorKind, WorkflowError};

/// Error codes AWS services use for throttling (the SDKs' own list, plus CloudFront's).
const THROTTLING_CODES: [&str; 10] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "LimitExceededException",
];

/// Codes of errors that mean "try again later" without being throttling.
const UNAVAILABLE_CODES: [&str; 7] = [
    "ServiceUnavailable",
    // S3: a conditional write met another write of the same key; "you can retry the request".
    "ConditionalRequestConflict",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// The kind of failure an AWS error code stands for, if the code alone says it.
fn kind_of_code(code: &str) -> Option<ErrorKind> {
    let kind = match code {
        "NoSuchDistribution" | "EntityNotFound" => ErrorKind::DistributionNotFound,
        // The last three come from S3 when a job's artifact credentials do not open its artifact.
        "AccessDenied"
        | "AccessDeniedException"
        | "ExpiredToken"
        | "InvalidAccessKeyId"
        | "InvalidToken" => ErrorKind::AccessDenied,
        "TooManyInvalidationsInProgress" => ErrorKind::TooManyInvalidationsInProgress,
        // NoSuchBucket: the state bucket the functions are given does not exist.
        "InvalidArgument"
        | "BatchTooLarge"
        | "InconsistentQuantities"
        | "MissingBody"
        | "NoSuchBucket" => ErrorKind::InvalidInput,
        "InvalidationBatchAlreadyExists" => ErrorKind::InvalidationConflict,
        "NoSuchInvalidation" => ErrorKind::InvalidationNotFound,
        "InvalidJobStateException" => ErrorKind::JobAlreadyClosed,
        "JobNotFoundException" | "ValidationException" | "OutputVariablesSizeExceededException" => {
            ErrorKind::JobReportRejected
        }
        code if THROTTLING_CODES.contains(&code) => ErrorKind::Throttled,
        code if UNAVAILABLE_CODES.contains(&code) => ErrorKind::ServiceUnavailable,
        _ => return None,
    };
    Some(kind)
}

/// Classifies an SDK error. `call` names the operation and its target for the message, e.g.
/// "CreateInvalidation on distribution E2QWRUHEXAMPLE".
pub(crate) fn classify<E>(call: &str, error: SdkError<E, HttpResponse>) -> WorkflowError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match &error {
        SdkError::ServiceError(context) => {
            let code = context.err().code().unwrap_or("UnknownError");
            let status = context.raw().status().as_u16();
            let detail = context.err().message().unwrap_or("no message");
            let kind = kind_of_code(code).unwrap_or(if status >= 500 {
                ErrorKind::ServiceUnavailable
            } else {
                ErrorKind::AwsRequestFailed
            });
            WorkflowError::new(kind, format!("{call}: {code} (HTTP {status}): {detail}"))
        }
        // Timeouts and connection failures: the request may not have arrived, so a retry is
        // safe (creation is idempotent through the CallerReference).
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            WorkflowError::new(
                ErrorKind::ServiceUnavailable,
                format!("{call}: {}", DisplayErrorContext(&error)),
            )
        }
        _ => WorkflowError::new(
            ErrorKind::AwsRequestFailed,
            format!("{call}: {}", DisplayErrorContext(&error)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_both_services_map_to_their_kinds() {
        let expect = [
            ("NoSuchDistribution", ErrorKind::DistributionNotFound),
            ("AccessDenied", ErrorKind::AccessDenied),
            (
                "TooManyInvalidationsInProgress",
                ErrorKind::TooManyInvalidationsInProgress,
            ),
            ("InvalidArgument", ErrorKind::InvalidInput),
            ("BatchTooLarge", ErrorKind::InvalidInput),
            (
                "InvalidationBatchAlreadyExists",
                ErrorKind::InvalidationConflict,
            ),
            ("NoSuchInvalidation", ErrorKind::InvalidationNotFound),
            ("Throttling", ErrorKind::Throttled),
            ("ThrottlingException", ErrorKind::Throttled),
            ("ServiceUnavailable", ErrorKind::ServiceUnavailable),
            ("InvalidJobStateException", ErrorKind::JobAlreadyClosed),
            ("JobNotFoundException", ErrorKind::JobReportRejected),
            ("ValidationException", ErrorKind::JobReportRejected),
        ];
        for (code, kind) in expect {
            assert_eq!(kind_of_code(code), Some(kind), "{code}");
        }
        assert_eq!(kind_of_code("SomethingNew"), None);
    }
}
