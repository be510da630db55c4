//! CodePipeline and Step Functions for the model's Lambda invoke action runs: an HTTP client
//! the real SDK clients send their requests to, which answers PutJobSuccessResult,
//! PutJobFailureResult and StartExecution as the services do (their JSON protocols), after a
//! modelled round trip on tokio's clock, and keeps what it received.

use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use serde_json::{json, Value};

use crate::clock::VirtualClock;

/// A client of the SDK crate `$sdk` that sends its requests to `$fake`, on its clock (the two
/// crates' configuration types differ, so this is a macro rather than a function).
macro_rules! sdk_client {
    ($sdk:ident, $fake:expr) => {{
        use $sdk::config::{BehaviorVersion, Credentials, Region};
        $sdk::Client::from_conf(
            $sdk::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .credentials_provider(Credentials::new("model", "model", None, None, "model"))
                .http_client($fake.clone())
                .time_source($fake.clock)
                .build(),
        )
    }};
}

/// An execution pipeline-entry started.
#[derive(Debug, Clone, PartialEq)]
pub struct StartedExecution {
    /// Its name.
    pub name: String,
    /// Its input.
    pub input: Value,
}

/// The result recorded on a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordedResult {
    /// PutJobSuccessResult without a continuation token.
    Succeeded,
    /// PutJobSuccessResult with this continuation token: CodePipeline creates a new job.
    Continued(String),
    /// PutJobFailureResult.
    Failed,
}

#[derive(Debug, Default)]
struct State {
    started: Vec<StartedExecution>,
    /// Job id → the last result recorded on it.
    results: Vec<(String, RecordedResult)>,
}

/// The fake services; clones share their state.
#[derive(Debug, Clone)]
pub struct FakePipeline {
    state: Arc<Mutex<State>>,
    clock: VirtualClock,
    round_trip: Duration,
}

impl FakePipeline {
    /// Services that answer after `round_trip`, on `clock`.
    pub fn new(clock: VirtualClock, round_trip: Duration) -> Self {
        Self {
            state: Arc::default(),
            clock,
            round_trip,
        }
    }

    /// A real CodePipeline client that talks to this fake.
    pub fn codepipeline(&self) -> aws_sdk_codepipeline::Client {
        sdk_client!(aws_sdk_codepipeline, self)
    }

    /// A real Step Functions client that talks to this fake.
    pub fn step_functions(&self) -> aws_sdk_sfn::Client {
        sdk_client!(aws_sdk_sfn, self)
    }

    /// The execution started last, taken out.
    pub fn take_started(&self) -> Option<StartedExecution> {
        self.state.lock().unwrap().started.pop()
    }

    /// The last result recorded on `job_id`, if any.
    pub fn result_of(&self, job_id: &str) -> Option<RecordedResult> {
        let state = self.state.lock().unwrap();
        state
            .results
            .iter()
            .rev()
            .find(|(job, _)| job == job_id)
            .map(|(_, result)| result.clone())
    }

    fn answer(&self, target: &str, body: &[u8]) -> HttpResponse {
        let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let text = |key: &str| request[key].as_str().unwrap_or_default().to_owned();
        let mut state = self.state.lock().unwrap();
        match target {
            "CodePipeline_20150709.PutJobSuccessResult" => {
                let result = match request["continuationToken"].as_str() {
                    Some(token) => RecordedResult::Continued(token.to_owned()),
                    None => RecordedResult::Succeeded,
                };
                state.results.push((text("jobId"), result));
                json_response(200, "1.1", &json!({}))
            }
            "CodePipeline_20150709.PutJobFailureResult" => {
                state.results.push((text("jobId"), RecordedResult::Failed));
                json_response(200, "1.1", &json!({}))
            }
            "AWSStepFunctions.StartExecution" => {
                let name = text("name");
                let input = serde_json::from_str(&text("input")).unwrap_or(Value::Null);
                let arn = format!("{}:{name}", text("stateMachineArn")).replacen(
                    ":stateMachine:",
                    ":execution:",
                    1,
                );
                state.started.push(StartedExecution { name, input });
                let started = self
                    .clock
                    .now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs_f64();
                json_response(
                    200,
                    "1.0",
                    &json!({"executionArn": arn, "startDate": started}),
                )
            }
            other => json_response(
                400,
                "1.0",
                &json!({"__type": "UnknownOperationException", "message": other}),
            ),
        }
    }
}

fn json_response(status: u16, version: &str, body: &Value) -> HttpResponse {
    let mut response = HttpResponse::new(
        status.try_into().expect("a valid status"),
        SdkBody::from(body.to_string()),
    );
    response
        .headers_mut()
        .insert("Content-Type", format!("application/x-amz-json-{version}"));
    response
}

impl HttpConnector for FakePipeline {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let fake = self.clone();
        let target = request
            .headers()
            .get("x-amz-target")
            .unwrap_or_default()
            .to_owned();
        let body = request.body().bytes().unwrap_or_default().to_vec();
        HttpConnectorFuture::new(async move {
            tokio::time::sleep(fake.round_trip / 2).await;
            let response = fake.answer(&target, &body);
            tokio::time::sleep(fake.round_trip / 2).await;
            Ok(response)
        })
    }
}

impl HttpClient for FakePipeline {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}
