//! template.yaml's dashboard and alarms show what the workflow really emits: the dashboard body,
//! rendered as CloudFormation renders its `!Sub`, is JSON whose every metric is one the
//! functions' metric record declares (or one of AWS's own for these resources), and every
//! alarm notifies the optional topic. CloudFormation would refuse a broken body only at deploy
//! time, and cfn-lint does not look inside it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use invalidation::metrics::{check_emf_line, Declared, RunRecord, METRICS, NAMESPACE};
use invalidation::timestamps::Timestamp;
use serde_json::Value;
use workflow_tests::read_repo_file;
use yaml_rust2::{Yaml, YamlLoader};

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
const STACK: &str = "cloudfront-invalidation";

fn template() -> Yaml {
    YamlLoader::load_from_str(&read_repo_file("template.yaml"))
        .expect("template.yaml is YAML")
        .remove(0)
}

/// What CloudFormation would put for `${name}` in a `!Sub` of this template: a pseudo
/// parameter, a parameter, a resource's Ref (`X`) or one of its attributes (`X.Arn`), each
/// as a value of the kind the resource type gives. Anything else CloudFormation would refuse.
fn substitute(template: &Yaml, name: &str) -> String {
    match name {
        "AWS::Region" => return REGION.to_owned(),
        "AWS::AccountId" => return ACCOUNT.to_owned(),
        "AWS::StackName" => return STACK.to_owned(),
        "AWS::Partition" => return "aws".to_owned(),
        _ => {}
    }
    if !template["Parameters"][name].is_badvalue() {
        return format!("<parameter {name}>");
    }
    let (id, attribute) = match name.split_once('.') {
        Some((id, attribute)) => (id, Some(attribute)),
        None => (name, None),
    };
    let kind = template["Resources"][id]["Type"]
        .as_str()
        .unwrap_or_else(|| panic!("`${{{name}}}` names no parameter or resource of template.yaml"));
    match (kind, attribute) {
        ("AWS::Serverless::StateMachine", None) => {
            format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{id}-Ab12Cd34")
        }
        ("AWS::Serverless::Function", None) => format!("{STACK}-{id}-Ab12Cd34"),
        ("AWS::CloudWatch::Alarm", Some("Arn")) => {
            format!("arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{STACK}-{id}-Ab12Cd34")
        }
        (kind, attribute) => panic!("`${{{name}}}`: no value known for {kind} {attribute:?}"),
    }
}

/// The text of a `!Sub` string as CloudFormation renders it.
fn render_sub(template: &Yaml, text: &str) -> String {
    let mut rendered = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        rendered.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').expect("a ${ without its }");
        let name = &after[..end];
        match name.strip_prefix('!') {
            // `${!Literal}` is written as `${Literal}`.
            Some(literal) => rendered.push_str(&format!("${{{literal}}}")),
            None => rendered.push_str(&substitute(template, name)),
        }
        rest = &after[end + 1..];
    }
    rendered.push_str(rest);
    rendered
}

fn dashboard(template: &Yaml) -> Value {
    let body = template["Resources"]["InvalidationDashboard"]["Properties"]["DashboardBody"]
        .as_str()
        .expect("the dashboard's body is a !Sub string");
    let rendered = render_sub(template, body);
    serde_json::from_str(&rendered)
        .unwrap_or_else(|e| panic!("the rendered dashboard body is not JSON: {e}\n{rendered}"))
}

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_796_000_000 + seconds)
}

/// Every metric the functions' record declares, over the outcomes it can have, and the
/// Outcome values it writes: read from records the library builds, through the EMF check.
fn emitted() -> (BTreeSet<Declared>, BTreeSet<String>) {
    let mut declared = BTreeSet::new();
    let mut outcomes = BTreeSet::new();
    for outcome in ["Succeeded", "Failed", "Continued"] {
        let mut record = RunRecord {
            outcome: outcome.to_owned(),
            started: Some(Timestamp(at(0))),
            invalidation_seconds: vec![20.0],
            detection_lag_seconds: vec![2.0],
            ..RunRecord::default()
        };
        if outcome == "Failed" {
            record.fail("InvalidationTimedOut", "still in progress");
        }
        for line in record.lines(STACK, at(30)) {
            declared.extend(check_emf_line(&line).unwrap());
            let line: Value = serde_json::from_str(&line).unwrap();
            outcomes.insert(line["Outcome"].as_str().unwrap().to_owned());
        }
    }
    (declared, outcomes)
}

/// A metric row of a widget: namespace, name, dimensions (key → value) and its options.
struct Row {
    namespace: String,
    name: String,
    dimensions: BTreeMap<String, String>,
    options: Value,
}

fn row(value: &Value, widget: &str) -> Row {
    let items = value.as_array().unwrap();
    let (options, fields) = match items.last() {
        Some(Value::Object(_)) => (items.last().unwrap().clone(), &items[..items.len() - 1]),
        _ => (Value::Null, &items[..]),
    };
    let fields: Vec<&str> = fields
        .iter()
        .map(|f| {
            let field = f.as_str().unwrap();
            // The "." shorthand repeats the row above; written out, each row says it all.
            assert_ne!(field, ".", "{widget}: write every metric row in full");
            field
        })
        .collect();
    assert!(
        fields.len() >= 2 && fields.len().is_multiple_of(2),
        "{widget}: row {value}"
    );
    Row {
        namespace: fields[0].to_owned(),
        name: fields[1].to_owned(),
        dimensions: fields[2..]
            .chunks(2)
            .map(|pair| (pair[0].to_owned(), pair[1].to_owned()))
            .collect(),
        options,
    }
}

/// A `SEARCH('{Namespace,Key,…} MetricName="Name" …', …)` expression: what it looks for.
fn search(expression: &str) -> (String, String, BTreeSet<String>, BTreeMap<String, String>) {
    let schema = expression
        .split_once("SEARCH('{")
        .and_then(|(_, rest)| rest.split_once('}'))
        .unwrap_or_else(|| panic!("not a SEARCH over a schema: {expression}"));
    let mut keys = schema.0.split(',').map(str::trim);
    let namespace = keys.next().unwrap().to_owned();
    let keys: BTreeSet<String> = keys.map(str::to_owned).collect();
    let terms = schema.1.split_once('\'').unwrap().0;
    let mut equals: BTreeMap<String, String> = BTreeMap::new();
    for term in terms.split_whitespace() {
        let (key, value) = term.split_once('=').unwrap();
        equals.insert(key.to_owned(), value.trim_matches('"').to_owned());
    }
    let name = equals
        .remove("MetricName")
        .expect("the search names its metric");
    (namespace, name, keys, equals)
}

const STATES_METRICS: [&str; 4] = [
    "ExecutionsStarted",
    "ExecutionsSucceeded",
    "ExecutionsFailed",
    "ExecutionsTimedOut",
];
const FUNCTIONS: [&str; 4] = [
    "PipelineEntryFunction",
    "StartInvalidationFunction",
    "CheckStatusFunction",
    "ReportResultFunction",
];

fn is_statistic(stat: &str) -> bool {
    ["Sum", "Average", "Maximum", "Minimum", "SampleCount"].contains(&stat)
        || stat
            .strip_prefix('p')
            .and_then(|p| p.parse::<f64>().ok())
            .is_some_and(|p| (0.0..=100.0).contains(&p))
}

#[test]
fn every_metric_the_dashboard_shows_is_one_the_workflow_emits() {
    let template = template();
    let body = dashboard(&template);
    let (declared, outcomes) = emitted();
    let state_machine = substitute(&template, "InvalidationStateMachine");
    let functions: BTreeSet<String> = FUNCTIONS
        .iter()
        .map(|id| substitute(&template, id))
        .collect();
    let widgets = body["widgets"].as_array().unwrap();
    let mut shown = BTreeSet::new();
    let mut seen = BTreeMap::new();
    let mut cells = BTreeSet::new();
    for widget in widgets {
        let title = widget["properties"]["title"].as_str().unwrap().to_owned();
        // Laid out on CloudWatch's 24-column grid, no two widgets on the same cell.
        let (x, y) = (widget["x"].as_u64().unwrap(), widget["y"].as_u64().unwrap());
        let (width, height) = (
            widget["width"].as_u64().unwrap(),
            widget["height"].as_u64().unwrap(),
        );
        assert!(x + width <= 24, "{title} leaves the grid");
        for cell in (x..x + width).flat_map(|x| (y..y + height).map(move |y| (x, y))) {
            assert!(cells.insert(cell), "{title} overlaps another widget");
        }
        if widget["type"] != "metric" {
            continue;
        }
        let properties = &widget["properties"];
        assert_eq!(properties["region"], REGION, "{title}");
        for value in properties["metrics"].as_array().unwrap() {
            if let Some(expression) = value[0]["expression"].as_str() {
                let (namespace, name, keys, equals) = search(expression);
                assert_eq!(namespace, NAMESPACE, "{title}");
                assert!(
                    declared.iter().any(|d| d.name == name
                        && d.dimensions.iter().cloned().collect::<BTreeSet<_>>() == keys),
                    "{title}: the record declares no {name} by {keys:?}"
                );
                assert_eq!(
                    equals.get("Stack").map(String::as_str),
                    Some(STACK),
                    "{title}"
                );
                shown.insert(name);
                continue;
            }
            let row = row(value, &title);
            let stat = row.options["stat"]
                .as_str()
                .or(properties["stat"].as_str())
                .unwrap_or_else(|| panic!("{title}: {} has no statistic", row.name));
            assert!(is_statistic(stat), "{title}: statistic {stat}");
            let keys: Vec<&String> = row.dimensions.keys().collect();
            match row.namespace.as_str() {
                NAMESPACE => {
                    assert!(
                        declared.iter().any(|d| d.name == row.name && {
                            let mut declared_keys: Vec<&String> = d.dimensions.iter().collect();
                            declared_keys.sort();
                            declared_keys == keys
                        }),
                        "{title}: the record declares no {} by {keys:?}",
                        row.name
                    );
                    assert_eq!(row.dimensions["Stack"], STACK, "{title}");
                    if let Some(outcome) = row.dimensions.get("Outcome") {
                        assert!(outcomes.contains(outcome), "{title}: Outcome {outcome}");
                    }
                    shown.insert(row.name.clone());
                }
                "AWS/States" => {
                    assert!(
                        STATES_METRICS.contains(&row.name.as_str()),
                        "{title}: {}",
                        row.name
                    );
                    assert_eq!(keys, ["StateMachineArn"], "{title}");
                    assert_eq!(row.dimensions["StateMachineArn"], state_machine, "{title}");
                }
                "AWS/Lambda" => {
                    assert!(
                        ["Errors", "Duration"].contains(&row.name.as_str()),
                        "{title}"
                    );
                    assert_eq!(keys, ["FunctionName"], "{title}");
                    assert!(
                        functions.contains(&row.dimensions["FunctionName"]),
                        "{title}"
                    );
                    *seen.entry(row.name.clone()).or_insert(0) += 1;
                }
                other => panic!("{title}: namespace {other}"),
            }
        }
    }
    // And the converse: each metric of the record is on the dashboard, as are the executions
    // and every function's errors and durations.
    let all: BTreeSet<String> = METRICS.iter().map(|m| m.name.to_owned()).collect();
    assert_eq!(shown, all);
    assert_eq!(
        seen,
        BTreeMap::from([("Duration".into(), 4), ("Errors".into(), 4)])
    );
}

/// The alarms of template.yaml, by logical id.
fn alarms(template: &Yaml) -> Vec<(String, &Yaml)> {
    template["Resources"]
        .as_hash()
        .unwrap()
        .iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
        .map(|(id, resource)| (id.as_str().unwrap().to_owned(), &resource["Properties"]))
        .collect()
}

#[test]
fn the_dashboard_shows_every_alarm() {
    let template = template();
    let body = dashboard(&template);
    let shown: BTreeSet<String> = body["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|widget| widget["type"] == "alarm")
        .flat_map(|widget| widget["properties"]["alarms"].as_array().unwrap().clone())
        .map(|arn| arn.as_str().unwrap().to_owned())
        .collect();
    let all: BTreeSet<String> = alarms(&template)
        .iter()
        .map(|(id, _)| substitute(&template, &format!("{id}.Arn")))
        .collect();
    assert_eq!(shown, all);
}

#[test]
fn alarms_watch_failed_and_timed_out_runs_and_function_errors_and_notify_the_topic_if_any() {
    let template = template();
    let alarms = alarms(&template);
    let mut watched = BTreeSet::new();
    for (id, properties) in &alarms {
        // `!If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]` loads as
        // [HasAlarmTopic, [AlarmTopicArn], AWS::NoValue]: no topic, no action.
        for actions in ["AlarmActions", "OKActions"] {
            let value = &properties[actions];
            assert_eq!(value[0].as_str(), Some("HasAlarmTopic"), "{id}.{actions}");
            assert_eq!(
                value[1][0].as_str(),
                Some("AlarmTopicArn"),
                "{id}.{actions}"
            );
            assert_eq!(value[2].as_str(), Some("AWS::NoValue"), "{id}.{actions}");
        }
        assert_eq!(
            properties["TreatMissingData"].as_str(),
            Some("notBreaching"),
            "{id}"
        );
        assert_eq!(
            properties["ComparisonOperator"].as_str(),
            Some("GreaterThanOrEqualToThreshold"),
            "{id}"
        );
        let metrics: Vec<&Yaml> = match properties["Metrics"].as_vec() {
            Some(queries) => queries
                .iter()
                .filter_map(|query| {
                    let metric = &query["MetricStat"]["Metric"];
                    (!metric.is_badvalue()).then_some(metric)
                })
                .collect(),
            None => vec![properties],
        };
        for metric in metrics {
            let dimension = &metric["Dimensions"][0];
            watched.insert((
                metric["Namespace"].as_str().unwrap().to_owned(),
                metric["MetricName"].as_str().unwrap().to_owned(),
                dimension["Name"].as_str().unwrap().to_owned(),
                dimension["Value"].as_str().unwrap().to_owned(),
            ));
        }
        if let Some(queries) = properties["Metrics"].as_vec() {
            // The expression adds up every query it names, each filled where it has no data.
            let expression = queries
                .iter()
                .find_map(|query| query["Expression"].as_str())
                .unwrap();
            for query in queries.iter().filter(|q| q["Expression"].is_badvalue()) {
                let query_id = query["Id"].as_str().unwrap();
                assert!(
                    expression.contains(&format!("FILL({query_id}, 0)")),
                    "{id}: {expression} leaves out {query_id}"
                );
            }
        }
    }
    let expected: BTreeSet<(String, String, String, String)> =
        ["ExecutionsFailed", "ExecutionsTimedOut"]
            .iter()
            .map(|name| {
                (
                    "AWS/States".to_owned(),
                    name.to_string(),
                    "StateMachineArn".to_owned(),
                    "InvalidationStateMachine".to_owned(),
                )
            })
            .chain(FUNCTIONS.iter().map(|function| {
                (
                    "AWS/Lambda".to_owned(),
                    "Errors".to_owned(),
                    "FunctionName".to_owned(),
                    function.to_string(),
                )
            }))
            .collect();
    assert_eq!(watched, expected);
    let topic = &template["Parameters"]["AlarmTopicArn"];
    assert_eq!(
        topic["Default"].as_str(),
        Some(""),
        "no topic unless one is given"
    );
    assert!(!template["Conditions"]["HasAlarmTopic"].is_badvalue());
}

#[test]
fn a_sub_names_only_what_the_template_has() {
    let template = template();
    assert_eq!(
        render_sub(
            &template,
            "${AWS::StackName}/${ReportResultFunction}/${!Literal}"
        ),
        format!("{STACK}/{STACK}-ReportResultFunction-Ab12Cd34/${{Literal}}")
    );
    let unknown = std::panic::catch_unwind(|| render_sub(&template, "${NoSuchResource}"));
    assert!(
        unknown.is_err(),
        "a name the template lacks must fail the render"
    );
}
