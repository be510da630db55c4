//! A panic in a step becomes the named error [`ErrorKind::FunctionPanicked`].
//!
//! lambda_runtime catches an unwinding panic too, but names it after the Rust type of the panic
//! payload (`alloc::boxed::Box<dyn core::any::Any + core::marker::Send>`), which no Catch of
//! the state machine can match by name; with `panic = "abort"` the process dies instead and
//! Step Functions sees `Runtime.ExitError`, which it retries as a lost answer. The release
//! profile unwinds (`Cargo.toml`), and each function's handler goes through
//! [`catching_panics`], so a bug fails the run at once with a message saying what panicked.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

use crate::error::{shorten, ErrorKind, WorkflowError};

/// `step`'s own result, or a [`ErrorKind::FunctionPanicked`] error when it panics. The panic
/// message has already been logged (on standard error, by the panic hook).
pub async fn catching_panics<T>(
    step: impl Future<Output = Result<T, WorkflowError>>,
) -> Result<T, WorkflowError> {
    // Unwind safety: a step shares nothing mutable with the next invocation but its SDK
    // clients, whose state (connection pools, credentials caches) stays valid after a
    // half-finished call, as after a timeout.
    // Boxed: the steps' futures are deep enough that wrapping one more layer around them in
    // place overflows rustc's query depth when it lays out a function's main.
    match AssertUnwindSafe(Box::pin(step)).catch_unwind().await {
        Ok(result) => result,
        Err(payload) => Err(WorkflowError::new(
            ErrorKind::FunctionPanicked,
            format!("the function panicked: {}", panic_message(&*payload)),
        )),
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        shorten(text)
    } else if let Some(text) = payload.downcast_ref::<String>() {
        shorten(text)
    } else {
        "(a panic without a message)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_step_fails_with_the_named_error_and_its_message() {
        let error = catching_panics(async {
            if std::hint::black_box(true) {
                panic!("batch {} out of range", 7);
            }
            Ok::<(), WorkflowError>(())
        })
        .await
        .unwrap_err();

        assert_eq!(error.name(), "FunctionPanicked");
        assert_eq!(error.message, "the function panicked: batch 7 out of range");
    }

    #[tokio::test]
    async fn a_step_that_does_not_panic_keeps_its_own_result() {
        let failed =
            catching_panics(async { Err::<(), _>(WorkflowError::invalid_input("paths: empty")) })
                .await;
        assert_eq!(failed, Err(WorkflowError::invalid_input("paths: empty")));
        assert_eq!(catching_panics(async { Ok(3) }).await, Ok(3));
    }
}
