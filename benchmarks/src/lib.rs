//! Measurements of the workflow: how quickly it notices that an invalidation completed and what
//! a run costs, against the usual alternatives (`polling`), and how large and quick its
//! functions are (`footprint`). Both are binaries of this crate; docs/performance.md gives
//! their commands and output.
//!
//! # Layout
//! - [`prices`]: AWS prices with their sources, and a run's cost.
//! - [`clock`]: the model's time, tokio's paused clock read as wall-clock time.
//! - [`fake_cloudfront`]: CloudFront's invalidation API behind the real SDK client, with latency.
//! - [`asl`]: walks the deployed state machine definition for one execution.
//! - [`deployment`]: what template.yaml deploys: timeouts, POLL_SECONDS, the definition.
//! - [`model`]: one modelled run of each strategy (this project's runs its real functions).
//! - [`stats`]: samples summed up.
//! - [`measured`]: real local runs, read from their own timeline.
//! - [`footprint`]: a function binary started as Lambda starts it, for its init, overhead and
//!   memory; [`loopback_http`], the HTTP server it runs as Lambda and as AWS.

pub mod asl;
pub mod clock;
pub mod deployment;
pub mod fake_cloudfront;
pub mod footprint;
pub mod loopback_http;
pub mod measured;
pub mod model;
pub mod prices;
pub mod stats;
