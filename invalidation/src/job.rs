//! The parts of a CodePipeline job event that the workflow reads outside request parsing: the
//! job id, to report to, and the artifact credentials, to keep them out of every message.
//!
//! The view is read leniently: only these few fields are looked at and everything else is
//! skipped unread, so it can be taken from a payload that nothing else could parse (nested
//! deeper than serde_json's recursion limit, or holding a lone UTF-16 surrogate escape), and a
//! job still gets its result. pipeline-entry, report-result and the redactor all use it.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// The key under which CodePipeline puts the job in a Lambda invoke event.
pub const CODEPIPELINE_JOB_KEY: &str = "CodePipeline.job";

/// A job event's id and artifact credentials, when the value is one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobView {
    /// `CodePipeline.job.id`, when it is a string.
    pub id: Option<String>,
    /// The values of `CodePipeline.job.data.artifactCredentials`, as they are (strings), or as
    /// JSON text (anything else); never printed.
    pub credentials: Vec<String>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "CodePipeline.job")]
    job: Option<Job>,
}

#[derive(Deserialize)]
struct Job {
    id: Option<Lenient>,
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "artifactCredentials")]
    artifact_credentials: Option<Credentials>,
}

#[derive(Deserialize)]
struct Credentials {
    #[serde(rename = "accessKeyId")]
    access_key_id: Option<Lenient>,
    #[serde(rename = "secretAccessKey")]
    secret_access_key: Option<Lenient>,
    #[serde(rename = "sessionToken")]
    session_token: Option<Lenient>,
}

/// A field that may hold any JSON; kept as its raw text.
struct Lenient(Box<RawValue>);

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(Lenient)
    }
}

impl Lenient {
    /// The string it holds, or its JSON text when it holds anything else.
    fn text(&self) -> String {
        serde_json::from_str::<String>(self.0.get()).unwrap_or_else(|_| self.0.get().to_owned())
    }

    fn string(&self) -> Option<String> {
        serde_json::from_str(self.0.get()).ok()
    }
}

impl JobView {
    /// The view of a job event's raw JSON text; empty for anything that is not one, or that is
    /// not JSON at all.
    pub fn of_text(text: &str) -> Self {
        let Ok(event) = serde_json::from_str::<Event>(text) else {
            return Self::default();
        };
        let Some(job) = event.job else {
            return Self::default();
        };
        let credentials = job
            .data
            .and_then(|data| data.artifact_credentials)
            .map(|c| [c.access_key_id, c.secret_access_key, c.session_token])
            .into_iter()
            .flatten()
            .flatten()
            .map(|value| value.text())
            .collect();
        Self {
            id: job.id.and_then(|id| id.string()),
            credentials,
        }
    }

    /// The view of a parsed value.
    pub fn of(value: &Value) -> Self {
        match value.get(CODEPIPELINE_JOB_KEY) {
            Some(_) => Self::of_text(&value.to_string()),
            None => Self::default(),
        }
    }

    /// Whether the value is a job event at all (has `CodePipeline.job`).
    pub fn is_job_event(value: &Value) -> bool {
        value.get(CODEPIPELINE_JOB_KEY).is_some()
    }
}

/// Whether `id` has the shape CodePipeline gives job ids (a UUID, lowercase hex), which is what
/// PutJobSuccessResult and PutJobFailureResult accept.
pub fn is_job_id(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_id_and_credentials_of_a_job_event_are_read() {
        let event = json!({"CodePipeline.job": {"id": "11111111-abcd-1111-abcd-111111abcdef",
            "data": {"artifactCredentials": {"accessKeyId": "AK", "secretAccessKey": 12,
                     "sessionToken": "TOKEN"}}}});
        let view = JobView::of(&event);
        assert_eq!(
            view.id.as_deref(),
            Some("11111111-abcd-1111-abcd-111111abcdef")
        );
        assert_eq!(view.credentials, ["AK", "12", "TOKEN"]);
        assert_eq!(
            JobView::of(&json!({"distributionId": "E2QWRUHEXAMPLE"})),
            JobView::default()
        );
    }

    #[test]
    fn a_job_event_nothing_else_can_parse_still_gives_its_id() {
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        let text = format!(
            r#"{{"CodePipeline.job": {{"id": "11111111-abcd-1111-abcd-111111abcdef", "x": {deep},
                "data": {{"lone": "\udc00", "artifactCredentials": {{"sessionToken": "T0KEN"}}}}}}}}"#
        );
        assert!(serde_json::from_str::<Value>(&text).is_err());
        let view = JobView::of_text(&text);
        assert_eq!(
            view.id.as_deref(),
            Some("11111111-abcd-1111-abcd-111111abcdef")
        );
        assert_eq!(view.credentials, ["T0KEN"]);
    }

    #[test]
    fn job_ids_are_uuids() {
        assert!(is_job_id("11111111-abcd-1111-abcd-111111abcdef"));
        for bad in [
            "",
            "job-1",
            "11111111-abcd-1111-abcd-111111abcdeg",
            "11111111abcd1111abcd111111abcdef",
        ] {
            assert!(!is_job_id(bad), "{bad}");
        }
    }
}
