//! AWS prices (us-east-1, checked 2026-12-01), each with its source, and what a run costs.

/// Step Functions Standard: $0.025 per 1,000 state transitions (retries count too).
/// <https://aws.amazon.com/step-functions/pricing/>
pub const STATE_TRANSITION_USD: f64 = 0.025 / 1000.0;
/// Lambda on arm64: $0.0000133334 per GB-second (first 7.5 billion GB-s a month). The official
/// page renders prices as tokens; figure from its transcriptions (cloudchipr.com/blog/
/// aws-lambda-pricing), consistent with the AWS whitepaper "How AWS Pricing Works", Lambda.
pub const LAMBDA_ARM64_GB_SECOND_USD: f64 = 0.000_013_333_4;
/// Lambda on x86_64: $0.0000166667 per GB-second (same sources; the whitepaper gives
/// $0.00001667).
pub const LAMBDA_X86_GB_SECOND_USD: f64 = 0.000_016_666_7;
/// Lambda requests: $0.20 per million (whitepaper "How AWS Pricing Works", Lambda).
pub const LAMBDA_REQUEST_USD: f64 = 0.20 / 1_000_000.0;
/// CodePipeline V2: $0.002 per action-execution minute, "from the time an action in your
/// pipeline starts executing until that action reaches a completion state, rounded up to the
/// nearest minute", for every action type but manual approval and custom actions; 100 free
/// action-execution minutes a month, shared by all V2 pipelines of the account (not counted
/// here: a pipeline that deploys often spends them). V1 pipelines bill $1.00 per active pipeline
/// a month instead, with no charge per minute. <https://aws.amazon.com/codepipeline/pricing/>
pub const PIPELINE_MINUTE_USD: f64 = 0.002;

/// What `lag` costs in V2 action-execution minutes: the action waits that long for its result.
/// Billing rounds each action's whole duration up to the minute; at an arbitrary phase of that
/// minute, each second of lag adds 1/60 of a minute on average, which is what this returns.
pub fn lag_cost_usd(lag: std::time::Duration) -> f64 {
    lag.as_secs_f64() / 60.0 * PIPELINE_MINUTE_USD
}

/// A Lambda architecture, for its price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// Graviton; what template.yaml deploys.
    Arm64,
    /// Lambda's default, and CDK BucketDeployment's (it sets none).
    X86_64,
}

/// What a run used, and so what it costs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// Step Functions Standard state transitions.
    pub transitions: u32,
    /// Lambda invocations.
    pub invocations: u32,
    /// Billed Lambda milliseconds at 128 MB on arm64 (init included; each invocation rounded up
    /// to the millisecond, as Lambda bills).
    pub arm64_ms: u64,
    /// The same on x86_64.
    pub x86_ms: u64,
}

/// Every function here, and every Lambda the alternatives run in, has 128 MB.
pub const MEMORY_GB: f64 = 128.0 / 1024.0;

impl Usage {
    /// Dollars, with no free tier.
    pub fn cost_usd(&self) -> f64 {
        f64::from(self.transitions) * STATE_TRANSITION_USD
            + f64::from(self.invocations) * LAMBDA_REQUEST_USD
            + self.arm64_ms as f64 / 1000.0 * MEMORY_GB * LAMBDA_ARM64_GB_SECOND_USD
            + self.x86_ms as f64 / 1000.0 * MEMORY_GB * LAMBDA_X86_GB_SECOND_USD
    }

    /// Adds one invocation of `millis` on `architecture`, rounded up as Lambda bills.
    pub fn invoke(&mut self, architecture: Architecture, millis: f64) {
        self.invocations += 1;
        let billed = millis.max(0.0).ceil() as u64;
        match architecture {
            Architecture::Arm64 => self.arm64_ms += billed,
            Architecture::X86_64 => self.x86_ms += billed,
        }
    }

    /// All billed Lambda milliseconds.
    pub fn billed_ms(&self) -> u64 {
        self.arm64_ms + self.x86_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_of_a_128_mb_arm64_lambda_costs_about_a_sixth_of_a_hundred_thousandth() {
        let mut usage = Usage::default();
        usage.invoke(Architecture::Arm64, 999.2);
        assert_eq!(usage.arm64_ms, 1000);
        let per_second = usage.cost_usd() - LAMBDA_REQUEST_USD;
        assert!((per_second - 0.000_001_666_7).abs() < 1e-10, "{per_second}");
        // A state transition costs as much as 15 s of such a Lambda.
        assert!((STATE_TRANSITION_USD / per_second - 15.0).abs() < 0.01);
        // A second of a V2 pipeline's action costs twenty such Lambda seconds.
        let lag = lag_cost_usd(std::time::Duration::from_secs(1));
        assert!((lag / per_second - 20.0).abs() < 0.01, "{lag}");
    }
}
