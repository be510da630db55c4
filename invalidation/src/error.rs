//! The error names the state machine matches, and what each one means for CodePipeline.
//!
//! Every function reports failures as a [`WorkflowError`]; its variant name becomes the Lambda
//! `errorType`, which Step Functions uses as the error name in `Retry` and `Catch`. The names are
//! part of the contract: `statemachine/invalidation.asl.json` and the README list them, so renaming
//! a variant is a breaking change.

use lambda_runtime::Diagnostic;
use serde::{Deserialize, Serialize};

/// What kind of failure a step met; the variant name is the error name Step Functions sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    /// The request (console input, UserParameters or a function payload) is malformed or holds a
    /// value CloudFront would reject. Nothing was created. Not retried.
    InvalidInput,
    /// CloudFront has no distribution with the requested id. Not retried.
    DistributionNotFound,
    /// The function's role may not act on the distribution, or the pipeline job. Not retried.
    AccessDenied,
    /// The distribution already has as many invalidations in progress as CloudFront allows.
    /// Classified, never returned: start-invalidation and check-status keep the batch pending
    /// and submit it at a later check, once the other invalidations finish.
    TooManyInvalidationsInProgress,
    /// An AWS API answered with a throttling error. Retried with backoff.
    Throttled,
    /// An AWS API answered 5xx, or could not be reached in time. Retried with backoff.
    ServiceUnavailable,
    /// The same caller reference was already used for a different set of paths, so CloudFront
    /// refused to create a second invalidation under it. Not retried.
    InvalidationConflict,
    /// CloudFront does not know an invalidation this run created. Not retried.
    InvalidationNotFound,
    /// The invalidations did not complete before the run's deadline (`timeoutSeconds`).
    InvalidationTimedOut,
    /// The CodePipeline job already had a result before this run tried to record its own.
    JobAlreadyClosed,
    /// CodePipeline refused the result (unknown job, invalid field). Not retried.
    JobReportRejected,
    /// Any other error an AWS API returned. Not retried.
    AwsRequestFailed,
    /// The state bucket holds another plan (or a state of another format) under this run's
    /// name: the name (execution name, or job id) was used for another request. Nothing is
    /// overwritten or submitted. Not retried.
    PlanConflict,
    /// The state bucket holds no plan (or continued state) where the run expects one: expired
    /// under the bucket's lifecycle rule, or the functions name another bucket. Not retried.
    PlanNotFound,
    /// A function's code panicked: a bug, which would panic again. Not retried. The message
    /// says what panicked (see [`crate::panics`]).
    FunctionPanicked,
}

impl ErrorKind {
    /// Every kind, in declaration order (for documentation checks and tests).
    pub const ALL: [ErrorKind; 15] = [
        Self::InvalidInput,
        Self::DistributionNotFound,
        Self::AccessDenied,
        Self::TooManyInvalidationsInProgress,
        Self::Throttled,
        Self::ServiceUnavailable,
        Self::InvalidationConflict,
        Self::InvalidationNotFound,
        Self::InvalidationTimedOut,
        Self::JobAlreadyClosed,
        Self::JobReportRejected,
        Self::AwsRequestFailed,
        Self::PlanConflict,
        Self::PlanNotFound,
        Self::FunctionPanicked,
    ];

    /// The stable error name: the Lambda `errorType` and the Step Functions error name.
    pub fn name(self) -> &'static str {
        match self {
            Self::InvalidInput => "InvalidInput",
            Self::DistributionNotFound => "DistributionNotFound",
            Self::AccessDenied => "AccessDenied",
            Self::TooManyInvalidationsInProgress => "TooManyInvalidationsInProgress",
            Self::Throttled => "Throttled",
            Self::ServiceUnavailable => "ServiceUnavailable",
            Self::InvalidationConflict => "InvalidationConflict",
            Self::InvalidationNotFound => "InvalidationNotFound",
            Self::InvalidationTimedOut => "InvalidationTimedOut",
            Self::JobAlreadyClosed => "JobAlreadyClosed",
            Self::JobReportRejected => "JobReportRejected",
            Self::AwsRequestFailed => "AwsRequestFailed",
            Self::PlanConflict => "PlanConflict",
            Self::PlanNotFound => "PlanNotFound",
            Self::FunctionPanicked => "FunctionPanicked",
        }
    }

    /// The kind whose [`name`](Self::name) this is, if it is one of ours.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The `failureDetails.type` CodePipeline gets when a run fails with this kind.
    pub fn failure_type(self) -> FailureType {
        match self {
            Self::InvalidInput | Self::DistributionNotFound => FailureType::ConfigurationError,
            Self::AccessDenied => FailureType::PermissionError,
            kind if kind.is_transient() => FailureType::SystemUnavailable,
            _ => FailureType::JobFailed,
        }
    }

    /// Whether waiting and calling again can succeed: every Task of the state machine retries
    /// these names (see [`retried_error_names`]), and the functions retry their own calls on
    /// them. [`TooManyInvalidationsInProgress`](Self::TooManyInvalidationsInProgress) is not
    /// among them: a batch CloudFront refuses for its limit waits for the next check instead.
    pub fn is_transient(self) -> bool {
        matches!(self, Self::Throttled | Self::ServiceUnavailable)
    }

    /// The names of the [transient](Self::is_transient) kinds, in declaration order.
    pub fn transient_names() -> impl Iterator<Item = &'static str> {
        Self::ALL
            .into_iter()
            .filter(|kind| kind.is_transient())
            .map(Self::name)
    }
}

/// Lambda's own errors for an invocation that its service failed or throttled (the list Step
/// Functions recommends retrying for a Lambda task).
pub const LAMBDA_SERVICE_ERRORS: [&str; 5] = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
];

/// The errors of a function that never answered for itself: it timed out (Lambda's
/// `Sandbox.Timedout`, the Task's `States.Timeout`), its process exited (`Runtime.ExitError`) or
/// Lambda could not say (`Lambda.Unknown`). Every step is idempotent, so these are retried too.
pub const LOST_ANSWER_ERRORS: [&str; 4] = [
    "Sandbox.Timedout",
    "Runtime.ExitError",
    "Lambda.Unknown",
    "States.Timeout",
];

/// Every error name each function Task of the state machine retries, and no other: Lambda's
/// service errors, our transient kinds and the lost answers. The contract test holds the
/// definition in `statemachine/` to exactly this.
pub fn retried_error_names() -> Vec<&'static str> {
    LAMBDA_SERVICE_ERRORS
        .into_iter()
        .chain(ErrorKind::transient_names())
        .chain(LOST_ANSWER_ERRORS)
        .collect()
}

/// A failure of one step of the workflow. The message names the value that caused it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct WorkflowError {
    /// What kind of failure; decides retries and the CodePipeline failure type.
    pub kind: ErrorKind,
    /// What failed and why, for a person.
    pub message: String,
}

impl WorkflowError {
    /// An error of this kind with this message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// Shorthand for an [`ErrorKind::InvalidInput`] error.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// The stable error name of this error's kind.
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// Whether the state machine retries this error.
    pub fn is_transient(&self) -> bool {
        self.kind.is_transient()
    }

    /// The same error with more context appended to its message.
    pub fn with_context(mut self, context: impl std::fmt::Display) -> Self {
        self.message = format!("{}; {context}", self.message);
        self
    }
}

impl From<WorkflowError> for Diagnostic {
    fn from(error: WorkflowError) -> Self {
        Diagnostic {
            error_type: error.name().to_owned(),
            error_message: error.message,
        }
    }
}

/// The `failureDetails.type` of a PutJobFailureResult, chosen by what went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureType {
    /// The pipeline's configuration is wrong: bad input, unknown distribution.
    ConfigurationError,
    /// The function's role lacks a permission.
    PermissionError,
    /// An AWS service was throttling, failing (5xx) or not answering in time, and kept doing so
    /// through every retry: running the action again later may well succeed.
    SystemUnavailable,
    /// Anything else.
    JobFailed,
}

impl FailureType {
    /// The failure type for an error name as Step Functions reports it: one of ours (see
    /// [`ErrorKind::failure_type`]), or one of its own. Of those, Lambda's service errors and
    /// timeouts are `SystemUnavailable`; the rest (`Lambda.Unknown`, `Runtime.ExitError`, …)
    /// are `JobFailed`.
    pub fn for_error_name(name: &str) -> Self {
        match ErrorKind::from_name(name) {
            Some(kind) => kind.failure_type(),
            // A service that was failing, or a step that ran out of time, may well do
            // better later; a crash would crash again.
            None if LAMBDA_SERVICE_ERRORS.contains(&name)
                || ["States.Timeout", "Sandbox.Timedout"].contains(&name) =>
            {
                Self::SystemUnavailable
            }
            None => Self::JobFailed,
        }
    }

    /// The name CodePipeline uses for this type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConfigurationError => "ConfigurationError",
            Self::PermissionError => "PermissionError",
            Self::SystemUnavailable => "SystemUnavailable",
            Self::JobFailed => "JobFailed",
        }
    }
}

/// Long values are cut in messages so that one bad path does not flood a pipeline's console.
pub(crate) fn shorten(text: &str) -> String {
    const KEEP: usize = 100;
    match text.char_indices().nth(KEEP) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// The text cut to at most `max` characters, ending in `…` when cut.
pub fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((at, _)) if text[at..].chars().nth(1).is_some() => format!("{}…", &text[..at]),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostic_carries_the_stable_name_and_the_message() {
        let diagnostic = Diagnostic::from(WorkflowError::new(
            ErrorKind::DistributionNotFound,
            "no E123",
        ));
        assert_eq!(diagnostic.error_type, "DistributionNotFound");
        assert_eq!(diagnostic.error_message, "no E123");
    }

    #[test]
    fn names_are_the_variant_names() {
        for kind in ErrorKind::ALL {
            assert_eq!(kind.name(), format!("{kind:?}"));
        }
    }

    #[test]
    fn failure_type_follows_the_cause() {
        let expect = [
            ("InvalidInput", FailureType::ConfigurationError),
            ("DistributionNotFound", FailureType::ConfigurationError),
            ("AccessDenied", FailureType::PermissionError),
            ("InvalidationTimedOut", FailureType::JobFailed),
            ("JobAlreadyClosed", FailureType::JobFailed),
            ("Throttled", FailureType::SystemUnavailable),
            ("ServiceUnavailable", FailureType::SystemUnavailable),
            ("Lambda.ServiceException", FailureType::SystemUnavailable),
            (
                "Lambda.TooManyRequestsException",
                FailureType::SystemUnavailable,
            ),
            ("States.Timeout", FailureType::SystemUnavailable),
            ("Sandbox.Timedout", FailureType::SystemUnavailable),
            ("Lambda.Unknown", FailureType::JobFailed),
            ("Runtime.ExitError", FailureType::JobFailed),
        ];
        for (name, failure_type) in expect {
            assert_eq!(FailureType::for_error_name(name), failure_type, "{name}");
        }
    }

    #[test]
    fn only_throttling_and_unavailability_are_transient() {
        let transient: Vec<_> = ErrorKind::transient_names().collect();
        assert_eq!(transient, ["Throttled", "ServiceUnavailable"]);
    }

    #[test]
    fn context_is_appended_and_the_name_kept() {
        let error = WorkflowError::new(ErrorKind::AccessDenied, "denied on E1")
            .with_context("already created I1 on E0");
        assert_eq!(error.name(), "AccessDenied");
        assert_eq!(error.message, "denied on E1; already created I1 on E0");
    }

    #[test]
    fn text_within_the_limit_is_kept_and_longer_text_is_cut_to_the_limit() {
        assert_eq!(truncate_chars("abc", 3), "abc");
        assert_eq!(truncate_chars("abcd", 3), "ab…");
        assert_eq!(truncate_chars("ééééé", 4).chars().count(), 4);
        let long = "x".repeat(6000);
        assert_eq!(truncate_chars(&long, 5000).chars().count(), 5000);
    }
}
