//! Samples of a strategy at one duration, summed up.

use std::time::Duration;

use crate::model::Sample;
use crate::prices::lag_cost_usd;

/// What the samples of one strategy at one duration come to.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Lags of the runs that saw the completion, sorted.
    pub lags: Vec<Duration>,
    /// Runs that gave up before the invalidation completed.
    pub gave_up: usize,
    /// All runs.
    pub runs: usize,
    /// Mean state transitions.
    pub transitions: f64,
    /// Mean Lambda invocations.
    pub invocations: f64,
    /// Mean billed Lambda milliseconds.
    pub billed_ms: f64,
    /// Mean GetInvalidation calls.
    pub get_calls: f64,
    /// The most GetInvalidation calls any run made in 60 s.
    pub max_calls_per_minute: u32,
    /// Mean dollars per run.
    pub cost_usd: f64,
    /// Mean dollars per run with the V2 pipeline minutes of the lag: the user's whole cost.
    /// None when a run gave up (it has no lag to price, and its pipeline has no result).
    pub whole_cost_usd: Option<f64>,
}

impl Summary {
    /// Sums up `samples`.
    pub fn of(samples: &[Sample]) -> Self {
        let runs = samples.len();
        let mean =
            |f: &dyn Fn(&Sample) -> f64| samples.iter().map(f).sum::<f64>() / runs.max(1) as f64;
        let mut lags: Vec<Duration> = samples.iter().filter_map(|s| s.lag).collect();
        lags.sort();
        let cost_usd = mean(&|s| s.usage.cost_usd());
        let whole_cost_usd = (lags.len() == runs).then(|| {
            cost_usd + lags.iter().map(|lag| lag_cost_usd(*lag)).sum::<f64>() / runs.max(1) as f64
        });
        Self {
            gave_up: runs - lags.len(),
            lags,
            runs,
            transitions: mean(&|s| f64::from(s.usage.transitions)),
            invocations: mean(&|s| f64::from(s.usage.invocations)),
            billed_ms: mean(&|s| s.usage.billed_ms() as f64),
            get_calls: mean(&|s| f64::from(s.get_calls)),
            max_calls_per_minute: samples
                .iter()
                .map(|s| s.max_calls_per_minute)
                .max()
                .unwrap_or(0),
            cost_usd,
            whole_cost_usd,
        }
    }

    /// The lag at quantile `q` (nearest rank), if any run saw the completion.
    pub fn lag_quantile(&self, q: f64) -> Option<Duration> {
        quantile(&self.lags, q)
    }

    /// The median lag.
    pub fn median(&self) -> Option<Duration> {
        self.lag_quantile(0.5)
    }

    /// The 95th percentile lag.
    pub fn p95(&self) -> Option<Duration> {
        self.lag_quantile(0.95)
    }

    /// The longest lag.
    pub fn max(&self) -> Option<Duration> {
        self.lags.last().copied()
    }
}

/// The value at quantile `q` (nearest rank) of `sorted`, if it holds any.
pub fn quantile(sorted: &[Duration], q: f64) -> Option<Duration> {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied()
}

/// "1.2 s", "3.4 min", or "—".
pub fn duration_text(duration: Option<Duration>) -> String {
    match duration {
        None => "—".to_owned(),
        Some(d) if d < Duration::from_secs(120) => format!("{:.1} s", d.as_secs_f64()),
        Some(d) => format!("{:.1} min", d.as_secs_f64() / 60.0),
    }
}

/// "15 s", "2 min".
pub fn label(duration: Duration) -> String {
    match duration.as_secs() {
        s if s <= 60 || s % 60 != 0 => format!("{s} s"),
        s => format!("{} min", s / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prices::Usage;

    #[test]
    fn quantiles_are_nearest_rank_and_give_ups_are_counted_apart() {
        let samples: Vec<Sample> = (1..=20)
            .map(|s| Sample {
                lag: (s <= 19).then(|| Duration::from_secs(s)),
                usage: Usage::default(),
                ..Sample::default()
            })
            .collect();
        let summary = Summary::of(&samples);
        assert_eq!(summary.gave_up, 1);
        assert_eq!(
            summary.whole_cost_usd, None,
            "a run that gave up has no lag to price"
        );
        assert_eq!(summary.median(), Some(Duration::from_secs(10)));
        assert_eq!(summary.p95(), Some(Duration::from_secs(19)));
        let all_saw = Summary::of(&samples[..2]);
        let whole = all_saw.whole_cost_usd.unwrap();
        assert!((whole - 1.5 / 60.0 * 0.002).abs() < 1e-12, "{whole}");
        assert_eq!(label(Duration::from_secs(25)), "25 s");
        assert_eq!(label(Duration::from_secs(60)), "60 s");
        assert_eq!(label(Duration::from_secs(120)), "2 min");
    }
}
