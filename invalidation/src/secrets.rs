//! Keeps the CodePipeline job's temporary artifact credentials out of every message.
//!
//! The job event carries an access key id, a secret key and a session token for the pipeline's
//! artifact bucket. Typed parsing already drops them, but error messages can still quote input
//! (a serde error names the value it could not read), so every message that leaves a function
//! that saw the raw event passes through [`Secrets::redact`].

use serde_json::Value;

use crate::error::WorkflowError;

/// What a redacted credential is replaced with.
pub const REDACTED: &str = "[redacted]";

const CREDENTIAL_POINTERS: [&str; 3] = [
    "/CodePipeline.job/data/artifactCredentials/accessKeyId",
    "/CodePipeline.job/data/artifactCredentials/secretAccessKey",
    "/CodePipeline.job/data/artifactCredentials/sessionToken",
];

/// The credential values found in one request.
#[derive(Default)]
pub struct Secrets {
    values: Vec<String>,
}

impl Secrets {
    /// Collects the artifact credentials of a CodePipeline job event; none for other input.
    pub fn from_request(request: &Value) -> Self {
        let values = CREDENTIAL_POINTERS
            .iter()
            .filter_map(|pointer| request.pointer(pointer))
            .map(|value| match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            // Replacing a very short value would mangle unrelated text and hide nothing.
            .filter(|value| value.len() >= 4)
            .collect();
        Self { values }
    }

    /// The text with every credential value replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        self.values.iter().fold(text.to_owned(), |text, secret| {
            text.replace(secret, REDACTED)
        })
    }

    /// The error with its message redacted.
    pub fn redact_error(&self, mut error: WorkflowError) -> WorkflowError {
        error.message = self.redact(&error.message);
        error
    }
}

// Secrets must not print themselves either.
impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} values)", self.values.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn credentials_of_the_job_event_are_replaced() {
        let request = json!({"CodePipeline.job": {"data": {"artifactCredentials": {
            "accessKeyId": "AKIAEXAMPLEKEY",
            "secretAccessKey": "example-secret-key-1",
            "sessionToken": "example-session-token-1"
        }}}});
        let secrets = Secrets::from_request(&request);
        let text =
            "bad value `example-secret-key-1` beside AKIAEXAMPLEKEY and example-session-token-1";
        assert_eq!(
            secrets.redact(text),
            "bad value `[redacted]` beside [redacted] and [redacted]"
        );
        assert_eq!(format!("{secrets:?}"), "Secrets(3 values)");
    }

    #[test]
    fn console_input_has_nothing_to_redact() {
        let secrets = Secrets::from_request(&json!({"distributionId": "E2QWRUHEXAMPLE"}));
        assert_eq!(secrets.redact("E2QWRUHEXAMPLE"), "E2QWRUHEXAMPLE");
    }
}
