//! What a person sees during and after a local run.

use std::time::Duration;

use aws_emulator::Snapshot;
use invalidation::metrics::{
    check_emf_line, Declared, ERROR_NAME, ESTIMATED_COST, METRICS, NAMESPACE, OUTCOME, STACK,
};
use invalidation::planning::{is_tag, items_named};
use serde_json::Value;

/// A line for an interpreter event, or none for events not worth a line.
pub fn describe_event(event: &Value) -> Option<String> {
    let state = &event["state"];
    let name = state["name"].as_str().unwrap_or("?");
    match event["type"].as_str()? {
        "StateEntered" => Some(match state["type"].as_str() {
            Some("Wait") => format!(
                "{name}: waiting {} s before the next check",
                state["input"]["run"]["waitSeconds"]
            ),
            _ => name.to_owned(),
        }),
        "StateExited" if state["type"] == "Task" => describe_exit(name, &state["output"]),
        "StateRetried" => Some(format!(
            "  {name}: retrying (attempt {} of {}) after {}",
            event["retry"]["attempt"],
            event["retry"]["retrier"]["MaxAttempts"],
            event["retry"]["retrier"]["ErrorEquals"]
        )),
        "StateFailed" => Some(format!(
            "  {name} failed: {}: {}",
            event["Error"].as_str().unwrap_or("?"),
            cause_text(&event["Cause"])
        )),
        "StateCaught" => Some(format!(
            "  {name}: error caught, going to {}",
            event["catch"]["catcher"]["Next"].as_str().unwrap_or("?")
        )),
        "ExecutionSucceeded" => Some("execution SUCCEEDED".to_owned()),
        "ExecutionFailed" => Some(format!(
            "execution FAILED: {}: {}",
            event["Error"].as_str().unwrap_or("?"),
            cause_text(&event["Cause"])
        )),
        _ => None,
    }
}

/// The interpreter gives a Lambda error's cause as the function's error document, and other
/// causes as text.
fn cause_text(cause: &Value) -> String {
    match cause {
        Value::String(text) => text.clone(),
        Value::Object(document) => document
            .get("errorMessage")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

fn describe_exit(name: &str, output: &Value) -> Option<String> {
    if let Some(targets) = output["run"]["targets"].as_array() {
        let statuses: Vec<String> = targets
            .iter()
            .flat_map(|target| {
                let id = target["id"].as_str().unwrap_or("?");
                target["invalidations"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(move |i| {
                        format!(
                            "{} on {id}: {}",
                            i["id"].as_str().unwrap_or("?"),
                            i["status"].as_str().unwrap_or("?")
                        )
                    })
            })
            .collect();
        let phase = match &output["run"]["failure"] {
            Value::Object(failure) => format!(
                " (failed: {}: {})",
                failure.get("error").and_then(Value::as_str).unwrap_or("?"),
                failure.get("cause").and_then(Value::as_str).unwrap_or("")
            ),
            _ => String::new(),
        };
        let statuses = match statuses.is_empty() {
            true => "nothing created yet".to_owned(),
            false => statuses.join(", "),
        };
        return Some(format!("  {name}: {statuses}{phase}"));
    }
    let status = output["status"].as_str()?;
    let recorded = match output["codePipeline"]["result"].as_str() {
        Some(result) => format!(
            "{result} recorded for job {}",
            output["codePipeline"]["jobId"].as_str().unwrap_or("?")
        ),
        None => "no pipeline job to tell".to_owned(),
    };
    Some(format!("  {name}: run {status}; {recorded}"))
}

/// The closing account: how the execution ended, what CodePipeline received, what CloudFront
/// received.
pub fn final_account(
    status: &str,
    error: Option<&(String, String)>,
    output: Option<&Value>,
    snapshot: &Snapshot,
    elapsed: Duration,
) -> String {
    let mut lines = vec![format!(
        "\nExecution {status} after {:.1} s",
        elapsed.as_secs_f64()
    )];
    if let Some((error, cause)) = error {
        lines.push(format!("  Error: {error}\n  Cause: {cause}"));
    }
    if let Some(summary) = output.and_then(|o| o["summary"].as_str()) {
        lines.push(format!("  Output summary: {summary}"));
    }

    let seen = serde_json::to_value(snapshot).unwrap_or_default();
    let executions = seen["executions"].as_array().cloned().unwrap_or_default();
    if !executions.is_empty() {
        lines.push("\nStep Functions started:".to_owned());
        for execution in &executions {
            lines.push(format!(
                "  {} {} (StartExecution calls: {})",
                execution["name"].as_str().unwrap_or("?"),
                execution["status"].as_str().unwrap_or("?"),
                execution["startCalls"]
            ));
        }
    }

    lines.push("\nCodePipeline received:".to_owned());
    if snapshot.job_results.is_empty() {
        lines.push("  nothing (the run had no job)".to_owned());
    }
    for result in &snapshot.job_results {
        let result = serde_json::to_value(result).unwrap_or_default();
        let operation = result["operation"].as_str().unwrap_or("?");
        lines.push(format!(
            "  {operation} for job {}",
            result["jobId"].as_str().unwrap_or("?")
        ));
        if let Some(token) = result["continuationToken"].as_str() {
            lines.push(format!("    continuationToken: {token}"));
        }
        if let Some(summary) = result["executionDetails"]["summary"].as_str() {
            lines.push(format!("    summary: {summary}"));
        }
        if let Some(variables) = result["outputVariables"].as_object() {
            lines.push(format!(
                "    outputVariables: {}",
                Value::Object(variables.clone())
            ));
        }
        if let Some(details) = result["failureDetails"].as_object() {
            lines.push(format!(
                "    failure type: {}\n    message: {}",
                details["type"].as_str().unwrap_or("?"),
                details["message"].as_str().unwrap_or("")
            ));
        }
    }

    lines.push("\nCloudFront received:".to_owned());
    if snapshot.invalidations.is_empty() {
        lines.push("  no invalidation".to_owned());
    }
    for invalidation in &snapshot.invalidations {
        lines.push(format!(
            "  {} on {}: {} ({}: {}; caller reference {})",
            invalidation.id,
            invalidation.distribution_id,
            invalidation.status,
            {
                let tags = invalidation
                    .paths
                    .iter()
                    .filter(|item| is_tag(item))
                    .count();
                items_named(invalidation.paths.len() - tags, tags)
            },
            shorten_list(&invalidation.paths),
            invalidation.caller_reference
        ));
    }
    lines.push(format!("  calls: {}", counts(&snapshot.calls)));
    if !snapshot.injected_faults.is_empty() {
        lines.push(format!(
            "  injected faults: {}",
            counts(&snapshot.injected_faults)
        ));
    }
    lines.join("\n")
}

/// "CreateInvalidation 1, GetInvalidation 2", for a count per operation.
fn counts(per_operation: &std::collections::BTreeMap<String, u64>) -> String {
    let counts: Vec<String> = per_operation
        .iter()
        .map(|(operation, count)| format!("{operation} {count}"))
        .collect();
    counts.join(", ")
}

fn shorten_list(items: &[String]) -> String {
    // Enough for the changes of a small deploy (local-run --site) to show whole.
    const SHOWN: usize = 10;
    let mut text = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        text.push_str(&format!(", … {} more", items.len() - SHOWN));
    }
    text
}

/// The run's metric records, as report-result wrote them (CloudWatch embedded metric format),
/// each checked as CloudWatch would read it and summed up in a line; `None` when the functions
/// ran behind a Lambda endpoint of their own.
pub fn metric_account(records: Option<&[String]>) -> String {
    let Some(records) = records else {
        return "\nMetric record: in the logs of the functions behind the Lambda endpoint"
            .to_owned();
    };
    if records.is_empty() {
        return "\nMetric record: none (report-result wrote no record; its log says why)"
            .to_owned();
    }
    let mut lines = vec![format!(
        "\nMetric record{} (report-result's log line, CloudWatch embedded metric format):",
        if records.len() == 1 { "" } else { "s" }
    )];
    for record in records {
        lines.push(format!("  {record}"));
        lines.push(match check_emf_line(record) {
            Ok(declared) => format!("  checked: {}", digest(record, &declared)),
            Err(problem) => format!("  NOT A METRIC RECORD CloudWatch would read: {problem}"),
        });
    }
    lines.join("\n")
}

/// "Stack=local, Outcome=Succeeded: Runs 1, RunDuration 16.3 s, …".
fn digest(record: &str, declared: &[Declared]) -> String {
    let record: Value = serde_json::from_str(record).unwrap_or_default();
    let dimensions: Vec<String> = [STACK, OUTCOME, ERROR_NAME]
        .iter()
        .filter_map(|key| Some(format!("{key}={}", record[*key].as_str()?)))
        .collect();
    let mut named: Vec<&str> = declared.iter().map(|d| d.name.as_str()).collect();
    named.dedup();
    let values: Vec<String> = METRICS
        .iter()
        .filter(|metric| named.contains(&metric.name))
        .map(|metric| {
            let value = &record[metric.name];
            let shown = match value {
                Value::Array(values) => values
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            match metric.unit {
                "Seconds" => format!("{} {shown} s", metric.name),
                _ if metric.name == ESTIMATED_COST.name => {
                    format!("{} ${:.3}", metric.name, value.as_f64().unwrap_or_default())
                }
                _ => format!("{} {shown}", metric.name),
            }
        })
        .collect();
    format!(
        "{} metrics in {NAMESPACE}; {}: {}",
        named.len(),
        dimensions.join(", "),
        values.join(", ")
    )
}
