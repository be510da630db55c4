//! One metric record per run, in CloudWatch's embedded metric format (EMF).
//!
//! report-result, which sees the whole run, writes the record as one JSON line on its standard
//! output when it has decided the outcome; CloudWatch Logs turns it into the metrics of
//! [`METRICS`] with no API call and no permission beyond the function's logging (CloudWatch
//! user guide, "Specification: Embedded metric format" and "Using the embedded metric format
//! with Lambda"). The dashboard and alarms in `template.yaml` read these metrics; a test there
//! checks every metric the dashboard shows against what [`RunRecord::lines`] writes.
//!
//! The record is a line of its own, not a field of a log event: the specification wants the
//! log event to *be* the EMF object ("The LogEvent message MUST be a valid JSON object with no
//! additional data at the beginning or end"), so a record nested in a `tracing` event's JSON
//! would stay a log line. Lambda's JSON log format leaves a custom runtime's JSON lines as they
//! are (it "doesn't double-encode" logs already in JSON, Lambda developer guide, "Configuring
//! JSON and plain text log formats"); runtimes that wrap each line in their own JSON object
//! lose EMF records, which is why aws-embedded-metrics-node writes past `console.log` under that
//! format (awslabs/aws-embedded-metrics-node PR #158).
//!
//! Written with serde_json, which the functions already use, rather than a crate
//! (`metrics_cloudwatch_embedded`, awslabs' `metrique`): one record per run needs no metric
//! registry, aggregation or flushing, and the format is a handful of keys.
//!
//! Dimensions are of low cardinality only: the stack, the outcome and, for a failure, the
//! error name. The execution ARN, the job id and the distribution ids are properties of the
//! record (searchable in CloudWatch Logs Insights), never dimensions: each distinct set of
//! dimension values is a metric of its own, billed as such.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::error::truncate_chars;
use crate::payload::{Outcome, RunStatus};
use crate::planning::estimated_cost_usd;
use crate::run::RunState;
use crate::timestamps::Timestamp;

/// The CloudWatch namespace of every metric the workflow writes.
pub const NAMESPACE: &str = "CloudFrontInvalidation";
/// The environment variable of report-result naming the stack, the value of the [`STACK`]
/// dimension (template.yaml sets it to `AWS::StackName`).
pub const STACK_VARIABLE: &str = "STACK_NAME";

/// Dimension: the CloudFormation stack the run belongs to.
pub const STACK: &str = "Stack";
/// Dimension: how the run ended, `Succeeded`, `Failed` or `Continued` (a CodePipeline job was
/// told "in progress" and the next job carries on).
pub const OUTCOME: &str = "Outcome";
/// Dimension, of a failed run's `Runs` only: the error name (see [`crate::error`]), or Step
/// Functions' or Lambda's own (`States.Timeout`, `Lambda.Unknown`).
pub const ERROR_NAME: &str = "ErrorName";

/// One metric the record may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// Its name in CloudWatch.
    pub name: &'static str,
    /// Its CloudWatch unit.
    pub unit: &'static str,
    /// The dimension sets it is written with.
    pub dimensions: &'static [&'static [&'static str]],
    /// What it measures, for a person.
    pub meaning: &'static str,
}

/// Dimensions of the metrics that describe a run, whatever its outcome.
const BY_STACK: &[&[&str]] = &[&[STACK]];

/// One per run, by outcome; a failure's also by error name.
pub const RUNS: Metric = Metric {
    name: "Runs",
    unit: "Count",
    dimensions: &[&[STACK, OUTCOME], &[STACK, OUTCOME, ERROR_NAME]],
    meaning: "1 for each run (execution) that reached report-result, by outcome; a failed \
              run's also by error name",
};
/// From the execution's start to its record.
pub const RUN_DURATION: Metric = Metric {
    name: "RunDuration",
    unit: "Seconds",
    dimensions: BY_STACK,
    meaning: "from the execution's start to report-result's record, the job's result recorded",
};
/// CloudFront's time for each invalidation, as the run saw it.
pub const INVALIDATION_DURATION: Metric = Metric {
    name: "InvalidationDuration",
    unit: "Seconds",
    dimensions: BY_STACK,
    meaning: "for each invalidation this execution saw complete: from CloudFront's answer to \
              CreateInvalidation to the first answer that said Completed",
};
/// How late each completion may have been seen.
pub const DETECTION_LAG: Metric = Metric {
    name: "DetectionLag",
    unit: "Seconds",
    dimensions: BY_STACK,
    meaning: "for each invalidation this execution saw complete: from the last answer that said \
              InProgress to the first that said Completed, the longest its completion can have \
              gone unseen",
};
/// Invalidations created.
pub const INVALIDATIONS: Metric = Metric {
    name: "Invalidations",
    unit: "Count",
    dimensions: BY_STACK,
    meaning: "invalidations (batches) this execution created, over all distributions",
};
/// File paths sent.
pub const PATHS_SENT: Metric = Metric {
    name: "PathsSent",
    unit: "Count",
    dimensions: BY_STACK,
    meaning: "file paths (not wildcards, not cache tags) in the invalidations this execution \
              created, over all distributions",
};
/// Wildcard paths sent.
pub const WILDCARDS_SENT: Metric = Metric {
    name: "WildcardsSent",
    unit: "Count",
    dimensions: BY_STACK,
    meaning: "wildcard paths (`/img/*`) in the invalidations this execution created",
};
/// Cache tags sent.
pub const CACHE_TAGS_SENT: Metric = Metric {
    name: "CacheTagsSent",
    unit: "Count",
    dimensions: BY_STACK,
    meaning: "cache tags (`#product-123`) in the invalidations this execution created",
};
/// What those cost, at most.
pub const ESTIMATED_COST: Metric = Metric {
    name: "EstimatedCost",
    unit: "None",
    dimensions: BY_STACK,
    meaning: "US dollars the paths, wildcards and cache tags sent cost if the month's 1,000 \
              free paths are used up ($0.005 each; a wildcard or a tag is billed as one path)",
};

/// Every metric the record may carry, in the order it writes them: the one list the dashboard
/// test and the docs read.
pub const METRICS: [Metric; 9] = [
    RUNS,
    RUN_DURATION,
    INVALIDATION_DURATION,
    DETECTION_LAG,
    INVALIDATIONS,
    PATHS_SENT,
    WILDCARDS_SENT,
    CACHE_TAGS_SENT,
    ESTIMATED_COST,
];

/// The most values EMF takes for one metric in one record; a run with more invalidations
/// writes the rest in further records that carry only the per-invalidation metrics.
pub const MAX_VALUES_PER_RECORD: usize = 100;
/// The longest cause a record keeps (the job's failure message holds the whole of it).
pub const MAX_CAUSE_CHARS: usize = 1000;
/// The longest error name kept as a dimension value.
const MAX_ERROR_NAME_CHARS: usize = 128;

/// What the record says of one run (one execution).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunRecord {
    /// `Succeeded`, `Failed` or `Continued`.
    pub outcome: String,
    /// The error name of a failed run.
    pub error_name: Option<String>,
    /// What failed, shortened.
    pub cause: Option<String>,
    /// The execution, when the run has one.
    pub execution_arn: Option<String>,
    /// The CodePipeline job, when the run has one.
    pub job_id: Option<String>,
    /// The distributions and tenants of the run.
    pub targets: Vec<String>,
    /// When the execution started, if known.
    pub started: Option<Timestamp>,
    /// CloudFront's time for each invalidation this execution saw complete, in seconds.
    pub invalidation_seconds: Vec<f64>,
    /// The detection lag of each of those, in seconds.
    pub detection_lag_seconds: Vec<f64>,
    /// Invalidations this execution created.
    pub invalidations: usize,
    /// File paths sent.
    pub paths_sent: usize,
    /// Wildcards sent.
    pub wildcards_sent: usize,
    /// Cache tags sent.
    pub cache_tags_sent: usize,
}

fn seconds(duration: Duration) -> f64 {
    duration.as_millis() as f64 / 1000.0
}

impl RunRecord {
    /// The record of a run whose outcome is decided: its state, if it has one, and the
    /// execution and job it names.
    pub fn of(
        run: Option<&RunState>,
        outcome: &Outcome,
        execution_arn: Option<&str>,
        job_id: Option<&str>,
    ) -> Self {
        let mut record = Self {
            outcome: status_name(outcome.status).to_owned(),
            execution_arn: execution_arn.map(str::to_owned),
            job_id: job_id.map(str::to_owned),
            ..Self::default()
        };
        if outcome.status == RunStatus::Failed {
            record.fail(
                outcome.error.as_deref().unwrap_or("unknown"),
                outcome.cause.as_deref().unwrap_or(""),
            );
        }
        let Some(run) = run else {
            return record;
        };
        record.targets = run.targets.iter().map(|t| t.id.clone()).collect();
        record.started = run.started_at;
        // An invalidation counts in the record of the execution that saw it complete: a
        // continued job's execution carries the earlier ones in its state.
        let seen_here = |at: Timestamp| run.started_at.is_none_or(|started| at >= started);
        for (_, invalidation) in run.created() {
            if !invalidation.completed_at.is_some_and(seen_here) {
                continue;
            }
            if let (Some(took), Some(lag)) = (invalidation.took(), invalidation.detection_lag()) {
                record.invalidation_seconds.push(seconds(took));
                record.detection_lag_seconds.push(seconds(lag));
            }
        }
        record.invalidations = run.sent.invalidations;
        record.paths_sent = run.sent.paths;
        record.wildcards_sent = run.sent.wildcards;
        record.cache_tags_sent = run.sent.tags;
        record
    }

    /// Marks the run failed with this error and cause.
    pub fn fail(&mut self, error_name: &str, cause: &str) {
        self.outcome = status_name(RunStatus::Failed).to_owned();
        self.error_name = Some(truncate_chars(error_name, MAX_ERROR_NAME_CHARS));
        self.cause = Some(truncate_chars(cause, MAX_CAUSE_CHARS));
    }

    /// What the paths, wildcards and cache tags sent cost if the month's free paths are used
    /// up: CloudFront bills a wildcard and a cache tag as one path each.
    pub fn estimated_cost_usd(&self) -> f64 {
        estimated_cost_usd(self.paths_sent + self.wildcards_sent + self.cache_tags_sent)
    }

    /// The record as EMF lines, written at `now` for `stack`: the first holds every metric;
    /// further lines, only for a run of more than [`MAX_VALUES_PER_RECORD`] invalidations seen
    /// completing, hold the rest of their values.
    pub fn lines(&self, stack: &str, now: SystemTime) -> Vec<String> {
        let timestamp = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let mut lines = vec![self.first_line(stack, now, timestamp)];
        let mut rest = self
            .invalidation_seconds
            .chunks(MAX_VALUES_PER_RECORD)
            .zip(self.detection_lag_seconds.chunks(MAX_VALUES_PER_RECORD))
            .skip(1);
        for (took, lag) in &mut rest {
            let mut root = self.properties(stack);
            root.insert(INVALIDATION_DURATION.name.into(), json!(took));
            root.insert(DETECTION_LAG.name.into(), json!(lag));
            root.insert(
                "_aws".into(),
                json!({
                    "Timestamp": timestamp,
                    "CloudWatchMetrics": [directive(&[STACK], &[INVALIDATION_DURATION, DETECTION_LAG])],
                }),
            );
            lines.push(Value::Object(root).to_string());
        }
        lines
    }

    fn first_line(&self, stack: &str, now: SystemTime, timestamp: u64) -> String {
        let mut root = self.properties(stack);
        root.insert(OUTCOME.into(), json!(self.outcome));
        let mut runs_by = vec![&[STACK, OUTCOME][..]];
        if let Some(error_name) = &self.error_name {
            root.insert(ERROR_NAME.into(), json!(error_name));
            runs_by.push(&[STACK, OUTCOME, ERROR_NAME]);
        }
        let mut by_stack = Vec::new();
        let mut put = |metric: Metric, value: Value| {
            root.insert(metric.name.into(), value);
            by_stack.push(metric);
        };
        if let Some(started) = self.started {
            put(RUN_DURATION, json!(seconds(started.until(now))));
        }
        if !self.invalidation_seconds.is_empty() {
            let first = |values: &[f64]| json!(values[..values.len().min(MAX_VALUES_PER_RECORD)]);
            put(INVALIDATION_DURATION, first(&self.invalidation_seconds));
            put(DETECTION_LAG, first(&self.detection_lag_seconds));
        }
        put(INVALIDATIONS, json!(self.invalidations));
        put(PATHS_SENT, json!(self.paths_sent));
        put(WILDCARDS_SENT, json!(self.wildcards_sent));
        put(CACHE_TAGS_SENT, json!(self.cache_tags_sent));
        put(ESTIMATED_COST, json!(self.estimated_cost_usd()));
        root.insert(RUNS.name.into(), json!(1));
        let mut directives = vec![directive(&[STACK], &by_stack)];
        directives.extend(
            runs_by
                .iter()
                .map(|dimensions| directive(dimensions, &[RUNS])),
        );
        // One directive per dimension set of `Runs`, rather than one with both sets, keeps
        // every directive's dimension sets apart: a reader sees which set each metric has.
        root.insert(
            "_aws".into(),
            json!({"Timestamp": timestamp, "CloudWatchMetrics": directives}),
        );
        Value::Object(root).to_string()
    }

    /// The members every line carries: the stack, and the run's identifiers as properties.
    fn properties(&self, stack: &str) -> Map<String, Value> {
        let mut root = Map::new();
        root.insert(STACK.into(), json!(stack));
        if let Some(arn) = &self.execution_arn {
            root.insert("executionArn".into(), json!(arn));
        }
        if let Some(job_id) = &self.job_id {
            root.insert("jobId".into(), json!(job_id));
        }
        if !self.targets.is_empty() {
            root.insert("distributionIds".into(), json!(self.targets));
        }
        if let Some(cause) = &self.cause {
            root.insert("cause".into(), json!(cause));
        }
        root
    }
}

fn status_name(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Succeeded => "Succeeded",
        RunStatus::Failed => "Failed",
        RunStatus::Continued => "Continued",
    }
}

fn directive(dimensions: &[&str], metrics: &[Metric]) -> Value {
    json!({
        "Namespace": NAMESPACE,
        "Dimensions": [dimensions],
        "Metrics": metrics
            .iter()
            .map(|metric| json!({"Name": metric.name, "Unit": metric.unit}))
            .collect::<Vec<_>>(),
    })
}

/// Where report-result writes its records: standard output (Lambda sends it to CloudWatch
/// Logs), nowhere, or memory (tests).
#[derive(Debug)]
pub struct MetricsOutput {
    stack: Option<String>,
    out: Out,
}

#[derive(Debug)]
enum Out {
    Stdout,
    Memory(Mutex<Vec<String>>),
    Nowhere,
}

impl MetricsOutput {
    /// Standard output, for the stack [`STACK_VARIABLE`] names; read once at start. Without
    /// it no record is written (and a warning says so once): a record without its stack would
    /// be on no dashboard.
    pub fn from_env() -> Self {
        let stack = std::env::var(STACK_VARIABLE)
            .ok()
            .filter(|stack| !stack.trim().is_empty());
        if stack.is_none() {
            tracing::warn!(
                "{STACK_VARIABLE} is not set: no metric record will be written (template.yaml \
                 sets it to the stack's name)"
            );
        }
        Self {
            stack,
            out: Out::Stdout,
        }
    }

    /// No records at all.
    pub fn nowhere() -> Self {
        Self {
            stack: None,
            out: Out::Nowhere,
        }
    }

    /// Records kept in memory, for the stack `stack` (see [`MetricsOutput::lines`]).
    pub fn in_memory(stack: &str) -> Self {
        Self {
            stack: Some(stack.to_owned()),
            out: Out::Memory(Mutex::new(Vec::new())),
        }
    }

    /// The lines written so far to memory.
    pub fn lines(&self) -> Vec<String> {
        match &self.out {
            Out::Memory(lines) => lines.lock().map(|l| l.clone()).unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// Writes the record as it stands at `now`.
    pub fn write(&self, record: &RunRecord, now: SystemTime) {
        let Some(stack) = &self.stack else {
            return;
        };
        let lines = record.lines(stack, now);
        match &self.out {
            Out::Stdout => {
                // One lock for the record's lines, so no log line of another thread lands
                // inside one; tracing's writer takes the same lock for each event.
                let mut stdout = std::io::stdout().lock();
                let written = lines
                    .iter()
                    .try_for_each(|line| writeln!(stdout, "{line}"))
                    .and_then(|()| stdout.flush());
                if let Err(error) = written {
                    drop(stdout);
                    tracing::warn!(%error, "the metric record could not be written");
                }
            }
            Out::Memory(kept) => {
                if let Ok(mut kept) = kept.lock() {
                    kept.extend(lines);
                }
            }
            Out::Nowhere => {}
        }
    }
}

/// One metric an EMF record declares: namespace, name and dimension set.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Declared {
    /// The namespace.
    pub namespace: String,
    /// The metric name.
    pub name: String,
    /// The dimension keys, in the order declared.
    pub dimensions: Vec<String>,
}

/// The units CloudWatch accepts (the `StandardUnit` of its API).
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// Checks one log line against the rules of the EMF specification that decide whether
/// CloudWatch extracts it, and says which metrics it declares; or what is wrong, naming it.
///
/// The rules: the line is a JSON object and nothing else; `_aws` holds a whole-number
/// `Timestamp` and a non-empty `CloudWatchMetrics` list; each directive has a `Namespace`, at
/// most 30 dimension keys per set, at most 100 metrics, each with a `Name` and a known `Unit`;
/// every dimension key names a string member of the root, and every metric a number or a
/// list of 1 to 100 numbers.
pub fn check_emf_line(line: &str) -> Result<Vec<Declared>, String> {
    let root: Map<String, Value> =
        serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("no `_aws` object")?;
    if !aws.get("Timestamp").is_some_and(Value::is_u64) {
        return Err("`_aws.Timestamp` is not milliseconds since the epoch".into());
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .filter(|d| !d.is_empty())
        .ok_or("`_aws.CloudWatchMetrics` is not a non-empty list")?;
    let mut declared = Vec::new();
    for (index, directive) in directives.iter().enumerate() {
        let at = format!("_aws.CloudWatchMetrics[{index}]");
        let namespace = directive["Namespace"]
            .as_str()
            .filter(|n| (1..=255).contains(&n.len()))
            .ok_or(format!("{at}.Namespace is not a name"))?;
        let sets = directive["Dimensions"]
            .as_array()
            .ok_or(format!("{at}.Dimensions is not a list"))?;
        let mut dimension_sets = Vec::new();
        for set in sets {
            let keys: Vec<String> = set
                .as_array()
                .filter(|keys| keys.len() <= 30)
                .ok_or(format!(
                    "{at}: a dimension set is not a list of at most 30 keys"
                ))?
                .iter()
                .map(|key| {
                    let key = key
                        .as_str()
                        .ok_or(format!("{at}: a dimension key is no string"))?;
                    match root.get(key) {
                        Some(Value::String(value)) if !value.is_empty() => Ok(key.to_owned()),
                        _ => Err(format!(
                            "{at}: dimension `{key}` is not a string of the record"
                        )),
                    }
                })
                .collect::<Result<_, String>>()?;
            dimension_sets.push(keys);
        }
        let metrics = directive["Metrics"]
            .as_array()
            .filter(|m| m.len() <= 100)
            .ok_or(format!("{at}.Metrics is not a list of at most 100"))?;
        for metric in metrics {
            let name = metric["Name"]
                .as_str()
                .ok_or(format!("{at}: a metric has no Name"))?;
            if let Some(unit) = metric.get("Unit") {
                if !unit.as_str().is_some_and(|unit| UNITS.contains(&unit)) {
                    return Err(format!(
                        "{at}: metric `{name}` has unit {unit}, not a CloudWatch unit"
                    ));
                }
            }
            let valid = match root.get(name) {
                Some(Value::Number(_)) => true,
                Some(Value::Array(values)) => {
                    (1..=100).contains(&values.len()) && values.iter().all(Value::is_number)
                }
                _ => false,
            };
            if !valid {
                return Err(format!(
                    "{at}: metric `{name}` is not a number or a list of 1 to 100 numbers of the \
                     record"
                ));
            }
            declared.extend(dimension_sets.iter().map(|dimensions| Declared {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                dimensions: dimensions.clone(),
            }));
        }
    }
    Ok(declared)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_796_000_000 + seconds)
    }

    fn record() -> RunRecord {
        RunRecord {
            outcome: "Succeeded".into(),
            execution_arn: Some("arn:aws:states:us-east-1:123456789012:execution:M:job-1".into()),
            job_id: Some("11111111-abcd-1111-abcd-111111abcdef".into()),
            targets: vec!["E2QWRUHEXAMPLE".into()],
            started: Some(Timestamp(at(0))),
            invalidation_seconds: vec![21.5],
            detection_lag_seconds: vec![2.0],
            invalidations: 1,
            paths_sent: 2,
            wildcards_sent: 1,
            cache_tags_sent: 1,
            ..RunRecord::default()
        }
    }

    #[test]
    fn a_run_is_one_emf_line_with_every_metric_and_its_ids_as_properties() {
        let lines = record().lines("cloudfront-invalidation", at(30));
        assert_eq!(lines.len(), 1);
        let line: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(line["_aws"]["Timestamp"], 1_796_000_030_000u64);
        assert_eq!(line["Stack"], "cloudfront-invalidation");
        assert_eq!(line["Outcome"], "Succeeded");
        assert_eq!(line["RunDuration"], 30.0);
        assert_eq!(line["InvalidationDuration"], json!([21.5]));
        assert_eq!(line["DetectionLag"], json!([2.0]));
        assert_eq!(line["PathsSent"], 2);
        assert_eq!(line["EstimatedCost"], 0.02);
        assert_eq!(line["jobId"], "11111111-abcd-1111-abcd-111111abcdef");
        let declared = check_emf_line(&lines[0]).unwrap();
        let names: Vec<&str> = declared.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            METRICS
                .iter()
                .map(|m| m.name)
                .skip(1)
                .chain(["Runs"])
                .collect::<Vec<_>>()
        );
        assert!(declared.iter().all(|d| d.namespace == NAMESPACE));
        let runs: Vec<&Declared> = declared.iter().filter(|d| d.name == "Runs").collect();
        assert_eq!(runs[0].dimensions, ["Stack", "Outcome"]);
        assert_eq!(runs.len(), 1, "no error name for a success");
    }

    #[test]
    fn a_failure_counts_by_error_name_too_and_keeps_its_cause_short() {
        let mut record = record();
        record.fail("InvalidationTimedOut", &"x".repeat(5000));
        let line = &record.lines("s", at(30))[0];
        let declared = check_emf_line(line).unwrap();
        let runs: Vec<Vec<String>> = declared
            .into_iter()
            .filter(|d| d.name == "Runs")
            .map(|d| d.dimensions)
            .collect();
        assert_eq!(
            runs,
            [
                vec!["Stack", "Outcome"],
                vec!["Stack", "Outcome", "ErrorName"]
            ]
        );
        let line: Value = serde_json::from_str(line).unwrap();
        assert_eq!(line["Outcome"], "Failed");
        assert_eq!(line["ErrorName"], "InvalidationTimedOut");
        assert_eq!(
            line["cause"].as_str().unwrap().chars().count(),
            MAX_CAUSE_CHARS
        );
    }

    #[test]
    fn more_than_a_hundred_invalidations_go_on_in_further_lines() {
        let mut record = record();
        record.invalidation_seconds = (0..250).map(f64::from).collect();
        record.detection_lag_seconds = vec![1.0; 250];
        let lines = record.lines("s", at(30));
        assert_eq!(lines.len(), 3);
        let counts: Vec<usize> = lines
            .iter()
            .map(|line| {
                check_emf_line(line).unwrap();
                let line: Value = serde_json::from_str(line).unwrap();
                line["InvalidationDuration"].as_array().unwrap().len()
            })
            .collect();
        assert_eq!(counts, [100, 100, 50]);
        let last: Value = serde_json::from_str(&lines[2]).unwrap();
        assert_eq!(last["InvalidationDuration"][49], 249.0);
        assert!(last.get("Runs").is_none(), "a run is counted once");
    }

    #[test]
    fn a_run_that_never_started_has_no_duration_and_sent_nothing() {
        let record = RunRecord {
            outcome: "Failed".into(),
            error_name: Some("Lambda.Unknown".into()),
            ..RunRecord::default()
        };
        let line: Value = serde_json::from_str(&record.lines("s", at(0))[0]).unwrap();
        assert!(line.get("RunDuration").is_none());
        assert!(line.get("InvalidationDuration").is_none());
        assert_eq!(line["Invalidations"], 0);
        assert_eq!(line["EstimatedCost"], 0.0);
    }

    #[test]
    fn lines_that_cloudwatch_would_not_extract_are_named() {
        let cases = [
            ("INFO {}", "not a JSON object"),
            (r#"{"a":1}"#, "no `_aws` object"),
            (
                r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["Stack"]],"Metrics":[{"Name":"M","Unit":"Count"}]}]},"M":1}"#,
                "dimension `Stack` is not a string of the record",
            ),
            (
                r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M","Unit":"Count"}]}]},"M":"1"}"#,
                "metric `M` is not a number",
            ),
            (
                r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M","Unit":"Dollars"}]}]},"M":1}"#,
                "not a CloudWatch unit",
            ),
            (
                r#"{"_aws":{"Timestamp":"now","CloudWatchMetrics":[]}}"#,
                "Timestamp",
            ),
        ];
        for (line, problem) in cases {
            let error = check_emf_line(line).unwrap_err();
            assert!(error.contains(problem), "{line}: {error}");
        }
    }

    #[test]
    fn the_record_goes_nowhere_without_a_stack() {
        let output = MetricsOutput {
            stack: None,
            out: Out::Memory(Mutex::new(Vec::new())),
        };
        output.write(&record(), at(1));
        assert!(output.lines().is_empty());
        let output = MetricsOutput::in_memory("s");
        output.write(&record(), at(1));
        assert_eq!(output.lines().len(), 1);
    }
}
