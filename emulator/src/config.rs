//! What the emulator is told before it starts: which distributions and state
//! machines exist, how long an invalidation takes, which jobs are unknown,
//! which faults to inject, where Lambda invocations are forwarded, and how soon
//! CodePipeline continues an action after a continuation token.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Error;

/// One emulated API operation; the unit that the call counters (and, for all
/// but [`Operation::Invoke`], fault injection) are keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Operation {
    /// CloudFront `CreateInvalidation`.
    CreateInvalidation,
    /// CloudFront `GetInvalidation`.
    GetInvalidation,
    /// CloudFront `ListInvalidations`.
    ListInvalidations,
    /// CodePipeline `PutJobSuccessResult`.
    PutJobSuccessResult,
    /// CodePipeline `PutJobFailureResult`.
    PutJobFailureResult,
    /// Lambda `Invoke`, forwarded to the configured Lambda backend. Counted, but
    /// never faulted or delayed: fault injection models CloudFront, CodePipeline
    /// and Step Functions faults only, so it is not in [`Operation::ALL`].
    Invoke,
    /// Step Functions `StartExecution`.
    StartExecution,
    /// Step Functions `DescribeExecution`.
    DescribeExecution,
}

impl Operation {
    /// Every operation fault injection applies to (all but
    /// [`Operation::Invoke`]), in a stable order: CloudFront's three,
    /// CodePipeline's two, Step Functions' two.
    pub const ALL: [Operation; 7] = [
        Operation::CreateInvalidation,
        Operation::GetInvalidation,
        Operation::ListInvalidations,
        Operation::PutJobSuccessResult,
        Operation::PutJobFailureResult,
        Operation::StartExecution,
        Operation::DescribeExecution,
    ];

    /// The operation's AWS name, e.g. `CreateInvalidation`.
    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateInvalidation => "CreateInvalidation",
            Operation::GetInvalidation => "GetInvalidation",
            Operation::ListInvalidations => "ListInvalidations",
            Operation::PutJobSuccessResult => "PutJobSuccessResult",
            Operation::PutJobFailureResult => "PutJobFailureResult",
            Operation::Invoke => "Invoke",
            Operation::StartExecution => "StartExecution",
            Operation::DescribeExecution => "DescribeExecution",
        }
    }

    /// Whether the operation belongs to CloudFront (REST-XML) rather than
    /// CodePipeline (JSON 1.1) or Step Functions (JSON 1.0); decides the shape
    /// of an injected error.
    pub fn is_cloudfront(self) -> bool {
        matches!(
            self,
            Operation::CreateInvalidation
                | Operation::GetInvalidation
                | Operation::ListInvalidations
        )
    }

    /// Whether the operation belongs to Step Functions (JSON 1.0).
    pub fn is_stepfunctions(self) -> bool {
        matches!(
            self,
            Operation::StartExecution | Operation::DescribeExecution
        )
    }

    /// Parses a comma-separated list of operation names or short aliases
    /// (see [`Operation::from_str`]); `put` expands to both CodePipeline
    /// operations; `cloudfront`, `codepipeline` and `stepfunctions` (also
    /// `sfn`) to each service's operations; `all` to every operation in
    /// [`Operation::ALL`].
    pub fn parse_list(list: &str) -> Result<Vec<Operation>, Error> {
        let mut out = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let ops: Vec<Operation> = match item.to_ascii_lowercase().as_str() {
                "all" => Operation::ALL.to_vec(),
                "put" => vec![
                    Operation::PutJobSuccessResult,
                    Operation::PutJobFailureResult,
                ],
                "cloudfront" => Operation::ALL[..3].to_vec(),
                "codepipeline" => Operation::ALL[3..5].to_vec(),
                "stepfunctions" | "sfn" | "states" => Operation::ALL[5..].to_vec(),
                _ => vec![item.parse()?],
            };
            for op in ops {
                if !out.contains(&op) {
                    out.push(op);
                }
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Operation {
    type Err = Error;

    /// Accepts the AWS name (any case) or a short alias: `create`, `get`,
    /// `list`, `success`, `failure`, `invoke`, `start`, `describe`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let op = match lower.as_str() {
            "create" | "createinvalidation" => Operation::CreateInvalidation,
            "get" | "getinvalidation" => Operation::GetInvalidation,
            "list" | "listinvalidations" => Operation::ListInvalidations,
            "success" | "putjobsuccessresult" => Operation::PutJobSuccessResult,
            "failure" | "putjobfailureresult" => Operation::PutJobFailureResult,
            "invoke" => Operation::Invoke,
            "start" | "startexecution" => Operation::StartExecution,
            "describe" | "describeexecution" => Operation::DescribeExecution,
            _ => return Err(Error::InvalidConfig(format!("unknown operation `{s}`"))),
        };
        Ok(op)
    }
}

/// A kind of transient failure the emulator can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FaultCode {
    /// CloudFront: 400 `Throttling`; CodePipeline and Step Functions: 400
    /// `ThrottlingException`.
    Throttling,
    /// 500 `InternalError` (CloudFront) / `InternalFailure` (CodePipeline,
    /// Step Functions).
    InternalError,
    /// 503 `ServiceUnavailable`.
    ServiceUnavailable,
}

impl FaultCode {
    /// Parses a comma-separated list such as `throttling,500,503`.
    pub fn parse_list(list: &str) -> Result<Vec<FaultCode>, Error> {
        let mut out = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let code: FaultCode = item.parse()?;
            if !out.contains(&code) {
                out.push(code);
            }
        }
        Ok(out)
    }

    /// The HTTP status the fault is answered with.
    pub fn status(self) -> u16 {
        match self {
            FaultCode::Throttling => 400,
            FaultCode::InternalError => 500,
            FaultCode::ServiceUnavailable => 503,
        }
    }
}

impl FromStr for FaultCode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "throttling" | "throttle" | "429" => Ok(FaultCode::Throttling),
            "500" | "internal" | "internalerror" => Ok(FaultCode::InternalError),
            "503" | "unavailable" | "serviceunavailable" => Ok(FaultCode::ServiceUnavailable),
            _ => Err(Error::InvalidConfig(format!(
                "unknown fault code `{s}` (expected throttling, 500 or 503)"
            ))),
        }
    }
}

/// Fault settings for one operation.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// Probability in `0.0..=1.0` that a call fails with one of `codes`.
    pub error_rate: f64,
    /// The faults drawn from (uniformly) when a call is chosen to fail.
    pub codes: Vec<FaultCode>,
    /// Delay added before every call of the operation, faulted or not.
    pub latency: Duration,
}

impl Default for FaultSpec {
    fn default() -> Self {
        FaultSpec {
            error_rate: 0.0,
            codes: vec![
                FaultCode::Throttling,
                FaultCode::InternalError,
                FaultCode::ServiceUnavailable,
            ],
            latency: Duration::ZERO,
        }
    }
}

/// Default of [`Config::lambda_timeout`].
pub const DEFAULT_LAMBDA_TIMEOUT: Duration = Duration::from_secs(120);

/// Default of [`Config::continuation_delay`].
pub const DEFAULT_CONTINUATION_DELAY: Duration = Duration::from_secs(1);

/// Everything the emulator is configured with; see [`crate::start`].
#[derive(Debug, Clone)]
pub struct Config {
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Distribution ids that exist; any other id gets `NoSuchDistribution`.
    pub distributions: BTreeSet<String>,
    /// Distribution ids whose every call gets `AccessDenied`, as if the
    /// caller's role lacked permission on them.
    pub denied: BTreeSet<String>,
    /// How long a new invalidation stays `InProgress` before it reads as
    /// `Completed`.
    pub invalidation_duration: Duration,
    /// If set, only these job ids are accepted; others get
    /// `JobNotFoundException`. If unset, any well-formed id is accepted,
    /// because the emulator cannot know the jobs a real pipeline would create.
    pub known_jobs: Option<BTreeSet<String>>,
    /// Job ids that get `JobNotFoundException` even when `known_jobs` is unset.
    pub unknown_jobs: BTreeSet<String>,
    /// Fault settings per operation; operations absent here never fault.
    pub faults: BTreeMap<Operation, FaultSpec>,
    /// Seed of every pseudo-random choice (faults, invalidation and request
    /// ids), so that a run can be repeated.
    pub seed: u64,
    /// Base URL (`http://host:port`, no TLS) of a host of the Lambda invoke
    /// API, such as `cargo lambda watch --only-lambda-apis`, that Lambda
    /// `Invoke` calls are forwarded to. Unset: every function is unknown
    /// (`ResourceNotFoundException`).
    pub lambda_backend: Option<String>,
    /// How long a forwarded invocation may run before it is answered as a
    /// function timeout (`Sandbox.Timedout`), as Lambda answers a function
    /// that outlives its configured timeout.
    pub lambda_timeout: Duration,
    /// State machine ARNs that exist
    /// (`arn:aws:states:<region>:<account>:stateMachine:<name>`); a
    /// `StartExecution` of any other gets `StateMachineDoesNotExist`. The
    /// emulator runs no state machine: whoever embeds it takes the started
    /// executions from [`EmulatorHandle::next_started_execution`] and ends
    /// them with [`EmulatorHandle::finish_execution`].
    ///
    /// [`EmulatorHandle::next_started_execution`]: crate::EmulatorHandle::next_started_execution
    /// [`EmulatorHandle::finish_execution`]: crate::EmulatorHandle::finish_execution
    pub state_machines: BTreeSet<String>,
    /// How long after a `PutJobSuccessResult` with a continuation token the
    /// emulator, as CodePipeline, invokes the action's function again with a
    /// new job (only for jobs whose event went through Lambda `Invoke`).
    pub continuation_delay: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 0,
            distributions: BTreeSet::new(),
            denied: BTreeSet::new(),
            invalidation_duration: Duration::from_secs(5),
            known_jobs: None,
            unknown_jobs: BTreeSet::new(),
            faults: BTreeMap::new(),
            seed: 0,
            lambda_backend: None,
            lambda_timeout: DEFAULT_LAMBDA_TIMEOUT,
            state_machines: BTreeSet::new(),
            continuation_delay: DEFAULT_CONTINUATION_DELAY,
        }
    }
}

impl Config {
    /// A default config that knows the given distribution ids.
    pub fn with_distributions<I, S>(ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Config {
            distributions: ids.into_iter().map(Into::into).collect(),
            ..Config::default()
        }
    }

    /// Adds a known distribution id.
    pub fn distribution(mut self, id: impl Into<String>) -> Self {
        self.distributions.insert(id.into());
        self
    }

    /// Adds a distribution id that answers `AccessDenied`.
    pub fn deny(mut self, id: impl Into<String>) -> Self {
        self.denied.insert(id.into());
        self
    }

    /// Sets how long invalidations stay `InProgress`.
    pub fn invalidation_duration(mut self, duration: Duration) -> Self {
        self.invalidation_duration = duration;
        self
    }

    /// Sets the fault settings of one operation.
    pub fn fault(mut self, op: Operation, spec: FaultSpec) -> Self {
        self.faults.insert(op, spec);
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Forwards Lambda `Invoke` calls to the invoke API at `base_url`, e.g.
    /// `http://127.0.0.1:9000` (what `cargo lambda watch` listens on).
    pub fn lambda_backend(mut self, base_url: impl Into<String>) -> Self {
        self.lambda_backend = Some(base_url.into());
        self
    }

    /// Sets how long a forwarded invocation may run (default 120 s).
    pub fn lambda_timeout(mut self, timeout: Duration) -> Self {
        self.lambda_timeout = timeout;
        self
    }

    /// Adds a state machine ARN that exists, e.g.
    /// `arn:aws:states:us-east-1:123456789012:stateMachine:Invalidation`.
    pub fn state_machine(mut self, arn: impl Into<String>) -> Self {
        self.state_machines.insert(arn.into());
        self
    }

    /// Sets how soon a continuation token leads to a new job (default 1 s).
    pub fn continuation_delay(mut self, delay: Duration) -> Self {
        self.continuation_delay = delay;
        self
    }

    /// Checks values that would otherwise fail later or silently.
    pub fn validate(&self) -> Result<(), Error> {
        for arn in &self.state_machines {
            match crate::stepfunctions::StateMachineArn::parse(arn) {
                Some(parsed) if parsed.qualifier.is_none() => {}
                _ => {
                    return Err(Error::InvalidConfig(format!(
                        "state machine `{arn}`: expected arn:<partition>:states:<region>:<account>:stateMachine:<name>"
                    )))
                }
            }
        }
        if let Some(url) = &self.lambda_backend {
            crate::lambda::Backend::parse(url)?;
        }
        if self.lambda_timeout.is_zero() {
            return Err(Error::InvalidConfig(
                "the Lambda timeout must be positive".into(),
            ));
        }
        for (op, spec) in &self.faults {
            if *op == Operation::Invoke {
                return Err(Error::InvalidConfig(
                    "faults do not apply to Invoke (they model CloudFront, CodePipeline and Step Functions faults only)"
                        .into(),
                ));
            }
            if !(0.0..=1.0).contains(&spec.error_rate) {
                return Err(Error::InvalidConfig(format!(
                    "{op}: error rate {} is outside 0..=1",
                    spec.error_rate
                )));
            }
            if spec.error_rate > 0.0 && spec.codes.is_empty() {
                return Err(Error::InvalidConfig(format!(
                    "{op}: an error rate needs at least one fault code"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_operation_aliases() {
        assert_eq!(
            Operation::parse_list("create,get, put").unwrap(),
            vec![
                Operation::CreateInvalidation,
                Operation::GetInvalidation,
                Operation::PutJobSuccessResult,
                Operation::PutJobFailureResult
            ]
        );
        assert_eq!(Operation::parse_list("all").unwrap().len(), 7);
        assert_eq!(
            Operation::parse_list("cloudfront,codepipeline").unwrap(),
            Operation::ALL[..5].to_vec()
        );
        assert_eq!(
            Operation::parse_list("stepfunctions").unwrap(),
            vec![Operation::StartExecution, Operation::DescribeExecution]
        );
        assert_eq!(
            Operation::parse_list("start, DescribeExecution").unwrap(),
            Operation::parse_list("sfn").unwrap()
        );
        assert!(Operation::parse_list("delete").is_err());
        assert!(!Operation::parse_list("all")
            .unwrap()
            .contains(&Operation::Invoke));
        assert_eq!("invoke".parse::<Operation>().unwrap(), Operation::Invoke);
    }

    #[test]
    fn parses_fault_codes() {
        assert_eq!(
            FaultCode::parse_list("throttling,500,503,500").unwrap(),
            vec![
                FaultCode::Throttling,
                FaultCode::InternalError,
                FaultCode::ServiceUnavailable
            ]
        );
        assert!(FaultCode::parse_list("404").is_err());
    }

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
