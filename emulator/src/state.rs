//! The emulator's memory: invalidations, job results, Lambda invocations,
//! CodePipeline job events, Step Functions executions, S3 buckets and objects
//! and counters, as stored, and the [`Snapshot`] made of them (its types are
//! in `records`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::checksum::{etag, ChecksumAlgorithm};
use crate::clock::Clock;
use crate::config::{Config, FaultCode, Operation};
use crate::faults::{FaultInjector, Rng};
use crate::records::{
    DiscardedEvent, ExecutionRecord, InjectedFault, InvalidationRecord, JobRecord, JobResult,
    LambdaInvocation, ObjectRecord, S3Request, Snapshot, StartedExecution, COMPLETED, IN_PROGRESS,
    JOB_EVENT_KEY,
};
use crate::wire::{format_timestamp, whole_seconds};

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
    /// In creation order.
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
    /// Every bucket, by name, and its objects by key: ordered maps, so that a
    /// listing page is a range query (UTF-8 binary order, as S3 lists).
    pub buckets: BTreeMap<String, Bucket>,
    /// Every S3 call, in the order answered.
    s3_requests: Vec<S3Request>,
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
            .field("buckets", &self.buckets.len())
            .field("s3_requests", &self.s3_requests.len())
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

/// A bucket's objects, by key.
pub(crate) type Bucket = BTreeMap<String, StoredObject>;

/// An object as stored: put in place by the configuration or by PutObject.
#[derive(Clone)]
pub(crate) struct StoredObject {
    pub body: Bytes,
    /// Quoted hex MD5 of `body`, as S3 gives an object put in one piece.
    pub etag: String,
    /// On the emulator's clock, to the whole second (S3's precision).
    pub last_modified: SystemTime,
    /// The `Content-Type` it was put with, if any.
    pub content_type: Option<String>,
    /// User metadata: `x-amz-meta-` header names (lowercase) and values.
    pub metadata: Vec<(String, String)>,
    /// The checksum S3 keeps with it: the one it was uploaded with, or
    /// CRC64NVME, S3's default for an upload that sent none.
    pub checksum_algorithm: ChecksumAlgorithm,
    /// Base64 of the digest.
    pub checksum: String,
}

impl std::fmt::Debug for StoredObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredObject")
            .field("size", &self.body.len())
            .field("etag", &self.etag)
            .finish_non_exhaustive()
    }
}

impl StoredObject {
    /// An object of `body` stored at `at`, with no type or metadata, and the
    /// given checksum (`None`: S3's default, CRC64NVME, computed here).
    pub fn new(body: Bytes, at: SystemTime, checksum: Option<(ChecksumAlgorithm, String)>) -> Self {
        let (checksum_algorithm, checksum) = checksum.unwrap_or_else(|| {
            let default = ChecksumAlgorithm::Crc64Nvme;
            (default, default.compute(&body))
        });
        StoredObject {
            etag: etag(&body),
            body,
            last_modified: whole_seconds(at),
            content_type: None,
            metadata: Vec::new(),
            checksum_algorithm,
            checksum,
        }
    }
}

/// An execution as stored.
#[derive(Debug, Clone)]
pub(crate) struct StoredExecution {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub input: String,
    pub status: &'static str,
    pub start_date: SystemTime,
    pub stop_date: Option<SystemTime>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub start_calls: u64,
}

impl StoredExecution {
    pub(crate) fn record(&self) -> ExecutionRecord {
        ExecutionRecord {
            execution_arn: self.execution_arn.clone(),
            state_machine_arn: self.state_machine_arn.clone(),
            name: self.name.clone(),
            input: self.input.clone(),
            status: self.status.to_string(),
            start_date: format_timestamp(self.start_date),
            stop_date: self.stop_date.map(format_timestamp),
            output: self.output.clone(),
            error: self.error.clone(),
            cause: self.cause.clone(),
            start_calls: self.start_calls,
        }
    }
}

impl Shared {
    pub fn new(config: Config) -> Self {
        let faults = FaultInjector::new(config.seed, &config.faults);
        let (started_tx, started_rx) = mpsc::unbounded_channel();
        let clock = Arc::new(Clock::new(config.clock));
        let seeded_at = clock.now();
        let mut buckets: BTreeMap<String, Bucket> = config
            .existing_buckets()
            .into_iter()
            .map(|name| (name.to_owned(), Bucket::new()))
            .collect();
        for seed in &config.objects {
            let object = StoredObject::new(Bytes::from(seed.body.clone()), seeded_at, None);
            buckets
                .entry(seed.bucket.clone())
                .or_default()
                .insert(seed.key.clone(), object);
        }
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
            s3_requests: Vec::new(),
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
                .buckets
                .iter()
                .flat_map(|(bucket, objects)| {
                    objects.iter().map(move |(key, object)| ObjectRecord {
                        bucket: bucket.clone(),
                        key: key.clone(),
                        size: object.body.len() as u64,
                        etag: object.etag.clone(),
                    })
                })
                .collect(),
            s3_requests: inner.s3_requests.clone(),
        }
    }
}

impl Shared {
    /// Remembers the CodePipeline job in a Lambda invocation's payload, if it
    /// carries one (a top-level `"CodePipeline.job"` object with an `id`), the
    /// first time its job id is seen.
    pub fn observe_job_event(&self, function_name: &str, payload: &[u8]) {
        let Ok(event) = serde_json::from_slice::<Value>(payload) else {
            return;
        };
        let Some(job_id) = event
            .get(JOB_EVENT_KEY)
            .and_then(|job| job.get("id"))
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
        else {
            return;
        };
        let remembered = JobEvent {
            function_name: function_name.to_string(),
            event,
        };
        let now = self.now();
        if self
            .lock()
            .remember_job(&job_id, remembered, None, None, now)
        {
            tracing::info!(%job_id, function = function_name, "CodePipeline job event seen");
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

    /// Records an answered S3 call under the next sequence number (its own
    /// `sequence` is replaced).
    pub fn record_s3_request(&mut self, mut request: S3Request) {
        request.sequence = self.next_sequence();
        self.s3_requests.push(request);
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
