//! Bad input, case by case: each is refused with a message that names the problem, nothing is
//! sent to CloudFront, and, with a job, the job gets exactly one failure result of the expected
//! type. Console inputs go through start-invalidation and report-result as the state machine
//! chains them; job events through pipeline-entry (the Lambda invoke action) and, separately,
//! through start-invalidation and report-result (a job event given to the state machine).
//!
//! `CORPUS_PRINT=1 cargo test --workspace --test corpus -- --nocapture` prints every message.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_cloudfront::operation::create_invalidation::CreateInvalidationOutput;
use aws_sdk_codepipeline::operation::put_job_failure_result::PutJobFailureResultOutput;
use aws_sdk_sfn::operation::start_execution::StartExecutionOutput;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use invalidation::artifact::{ArtifactStore, PathsFile};
use invalidation::budget::Budget;
use invalidation::codepipeline::report_backoff;
use invalidation::entry::{start_pipeline_run, StateMachineTarget};
use invalidation::payload::{Payload, RunStatus};
use invalidation::polling::Polling;
use invalidation::report::report_result;
use invalidation::start::start_invalidation;
use invalidation::state_bucket::MemoryStore;
use invalidation::WorkflowError;
use serde_json::{json, Value};

const JOB_ID: &str = "11111111-abcd-1111-abcd-111111abcdef";
const CREDENTIALS: [&str; 3] = [
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "FwoGZXIvYXdzEXAMPLESESSIONTOKENvalueForTestsOnlyQzXwVbNmLk",
];
const ID: &str = "E2QWRUHEXAMPLE";
/// The tail of every message about a distribution id.
const ID_RULES: &str = "is neither a CloudFront distribution id (an E followed by uppercase \
                        letters and digits, such as E2QWRUHEXAMPLE) nor a distribution tenant id \
                        (dt_ followed by letters and digits, such as dt_2wjDZi3hD1ivOXf6rpZJO1AB)";
const KEYS: &str = "expected one of `distributionId`, `distributionIds`, `paths`, `tags`, \
                    `pathsFile`, `pathsArtifact`, `changesIn`, `collapseAbove`, `timeoutSeconds`";

/// An artifact with no file in it: a paths file named by a case is never found.
struct EmptyArtifact;

impl ArtifactStore for EmptyArtifact {
    async fn read_artifact(&self, _: &PathsFile) -> Result<Vec<u8>, WorkflowError> {
        let zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        Ok(zip.finish().unwrap().into_inner())
    }
}

/// The sample job event.
fn job() -> Value {
    let path = format!(
        "{}/../events/codepipeline-job.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The sample job event with these UserParameters (a string as it is, else its JSON).
fn with_parameters(parameters: Value) -> Value {
    let mut event = job();
    event["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] =
        match parameters {
            Value::String(text) => json!(text),
            other => json!(other.to_string()),
        };
    event
}

/// The sample job event with the value at a JSON pointer set (its parent exists).
fn job_with(pointer: &str, value: Value) -> Value {
    let mut event = job();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    event.pointer_mut(parent).unwrap()[key] = value;
    event
}

/// A case: what goes in, and the message of the `InvalidInput` it must meet, exactly.
struct Case {
    input: Input,
    message: String,
    /// pipeline-entry's message, where it reads the event itself and says so differently.
    entry_message: Option<String>,
}

enum Input {
    /// Console input (no job).
    Console(String),
    /// A job event that has a job to report to.
    Job(String),
    /// A job event without a usable job id: nothing can be reported, the run fails.
    JobWithoutId(String),
}

fn console(input: Value, message: &str) -> Case {
    Case {
        input: Input::Console(input.to_string()),
        message: message.to_owned(),
        entry_message: None,
    }
}

fn console_text(input: String, message: &str) -> Case {
    Case {
        input: Input::Console(input),
        message: message.to_owned(),
        entry_message: None,
    }
}

fn job_case(input: Value, message: &str) -> Case {
    Case {
        input: Input::Job(input.to_string()),
        message: message.to_owned(),
        entry_message: None,
    }
}

/// A job event as text that start-invalidation and pipeline-entry each refuse in their words.
fn job_text_read_by_both(input: String, message: &str, entry_message: &str) -> Case {
    Case {
        input: Input::Job(input),
        message: message.to_owned(),
        entry_message: Some(entry_message.to_owned()),
    }
}

fn parameters(parameters: Value, message: &str) -> Case {
    job_case(with_parameters(parameters), message)
}

fn bad_id(id: &str) -> String {
    format!("distribution id `{id}` {ID_RULES}")
}

fn cases() -> Vec<Case> {
    let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
    let many_ids: Vec<String> = (0..41).map(|i| format!("E2QWRUHEXAMP{i:02}")).collect();
    let wildcards: Vec<String> = (0..200).map(|i| format!("/d{i:03}/*")).collect();
    let ids_35: Vec<String> = (0..35).map(|i| format!("E2QWRUHEXAMP{i:02}")).collect();
    let big: Vec<String> = (0..8000)
        .map(|i| format!("/assets/file-{i:05}.js"))
        .collect();
    let long_path = format!("/{}", "a".repeat(4000));
    let long_id = format!("E{}", "A".repeat(32));
    let long_tenant = format!("dt_{}", "a".repeat(62));
    let zeros = |count: usize| format!("{}…", "[0]".repeat(count));
    let not_whole = "(a \\u escape that is no whole character: half of a UTF-16 surrogate pair, \
                     or fewer than four hex digits)";
    vec![
        // --- console input: the shape
        console(json!(ID), "the input must be a JSON object, not a string"),
        console(json!([ID]), "the input must be a JSON object, not an array"),
        console(json!(null), "the input must be a JSON object, not null"),
        console(json!(42), "the input must be a JSON object, not a number"),
        console(
            json!(true),
            "the input must be a JSON object, not a boolean",
        ),
        console(
            json!({}),
            "no distribution: set distributionId (or distributionIds)",
        ),
        console(
            json!({"distributionId": ID, "pathz": ["/"]}),
            &format!("input: pathz: unknown field `pathz`, {KEYS}"),
        ),
        console(
            json!({"distributionId": ID, "Paths": ["/"]}),
            &format!("input: Paths: unknown field `Paths`, {KEYS}"),
        ),
        console_text(
            format!(r#"{{"distributionId": "{ID}", "paths": {deep}}}"#),
            &format!(
                "start-invalidation payload: request.paths{}: recursion limit \
                 exceeded at line 1 column 184 (the JSON nests deeper than the 128 levels it may)",
                zeros(28)
            ),
        ),
        console_text(
            format!(r#"{{"distributionId": "{ID}", "paths": ["/a\udc00.html"]}}"#),
            &format!(
                "start-invalidation payload: request.paths[0]: lone leading surrogate in hex \
                 escape at line 1 column 68 {not_whole}"
            ),
        ),
        console(
            json!({"distributionId": ID, "paths": big}),
            "the input is 192045 bytes, more than the 163840 accepted: list long path lists in \
             a paths file of the job's input artifact (pathsFile), or as directory wildcards",
        ),
        // --- distributions
        console(
            json!({"distributionId": 12345}),
            "input: distributionId: invalid type: integer `12345`, expected a string",
        ),
        console(
            json!({"distributionId": ["E1", "E2"]}),
            "input: distributionId: invalid type: sequence, expected a string",
        ),
        console(
            json!({"distributionIds": ID}),
            "input: distributionIds: invalid type: string \"E2QWRUHEXAMPLE\", expected a sequence",
        ),
        console(
            json!({"distributionIds": []}),
            "distributionIds is empty: name at least one distribution",
        ),
        console(
            json!({"distributionIds": [ID, 7]}),
            "input: distributionIds[1]: invalid type: integer `7`, expected a string",
        ),
        console(
            json!({"distributionId": ID, "distributionIds": [ID]}),
            "give either distributionId or distributionIds, not both",
        ),
        console(
            json!({"distributionId": "e2qwruhexample"}),
            &bad_id("e2qwruhexample"),
        ),
        console(json!({"distributionId": "E2Q"}), &bad_id("E2Q")),
        console(
            json!({"distributionId": "X2QWRUHEXAMPLE"}),
            &bad_id("X2QWRUHEXAMPLE"),
        ),
        console(
            json!({"distributionId": "E2QW RUHEXAMPLE"}),
            &bad_id("E2QW RUHEXAMPLE"),
        ),
        console(json!({"distributionId": ""}), &bad_id("")),
        console(json!({"distributionId": long_id}), &bad_id(&long_id)),
        console(json!({"distributionId": "dt_"}), &bad_id("dt_")),
        console(
            json!({"distributionId": "dt_abc-def"}),
            &bad_id("dt_abc-def"),
        ),
        console(json!({"distributionId": "DT_abc"}), &bad_id("DT_abc")),
        console(
            json!({"distributionId": long_tenant}),
            &bad_id(&long_tenant),
        ),
        console(
            json!({"distributionIds": many_ids}),
            "41 distributions are more than the 40 one run may invalidate",
        ),
        // --- paths
        console(
            json!({"distributionId": ID, "paths": "/index.html"}),
            "input: paths: invalid type: string \"/index.html\", expected a sequence",
        ),
        console(
            json!({"distributionId": ID, "paths": []}),
            "paths is empty: name at least one path, or leave paths out to invalidate /*",
        ),
        console(
            json!({"distributionId": ID, "paths": [""]}),
            "path `` is empty: name a file such as /index.html, or /* for everything",
        ),
        console(
            json!({"distributionId": ID, "paths": ["/a\nb"]}),
            "path `/a\\nb` holds a control character",
        ),
        console(
            json!({"distributionId": ID, "paths": ["/a\u{7f}b"]}),
            "path `/a\\u{7f}b` holds a control character",
        ),
        console(
            json!({"distributionId": ID, "paths": ["/img/*.png"]}),
            "path `/img/*.png` may hold * only as its last character",
        ),
        console(
            json!({"distributionId": ID, "paths": ["/**"]}),
            "path `/**` may hold * only as its last character",
        ),
        console(
            json!({"distributionId": ID, "paths": [long_path]}),
            &format!(
                "path `/{}…` is 4001 characters long once encoded, more than CloudFront's 4000",
                "a".repeat(99)
            ),
        ),
        console(
            json!({"distributionId": ID, "paths": ["/ok.html", 5]}),
            "input: paths[1]: invalid type: integer `5`, expected a string",
        ),
        console(
            json!({"distributionId": ID, "paths": [["/nested"]]}),
            "input: paths[0]: invalid type: sequence, expected a string",
        ),
        console(
            json!({"distributionIds": ids_35, "paths": wildcards}),
            "35 distributions × 14 batches make 490 invalidations, more than the 400 one run \
             creates: let the paths collapse (collapseAbove) or split the distributions over \
             several runs",
        ),
        // --- cache tags, in paths and in tags
        console(
            json!({"distributionId": ID, "paths": ["/a.html", "#"]}),
            "cache tag `#` is empty: name the tag after the #, such as #product-123",
        ),
        console(
            json!({"distributionId": ID, "paths": ["#product 123"]}),
            "cache tag `#product 123` holds a space, which CloudFront does not allow in a tag \
             (ASCII letters, digits and punctuation only)",
        ),
        console(
            json!({"distributionId": ID, "paths": ["#a,b"]}),
            "cache tag `#a,b` holds a comma, which CloudFront does not allow in a tag",
        ),
        console(
            json!({"distributionId": ID, "paths": ["#product-*"]}),
            "cache tag `#product-*` holds *: CloudFront matches cache tags exactly and takes no \
             wildcard in them",
        ),
        console(
            json!({"distributionId": ID, "tags": []}),
            "tags is empty: name at least one cache tag, such as product-123, or leave tags out",
        ),
        console(
            json!({"distributionId": ID, "tags": "product-123"}),
            "input: tags: invalid type: string \"product-123\", expected a sequence",
        ),
        parameters(
            json!({"distributionId": ID, "tags": ["ünïcode"]}),
            "cache tag `#ünïcode` holds `ü`, which CloudFront does not allow in a tag (ASCII \
             letters, digits and punctuation only)",
        ),
        parameters(
            json!({"distributionId": ID, "tags": [format!("{}", "t".repeat(257))]}),
            &format!(
                "cache tag `#{}…` is 257 characters long, more than CloudFront's 256",
                "t".repeat(99)
            ),
        ),
        // --- other keys
        console(
            json!({"distributionId": ID, "timeoutSeconds": 0}),
            "timeoutSeconds 0 is out of range: give 1 to 86400",
        ),
        console(
            json!({"distributionId": ID, "timeoutSeconds": 86_401}),
            "timeoutSeconds 86401 is out of range: give 1 to 86400",
        ),
        console(
            json!({"distributionId": ID, "timeoutSeconds": -5}),
            "input: timeoutSeconds: invalid value: integer `-5`, expected a whole number",
        ),
        console(
            json!({"distributionId": ID, "timeoutSeconds": "60"}),
            "input: timeoutSeconds: invalid type: string \"60\", expected a whole number",
        ),
        console(
            json!({"distributionId": ID, "timeoutSeconds": 1.5}),
            "input: timeoutSeconds: invalid type: floating point `1.5`, expected a whole number",
        ),
        console(
            json!({"distributionId": ID, "collapseAbove": "no"}),
            "collapseAbove `\"no\"` is neither a number of file paths nor false",
        ),
        console(
            json!({"distributionId": ID, "collapseAbove": -1}),
            "collapseAbove `-1` is neither a number of file paths nor false",
        ),
        console(
            json!({"distributionId": ID, "collapseAbove": 2.5}),
            "collapseAbove `2.5` is neither a number of file paths nor false",
        ),
        console(
            json!({"distributionId": ID, "pathsFile": "paths.txt"}),
            "pathsFile `paths.txt` is read from a CodePipeline job's input artifact, and this \
             input is not a job: list the paths in paths instead",
        ),
        console(
            json!({"distributionId": ID, "pathsArtifact": "Build"}),
            "pathsArtifact `Build` is set without pathsFile",
        ),
        // --- changesIn: every value checked before the bucket is listed
        console(
            json!({"distributionId": ID, "changesIn": "my-site"}),
            "input: changesIn: invalid type: string \"my-site\", expected struct ChangesIn",
        ),
        console(
            json!({"distributionId": ID, "changesIn": {"prefix": "public/"}}),
            "input: changesIn: missing field `bucket`",
        ),
        console(
            json!({"distributionId": ID, "changesIn": {"bucket": "my-site", "Prefix": "a/"}}),
            "input: changesIn.Prefix: unknown field `Prefix`, expected one of `bucket`, \
             `prefix`, `originPath`, `indexDocument`, `slashlessDirectories`",
        ),
        console(
            json!({"distributionId": ID, "changesIn": {"bucket": "s3://my-site"}}),
            "changesIn.bucket `s3://my-site` is not an S3 bucket name (3 to 63 lowercase \
             letters, digits, dots and hyphens, starting and ending with a letter or digit)",
        ),
        console(
            json!({"distributionId": ID, "changesIn": {"bucket": "my-site", "originPath": "/public/"}}),
            "changesIn.originPath `/public/` is not an origin path: it starts with a / and does \
             not end with one, as CloudFront's OriginPath, such as /public",
        ),
        console(
            json!({"distributionId": ID, "changesIn": {"bucket": "my-site", "prefix": "build/", "originPath": "/public"}}),
            "changesIn.prefix `build/` is outside changesIn.originPath `/public`: the \
             distribution serves only keys that start with public/",
        ),
        console(
            json!({"distributionId": ID, "changesIn": {"bucket": "my-site", "indexDocument": "docs/index.html"}}),
            "changesIn.indexDocument `docs/index.html` is not a file name (such as index.html; \
             \"\" for none)",
        ),
        // --- job events: UserParameters
        parameters(
            json!(""),
            "UserParameters is empty: set it to a distribution id, or to a JSON object such as \
             {\"distributionId\":\"E2QWRUHEXAMPLE\",\"paths\":[\"/*\"]}",
        ),
        parameters(
            json!("   "),
            "UserParameters is empty: set it to a distribution id, or to a JSON object such as \
             {\"distributionId\":\"E2QWRUHEXAMPLE\",\"paths\":[\"/*\"]}",
        ),
        parameters(
            json!("my-distribution"),
            "UserParameters `my-distribution` is neither a distribution id nor a JSON object",
        ),
        parameters(
            json!("[\"E2QWRUHEXAMPLE\"]"),
            "UserParameters `[\"E2QWRUHEXAMPLE\"]` is neither a distribution id nor a JSON object",
        ),
        parameters(
            json!("{\"distributionId\": \"E2QWRUHEXAMPLE\""),
            "UserParameters: EOF while parsing an object at line 1 column 35",
        ),
        parameters(
            json!("{\"distributionId\": \"E2QWRUHEXAMPLE\"} trailing"),
            "UserParameters: trailing characters at line 1 column 38",
        ),
        parameters(
            json!({"distributionId": ID, "ttl": 1}),
            &format!("UserParameters: ttl: unknown field `ttl`, {KEYS} at line 1 column 40"),
        ),
        parameters(
            json!({"distributionId": 5}),
            "UserParameters: distributionId: invalid type: integer `5`, expected a string at line \
             1 column 19",
        ),
        parameters(
            json!({"distributionIds": []}),
            "distributionIds is empty: name at least one distribution",
        ),
        parameters(
            json!({"distributionId": ID, "paths": ["/img/*.png"]}),
            "path `/img/*.png` may hold * only as its last character",
        ),
        parameters(
            json!({"distributionId": ID, "timeoutSeconds": 0}),
            "timeoutSeconds 0 is out of range: give 1 to 86400",
        ),
        parameters(
            json!({"distributionId": "e2qwruhexample"}),
            &bad_id("e2qwruhexample"),
        ),
        // --- job events: paths files
        parameters(
            json!({"distributionId": ID, "pathsFile": ""}),
            "pathsFile is empty: name a file of the input artifact, such as paths.txt",
        ),
        parameters(
            json!({"distributionId": ID, "pathsFile": "paths.txt", "pathsArtifact": "Nope"}),
            "pathsArtifact `Nope` is not an input artifact of this action (it has: SourceArtifact)",
        ),
        parameters(
            json!({"distributionId": ID, "pathsArtifact": "SourceArtifact"}),
            "pathsArtifact `SourceArtifact` is set without pathsFile",
        ),
        parameters(
            json!({"distributionId": ID, "pathsFile": "dist/paths.txt"}),
            "`dist/paths.txt` in input artifact SourceArtifact does not exist; the artifact \
             holds: no file at all",
        ),
        job_case(
            {
                let mut event =
                    with_parameters(json!({"distributionId": ID, "pathsFile": "p.txt"}));
                event["CodePipeline.job"]["data"]["inputArtifacts"] = json!([]);
                event
            },
            "pathsFile `p.txt` needs an input artifact, and the action has none",
        ),
        // --- job events: the event itself
        job_case(
            job_with(
                "/CodePipeline.job/data/continuationToken",
                json!("not json"),
            ),
            "the job's continuationToken `not json` was not written by this workflow: expected \
             ident at line 1 column 2",
        ),
        job_case(
            job_with(
                "/CodePipeline.job/data/continuationToken",
                json!(r#"{"v":9,"state":"runs/job-1/continued-2.json"}"#),
            ),
            "continuationToken version 9 is not 2",
        ),
        job_case(
            job_with(
                "/CodePipeline.job/data/artifactCredentials/secretAccessKey",
                json!(98765432109876543u64),
            ),
            "the CodePipeline job event: CodePipeline.job.data.artifactCredentials.\
             secretAccessKey: invalid type: integer `[redacted]`, expected a string",
        ),
        job_case(
            job_with(
                "/CodePipeline.job/data/actionConfiguration/configuration/UserParameters",
                json!(5),
            ),
            "the CodePipeline job event: CodePipeline.job.data.actionConfiguration.configuration.\
             UserParameters: invalid type: integer `5`, expected a string",
        ),
        job_case(
            {
                let mut event = job();
                event["extra"] = json!(true);
                event
            },
            "input: unknown key `extra` beside `CodePipeline.job`",
        ),
        job_text_read_by_both(
            job().to_string().replacen(
                r#""outputArtifacts":[]"#,
                &format!(r#""outputArtifacts":{deep}"#),
                1,
            ),
            &format!(
                "start-invalidation payload: request.CodePipeline.job.data.outputArtifacts{}: \
                 recursion limit exceeded at line 1 column 640 (the JSON nests deeper than the \
                 128 levels it may)",
                zeros(18)
            ),
            &format!(
                "pipeline-entry payload: CodePipeline.job.data.outputArtifacts{}: recursion \
                 limit exceeded at line 1 column 629 (the JSON nests deeper than the 128 levels \
                 it may)",
                zeros(20)
            ),
        ),
        job_text_read_by_both(
            job()
                .to_string()
                .replacen(r#""revision":null"#, r#""revision":"\ud800x""#, 1),
            &format!(
                "start-invalidation payload: request.CodePipeline.job.data.inputArtifacts[0].\
                 revision: unexpected end of hex escape at line 1 column 475 {not_whole}"
            ),
            &format!(
                "pipeline-entry payload: CodePipeline.job.data.inputArtifacts[0].revision: \
                 unexpected end of hex escape at line 1 column 463 {not_whole}"
            ),
        ),
        Case {
            input: Input::JobWithoutId(job_with("/CodePipeline.job/id", json!("")).to_string()),
            message: "the CodePipeline job event has no job id".into(),
            entry_message: None,
        },
        Case {
            input: Input::JobWithoutId(
                job_with("/CodePipeline.job/id", json!("job-1")).to_string(),
            ),
            message: "the CodePipeline job id `job-1` is not a job id (CodePipeline's are UUIDs, \
                      such as 11111111-abcd-1111-abcd-111111abcdef)"
                .into(),
            entry_message: None,
        },
    ]
}

/// CloudFront that must not be called, and the rule counting the attempts.
fn cloudfront() -> (Rule, aws_sdk_cloudfront::Client) {
    let create = mock!(aws_sdk_cloudfront::Client::create_invalidation)
        .then_output(|| CreateInvalidationOutput::builder().build());
    let client = mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, [&create]);
    (create, client)
}

/// Failure results recorded: (type, message).
type Recorded = Arc<Mutex<Vec<(String, String)>>>;

/// CodePipeline recording every failure result it gets.
fn codepipeline() -> (aws_sdk_codepipeline::Client, Recorded) {
    let results = Recorded::default();
    let recorded = results.clone();
    let put = mock!(aws_sdk_codepipeline::Client::put_job_failure_result)
        .match_requests(move |request| {
            let details = request.failure_details().unwrap();
            assert_eq!(request.job_id(), Some(JOB_ID));
            recorded.lock().unwrap().push((
                details.r#type().as_str().to_owned(),
                details.message().to_owned(),
            ));
            true
        })
        .then_output(|| PutJobFailureResultOutput::builder().build());
    let client = mock_client!(aws_sdk_codepipeline, RuleMode::MatchAny, [&put]);
    (client, results)
}

fn payload(text: String) -> Payload {
    serde_json::from_str(&text).expect("every case is JSON text Lambda would deliver")
}

/// The state machine's way: start-invalidation, whose refusal is a failed run state, then
/// report-result with that state. Returns the refusal's message, report's outcome, and the
/// failure results recorded.
async fn through_the_state_machine(input: &str) -> (String, Value, Vec<(String, String)>) {
    let (create, cloudfront) = cloudfront();
    let store = MemoryStore::new();
    let execution = r#"{"id": "arn:aws:states:us-east-1:123456789012:execution:M:run-1", "name": "run-1", "startTime": "2026-11-26T12:00:00.000Z"}"#;
    let started = start_invalidation(
        &cloudfront,
        &EmptyArtifact,
        &store,
        payload(format!(
            r#"{{"request": {input}, "execution": {execution}}}"#
        )),
        Budget::of(SystemTime::now(), Duration::from_secs(30)),
        Duration::from_secs(900),
        Polling::OFF,
    )
    .await;
    assert_eq!(create.num_calls(), 0, "CloudFront was called for {input}");
    assert_eq!(store.writes(), 0, "a plan was stored for {input}");
    let (message, state) = match started {
        // A refusal of the request: the run's state says it failed.
        Ok(run) => {
            let failure = run.failure.clone().expect("bad input fails the run");
            assert_eq!(failure.error.name(), "InvalidInput");
            (failure.cause, format!(r#"{{"run": {}}}"#, json!(run)))
        }
        // A payload the step cannot even read: its Catch puts the error beside the input.
        Err(error) => {
            assert_eq!(error.name(), "InvalidInput");
            let document =
                json!({"errorType": error.name(), "errorMessage": error.message}).to_string();
            let caught = json!({"Error": "InvalidInput", "Cause": document});
            let rest = input.trim_start().strip_prefix('{').expect("an object");
            (error.message, format!(r#"{{"error": {caught}, {rest}"#))
        }
    };
    let (pipeline, results) = codepipeline();
    let outcome = report_result(
        &pipeline,
        &store,
        payload(format!(r#"{{"state": {state}, "retryCount": 0}}"#)),
        report_backoff().with_min_delay(Duration::from_millis(1)),
        Budget::of(SystemTime::now(), Duration::from_secs(60)),
    )
    .await
    .expect("report-result reports any failure");
    let recorded = results.lock().unwrap().clone();
    (message, serde_json::to_value(outcome).unwrap(), recorded)
}

/// The Lambda invoke action's way: pipeline-entry, which must start nothing.
async fn through_pipeline_entry(
    input: &str,
) -> (Result<Value, WorkflowError>, Vec<(String, String)>) {
    let start = mock!(aws_sdk_sfn::Client::start_execution)
        .then_output(|| StartExecutionOutput::builder().build().unwrap());
    let sfn = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&start]);
    let (pipeline, results) = codepipeline();
    let store = MemoryStore::new();
    let outcome = start_pipeline_run(
        &sfn,
        &pipeline,
        &EmptyArtifact,
        &store,
        &StateMachineTarget::new(Some(
            "arn:aws:states:us-east-1:123456789012:stateMachine:Invalidation".into(),
        )),
        payload(input.to_owned()),
        report_backoff().with_min_delay(Duration::from_millis(1)),
        Budget::of(SystemTime::now(), Duration::from_secs(60)),
    )
    .await
    .map(|outcome| serde_json::to_value(outcome).unwrap());
    assert_eq!(start.num_calls(), 0, "a run was started for {input}");
    assert_eq!(store.writes(), 0, "a plan was stored for {input}");
    let recorded = results.lock().unwrap().clone();
    (outcome, recorded)
}

#[tokio::test]
async fn every_bad_input_is_refused_by_name_creates_nothing_and_gets_one_result() {
    let print = std::env::var_os("CORPUS_PRINT").is_some();
    let cases = cases();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (number, case) in cases.iter().enumerate() {
        let (text, has_job) = match &case.input {
            Input::Console(text) => (text, false),
            Input::Job(text) => (text, true),
            Input::JobWithoutId(text) => (text, false),
        };
        let (message, outcome, recorded) = through_the_state_machine(text).await;
        if print {
            println!("{number:2} {message}");
        }
        let mut check = |ok: bool, what: String| {
            if !ok {
                failures.push(format!("case {number}: {what}"));
            }
        };
        check(
            message == case.message,
            format!("message {message:?}, expected {:?}", case.message),
        );
        check(
            outcome["status"] == json!(RunStatus::Failed),
            format!("status {}", outcome["status"]),
        );
        check(
            outcome["cause"] == json!(message),
            format!("cause {}", outcome["cause"]),
        );
        let expected_results = if has_job {
            vec![(
                "ConfigurationError".to_owned(),
                format!("Cache invalidation failed: InvalidInput: {message}"),
            )]
        } else {
            Vec::new()
        };
        check(
            recorded == expected_results,
            format!("results {recorded:?}"),
        );
        let mut everything = format!("{message} {outcome} {recorded:?}");
        if !matches!(case.input, Input::Console(_)) {
            let (entered, recorded) = through_pipeline_entry(text).await;
            everything.push_str(&format!(" {entered:?} {recorded:?}"));
            match (&case.input, entered) {
                (Input::Job(_), Ok(outcome)) => {
                    let entry_message = case.entry_message.as_ref().unwrap_or(&message);
                    let reported = format!(
                        "Cache invalidation could not start: InvalidInput: {entry_message}"
                    );
                    check(
                        outcome["failureReported"] == json!(reported),
                        format!("entry {outcome}"),
                    );
                    check(
                        recorded == [("ConfigurationError".to_owned(), reported)],
                        format!("entry results {recorded:?}"),
                    );
                }
                (Input::JobWithoutId(_), Err(error)) => {
                    check(
                        error.name() == "InvalidInput",
                        format!("entry error {error}"),
                    );
                    check(recorded.is_empty(), format!("entry results {recorded:?}"));
                }
                (_, other) => check(false, format!("entry answered {other:?}")),
            }
        }
        for secret in CREDENTIALS {
            check(!everything.contains(secret), format!("{secret} leaked"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
