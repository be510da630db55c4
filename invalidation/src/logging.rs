//! Log setup for the functions: JSON lines in Lambda, and never a raw event.
//!
//! lambda_runtime logs every raw event at TRACE level ("raw JSON event received from Lambda").
//! The CodePipeline job event holds temporary artifact credentials, so TRACE events from
//! lambda_runtime are dropped whatever level a person sets. The functions also sign S3 requests
//! with those credentials, and the SDK's internals print the signing identity (its access key
//! id) at DEBUG and requests with their Authorization header at TRACE, so the SDK's events below
//! INFO are dropped too.

use std::env;

use tracing::level_filters::LevelFilter;
use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::filter::{filter_fn, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::registry::Registry;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber. Level from `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else
/// INFO; JSON when `AWS_LAMBDA_LOG_FORMAT` is `JSON` (Lambda's advanced logging controls).
pub fn init() {
    let level = env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| env::var("RUST_LOG"))
        .unwrap_or_default();
    let json = env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    subscriber(&level, json, std::io::stdout).init();
}

/// The subscriber [`init`] installs, writing to `writer` (tests capture it).
pub fn subscriber<W>(level: &str, json: bool, writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    // `Targets` reads the same `level` and `target=level` directives as EnvFilter without
    // EnvFilter's span and field matching, and so without its regex engine (smaller binaries).
    let filter = if level.trim().is_empty() {
        Targets::new().with_default(LevelFilter::INFO)
    } else {
        level
            .parse::<Targets>()
            .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO))
    };
    // Boxed so that both formats have one type; the format layer sits on the bare registry.
    let format: Box<dyn Layer<Registry> + Send + Sync> = {
        let layer = tracing_subscriber::fmt::layer()
            .with_target(false)
            .without_time() // Lambda stamps each line itself.
            .with_ansi(false)
            .with_writer(writer);
        if json {
            layer.json().flatten_event(true).boxed()
        } else {
            layer.boxed()
        }
    };
    tracing_subscriber::registry()
        .with(format)
        .with(filter)
        .with(filter_fn(is_not_a_raw_event))
}

/// The SDK's crates whose DEBUG and TRACE events may quote the artifact credentials.
const SDK_INTERNALS: [&str; 5] = [
    "aws_smithy_runtime",
    "aws_smithy_http_client",
    "aws_sigv4",
    "aws_runtime",
    "hyper",
];

fn is_not_a_raw_event(metadata: &Metadata<'_>) -> bool {
    let target = metadata.target();
    let level = *metadata.level();
    let raw_event = level == Level::TRACE && target.starts_with("lambda_runtime");
    // tracing orders levels by verbosity: TRACE > DEBUG > INFO.
    let sdk_detail = level > Level::INFO
        && SDK_INTERNALS
            .iter()
            .any(|internal| target.starts_with(internal));
    !raw_event && !sdk_detail
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logs_of(level: &str, json: bool, emit: impl FnOnce()) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing::subscriber::with_default(subscriber(level, json, move || writer.clone()), emit);
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn raw_events_of_lambda_runtime_are_dropped_even_at_trace_level() {
        let logs = logs_of("trace", true, || {
            tracing::trace!(
                target: "lambda_runtime::layers::api_response",
                body = "{\"secretAccessKey\":\"SECRETEXAMPLEVALUE\"}",
                "raw JSON event received from Lambda"
            );
            tracing::debug!(target: "lambda_runtime", "runtime debug line");
            tracing::info!(invalidation_id = "I123", "invalidation created");
        });
        assert!(!logs.contains("SECRETEXAMPLEVALUE"), "{logs}");
        assert!(logs.contains("runtime debug line"), "{logs}");
        let line = logs.lines().last().unwrap();
        let json: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(json["invalidation_id"], "I123");
        assert_eq!(json["level"], "INFO");
    }

    #[test]
    fn sdk_request_traces_are_dropped_even_at_trace_level() {
        let logs = logs_of("trace", false, || {
            tracing::trace!(
                target: "aws_smithy_runtime::client::orchestrator",
                request = "Authorization: AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEKEYID/…",
                "transmitting request"
            );
            tracing::debug!(
                target: "aws_smithy_runtime::client::orchestrator::endpoints",
                "resolving endpoint with Identity {{ access_key_id: AKIAEXAMPLEKEYID }}"
            );
            tracing::debug!(target: "aws_config", "config file loaded");
            tracing::info!(target: "aws_smithy_runtime", "an SDK warning worth seeing");
        });
        assert!(!logs.contains("AKIAEXAMPLEKEYID"), "{logs}");
        assert!(logs.contains("config file loaded"), "{logs}");
        assert!(logs.contains("an SDK warning worth seeing"), "{logs}");
    }

    #[test]
    fn the_default_level_is_info() {
        for level in ["", "not a level=at all"] {
            let logs = logs_of(level, false, || {
                tracing::debug!("hidden");
                tracing::info!("shown");
            });
            assert_eq!(logs, " INFO shown\n", "level {level:?}");
        }
    }

    #[test]
    fn a_level_per_target_is_followed() {
        let logs = logs_of("warn,aws_config=debug", false, || {
            tracing::info!("hidden");
            tracing::debug!(target: "aws_config", "config file loaded");
        });
        assert_eq!(logs, "DEBUG config file loaded\n");
    }
}
