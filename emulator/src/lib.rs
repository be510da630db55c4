//! A local emulator of the AWS APIs this workflow calls — CloudFront
//! invalidations of distributions and of distribution tenants, by path and
//! by cache tag (REST-XML, API 2020-05-31), CodePipeline job results (JSON 1.1), Step Functions
//! `StartExecution` and `DescribeExecution` (JSON 1.0, API 2016-11-23), S3
//! `GetObject`, `HeadObject`, `PutObject`, `DeleteObject` and `ListObjectsV2`
//! (REST-XML, API 2006-03-01, path-style) on the buckets it is given, and
//! Lambda `Invoke` (REST-JSON, API 2015-03-31, forwarded to a local host of
//! the functions) — speaking their wire protocols, so that unchanged AWS SDK
//! clients (Rust, boto3, the JS SDK) pointed at it with
//! `AWS_ENDPOINT_URL=http://127.0.0.1:PORT` work against it.
//!
//! S3 is played for a CodePipeline artifact bucket, a state bucket and a
//! site bucket: objects are put with S3's conditional writes (`If-None-Match:
//! *`, `If-Match`, and a 409 conflict as an injected fault) and its checksums
//! (CRC32, CRC32C, CRC64NVME, SHA-1, SHA-256, `Content-MD5`, in headers or in
//! `aws-chunked` trailers, verified), read with conditions, deleted, and
//! listed a page at a time in key order from ordered maps, so that a page
//! costs the same in a bucket of 100,000 objects as in one of 1,000
//! (`examples/s3_listing.rs` measures it). Buckets exist from the
//! start ([`Config::bucket`], or a seeded [`Config::object`]), each open to
//! chosen access keys ([`Config::bucket_access_key`]).
//!
//! It serves what the workflow, `local-run`, the tests and the documented
//! standalone uses call, and nothing else: no ListInvalidations, no S3
//! bucket operations, ListObjects (v1), CopyObject, multipart uploads,
//! ranges, versions or virtual-hosted addressing, no Lambda `DryRun`.
//!
//! Everything it decides by time runs on its own clock, real by default or
//! manual ([`ClockMode`]): a test starts it with [`Config::manual_clock`] and
//! lets minutes pass at once with [`EmulatorHandle::advance_clock`] (or
//! `POST /_emulator/clock`), then waits for the background work that became
//! due with [`EmulatorHandle::settle`].
//!
//! It keeps everything in memory, answers with the error codes and HTTP
//! statuses of the real services, and can inject seeded, repeatable faults
//! (throttling, 500, 503) before a call takes effect, and lost responses (the
//! call takes effect, the caller gets a 500), per operation. Signatures are not
//! verified, but a call without an `Authorization` header is refused, as AWS
//! would refuse it (S3 refuses it as an anonymous `AccessDenied`), and each
//! bucket can be opened to chosen access key ids only. Those faults never apply to
//! Lambda `Invoke`; instead, chosen functions can be made to crash or
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
//! root only re-exports; a test here reads each module's `crate::` paths and
//! holds them to this order.
//!
//! 1. Plain pieces (`http` uses `error`, `chunked` uses `wire`; the others
//!    nothing of the crate):
//!    - `error`: [`Error`] (why the emulator could not start) and `ApiError`
//!      (an error answer before a protocol shapes it).
//!    - `wire`: percent decoding, query strings, S3's URL encoding of listed
//!      keys, RFC 3339 and HTTP dates, clipping of echoed values.
//!    - `checksum`: S3's checksums (CRC32, CRC32C, CRC64NVME, SHA-1,
//!      SHA-256), `Content-MD5`, the MD5 `ETag`, base64.
//!    - `chunked`: decoding an `aws-chunked` upload and its trailers.
//!    - `listing`: one ListObjectsV2 page of an ordered map (prefix,
//!      delimiter, start, page size) as a range query.
//!    - `xml`: reading `InvalidationBatch`, writing CloudFront's documents
//!      and S3's error and `ListBucketResult` documents.
//!    - `clock`: [`ClockMode`], the emulator's clock (real, or manual and
//!      moved by [`EmulatorHandle::advance_clock`]) and the register of
//!      background work that waits on it ([`EmulatorHandle::settle`]).
//!    - `http`: the response type and builders every protocol uses, the
//!      largest body read, the signer a SigV4 `Authorization` header names,
//!      JSON-protocol body parsing.
//! 2. What the emulator is told and what it shows:
//!    - `config`: [`Config`], [`Operation`], [`FaultCode`], [`FaultSpec`],
//!      [`FunctionFault`], [`EventInvokeConfig`], [`SeedObject`], the Lambda
//!      backend URL — data and builders.
//!    - `faults`: the seeded PRNG and per-operation draws (error faults,
//!      lost responses), each operation on a stream of its own number.
//!    - `records`: the [`Snapshot`] and its record types, job-result details,
//!      [`StartedExecution`] and [`ExecutionOutcome`].
//! 3. `state`: the in-memory store every handler shares (stored
//!    invalidations, buckets and their objects, executions, job events, S3
//!    calls), ids, sequence numbers, and the snapshot made of it.
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
//!    - `s3`: GetObject, HeadObject, PutObject, DeleteObject, ListObjectsV2 —
//!      path-style addressing, the per-bucket access-key gate, conditional
//!      writes and reads, checksums, S3's error document.
//!    - `codepipeline`: PutJobSuccessResult, PutJobFailureResult — validation
//!      against the service model, job state, recording — and continuations,
//!      which it sends through `lambda` (the one service that uses another).
//! 5. On top:
//!    - `validate`: [`Config::validate`], which checks each value against
//!      the rules of the service it configures, so it sits above them.
//!    - `server`: the HTTP listener ([`start`], [`EmulatorHandle`]); tells the
//!      protocols apart (S3 by the signature's credential scope), applies
//!      the authorization-header check, faults and lost responses,
//!      and serves `GET /_emulator/state`, `GET /_emulator/health`,
//!      `GET`/`POST /_emulator/clock` and `POST /_emulator/settle`.
//!
//! A new operation of an emulated service goes in its service module (its
//! `Operation` in [`Operation::ALL`], with a fault stream number no operation
//! has had); a new time-based behaviour
//! reads `Shared::now` and waits with `clock::Work`; a new value a test
//! should see goes in `records` and is filled in by `state`.

mod checksum;
mod chunked;
mod clock;
mod cloudfront;
mod codepipeline;
mod config;
mod error;
mod faults;
mod http;
mod lambda;
mod listing;
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
    DEFAULT_LAMBDA_TIMEOUT, LONG_ERROR_MESSAGE_CHARS, MAX_EVENT_AGE, MAX_EVENT_RETRY_ATTEMPTS,
};
pub use error::Error;
pub use lambda::MAX_PAYLOAD;
pub use records::{
    DiscardedEvent, ExecutionDetails, ExecutionOutcome, ExecutionRecord, FailureDetails,
    InjectedFault, InvalidationRecord, JobRecord, JobResult, LambdaInvocation, ObjectRecord,
    S3Request, Snapshot, StartedExecution, COMPLETED, IN_PROGRESS, JOB_EVENT_KEY,
};
pub use s3::{DEFAULT_CONTENT_TYPE, MAX_KEYS, MAX_KEY_LEN, MAX_OBJECT_SIZE};
pub use server::{start, EmulatorHandle};
pub use stepfunctions::{MAX_EXECUTION_INPUT, MAX_EXECUTION_NAME};

#[cfg(test)]
mod tests {
    /// Every module, in the order the Layout above lists them.
    const LAYOUT: [&str; 19] = [
        "error",
        "wire",
        "checksum",
        "chunked",
        "listing",
        "xml",
        "clock",
        "http",
        "config",
        "faults",
        "records",
        "state",
        "lambda",
        "cloudfront",
        "stepfunctions",
        "s3",
        "codepipeline",
        "validate",
        "server",
    ];

    #[test]
    fn each_module_uses_only_modules_the_layout_lists_before_it() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut modules: Vec<String> = std::fs::read_dir(&src)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter_map(|file| file.strip_suffix(".rs").map(str::to_owned))
            .filter(|module| module != "lib" && module != "main")
            .collect();
        modules.sort_unstable();
        let mut listed = LAYOUT.map(str::to_owned);
        listed.sort_unstable();
        assert_eq!(modules, listed, "the Layout names every module once");

        for (position, module) in LAYOUT.iter().enumerate() {
            let source = std::fs::read_to_string(src.join(format!("{module}.rs"))).unwrap();
            let code = source
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"));
            for line in code {
                // Grouped paths would hide what they use from the check below.
                assert!(!line.contains("crate::{"), "{module}: {line}");
                for (at, _) in line.match_indices("crate::") {
                    let used: String = line[at + "crate::".len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if let Some(used_at) = LAYOUT.iter().position(|m| *m == used) {
                        assert!(
                            used_at < position,
                            "{module} uses {used}, which the Layout lists after it"
                        );
                    }
                }
            }
        }
    }
}
