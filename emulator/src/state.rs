//! The emulator's memory: invalidations, job results, Lambda invocations,
//! CodePipeline job events, Step Functions executions, S3 buckets and objects
//! and counters, plus the snapshot types that expose them to tests and to
//! `GET /_emulator/state`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::clock::Clock;
use crate::codepipeline::{CurrentRevision, ExecutionDetails, FailureDetails};
use crate::config::{Config, FaultCode, Operation};
use crate::faults::{FaultInjector, Rng};
use crate::s3::StoredObject;
use crate::stepfunctions::{StartedExecution, StoredExecution};
use crate::wire::format_timestamp;

/// `Status` of an invalidation that is still running, exactly as CloudFront
/// spells it.
pub const IN_PROGRESS: &str = "InProgress";
/// `Status` of a finished invalidation.
pub const COMPLETED: &str = "Completed";

/// Everything the request handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: Config,
    pub faults: FaultInjector,
    /// The emulator's time, and the register of background work.
    pub clock: Arc<Clock>,
    inner: Mutex<Inner>,
    /// Newly started executions, for [`crate::EmulatorHandle::next_started_execution`];
    /// sent to under the state lock, so they arrive in creation order.
    started_tx: mpsc::UnboundedSender<StartedExecution>,
    pub started_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<StartedExecution>>,
}

/// Mutable state; one lock, never held across an `.await`. Its `Debug` shows
/// counts only: the remembered job events hold artifact credentials.
pub(crate) struct Inner {
    /// In creation order; ListInvalidations reverses it.
    pub invalidations: Vec<StoredInvalidation>,
    /// Job ids that have had their terminal result.
    pub finished_jobs: HashMap<String, u64>,
    pub job_results: Vec<JobResult>,
    lambda_invocations: Vec<LambdaInvocation>,
    /// Functions whose `Once` fault has struck.
    pub spent_function_faults: BTreeSet<String>,
    discarded_events: Vec<DiscardedEvent>,
    calls: BTreeMap<Operation, u64>,
    injected: BTreeMap<Operation, u64>,
    fault_log: Vec<InjectedFault>,
    lost: BTreeMap<Operation, u64>,
    lost_log: Vec<InjectedFault>,
    /// Every execution, in creation order.
    pub executions: Vec<StoredExecution>,
    /// Execution ARN to its index in `executions`.
    pub execution_index: HashMap<String, usize>,
    /// Every CodePipeline job event seen, in order.
    jobs: Vec<JobRecord>,
    /// Job id to its event and function, for continuations; dropped when the
    /// job has its final result.
    job_events: HashMap<String, JobEvent>,
    /// Buckets that exist; fixed at start (the emulator creates none).
    pub buckets: BTreeSet<String>,
    /// S3 objects by (bucket, key).
    pub objects: BTreeMap<(String, String), StoredObject>,
    id_rng: Rng,
    request_rng: Rng,
    job_rng: Rng,
    name_rng: Rng,
    sequence: u64,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner")
            .field("invalidations", &self.invalidations.len())
            .field("job_results", &self.job_results.len())
            .field("lambda_invocations", &self.lambda_invocations.len())
            .field("executions", &self.executions.len())
            .field("jobs", &self.jobs.len())
            .field("objects", &self.objects.len())
            .field("sequence", &self.sequence)
            .finish_non_exhaustive()
    }
}

/// A remembered CodePipeline job event and the function it was sent to.
#[derive(Clone)]
pub(crate) struct JobEvent {
    pub function_name: String,
    /// The whole event, `artifactCredentials` included: never logged, never
    /// put in a snapshot.
    pub event: serde_json::Value,
}

impl fmt::Debug for JobEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobEvent")
            .field("function_name", &self.function_name)
            .field("event", &"<redacted>")
            .finish()
    }
}

/// An invalidation as stored; its status is derived from its age on the
/// emulator's clock when read.
#[derive(Debug, Clone)]
pub(crate) struct StoredInvalidation {
    /// The distribution id, or the tenant id when `tenant` is set.
    pub distribution_id: String,
    /// Whether it was made for a distribution tenant.
    pub tenant: bool,
    pub id: String,
    pub caller_reference: String,
    pub paths: Vec<String>,
    /// On the emulator's clock.
    pub created_at: SystemTime,
}

impl StoredInvalidation {
    /// `InProgress` until `duration` has passed since creation on the clock
    /// that reads `now`, then `Completed`.
    pub fn status(&self, now: SystemTime, duration: Duration) -> &'static str {
        let age = now.duration_since(self.created_at).unwrap_or_default();
        if age >= duration {
            COMPLETED
        } else {
            IN_PROGRESS
        }
    }
}

/// A point-in-time copy of everything the emulator has seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// All invalidations, oldest first.
    pub invalidations: Vec<InvalidationRecord>,
    /// All accepted job results, in the order they were recorded.
    pub job_results: Vec<JobResult>,
    /// Calls received per operation name (faulted calls included).
    pub calls: BTreeMap<String, u64>,
    /// Injected faults per operation name: calls failed before they took
    /// effect ([`FaultSpec::error_rate`](crate::FaultSpec#structfield.error_rate)).
    pub injected_faults: BTreeMap<String, u64>,
    /// Every injected fault, in order.
    pub fault_log: Vec<InjectedFault>,
    /// Lost responses per operation name: calls that took effect and were
    /// answered with a 500 instead ([`FaultSpec::lost_response_rate`](crate::FaultSpec#structfield.lost_response_rate)).
    #[serde(default)]
    pub lost_responses: BTreeMap<String, u64>,
    /// Every lost response, in order, as the client saw it.
    #[serde(default)]
    pub lost_response_log: Vec<InjectedFault>,
    /// Every Lambda invocation that was run (or found no function), in the
    /// order they finished; `DryRun` calls are counted but not listed. Each
    /// attempt of an `Event` call is listed. The emulator's own invocations
    /// (continued CodePipeline jobs, on-failure destinations) are listed (as
    /// `Event` calls, status 202) but not counted in `calls`.
    #[serde(default)]
    pub lambda_invocations: Vec<LambdaInvocation>,
    /// Every asynchronous event Lambda gave up on, in order: after its last
    /// retry failed, or when it was too old for the next one.
    #[serde(default)]
    pub discarded_events: Vec<DiscardedEvent>,
    /// Every Step Functions execution, in creation order.
    #[serde(default)]
    pub executions: Vec<ExecutionRecord>,
    /// Every CodePipeline job event seen, in order: those that came through
    /// Lambda `Invoke`, and those the emulator created to continue a job.
    #[serde(default)]
    pub jobs: Vec<JobRecord>,
    /// Every S3 object, seeded or put, by bucket then key; never their bytes.
    #[serde(default)]
    pub objects: Vec<ObjectRecord>,
}

impl Snapshot {
    /// Calls received for `op` so far.
    pub fn calls_of(&self, op: Operation) -> u64 {
        self.calls.get(op.name()).copied().unwrap_or(0)
    }

    /// Faults injected into `op` so far.
    pub fn faults_of(&self, op: Operation) -> u64 {
        self.injected_faults.get(op.name()).copied().unwrap_or(0)
    }

    /// Responses of `op` lost so far.
    pub fn lost_responses_of(&self, op: Operation) -> u64 {
        self.lost_responses.get(op.name()).copied().unwrap_or(0)
    }
}

/// One invalidation as seen in a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvalidationRecord {
    /// The distribution it belongs to, or the distribution tenant when
    /// `tenant` is set.
    pub distribution_id: String,
    /// Whether `distribution_id` is a distribution tenant id (the
    /// invalidation came from CreateInvalidationForDistributionTenant).
    #[serde(default)]
    pub tenant: bool,
    /// The invalidation id, e.g. `I2J0I21PCUYOIK`.
    pub id: String,
    /// The caller reference it was created with.
    pub caller_reference: String,
    /// Its paths, in request order.
    pub paths: Vec<String>,
    /// `InProgress` or `Completed` at the time of the snapshot.
    pub status: String,
    /// Creation time, RFC 3339 in UTC with milliseconds.
    pub created_at: String,
}

/// One S3 object, as seen in a [`Snapshot`]: where it is and how big, never
/// its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRecord {
    /// The bucket.
    pub bucket: String,
    /// The key, decoded.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The `ETag` clients see, quotes included (the hex MD5 of the bytes).
    pub etag: String,
}

/// One recorded `PutJobSuccessResult` or `PutJobFailureResult`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobResult {
    /// Position among all recorded results and faults, starting at 1.
    pub sequence: u64,
    /// The job the result is for.
    pub job_id: String,
    /// Which call delivered it.
    pub operation: Operation,
    /// When it was recorded, RFC 3339 in UTC with milliseconds.
    pub recorded_at: String,
    /// Success only: the token that asks CodePipeline to call the action again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
    /// Success only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_revision: Option<CurrentRevision>,
    /// Success only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_details: Option<ExecutionDetails>,
    /// Success only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_variables: Option<BTreeMap<String, String>>,
    /// Failure only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_details: Option<FailureDetails>,
}

impl JobResult {
    /// Whether this result ends the job: any failure, or a success without a
    /// continuation token.
    pub fn is_terminal(&self) -> bool {
        self.operation == Operation::PutJobFailureResult || self.continuation_token.is_none()
    }
}

/// One Lambda invocation, as seen in a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaInvocation {
    /// Position among all recorded results, faults and invocations, starting
    /// at 1; taken when the invocation finished.
    pub sequence: u64,
    /// The function name the call resolved to (no ARN, no qualifier).
    pub function_name: String,
    /// When the attempt started, RFC 3339 in UTC with milliseconds, on the
    /// emulator's clock.
    pub started_at: String,
    /// Real time from the attempt's start to the backend's answer (or the
    /// timeout): what the function host took, whichever clock the emulator
    /// runs on.
    pub duration_ms: u64,
    /// `ok`; the function's `errorType` (`Sandbox.Timedout` for a timeout or
    /// an injected hang, `Runtime.ExitError` for an injected crash);
    /// or, when the function never ran to an answer, the API error the caller
    /// got (`ResourceNotFoundException`, `ServiceException`).
    pub outcome: String,
    /// The HTTP status the caller got: 200 (also for function errors), 202
    /// for an `Event` call, 404 or 502.
    pub status: u16,
    /// The invocation's request id: the `x-amzn-RequestId` the caller got
    /// (kept by every attempt of an `Event` call, as Lambda keeps it).
    #[serde(default)]
    pub request_id: String,
    /// `RequestResponse` or `Event`.
    #[serde(default)]
    pub invocation_type: String,
    /// 1 for the first attempt; 2 and 3 for Lambda's retries of an `Event`
    /// call that ended in a function error.
    #[serde(default = "first_attempt")]
    pub attempt: u32,
    /// The fault [`Config::function_faults`](crate::Config#structfield.function_faults)
    /// injected into this invocation, by [`FunctionFaultKind::name`](crate::FunctionFaultKind::name):
    /// `crash`, `crash-after-work` or `hang`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injected_fault: Option<String>,
    /// For an invocation of an on-failure destination: the request id of
    /// the discarded event it reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure_of: Option<String>,
}

fn first_attempt() -> u32 {
    1
}

/// An asynchronous event Lambda gave up on, as seen in a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscardedEvent {
    /// Position among all recorded results, faults and invocations.
    pub sequence: u64,
    /// The event's request id.
    pub request_id: String,
    /// The function it was for.
    pub function_name: String,
    /// `RetriesExhausted` or `EventAgeExceeded`, as in Lambda's invocation record.
    pub condition: String,
    /// How many times the function was invoked with it.
    pub approximate_invoke_count: u32,
    /// The on-failure destination invoked with the invocation record, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<String>,
    /// When, RFC 3339 in UTC with milliseconds, on the emulator's clock.
    pub at: String,
}

/// One Step Functions execution, as seen in a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionRecord {
    /// `arn:aws:states:<region>:<account>:execution:<state machine>:<name>`.
    pub execution_arn: String,
    /// The state machine it runs.
    pub state_machine_arn: String,
    /// The execution name.
    pub name: String,
    /// Its input, exactly as given (`{}` when none was).
    pub input: String,
    /// `RUNNING`, `SUCCEEDED` or `FAILED`.
    pub status: String,
    /// When it started, RFC 3339 in UTC with milliseconds.
    pub start_date: String,
    /// When it ended, RFC 3339 in UTC with milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<String>,
    /// Its output, if it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Its error name, if it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its error cause, if it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// How many `StartExecution` calls named it, idempotent repeats included.
    pub start_calls: u64,
}

/// One CodePipeline job event, as seen in a [`Snapshot`] (never the event
/// itself, which holds artifact credentials).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRecord {
    /// `CodePipeline.job.id`.
    pub job_id: String,
    /// The function the event was sent to (plain name).
    pub function_name: String,
    /// For a job the emulator created after a continuation token: the job
    /// whose result carried the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continued_from: Option<String>,
    /// For such a job: the token, as put in `CodePipeline.job.data.continuationToken`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
    /// When the event was first sent, RFC 3339 in UTC with milliseconds.
    pub invoked_at: String,
}

/// One injected fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InjectedFault {
    /// Position among all recorded results and faults, starting at 1.
    pub sequence: u64,
    /// The operation that was failed.
    pub operation: Operation,
    /// The kind of fault.
    pub fault: FaultCode,
    /// The error code the client saw.
    pub code: String,
    /// The HTTP status the client saw.
    pub status: u16,
    /// When, RFC 3339 in UTC with milliseconds.
    pub at: String,
}

impl Shared {
    pub fn new(config: Config) -> Self {
        let faults = FaultInjector::new(config.seed, &config.faults);
        let (started_tx, started_rx) = mpsc::unbounded_channel();
        let buckets = config.all_buckets();
        let clock = Arc::new(Clock::new(config.clock));
        let seeded_at = clock.now();
        let objects = config
            .objects
            .iter()
            .map(|seed| {
                let object = StoredObject::seeded(seed.body.clone(), seeded_at);
                ((seed.bucket.clone(), seed.key.clone()), object)
            })
            .collect();
        let inner = Inner {
            invalidations: Vec::new(),
            finished_jobs: HashMap::new(),
            job_results: Vec::new(),
            lambda_invocations: Vec::new(),
            spent_function_faults: BTreeSet::new(),
            discarded_events: Vec::new(),
            calls: BTreeMap::new(),
            injected: BTreeMap::new(),
            fault_log: Vec::new(),
            lost: BTreeMap::new(),
            lost_log: Vec::new(),
            // Streams 101 and 102 keep ids independent of the fault streams,
            // so turning faults on does not change which ids are handed out.
            executions: Vec::new(),
            execution_index: HashMap::new(),
            jobs: Vec::new(),
            job_events: HashMap::new(),
            buckets,
            objects,
            id_rng: Rng::new(config.seed, 101),
            request_rng: Rng::new(config.seed, 102),
            job_rng: Rng::new(config.seed, 103),
            name_rng: Rng::new(config.seed, 104),
            sequence: 0,
        };
        Shared {
            config,
            faults,
            clock,
            inner: Mutex::new(inner),
            started_tx,
            started_rx: tokio::sync::Mutex::new(started_rx),
        }
    }

    /// Marks the emulator stopped, so that background work (continuations,
    /// retries) ends instead of outliving it.
    pub fn stop(&self) {
        self.clock.stop();
    }

    /// The emulator's time.
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// Queues a newly created execution for `next_started_execution`; call
    /// with the state lock held, so the queue keeps creation order.
    pub fn announce_started(&self, started: StartedExecution) {
        // The receiver lives as long as `self`, so this cannot fail.
        let _ = self.started_tx.send(started);
    }

    /// Locks the state; a panic in another handler must not wedge the
    /// emulator, so a poisoned lock is taken over.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn snapshot(&self) -> Snapshot {
        let now = self.now();
        let inner = self.lock();
        let duration = self.config.invalidation_duration;
        Snapshot {
            invalidations: inner
                .invalidations
                .iter()
                .map(|inv| InvalidationRecord {
                    distribution_id: inv.distribution_id.clone(),
                    tenant: inv.tenant,
                    id: inv.id.clone(),
                    caller_reference: inv.caller_reference.clone(),
                    paths: inv.paths.clone(),
                    status: inv.status(now, duration).to_string(),
                    created_at: format_timestamp(inv.created_at),
                })
                .collect(),
            job_results: inner.job_results.clone(),
            calls: name_keys(&inner.calls),
            injected_faults: name_keys(&inner.injected),
            fault_log: inner.fault_log.clone(),
            lost_responses: name_keys(&inner.lost),
            lost_response_log: inner.lost_log.clone(),
            lambda_invocations: inner.lambda_invocations.clone(),
            discarded_events: inner.discarded_events.clone(),
            executions: inner
                .executions
                .iter()
                .map(StoredExecution::record)
                .collect(),
            jobs: inner.jobs.clone(),
            objects: inner
                .objects
                .iter()
                .map(|((bucket, key), object)| ObjectRecord {
                    bucket: bucket.clone(),
                    key: key.clone(),
                    size: object.body.len() as u64,
                    etag: object.etag.clone(),
                })
                .collect(),
        }
    }
}

fn name_keys(map: &BTreeMap<Operation, u64>) -> BTreeMap<String, u64> {
    map.iter()
        .map(|(op, n)| (op.name().to_string(), *n))
        .collect()
}

impl Inner {
    pub fn count_call(&mut self, op: Operation) {
        *self.calls.entry(op).or_default() += 1;
    }

    pub fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    /// Records an injected fault as the client saw it (`code`, `status`) at
    /// `at` on the emulator's clock.
    pub fn record_fault(
        &mut self,
        op: Operation,
        fault: FaultCode,
        code: &str,
        status: u16,
        at: SystemTime,
    ) {
        *self.injected.entry(op).or_default() += 1;
        let sequence = self.next_sequence();
        self.fault_log.push(InjectedFault {
            sequence,
            operation: op,
            fault,
            code: code.to_string(),
            status,
            at: format_timestamp(at),
        });
    }

    /// Records a lost response as the client saw it (`code`, `status`) at
    /// `at` on the emulator's clock.
    pub fn record_lost_response(&mut self, op: Operation, code: &str, status: u16, at: SystemTime) {
        *self.lost.entry(op).or_default() += 1;
        let sequence = self.next_sequence();
        self.lost_log.push(InjectedFault {
            sequence,
            operation: op,
            fault: FaultCode::InternalError,
            code: code.to_string(),
            status,
            at: format_timestamp(at),
        });
    }

    /// Records a finished Lambda invocation under the next sequence number
    /// (its own `sequence` is replaced).
    pub fn record_invocation(&mut self, mut invocation: LambdaInvocation) {
        invocation.sequence = self.next_sequence();
        self.lambda_invocations.push(invocation);
    }

    /// Records a discarded event under the next sequence number (its own
    /// `sequence` is replaced).
    pub fn record_discarded(&mut self, mut event: DiscardedEvent) {
        event.sequence = self.next_sequence();
        self.discarded_events.push(event);
    }

    /// A fresh id shaped like CloudFront's: `I` and 13 of `[A-Z0-9]`.
    pub fn new_invalidation_id(&mut self) -> String {
        const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        loop {
            let mut id = String::with_capacity(14);
            id.push('I');
            let (mut a, mut b) = (self.id_rng.next_u64(), self.id_rng.next_u64());
            for i in 0..13 {
                // 36^7 < 2^64, so each half gives 7 (resp. 6) fair-enough digits.
                let src = if i < 7 { &mut a } else { &mut b };
                id.push(ALPHABET[(*src % 36) as usize] as char);
                *src /= 36;
            }
            if !self.invalidations.iter().any(|inv| inv.id == id) {
                return id;
            }
        }
    }

    /// A request id shaped like a UUID, as AWS request ids are.
    pub fn new_request_id(&mut self) -> String {
        uuid_from(&mut self.request_rng)
    }

    /// A fresh CodePipeline job id: a lowercase UUID no job has had.
    pub fn new_job_id(&mut self) -> String {
        loop {
            let id = uuid_from(&mut self.job_rng);
            if !self.jobs.iter().any(|job| job.job_id == id) {
                return id;
            }
        }
    }

    /// A generated execution name (a UUID, as Step Functions generates).
    pub fn new_execution_name(&mut self) -> String {
        uuid_from(&mut self.name_rng)
    }

    /// Remembers a job event the first time its job id is seen (at `at`, on
    /// the emulator's clock), and lists it; returns false (and changes
    /// nothing) for a job id seen before.
    pub fn remember_job(
        &mut self,
        job_id: &str,
        event: JobEvent,
        continued_from: Option<String>,
        continuation_token: Option<String>,
        at: SystemTime,
    ) -> bool {
        if self.jobs.iter().any(|job| job.job_id == job_id) {
            return false;
        }
        self.jobs.push(JobRecord {
            job_id: job_id.to_string(),
            function_name: event.function_name.clone(),
            continued_from,
            continuation_token,
            invoked_at: format_timestamp(at),
        });
        self.job_events.insert(job_id.to_string(), event);
        true
    }

    /// The remembered event of a job, if any.
    pub fn job_event(&self, job_id: &str) -> Option<JobEvent> {
        self.job_events.get(job_id).cloned()
    }

    /// Drops a job's event once the job has its final result.
    pub fn forget_job_event(&mut self, job_id: &str) {
        self.job_events.remove(job_id);
    }
}

/// A version-4-shaped UUID, lowercase, from `rng`.
fn uuid_from(rng: &mut Rng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        ((b >> 48) & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_real_and_repeat_per_seed() {
        let a = Shared::new(Config::default().seed(3));
        let b = Shared::new(Config::default().seed(3));
        let ia = a.lock().new_invalidation_id();
        assert_eq!(ia, b.lock().new_invalidation_id());
        assert_eq!(ia.len(), 14);
        assert!(ia.starts_with('I'));
        assert!(ia[1..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
        let rid = a.lock().new_request_id();
        assert_eq!(rid.len(), 36);
        assert_eq!(rid.matches('-').count(), 4);
    }
}
