//! Real local runs (`local_run`): the debug function binaries behind cargo lambda's runtime API,
//! the state machine in the ASL interpreter, the emulator's CloudFront; the lag read from the
//! run's own timeline.

use std::cell::RefCell;
use std::time::{Duration, SystemTime};

use aws_smithy_types::date_time::{DateTime, Format};
use local_run::{repo_root, Environment, Settings};

use crate::model::model_input;

/// What one local run showed.
#[derive(Debug, Clone)]
pub struct Measured {
    /// The invalidation's time in the emulator.
    pub takes: Duration,
    /// From the emulator's completion (creation + `takes`) to ReportResult entered.
    pub lag: Duration,
    /// States entered.
    pub transitions: usize,
    /// Task states entered (Lambda invocations).
    pub invocations: usize,
    /// GetInvalidation calls the emulator received.
    pub get_calls: u64,
}

/// One local run of the workflow as template.yaml configures it (POLL_SECONDS included) for
/// an invalidation of `takes`.
pub async fn local_run(takes: Duration) -> Result<Measured, String> {
    let mut settings = Settings::new(repo_root());
    settings.distributions = vec!["E2QWRUHEXAMPLE".to_owned()];
    settings.invalidation_time = takes;
    // template.yaml's POLL_SECONDS, as deployed (Settings::new turns polling off for tests).
    settings.poll_seconds = None;
    settings.log_dir = repo_root().join("target").join("benchmarks");
    let environment = Environment::start(settings)
        .await
        .map_err(|e| format!("local run: {e}"))?;
    let reported: RefCell<Option<SystemTime>> = RefCell::new(None);
    let name = format!("measured-{}", takes.as_millis());
    let execution = environment
        .execute(&model_input(), &name, |event| {
            if event["type"] == "StateEntered"
                && event["state"]["name"] == "ReportResult"
                && reported.borrow().is_none()
            {
                *reported.borrow_mut() = Some(SystemTime::now());
            }
        })
        .await
        .map_err(|e| format!("local run: {e}"))?;
    if !execution.succeeded() {
        return Err(format!(
            "the local run ended {}: {:?}",
            execution.status, execution.error
        ));
    }
    let snapshot = environment.snapshot();
    let created = snapshot
        .invalidations
        .iter()
        .filter_map(|i| DateTime::from_str(&i.created_at, Format::DateTime).ok())
        .filter_map(|time| SystemTime::try_from(time).ok())
        .max()
        .ok_or("the run created no invalidation")?;
    let reported = reported
        .into_inner()
        .ok_or("the run never entered ReportResult")?;
    let entered = execution.states_entered();
    let states = &environment_definition()?;
    Ok(Measured {
        takes,
        lag: reported.duration_since(created + takes).unwrap_or_default(),
        transitions: entered.len(),
        invocations: entered
            .iter()
            .filter(|name| states["States"][**name]["Type"] == "Task")
            .count(),
        get_calls: snapshot.calls.get("GetInvalidation").copied().unwrap_or(0),
    })
}

fn environment_definition() -> Result<serde_json::Value, String> {
    let path = repo_root().join("statemachine/invalidation.asl.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}
