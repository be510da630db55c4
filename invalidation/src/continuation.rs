//! Waiting past CodePipeline's reply window with continuation tokens.
//!
//! CodePipeline fails a Lambda invoke action that sends no reply for 20 minutes, and an
//! invalidation can take longer. So before the window closes the run records an "in progress"
//! reply (PutJobSuccessResult with a continuation token); CodePipeline then starts a new job
//! for the same action with that token, pipeline-entry starts a new run for it, and that run
//! resumes polling the same invalidations until the original deadline. The token carries all a
//! new run needs: the invalidations, the deadline, the path count, the checks done so far and
//! when the last batch went in (where the polling schedule has got to).

use std::collections::BTreeMap;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::error::WorkflowError;
use crate::payload::{is_zero, InvalidationState, Run};
use crate::start::{format_time, parse_time};

/// CodePipeline's longest continuation token.
pub const MAX_TOKEN_CHARS: usize = 2048;
/// How long a run waits before replying "in progress" when nothing says otherwise: 15 minutes,
/// leaving 5 of CodePipeline's 20 for a slow check and the reply itself.
pub const DEFAULT_REPLY_WINDOW_SECONDS: u64 = 900;
/// The environment variable of start-invalidation that sets the reply window (tests shorten it).
pub const REPLY_WINDOW_VARIABLE: &str = "REPLY_WINDOW_SECONDS";

const TOKEN_VERSION: u32 = 1;

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

/// What a continued run resumes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continuation {
    /// Token format version, so a future change can still read today's tokens.
    pub v: u32,
    /// The run's deadline (RFC 3339), unchanged across continuations.
    pub deadline: String,
    /// Paths invalidated per distribution, after planning.
    pub paths: usize,
    /// Paths the request named.
    #[serde(default)]
    pub requested: usize,
    /// How many of the `paths` are cache tags.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tags: usize,
    /// Status checks done so far.
    pub checks: u32,
    /// When a batch last went in, in seconds since the Unix epoch (shorter than RFC 3339): the
    /// continued run's waits and polling windows carry on from the backoff reached instead of
    /// starting again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
    /// `[distribution id, invalidation id]` pairs: every invalidation of the run, or, when
    /// they do not all fit, those not yet completed.
    pub invalidations: Vec<(String, String)>,
    /// Completed invalidations of earlier jobs that the token no longer names.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub done: usize,
    /// Per distribution, the first batch of the plan not yet submitted; the continued run plans
    /// the job's (unchanged) UserParameters again to find its paths.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub next: BTreeMap<String, usize>,
}

impl Continuation {
    /// The continuation of a run that is still waiting.
    pub fn of(run: &Run) -> Self {
        Self {
            v: TOKEN_VERSION,
            deadline: run.deadline.clone(),
            paths: run.path_count,
            requested: run.paths_requested,
            tags: run.tag_count,
            checks: run.checks,
            since: run
                .submitted_at
                .as_deref()
                .and_then(|time| parse_time("submittedAt", time).ok())
                .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
                .map(|since| since.as_secs()),
            done: run.earlier_completed,
            invalidations: run
                .invalidations
                .iter()
                .map(|i| (i.distribution_id.clone(), i.invalidation_id.clone()))
                .collect(),
            next: run.pending.iter().fold(BTreeMap::new(), |mut next, batch| {
                let first = next
                    .entry(batch.distribution_id.clone())
                    .or_insert(batch.batch);
                *first = (*first).min(batch.batch);
                next
            }),
        }
    }

    /// The token of a run that is still waiting: compact JSON, readable in CodePipeline's
    /// console. When naming every invalidation would make it too long, it names only those not
    /// yet completed (at most one per distribution, since a distribution's batches go in one
    /// after another) and counts the others in `done`; [`crate::request`] admits no more
    /// distributions than fit that way.
    pub fn token(run: &Run) -> Result<String, WorkflowError> {
        let every = Self::of(run);
        let token = serde_json::to_string(&every).expect("a continuation serializes");
        if token.chars().count() <= MAX_TOKEN_CHARS {
            return Ok(token);
        }
        let unfinished: Vec<(String, String)> = run
            .invalidations
            .iter()
            .filter(|i| !i.is_completed())
            .map(|i| (i.distribution_id.clone(), i.invalidation_id.clone()))
            .collect();
        let compact = Self {
            done: every.done + every.invalidations.len() - unfinished.len(),
            invalidations: unfinished,
            ..every
        };
        let token = serde_json::to_string(&compact).expect("a continuation serializes");
        if token.chars().count() > MAX_TOKEN_CHARS {
            return Err(WorkflowError::invalid_input(format!(
                "{} unfinished invalidations do not fit in a {MAX_TOKEN_CHARS}-character \
                 continuation token",
                compact.invalidations.len()
            )));
        }
        Ok(token)
    }

    /// Reads a token this workflow wrote.
    pub fn from_token(token: &str) -> Result<Self, WorkflowError> {
        let continuation: Self = serde_json::from_str(token).map_err(|e| {
            WorkflowError::invalid_input(format!(
                "the job's continuationToken was not written by this workflow: {e}"
            ))
        })?;
        if continuation.v != TOKEN_VERSION {
            return Err(WorkflowError::invalid_input(format!(
                "continuationToken version {} is not {TOKEN_VERSION}",
                continuation.v
            )));
        }
        if continuation.invalidations.is_empty() && continuation.next.is_empty() {
            return Err(WorkflowError::invalid_input(
                "the job's continuationToken names no invalidation and no pending batch",
            ));
        }
        Ok(continuation)
    }

    /// When the last batch went in (RFC 3339), if the token says.
    pub fn submitted_at(&self) -> Option<String> {
        self.since
            .map(|seconds| format_time(UNIX_EPOCH + std::time::Duration::from_secs(seconds)))
    }

    /// The invalidations to resume, with their status not yet known.
    pub fn invalidations(&self) -> Vec<InvalidationState> {
        self.invalidations
            .iter()
            .map(|(distribution_id, invalidation_id)| InvalidationState {
                distribution_id: distribution_id.clone(),
                invalidation_id: invalidation_id.clone(),
                caller_reference: String::new(),
                status: "InProgress".to_owned(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> Run {
        Run {
            execution_arn: None,
            job_id: Some("11111111-abcd-1111-abcd-111111abcdef".into()),
            deadline: "2026-11-26T13:00:00Z".into(),
            path_count: 2,
            paths_requested: 3,
            tag_count: 0,
            distribution_count: 1,
            earlier_completed: 0,
            invalidations: vec![InvalidationState {
                distribution_id: "E2QWRUHEXAMPLE".into(),
                invalidation_id: "I2J0I21PCUYOIK".into(),
                caller_reference: "ref".into(),
                status: "InProgress".into(),
            }],
            checks: 7,
            checks_since_submit: 2,
            submitted_at: None,
            all_completed: false,
            wait_seconds: 60,
            reply_by: None,
            reply_due: true,
            pending: Vec::new(),
            reference_prefix: String::new(),
        }
    }

    #[test]
    fn a_token_round_trips_and_names_what_to_resume() {
        let token = Continuation::token(&run()).unwrap();
        assert_eq!(
            token,
            r#"{"v":1,"deadline":"2026-11-26T13:00:00Z","paths":2,"requested":3,"checks":7,"invalidations":[["E2QWRUHEXAMPLE","I2J0I21PCUYOIK"]]}"#
        );
        let continuation = Continuation::from_token(&token).unwrap();
        assert_eq!(
            continuation.invalidations()[0].invalidation_id,
            "I2J0I21PCUYOIK"
        );
        assert_eq!(continuation.checks, 7);
    }

    #[test]
    fn a_token_counts_the_cache_tags_among_the_paths() {
        let mut run = run();
        run.tag_count = 1;
        let token = Continuation::token(&run).unwrap();
        assert!(token.contains(r#""requested":3,"tags":1,"#), "{token}");
        assert_eq!(Continuation::from_token(&token).unwrap().tags, 1);
    }

    #[test]
    fn the_token_carries_when_the_last_batch_went_in() {
        let mut run = run();
        run.submitted_at = Some("2026-11-26T12:00:00.123Z".into());
        let token = Continuation::token(&run).unwrap();
        assert!(
            token.contains(r#""checks":7,"since":1795694400,"#),
            "{token}"
        );
        let continuation = Continuation::from_token(&token).unwrap();
        assert_eq!(
            continuation.submitted_at().as_deref(),
            Some("2026-11-26T12:00:00Z")
        );
    }

    #[test]
    fn the_token_budget_allows_for_its_fixed_part() {
        use crate::request::TOKEN_FIXED_CHARS;
        // The longest token without invalidations: 24-character times, six-digit counts.
        let mut run = run();
        run.deadline = "2026-11-26T13:00:00.123Z".into();
        run.submitted_at = Some("2026-11-26T12:00:00.123Z".into());
        (
            run.path_count,
            run.paths_requested,
            run.tag_count,
            run.checks,
        ) = (999_999, 999_999, 999_999, 999_999);
        run.earlier_completed = 999_999;
        run.invalidations.clear();
        let token = serde_json::to_string(&Continuation::of(&run)).unwrap();
        let fixed = token.len() + r#","next":{}"#.len();
        assert_eq!(fixed, 171, "{token}");
        assert!(fixed <= TOKEN_FIXED_CHARS);
    }

    #[test]
    fn forty_distributions_fit_in_a_token() {
        let mut run = run();
        run.invalidations = (0..crate::request::MAX_DISTRIBUTIONS)
            .map(|n| InvalidationState {
                distribution_id: format!("E{n:0>13}"),
                invalidation_id: format!("I{n:0>13}"),
                caller_reference: String::new(),
                status: "InProgress".into(),
            })
            .collect();
        let token = Continuation::token(&run).unwrap();
        assert!(token.len() <= MAX_TOKEN_CHARS, "{}", token.len());
    }

    #[test]
    fn the_largest_accepted_job_fits_even_after_many_batches() {
        use crate::request::token_budget_used;
        // As many distributions as the request check admits for a run of several batches.
        let mut ids: Vec<String> = Vec::new();
        while token_budget_used(&ids, true) <= MAX_TOKEN_CHARS {
            ids.push(format!("E{:0>13}", ids.len()));
        }
        ids.pop();
        assert_eq!(ids.len(), 29);
        let mut run = run();
        // Counts as long as the budget allows for, cache tags among the paths.
        run.path_count = 999_999;
        run.paths_requested = 999_999;
        run.tag_count = 999_999;
        run.checks = 999_999;
        // Each has three batches completed, the fourth in progress and a fifth to come.
        run.invalidations = ids
            .iter()
            .flat_map(|id| {
                (0..4).map(move |batch| InvalidationState {
                    distribution_id: id.clone(),
                    invalidation_id: format!("I{batch}{:0>18}", &id[1..]),
                    caller_reference: String::new(),
                    status: if batch < 3 { "Completed" } else { "InProgress" }.into(),
                })
            })
            .collect();
        run.pending = ids
            .iter()
            .map(|id| crate::payload::PendingBatch {
                distribution_id: id.clone(),
                batch: 4,
                refused_for_limit: 0,
            })
            .collect();
        let token = Continuation::token(&run).unwrap();
        assert!(token.chars().count() <= MAX_TOKEN_CHARS, "{}", token.len());
        let continuation = Continuation::from_token(&token).unwrap();
        assert_eq!(continuation.done, 29 * 3);
        assert_eq!(
            continuation.invalidations.len(),
            29,
            "only the unfinished ones"
        );
        assert_eq!(continuation.next.len(), 29);
    }

    #[test]
    fn a_token_may_name_only_pending_batches() {
        let mut run = run();
        run.invalidations.clear();
        run.pending = vec![crate::payload::PendingBatch {
            distribution_id: "E2QWRUHEXAMPLE".into(),
            batch: 0,
            refused_for_limit: 0,
        }];
        let token = Continuation::token(&run).unwrap();
        let continuation = Continuation::from_token(&token).unwrap();
        assert!(continuation.invalidations.is_empty());
        assert_eq!(continuation.next["E2QWRUHEXAMPLE"], 0);
    }

    #[test]
    fn foreign_tokens_are_rejected_with_a_reason() {
        for token in [
            "abc",
            r#"{"v":2,"deadline":"x","paths":1,"checks":0,"invalidations":[["E1","I1"]]}"#,
        ] {
            let error = Continuation::from_token(token).unwrap_err();
            assert_eq!(error.name(), "InvalidInput");
        }
    }
}
