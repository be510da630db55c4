//! The contract of the CloudFront invalidation workflow.
//!
//! Four Lambda functions. Three, chained by the state machine in `statemachine/`, create
//! CloudFront invalidations, wait until CloudFront reports them `Completed`, and report the
//! outcome to CodePipeline; the fourth, pipeline-entry, starts a run for a CodePipeline Lambda
//! invoke action's job. Each function's `main.rs` only wires clients to one function of this
//! crate; everything they agree on lives here.
//!
//! # Layout
//! In layers: a module uses only modules of the layers above it (none form a cycle).
//! 1. Facts and formats, depending on nothing else here: [`error`] (the error names the state
//!    machine matches, CodePipeline failure types, the retried names), [`limits`] (what AWS
//!    allows: CloudFront's limits and id formats, the sizes CodePipeline and Step Functions
//!    accept), [`job`] (the typed view of a CodePipeline job event), [`schedule`] (how long to
//!    wait between checks and how long a step polls), [`sdk`], [`budget`] (how long a step may
//!    still call AWS), [`panics`] (a panic as a named error), [`logging`], and [`timestamps`]
//!    (the run's time type).
//! 2. Values: [`planning`] (requested paths and cache tags to batches: normalized, without
//!    overlaps, within CloudFront's limits), [`run`] (the run's plan, and its state between
//!    steps, with the one constructor and the one `settle` start and check share),
//!    [`payload`] (what the functions pass each other and the execution's output), [`metrics`]
//!    (the run's metric record, in CloudWatch's embedded metric format), [`secrets`] (keeps the
//!    job's artifact credentials out of every message), [`site`] (`changesIn`: keys to URL
//!    paths, what changed since the manifest as the fewest paths, the manifest's format).
//! 3. AWS adapters, with their errors mapped to [`error`]: [`cloudfront`] (one target type,
//!    distribution or tenant, chooses each operation), [`codepipeline`], [`artifact`] (the
//!    paths file in the job's input artifact), [`state_bucket`] (where a run keeps its plan,
//!    a continued job finds its run, and a site's manifest stays between runs).
//! 4. The run across steps and jobs: [`continuation`] (the token past CodePipeline's reply
//!    window), [`request`] (the execution input in its three forms, every check it must pass,
//!    and planning it once), [`batches`] (submitting planned batches within CloudFront's
//!    in-progress limits), the status calls, [`polling`] (polling GetInvalidation inside a
//!    step, `POLL_SECONDS`).
//! 5. What each function does: [`entry`], [`start`], [`check`], [`report`].

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
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod panics;
pub mod payload;
pub mod planning;
pub mod polling;
pub mod report;
pub mod request;
pub mod run;
pub mod schedule;
pub mod sdk;
pub mod secrets;
pub mod site;
pub mod start;
pub mod state_bucket;
mod status;
pub mod timestamps;

pub use error::{ErrorKind, FailureType, WorkflowError};
