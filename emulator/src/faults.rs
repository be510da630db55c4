//! Seeded fault injection and the small PRNG behind every random choice.
//!
//! Each operation draws from its own stream, derived from the seed and the
//! operation, so that the faults one operation sees do not depend on how its
//! calls interleave with other operations' calls.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::config::{FaultCode, FaultSpec, Operation};

/// SplitMix64: tiny, fast, and good enough for test choices; not for secrets.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`, on the stream named by `stream` so that two
    /// uses of one seed do not repeat each other.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut rng = Rng(seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F));
        // Mix once so nearby seeds start far apart.
        rng.next_u64();
        rng
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform float in `0.0..1.0`.
    pub fn next_f64(&mut self) -> f64 {
        // 53 bits fill an f64 mantissa exactly.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform index in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Decides, per call, whether to fail and whether to lose the answer.
#[derive(Debug)]
pub struct FaultInjector {
    ops: BTreeMap<Operation, OperationFaults>,
}

/// One operation's settings and streams.
#[derive(Debug)]
struct OperationFaults {
    spec: FaultSpec,
    errors: Mutex<Rng>,
    lost_responses: Mutex<Rng>,
}

/// Added to an operation's [`fault_stream`] for its lost-response draws:
/// streams of their own, so that turning them on changes no error fault.
const LOST_RESPONSE_STREAMS: u64 = 200;

/// The stream an operation's error faults are drawn from (1 and up; 0 and
/// 101..=104 are used elsewhere). Fixed per operation rather than taken from
/// its place in [`Operation::ALL`], so that adding or removing an operation
/// leaves the faults a seed gives every other one as they were: the numbers
/// of removed operations (3 ListInvalidations, 10 its tenant twin) are not
/// given to others, and HeadObject and PutObject, served again, have theirs
/// (12, 13) back.
fn fault_stream(op: Operation) -> u64 {
    match op {
        Operation::CreateInvalidation => 1,
        Operation::GetInvalidation => 2,
        Operation::PutJobSuccessResult => 4,
        Operation::PutJobFailureResult => 5,
        Operation::StartExecution => 6,
        Operation::DescribeExecution => 7,
        Operation::CreateInvalidationForDistributionTenant => 8,
        Operation::GetInvalidationForDistributionTenant => 9,
        Operation::GetObject => 11,
        Operation::HeadObject => 12,
        Operation::PutObject => 13,
        // Never faulted: the config refuses faults on Invoke.
        Operation::Invoke => 14,
        Operation::DeleteObject => 15,
        Operation::ListObjectsV2 => 16,
    }
}

impl FaultInjector {
    /// Builds the streams of every configured operation.
    pub fn new(seed: u64, specs: &BTreeMap<Operation, FaultSpec>) -> Self {
        let ops = specs
            .iter()
            .map(|(op, spec)| {
                let stream = fault_stream(*op);
                let faults = OperationFaults {
                    spec: spec.clone(),
                    errors: Mutex::new(Rng::new(seed, stream)),
                    lost_responses: Mutex::new(Rng::new(seed, LOST_RESPONSE_STREAMS + stream)),
                };
                (*op, faults)
            })
            .collect();
        FaultInjector { ops }
    }

    /// Draws whether this call of `op`, which an error fault did not fail,
    /// loses its answer (if it succeeds).
    pub fn draw_lost_response(&self, op: Operation) -> bool {
        let Some(faults) = self.ops.get(&op) else {
            return false;
        };
        if faults.spec.lost_response_rate <= 0.0 {
            return false;
        }
        let mut rng = faults
            .lost_responses
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        rng.next_f64() < faults.spec.lost_response_rate
    }

    /// Draws whether this call of `op` fails, and how.
    pub fn draw(&self, op: Operation) -> Option<FaultCode> {
        let faults = self.ops.get(&op)?;
        let spec = &faults.spec;
        if spec.error_rate <= 0.0 || spec.codes.is_empty() {
            return None;
        }
        let mut rng = faults.errors.lock().unwrap_or_else(|e| e.into_inner());
        // Always draw both numbers so the stream advances the same way
        // whatever the outcome: a call's fate depends only on its position.
        let roll = rng.next_f64();
        let pick = rng.below(spec.codes.len());
        (roll < spec.error_rate).then(|| spec.codes[pick])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn injector(seed: u64, rate: f64) -> FaultInjector {
        let mut specs = BTreeMap::new();
        specs.insert(
            Operation::CreateInvalidation,
            FaultSpec {
                error_rate: rate,
                ..FaultSpec::default()
            },
        );
        FaultInjector::new(seed, &specs)
    }

    #[test]
    fn same_seed_same_faults() {
        let a = injector(7, 0.5);
        let b = injector(7, 0.5);
        let run = |f: &FaultInjector| {
            (0..50)
                .map(|_| f.draw(Operation::CreateInvalidation))
                .collect::<Vec<_>>()
        };
        let ra = run(&a);
        assert_eq!(ra, run(&b));
        assert!(ra.iter().any(Option::is_some));
        assert!(ra.iter().any(Option::is_none));
        assert_ne!(ra, run(&injector(8, 0.5)));
    }

    #[test]
    fn lost_responses_repeat_per_seed_and_leave_errors_alone() {
        let with_lost = |seed: u64, lost: f64| {
            let mut specs = BTreeMap::new();
            specs.insert(
                Operation::PutJobSuccessResult,
                FaultSpec {
                    error_rate: 0.5,
                    lost_response_rate: lost,
                    ..FaultSpec::default()
                },
            );
            FaultInjector::new(seed, &specs)
        };
        let run = |f: &FaultInjector| {
            (0..50)
                .map(|_| {
                    let error = f.draw(Operation::PutJobSuccessResult);
                    (error, f.draw_lost_response(Operation::PutJobSuccessResult))
                })
                .collect::<Vec<_>>()
        };
        let a = run(&with_lost(7, 0.5));
        assert_eq!(a, run(&with_lost(7, 0.5)));
        assert!(a.iter().any(|(_, lost)| *lost) && a.iter().any(|(_, lost)| !*lost));
        let errors =
            |run: &[(Option<FaultCode>, bool)]| run.iter().map(|(e, _)| *e).collect::<Vec<_>>();
        assert_eq!(errors(&a), errors(&run(&with_lost(7, 0.0))));
        assert!(run(&with_lost(7, 0.0)).iter().all(|(_, lost)| !*lost));
    }

    #[test]
    fn rate_bounds() {
        let never = injector(1, 0.0);
        let always = injector(1, 1.0);
        for _ in 0..100 {
            assert!(never.draw(Operation::CreateInvalidation).is_none());
            assert!(always.draw(Operation::CreateInvalidation).is_some());
            assert!(always.draw(Operation::GetInvalidation).is_none());
        }
    }

    #[test]
    fn floats_in_range() {
        let mut rng = Rng::new(0, 0);
        for _ in 0..1000 {
            let x = rng.next_f64();
            assert!((0.0..1.0).contains(&x));
        }
    }
}
