//! Runs with `changesIn`: the site bucket's changes since the last successful run, start to
//! report, on a state bucket and a site bucket in memory.

use super::common::*;
use invalidation::request::parse_request;
use invalidation::state_bucket::{manifest_key, WriteCondition};

const SITE: &str = "my-site";

fn input(extra: Value) -> Value {
    let mut input = json!({
        "distributionId": "E2QWRUHEXAMPLE",
        "changesIn": {"bucket": SITE, "prefix": "public/", "originPath": "/public"}
    });
    if let (Value::Object(input), Value::Object(extra)) = (&mut input, extra) {
        input.extend(extra);
    }
    input
}

/// What one run did: the paths it sent CloudFront (none when nothing changed) and its output.
struct Ran {
    sent: Vec<String>,
    outcome: Outcome,
}

/// start-invalidation for the run named `name`, at the tests' moment.
async fn start_named(
    client: &aws_sdk_cloudfront::Client,
    store: &impl ObjectStore,
    name: &str,
    input: Value,
) -> RunState {
    let payload = start_payload_named(input, name);
    start(
        client,
        &NoArtifacts,
        store,
        payload,
        at("2026-11-26T12:00:01Z"),
        WINDOW,
    )
    .await
    .unwrap()
}

/// A site of two pages whose first run left its manifest, and one page changed since.
async fn site_changed_since_its_manifest() -> MemoryStore {
    let store = MemoryStore::new();
    deploy(&store, &[("a.html", "a"), ("b.html", "b")]);
    run_to_the_end(&store, "run-1", input(json!({}))).await;
    deploy(&store, &[("a.html", "a, v2")]);
    store
}

/// Starts the run named `name`, lets CloudFront complete what it created, and reports.
async fn run_to_the_end(store: &MemoryStore, name: &str, input: Value) -> Ran {
    let (create, sent) = recording_create_rule("IA");
    let get =
        mock!(aws_sdk_cloudfront::Client::get_invalidation).then_output(|| get_output("Completed"));
    let client = cloudfront(&[&create, &get]);
    let now = at("2026-11-26T12:00:01Z");
    let mut run = start_named(&client, store, name, input).await;
    while run.phase == Phase::InProgress {
        run = check(&client, store, checking(&run), now).await.unwrap();
    }
    let outcome = report_with_store(&codepipeline(&[]), store, json!({"state": {"run": run}}))
        .await
        .unwrap();
    let sent = sent
        .lock()
        .unwrap()
        .iter()
        .flat_map(|b| b.1.clone())
        .collect();
    Ran { sent, outcome }
}

fn deploy(store: &MemoryStore, files: &[(&str, &str)]) {
    for (key, body) in files {
        store.put_site_object(SITE, &format!("public/{key}"), body.as_bytes());
    }
}

fn manifests(store: &MemoryStore) -> Vec<String> {
    store
        .keys()
        .into_iter()
        .filter(|key| key.starts_with("manifests/"))
        .collect()
}

#[tokio::test]
async fn a_first_run_invalidates_the_site_and_the_next_only_what_changed() {
    // GIVEN a site deployed for the first time
    let store = MemoryStore::new();
    deploy(
        &store,
        &[
            ("index.html", "home"),
            ("about.html", "about"),
            ("blog/index.html", "blog"),
            ("blog/one.html", "one"),
            ("img/logo.png", "logo"),
        ],
    );
    // WHEN a run invalidates its changes
    let first = run_to_the_end(&store, "run-1", input(json!({}))).await;
    // THEN, with no manifest yet, everything under the origin path goes, as one wildcard
    assert_eq!(first.sent, ["/*"]);
    assert!(
        first.outcome.summary.starts_with(
            "First run for s3://my-site/public/ (no manifest yet): all 5 objects: 1 path. \
             Invalidated 1 path (1 requested) on E2QWRUHEXAMPLE"
        ),
        "{}",
        first.outcome.summary
    );
    assert!(first.outcome.summary.ends_with("Manifest updated."));
    assert_eq!(manifests(&store).len(), 1);

    // GIVEN the next deploy: one page added, one changed, one removed, the blog's index changed
    deploy(
        &store,
        &[
            ("contact.html", "contact"),
            ("about.html", "about, v2"),
            ("blog/index.html", "blog, v2"),
        ],
    );
    store.remove_site_object(SITE, "public/img/logo.png");
    // WHEN the next run invalidates its changes
    let second = run_to_the_end(&store, "run-2", input(json!({}))).await;
    // THEN exactly the changed paths go, the blog's index as its directory too
    assert_eq!(
        second.sent,
        [
            "/about.html",
            "/blog/",
            "/blog/index.html",
            "/contact.html",
            "/img/logo.png"
        ]
    );
    assert!(
        second.outcome.summary.starts_with(
            "4 objects changed in s3://my-site/public/ (1 added, 2 changed, 1 removed): 5 \
             paths. Invalidated 5 paths"
        ),
        "{}",
        second.outcome.summary
    );
    let site = second.outcome.site.as_ref().unwrap();
    assert_eq!(
        (site.update.counts.objects, site.update.counts.first_run),
        (5, false)
    );

    // AND a third run with nothing changed creates no invalidation and succeeds
    let third = run_to_the_end(&store, "run-3", input(json!({}))).await;
    assert!(third.sent.is_empty());
    assert_eq!(third.outcome.status, RunStatus::Succeeded);
    assert!(
        third.outcome.summary.starts_with(
            "0 objects changed in s3://my-site/public/ (0 added, 0 changed, 0 removed): 0 \
             paths. Nothing to invalidate on E2QWRUHEXAMPLE: no invalidation created."
        ),
        "{}",
        third.outcome.summary
    );
}

#[tokio::test]
async fn paths_and_cache_tags_go_beside_the_changes() {
    let store = site_changed_since_its_manifest().await;
    let ran = run_to_the_end(
        &store,
        "run-2",
        input(json!({"paths": ["/feed.xml"], "tags": ["product-1"]})),
    )
    .await;
    assert_eq!(ran.sent, ["#product-1", "/a.html", "/feed.xml"]);
}

#[tokio::test]
async fn of_two_runs_racing_for_one_manifest_one_writes_it_and_the_other_says_so() {
    // GIVEN a site with its manifest, changed since, and two runs that both read it
    let store = site_changed_since_its_manifest().await;
    let (create, _) = recording_create_rule("IA");
    let get =
        mock!(aws_sdk_cloudfront::Client::get_invalidation).then_output(|| get_output("Completed"));
    let client = cloudfront(&[&create, &get]);
    let now = at("2026-11-26T12:00:01Z");
    let mut runs = Vec::new();
    for name in ["run-2", "run-3"] {
        let run = start_named(&client, &store, name, input(json!({}))).await;
        runs.push(check(&client, &store, checking(&run), now).await.unwrap());
    }
    deploy(&store, &[("b.html", "b, v2")]);
    // WHEN both succeed, run-3 reporting first
    let pipeline = codepipeline(&[]);
    let report =
        |run: &RunState| report_with_store(&pipeline, &store, json!({"state": {"run": run}}));
    let third = report(&runs[1]).await.unwrap();
    let second = report(&runs[0]).await.unwrap();
    // THEN run-3's listing is the manifest, and run-2 leaves it so and says why
    assert!(
        third.summary.ends_with("Manifest updated."),
        "{}",
        third.summary
    );
    assert!(
        second.summary.ends_with(
            "Manifest left as run run-3 wrote it after this run read it; the next run compares \
             with that one."
        ),
        "{}",
        second.summary
    );
    // AND the next run still invalidates b.html, which changed after both listed
    let next = run_to_the_end(&store, "run-4", input(json!({}))).await;
    assert_eq!(next.sent, ["/b.html"]);
}

#[tokio::test]
async fn a_failed_run_leaves_the_manifest_and_a_retried_report_finds_its_own() {
    let store = site_changed_since_its_manifest().await;
    // GIVEN a run that fails after planning
    let (create, _) = recording_create_rule("IA");
    let client = cloudfront(&[&create]);
    let mut run = start_named(&client, &store, "run-2", input(json!({}))).await;
    let before = store.body(&manifests(&store)[0]);
    run.fail(WorkflowError::new(
        ErrorKind::InvalidationTimedOut,
        "too slow",
    ));
    let failed = report_with_store(&codepipeline(&[]), &store, json!({"state": {"run": &run}}))
        .await
        .unwrap();
    // THEN the manifest is untouched, so the next run invalidates a.html again
    assert_eq!(failed.status, RunStatus::Failed);
    assert_eq!(store.body(&manifests(&store)[0]), before);
    let next = run_to_the_end(&store, "run-3", input(json!({}))).await;
    assert_eq!(next.sent, ["/a.html"]);
    // AND a report retried after it wrote the manifest finds its own write
    let state = json!({"state": {"run": report_input_of(&store, "run-3").await}, "retryCount": 1});
    let again = report_with_store(&codepipeline(&[]), &store, state)
        .await
        .unwrap();
    assert!(
        again.summary.ends_with("Manifest updated."),
        "{}",
        again.summary
    );
}

/// The completed state of run `name` as check-status would hand it to report-result.
async fn report_input_of(store: &MemoryStore, name: &str) -> RunState {
    let plan = invalidation::state_bucket::stored_plan(store, name)
        .await
        .unwrap();
    let execution =
        serde_json::from_value(json!({"name": name, "startTime": "2026-11-26T12:00:00Z"})).unwrap();
    let mut run = RunState::new(&plan, name, &execution, WINDOW, at("2026-11-26T12:00:01Z"));
    for target in &mut run.targets {
        target
            .invalidations
            .push(invalidation::run::CreatedInvalidation {
                id: "IA".into(),
                status: "Completed".into(),
                ..Default::default()
            });
    }
    run.phase = Phase::Completed;
    run
}

/// How start-invalidation refuses console input with this `changesIn`: (error, cause).
async fn refusal(store: &MemoryStore, changes_in: Value) -> (&'static str, String) {
    let refused = json!({"distributionId": "E2QWRUHEXAMPLE", "changesIn": changes_in});
    let run = start_named(&cloudfront(&[]), store, "run-42", refused).await;
    failure(&run).expect("the run is refused")
}

#[tokio::test]
async fn a_bad_changes_in_is_refused_naming_it_with_nothing_listed() {
    let store = MemoryStore::new();
    let (error, cause) = refusal(&store, json!({"bucket": "Not A Bucket"})).await;
    assert_eq!(error, "InvalidInput");
    assert!(
        cause.starts_with("changesIn.bucket `Not A Bucket` is not an S3 bucket name"),
        "{cause}"
    );
    assert!(store.keys().is_empty());
    // A bucket that does not exist is named too.
    let (error, cause) = refusal(&store, json!({"bucket": "no-such-site"})).await;
    assert_eq!(error, "InvalidInput");
    assert_eq!(
        cause,
        "changesIn.bucket `no-such-site` does not exist (ListObjectsV2 s3://no-such-site/: \
         NoSuchBucket)"
    );
}

#[tokio::test]
async fn an_unreadable_manifest_makes_a_first_run_whose_manifest_replaces_it() {
    // GIVEN a site whose manifest is not one (another version's, or damaged)
    let store = MemoryStore::new();
    deploy(&store, &[("a.html", "a"), ("b.html", "b")]);
    let site = parse_request(&input(json!({}))).unwrap().site.unwrap();
    let key = manifest_key(&site, &["E2QWRUHEXAMPLE".to_owned()]);
    store
        .put(&key, b"not a manifest".to_vec(), WriteCondition::Always)
        .await
        .unwrap();
    // WHEN a run invalidates the site's changes
    let first = run_to_the_end(&store, "run-1", input(json!({}))).await;
    // THEN it is a first run that says why, and its manifest takes the place of that one
    assert_eq!(first.sent, ["/*"]);
    assert!(
        first
            .outcome
            .summary
            .starts_with("First run for s3://my-site/public/ (its manifest could not be read: "),
        "{}",
        first.outcome.summary
    );
    assert!(first.outcome.summary.ends_with("Manifest updated."));
    deploy(&store, &[("b.html", "b, v2")]);
    let next = run_to_the_end(&store, "run-2", input(json!({}))).await;
    assert_eq!(next.sent, ["/b.html"]);
}

/// The state bucket as a step sees it when something happens between its calls.
struct Interfered<'a> {
    inner: &'a MemoryStore,
    interference: Interference,
}

enum Interference {
    /// Another attempt of the same step stores the run's plan just after this one looked for
    /// it: the first read of a plan finds nothing.
    PlanStoredMeanwhile(std::sync::atomic::AtomicBool),
    /// A run's listing never comes back: S3 as slow as it can be.
    ListingNeverAnswers,
}

impl ObjectStore for Interfered<'_> {
    async fn get(
        &self,
        key: &str,
    ) -> Result<Option<invalidation::state_bucket::StoredObject>, WorkflowError> {
        match &self.interference {
            Interference::PlanStoredMeanwhile(looked) => {
                let first_look = !looked.swap(true, std::sync::atomic::Ordering::Relaxed);
                if key.ends_with("/plan.json") && first_look {
                    return Ok(None);
                }
            }
            Interference::ListingNeverAnswers => {
                if key.contains("/manifest-") {
                    std::future::pending::<()>().await;
                }
            }
        }
        self.inner.get(key).await
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        condition: WriteCondition,
    ) -> Result<invalidation::state_bucket::Written, WorkflowError> {
        self.inner.put(key, body, condition).await
    }

    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<invalidation::site::SiteObject>, WorkflowError> {
        self.inner.list(bucket, prefix).await
    }
}

#[tokio::test]
async fn of_two_attempts_planning_one_run_the_plan_stored_first_is_kept_with_its_own_listing() {
    // GIVEN a site with its manifest, changed twice in a row (once here, once below)
    let store = site_changed_since_its_manifest().await;
    // WHEN one attempt plans run-2 and stores its plan…
    let first = parse_request(&input(json!({})))
        .unwrap()
        .plan_once(&store, &NoArtifacts, "run-2")
        .await
        .unwrap();
    deploy(&store, &[("b.html", "b, v2")]);
    // …while another, which looked for the plan before it was stored, lists the site later
    let second = parse_request(&input(json!({})))
        .unwrap()
        .plan_once(
            &Interfered {
                inner: &store,
                interference: Interference::PlanStoredMeanwhile(Default::default()),
            },
            &NoArtifacts,
            "run-2",
        )
        .await
        .unwrap();
    // THEN the second attempt takes the stored plan, whose listing is still its own: the
    // manifest the run leaves is what it invalidated, and b.html's change waits for the next run
    assert_eq!(second, first);
    assert_eq!(first.batches, [["/a.html"]]);
    let update = first.site.as_ref().unwrap();
    let listings: Vec<String> = store
        .keys()
        .into_iter()
        .filter(|key| key.starts_with("runs/run-2/manifest-"))
        .collect();
    assert_eq!(listings.len(), 2, "{listings:?}");
    assert!(listings.contains(&update.listing_key));
    let kept = invalidation::state_bucket::keep_manifest(&store, update).await;
    assert_eq!(kept, invalidation::site::ManifestKept::Written);
    let next = run_to_the_end(&store, "run-3", input(json!({}))).await;
    assert_eq!(next.sent, ["/b.html"]);
}

#[tokio::test(start_paused = true)]
async fn a_manifest_that_cannot_be_written_in_time_leaves_the_job_its_result() {
    // GIVEN a successful run of a job whose listing S3 never returns
    let store = MemoryStore::new();
    deploy(&store, &[("a.html", "a")]);
    let run = report_input_of_job(&store).await;
    let put = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .then_output(|| PutJobSuccessResultOutput::builder().build());
    // WHEN report-result reports it
    let outcome = report_with_store(
        &codepipeline(&[&put]),
        &Interfered {
            inner: &store,
            interference: Interference::ListingNeverAnswers,
        },
        json!({"state": {"run": run}, "retryCount": 0}),
    )
    .await
    .unwrap();
    // THEN the job gets its success, which says the manifest was not written and why
    assert_eq!(put.num_calls(), 1);
    assert!(
        outcome.summary.ends_with(
            "The manifest could not be updated (report-result keeps half of its time for the \
             job's result); the next run invalidates these changes again."
        ),
        "{}",
        outcome.summary
    );
}

/// A completed run of the sample job over the site, as check-status hands it to report-result.
async fn report_input_of_job(store: &MemoryStore) -> RunState {
    let name = format!("job-{JOB_ID}");
    let mut request = event("codepipeline-job.json");
    request["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] =
        json!(input(json!({})).to_string());
    parse_request(&request)
        .unwrap()
        .plan_once(store, &NoArtifacts, &name)
        .await
        .unwrap();
    report_input_of(store, &name).await
}
