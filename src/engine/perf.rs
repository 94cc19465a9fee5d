//! Where training time goes: a process-wide count of the iterations run and of the time spent
//! inside the engine's training step (tensor work), so that `gan bench` can report the share of
//! each iteration spent outside it (data batching, metrics, observers, script callbacks).
//!
//! Two relaxed atomic adds per iteration; nothing else reads the clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static STEPS: AtomicU64 = AtomicU64::new(0);
static STEP_NANOS: AtomicU64 = AtomicU64::new(0);
static FASTEST_NANOS: AtomicU64 = AtomicU64::new(u64::MAX);

static FIRST_START: AtomicU64 = AtomicU64::new(u64::MAX);
static LAST_END: AtomicU64 = AtomicU64::new(0);

fn since_base(t: Instant) -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    t.saturating_duration_since(*BASE.get_or_init(Instant::now))
        .as_nanos() as u64
}

/// Records one training step that started at `start` and took `d`.
pub fn record_step_at(start: Instant, d: Duration) {
    FIRST_START.fetch_min(since_base(start), Ordering::Relaxed);
    LAST_END.fetch_max(since_base(start + d), Ordering::Relaxed);
    record_step(d);
}

/// Seconds from the start of the first step recorded to the end of the last one since the last
/// call (None if none ran): the steady-state window, without what a fit does before its first step.
pub fn take_step_window() -> Option<f64> {
    let (a, b) = (
        FIRST_START.swap(u64::MAX, Ordering::Relaxed),
        LAST_END.swap(0, Ordering::Relaxed),
    );
    (a != u64::MAX && b >= a).then(|| (b - a) as f64 * 1e-9)
}

/// Records one training step that took `d`.
pub fn record_step(d: Duration) {
    STEPS.fetch_add(1, Ordering::Relaxed);
    STEP_NANOS.fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    FASTEST_NANOS.fetch_min(d.as_nanos() as u64, Ordering::Relaxed);
}

/// The fastest step since the last call, in seconds (None if none ran); a figure less sensitive
/// than a mean to other processes taking the CPU, for comparing changes on a busy machine.
pub fn take_fastest_step() -> Option<f64> {
    let n = FASTEST_NANOS.swap(u64::MAX, Ordering::Relaxed);
    (n != u64::MAX).then_some(n as f64 * 1e-9)
}

/// Steps recorded so far and the seconds they took.
pub fn steps() -> (u64, f64) {
    (
        STEPS.load(Ordering::Relaxed),
        STEP_NANOS.load(Ordering::Relaxed) as f64 * 1e-9,
    )
}
