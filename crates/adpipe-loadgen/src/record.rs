//! What the run records: latencies (HDR histograms), request and decision
//! counts, and the watcher that polls accepted ads until decided.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Latencies in microseconds, 3 significant digits, up to an hour.
pub struct Latency(Histogram<u64>);

impl Default for Latency {
    fn default() -> Self {
        Self(Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds"))
    }
}

impl Latency {
    pub fn record(&mut self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.0.saturating_record(micros.max(1));
    }

    pub fn summary(&self) -> Percentiles {
        let ms = |micros: u64| micros as f64 / 1000.0;
        if self.0.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            count: self.0.len(),
            p50_ms: ms(self.0.value_at_quantile(0.50)),
            p90_ms: ms(self.0.value_at_quantile(0.90)),
            p99_ms: ms(self.0.value_at_quantile(0.99)),
            max_ms: ms(self.0.max()),
            mean_ms: self.0.mean().round() / 1000.0,
        }
    }
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

/// Requests of one kind: how many, how they ended, how long they took.
#[derive(Default)]
pub(crate) struct Requests {
    pub(crate) tried: u64,
    pub(crate) ok: u64,
    pub(crate) errors: BTreeMap<String, u64>,
    /// Of the successful ones, from due (open loop) or sent (closed loop)
    /// to the end of the answer's body.
    pub(crate) latency: Latency,
    /// From due to sent: the generator's own lateness, or waiting for a
    /// free slot under `--concurrency`.
    pub(crate) lag: Latency,
    pub(crate) last_answer: Option<Instant>,
}

/// The accepted ads watched until decided.
#[derive(Default)]
pub(crate) struct Decisions {
    pub(crate) by_status: BTreeMap<String, u64>,
    pub(crate) undecided: u64,
    /// From the submission's due time to the first poll that saw it decided.
    pub(crate) latency: Latency,
    pub(crate) first_accept: Option<Instant>,
    pub(crate) last_decision: Option<Instant>,
    pub(crate) polls: u64,
    pub(crate) poll_errors: BTreeMap<String, u64>,
}

/// How accepted ads are watched until decided, and what was seen.
pub(crate) struct Watcher {
    pub(crate) every: Duration,
    pub(crate) timeout: Duration,
    /// Polls in flight at most.
    pub(crate) permits: Semaphore,
    pub(crate) record: Mutex<Decisions>,
}

impl Watcher {
    pub(crate) fn new(every: Duration, timeout: Duration, concurrency: usize) -> Self {
        Self {
            every,
            timeout,
            permits: Semaphore::new(concurrency),
            record: Mutex::new(Decisions::default()),
        }
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn earliest(slot: &mut Option<Instant>, at: Instant) {
    *slot = Some(slot.map_or(at, |old| old.min(at)));
}

pub(crate) fn latest(slot: &mut Option<Instant>, at: Instant) {
    *slot = Some(slot.map_or(at, |old| old.max(at)));
}
