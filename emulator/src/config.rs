//! What the emulator is told before it starts: which distributions, tenants,
//! buckets, objects and state machines exist, who may open which bucket, how
//! long an invalidation takes, which faults to inject, where Lambda
//! invocations are forwarded, and how soon CodePipeline continues an action
//! after a continuation token.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::ClockMode;
use crate::error::Error;

/// One emulated API operation; the unit that the call counters (and, for all
/// but [`Operation::Invoke`], fault injection) are keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Operation {
    /// CloudFront `CreateInvalidation`.
    CreateInvalidation,
    /// CloudFront `GetInvalidation`.
    GetInvalidation,
    /// CodePipeline `PutJobSuccessResult`.
    PutJobSuccessResult,
    /// CodePipeline `PutJobFailureResult`.
    PutJobFailureResult,
    /// Lambda `Invoke`, forwarded to the configured Lambda backend. Counted, but
    /// never faulted: fault injection models the AWS services'
    /// faults (CloudFront, CodePipeline, Step Functions, S3) only, so it is not
    /// in [`Operation::ALL`].
    Invoke,
    /// Step Functions `StartExecution`.
    StartExecution,
    /// Step Functions `DescribeExecution`.
    DescribeExecution,
    /// CloudFront `CreateInvalidationForDistributionTenant`.
    CreateInvalidationForDistributionTenant,
    /// CloudFront `GetInvalidationForDistributionTenant`.
    GetInvalidationForDistributionTenant,
    /// S3 `GetObject`.
    GetObject,
    /// S3 `PutObject`.
    PutObject,
    /// S3 `HeadObject`.
    HeadObject,
    /// S3 `DeleteObject`.
    DeleteObject,
    /// S3 `ListObjectsV2`.
    ListObjectsV2,
}

impl Operation {
    /// Every operation fault injection applies to (all but
    /// [`Operation::Invoke`]), service by service: CloudFront's four,
    /// CodePipeline's two, Step Functions' two, S3's five.
    pub const ALL: [Operation; 13] = [
        Operation::CreateInvalidation,
        Operation::GetInvalidation,
        Operation::CreateInvalidationForDistributionTenant,
        Operation::GetInvalidationForDistributionTenant,
        Operation::PutJobSuccessResult,
        Operation::PutJobFailureResult,
        Operation::StartExecution,
        Operation::DescribeExecution,
        Operation::GetObject,
        Operation::PutObject,
        Operation::HeadObject,
        Operation::DeleteObject,
        Operation::ListObjectsV2,
    ];

    /// The operation's AWS name, e.g. `CreateInvalidation`.
    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateInvalidation => "CreateInvalidation",
            Operation::GetInvalidation => "GetInvalidation",
            Operation::PutJobSuccessResult => "PutJobSuccessResult",
            Operation::PutJobFailureResult => "PutJobFailureResult",
            Operation::Invoke => "Invoke",
            Operation::StartExecution => "StartExecution",
            Operation::DescribeExecution => "DescribeExecution",
            Operation::CreateInvalidationForDistributionTenant => {
                "CreateInvalidationForDistributionTenant"
            }
            Operation::GetInvalidationForDistributionTenant => {
                "GetInvalidationForDistributionTenant"
            }
            Operation::GetObject => "GetObject",
            Operation::PutObject => "PutObject",
            Operation::HeadObject => "HeadObject",
            Operation::DeleteObject => "DeleteObject",
            Operation::ListObjectsV2 => "ListObjectsV2",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A kind of transient failure the emulator can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FaultCode {
    /// CloudFront: 400 `Throttling`; CodePipeline and Step Functions: 400
    /// `ThrottlingException`; S3: 503 `SlowDown`.
    Throttling,
    /// 500 `InternalError` (CloudFront, S3) / `InternalFailure` (CodePipeline,
    /// Step Functions).
    InternalError,
    /// 503 `ServiceUnavailable`.
    ServiceUnavailable,
    /// S3 only, and only for a conditional write: a `PutObject` with
    /// `If-None-Match` or `If-Match`, or a `DeleteObject` with `If-Match`.
    /// 409 `ConditionalRequestConflict`, what S3 answers when another write to
    /// the key won a race with this one, which did not take effect
    /// ([conditional writes](https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html)).
    /// Drawn for any call of the operation; one without a condition is then
    /// served as if nothing had been drawn, as S3 only reports a conflict to a
    /// conditional request.
    ConditionalRequestConflict,
}

impl FaultCode {
    /// The HTTP status the fault is answered with, but for S3, which answers
    /// throttling with 503 `SlowDown`.
    pub fn status(self) -> u16 {
        match self {
            FaultCode::Throttling => 400,
            FaultCode::InternalError => 500,
            FaultCode::ServiceUnavailable => 503,
            FaultCode::ConditionalRequestConflict => 409,
        }
    }
}

/// Fault settings for one operation.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// Probability in `0.0..=1.0` that a call fails with one of `codes`.
    pub error_rate: f64,
    /// The faults drawn from (uniformly) when a call is chosen to fail.
    /// [`FaultCode::ConditionalRequestConflict`] is for `PutObject` and
    /// `DeleteObject` only.
    pub codes: Vec<FaultCode>,
    /// Probability in `0.0..=1.0` that a call which succeeded loses its
    /// answer: the operation has taken effect (an invalidation is created, a
    /// job result recorded, an execution started), and the caller gets a 500
    /// (`InternalError`, or `InternalFailure` in the JSON protocols) instead,
    /// so that a retry meets the effect already applied. Drawn, from a seeded
    /// stream of its own, for every call that an error fault did not fail
    /// first.
    pub lost_response_rate: f64,
}

impl Default for FaultSpec {
    fn default() -> Self {
        FaultSpec {
            error_rate: 0.0,
            codes: vec![
                FaultCode::Throttling,
                FaultCode::InternalError,
                FaultCode::ServiceUnavailable,
            ],
            lost_response_rate: 0.0,
        }
    }
}

/// An S3 object in place when the emulator starts, such as a CodePipeline
/// input artifact. Its `Debug` shows the body's size, not the body.
#[derive(Clone, PartialEq, Eq)]
pub struct SeedObject {
    /// The bucket; it exists because the object is in it.
    pub bucket: String,
    /// The object key, as stored (not percent-encoded); may contain `/`.
    pub key: String,
    /// The object's bytes.
    pub body: Vec<u8>,
}

impl fmt::Debug for SeedObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeedObject")
            .field("bucket", &self.bucket)
            .field("key", &self.key)
            .field("size", &self.body.len())
            .finish()
    }
}

/// What an injected fault of a Lambda function does to an invocation; see
/// [`Config::function_faults`](Config#structfield.function_faults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FunctionFaultKind {
    /// The function's runtime exits before it runs the handler: the
    /// invocation is not forwarded, and the caller gets Lambda's answer for a
    /// runtime that exited (200, `X-Amz-Function-Error: Unhandled`,
    /// `Runtime.ExitError`).
    Crash,
    /// The handler runs (the invocation is forwarded and its side effects
    /// happen), then the runtime exits: its answer is discarded and the
    /// caller gets the same `Runtime.ExitError` answer as for [`Crash`](FunctionFaultKind::Crash).
    CrashAfterWork,
    /// The handler runs, then hangs until the function's timeout: its answer
    /// is discarded and the caller gets Lambda's timeout answer
    /// (`Sandbox.Timedout`). The wait is not emulated: the answer comes as
    /// soon as the handler's does, since what matters to the caller is the
    /// lost response, and neither clock moves for it.
    Hang,
    /// The handler is not run; the function fails with an error of its own
    /// (200, `X-Amz-Function-Error: Unhandled`) whose message is
    /// [`LONG_ERROR_MESSAGE_CHARS`] characters long, as a function that quotes
    /// a whole answer in its error does. Step Functions passes such a message
    /// on as the caught error's `Cause` (up to 32,768 characters).
    LongError,
}

/// How long the message of a [`FunctionFaultKind::LongError`] is.
pub const LONG_ERROR_MESSAGE_CHARS: usize = 32_000;

impl FunctionFaultKind {
    /// The name used in flags and in [`LambdaInvocation::injected_fault`](crate::LambdaInvocation#structfield.injected_fault):
    /// `crash`, `crash-after-work`, `hang`.
    pub fn name(self) -> &'static str {
        match self {
            FunctionFaultKind::Crash => "crash",
            FunctionFaultKind::CrashAfterWork => "crash-after-work",
            FunctionFaultKind::Hang => "hang",
            FunctionFaultKind::LongError => "long-error",
        }
    }
}

/// Which invocations of a function a [`FunctionFault`] strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultTimes {
    /// The first invocation of the function that it can strike, only: for
    /// [`FunctionFaultKind::Crash`] the function's first invocation; for the
    /// kinds that let the handler run, the first whose handler answered (an
    /// invocation that finds no function, or no reachable host, is not one).
    Once,
    /// Every invocation of the function.
    Always,
}

/// A fault injected into a Lambda function's invocations, whoever makes them
/// (a caller's `RequestResponse` or `Event` call, Lambda's retries, the
/// emulator's continuations and on-failure destinations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FunctionFault {
    /// What the fault does.
    pub kind: FunctionFaultKind,
    /// Which invocations it strikes.
    pub times: FaultTimes,
}

impl FunctionFault {
    /// A fault of `kind`, striking `times`.
    pub const fn new(kind: FunctionFaultKind, times: FaultTimes) -> Self {
        FunctionFault { kind, times }
    }

    /// Parses `FUNCTION=FAULT`, e.g. `start-invalidation=crash-once` (the
    /// form of the binary's `--function-fault`).
    pub fn parse_assignment(text: &str) -> Result<(String, FunctionFault), Error> {
        let (function, fault) = text.split_once('=').ok_or_else(|| {
            Error::InvalidConfig(format!(
                "function fault `{text}`: expected FUNCTION=KIND-TIMES, e.g. start-invalidation=crash-once"
            ))
        })?;
        Ok((function.trim().to_string(), fault.parse()?))
    }
}

impl fmt::Display for FunctionFault {
    /// `crash-once`, `crash-after-work-always`, `hang-once`…
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let times = match self.times {
            FaultTimes::Once => "once",
            FaultTimes::Always => "always",
        };
        write!(f, "{}-{times}", self.kind.name())
    }
}

impl FromStr for FunctionFault {
    type Err = Error;

    /// Reads `KIND-TIMES`: a kind of `crash`, `crash-after-work`, `hang` or `long-error`,
    /// and `once` or `always`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || {
            Error::InvalidConfig(format!(
                "function fault `{s}`: expected crash, crash-after-work, hang or long-error, then -once or -always (e.g. hang-always)"
            ))
        };
        let lower = s.trim().to_ascii_lowercase();
        let (kind, times) = lower.rsplit_once('-').ok_or_else(invalid)?;
        let kind = match kind {
            "crash" => FunctionFaultKind::Crash,
            "crash-after-work" => FunctionFaultKind::CrashAfterWork,
            "hang" => FunctionFaultKind::Hang,
            "long-error" => FunctionFaultKind::LongError,
            _ => return Err(invalid()),
        };
        let times = match times {
            "once" => FaultTimes::Once,
            "always" => FaultTimes::Always,
            _ => return Err(invalid()),
        };
        Ok(FunctionFault { kind, times })
    }
}

/// Lambda's default number of retries of a failed asynchronous invocation,
/// and the most it allows.
pub const MAX_EVENT_RETRY_ATTEMPTS: u32 = 2;
/// Lambda's waits before the retries of a failed asynchronous invocation:
/// about one minute before the first, two before the second.
pub const DEFAULT_EVENT_RETRY_DELAYS: [Duration; 2] =
    [Duration::from_secs(60), Duration::from_secs(120)];
/// Lambda's default, and longest, maximum age of an asynchronous event (6 h).
pub const MAX_EVENT_AGE: Duration = Duration::from_secs(6 * 3600);

/// How Lambda runs a function's asynchronous (`Event`) invocations: Lambda's
/// `PutFunctionEventInvokeConfig` settings, and its retry timing. Times are on
/// the emulator's [`clock`](Config#structfield.clock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventInvokeConfig {
    /// How many times an invocation that ends in a function error is retried:
    /// 0 to [`MAX_EVENT_RETRY_ATTEMPTS`] (the default).
    pub maximum_retry_attempts: u32,
    /// The wait before each retry, after the attempt before it failed: the
    /// first entry before the first retry, and so on; the last entry repeats
    /// and an empty list means no wait. Default
    /// [`DEFAULT_EVENT_RETRY_DELAYS`]; zero delays suit a test on a real clock.
    pub retry_delays: Vec<Duration>,
    /// An event older than this when a retry comes due is discarded, not
    /// run. Default and most [`MAX_EVENT_AGE`]. (Lambda's least is 60 s; the
    /// emulator takes less, for tests on a real clock.)
    pub maximum_event_age: Duration,
    /// A function (plain name) that, when an event is discarded after a
    /// function error, is invoked once, asynchronously, with Lambda's
    /// invocation record, as an on-failure destination is.
    pub on_failure: Option<String>,
}

impl Default for EventInvokeConfig {
    fn default() -> Self {
        EventInvokeConfig {
            maximum_retry_attempts: MAX_EVENT_RETRY_ATTEMPTS,
            retry_delays: DEFAULT_EVENT_RETRY_DELAYS.to_vec(),
            maximum_event_age: MAX_EVENT_AGE,
            on_failure: None,
        }
    }
}

impl EventInvokeConfig {
    /// The wait before retry number `retry` (1 for the first).
    pub fn retry_delay(&self, retry: u32) -> Duration {
        let index = (retry.max(1) - 1) as usize;
        self.retry_delays
            .get(index)
            .or(self.retry_delays.last())
            .copied()
            .unwrap_or(Duration::ZERO)
    }
}

/// Default of [`Config::lambda_timeout`].
pub const DEFAULT_LAMBDA_TIMEOUT: Duration = Duration::from_secs(120);

/// Default of [`Config::continuation_delay`].
pub const DEFAULT_CONTINUATION_DELAY: Duration = Duration::from_secs(1);

/// Everything the emulator is configured with; see [`crate::start`].
#[derive(Debug, Clone)]
pub struct Config {
    /// The address to listen on: 127.0.0.1 by default; 0.0.0.0 lets a container (`sam local`)
    /// reach the emulator through the host's bridge address.
    pub host: std::net::IpAddr,
    /// TCP port; 0 picks a free one.
    pub port: u16,
    /// Distribution ids that exist; any other id gets `NoSuchDistribution`.
    pub distributions: BTreeSet<String>,
    /// Distribution tenant ids that exist (`dt_` and letters or digits, e.g.
    /// `dt_2wjDZi3hD1ivOXf6rpZJO1AB`); any other tenant id gets
    /// `EntityNotFound`, as CloudFront answers for an unknown tenant.
    pub tenants: BTreeSet<String>,
    /// Distribution (or distribution tenant) ids whose every call gets
    /// `AccessDenied`, as if the caller's role lacked permission on them.
    pub denied: BTreeSet<String>,
    /// How long a new invalidation stays `InProgress` before it reads as
    /// `Completed`, on the emulator's [`clock`](Config#structfield.clock).
    pub invalidation_duration: Duration,
    /// Fault settings per operation; operations absent here never fault.
    pub faults: BTreeMap<Operation, FaultSpec>,
    /// Seed of every pseudo-random choice (faults, invalidation and request
    /// ids), so that a run can be repeated.
    pub seed: u64,
    /// Base URL (`http://host:port`, no TLS) of a host of the Lambda invoke
    /// API, such as `cargo lambda watch --only-lambda-apis`, that Lambda
    /// `Invoke` calls are forwarded to. Unset: every function is unknown
    /// (`ResourceNotFoundException`).
    pub lambda_backend: Option<String>,
    /// How long a forwarded invocation may run before it is answered as a
    /// function timeout (`Sandbox.Timedout`), as Lambda answers a function
    /// that outlives its configured timeout. Real time, on either clock: it
    /// bounds a real process on the function host.
    pub lambda_timeout: Duration,
    /// State machine ARNs that exist
    /// (`arn:aws:states:<region>:<account>:stateMachine:<name>`); a
    /// `StartExecution` of any other gets `StateMachineDoesNotExist`. The
    /// emulator runs no state machine: whoever embeds it takes the started
    /// executions from [`EmulatorHandle::next_started_execution`] and ends
    /// them with [`EmulatorHandle::finish_execution`].
    ///
    /// [`EmulatorHandle::next_started_execution`]: crate::EmulatorHandle::next_started_execution
    /// [`EmulatorHandle::finish_execution`]: crate::EmulatorHandle::finish_execution
    pub state_machines: BTreeSet<String>,
    /// How long after a `PutJobSuccessResult` with a continuation token the
    /// emulator, as CodePipeline, invokes the action's function again with a
    /// new job (only for jobs whose event went through Lambda `Invoke`); on
    /// the emulator's [`clock`](Config#structfield.clock).
    pub continuation_delay: Duration,
    /// S3 objects in place at start, in order (a later one with the same
    /// bucket and key replaces an earlier one); the buckets that hold them
    /// exist, beside [`Config::buckets`](Config#structfield.buckets).
    pub objects: Vec<SeedObject>,
    /// S3 buckets that exist at start, empty unless a seeded object is in
    /// them (a state bucket, a site bucket). Any other bucket gets
    /// `NoSuchBucket`; buckets are neither created nor deleted over the API.
    pub buckets: BTreeSet<String>,
    /// Who may open a bucket, per bucket: requests for a bucket named here
    /// are served only when signed with one of its access key ids, any other
    /// signer gets `AccessDenied`. A CodePipeline artifact bucket opens to the
    /// job's temporary artifact credentials, a state or site bucket to the
    /// functions' own role, so a test can prove which credentials a function
    /// used where. Each bucket named must exist.
    pub bucket_access_keys: BTreeMap<String, BTreeSet<String>>,
    /// Who may open every bucket that has no entry in
    /// [`Config::bucket_access_keys`](Config#structfield.bucket_access_keys),
    /// and every name that is no bucket: only signers with one of these access
    /// key ids (any other gets `AccessDenied`, even for a bucket that does not
    /// exist, and so learns nothing of which do). Unset: any signed request.
    pub s3_access_keys: Option<BTreeSet<String>>,
    /// The clock everything time-based runs on: invalidation completion, the
    /// times the emulator reports, continuation delays, and the retries and
    /// age limit of asynchronous invocations. [`ClockMode::Real`] by default;
    /// a [`ClockMode::Manual`] clock moves only through
    /// [`EmulatorHandle::advance_clock`](crate::EmulatorHandle::advance_clock)
    /// or `POST /_emulator/clock`.
    /// [`Config::lambda_timeout`](Config#structfield.lambda_timeout) alone
    /// runs in real time: it bounds a real process.
    pub clock: ClockMode,
    /// Faults injected into Lambda functions, by function name as forwarded
    /// (the plain name, e.g. `start-invalidation`). Applied to every
    /// invocation of the function, `RequestResponse` and `Event` alike; each
    /// faulted one is marked in
    /// [`LambdaInvocation::injected_fault`](crate::LambdaInvocation#structfield.injected_fault).
    pub function_faults: BTreeMap<String, FunctionFault>,
    /// How asynchronous invocations of a function are run (retries, event
    /// age, on-failure destination), by function name; a function without an
    /// entry gets [`Config::default_event_invoke`](Config#structfield.default_event_invoke).
    pub event_invoke: BTreeMap<String, EventInvokeConfig>,
    /// How asynchronous invocations of functions without an entry in
    /// `event_invoke` are run: Lambda's defaults (two retries, after 60 s and
    /// 120 s; events up to 6 h old; no destination).
    pub default_event_invoke: EventInvokeConfig,
    /// Distribution and distribution tenant ids that have a `CacheTagConfig`,
    /// so that `CreateInvalidation` (or its tenant twin) accepts cache tags
    /// (`#product-123`) among its paths; any other gets `InvalidArgument` for
    /// a tag. A tenant uses its distribution's config in CloudFront; the
    /// emulator knows no tenant's distribution, so a tenant is named here
    /// itself. Each id must be a configured distribution or tenant.
    pub tag_distributions: BTreeSet<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            port: 0,
            distributions: BTreeSet::new(),
            denied: BTreeSet::new(),
            invalidation_duration: Duration::from_secs(5),
            faults: BTreeMap::new(),
            seed: 0,
            lambda_backend: None,
            lambda_timeout: DEFAULT_LAMBDA_TIMEOUT,
            state_machines: BTreeSet::new(),
            continuation_delay: DEFAULT_CONTINUATION_DELAY,
            tenants: BTreeSet::new(),
            objects: Vec::new(),
            buckets: BTreeSet::new(),
            bucket_access_keys: BTreeMap::new(),
            s3_access_keys: None,
            clock: ClockMode::Real,
            function_faults: BTreeMap::new(),
            event_invoke: BTreeMap::new(),
            default_event_invoke: EventInvokeConfig::default(),
            tag_distributions: BTreeSet::new(),
        }
    }
}

impl Config {
    /// A default config that knows the given distribution ids.
    pub fn with_distributions<I, S>(ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Config {
            distributions: ids.into_iter().map(Into::into).collect(),
            ..Config::default()
        }
    }

    /// Adds a known distribution id.
    pub fn distribution(mut self, id: impl Into<String>) -> Self {
        self.distributions.insert(id.into());
        self
    }

    /// Adds a known distribution tenant id, e.g. `dt_2wjDZi3hD1ivOXf6rpZJO1AB`.
    pub fn tenant(mut self, id: impl Into<String>) -> Self {
        self.tenants.insert(id.into());
        self
    }

    /// Adds a distribution (or tenant) id that answers `AccessDenied`.
    pub fn deny(mut self, id: impl Into<String>) -> Self {
        self.denied.insert(id.into());
        self
    }

    /// Sets how long invalidations stay `InProgress`.
    pub fn invalidation_duration(mut self, duration: Duration) -> Self {
        self.invalidation_duration = duration;
        self
    }

    /// Sets the fault settings of one operation.
    pub fn fault(mut self, op: Operation, spec: FaultSpec) -> Self {
        self.faults.insert(op, spec);
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Forwards Lambda `Invoke` calls to the invoke API at `base_url`, e.g.
    /// `http://127.0.0.1:9000` (what `cargo lambda watch` listens on).
    pub fn lambda_backend(mut self, base_url: impl Into<String>) -> Self {
        self.lambda_backend = Some(base_url.into());
        self
    }

    /// Sets how long a forwarded invocation may run (default 120 s).
    pub fn lambda_timeout(mut self, timeout: Duration) -> Self {
        self.lambda_timeout = timeout;
        self
    }

    /// Adds a state machine ARN that exists, e.g.
    /// `arn:aws:states:us-east-1:123456789012:stateMachine:Invalidation`.
    pub fn state_machine(mut self, arn: impl Into<String>) -> Self {
        self.state_machines.insert(arn.into());
        self
    }

    /// Sets how soon a continuation token leads to a new job (default 1 s).
    pub fn continuation_delay(mut self, delay: Duration) -> Self {
        self.continuation_delay = delay;
        self
    }

    /// Puts an S3 object in place at start; its bucket exists from then on.
    pub fn object(
        mut self,
        bucket: impl Into<String>,
        key: impl Into<String>,
        body: impl Into<Vec<u8>>,
    ) -> Self {
        self.objects.push(SeedObject {
            bucket: bucket.into(),
            key: key.into(),
            body: body.into(),
        });
        self
    }

    /// Makes bucket `name` exist at start, empty (seeded objects may fill it).
    pub fn bucket(mut self, name: impl Into<String>) -> Self {
        self.buckets.insert(name.into());
        self
    }

    /// Opens bucket `bucket` to requests signed with access key id `id` only
    /// (repeat to allow more), whatever [`Config::s3_access_key`] allows.
    pub fn bucket_access_key(mut self, bucket: impl Into<String>, id: impl Into<String>) -> Self {
        self.bucket_access_keys
            .entry(bucket.into())
            .or_default()
            .insert(id.into());
        self
    }

    /// Opens the buckets without access keys of their own
    /// ([`Config::bucket_access_key`]) to requests signed with access key id
    /// `id` only (repeat to allow more); without any, they serve every signed
    /// request.
    pub fn s3_access_key(mut self, id: impl Into<String>) -> Self {
        self.s3_access_keys
            .get_or_insert_with(BTreeSet::new)
            .insert(id.into());
        self
    }

    /// The access key ids that may open `bucket` (its own, or those of every
    /// bucket without its own); `None`: any signer.
    pub fn s3_access_keys_for(&self, bucket: &str) -> Option<&BTreeSet<String>> {
        self.bucket_access_keys
            .get(bucket)
            .or(self.s3_access_keys.as_ref())
    }

    /// Gives distribution (or distribution tenant) `id` a `CacheTagConfig`,
    /// so that its invalidations may name cache tags.
    pub fn cache_tags(mut self, id: impl Into<String>) -> Self {
        self.tag_distributions.insert(id.into());
        self
    }

    /// Injects `fault` into the invocations of function `name`.
    pub fn function_fault(mut self, name: impl Into<String>, fault: FunctionFault) -> Self {
        self.function_faults.insert(name.into(), fault);
        self
    }

    /// Sets how asynchronous invocations of `function` are run.
    pub fn event_invoke(mut self, function: impl Into<String>, config: EventInvokeConfig) -> Self {
        self.event_invoke.insert(function.into(), config);
        self
    }

    /// Sets how many times a failed asynchronous invocation of `function` is
    /// retried (0..=2); its other settings stay as they were, or as
    /// `default_event_invoke` has them.
    pub fn event_retries(mut self, function: impl Into<String>, attempts: u32) -> Self {
        self.event_invoke_entry(function.into())
            .maximum_retry_attempts = attempts;
        self
    }

    /// Makes `destination` the on-failure destination of `function`'s
    /// asynchronous invocations.
    pub fn on_failure(
        mut self,
        function: impl Into<String>,
        destination: impl Into<String>,
    ) -> Self {
        self.event_invoke_entry(function.into()).on_failure = Some(destination.into());
        self
    }

    /// Sets the waits before retries of every function's asynchronous
    /// invocations, those configured so far and the default (e.g.
    /// `vec![Duration::ZERO]` on a real clock, so that retries come at once).
    pub fn event_retry_delays(mut self, delays: Vec<Duration>) -> Self {
        for config in self.event_invoke.values_mut() {
            config.retry_delays = delays.clone();
        }
        self.default_event_invoke.retry_delays = delays;
        self
    }

    fn event_invoke_entry(&mut self, function: String) -> &mut EventInvokeConfig {
        let default = &self.default_event_invoke;
        self.event_invoke
            .entry(function)
            .or_insert_with(|| default.clone())
    }

    /// How asynchronous invocations of `function` are run.
    pub fn event_invoke_for(&self, function: &str) -> &EventInvokeConfig {
        self.event_invoke
            .get(function)
            .unwrap_or(&self.default_event_invoke)
    }

    /// Runs the emulator on `clock`.
    pub fn clock(mut self, clock: ClockMode) -> Self {
        self.clock = clock;
        self
    }

    /// Runs the emulator on a manual clock ([`ClockMode::Manual`]).
    pub fn manual_clock(self) -> Self {
        self.clock(ClockMode::Manual)
    }

    /// Every bucket that exists at start: those declared and those holding a
    /// seeded object.
    pub fn existing_buckets(&self) -> BTreeSet<&str> {
        self.buckets
            .iter()
            .map(String::as_str)
            .chain(self.objects.iter().map(|o| o.bucket.as_str()))
            .collect()
    }
}
