//! No credential of the job event reaches logs, outputs or errors. In a test binary of its own:
//! a scoped log subscriber misses events when other tests run the same code concurrently
//! (tracing caches each call site's interest process-wide).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_cloudfront::operation::create_invalidation::CreateInvalidationOutput;
use aws_sdk_cloudfront::types::Invalidation;
use aws_sdk_codepipeline::operation::put_job_failure_result::PutJobFailureResultOutput;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_types::DateTime;
use invalidation::artifact::{ArtifactStore, PathsFile};
use invalidation::budget::Budget;
use invalidation::check::check_status;
use invalidation::codepipeline::report_backoff;
use invalidation::polling::Polling;
use invalidation::report::report_result;
use invalidation::run::{Phase, RunState};
use invalidation::start::start_invalidation;
use invalidation::state_bucket::MemoryStore;
use invalidation::WorkflowError;
use serde_json::{json, Value};

const CREDENTIALS: [&str; 3] = [
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "FwoGZXIvYXdzEXAMPLESESSIONTOKENvalueForTestsOnlyQzXwVbNmLk",
];

/// The sample job event, reading 20 wildcards (two batches) from a paths file of its artifact.
fn job_event() -> Value {
    let path = format!(
        "{}/../events/codepipeline-job.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] =
        json!(r#"{"distributionId":"E2QWRUHEXAMPLE","pathsFile":"paths.txt"}"#);
    event
}

/// The artifact: a zip holding paths.txt. Once `broken`, reading fails with a message that
/// quotes the secret key, as a careless upstream error might.
struct Artifact {
    broken: bool,
}

impl ArtifactStore for Artifact {
    async fn read_artifact(&self, file: &PathsFile) -> Result<Vec<u8>, WorkflowError> {
        if self.broken {
            return Err(WorkflowError::new(
                invalidation::ErrorKind::AccessDenied,
                format!(
                    "signature of {} did not match",
                    file.credentials.as_ref().unwrap().secret_access_key
                ),
            ));
        }
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.start_file("paths.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        for i in 0..20 {
            std::io::Write::write_all(&mut zip, format!("/d{i:02}/*\n").as_bytes()).unwrap();
        }
        Ok(zip.finish().unwrap().into_inner())
    }
}

#[tokio::test]
async fn no_credential_of_the_job_event_reaches_logs_outputs_or_errors() {
    let logs = Arc::new(Mutex::new(Vec::<u8>::new()));
    let writer = {
        let logs = logs.clone();
        move || LogSink(logs.clone())
    };
    let _guard =
        tracing::subscriber::set_default(invalidation::logging::subscriber("trace", true, writer));

    let create = mock!(aws_sdk_cloudfront::Client::create_invalidation).then_output(|| {
        CreateInvalidationOutput::builder()
            .invalidation(
                Invalidation::builder()
                    .id("I1")
                    .status("InProgress")
                    .create_time(DateTime::from_secs(1_795_000_000))
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let cloudfront = mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, [&create]);
    let store = MemoryStore::new();
    let start = json!({
        "request": job_event(),
        "execution": {"name": "run-42", "startTime": "2026-11-26T12:00:00.000Z"}
    });
    let mut run: RunState = start_invalidation(
        &cloudfront,
        &Artifact { broken: false },
        &store,
        start.clone().into(),
        Budget::of(execution_start(), Duration::from_secs(30)),
        Duration::from_secs(900),
        Polling::OFF,
    )
    .await
    .unwrap();
    assert_eq!(
        run.plan.batches, 2,
        "20 wildcards from the paths file make two batches"
    );
    // The plan holds the paths, never the credentials that read them.
    let stored = store.keys();
    assert_eq!(stored, ["runs/run-42/plan.json"]);
    // A start whose artifact read fails with a message quoting the secret: the failed run's
    // cause is redacted.
    let refused: RunState = start_invalidation(
        &cloudfront,
        &Artifact { broken: true },
        &MemoryStore::new(),
        start.into(),
        Budget::of(execution_start(), Duration::from_secs(30)),
        Duration::from_secs(900),
        Polling::OFF,
    )
    .await
    .unwrap();
    assert_eq!(refused.phase, Phase::Failed);
    let refusal = refused.failure.clone().unwrap().cause;
    assert!(refusal.starts_with("signature of [redacted]"), "{refusal}");
    // check-status reads the plan for the second batch; it never sees a credential.
    run.targets[0].invalidations[0].status = "Completed".into();
    let checked = check_status(
        &cloudfront,
        &store,
        json!({ "run": run }).into(),
        Budget::of(execution_start(), Duration::from_secs(30)),
        Polling::OFF,
    )
    .await
    .unwrap();
    assert_eq!(checked.created().count(), 2, "{checked:?}");
    // A failure whose cause quotes a credential, as a careless upstream message might.
    let put = mock!(aws_sdk_codepipeline::Client::put_job_failure_result)
        .then_output(|| PutJobFailureResultOutput::builder().build());
    let pipeline = mock_client!(aws_sdk_codepipeline, RuleMode::MatchAny, [&put]);
    let mut crashed_start = job_event();
    crashed_start["error"] =
        json!({"Error": "Runtime.ExitError", "Cause": format!("bad key {}", CREDENTIALS[1])});
    let outcome = report_result(
        &pipeline,
        &store,
        json!({ "state": crashed_start }).into(),
        report_backoff(),
        Budget::of(SystemTime::now(), Duration::from_secs(60)),
    )
    .await
    .unwrap();
    let plan = {
        use invalidation::state_bucket::ObjectStore;
        let object = store.get("runs/run-42/plan.json").await.unwrap().unwrap();
        String::from_utf8(object.body).unwrap()
    };

    let everything = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        String::from_utf8(logs.lock().unwrap().clone()).unwrap(),
        serde_json::to_string(&run).unwrap(),
        serde_json::to_string(&refused).unwrap(),
        serde_json::to_string(&checked).unwrap(),
        serde_json::to_string(&outcome).unwrap(),
        plan
    );
    assert!(
        everything.contains("invalidation created"),
        "logs were captured: {everything}"
    );
    assert!(everything.contains("[redacted]"), "{everything}");
    for secret in CREDENTIALS {
        assert!(
            !everything.contains(secret),
            "{secret} leaked: {everything}"
        );
    }
}

/// 2026-11-26T12:00:01Z: a second into the execution the payloads name.
fn execution_start() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_694_401)
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
