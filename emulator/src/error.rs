//! The two kinds of error: [`Error`], why the emulator could not start, and
//! `ApiError`, the error a call is answered with, before any protocol gives
//! it its shape.

use std::borrow::Cow;

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is out of range or unknown.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The listening socket could not be opened.
    #[error("cannot listen on port {port}: {source}")]
    Bind {
        /// The port asked for (0 = any).
        port: u16,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// An error answer, in whichever protocol the call used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: Cow<'static, str>,
    pub message: String,
    /// Elements an S3 error document carries besides code and message
    /// (`Key`, `BucketName`…), in order; the other protocols have none.
    pub details: Vec<(&'static str, String)>,
}

impl ApiError {
    pub fn new(
        status: u16,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// Adds an element to an S3 error document.
    pub fn with_detail(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.details.push((name, value.into()));
        self
    }
}
