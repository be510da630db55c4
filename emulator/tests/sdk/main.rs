//! The emulator driven by the real AWS SDK for Rust clients (and, where an
//! SDK would not send the request, by raw HTTP).

mod cache_tags;
mod cloudfront;
mod codepipeline;
mod common;
mod continuation;
mod event_invoke;
mod faults;
mod function_faults;
mod http;
mod lambda;
mod s3;
mod s3_listing;
mod stepfunctions;
mod tenants;
