//! The emulator's clock, and the background work that waits on it.
//!
//! Everything the emulator decides by time reads [`Clock::now`]: when an
//! invalidation completes, the times it reports, when CodePipeline continues a
//! job, when Lambda retries an asynchronous invocation and when an event is
//! too old to run. A [`ClockMode::Real`] clock follows the machine's (it starts
//! at the real time and runs on a monotonic timer, so a wall-clock step does
//! not reorder events); a [`ClockMode::Manual`] one starts at the real time too
//! and then moves only when the embedder advances it, so that a test can
//! let an hour pass at once.
//!
//! Background work (an `Event` invocation, its retries, a continuation) is a
//! task started by [`Clock::spawn`]; it holds a [`Work`] while it runs and
//! parks it while it waits on the clock, so that [`Clock::settle`] can tell
//! when nothing is running and nothing is due, and [`Clock::shut_down`] can
//! end it all.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;
use tokio::task::JoinSet;

/// Which clock the emulator runs on; see [`Config::clock`](crate::Config#structfield.clock).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClockMode {
    /// The machine's time (the default).
    #[default]
    Real,
    /// Starts at the machine's time when the emulator starts (in whole
    /// milliseconds, the precision of the times it reports), then moves only
    /// through [`EmulatorHandle::advance_clock`](crate::EmulatorHandle::advance_clock)
    /// or `POST /_emulator/clock`.
    Manual,
}

/// Why the clock could not be moved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// The emulator runs on the real clock, which only time moves.
    #[error("the emulator runs on the real clock; only a manual clock (ClockMode::Manual, --manual-clock) can be advanced")]
    NotManual,
}

/// The clock and the register of background work.
#[derive(Debug)]
pub(crate) struct Clock {
    mode: ClockMode,
    started: Instant,
    started_at: SystemTime,
    /// How far a manual clock has been moved; only ever grows.
    advanced: Mutex<Duration>,
    work: Mutex<WorkState>,
    /// Bumped whenever the clock moves, work parks or ends, or the emulator
    /// stops: every waiter re-checks what it waits for.
    changes: watch::Sender<u64>,
    stopped: AtomicBool,
    /// Every background task, so that stopping the emulator ends them.
    tasks: Mutex<JoinSet<()>>,
}

#[derive(Debug, Default)]
struct WorkState {
    /// Work that is running (not parked on the clock).
    running: usize,
    /// Parked work: timer id to the time it waits for.
    timers: BTreeMap<u64, SystemTime>,
    next_timer: u64,
}

impl Clock {
    pub fn new(mode: ClockMode) -> Self {
        let mut started_at = SystemTime::now();
        if mode == ClockMode::Manual {
            // Whole milliseconds, the precision of every time the emulator
            // reports, so that a reported time is exactly the clock's.
            let since = started_at.duration_since(UNIX_EPOCH).unwrap_or_default();
            started_at = UNIX_EPOCH + Duration::from_millis(since.as_millis() as u64);
        }
        Clock {
            mode,
            started: Instant::now(),
            started_at,
            advanced: Mutex::new(Duration::ZERO),
            work: Mutex::new(WorkState::default()),
            changes: watch::Sender::new(0),
            stopped: AtomicBool::new(false),
            tasks: Mutex::new(JoinSet::new()),
        }
    }

    /// The emulator's time.
    pub fn now(&self) -> SystemTime {
        let advanced = *lock(&self.advanced);
        match self.mode {
            ClockMode::Real => self.started_at + self.started.elapsed(),
            ClockMode::Manual => self.started_at + advanced,
        }
    }

    /// Moves a manual clock forward by `by` and wakes whatever waits for a
    /// time it has now reached; answers the new time.
    pub fn advance(&self, by: Duration) -> Result<SystemTime, ClockError> {
        if self.mode != ClockMode::Manual {
            return Err(ClockError::NotManual);
        }
        {
            let mut advanced = lock(&self.advanced);
            *advanced = advanced.saturating_add(by);
        }
        self.changed();
        Ok(self.now())
    }

    /// Stops background work: parked work wakes and gives up, and every
    /// task is aborted at its next await.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.changed();
        lock(&self.tasks).abort_all();
    }

    /// Stops background work (see [`Clock::stop`]) and waits until every
    /// task has ended.
    pub async fn shut_down(&self) {
        self.stop();
        let mut tasks = std::mem::take(&mut *lock(&self.tasks));
        while tasks.join_next().await.is_some() {}
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Starts background work: `task` gets the [`Work`] it runs as, which is
    /// registered before this returns, so that a `settle` right after sees
    /// it. Nothing starts once the emulator has stopped.
    pub fn spawn<F, Fut>(self: &Arc<Self>, task: F)
    where
        F: FnOnce(Work) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        if self.is_stopped() {
            return;
        }
        lock(&self.work).running += 1;
        let work = Work {
            clock: self.clone(),
        };
        let mut tasks = lock(&self.tasks);
        // Ended tasks are reaped here, so the set does not grow without bound.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(task(work));
    }

    /// Whether nothing runs and nothing parked is due.
    fn is_idle(&self) -> bool {
        let now = self.now();
        let work = lock(&self.work);
        work.running == 0 && work.timers.values().all(|due| *due > now)
    }

    /// Waits, at most `wait` of real time, until no background work runs and
    /// none that waits on the clock is due; answers whether that happened.
    pub async fn settle(&self, wait: Duration) -> bool {
        let mut changes = self.changes.subscribe();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if self.is_idle() {
                return true;
            }
            tokio::select! {
                _ = changes.changed() => {}
                _ = tokio::time::sleep_until(deadline) => return self.is_idle(),
            }
        }
    }
}

/// A running piece of background work; dropping it ends the work.
#[derive(Debug)]
pub(crate) struct Work {
    clock: Arc<Clock>,
}

impl Work {
    /// Parks the work until the clock reaches `due`; false if the emulator
    /// stopped first (the work should then end).
    pub async fn sleep_until(&mut self, due: SystemTime) -> bool {
        let clock = &self.clock;
        // Subscribed before the first check, so no change is missed.
        let mut changes = clock.changes.subscribe();
        let timer = {
            let mut work = lock(&clock.work);
            work.running -= 1;
            let timer = work.next_timer;
            work.next_timer += 1;
            work.timers.insert(timer, due);
            timer
        };
        // Unparks on every way out, an aborted task's included.
        let _parked = Parked { clock, timer };
        clock.changed();
        let reached = loop {
            if clock.is_stopped() {
                break false;
            }
            let now = clock.now();
            if now >= due {
                break true;
            }
            match clock.mode {
                ClockMode::Real => {
                    let left = due.duration_since(now).unwrap_or_default();
                    tokio::select! {
                        _ = tokio::time::sleep(left) => {}
                        _ = changes.changed() => {}
                    }
                }
                ClockMode::Manual => {
                    // The sender lives in `clock`, which this holds: no error.
                    let _ = changes.changed().await;
                }
            }
        };
        reached
    }

    /// Parks the work for `delay` on the clock; see [`Work::sleep_until`].
    pub async fn sleep(&mut self, delay: Duration) -> bool {
        let due = self.clock.now() + delay;
        self.sleep_until(due).await
    }
}

/// Parked work; unparking counts it as running again before its timer goes,
/// so that it never looks idle in between.
struct Parked<'a> {
    clock: &'a Clock,
    timer: u64,
}

impl Drop for Parked<'_> {
    fn drop(&mut self) {
        let mut work = lock(&self.clock.work);
        work.running += 1;
        work.timers.remove(&self.timer);
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        lock(&self.clock.work).running -= 1;
        self.clock.changed();
    }
}

/// A panic elsewhere must not wedge the clock, so a poisoned lock is taken over.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let clock = Clock::new(ClockMode::Manual);
        let start = clock.now();
        std::thread::yield_now();
        assert_eq!(clock.now(), start);
        let later = clock.advance(Duration::from_secs(90)).unwrap();
        assert_eq!(later, start + Duration::from_secs(90));
        assert_eq!(clock.now(), later);
    }

    #[test]
    fn a_real_clock_cannot_be_advanced() {
        let clock = Clock::new(ClockMode::Real);
        assert_eq!(
            clock.advance(Duration::from_secs(1)),
            Err(ClockError::NotManual)
        );
        assert!(clock.now() >= clock.started_at);
    }

    #[tokio::test]
    async fn parked_work_wakes_when_the_clock_passes_its_time() {
        let clock = Arc::new(Clock::new(ClockMode::Manual));
        let (woke_tx, woke_rx) = tokio::sync::oneshot::channel();
        clock.spawn(|mut work| async move {
            let reached = work.sleep(Duration::from_secs(60)).await;
            let _ = woke_tx.send(reached);
        });
        assert!(!clock.is_idle(), "work that has not parked yet is busy");
        // Parked on a time not yet reached: idle.
        assert!(clock.settle(Duration::from_secs(5)).await);
        clock.advance(Duration::from_secs(59)).unwrap();
        assert!(clock.settle(Duration::from_secs(5)).await);
        clock.advance(Duration::from_secs(1)).unwrap();
        // Due now: settling waits for the work to wake and end.
        assert!(clock.settle(Duration::from_secs(5)).await);
        assert!(woke_rx.await.unwrap());
    }

    #[tokio::test]
    async fn shutting_down_ends_parked_work_and_starts_none() {
        let clock = Arc::new(Clock::new(ClockMode::Manual));
        let (woke_tx, woke_rx) = tokio::sync::oneshot::channel();
        clock.spawn(|mut work| async move {
            let _ = woke_tx.send(work.sleep(Duration::from_secs(3600)).await);
        });
        assert!(clock.settle(Duration::from_secs(5)).await);
        clock.shut_down().await;
        assert!(woke_rx.await.is_err(), "the task ended without waking");
        let (ran_tx, ran_rx) = tokio::sync::oneshot::channel::<()>();
        clock.spawn(|_| async move {
            let _ = ran_tx.send(());
        });
        assert!(ran_rx.await.is_err(), "nothing starts after a shutdown");
        assert!(clock.settle(Duration::ZERO).await);
    }
}
