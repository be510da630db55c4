//! Waiting past CodePipeline's reply window with continuation tokens.
//!
//! CodePipeline fails a Lambda invoke action that sends no reply for 20 minutes, and an
//! invalidation can take longer. So before the window closes the run records an "in progress"
//! reply (PutJobSuccessResult with a continuation token); CodePipeline then starts a new job
//! for the same action with that token, pipeline-entry starts a new run for it, and that run
//! carries on with the same invalidations, plan and deadline.
//!
//! The run's state goes to the state bucket (see [`crate::state_bucket`]); the token only names
//! where, so its size does not grow with the run and CodePipeline's 2048 characters always
//! suffice.

use serde::{Deserialize, Serialize};

use crate::error::{shorten, WorkflowError};
use crate::limits::MAX_TOKEN_CHARS;
use crate::state_bucket::RUNS_PREFIX;

/// How long a run waits before replying "in progress" when nothing says otherwise: 15 minutes,
/// leaving 5 of CodePipeline's 20 for a slow check and the reply itself.
pub const DEFAULT_REPLY_WINDOW_SECONDS: u64 = 900;
/// The environment variable of start-invalidation that sets the reply window (tests shorten it).
pub const REPLY_WINDOW_VARIABLE: &str = "REPLY_WINDOW_SECONDS";

/// The token format. Version 1 tokens (from before the plan was kept) carried the
/// invalidations themselves; a job holding one is told to run the action again.
const TOKEN_VERSION: u32 = 2;

/// The reply window from [`REPLY_WINDOW_VARIABLE`], else the default; read once at start.
pub fn reply_window_from_env() -> Result<std::time::Duration, String> {
    match std::env::var(REPLY_WINDOW_VARIABLE) {
        Err(_) => Ok(std::time::Duration::from_secs(DEFAULT_REPLY_WINDOW_SECONDS)),
        Ok(text) => text
            .parse::<u64>()
            .ok()
            .filter(|seconds| (1..=1200).contains(seconds))
            .map(std::time::Duration::from_secs)
            .ok_or_else(|| {
                format!("{REPLY_WINDOW_VARIABLE} `{text}` must be whole seconds from 1 to 1200")
            }),
    }
}

/// What a continuation token says: where the run's state is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Continuation {
    /// Token format version.
    pub v: u32,
    /// The key of the run's state in the state bucket.
    pub state: String,
}

impl Continuation {
    /// The continuation of a run whose state was stored at `state_key`.
    pub fn at(state_key: String) -> Self {
        Self {
            v: TOKEN_VERSION,
            state: state_key,
        }
    }

    /// The token: compact JSON, readable in CodePipeline's console.
    pub fn token(&self) -> String {
        let token = serde_json::to_string(self).expect("a continuation serializes");
        debug_assert!(token.chars().count() <= MAX_TOKEN_CHARS);
        token
    }

    /// Reads a token this workflow wrote.
    pub fn from_token(token: &str) -> Result<Self, WorkflowError> {
        #[derive(Deserialize)]
        struct Version {
            v: Option<u32>,
        }
        let version = serde_json::from_str::<Version>(token)
            .ok()
            .and_then(|v| v.v);
        if version.is_some_and(|v| v < TOKEN_VERSION) {
            return Err(WorkflowError::invalid_input(format!(
                "the job's continuationToken is of version {}, written before this version of \
                 the functions kept run state in the state bucket: run the action again",
                version.unwrap_or_default()
            )));
        }
        let continuation: Self = serde_json::from_str(token).map_err(|e| {
            WorkflowError::invalid_input(format!(
                "the job's continuationToken `{}` was not written by this workflow: {e}",
                shorten(token)
            ))
        })?;
        if continuation.v != TOKEN_VERSION {
            return Err(WorkflowError::invalid_input(format!(
                "continuationToken version {} is not {TOKEN_VERSION}",
                continuation.v
            )));
        }
        let key = &continuation.state;
        if !key.starts_with(RUNS_PREFIX) || key.contains("..") || !key.ends_with(".json") {
            return Err(WorkflowError::invalid_input(format!(
                "the job's continuationToken names `{}`, which is not a run state of the state \
                 bucket",
                shorten(key)
            )));
        }
        Ok(continuation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_the_stored_state_and_round_trips() {
        let key = crate::state_bucket::continuation_key(
            "job-11111111-abcd-1111-abcd-111111abcdef",
            "22222222-abcd-2222-abcd-222222abcdef",
        );
        let token = Continuation::at(key.clone()).token();
        assert_eq!(
            token,
            r#"{"v":2,"state":"runs/job-11111111-abcd-1111-abcd-111111abcdef/continued-22222222-abcd-2222-abcd-222222abcdef.json"}"#
        );
        assert_eq!(Continuation::from_token(&token).unwrap().state, key);
    }

    #[test]
    fn foreign_and_old_tokens_are_rejected_with_a_reason() {
        let old = r#"{"v":1,"deadline":"2026-11-26T13:00:00Z","paths":2,"checks":7,"invalidations":[["E1","I1"]]}"#;
        assert!(Continuation::from_token(old)
            .unwrap_err()
            .message
            .contains("of version 1, written before"));
        for token in [
            "abc",
            r#"{"v":2,"state":"elsewhere/x.json"}"#,
            r#"{"v":3,"state":"runs/a.json"}"#,
        ] {
            let error = Continuation::from_token(token).unwrap_err();
            assert_eq!(error.name(), "InvalidInput", "{token}");
        }
    }
}
