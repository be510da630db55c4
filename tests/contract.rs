//! The state machine, template.yaml, the function crates and the documentation agree with the
//! library's contract: placeholders, binary names, error names, retries and timeouts. The
//! documentation's tables are read cell by cell: the README's Error names and
//! docs/reliability.md's Retries.

use std::collections::BTreeSet;

use invalidation::error::{retried_error_names, LOST_ANSWER_ERRORS};
use invalidation::ErrorKind;
use serde_json::Value;
use workflow_tests::{read_repo_file, read_repo_json, repo_root};
use yaml_rust2::{Yaml, YamlLoader};

const STATE_MACHINE: &str = "statemachine/invalidation.asl.json";

fn template() -> Yaml {
    YamlLoader::load_from_str(&read_repo_file("template.yaml"))
        .expect("template.yaml is YAML")
        .remove(0)
}

/// The resource of the state machine's AWS SDK integration: recording a failure on the job
/// when report-result cannot run.
const RECORD_FAILURE: &str = "arn:aws:states:::aws-sdk:codepipeline:putJobFailureResult";

/// The Task states that invoke one of our functions (a `${…}` placeholder resource).
fn tasks(definition: &Value) -> Vec<(&String, &Value)> {
    all_tasks(definition)
        .into_iter()
        .filter(|(_, state)| state["Resource"].as_str().unwrap().starts_with("${"))
        .collect()
}

fn all_tasks(definition: &Value) -> Vec<(&String, &Value)> {
    definition["States"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, state)| state["Type"] == "Task")
        .collect()
}

fn error_names(retriers_or_catchers: &Value) -> Vec<String> {
    retriers_or_catchers
        .as_array()
        .map(|list| {
            list.iter()
                .flat_map(|entry| entry["ErrorEquals"].as_array().unwrap())
                .map(|name| name.as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `"${Name}"` → `Name`, for a Task's Resource.
fn placeholder(resource: &str) -> &str {
    resource
        .strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
        .unwrap_or_else(|| panic!("Resource {resource} is not a ${{placeholder}}"))
}

#[test]
fn every_task_resource_is_substituted_by_the_template_with_a_function_arn() {
    let definition = read_repo_json(STATE_MACHINE);
    let template = template();
    let machine = &template["Resources"]["InvalidationStateMachine"]["Properties"];
    assert_eq!(machine["DefinitionUri"].as_str(), Some(STATE_MACHINE));
    let substitutions = machine["DefinitionSubstitutions"].as_hash().unwrap();
    let substituted: BTreeSet<&str> = substitutions.keys().map(|k| k.as_str().unwrap()).collect();
    let used: BTreeSet<&str> = tasks(&definition)
        .iter()
        .map(|(_, task)| placeholder(task["Resource"].as_str().unwrap()))
        .collect();
    assert_eq!(used, substituted);
    for (key, value) in substitutions {
        // `!GetAtt XFunction.Arn` loads as the scalar `XFunction.Arn`.
        let target = value.as_str().unwrap();
        let function = target
            .strip_suffix(".Arn")
            .unwrap_or_else(|| panic!("{target}"));
        assert_eq!(
            template["Resources"][function]["Type"].as_str(),
            Some("AWS::Serverless::Function"),
            "{key:?} → {target}"
        );
    }
}

#[test]
fn each_function_resource_builds_a_workspace_binary_of_the_same_name() {
    let template = template();
    let functions: Vec<(&str, &str)> = template["Resources"]
        .as_hash()
        .unwrap()
        .iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(id, resource)| {
            let binary = resource["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap();
            assert_eq!(
                resource["Metadata"]["BuildMethod"].as_str(),
                Some("rust-cargolambda")
            );
            (id.as_str().unwrap(), binary)
        })
        .collect();
    assert!(functions.len() >= 3);
    for (logical_id, binary) in functions {
        let camel: String = binary
            .split('-')
            .map(|word| word[..1].to_uppercase() + &word[1..])
            .collect();
        assert_eq!(logical_id, format!("{camel}Function"));
        let manifest = repo_root()
            .join("functions")
            .join(binary)
            .join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        assert!(
            text.contains(&format!("name = \"{binary}\"")),
            "{}",
            manifest.display()
        );
    }
}

#[test]
fn every_error_name_the_state_machine_matches_is_a_stable_name() {
    let definition = read_repo_json(STATE_MACHINE);
    let ours: BTreeSet<&str> = ErrorKind::ALL.iter().map(|kind| kind.name()).collect();
    // Lambda's own names for a function that crashed or timed out.
    let lambda_runtime = LOST_ANSWER_ERRORS;
    for (name, task) in tasks(&definition) {
        for error in error_names(&task["Retry"])
            .iter()
            .chain(&error_names(&task["Catch"]))
        {
            assert!(
                error.starts_with("States.")
                    || error.starts_with("Lambda.")
                    || lambda_runtime.contains(&error.as_str())
                    || ours.contains(error.as_str()),
                "{name} matches unknown error {error}"
            );
        }
    }
    // The SDK integration's errors are CodePipeline's, named as Step Functions names them.
    for (name, task) in all_tasks(&definition) {
        if task["Resource"] == RECORD_FAILURE {
            for error in error_names(&task["Retry"]) {
                assert!(
                    error == "States.ALL"
                        || [
                            "CodePipeline.InvalidJobStateException",
                            "CodePipeline.JobNotFoundException",
                            "CodePipeline.ValidationException"
                        ]
                        .contains(&error.as_str()),
                    "{name} matches unknown error {error}"
                );
            }
        }
    }
}

#[test]
fn every_task_has_a_timeout_retries_and_a_catch_that_reports() {
    let definition = read_repo_json(STATE_MACHINE);
    for (name, task) in tasks(&definition) {
        assert!(
            task["TimeoutSeconds"].as_u64().is_some_and(|t| t > 0),
            "{name}"
        );
        // Every step is safe to retry, so crashes and timeouts are retried too: exactly the
        // names the library says, no fewer and no more.
        let retried: BTreeSet<String> = error_names(&task["Retry"]).into_iter().collect();
        let expected: BTreeSet<String> = retried_error_names()
            .into_iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(retried, expected, "{name}");
        for retrier in task["Retry"].as_array().unwrap() {
            assert!(retrier["BackoffRate"].as_f64().unwrap() > 1.0, "{name}");
            assert_eq!(retrier["JitterStrategy"], "FULL", "{name}");
        }
        let catch = &task["Catch"][0];
        assert_eq!(
            catch["ErrorEquals"],
            serde_json::json!(["States.ALL"]),
            "{name}"
        );
        let next = catch["Next"].as_str().unwrap();
        assert!(
            next == "ReportResult" || reports_without_our_code(&definition, next),
            "{name} catches into {next}"
        );
    }
}

/// Whether every path from `state` ends in a Fail state, passing through the SDK integration
/// that records the job's failure wherever a job id was found.
fn reports_without_our_code(definition: &Value, state: &str) -> bool {
    let states = &definition["States"];
    let node = &states[state];
    match node["Type"].as_str() {
        Some("Fail") => true,
        Some("Choice") => {
            let mut next: Vec<&str> = node["Choices"]
                .as_array()
                .unwrap()
                .iter()
                .map(|choice| choice["Next"].as_str().unwrap())
                .collect();
            next.push(node["Default"].as_str().expect("a Default"));
            next.into_iter()
                .all(|next| reports_without_our_code(definition, next))
        }
        Some("Task") if node["Resource"] == RECORD_FAILURE => {
            let after = node["Next"].as_str().unwrap();
            let caught = node["Catch"][0]["Next"].as_str().unwrap();
            states[after]["Type"] == "Fail" && states[caught]["Type"] == "Fail"
        }
        _ => false,
    }
}

#[test]
fn when_report_result_cannot_run_the_job_still_gets_a_failure_through_the_sdk_integration() {
    let definition = read_repo_json(STATE_MACHINE);
    let report = &definition["States"]["ReportResult"];
    let catch = report["Catch"].as_array().unwrap();
    assert_eq!(catch.len(), 1);
    assert_eq!(catch[0]["ErrorEquals"], serde_json::json!(["States.ALL"]));
    let fallback = catch[0]["Next"].as_str().unwrap();
    assert!(reports_without_our_code(&definition, fallback));
    // Both places a job id can be (the run's, or the execution input's) have a recorder.
    let recorders: BTreeSet<&str> = all_tasks(&definition)
        .into_iter()
        .filter(|(_, task)| task["Resource"] == RECORD_FAILURE)
        .map(|(_, task)| task["Parameters"]["JobId.$"].as_str().unwrap())
        .collect();
    assert_eq!(
        recorders,
        ["$['CodePipeline.job'].id", "$.run.jobId"]
            .into_iter()
            .collect()
    );
    // report-result learns how often it was retried: after a retry, InvalidJobStateException
    // is its own earlier attempt's result.
    assert_eq!(report["Parameters"]["retryCount.$"], "$$.State.RetryCount");
    // The state machine's role may record the failure.
    let template = read_repo_file("template.yaml");
    let machine = template
        .split("\n  InvalidationStateMachine:\n")
        .nth(1)
        .unwrap();
    assert!(
        machine.contains("- codepipeline:PutJobFailureResult"),
        "the state machine's policies"
    );
}

#[test]
fn task_timeouts_exceed_the_function_timeouts() {
    let definition = read_repo_json(STATE_MACHINE);
    let template = template();
    for (name, task) in tasks(&definition) {
        let function = placeholder(task["Resource"].as_str().unwrap()).trim_end_matches("Arn");
        let lambda_timeout = template["Resources"][function]["Properties"]["Timeout"]
            .as_i64()
            .unwrap_or_else(|| panic!("{function} has no Timeout"));
        let task_timeout = task["TimeoutSeconds"].as_i64().unwrap();
        // Lambda's own timeout should fire first, so the log says which function ran long.
        assert!(
            task_timeout > lambda_timeout,
            "{name}: {task_timeout} <= {lambda_timeout}"
        );
    }
}

/// The rows of the first Markdown table after the line `heading` in `text`, each as its trimmed
/// cells, without the header and separator rows.
fn table_under(text: &str, heading: &str) -> Vec<Vec<String>> {
    let after = text
        .split_once(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("no heading `{heading}`"))
        .1;
    let rows: Vec<Vec<String>> = after
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            line.trim()
                .trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().to_owned())
                .collect()
        })
        .collect();
    assert!(rows.len() > 2, "no table under `{heading}`");
    rows.into_iter().skip(2).collect()
}

/// The `code` spans of a table cell: `` `A`, `B` `` → A, B.
fn code_spans(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

#[test]
fn the_readme_error_table_gives_each_name_with_its_retry_and_failure_type() {
    let rows = table_under(&read_repo_file("README.md"), "## Error names");
    let mut documented: Vec<&str> = rows.iter().map(|row| code_spans(&row[0])[0]).collect();
    let mut ours: Vec<&str> = ErrorKind::ALL.iter().map(|kind| kind.name()).collect();
    documented.sort_unstable();
    ours.sort_unstable();
    assert_eq!(documented, ours, "the README's Error names table");

    let definition = read_repo_json(STATE_MACHINE);
    for row in &rows {
        let name = code_spans(&row[0])[0];
        let kind = ErrorKind::from_name(name).unwrap();
        let (retried, failure_type) = (row[2].as_str(), row[3].as_str());
        // Retried means every function Task of the definition retries it.
        let retried_by_every_task = tasks(&definition)
            .iter()
            .all(|(_, task)| error_names(&task["Retry"]).iter().any(|e| e == name));
        match kind {
            // Never returned by a function: nothing to retry or report.
            ErrorKind::TooManyInvalidationsInProgress => {
                assert_eq!((retried, failure_type), ("—", "—"), "{name}")
            }
            _ if retried_by_every_task => assert_eq!(retried, "yes", "{name}"),
            _ => assert_eq!(retried, "no", "{name}"),
        }
        match kind {
            ErrorKind::TooManyInvalidationsInProgress => {}
            // report-result's own errors about the job: its Task fails, so the run ends in
            // ReportFailed, having recorded no failure type of its own (the state machine's
            // fallback records SystemUnavailable where CodePipeline still takes a result).
            ErrorKind::JobAlreadyClosed | ErrorKind::JobReportRejected => assert!(
                failure_type.starts_with("—") && failure_type.contains("`ReportFailed`"),
                "{name}: {failure_type}"
            ),
            _ => assert!(
                failure_type.starts_with(kind.failure_type().as_str()),
                "{name}: {failure_type} is not {}",
                kind.failure_type().as_str()
            ),
        }
    }
}

/// One retrier of one state: the state, its sorted error names, and the interval, backoff
/// rate, attempts, longest wait and jitter as the docs write them ("—" where a retrier that
/// makes no attempt has nothing to say).
type Retrier = (String, Vec<String>, String, String, String, String, String);

/// A retrier as it stands in the definition, with the Amazon States Language's defaults
/// (IntervalSeconds 1, BackoffRate 2.0, MaxAttempts 3, JitterStrategy NONE) filled in.
fn retrier_in_definition(state: &str, retrier: &Value) -> Retrier {
    let mut errors = error_names(&serde_json::json!([retrier]));
    errors.sort();
    let attempts = retrier["MaxAttempts"].as_u64().unwrap_or(3);
    let unless_no_attempt = |text: String| if attempts == 0 { "—".into() } else { text };
    (
        state.to_owned(),
        errors,
        unless_no_attempt(format!(
            "{} s",
            retrier["IntervalSeconds"].as_u64().unwrap_or(1)
        )),
        unless_no_attempt(retrier["BackoffRate"].as_f64().unwrap_or(2.0).to_string()),
        attempts.to_string(),
        retrier["MaxDelaySeconds"]
            .as_u64()
            .map_or("—".into(), |seconds| format!("{seconds} s")),
        unless_no_attempt(
            retrier["JitterStrategy"]
                .as_str()
                .unwrap_or("NONE")
                .to_lowercase(),
        ),
    )
}

#[test]
fn the_documented_retries_are_the_state_machines() {
    let definition = read_repo_json(STATE_MACHINE);
    let in_definition: BTreeSet<Retrier> = all_tasks(&definition)
        .into_iter()
        .flat_map(|(state, task)| {
            task["Retry"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|retrier| retrier_in_definition(state, retrier))
        })
        .collect();
    let documented: BTreeSet<Retrier> =
        table_under(&read_repo_file("docs/reliability.md"), "## Retries")
            .iter()
            .flat_map(|row| {
                let mut errors: Vec<String> =
                    code_spans(&row[1]).into_iter().map(str::to_owned).collect();
                errors.sort();
                row[0]
                    .split(',')
                    .map(|state| {
                        (
                            state.trim().to_owned(),
                            errors.clone(),
                            row[2].clone(),
                            row[3].clone(),
                            row[4].clone(),
                            row[5].clone(),
                            row[6].clone(),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
    assert!(
        documented == in_definition,
        "docs/reliability.md's Retries table and {STATE_MACHINE} differ:\n only in the docs: \
         {:#?}\n only in the definition: {:#?}",
        documented.difference(&in_definition).collect::<Vec<_>>(),
        in_definition.difference(&documented).collect::<Vec<_>>()
    );
}

/// Each action of every statement of a policy document, whatever `!If` wraps them, with the
/// statement's Resource as text.
fn actions_in(statements: &Yaml) -> Vec<(String, String)> {
    match statements {
        Yaml::Array(items) => items.iter().flat_map(actions_in).collect(),
        Yaml::Hash(_) if !statements["Action"].is_badvalue() => {
            let resource = format!("{:?}", statements["Resource"]);
            let action = &statements["Action"];
            // One action or a list of them.
            let actions = action
                .as_vec()
                .cloned()
                .unwrap_or_else(|| vec![action.clone()]);
            actions
                .iter()
                .map(|action| (action.as_str().unwrap().to_owned(), resource.clone()))
                .collect()
        }
        Yaml::Hash(hash) => hash.values().flat_map(actions_in).collect(),
        _ => Vec::new(),
    }
}

/// Every action a function's `Policies` grant: inline statements, and the statements of the
/// template's managed policies it names (`!Ref` loads as the policy's logical id).
fn granted_actions(template: &Yaml, function: &str) -> Vec<(String, String)> {
    let resources = &template["Resources"];
    let policies = resources[function]["Properties"]["Policies"]
        .as_vec()
        .unwrap_or_else(|| panic!("{function} has no Policies"));
    policies
        .iter()
        .flat_map(|policy| match policy.as_str() {
            Some(name) => {
                let managed = &resources[name];
                assert_eq!(
                    managed["Type"].as_str(),
                    Some("AWS::IAM::ManagedPolicy"),
                    "{function} names policy {name}"
                );
                actions_in(&managed["Properties"]["PolicyDocument"])
            }
            None => actions_in(policy),
        })
        .collect()
}

#[test]
fn both_functions_that_create_invalidations_may_create_and_read_them_and_no_more() {
    let template = template();
    // check-status submits later batches, so it needs CreateInvalidation as much as start does.
    for function in ["StartInvalidationFunction", "CheckStatusFunction"] {
        let granted: Vec<(String, String)> = granted_actions(&template, function)
            .into_iter()
            .filter(|(action, _)| !action.starts_with("s3:"))
            .collect();
        for (action, resource) in &granted {
            let on = if action.ends_with("ForDistributionTenant") {
                ":distribution-tenant/"
            } else {
                ":distribution/"
            };
            assert!(resource.contains(on), "{function}: {action} on {resource}");
        }
        let mut actions: Vec<&str> = granted.iter().map(|(action, _)| action.as_str()).collect();
        actions.sort();
        assert_eq!(
            actions,
            [
                "cloudfront:CreateInvalidation",
                "cloudfront:CreateInvalidationForDistributionTenant",
                "cloudfront:GetInvalidation",
                "cloudfront:GetInvalidationForDistributionTenant",
            ],
            "{function}"
        );
    }
}

/// Every `$`-path a state's Parameters read, as text.
fn parameter_paths(state: &Value) -> Vec<String> {
    fn collect(value: &Value, into: &mut Vec<String>) {
        match value {
            Value::Object(fields) => {
                for (key, value) in fields {
                    match (key.ends_with(".$"), value.as_str()) {
                        (true, Some(path)) => into.push(path.to_owned()),
                        _ => collect(value, into),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| collect(item, into)),
            _ => {}
        }
    }
    let mut paths = Vec::new();
    collect(&state["Parameters"], &mut paths);
    paths
}

#[test]
fn no_task_receives_the_execution_input_again() {
    // The run keeps its plan in the state bucket: after StartInvalidation, which is given the
    // execution input once, no Task reads it again, so no check sees a job's credentials or
    // plans the request again.
    let definition = read_repo_json(STATE_MACHINE);
    for (name, task) in all_tasks(&definition) {
        for path in parameter_paths(task) {
            assert!(
                !path.contains("$$.Execution.Input"),
                "{name} reads the execution input: {path}"
            );
        }
    }
    assert_eq!(definition["StartAt"], "StartInvalidation");
    assert_eq!(
        definition["States"]["StartInvalidation"]["Parameters"]["request.$"],
        "$"
    );
}

#[test]
fn the_fallback_failure_message_stays_within_what_codepipeline_accepts() {
    // PutJobFailureResult takes a message of at most 5,000 characters, and a Catch's Cause may
    // be 32,768: the fallback names the error and the execution (whose history keeps the
    // cause), never the cause itself.
    let definition = read_repo_json(STATE_MACHINE);
    for (name, task) in all_tasks(&definition) {
        if task["Resource"] != RECORD_FAILURE {
            continue;
        }
        let message = task["Parameters"]["FailureDetails"]["Message.$"]
            .as_str()
            .unwrap();
        assert!(!message.contains("Cause"), "{name}: {message}");
        let literal = message.split('\'').nth(1).unwrap();
        // Step Functions' error names and execution ARNs are each far below 1,000 characters.
        assert!(
            literal.chars().count() + 2 * 1000 <= 5000,
            "{name}: {message}"
        );
        assert!(
            message.ends_with("$.reportError.Error, $$.Execution.Id)"),
            "{name}: {message}"
        );
    }
}

#[test]
fn every_function_reaches_only_its_part_of_the_state_bucket_and_the_listed_site_buckets() {
    let template = template();
    let runs = [
        ("s3:GetObject", "runs/*"),
        ("s3:PutObject", "runs/*"),
        // So that a missing object is 404 NoSuchKey, not 403 AccessDenied.
        ("s3:ListBucket", "StateBucket"),
    ];
    let planner = [
        ("s3:GetObject", "manifests/*"),
        ("s3:ListBucket", "SiteBuckets"),
    ];
    let reporter = [
        ("s3:GetObject", "manifests/*"),
        ("s3:PutObject", "manifests/*"),
    ];
    let expected: [(&str, Vec<(&str, &str)>); 4] = [
        ("StartInvalidationFunction", [&runs[..], &planner].concat()),
        ("CheckStatusFunction", runs.to_vec()),
        ("ReportResultFunction", [&runs[..], &reporter].concat()),
        ("PipelineEntryFunction", [&runs[..], &planner].concat()),
    ];
    for (function, grants) in expected {
        let granted: Vec<(String, String)> = granted_actions(&template, function)
            .into_iter()
            .filter(|(action, _)| action.starts_with("s3:"))
            .collect();
        assert_eq!(granted.len(), grants.len(), "{function}: {granted:?}");
        // Each grant expected is there exactly once, on its resource and nothing wider.
        for (wanted, on) in grants {
            let matching: Vec<&(String, String)> = granted
                .iter()
                .filter(|(action, resource)| action == wanted && resource.contains(on))
                .collect();
            assert_eq!(
                matching.len(),
                1,
                "{function}: {wanted} on {on}: {granted:?}"
            );
            assert!(
                !matching[0].1.contains("String(\"*\")"),
                "{function}: {wanted} on {}",
                matching[0].1
            );
        }
    }
}

#[test]
fn the_state_bucket_is_private_encrypted_tls_only_and_expires_runs() {
    let template = template();
    let resources = &template["Resources"];
    let bucket = &resources["StateBucket"]["Properties"];
    let block = &bucket["PublicAccessBlockConfiguration"];
    for setting in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block[setting].as_bool(), Some(true), "{setting}");
    }
    assert!(!bucket["BucketEncryption"].is_badvalue());
    let rule = &bucket["LifecycleConfiguration"]["Rules"][0];
    assert_eq!(rule["Prefix"].as_str(), Some("runs/"));
    assert_eq!(
        rule["ExpirationInDays"].as_str(),
        Some("RunStateRetentionDays")
    );
    let default = template["Parameters"]["RunStateRetentionDays"]["Default"]
        .as_i64()
        .unwrap();
    // A run lasts at most a day (timeoutSeconds ≤ 86400): its plan must outlive it.
    assert!(default >= 2, "{default}");
    let policy = &resources["StateBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(policy["Effect"].as_str(), Some("Deny"));
    assert_eq!(
        policy["Condition"]["Bool"]["aws:SecureTransport"].as_str(),
        Some("false")
    );
}
