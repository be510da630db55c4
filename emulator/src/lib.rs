//! A local emulator of the AWS APIs this workflow calls — CloudFront
//! invalidations of distributions and of distribution tenants, by path and
//! by cache tag (REST-XML, API 2020-05-31), CodePipeline job results (JSON 1.1), Step Functions
//! `StartExecution` and `DescribeExecution` (JSON 1.0, API 2016-11-23), S3
//! `GetObject`, `HeadObject` and `PutObject` (REST-XML, for CodePipeline
//! artifacts) and Lambda `Invoke` (REST-JSON, API 2015-03-31, forwarded to a
//! local host of the functions) — speaking their wire protocols, so that
//! unchanged AWS SDK clients (Rust, boto3, the AWS CLI, the JS SDK) pointed
//! at it with `AWS_ENDPOINT_URL=http://127.0.0.1:PORT` work against it. S3
//! clients may address buckets path-style or virtual-hosted.
//!
//! Everything it decides by time runs on its own clock, real by default or
//! manual ([`ClockMode`]): a test starts it with [`Config::manual_clock`] and
//! lets minutes pass at once with [`EmulatorHandle::advance_clock`] (or
//! `POST /_emulator/clock`), then waits for the background work that became
//! due with [`EmulatorHandle::settle`].
//!
//! It keeps everything in memory, answers with the error codes and HTTP
//! statuses of the real services, and can inject seeded, repeatable faults
//! (throttling, 500, 503) before a call takes effect, lost responses (the call
//! takes effect, the caller gets a 500) and latency per operation. Signatures are not
//! verified, but a call without an `Authorization` header is refused, as AWS
//! would refuse it (S3 refuses it as an anonymous `AccessDenied`), and S3 can
//! be opened to chosen access key ids only. Those faults and latency never
//! apply to Lambda `Invoke`; instead, chosen functions can be made to crash or
//! hang, once or always ([`Config::function_faults`]), and asynchronous
//! invocations are run as Lambda runs them: a function error is retried after
//! one and two minutes, an event too old is dropped, and one given up on goes
//! to an on-failure destination ([`Config::event_invoke`]).
//!
//! [`Config::function_faults`]: Config#structfield.function_faults
//! [`Config::event_invoke`]: Config#structfield.event_invoke
//!
//! Two services are only half played. The emulator runs no state machine:
//! `StartExecution` records a `RUNNING` execution, and whoever embeds the
//! emulator takes it from [`EmulatorHandle::next_started_execution`], runs it
//! and reports how it ended with [`EmulatorHandle::finish_execution`]. And it
//! plays CodePipeline's part in continuations: when a job whose event went
//! through Lambda `Invoke` gets a `PutJobSuccessResult` with a
//! `continuationToken`, it invokes the same function again, as CodePipeline
//! would, with a new job carrying the token.
//!
//! ```no_run
//! # async fn demo() -> Result<(), aws_emulator::Error> {
//! use std::time::Duration;
//! let config = aws_emulator::Config::with_distributions(["E2QWRUHAPOMQZL"])
//!     .invalidation_duration(Duration::from_millis(300));
//! let emulator = aws_emulator::start(config).await?;
//! // Point SDK clients at `emulator.endpoint_url()`, then inspect:
//! let seen = emulator.snapshot();
//! assert!(seen.invalidations.is_empty());
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Layout
//! Modules form layers, listed here bottom first: each module uses only
//! modules listed before it (so there are no import cycles), and the crate
//! root only re-exports.
//!
//! 1. Plain pieces (`http` uses `error`; the others nothing of the crate):
//!    - `error`: [`Error`] (why the emulator could not start) and `ApiError`
//!      (an error answer before a protocol shapes it).
//!    - `wire`: percent decoding, query strings, RFC 3339 and HTTP dates,
//!      S3's MD5 `ETag`, clipping of echoed values.
//!    - `xml`: reading `InvalidationBatch`, writing CloudFront's documents
//!      and S3's error document.
//!    - `clock`: [`ClockMode`], the emulator's clock (real, or manual and
//!      moved by [`EmulatorHandle::advance_clock`]) and the register of
//!      background work that waits on it ([`EmulatorHandle::settle`]).
//!    - `http`: the response type and builders every protocol uses, the
//!      largest body read, JSON-protocol body parsing.
//! 2. What the emulator is told and what it shows:
//!    - `config`: [`Config`], [`Operation`], [`FaultCode`], [`FaultSpec`],
//!      [`FunctionFault`], [`EventInvokeConfig`], [`SeedObject`], the Lambda
//!      backend URL — data and builders.
//!    - `faults`: the seeded PRNG and per-operation draws (error faults,
//!      lost responses).
//!    - `records`: the [`Snapshot`] and its record types, job-result details,
//!      [`StartedExecution`] and [`ExecutionOutcome`].
//! 3. `state`: the in-memory store every handler shares (stored
//!    invalidations, objects, executions, job events), ids, sequence numbers,
//!    and the snapshot made of it.
//! 4. One module per service, each using layers 1 to 3 only, but for
//!    `codepipeline`:
//!    - `lambda`: Invoke — function-name parsing, forwarding to
//!      [`Config::lambda_backend`](Config#structfield.lambda_backend) and
//!      mapping its answers onto Lambda's (function errors, timeouts, unknown
//!      functions); injected function faults; `Event` retries, event age and
//!      on-failure destinations.
//!    - `cloudfront`: CreateInvalidation, GetInvalidation and their
//!      `…ForDistributionTenant` twins — routing, validation of
//!      paths and cache tags, per-distribution (per-tenant) limits, caller
//!      references.
//!    - `stepfunctions`: StartExecution, DescribeExecution — validation,
//!      idempotency, executions ended by the embedder.
//!    - `s3`: GetObject, HeadObject, PutObject — addressing, the access-key
//!      gate, `aws-chunked` uploads, ranges, S3's error document.
//!    - `codepipeline`: PutJobSuccessResult, PutJobFailureResult — validation
//!      against the service model, job state, recording — and continuations,
//!      which it sends through `lambda` (the one service that uses another).
//! 5. On top:
//!    - `validate`: [`Config::validate`], which checks each value against
//!      the rules of the service it configures, so it sits above them.
//!    - `server`: the HTTP listener ([`start`], [`EmulatorHandle`]); tells the
//!      protocols apart (S3 by the signature's credential scope), applies
//!      latency, the authorization-header check, faults and lost responses,
//!      and serves `GET /_emulator/state`, `GET /_emulator/health`,
//!      `GET`/`POST /_emulator/clock` and `POST /_emulator/settle`.
//!
//! A new operation of an emulated service goes in its service module (its
//! `Operation` appended to [`Operation::ALL`]); a new time-based behaviour
//! reads `Shared::now` and waits with `clock::Work`; a new value a test
//! should see goes in `records` and is filled in by `state`.

mod clock;
mod cloudfront;
mod codepipeline;
mod config;
mod error;
mod faults;
mod http;
mod lambda;
mod records;
mod s3;
mod server;
mod state;
mod stepfunctions;
mod validate;
mod wire;
mod xml;

pub use clock::{ClockError, ClockMode};
pub use cloudfront::{
    API_PREFIX, MAX_CACHE_TAG_LEN, MAX_IN_PROGRESS_PATHS, MAX_IN_PROGRESS_WILDCARDS, MAX_PATH_LEN,
};
pub use codepipeline::FAILURE_TYPES;
pub use config::{
    Config, EventInvokeConfig, FaultCode, FaultSpec, FaultTimes, FunctionFault, FunctionFaultKind,
    Operation, SeedObject, DEFAULT_CONTINUATION_DELAY, DEFAULT_EVENT_RETRY_DELAYS,
    DEFAULT_LAMBDA_TIMEOUT, MAX_EVENT_AGE, MAX_EVENT_RETRY_ATTEMPTS,
};
pub use error::Error;
pub use lambda::MAX_PAYLOAD;
pub use records::{
    CurrentRevision, DiscardedEvent, ExecutionDetails, ExecutionOutcome, ExecutionRecord,
    FailureDetails, InjectedFault, InvalidationRecord, JobRecord, JobResult, LambdaInvocation,
    ObjectRecord, Snapshot, StartedExecution, COMPLETED, IN_PROGRESS, JOB_EVENT_KEY,
};
pub use s3::{DEFAULT_CONTENT_TYPE, MAX_KEY_LEN, MAX_OBJECT_SIZE};
pub use server::{start, EmulatorHandle};
pub use stepfunctions::{MAX_EXECUTION_INPUT, MAX_EXECUTION_NAME};
