//! What an SDK would not show: the observation endpoints and raw protocol
//! edges.

use aws_emulator::Snapshot;

use crate::common::{batch, cloudfront, codepipeline, config, raw, start, state, DIST, JOB};

const AUTH: (&str, &str) = ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/cloudfront/aws4_request, SignedHeaders=host, Signature=00");

#[tokio::test]
async fn health_and_state() {
    let emu = start(config()).await;
    let health = raw(&emu, "GET", "/_emulator/health", &[], "").await;
    assert_eq!(health.status, 200);

    cloudfront(&emu)
        .create_invalidation()
        .distribution_id(DIST)
        .invalidation_batch(batch("ref", &["/a"]))
        .send()
        .await
        .unwrap();
    codepipeline(&emu)
        .put_job_success_result()
        .job_id(JOB)
        .send()
        .await
        .unwrap();

    let state = state(&emu).await;
    assert_eq!(state.status, 200);
    assert_eq!(state.header("content-type"), Some("application/json"));
    let json = state.json();
    assert_eq!(json["invalidations"][0]["distributionId"], DIST);
    assert_eq!(json["invalidations"][0]["callerReference"], "ref");
    assert_eq!(json["invalidations"][0]["paths"][0], "/a");
    assert!(json["invalidations"][0]["createdAt"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert_eq!(json["jobResults"][0]["jobId"], JOB);
    assert_eq!(json["jobResults"][0]["operation"], "PutJobSuccessResult");
    assert_eq!(json["calls"]["CreateInvalidation"], 1);
    assert_eq!(json["injectedFaults"], serde_json::json!({}));
    let parsed: Snapshot = serde_json::from_value(json).unwrap();
    assert_eq!(parsed.job_results, emu.snapshot().job_results);
    assert_eq!(
        parsed.invalidations[0].id,
        emu.snapshot().invalidations[0].id
    );
}

#[tokio::test]
async fn unsigned_calls_are_refused() {
    let emu = start(config()).await;
    let res = raw(
        &emu,
        "POST",
        &format!("/2020-05-31/distribution/{DIST}/invalidation"),
        &[],
        "",
    )
    .await;
    assert_eq!(res.status, 403);
    assert!(
        res.body.contains("<Code>MissingAuthenticationToken</Code>"),
        "{}",
        res.body
    );
    assert!(res.header("x-amz-request-id").is_some());

    let res = raw(
        &emu,
        "POST",
        "/",
        &[
            ("X-Amz-Target", "CodePipeline_20150709.PutJobSuccessResult"),
            ("Content-Type", "application/x-amz-json-1.1"),
        ],
        &format!("{{\"jobId\":\"{JOB}\"}}"),
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.header("x-amzn-ErrorType"),
        Some("MissingAuthenticationTokenException")
    );
    assert!(emu.snapshot().job_results.is_empty());
}

#[tokio::test]
async fn protocol_edges() {
    let emu = start(config()).await;
    let json = [("Content-Type", "application/x-amz-json-1.1"), AUTH];

    // The error document's exact shape.
    let res = raw(
        &emu,
        "GET",
        "/2020-05-31/distribution/ENOPE/invalidation/I1",
        &[AUTH],
        "",
    )
    .await;
    assert_eq!(res.status, 404);
    assert_eq!(res.header("content-type"), Some("text/xml"));
    assert!(res.body.contains(r#"<ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Error><Type>Sender</Type><Code>NoSuchDistribution</Code>"#), "{}", res.body);
    let rid = res.header("x-amz-request-id").unwrap();
    assert!(res.body.contains(&format!("<RequestId>{rid}</RequestId>")));

    let res = raw(
        &emu,
        "POST",
        &format!("/2020-05-31/distribution/{DIST}/invalidation"),
        &[AUTH],
        "<InvalidationBatch><Paths>",
    )
    .await;
    assert_eq!(res.status, 400);
    assert!(
        res.body.contains("<Code>MalformedXML</Code>"),
        "{}",
        res.body
    );

    let mut with_target = json.to_vec();
    with_target.push(("X-Amz-Target", "CodePipeline_20150709.GetJobDetails"));
    let res = raw(&emu, "POST", "/", &with_target, "{}").await;
    assert_eq!(res.status, 400);
    assert!(
        res.body
            .contains("\"__type\":\"UnknownOperationException\""),
        "{}",
        res.body
    );

    let mut success = json.to_vec();
    success.push(("X-Amz-Target", "CodePipeline_20150709.PutJobSuccessResult"));
    let res = raw(&emu, "POST", "/", &success, "").await;
    assert_eq!(res.status, 400);
    assert_eq!(res.header("x-amzn-ErrorType"), Some("ValidationException"));
    assert!(res.body.contains("Value null at 'jobId'"), "{}", res.body);
    let res = raw(&emu, "POST", "/", &success, "{not json").await;
    assert_eq!(
        res.header("x-amzn-ErrorType"),
        Some("SerializationException")
    );
    let res = raw(
        &emu,
        "POST",
        "/",
        &success,
        &format!("{{\"jobId\":\"{JOB}\"}}"),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body, "{}");
    assert!(res.header("x-amzn-RequestId").is_some());
}

/// Reads `{"now": "<RFC 3339>"}` into a time, through the SDK's own parser.
fn clock_reading(res: &crate::common::RawResponse) -> std::time::SystemTime {
    assert_eq!(res.status, 200, "{}", res.body);
    let doc = res.json();
    assert_eq!(doc.as_object().unwrap().len(), 1, "{}", res.body);
    let now = doc["now"].as_str().unwrap();
    let parsed = aws_sdk_cloudfront::primitives::DateTime::from_str(
        now,
        aws_sdk_cloudfront::primitives::DateTimeFormat::DateTime,
    )
    .unwrap();
    std::time::SystemTime::try_from(parsed).unwrap()
}

#[tokio::test]
async fn a_manual_clock_is_read_and_advanced_over_http() {
    use std::time::Duration;
    let emu = start(
        config()
            .manual_clock()
            .invalidation_duration(Duration::from_secs(60)),
    )
    .await;
    let started = clock_reading(&raw(&emu, "GET", "/_emulator/clock", &[], "").await);
    assert_eq!(started, emu.now());
    // It stands still while real time passes: two readings agree.
    assert_eq!(
        clock_reading(&raw(&emu, "GET", "/_emulator/clock", &[], "").await),
        started
    );
    let cf = cloudfront(&emu);
    let id = cf
        .create_invalidation()
        .distribution_id(DIST)
        .invalidation_batch(batch("ref", &["/a"]))
        .send()
        .await
        .unwrap()
        .invalidation()
        .unwrap()
        .id()
        .to_string();

    let json = [("Content-Type", "application/json")];
    let res = raw(
        &emu,
        "POST",
        "/_emulator/clock",
        &json,
        r#"{"advanceSeconds": 59.5}"#,
    )
    .await;
    assert_eq!(clock_reading(&res), started + Duration::from_millis(59_500));
    let res = raw(
        &emu,
        "POST",
        "/_emulator/clock",
        &json,
        r#"{"advanceSeconds": 0.5}"#,
    )
    .await;
    assert_eq!(clock_reading(&res), started + Duration::from_secs(60));
    let got = cf
        .get_invalidation()
        .distribution_id(DIST)
        .id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.invalidation().unwrap().status(),
        aws_emulator::COMPLETED
    );
    // Times the emulator reports come from its clock.
    codepipeline(&emu)
        .put_job_success_result()
        .job_id(JOB)
        .send()
        .await
        .unwrap();
    let snap = emu.snapshot();
    let recorded = &snap.job_results[0].recorded_at;
    assert_eq!(
        clock_reading(&crate::common::RawResponse {
            status: 200,
            headers: Vec::new(),
            body: serde_json::json!({ "now": recorded }).to_string(),
        }),
        started + Duration::from_secs(60)
    );

    for bad in [
        "",
        "{}",
        r#"{"advanceSeconds": -1}"#,
        r#"{"advanceSeconds": "5"}"#,
        "not json",
    ] {
        let res = raw(&emu, "POST", "/_emulator/clock", &json, bad).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.body);
        assert!(res.body.contains("\"error\""), "{}", res.body);
    }
    assert_eq!(
        emu.now(),
        started + Duration::from_secs(60),
        "bad bodies move nothing"
    );
    let res = raw(&emu, "DELETE", "/_emulator/clock", &[], "").await;
    assert_eq!(res.status, 405);

    let res = raw(
        &emu,
        "POST",
        "/_emulator/settle",
        &json,
        r#"{"waitSeconds": 5}"#,
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body, r#"{"settled":true}"#);
}

#[tokio::test]
async fn a_real_clock_cannot_be_advanced_over_http() {
    let emu = start(config()).await;
    let before = std::time::SystemTime::now();
    let now = clock_reading(&raw(&emu, "GET", "/_emulator/clock", &[], "").await);
    // The emulator's time is the machine's, to within the millisecond it prints.
    let skew = now.duration_since(before).unwrap_or_else(|e| e.duration());
    assert!(skew < std::time::Duration::from_secs(2), "{skew:?}");
    let res = raw(
        &emu,
        "POST",
        "/_emulator/clock",
        &[],
        r#"{"advanceSeconds": 60}"#,
    )
    .await;
    assert_eq!(res.status, 409);
    assert!(res.body.contains("--manual-clock"), "{}", res.body);
}
