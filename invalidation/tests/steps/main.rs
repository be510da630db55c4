//! The three steps against the real SDK clients, with answers stubbed by aws-smithy-mocks.
//! Error answers are CloudFront's and CodePipeline's own wire documents, so the SDK parses them
//! exactly as it would parse the services' answers.

mod common;

mod batches;
mod changes;
mod check;
mod deadlines;
mod entry;
mod polling;
mod reply_window;
mod report;
mod start;
