//! Invalidating what changed in a site bucket, end to end: `scripts/run-local --site DIR` as a
//! person types it, twice over a changed site; and two runs racing for one site's manifest.
//!
//! Needs the tools of scripts/setup and the binaries of `cargo build --workspace --all-targets`
//! (scripts/test does both first).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use local_run::{Environment, SeededObject};
use serde_json::json;
use workflow_tests::{
    job_with, repo_root, run_job_past_its_reply, settings, settings_outlasting_the_reply,
    DISTRIBUTION, JOB_ID,
};

/// A directory of its own under the system's temporary directory, empty.
fn scratch(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("changes-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&path);
    std::fs::create_dir_all(&path).unwrap();
    path
}

fn write_site(directory: &Path, files: &[(&str, &str)]) {
    let _ = std::fs::remove_dir_all(directory);
    for (name, text) in files {
        let path = directory.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// `target/debug/local-run --virtual-time --input … --site SITE --kept-state KEPT`: its
/// standard output, once it succeeded.
fn local_run_with_site(site: &Path, kept: &Path) -> String {
    let output = Command::new(repo_root().join("target/debug/local-run"))
        .current_dir(repo_root())
        .args(["--virtual-time", "--input"])
        .arg(json!({"distributionId": DISTRIBUTION}).to_string())
        .arg("--site")
        .arg(site)
        .arg("--kept-state")
        .arg(kept)
        .arg("--name")
        .arg(format!(
            "site-{}",
            site.file_name().unwrap().to_string_lossy()
        ))
        .output()
        .expect("target/debug/local-run runs (cargo build --workspace first)");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "local-run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The line of local-run's output that says what CloudFront received.
fn received(stdout: &str) -> &str {
    stdout
        .lines()
        .skip_while(|line| *line != "CloudFront received:")
        .nth(1)
        .unwrap_or_else(|| panic!("no CloudFront line in:\n{stdout}"))
}

fn output_summary(stdout: &str) -> &str {
    stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("Output summary: "))
        .unwrap_or_else(|| panic!("no summary in:\n{stdout}"))
}

#[test]
fn two_local_runs_of_a_changed_site_invalidate_the_site_then_exactly_what_changed() {
    let scratch = scratch("two-runs");
    let kept = scratch.join("kept");
    // GIVEN a site deployed for the first time: index.html at the root and in a folder
    let first = scratch.join("v1");
    write_site(
        &first,
        &[
            ("index.html", "home"),
            ("about.html", "about"),
            ("blog/index.html", "blog"),
            ("blog/first post.html", "one"),
            ("img/logo.png", "logo"),
        ],
    );
    // WHEN it runs with --site
    let stdout = local_run_with_site(&first, &kept);
    // THEN the first run invalidates everything, once, and says why
    assert!(
        received(&stdout).contains(": Completed (1 path: /*;"),
        "{stdout}"
    );
    assert!(
        output_summary(&stdout).starts_with(
            "First run for s3://local-site/ (no manifest yet): all 5 objects: 1 path."
        ),
        "{stdout}"
    );

    // GIVEN the next version: a page added, the root index and a page changed, the blog's
    // index changed, the logo removed
    let second = scratch.join("v2");
    write_site(
        &second,
        &[
            ("index.html", "home, v2"),
            ("about.html", "about, v2"),
            ("contact.html", "contact"),
            ("blog/index.html", "blog, v2"),
            ("blog/first post.html", "one"),
            ("blog/second post.html", "two"),
        ],
    );
    // WHEN it runs with --site again
    let stdout = local_run_with_site(&second, &kept);
    // THEN exactly the changed paths are invalidated: each index document as its directory
    // too, the space encoded as CloudFront wants it
    assert!(
        received(&stdout).contains(
            ": Completed (8 paths: /, /about.html, /blog/, /blog/index.html, \
             /blog/second%20post.html, /contact.html, /img/logo.png, /index.html;"
        ),
        "{stdout}"
    );
    assert!(
        output_summary(&stdout).starts_with(
            "6 objects changed in s3://local-site/ (2 added, 3 changed, 1 removed): 8 paths."
        ),
        "{stdout}"
    );
    assert!(
        output_summary(&stdout).ends_with("Manifest updated."),
        "{stdout}"
    );

    // AND a third run of the same site finds nothing to invalidate
    let stdout = local_run_with_site(&second, &kept);
    assert!(
        output_summary(&stdout).contains("Nothing to invalidate on E2QWRUHEXAMPLE"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&scratch);
}

#[tokio::test]
async fn of_two_runs_racing_for_one_manifest_one_writes_it_and_the_other_says_so() {
    // GIVEN a site bucket and two runs for it at once, neither finding a manifest. Their
    // invalidations take ten minutes (of virtual time, which their Wait states move), so each
    // run checks many times before it reports: the other has planned long before.
    let mut settings = settings(&[DISTRIBUTION]);
    settings.invalidation_time = Duration::from_secs(600);
    settings.objects = ["index.html", "a.html", "b.html"]
        .iter()
        .map(|key| SeededObject {
            bucket: "race-site".into(),
            key: (*key).into(),
            body: key.as_bytes().to_vec(),
        })
        .collect();
    let environment = Environment::start(settings).await.unwrap();
    let input = json!({"distributionId": DISTRIBUTION, "changesIn": {"bucket": "race-site"}});
    // WHEN both run to the end
    let (one, two) = tokio::join!(
        environment.execute(&input, "race-one", |_| {}),
        environment.execute(&input, "race-two", |_| {})
    );
    let summaries: Vec<String> = [one.unwrap(), two.unwrap()]
        .into_iter()
        .map(|execution| {
            assert!(execution.succeeded(), "{:?}", execution.error);
            execution.output.unwrap()["summary"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    // THEN both invalidated the whole site (a first run each), one wrote the manifest, and the
    // other says it left it as the first wrote it
    let seen = environment.snapshot();
    let sent: Vec<&[String]> = seen
        .invalidations
        .iter()
        .map(|i| i.paths.as_slice())
        .collect();
    assert_eq!(sent, [["/*"], ["/*"]]);
    let written: Vec<&String> = summaries
        .iter()
        .filter(|s| s.ends_with("Manifest updated."))
        .collect();
    let left: Vec<&String> = summaries
        .iter()
        .filter(|s| s.contains("Manifest left as run race-"))
        .collect();
    assert_eq!((written.len(), left.len()), (1, 1), "{summaries:#?}");
    let manifests = seen
        .objects
        .into_iter()
        .filter(|object| object.key.starts_with("manifests/race-site/"))
        .count();
    assert_eq!(manifests, 1);
}

#[tokio::test]
async fn a_lambda_action_job_carried_on_past_its_reply_writes_the_manifest_when_it_succeeds() {
    // GIVEN a job of the Lambda invoke action naming a site, whose invalidation outlasts the
    // job's reply window
    let mut settings = settings_outlasting_the_reply(&[DISTRIBUTION]);
    settings.objects = ["index.html", "a.html", "docs/b.html"]
        .iter()
        .map(|key| SeededObject {
            bucket: "pipeline-site".into(),
            key: (*key).into(),
            body: key.as_bytes().to_vec(),
        })
        .collect();
    let environment = Environment::start(settings).await.unwrap();
    let job =
        job_with(json!({"distributionId": DISTRIBUTION, "changesIn": {"bucket": "pipeline-site"}}));
    // WHEN CodePipeline runs it: pipeline-entry plans, the run replies "in progress", a new job
    // carries it on
    run_job_past_its_reply(&environment, &job).await;
    // THEN the "in progress" replies say nothing of the manifest, and the final success, to the
    // continued job, says what changed and that the manifest was written
    let seen = environment.snapshot();
    let (last, earlier) = seen.job_results.split_last().unwrap();
    assert!(!earlier.is_empty(), "{:#?}", seen.job_results);
    for reply in earlier {
        assert!(
            workflow_tests::summary(reply).starts_with("Still waiting after "),
            "{}",
            workflow_tests::summary(reply)
        );
    }
    assert_ne!(last.job_id, JOB_ID);
    let text = workflow_tests::summary(last);
    assert!(
        text.starts_with(
            "First run for s3://pipeline-site/ (no manifest yet): all 3 objects: 1 path."
        ),
        "{text}"
    );
    assert!(text.ends_with("Manifest updated."), "{text}");
    let manifests: Vec<_> = seen
        .objects
        .iter()
        .filter(|object| object.key.starts_with("manifests/pipeline-site/"))
        .collect();
    assert_eq!(manifests.len(), 1);
}
