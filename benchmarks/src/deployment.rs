//! What template.yaml deploys that the model needs: each function's timeout and POLL_SECONDS,
//! and the memory and architecture they all share; and the state machine definition.

use std::path::Path;
use std::time::Duration;

use invalidation::polling::{Polling, POLL_SECONDS_VARIABLE};
use invalidation::schedule::Schedule;
use local_run::deployment::Deployment;
use serde_json::Value;

/// One function as deployed.
#[derive(Debug, Clone, Copy)]
pub struct Function {
    /// Its Lambda timeout.
    pub timeout: Duration,
    /// Its POLL_SECONDS (off when the template sets none).
    pub polling: Polling,
}

/// The deployed functions of a run, and the state machine.
#[derive(Debug, Clone)]
pub struct Deployed {
    /// start-invalidation.
    pub start: Function,
    /// check-status.
    pub check: Function,
    /// report-result.
    pub report: Function,
    /// pipeline-entry.
    pub entry: Function,
    /// `statemachine/invalidation.asl.json`.
    pub definition: Value,
}

impl Deployed {
    /// What template.yaml and the state machine in the repository at `root` deploy, as
    /// local-run reads them, checking that the functions have the 128 MB and arm64 the model
    /// prices.
    pub fn load(root: &Path) -> Result<Self, String> {
        let deployment = Deployment::load(root).map_err(|e| e.to_string())?;
        if deployment.memory_size != Some(128) {
            return Err("the model prices 128 MB functions; template.yaml says otherwise".into());
        }
        if deployment.architecture.as_deref() != Some("arm64") {
            return Err("the model prices arm64 functions; template.yaml says otherwise".into());
        }
        let function = |binary: &str| -> Result<Function, String> {
            let timeout = *deployment
                .timeouts
                .get(binary)
                .ok_or_else(|| format!("template.yaml has no function {binary}"))?;
            let poll = deployment.environments[binary].get(POLL_SECONDS_VARIABLE);
            Ok(Function {
                timeout,
                polling: Polling::from_setting(poll.map(String::as_str))
                    .map_err(|e| format!("{binary}: {e}"))?,
            })
        };
        Ok(Self {
            start: function("start-invalidation")?,
            check: function("check-status")?,
            report: function("report-result")?,
            entry: function("pipeline-entry")?,
            definition: serde_json::from_str(&deployment.definition_text)
                .map_err(|e| format!("{}: {e}", deployment.definition_uri))?,
        })
    }

    /// The workflow without in-function polling: no POLL_SECONDS, and StartInvalidation
    /// followed by WaitBeforeCheck rather than WhatNext.
    pub fn before_polling(&self) -> Self {
        let mut before = self.clone();
        before.start.polling = Polling::OFF;
        before.check.polling = Polling::OFF;
        before.definition["States"]["StartInvalidation"]["Next"] = "WaitBeforeCheck".into();
        before
    }

    /// The workflow on the previous polling schedule: a dense phase of 150 s (polled by
    /// start-invalidation, Timeout 180 s and POLL_SECONDS 150), then checks that poll a quarter
    /// of the time since the submission and waits of a quarter, at most 4 minutes (check-status
    /// Timeout 630 s and POLL_SECONDS 600).
    pub fn previous_schedule(&self) -> Self {
        let mut previous = self.clone();
        let schedule = Schedule::with_dense_phase(Duration::from_secs(150));
        previous.start = Function {
            timeout: Duration::from_secs(180),
            polling: Polling::for_at_most(Duration::from_secs(150)).following(schedule),
        };
        previous.check = Function {
            timeout: Duration::from_secs(630),
            polling: Polling::for_at_most(Duration::from_secs(600)).following(schedule),
        };
        previous
    }

    /// The same functions on a host that gives no Lambda deadline (`cargo lambda watch`, which
    /// local runs use): every step gets the library's fallback budget.
    pub fn on_local_host(&self) -> Self {
        let mut local = self.clone();
        let fallback = invalidation::budget::FALLBACK_LENGTH + invalidation::budget::ANSWER_MARGIN;
        for function in [
            &mut local.start,
            &mut local.check,
            &mut local.report,
            &mut local.entry,
        ] {
            function.timeout = fallback;
        }
        local
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_leaves_each_function_30_s_of_its_timeout_for_its_other_work() {
        let deployed = Deployed::load(&local_run::repo_root()).unwrap();
        for (name, function) in [
            ("start-invalidation", deployed.start),
            ("check-status", deployed.check),
        ] {
            assert!(function.polling.is_on(), "{name} polls");
            assert!(
                function.polling.longest() + Duration::from_secs(30) <= function.timeout,
                "{name}: POLL_SECONDS {:?}, Timeout {:?}",
                function.polling.longest(),
                function.timeout
            );
        }
        assert!(!deployed.report.polling.is_on());
    }
}
