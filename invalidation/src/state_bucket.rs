//! The state bucket: where a run keeps its plan, where a continued job finds its run, and where
//! a site's manifest stays from one run to the next.
//!
//! Step Functions limits each state to 256 KiB, and a request may name 100,000 paths, so the
//! plan lives here, written once by the step that planned, read by any step that submits a
//! batch (the claim-check pattern of the Step Functions developer guide, "Using Amazon S3 ARNs
//! instead of passing large payloads"). Every object of a run is under [`RUNS_PREFIX`], which the
//! template's lifecycle rule expires; the manifests are under [`MANIFESTS_PREFIX`], which it
//! keeps. The functions may read and write these two prefixes only:
//!
//! | object | written by | read by |
//! |---|---|---|
//! | `runs/<run>/plan.json` | the step that planned: pipeline-entry, or start-invalidation | start-invalidation, check-status |
//! | `runs/<run>/continued-<job id>.json` | report-result, replying "in progress" to that job | start-invalidation of the job that carries on |
//! | `runs/<run>/manifest-<digest>.jsonl.gz` | the step that planned a run with `changesIn`: its listing of the site | report-result, once the run succeeded |
//! | `manifests/<bucket>/<hash>.jsonl.gz` | report-result: the listing of the last successful run for a site | the step that plans the next run for it |
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
use sha2::{Digest, Sha256};

use crate::aws_error::classify;
use crate::error::{shorten, truncate_chars, ErrorKind, WorkflowError};
use crate::run::{RunPlan, RunState, PLAN_FORMAT};
use crate::site::{
    changed_paths, decode_manifest, encode_manifest, ManifestKept, SiteChanges, SiteObject,
    SiteSource, SiteUpdate, MAX_UNREADABLE_CHARS,
};

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

/// Where the manifests of site buckets are (see [`crate::site`]); unlike `runs/`, no lifecycle
/// rule expires them.
pub const MANIFESTS_PREFIX: &str = "manifests/";

/// The key of the manifest of a site as seen by some distributions: one per set of targets,
/// bucket and prefix, hashed so that a long prefix still makes a short key.
pub fn manifest_key(site: &SiteSource, targets: &[String]) -> String {
    let mut sorted: Vec<&str> = targets.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    // Everything that maps the site's keys to the URLs it invalidates: when one of these
    // changes, the run starts afresh with a first run rather than compare across mappings.
    let mut hash = Sha256::new();
    for part in [
        site.prefix.as_str(),
        &site.origin_prefix,
        site.index_document.as_deref().unwrap_or(""),
        if site.slashless_directories {
            "slashless"
        } else {
            ""
        },
        &sorted.join(","),
    ] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    let digest = hash.finalize();
    format!(
        "{MANIFESTS_PREFIX}{}/{}.jsonl.gz",
        site.bucket,
        hex(&digest[..16])
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where run `run` keeps its listing of the site (`listing`, a manifest) until it succeeded:
/// named by the listing's digest, so two attempts of one step that listed different objects
/// never overwrite each other's.
pub fn listing_key(run: &str, listing: &[u8]) -> String {
    format!(
        "{RUNS_PREFIX}{run}/manifest-{}.jsonl.gz",
        hex(&Sha256::digest(listing)[..8])
    )
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

/// Reads and writes objects of the state bucket, and lists site buckets (see [`crate::site`]),
/// with the function's own role. [`StateBucket`] is S3; [`MemoryStore`] keeps them in memory,
/// for tests and models that run the steps without S3.
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
    /// Every object of `bucket` (not the state bucket) whose key starts with `prefix`.
    fn list(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<SiteObject>, WorkflowError>> + Send;
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
            // S3 User Guide, "How to prevent object overwrites with conditional writes": 412
            // when the condition does not hold, 404 NoSuchKey for `If-Match` on a key with no
            // object, and 409 ConditionalRequestConflict when another write to the key is under
            // way, which will have changed the object by the time this one could retry.
            Err(error)
                if matches!(
                    error.code(),
                    Some("PreconditionFailed" | "NoSuchKey" | "ConditionalRequestConflict")
                ) =>
            {
                Ok(Written::ConditionFailed)
            }
            Err(error) => Err(classify(&call, error)),
        }
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<SiteObject>, WorkflowError> {
        let call = format!("ListObjectsV2 s3://{bucket}/{prefix}");
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut objects = Vec::new();
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(page) => page,
                Err(error) if error.code() == Some("NoSuchBucket") => {
                    return Err(WorkflowError::invalid_input(format!(
                        "changesIn.bucket `{bucket}` does not exist ({call}: NoSuchBucket)"
                    )))
                }
                Err(error) => {
                    let mut error = classify(&call, error);
                    if error.kind == ErrorKind::AccessDenied {
                        error.message.push_str(
                            " (the functions may list only the buckets of the template's \
                             SiteBuckets parameter)",
                        );
                    }
                    return Err(error);
                }
            };
            // Moved out of the page, not copied: 100,000 keys and ETags at the largest.
            objects.extend(page.contents.unwrap_or_default().into_iter().map(|object| {
                SiteObject {
                    key: object.key.unwrap_or_default(),
                    etag: object.e_tag.unwrap_or_default(),
                    size: object.size.unwrap_or_default().max(0) as u64,
                }
            }));
        }
        Ok(objects)
    }
}

/// Objects in memory, with S3's conditional writes: for step tests and models that run the
/// steps without S3. Counts its writes, so a test can tell how often a plan was stored.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<String, StoredObject>>,
    writes: AtomicU32,
    /// Site buckets, by name, and their objects by key.
    sites: Mutex<BTreeMap<String, BTreeMap<String, SiteObject>>>,
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

    /// Puts an object in site bucket `bucket` (which exists from then on), as a deploy would.
    /// Its ETag is a digest of `body` (S3's would be its MD5): equal bodies, equal ETags.
    pub fn put_site_object(&self, bucket: &str, key: &str, body: &[u8]) {
        let object = SiteObject {
            key: key.to_owned(),
            etag: format!("\"{}\"", hex(&Sha256::digest(body))),
            size: body.len() as u64,
        };
        self.lock_sites()
            .entry(bucket.to_owned())
            .or_default()
            .insert(key.to_owned(), object);
    }

    /// Removes an object from site bucket `bucket`.
    pub fn remove_site_object(&self, bucket: &str, key: &str) {
        if let Some(objects) = self.lock_sites().get_mut(bucket) {
            objects.remove(key);
        }
    }

    /// Removes an object of the state bucket, as a person might.
    pub fn remove(&self, key: &str) {
        self.lock().remove(key);
    }

    /// The body of the state bucket's object at `key`, if there is one.
    pub fn body(&self, key: &str) -> Option<Vec<u8>> {
        self.lock().get(key).map(|object| object.body.clone())
    }

    fn lock_sites(
        &self,
    ) -> std::sync::MutexGuard<'_, BTreeMap<String, BTreeMap<String, SiteObject>>> {
        self.sites
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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
            // S3 answers 404 NoSuchKey, which StateBucket reads as a condition that failed.
            (WriteCondition::IfMatch(_), None) => false,
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

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<SiteObject>, WorkflowError> {
        let sites = self.lock_sites();
        let objects = sites.get(bucket).ok_or_else(|| {
            WorkflowError::invalid_input(format!(
                "changesIn.bucket `{bucket}` does not exist (ListObjectsV2 s3://{bucket}/{prefix}: \
                 NoSuchBucket)"
            ))
        })?;
        Ok(objects
            .range(prefix.to_owned()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(_, object)| object.clone())
            .collect())
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

/// Lists the site, compares it with its manifest, and finds the paths to invalidate; the run
/// named `run` will keep the listing as the manifest when it succeeds. A manifest that cannot
/// be read counts as none (everything is invalidated, which is never too little), and says so
/// in the log.
pub async fn find_changes(
    store: &impl ObjectStore,
    site: &SiteSource,
    targets: &[String],
    run: &str,
) -> Result<SiteChanges, WorkflowError> {
    let manifest_key = manifest_key(site, targets);
    let (previous, previous_etag, manifest_unreadable) = match store.get(&manifest_key).await? {
        None => (None, None, None),
        Some(stored) => match decode_manifest(&stored.body) {
            Ok((_, objects)) => (Some(objects), Some(stored.etag), None),
            // Counted as none (a first run: never too little), and replaced by this run's,
            // on the ETag it has now.
            Err(why) => {
                tracing::warn!(key = %manifest_key, why, "manifest unreadable: a first run");
                let why = truncate_chars(&why, MAX_UNREADABLE_CHARS);
                (None, Some(stored.etag), Some(why))
            }
        },
    };
    let mut listing = store.list(&site.bucket, &site.prefix).await?;
    listing.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    let (paths, counts) = changed_paths(site, previous.as_deref(), &listing);
    tracing::info!(
        bucket = %site.bucket,
        prefix = %site.prefix,
        objects = counts.objects,
        added = counts.added,
        changed = counts.changed,
        removed = counts.removed,
        paths = counts.paths,
        first_run = counts.first_run,
        "site compared with its manifest"
    );
    let manifest = encode_manifest(site, targets, run, &listing);
    Ok(SiteChanges {
        paths,
        update: SiteUpdate {
            site: format!("s3://{}/{}", site.bucket, site.prefix),
            manifest_key,
            previous_etag,
            manifest_unreadable,
            listing_key: listing_key(run, &manifest),
            counts,
        },
        manifest,
    })
}

/// Keeps the run's listing (`update.listing_key`) as the site's manifest, once the run
/// succeeded: written
/// with `If-None-Match: *` on a first run, with `If-Match` on the ETag of the manifest the run
/// compared with after, so that of two runs that read the same manifest only one replaces it,
/// and no change either saw goes uninvalidated by the next run. A retried report finds its own
/// write. Never fails the run: what it could not do it says.
pub async fn keep_manifest(store: &impl ObjectStore, update: &SiteUpdate) -> ManifestKept {
    match try_keep_manifest(store, update).await {
        Ok(kept) => kept,
        Err(error) => ManifestKept::NotWritten { why: error.message },
    }
}

async fn try_keep_manifest(
    store: &impl ObjectStore,
    update: &SiteUpdate,
) -> Result<ManifestKept, WorkflowError> {
    let pending = &update.listing_key;
    let Some(listing) = store.get(pending).await? else {
        return Ok(ManifestKept::NotWritten {
            why: format!("the run's listing {pending} is gone from the state bucket"),
        });
    };
    let condition = match &update.previous_etag {
        Some(etag) => WriteCondition::IfMatch(etag.clone()),
        None => WriteCondition::IfAbsent,
    };
    let key = &update.manifest_key;
    if let Written::Yes(_) = store.put(key, listing.body.clone(), condition).await? {
        tracing::info!(key = %key, "manifest updated");
        return Ok(ManifestKept::Written);
    }
    match store.get(key).await? {
        // Deleted since the run read it: nothing to lose, so this listing becomes the first.
        None => match store
            .put(key, listing.body, WriteCondition::IfAbsent)
            .await?
        {
            Written::Yes(_) => Ok(ManifestKept::Written),
            Written::ConditionFailed => Ok(lost_to(store.get(key).await?.as_ref())),
        },
        // A retried report, its manifest written by the attempt before.
        Some(stored) if stored.body == listing.body => Ok(ManifestKept::Written),
        Some(stored) => Ok(lost_to(Some(&stored))),
    }
}

/// The race lost to the run that wrote `stored`, as its manifest says.
fn lost_to(stored: Option<&StoredObject>) -> ManifestKept {
    let winner = stored
        .and_then(|stored| decode_manifest(&stored.body).ok())
        .map_or_else(|| "unknown".to_owned(), |(header, _)| header.run);
    tracing::warn!(%winner, "another run updated the manifest first");
    ManifestKept::LostRace { winner }
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
            site: None,
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
