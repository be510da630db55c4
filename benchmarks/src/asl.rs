//! Walks `statemachine/invalidation.asl.json` as Step Functions would for one execution, so the
//! model's transitions, waits and invocations come from the definition that deploys. It knows
//! the constructs the definition uses on a run's way: Pass and Task with `Parameters` and
//! `ResultSelector`, Choice rules of `BooleanEquals` and `StringEquals`, Wait with
//! `SecondsPath` or `Seconds`, Succeed and Fail. A Task's error ends the walk (the model's runs
//! have none).

use std::future::Future;
use std::time::Duration;

use serde_json::{json, Map, Value};

/// What a walk saw.
#[derive(Debug, Default, Clone)]
pub struct Walk {
    /// The states entered, in order (each a state transition).
    pub entered: Vec<String>,
    /// How the execution ended: the last state's type.
    pub ended_in: String,
}

/// Runs the definition from `StartAt` with `input`. `context` is `$$`. `invoke` runs a Task:
/// given its state name, its `Resource` and its effective input, it returns the result or an
/// error (which ends the walk). `wait` passes a Wait state's seconds.
pub async fn walk<I, IF, W, WF>(
    definition: &Value,
    input: Value,
    context: &Value,
    mut invoke: I,
    mut wait: W,
) -> Result<Walk, String>
where
    I: FnMut(String, String, Value) -> IF,
    IF: Future<Output = Result<Value, String>>,
    W: FnMut(Duration) -> WF,
    WF: Future<Output = ()>,
{
    let states = definition["States"]
        .as_object()
        .ok_or("the definition has no States")?;
    let mut name = definition["StartAt"]
        .as_str()
        .ok_or("the definition has no StartAt")?
        .to_owned();
    let mut state_input = input;
    let mut walk = Walk::default();
    loop {
        let state = states
            .get(&name)
            .ok_or_else(|| format!("no state {name}"))?;
        walk.entered.push(name.clone());
        if walk.entered.len() > 100_000 {
            return Err("more than 100,000 transitions".into());
        }
        let kind = state["Type"].as_str().unwrap_or_default();
        let next = match kind {
            "Pass" => {
                state_input = parameters(state, &state_input, context)?;
                next_of(state)?
            }
            "Task" => {
                let effective = parameters(state, &state_input, context)?;
                let resource = state["Resource"].as_str().unwrap_or_default().to_owned();
                let result = invoke(name.clone(), resource, effective).await?;
                state_input = match state.get("ResultSelector") {
                    Some(selector) => template(selector, &result, context)?,
                    None => result,
                };
                next_of(state)?
            }
            "Wait" => {
                let seconds = match (state.get("SecondsPath"), state.get("Seconds")) {
                    (Some(path), _) => path_value(&state_input, path_text(path)?)?
                        .as_u64()
                        .ok_or("SecondsPath is not a whole number")?,
                    (None, Some(seconds)) => seconds.as_u64().ok_or("Seconds is not whole")?,
                    _ => return Err(format!("{name}: a Wait this walker does not know")),
                };
                wait(Duration::from_secs(seconds)).await;
                next_of(state)?
            }
            "Choice" => choose(state, &state_input)?,
            "Succeed" | "Fail" => {
                walk.ended_in = kind.to_owned();
                return Ok(walk);
            }
            other => return Err(format!("{name}: state type {other} is not modelled")),
        };
        name = next;
    }
}

fn next_of(state: &Value) -> Result<String, String> {
    state["Next"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "a state without Next or End".to_owned())
}

fn choose(state: &Value, input: &Value) -> Result<String, String> {
    for rule in state["Choices"].as_array().into_iter().flatten() {
        let variable =
            path_value(input, rule["Variable"].as_str().unwrap_or("$")).unwrap_or(Value::Null);
        let matched = match (rule.get("BooleanEquals"), rule.get("StringEquals")) {
            (Some(expected), _) => variable == *expected,
            (None, Some(expected)) => variable == *expected,
            _ => return Err(format!("a Choice rule this walker does not know: {rule}")),
        };
        if matched {
            return next_of(rule);
        }
    }
    state["Default"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "no Choice rule matched and there is no Default".to_owned())
}

/// A state's `Parameters` applied to its input, or the input itself.
fn parameters(state: &Value, input: &Value, context: &Value) -> Result<Value, String> {
    match state.get("Parameters") {
        Some(parameters) => template(parameters, input, context),
        None => Ok(input.clone()),
    }
}

/// A payload template: keys ending in `.$` take the value at their path (`$…` in `input`,
/// `$$…` in the context); others are copied, objects recursively.
fn template(payload: &Value, input: &Value, context: &Value) -> Result<Value, String> {
    let Value::Object(fields) = payload else {
        return Ok(payload.clone());
    };
    let mut out = Map::new();
    for (key, value) in fields {
        match key.strip_suffix(".$") {
            Some(key) => {
                let path = path_text(value)?;
                let value = match path.strip_prefix("$$") {
                    Some(rest) => path_value(context, &format!("${rest}"))?,
                    None => path_value(input, path)?,
                };
                out.insert(key.to_owned(), value);
            }
            None => {
                out.insert(key.clone(), template(value, input, context)?);
            }
        }
    }
    Ok(Value::Object(out))
}

fn path_text(value: &Value) -> Result<&str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("a path that is not text: {value}"))
}

/// The value at a JSONPath of dotted names (`$`, `$.run.waitSeconds`).
fn path_value(value: &Value, path: &str) -> Result<Value, String> {
    let rest = path
        .strip_prefix('$')
        .ok_or_else(|| format!("{path} is not a path"))?;
    let mut at = value;
    for name in rest.split('.').filter(|name| !name.is_empty()) {
        at = at
            .get(name)
            .ok_or_else(|| format!("{path}: nothing at {name}"))?;
    }
    Ok(at.clone())
}

/// `$$` for an execution: its id, name, start time and input, and a state retry count of 0.
pub fn context(name: &str, start_time: &str, input: &Value) -> Value {
    json!({
        "Execution": {
            "Id": format!("arn:aws:states:us-east-1:123456789012:execution:InvalidationStateMachine:{name}"),
            "Name": name,
            "StartTime": start_time,
            "Input": input,
        },
        "State": {"RetryCount": 0},
    })
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::deployment::Deployed;

    /// Walks the deployed definition with start answering `start_done` and every check done.
    async fn entered(definition: &Value, start_done: bool) -> Vec<String> {
        let waited = Cell::new(Duration::ZERO);
        let walk = walk(
            definition,
            json!({"distributionId": "E2QWRUHEXAMPLE"}),
            &context("x", "2026-12-01T00:00:00Z", &json!({})),
            |_, resource: String, _| async move {
                Ok(match resource.as_str() {
                    "${StartInvalidationFunctionArn}" => {
                        let phase = if start_done {
                            "Completed"
                        } else {
                            "InProgress"
                        };
                        json!({"phase": phase, "waitSeconds": 7})
                    }
                    "${CheckStatusFunctionArn}" => json!({"phase": "Completed"}),
                    _ => json!({"status": "Succeeded"}),
                })
            },
            |seconds| {
                waited.set(waited.get() + seconds);
                async {}
            },
        )
        .await
        .unwrap();
        assert_eq!(walk.ended_in, "Succeed");
        assert_eq!(
            waited.get(),
            Duration::from_secs(if start_done { 0 } else { 7 })
        );
        walk.entered
    }

    #[tokio::test]
    async fn a_run_start_saw_complete_goes_straight_to_the_report() {
        let deployed = Deployed::load(&local_run::repo_root()).unwrap();
        assert_eq!(
            entered(&deployed.definition, true).await,
            [
                "StartInvalidation",
                "WhatNext",
                "ReportResult",
                "RunSucceeded",
                "Succeeded"
            ]
        );
        assert_eq!(
            entered(&deployed.definition, false).await,
            [
                "StartInvalidation",
                "WhatNext",
                "WaitBeforeCheck",
                "CheckStatus",
                "WhatNext",
                "ReportResult",
                "RunSucceeded",
                "Succeeded"
            ]
        );
        // Before in-function polling: start went to the Wait state, four states and three per check.
        let before = deployed.before_polling();
        assert_eq!(entered(&before.definition, false).await.len(), 4 + 3);
    }
}
