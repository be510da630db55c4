//! The state bucket: where a run keeps its plan, and where a continued job finds its run.
//!
//! Step Functions limits each state to 256 KiB, and a request may name 100,000 paths, so the
//! plan lives here, written once by the step that planned, read by any step that submits a
//! batch (the claim-check pattern of the Step Functions developer guide, "Using Amazon S3 ARNs
//! instead of passing large payloads"). Every object of a run is under [`RUNS_PREFIX`], the one
//! prefix the functions may read and write, which the template's lifecycle rule expires:
//!
//! | object | written by | read by |
//! |---|---|---|
//! | `runs/<run>/plan.json` | the step that planned: pipeline-entry, or start-invalidation | start-invalidation, check-status |
//! | `runs/<run>/continued-<job id>.json` | report-result, replying "in progress" to that job | start-invalidation of the job that carries on |
//!
//! `<run>` is the execution name of the run that planned (`job-<job id>` for a Lambda invoke
//! action's job). A plan is written with `If-None-Match: *` (S3's conditional writes), so a
//! retry finds the plan an earlier attempt wrote, and a different plan under the same name is
//! [`ErrorKind::PlanConflict`], never an overwrite.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

use crate::aws_error::classify;
use crate::error::{shorten, ErrorKind, WorkflowError};
use crate::run::{RunPlan, RunState, PLAN_FORMAT};

/// The environment variable that names the state bucket (the template's `StateBucket`).
pub const STATE_BUCKET_VARIABLE: &str = "STATE_BUCKET";
/// Where every object of a run is.
pub const RUNS_PREFIX: &str = "runs/";

/// The key of a run's plan.
pub fn plan_key(run: &str) -> String {
    format!("{RUNS_PREFIX}{run}/plan.json")
}

/// The key of the state a run left for the job that carries it on.
pub fn continuation_key(run: &str, job_id: &str) -> String {
    format!("{RUNS_PREFIX}{run}/continued-{job_id}.json")
}

/// When a write happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteCondition {
    /// Whatever is there.
    Always,
    /// Only if no object has the key (`If-None-Match: *`).
    IfAbsent,
    /// Only if the object there has this ETag (`If-Match`).
    IfMatch(String),
}

/// What a conditional write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The object was written; its new ETag.
    Yes(String),
    /// The condition did not hold (S3's 412 `PreconditionFailed`); nothing was written.
    ConditionFailed,
}

/// An object read back, with its ETag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// Its bytes.
    pub body: Vec<u8>,
    /// Its ETag, as S3 gives it (quoted).
    pub etag: String,
}

/// Reads and writes objects of the state bucket. [`StateBucket`] is S3; [`MemoryStore`] keeps
/// them in memory, for tests and models that run the steps without S3.
pub trait ObjectStore {
    /// The object at `key`, if there is one.
    fn get(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<StoredObject>, WorkflowError>> + Send;
    /// Writes `body` at `key` when `condition` holds.
    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        condition: WriteCondition,
    ) -> impl Future<Output = Result<Written, WorkflowError>> + Send;
}

/// The state bucket in S3, named by [`STATE_BUCKET_VARIABLE`].
///
/// A missing name does not stop a function at start: report-result must still report, and
/// pipeline-entry must tell each job why it cannot start. A call then fails with
/// `InvalidInput` naming the variable (CodePipeline's `ConfigurationError`).
#[derive(Debug, Clone)]
pub struct StateBucket {
    client: Client,
    bucket: Result<String, String>,
}

impl StateBucket {
    /// The bucket [`STATE_BUCKET_VARIABLE`] names, reached with `client`.
    pub fn from_env(client: Client) -> Self {
        Self::new(client, std::env::var(STATE_BUCKET_VARIABLE).ok())
    }

    /// The bucket of this name (if set), reached with `client`.
    pub fn new(client: Client, name: Option<String>) -> Self {
        let bucket = match name {
            Some(name) if !name.is_empty() => Ok(name),
            _ => Err(format!(
                "{STATE_BUCKET_VARIABLE} is not set: give the functions the state bucket's name \
                 (the template's StateBucket)"
            )),
        };
        Self { client, bucket }
    }

    fn bucket(&self) -> Result<&str, WorkflowError> {
        self.bucket
            .as_deref()
            .map_err(|why| WorkflowError::invalid_input(why.clone()))
    }
}

impl ObjectStore for StateBucket {
    async fn get(&self, key: &str) -> Result<Option<StoredObject>, WorkflowError> {
        let bucket = self.bucket()?;
        let call = format!("GetObject s3://{bucket}/{key}");
        let output = match self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Ok(None)
            }
            Err(error) => return Err(classify(&call, error)),
        };
        let etag = output.e_tag().unwrap_or_default().to_owned();
        let body = output.body.collect().await.map_err(|e| {
            WorkflowError::new(
                ErrorKind::ServiceUnavailable,
                format!("{call}: the download broke off: {e}"),
            )
        })?;
        Ok(Some(StoredObject {
            body: body.into_bytes().into(),
            etag,
        }))
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        condition: WriteCondition,
    ) -> Result<Written, WorkflowError> {
        let bucket = self.bucket()?;
        let call = format!("PutObject s3://{bucket}/{key}");
        let mut request = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        request = match condition {
            WriteCondition::Always => request,
            WriteCondition::IfAbsent => request.if_none_match("*"),
            WriteCondition::IfMatch(etag) => request.if_match(etag),
        };
        match request.send().await {
            Ok(output) => Ok(Written::Yes(output.e_tag().unwrap_or_default().to_owned())),
            Err(error) if error.code() == Some("PreconditionFailed") => {
                Ok(Written::ConditionFailed)
            }
            Err(error) => Err(classify(&call, error)),
        }
    }
}

/// Objects in memory, with S3's conditional writes: for step tests and models that run the
/// steps without S3. Counts its writes, so a test can tell how often a plan was stored.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<String, StoredObject>>,
    writes: AtomicU32,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many writes succeeded.
    pub fn writes(&self) -> u32 {
        self.writes.load(Ordering::Relaxed)
    }

    /// The keys it holds, in order.
    pub fn keys(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, StoredObject>> {
        self.objects
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl ObjectStore for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<StoredObject>, WorkflowError> {
        Ok(self.lock().get(key).cloned())
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        condition: WriteCondition,
    ) -> Result<Written, WorkflowError> {
        let mut objects = self.lock();
        let current = objects.get(key).map(|object| object.etag.clone());
        let holds = match (&condition, &current) {
            (WriteCondition::Always, _) | (WriteCondition::IfAbsent, None) => true,
            (WriteCondition::IfAbsent, Some(_)) => false,
            (WriteCondition::IfMatch(wanted), Some(etag)) => wanted == etag,
            (WriteCondition::IfMatch(_), None) => {
                return Err(WorkflowError::new(
                    ErrorKind::AwsRequestFailed,
                    format!(
                        "PutObject {key}: NoSuchKey (HTTP 404): The specified key does not exist."
                    ),
                ))
            }
        };
        if !holds {
            return Ok(Written::ConditionFailed);
        }
        let count = self.writes.fetch_add(1, Ordering::Relaxed) + 1;
        let etag = format!("\"{count:032x}\"");
        objects.insert(
            key.to_owned(),
            StoredObject {
                body,
                etag: etag.clone(),
            },
        );
        Ok(Written::Yes(etag))
    }
}

/// The plan of the run named `run`, if one was stored.
pub async fn load_plan(
    store: &impl ObjectStore,
    run: &str,
) -> Result<Option<RunPlan>, WorkflowError> {
    let key = plan_key(run);
    let Some(object) = store.get(&key).await? else {
        return Ok(None);
    };
    read_json::<RunPlan>(&key, &object.body).and_then(|plan| {
        if plan.v == PLAN_FORMAT {
            Ok(Some(plan))
        } else {
            Err(WorkflowError::new(
                ErrorKind::PlanConflict,
                format!(
                    "{key} holds a plan of format {}, not {PLAN_FORMAT}: it was written by another \
                     version of the functions",
                    plan.v
                ),
            ))
        }
    })
}

/// The plan of the run named `run`, which must have been stored: a step after the first one
/// reads it so.
pub async fn stored_plan(store: &impl ObjectStore, run: &str) -> Result<RunPlan, WorkflowError> {
    load_plan(store, run).await?.ok_or_else(|| {
        WorkflowError::new(
            ErrorKind::PlanNotFound,
            format!(
                "the state bucket holds no plan for run {run} ({}): it may have expired under \
                 the bucket's lifecycle rule, or the functions name another bucket than the one \
                 the run started with",
                plan_key(run)
            ),
        )
    })
}

/// Stores the plan of the run named `run`, once: a retry that finds the same plan there is
/// fine; another plan there is [`ErrorKind::PlanConflict`], and nothing is overwritten.
pub async fn store_plan(
    store: &impl ObjectStore,
    run: &str,
    plan: &RunPlan,
) -> Result<(), WorkflowError> {
    let key = plan_key(run);
    let body = serde_json::to_vec(plan).expect("a plan serializes");
    if let Written::Yes(_) = store.put(&key, body, WriteCondition::IfAbsent).await? {
        tracing::info!(
            key = %key,
            targets = plan.targets.len(),
            batches = plan.batches.len(),
            items = plan.items(),
            "plan stored"
        );
        return Ok(());
    }
    match load_plan(store, run).await? {
        Some(stored) if &stored == plan => Ok(()),
        _ => Err(WorkflowError::new(
            ErrorKind::PlanConflict,
            format!(
                "the state bucket holds another plan for run {run} ({key}); a run's name (its \
                 execution name, or job id) names one request only"
            ),
        )),
    }
}

/// Stores the state of a run that replies "in progress" to job `job_id`, for the job
/// CodePipeline creates next; returns the object's key, which the continuation token names.
pub async fn store_continuation(
    store: &impl ObjectStore,
    state: &RunState,
    job_id: &str,
) -> Result<String, WorkflowError> {
    let key = continuation_key(&state.key, job_id);
    let body = serde_json::to_vec(state).expect("a run state serializes");
    // The same job's reply is always the same state (the step's input does not change between
    // retries), so a plain write is idempotent.
    store.put(&key, body, WriteCondition::Always).await?;
    Ok(key)
}

/// The state a run left at `key` for the job that carries it on.
pub async fn load_continuation(
    store: &impl ObjectStore,
    key: &str,
) -> Result<RunState, WorkflowError> {
    let object = store.get(key).await?.ok_or_else(|| {
        WorkflowError::new(
            ErrorKind::PlanNotFound,
            format!(
                "the state bucket holds no run state at {key}, which the job's continuation \
                 token names: it may have expired under the bucket's lifecycle rule"
            ),
        )
    })?;
    read_json(key, &object.body)
}

fn read_json<T: serde::de::DeserializeOwned>(key: &str, body: &[u8]) -> Result<T, WorkflowError> {
    serde_json::from_slice(body).map_err(|e| {
        WorkflowError::new(
            ErrorKind::PlanConflict,
            format!(
                "{key} in the state bucket is not what this version of the functions writes: {}",
                shorten(&e.to_string())
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(paths: &[&str]) -> RunPlan {
        RunPlan {
            v: PLAN_FORMAT,
            job_id: None,
            reference_prefix: "run-1".into(),
            targets: vec!["E2QWRUHEXAMPLE".into()],
            batches: vec![paths.iter().map(|p| p.to_string()).collect()],
            requested: paths.len(),
            tags: 0,
            timeout_seconds: 60,
        }
    }

    #[tokio::test]
    async fn a_plan_is_stored_once_and_a_retry_finds_it() {
        let store = MemoryStore::new();
        store_plan(&store, "run-1", &plan(&["/a"])).await.unwrap();
        store_plan(&store, "run-1", &plan(&["/a"])).await.unwrap();
        assert_eq!(store.writes(), 1);
        assert_eq!(
            load_plan(&store, "run-1").await.unwrap(),
            Some(plan(&["/a"]))
        );
        assert_eq!(store.keys(), ["runs/run-1/plan.json"]);
    }

    #[tokio::test]
    async fn another_plan_under_the_same_name_is_refused_and_the_first_is_kept() {
        let store = MemoryStore::new();
        store_plan(&store, "run-1", &plan(&["/a"])).await.unwrap();
        let error = store_plan(&store, "run-1", &plan(&["/b"]))
            .await
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::PlanConflict);
        assert_eq!(
            error.message,
            "the state bucket holds another plan for run run-1 (runs/run-1/plan.json); a run's \
             name (its execution name, or job id) names one request only"
        );
        assert_eq!(
            load_plan(&store, "run-1").await.unwrap(),
            Some(plan(&["/a"]))
        );
    }

    #[tokio::test]
    async fn a_missing_plan_is_named_with_its_key() {
        let error = stored_plan(&MemoryStore::new(), "run-9").await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::PlanNotFound);
        assert!(
            error.message.contains("runs/run-9/plan.json"),
            "{}",
            error.message
        );
    }
}
