//! A CloudFront for the model: an HTTP client the real SDK client sends its requests to, which
//! answers CreateInvalidation and GetInvalidation as CloudFront does, after a modelled latency
//! on tokio's clock, and completes each invalidation a given time after it was created.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_cloudfront::config::{BehaviorVersion, Region};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::date_time::{DateTime, Format};

use crate::clock::VirtualClock;

/// Round-trip times the model assumes for CloudFront's control plane (not measured; AWS
/// publishes none): the status an answer carries is the one at half its round trip.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    /// GetInvalidation.
    pub get: Duration,
    /// CreateInvalidation.
    pub create: Duration,
}

impl Latency {
    /// 100 ms to read, 300 ms to create.
    pub const MODEL: Self = Self {
        get: Duration::from_millis(100),
        create: Duration::from_millis(300),
    };
    /// None: what the local emulator comes close to.
    pub const NONE: Self = Self {
        get: Duration::ZERO,
        create: Duration::ZERO,
    };
}

#[derive(Debug, Default)]
struct State {
    /// Caller reference → (invalidation id, creation time).
    by_reference: HashMap<String, (String, SystemTime)>,
    /// Invalidation id → creation time.
    created: HashMap<String, SystemTime>,
    /// When each GetInvalidation reached CloudFront.
    polls: Vec<SystemTime>,
    /// CreateInvalidation calls.
    creates: u32,
}

/// The fake CloudFront; clones share its state.
#[derive(Debug, Clone)]
pub struct FakeCloudFront {
    state: Arc<Mutex<State>>,
    clock: VirtualClock,
    takes: Duration,
    latency: Latency,
}

impl FakeCloudFront {
    /// A CloudFront whose invalidations take `takes`, on `clock`.
    pub fn new(clock: VirtualClock, takes: Duration, latency: Latency) -> Self {
        Self {
            state: Arc::default(),
            clock,
            takes,
            latency,
        }
    }

    /// A real SDK client that talks to this CloudFront, with the SDK's default retries, on the
    /// model's clock (for signing and the waiter's elapsed time) and tokio's sleep.
    pub fn client(&self) -> aws_sdk_cloudfront::Client {
        let config = aws_sdk_cloudfront::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            // Unsigned: nothing here checks a signature, and SigV4 in a debug build was most of
            // the model's time.
            .allow_no_auth()
            .http_client(self.clone())
            .time_source(self.clock)
            .build();
        aws_sdk_cloudfront::Client::from_conf(config)
    }

    /// When each invalidation the fake created completes.
    pub fn completion_times(&self) -> Vec<SystemTime> {
        let state = self.state.lock().unwrap();
        state.created.values().map(|at| *at + self.takes).collect()
    }

    /// When each GetInvalidation reached CloudFront.
    pub fn polls(&self) -> Vec<SystemTime> {
        self.state.lock().unwrap().polls.clone()
    }

    /// CreateInvalidation calls received.
    pub fn creates(&self) -> u32 {
        self.state.lock().unwrap().creates
    }

    fn answer(&self, method: &str, uri: &str, body: &[u8], at: SystemTime) -> HttpResponse {
        let mut state = self.state.lock().unwrap();
        let path = uri
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split_once('/'));
        let segments: Vec<&str> = path
            .map(|(_, path)| {
                path.split('?')
                    .next()
                    .unwrap_or_default()
                    .split('/')
                    .collect()
            })
            .unwrap_or_default();
        match (method, segments.as_slice()) {
            ("POST", ["2020-05-31", "distribution", _, "invalidation"]) => {
                state.creates += 1;
                let text = String::from_utf8_lossy(body);
                let reference = between(&text, "<CallerReference>", "</CallerReference>");
                let next_id = format!("IMODEL{:08}", state.created.len());
                let (id, created) = state
                    .by_reference
                    .entry(reference.to_owned())
                    .or_insert((next_id, at))
                    .clone();
                state.created.insert(id.clone(), created);
                let status = self.status(created, at);
                let mut response = xml(201, &invalidation_xml(&id, status, created, reference));
                response
                    .headers_mut()
                    .insert("Location", format!("https://cloudfront.amazonaws.com/{id}"));
                response
            }
            ("GET", ["2020-05-31", "distribution", _, "invalidation", id]) => {
                state.polls.push(at);
                match state.created.get(*id) {
                    Some(created) => {
                        let status = self.status(*created, at);
                        xml(200, &invalidation_xml(id, status, *created, "model"))
                    }
                    None => xml(404, &error_xml("NoSuchInvalidation")),
                }
            }
            _ => xml(400, &error_xml("InvalidArgument")),
        }
    }

    fn status(&self, created: SystemTime, at: SystemTime) -> &'static str {
        if at >= created + self.takes {
            "Completed"
        } else {
            "InProgress"
        }
    }
}

impl HttpConnector for FakeCloudFront {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let fake = self.clone();
        let method = request.method().to_owned();
        let uri = request.uri().to_owned();
        let body = request.body().bytes().unwrap_or_default().to_vec();
        let round_trip = if method == "POST" {
            self.latency.create
        } else {
            self.latency.get
        };
        HttpConnectorFuture::new(async move {
            tokio::time::sleep(round_trip / 2).await;
            let response = fake.answer(&method, &uri, &body, fake.clock.now());
            tokio::time::sleep(round_trip / 2).await;
            Ok(response)
        })
    }
}

impl HttpClient for FakeCloudFront {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    text.split_once(start)
        .and_then(|(_, rest)| rest.split_once(end))
        .map_or("", |(inside, _)| inside)
}

fn xml(status: u16, body: &str) -> HttpResponse {
    let mut response = HttpResponse::new(
        status.try_into().expect("a valid status"),
        SdkBody::from(body.to_owned()),
    );
    response.headers_mut().insert("Content-Type", "text/xml");
    response
}

fn invalidation_xml(id: &str, status: &str, created: SystemTime, reference: &str) -> String {
    let created = DateTime::from(created)
        .fmt(Format::DateTime)
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0"?><Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>{id}</Id><Status>{status}</Status><CreateTime>{created}</CreateTime><InvalidationBatch><Paths><Quantity>1</Quantity><Items><Path>/*</Path></Items></Paths><CallerReference>{reference}</CallerReference></InvalidationBatch></Invalidation>"#
    )
}

fn error_xml(code: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Error><Type>Sender</Type><Code>{code}</Code><Message>{code}</Message></Error><RequestId>model</RequestId></ErrorResponse>"#
    )
}
