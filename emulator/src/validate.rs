//! Checking a [`Config`] before the emulator starts: each value against the
//! rules of the service it configures, so this sits above the services.

use crate::config::{Config, FaultCode, Operation, MAX_EVENT_AGE, MAX_EVENT_RETRY_ATTEMPTS};
use crate::error::Error;
use crate::lambda::Backend;
use crate::s3::MAX_KEY_LEN;
use crate::stepfunctions::StateMachineArn;

impl Config {
    /// Checks values that would otherwise fail later or silently.
    pub fn validate(&self) -> Result<(), Error> {
        for tenant in &self.tenants {
            if !is_tenant_id(tenant) {
                return Err(Error::InvalidConfig(format!(
                    "distribution tenant `{tenant}`: expected dt_ followed by letters and digits"
                )));
            }
        }
        let buckets = self.existing_buckets();
        for bucket in &buckets {
            if !is_bucket_name(bucket) {
                return Err(Error::InvalidConfig(format!(
                    "bucket `{bucket}`: expected 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit"
                )));
            }
        }
        for (bucket, keys) in &self.bucket_access_keys {
            if !buckets.contains(bucket.as_str()) {
                return Err(Error::InvalidConfig(format!(
                    "access keys for bucket `{bucket}`: no such bucket (declare it, or seed an object in it)"
                )));
            }
            if keys.is_empty() {
                return Err(Error::InvalidConfig(format!(
                    "access keys for bucket `{bucket}`: the list is empty, so nobody could open it"
                )));
            }
        }
        for object in &self.objects {
            if object.key.is_empty() || object.key.len() > MAX_KEY_LEN {
                return Err(Error::InvalidConfig(format!(
                    "object in `{}`: a key is 1 to {} bytes long",
                    object.bucket, MAX_KEY_LEN
                )));
            }
        }
        for arn in &self.state_machines {
            match StateMachineArn::parse(arn) {
                Some(parsed) if parsed.qualifier.is_none() => {}
                _ => {
                    return Err(Error::InvalidConfig(format!(
                        "state machine `{arn}`: expected arn:<partition>:states:<region>:<account>:stateMachine:<name>"
                    )))
                }
            }
        }
        if let Some(url) = &self.lambda_backend {
            Backend::parse(url)?;
        }
        if self.lambda_timeout.is_zero() {
            return Err(Error::InvalidConfig(
                "the Lambda timeout must be positive".into(),
            ));
        }
        for id in &self.tag_distributions {
            if !self.distributions.contains(id) && !self.tenants.contains(id) {
                return Err(Error::InvalidConfig(format!(
                    "cache tags for `{id}`: not a configured distribution or distribution tenant"
                )));
            }
        }
        for name in self.function_faults.keys() {
            if !is_function_name(name) {
                return Err(Error::InvalidConfig(format!(
                    "function fault for `{name}`: expected a plain function name (1 to 64 letters, digits, hyphens, underscores, dots)"
                )));
            }
        }
        let defaults = std::iter::once(("(default)", &self.default_event_invoke));
        for (function, config) in defaults.chain(
            self.event_invoke
                .iter()
                .map(|(name, config)| (name.as_str(), config)),
        ) {
            if function != "(default)" && !is_function_name(function) {
                return Err(Error::InvalidConfig(format!(
                    "event invoke config for `{function}`: expected a plain function name"
                )));
            }
            if config.maximum_retry_attempts > MAX_EVENT_RETRY_ATTEMPTS {
                return Err(Error::InvalidConfig(format!(
                    "{function}: at most {MAX_EVENT_RETRY_ATTEMPTS} retries of an asynchronous invocation, not {}",
                    config.maximum_retry_attempts
                )));
            }
            if config.maximum_event_age.is_zero() || config.maximum_event_age > MAX_EVENT_AGE {
                return Err(Error::InvalidConfig(format!(
                    "{function}: the maximum event age must be positive and at most 6 hours"
                )));
            }
            if let Some(destination) = config.on_failure.as_deref() {
                if !is_function_name(destination) {
                    return Err(Error::InvalidConfig(format!(
                        "{function}: on-failure destination `{destination}`: expected a plain function name"
                    )));
                }
            }
        }
        for (op, spec) in &self.faults {
            if *op == Operation::Invoke {
                return Err(Error::InvalidConfig(
                    "faults do not apply to Invoke (they model CloudFront, CodePipeline, Step Functions and S3 faults only)"
                        .into(),
                ));
            }
            if !(0.0..=1.0).contains(&spec.error_rate) {
                return Err(Error::InvalidConfig(format!(
                    "{op}: error rate {} is outside 0..=1",
                    spec.error_rate
                )));
            }
            if !(0.0..=1.0).contains(&spec.lost_response_rate) {
                return Err(Error::InvalidConfig(format!(
                    "{op}: lost-response rate {} is outside 0..=1",
                    spec.lost_response_rate
                )));
            }
            if spec.error_rate > 0.0 && spec.codes.is_empty() {
                return Err(Error::InvalidConfig(format!(
                    "{op}: an error rate needs at least one fault code"
                )));
            }
            let conditional = matches!(op, Operation::PutObject | Operation::DeleteObject);
            if !conditional && spec.codes.contains(&FaultCode::ConditionalRequestConflict) {
                return Err(Error::InvalidConfig(format!(
                    "{op}: ConditionalRequestConflict is S3's answer to a conditional write, so it applies to PutObject and DeleteObject only"
                )));
            }
        }
        Ok(())
    }
}

/// Whether `name` is a plain Lambda function name, as forwarded (the name
/// part of the pattern `Invoke` checks `FunctionName` against).
pub(crate) fn is_function_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Whether `id` is shaped like a distribution tenant id: `dt_` and one or
/// more ASCII letters or digits.
pub(crate) fn is_tenant_id(id: &str) -> bool {
    id.strip_prefix("dt_")
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Whether `name` follows S3's general-purpose bucket naming rules (length,
/// characters, ends); the rules about dots next to hyphens and IP-like names
/// are left out.
pub(crate) fn is_bucket_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::{
        Config, FaultCode, FaultSpec, Operation, DEFAULT_CONTINUATION_DELAY, DEFAULT_LAMBDA_TIMEOUT,
    };

    #[test]
    fn checks_state_machine_arns() {
        let ok = Config::default()
            .state_machine("arn:aws:states:us-east-1:123456789012:stateMachine:Flow");
        assert!(ok.validate().is_ok());
        assert_eq!(
            Config::default().continuation_delay,
            DEFAULT_CONTINUATION_DELAY
        );
        for bad in [
            "Flow",
            "arn:aws:states:us-east-1:123456789012:stateMachine:Flow:1",
            "arn:aws:states:us-east-1:123456789012:execution:Flow:run",
            "arn:aws:lambda:us-east-1:123456789012:stateMachine:Flow",
        ] {
            assert!(
                Config::default().state_machine(bad).validate().is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn checks_tenants_buckets_and_objects() {
        let ok = Config::default()
            .tenant("dt_2wjDZi3hD1ivOXf6rpZJO1AB")
            .object(
                "codepipeline-us-east-1-123456789012",
                "a.zip",
                b"PK".to_vec(),
            )
            .object(
                "artifacts.example",
                "pipe/SourceArti/abc.zip",
                b"PK".to_vec(),
            )
            .s3_access_key("ASIAARTIFACT");
        assert!(ok.validate().is_ok());
        assert_eq!(
            ok.existing_buckets().into_iter().collect::<Vec<_>>(),
            ["artifacts.example", "codepipeline-us-east-1-123456789012"]
        );
        assert_eq!(ok.s3_access_keys.as_ref().unwrap().len(), 1);
        let with_state = ok
            .bucket("state-bucket")
            .bucket_access_key("state-bucket", "AKIAFUNCTIONS");
        assert!(with_state.validate().is_ok());
        assert_eq!(with_state.existing_buckets().len(), 3);
        assert_eq!(
            with_state
                .s3_access_keys_for("state-bucket")
                .unwrap()
                .iter()
                .collect::<Vec<_>>(),
            ["AKIAFUNCTIONS"]
        );
        assert!(with_state
            .s3_access_keys_for("artifacts.example")
            .unwrap()
            .contains("ASIAARTIFACT"));
        let err = Config::default()
            .bucket_access_key("nowhere", "AKIA")
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("`nowhere`"), "{err}");
        assert!(Config::default().bucket("Bad_Name").validate().is_err());
        for bad in ["E2QWRUHAPOMQZL", "dt_", "dt-abc", "dt_a-b"] {
            assert!(Config::default().tenant(bad).validate().is_err(), "{bad}");
        }
        for bad in [
            "ab",
            "Upper",
            "-start",
            "end-",
            "has/slash",
            "has_underscore",
        ] {
            let config = Config::default().object(bad, "k", Vec::new());
            assert!(config.validate().is_err(), "{bad}");
        }
        assert!(Config::default()
            .object("bucket", "", Vec::new())
            .validate()
            .is_err());
        let debug = format!(
            "{:?}",
            Config::default().object("bucket", "k", vec![7u8; 999])
        );
        assert!(debug.contains("size: 999"), "{debug}");
        assert!(!debug.contains("7, 7"), "{debug}");
    }

    #[test]
    fn conflicts_are_faults_of_conditional_writes_only() {
        let conflict = || FaultSpec {
            error_rate: 1.0,
            codes: vec![FaultCode::ConditionalRequestConflict],
            ..FaultSpec::default()
        };
        for op in [Operation::PutObject, Operation::DeleteObject] {
            assert!(Config::default().fault(op, conflict()).validate().is_ok());
        }
        let err = Config::default()
            .fault(Operation::GetObject, conflict())
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("GetObject"), "{err}");
    }

    #[test]
    fn rejects_bad_rates() {
        let bad = Config::default().fault(
            Operation::GetInvalidation,
            FaultSpec {
                error_rate: 1.5,
                ..FaultSpec::default()
            },
        );
        assert!(bad.validate().is_err());
    }

    #[test]
    fn checks_lambda_settings() {
        assert!(Config::default().validate().is_ok());
        assert_eq!(Config::default().lambda_timeout, DEFAULT_LAMBDA_TIMEOUT);
        let ok = Config::default().lambda_backend("http://127.0.0.1:9000");
        assert!(ok.validate().is_ok());
        for bad in [
            "https://127.0.0.1:9000",
            "127.0.0.1:9000",
            "http://",
            "http://h:x",
        ] {
            assert!(
                Config::default().lambda_backend(bad).validate().is_err(),
                "{bad}"
            );
        }
        assert!(Config::default()
            .lambda_timeout(Duration::ZERO)
            .validate()
            .is_err());
        let faulted = Config::default().fault(Operation::Invoke, FaultSpec::default());
        assert!(faulted.validate().is_err());
    }
}
