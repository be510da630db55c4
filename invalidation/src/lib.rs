//! The contract of the CloudFront invalidation workflow.
//!
//! Four Lambda functions. Three, chained by the state machine in `statemachine/`, create
//! CloudFront invalidations, wait until CloudFront reports them `Completed`, and report the
//! outcome to CodePipeline; the fourth, pipeline-entry, starts a run for a CodePipeline Lambda
//! invoke action's job. Each function's `main.rs` only wires clients to one function of this
//! crate; everything they agree on lives here.
//!
//! # Layout
//! - [`request`]: the execution input in its three forms, and the checks it must pass.
//! - [`artifact`]: the paths file a build step leaves in the job's input artifact.
//! - [`planning`]: requested paths and cache tags to the invalidation batches to create:
//!   normalized, without overlaps, within CloudFront's limits.
//! - [`payload`]: the payloads passed between the functions and the execution's output.
//! - [`error`]: the error names the state machine matches, and CodePipeline failure types.
//! - [`schedule`]: how long to wait between status checks, and how long a step polls.
//! - [`polling`]: polling GetInvalidation inside a step (`POLL_SECONDS`).
//! - [`budget`]: how long a step may still call AWS, and calls run side by side within it.
//! - [`continuation`]: the token that carries a run past CodePipeline's reply window.
//! - [`cloudfront`] and [`codepipeline`]: the AWS calls, with errors mapped to [`error`].
//! - [`batches`]: submitting planned batches within CloudFront's in-progress limits.
//! - [`entry`], [`start`], [`check`], [`report`]: what each function does.
//! - [`secrets`]: keeps the job's artifact credentials out of every message.
//! - [`logging`]: the functions' log setup.

pub mod artifact;
mod aws_error;
pub mod batches;
pub mod budget;
pub mod check;
pub mod cloudfront;
pub mod codepipeline;
pub mod continuation;
pub mod entry;
pub mod error;
pub mod job;
pub mod logging;
pub mod payload;
pub mod planning;
pub mod polling;
pub mod report;
pub mod request;
pub mod schedule;
pub mod sdk;
pub mod secrets;
pub mod start;

pub use error::{ErrorKind, FailureType, WorkflowError};
