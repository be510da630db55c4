//! The payloads the state machine passes between the functions, declared once.
//!
//! ```text
//! execution input ──► StartInput ──start-invalidation──► {run} ──check-status──► {run} …
//!                                         │ error          (StepInput: the RunState)
//!                                         ▼                         │ phase ≠ InProgress, error
//!            execution input + error ──► ReportRequest ◄────────────┘
//!                                         └──report-result──► Outcome (execution output)
//! ```
//! Field names are camelCase because the state machine reads them with JSONPath
//! (`$.run.phase`, `$.run.waitSeconds`, `$.status`). The run's state itself is
//! [`crate::run::RunState`].

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::{FailureType, WorkflowError};
use crate::run::{ExecutionContext, RunState};
use crate::site::{ManifestKept, SiteUpdate};

/// A function's payload as Lambda delivered it, not yet parsed.
///
/// The functions take this rather than a parsed value because lambda_runtime's own parsing fails
/// on JSON nested deeper than serde_json's recursion limit (128) or holding a lone UTF-16
/// surrogate escape, and then names the error with a Rust type name
/// (`&lambda_runtime::deserializer::DeserializeError`). Taking the raw text always succeeds
/// (serde_json skips it without recursion or decoding), and [`Payload::parse`] turns any problem
/// into an `InvalidInput` that says where it is, which report-result can still report.
#[derive(Debug, Clone)]
pub struct Payload(Box<RawValue>);

impl Payload {
    /// The payload's JSON text.
    pub fn text(&self) -> &str {
        self.0.get()
    }

    /// Reads the payload as `T`; a problem is [`crate::ErrorKind::InvalidInput`] naming the
    /// path of the bad value (`request.paths[2]: invalid type: …`).
    pub fn parse<T: DeserializeOwned>(&self, what: &str) -> Result<T, WorkflowError> {
        from_json_text(&format!("{what} payload"), self.text())
    }
}

impl From<Value> for Payload {
    fn from(value: Value) -> Self {
        Self(RawValue::from_string(value.to_string()).expect("a Value serializes as JSON"))
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(Self)
    }
}

/// Reads JSON text as `T`; a problem is [`crate::ErrorKind::InvalidInput`] starting with `what`
/// and naming the path of the bad value: `start-invalidation payload: request.paths[0]: invalid
/// type: …`.
pub fn from_json_text<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, WorkflowError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|e| WorkflowError::invalid_input(describe_parse_error(what, &e)))?;
    deserializer
        .end()
        .map_err(|e| WorkflowError::invalid_input(format!("{what}: {e}")))?;
    Ok(parsed)
}

/// The message for a parse error, with a plain word for the two problems serde_json names
/// tersely.
fn describe_parse_error(
    what: &str,
    error: &serde_path_to_error::Error<serde_json::Error>,
) -> String {
    let at = describe_path(error.path());
    let detail = plain_words(error.inner().to_string());
    let why = if detail.starts_with("recursion limit exceeded") {
        format!("{detail} (the JSON nests deeper than the 128 levels it may)")
    } else if detail.contains("surrogate") || detail.contains("end of hex escape") {
        format!(
            "{detail} (a \\u escape that is no whole character: half of a UTF-16 surrogate pair, \
             or fewer than four hex digits)"
        )
    } else {
        detail
    };
    format!("{what}: {at}{why}")
}

/// serde's names of Rust types, in a person's words.
fn plain_words(detail: String) -> String {
    detail
        .replace("expected u64", "expected a whole number")
        .replace("expected usize", "expected a whole number")
}

/// The first key that appears twice in one object of the JSON text, with its path
/// (`paths` or `a.b`), if any. serde_json and Step Functions keep the last value of a repeated
/// key without a word, so a local run checks the text before it is parsed.
pub fn repeated_key(text: &str) -> Option<String> {
    struct Walk(Vec<String>);

    impl<'de> serde::de::DeserializeSeed<'de> for &mut Walk {
        type Value = Option<String>;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> serde::de::Visitor<'de> for &mut Walk {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut seen = std::collections::HashSet::new();
            let mut found = None;
            while let Some(key) = map.next_key::<String>()? {
                self.0.push(key.clone());
                let inner = map.next_value_seed(&mut *self)?;
                if found.is_none() {
                    found = inner.or_else(|| (!seen.insert(key)).then(|| self.0.join(".")));
                }
                self.0.pop();
            }
            Ok(found)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut found = None;
            while let Some(inner) = seq.next_element_seed(&mut *self)? {
                found = found.or(inner);
            }
            Ok(found)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }

    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde::de::DeserializeSeed::deserialize(&mut Walk(Vec::new()), &mut deserializer)
        .ok()
        .flatten()
}

/// "request.paths[2]: " for a message, or nothing at the top (`.`) or where serde could not tell
/// (`?`); a path deeper than a person reads is cut.
fn describe_path(path: &serde_path_to_error::Path) -> String {
    const KEEP: usize = 100;
    let path = path.to_string();
    match path.as_str() {
        "." | "?" => String::new(),
        _ if path.len() > KEEP => {
            // Cut where a key or an index begins, so no segment is left half.
            let head = &path[..path.floor_char_boundary(KEEP)];
            let cut = head
                .rfind(['[', '.'])
                .filter(|&at| at > 0)
                .unwrap_or(head.len());
            format!("{}…: ", &path[..cut])
        }
        _ => format!("{path}: "),
    }
}

/// Reads a value as `T`, naming the path of a bad value in the message (`input:
/// distributionId: invalid type: …`); for inputs already parsed into a [`Value`].
pub fn from_value<T: DeserializeOwned>(what: &str, value: &Value) -> Result<T, WorkflowError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let at = describe_path(e.path());
        WorkflowError::invalid_input(format!(
            "{what}: {at}{}",
            plain_words(e.inner().to_string())
        ))
    })
}

/// What start-invalidation receives: the execution input, untouched, and facts about the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartInput {
    /// The execution input as given (console input or a CodePipeline job event).
    pub request: Value,
    /// Facts the state machine takes from its context object.
    pub execution: ExecutionContext,
}

/// What check-status receives, and what the state machine keeps between steps: the run's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepInput {
    /// The run so far.
    pub run: RunState,
}

/// The state report-result is given when a step got through, or a later step failed: the run,
/// and the error a `Catch` caught, if any. When start-invalidation itself could not run, the
/// state is the execution input with the error beside it, and holds no `run`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportInput {
    /// The run's state, once start-invalidation has made one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunState>,
    /// The error a `Catch` caught.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CaughtError>,
}

/// What report-result receives. From the state machine: the state when it reached ReportResult,
/// and how often the state machine has retried the step (`$$.State.RetryCount`: an earlier
/// attempt may have recorded the result). As pipeline-entry's on-failure destination: Lambda's
/// record of an asynchronous invocation that failed on every attempt.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportRequest {
    /// The state machine's state (from the state machine), read as [`ReportInput`] when it
    /// holds a run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Box<RawValue>>,
    /// `$$.State.RetryCount` of the ReportResult step (from the state machine).
    #[serde(default)]
    pub retry_count: u32,
    /// The failed invocation (in an on-failure destination's record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_context: Option<InvocationContext>,
    /// The event the failed invocation was given: a CodePipeline job event (in a record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_payload: Option<Box<RawValue>>,
    /// What the last attempt answered: Lambda's error document (in a record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_payload: Option<Box<RawValue>>,
}

/// `requestContext` of Lambda's record of an asynchronous invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvocationContext {
    /// `RetriesExhausted` or `EventAgeExceeded`.
    pub condition: String,
    /// The function that failed.
    #[serde(default)]
    pub function_arn: String,
    /// How many times Lambda ran it.
    #[serde(default)]
    pub approximate_invoke_count: u32,
}

/// The error object a Step Functions `Catch` puts at its `ResultPath`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaughtError {
    /// The error name: a [`crate::ErrorKind`] name, or one of Step Functions' own
    /// (`States.Timeout`, `Lambda.Unknown`, …).
    #[serde(rename = "Error")]
    pub error: String,
    /// For a Lambda function error, the JSON of `{errorType, errorMessage}`; otherwise text.
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

impl CaughtError {
    /// The human part of the cause: the function's `errorMessage` when the cause is a Lambda
    /// error document (as Step Functions gives it), else the cause without a leading
    /// `<Error>: ` (as local interpreters give it).
    pub fn message(&self) -> String {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct LambdaErrorDocument {
            error_message: String,
        }
        if let Ok(document) = serde_json::from_str::<LambdaErrorDocument>(&self.cause) {
            return document.error_message;
        }
        let cause = self
            .cause
            .strip_prefix(&self.error)
            .and_then(|rest| rest.strip_prefix(": "))
            .unwrap_or(&self.cause);
        if cause.is_empty() {
            "no cause given".to_owned()
        } else {
            cause.to_owned()
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunStatus {
    /// Every invalidation completed.
    Succeeded,
    /// Something failed; `error` and `cause` say what.
    Failed,
    /// The invalidations are still in progress and the job was told so with a continuation
    /// token; the run for the next job carries on.
    Continued,
}

/// The execution's output, shaped by report-result. A `Failed` outcome sends the state machine
/// to its `Fail` state with `error` and `cause`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// Whether the run succeeded.
    pub status: RunStatus,
    /// The error name, when failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What failed and why, when failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// One line for a person: what was invalidated, or what failed.
    pub summary: String,
    /// The invalidations the run created, with their last status.
    pub invalidations: Vec<InvalidationReport>,
    /// What CodePipeline was told, when the run had a job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_pipeline: Option<PipelineReport>,
    /// Paths requested and invalidated, and what they cost, once invalidations were created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paths: Option<PathReport>,
    /// With `changesIn`, once the run succeeded: what changed in the site, and what became of
    /// its manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteReport>,
}

/// What changed in the site, and what became of its manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteReport {
    /// What the run found.
    #[serde(flatten)]
    pub update: SiteUpdate,
    /// What became of the manifest.
    #[serde(flatten)]
    pub kept: ManifestKept,
}

/// What the run invalidated, in paths and money.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathReport {
    /// Paths the request named.
    pub requested: usize,
    /// Items invalidated on each distribution, after planning: paths and cache tags.
    pub planned: usize,
    /// How many of the planned items are cache tags (`#…`).
    pub tags: usize,
    /// Invalidation batches, over all distributions.
    pub batches: usize,
    /// What this run's paths cost at $0.005 a path, if the month's 1,000 free paths are used up;
    /// CloudFront bills a cache tag as one path.
    pub estimated_cost_usd: f64,
}

/// The result recorded on a CodePipeline job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineReport {
    /// The job.
    pub job_id: String,
    /// `PutJobSuccessResult` or `PutJobFailureResult`.
    pub result: String,
    /// The failure type sent, for a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_type: Option<FailureType>,
    /// True when CodePipeline said the job already had this run's result (a retried report).
    pub already_recorded: bool,
    /// The continuation token sent, for an "in progress" reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
}

/// One invalidation of the run, as the execution output and the job result show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvalidationReport {
    /// The distribution (or distribution tenant) it invalidates.
    pub distribution_id: String,
    /// CloudFront's id for it.
    pub invalidation_id: String,
    /// The CallerReference it was created with.
    pub caller_reference: String,
    /// CloudFront's last status: `InProgress` or `Completed`.
    pub status: String,
}

/// Every invalidation of the run, target after target, batch after batch.
pub fn invalidation_reports(run: &RunState) -> Vec<InvalidationReport> {
    run.targets
        .iter()
        .flat_map(|target| {
            target
                .invalidations
                .iter()
                .enumerate()
                .map(|(batch, invalidation)| InvalidationReport {
                    distribution_id: target.id.clone(),
                    invalidation_id: invalidation.id.clone(),
                    caller_reference: run.caller_reference(&target.id, batch),
                    status: invalidation.status.clone(),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_of_a_lambda_error_cause_is_its_error_message() {
        let caught = CaughtError {
            error: "DistributionNotFound".into(),
            cause: r#"{"errorType":"DistributionNotFound","errorMessage":"no E1"}"#.into(),
        };
        assert_eq!(caught.message(), "no E1");
        let caught = CaughtError {
            error: "States.Timeout".into(),
            cause: "Task timed out".into(),
        };
        assert_eq!(caught.message(), "Task timed out");
        let caught = CaughtError {
            error: "DistributionNotFound".into(),
            cause: "DistributionNotFound: no E1".into(),
        };
        assert_eq!(caught.message(), "no E1");
    }

    #[test]
    fn a_shape_error_in_a_payload_is_invalid_input_naming_where() {
        let payload = Payload::from(serde_json::json!({"checks": 1}));
        let error = payload.parse::<StepInput>("check-status").unwrap_err();
        assert_eq!(error.name(), "InvalidInput");
        assert_eq!(
            error.message,
            "check-status payload: checks: unknown field `checks`, expected `run` at line 1 column 9"
        );
        let payload = Payload::from(serde_json::json!({"run": {"key": 7}}));
        let error = payload.parse::<StepInput>("check-status").unwrap_err();
        assert_eq!(
            error.message,
            "check-status payload: run.key: invalid type: integer `7`, expected a string at line 1 column 15"
        );
    }

    #[test]
    fn a_key_given_twice_is_found_with_its_path() {
        assert_eq!(
            repeated_key(r#"{"distributionId":"E1","paths":["/a"],"distributionId":"E2"}"#),
            Some("distributionId".to_owned())
        );
        assert_eq!(
            repeated_key(r#"{"a":[{"b":1,"b":2}]}"#),
            Some("a.b".to_owned())
        );
        assert_eq!(repeated_key(r#"{"a":{"b":1},"c":{"b":2}}"#), None);
    }

    #[test]
    fn payloads_the_runtime_cannot_parse_are_read_and_named() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let payload: Payload = serde_json::from_str(&format!(r#"{{"request": {deep}}}"#)).unwrap();
        let error = payload
            .parse::<StartInput>("start-invalidation")
            .unwrap_err();
        assert!(
            error
                .message
                .starts_with("start-invalidation payload: request[0][0][0]")
                && error
                    .message
                    .contains("…: recursion limit exceeded at line 1 column 139")
                && error
                    .message
                    .ends_with("(the JSON nests deeper than the 128 levels it may)"),
            "{}",
            error.message
        );
        let payload: Payload =
            serde_json::from_str(r#"{"request": {"paths": ["\ud800"]}}"#).unwrap();
        let error = payload
            .parse::<StartInput>("start-invalidation")
            .unwrap_err();
        assert_eq!(
            error.message,
            "start-invalidation payload: request.paths[0]: unexpected end of hex escape at line 1 \
             column 31 (a \\u escape that is no whole character: half of a UTF-16 surrogate \
             pair, or fewer than four hex digits)"
        );
    }
}
