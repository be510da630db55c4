//! How long the emulator takes to list a bucket of 100,000 objects, 1,000 a
//! page: the 100 ListObjectsV2 pages over plain HTTP (what the emulator
//! spends, plus a loopback connection per page) and through aws-sdk-s3's
//! paginator (what a client sees), each the median of several rounds.
//!
//! ```text
//! cargo run -p aws-emulator --example s3_listing -- [OBJECTS] [ROUNDS] [--plain-only]
//! ```
//!
//! The numbers are printed, not checked: a machine's speed is no test.

use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_emulator::Config;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const BUCKET: &str = "site-bucket";

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// Every page of the bucket over plain HTTP, one connection a page, as any
/// client could send them; answers the page count.
async fn list_raw(addr: std::net::SocketAddr) -> usize {
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = format!("/{BUCKET}?list-type=2");
        if let Some(token) = &token {
            let escaped: String = token
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect();
            path.push_str(&format!("&continuation-token={escaped}"));
        }
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        let answer = String::from_utf8(answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{}", &answer[..200]);
        pages += 1;
        token = answer
            .split("<NextContinuationToken>")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .map(str::to_string);
        if token.is_none() {
            return pages;
        }
    }
}

/// Every key of the bucket through the SDK's paginator; answers the count.
async fn list_sdk(client: &aws_sdk_s3::Client) -> usize {
    let mut pages = client
        .list_objects_v2()
        .bucket(BUCKET)
        .into_paginator()
        .send();
    let mut keys = 0;
    while let Some(page) = pages.next().await {
        keys += page.unwrap().contents().len();
    }
    keys
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let objects: usize = args.next().map_or(100_000, |a| a.parse().expect("OBJECTS"));
    let rounds: usize = args.next().map_or(5, |a| a.parse().expect("ROUNDS"));
    let plain_only = args.next().as_deref() == Some("--plain-only");

    let seeding = Instant::now();
    let config = (0..objects).fold(Config::default().bucket(BUCKET), |config, i| {
        // Keys shaped like a site's: a few folders, file names of varied length.
        let key = format!("section-{}/page-{i:06}.html", i % 17);
        config.object(BUCKET, key, format!("<p>{i}</p>").into_bytes())
    });
    let emu = aws_emulator::start(config).await.unwrap();
    println!(
        "{objects} objects in place in {:.2} s",
        seeding.elapsed().as_secs_f64()
    );

    let raw: Vec<Duration> = {
        let mut samples = Vec::new();
        for _ in 0..rounds {
            let start = Instant::now();
            let pages = list_raw(emu.local_addr()).await;
            samples.push(start.elapsed());
            assert_eq!(pages, objects.div_ceil(1000).max(1));
        }
        samples
    };
    println!(
        "plain HTTP: {} pages, median {:.1} ms ({:.2} ms a page), {rounds} rounds",
        objects.div_ceil(1000),
        median(raw.clone()).as_secs_f64() * 1000.0,
        median(raw).as_secs_f64() * 1000.0 / objects.div_ceil(1000) as f64
    );

    if plain_only {
        emu.shutdown().await;
        return;
    }
    let sdk_config = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(emu.endpoint_url())
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
            aws_sdk_s3::config::Credentials::new("AKIDEXAMPLE", "secret", None, None, "example"),
        ))
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https(),
        )
        .build();
    let client = aws_sdk_s3::Client::new(&sdk_config);
    let mut samples = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        assert_eq!(list_sdk(&client).await, objects);
        samples.push(start.elapsed());
    }
    println!(
        "aws-sdk-s3 paginator: median {:.1} ms, {rounds} rounds",
        median(samples).as_secs_f64() * 1000.0
    );
    emu.shutdown().await;
}
