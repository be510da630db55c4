//! The run's times as text: RFC 3339, as Step Functions writes `$$.Execution.StartTime`, in
//! the payloads between steps and in messages.

use std::time::SystemTime;

use aws_smithy_types::date_time::{DateTime, Format};

use crate::error::WorkflowError;

/// Reads an RFC 3339 time such as Step Functions' `$$.Execution.StartTime`.
pub(crate) fn parse_time(field: &str, text: &str) -> Result<SystemTime, WorkflowError> {
    DateTime::from_str(text, Format::DateTime)
        .ok()
        .and_then(|time| SystemTime::try_from(time).ok())
        .ok_or_else(|| {
            WorkflowError::invalid_input(format!("{field} `{text}` is not an RFC 3339 time"))
        })
}

/// A time as RFC 3339 text in UTC.
pub(crate) fn format_time(time: SystemTime) -> String {
    DateTime::from(time)
        .fmt(Format::DateTime)
        .expect("a SystemTime after the epoch formats as RFC 3339")
}
