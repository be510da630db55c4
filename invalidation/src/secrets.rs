//! Keeps the CodePipeline job's temporary artifact credentials out of every message.
//!
//! The job event carries an access key id, a secret key and a session token for the pipeline's
//! artifact bucket. Typed parsing already drops them, but error messages can still quote input
//! (a serde error names the value it could not read), so every message that leaves a function
//! that saw the raw event passes through [`Secrets::redact`].

use serde_json::Value;

use crate::error::WorkflowError;
use crate::job::JobView;

/// What a redacted credential, or a piece of one, is replaced with.
pub const REDACTED: &str = "[redacted]";

/// The shortest piece of a credential that is recognised and replaced. Messages quote values
/// cut short (`…`), so a prefix, a suffix or any other fragment of a credential must go too;
/// shorter runs (up to 7 characters) can appear by chance in ordinary text (`EXAMPLE` in both a
/// sample key and a distribution id) and say nothing about the credential.
pub const MIN_FRAGMENT_CHARS: usize = 8;

/// The credential values found in one request.
#[derive(Default)]
pub struct Secrets {
    values: Vec<Vec<char>>,
}

impl Secrets {
    /// Collects the artifact credentials of a CodePipeline job event; none for other input.
    pub fn from_request(request: &Value) -> Self {
        Self::from_view(&JobView::of(request))
    }

    /// Collects the credentials of a job view.
    pub fn from_view(view: &JobView) -> Self {
        let values = view
            .credentials
            .iter()
            .map(|value| value.chars().collect::<Vec<char>>())
            // A value too short to hold a fragment hides nothing worth hiding.
            .filter(|value| value.len() >= MIN_FRAGMENT_CHARS)
            .collect();
        Self { values }
    }

    /// The text with every run of [`MIN_FRAGMENT_CHARS`] or more characters that also occurs in a
    /// credential replaced by [`REDACTED`]: whole values, prefixes, suffixes and fragments.
    pub fn redact(&self, text: &str) -> String {
        if self.values.is_empty() {
            return text.to_owned();
        }
        let chars: Vec<char> = text.chars().collect();
        let windows: std::collections::HashSet<&[char]> = self
            .values
            .iter()
            .flat_map(|value| value.windows(MIN_FRAGMENT_CHARS))
            .collect();
        // Mark every character covered by a window that occurs in a credential: overlapping
        // windows join into one run, so any common run of 8 or more characters is covered.
        let mut secret = vec![false; chars.len()];
        for (at, window) in chars.windows(MIN_FRAGMENT_CHARS).enumerate() {
            if windows.contains(window) {
                secret[at..at + MIN_FRAGMENT_CHARS].fill(true);
            }
        }
        let mut redacted = String::with_capacity(text.len());
        let mut at = 0;
        while at < chars.len() {
            if secret[at] {
                redacted.push_str(REDACTED);
                while at < chars.len() && secret[at] {
                    at += 1;
                }
            } else {
                redacted.push(chars[at]);
                at += 1;
            }
        }
        redacted
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
    fn prefixes_suffixes_and_fragments_of_a_long_credential_are_replaced_too() {
        let token = "FQoGZXIvYXdzEXAMPLEsessionTokenValue".repeat(20);
        let request = json!({"CodePipeline.job": {"data": {"artifactCredentials": {
            "accessKeyId": "ASIAEXAMPLEKEYID0001", "secretAccessKey": "not-checked-here",
            "sessionToken": token
        }}}});
        let secrets = Secrets::from_request(&request);
        let prefix = format!("bad path `{}…` in E2QWRUHEXAMPLE", &token[..100]);
        assert_eq!(
            secrets.redact(&prefix),
            "bad path `[redacted]…` in E2QWRUHEXAMPLE"
        );
        let suffix = format!("…{} and {}", &token[token.len() - 30..], &token[301..320]);
        assert_eq!(secrets.redact(&suffix), "…[redacted] and [redacted]");
        // Seven characters in common are chance, not a quote.
        assert_eq!(secrets.redact("sessionT"), "[redacted]");
        assert_eq!(secrets.redact("session"), "session");
    }

    #[test]
    fn console_input_has_nothing_to_redact() {
        let secrets = Secrets::from_request(&json!({"distributionId": "E2QWRUHEXAMPLE"}));
        assert_eq!(secrets.redact("E2QWRUHEXAMPLE"), "E2QWRUHEXAMPLE");
    }
}
