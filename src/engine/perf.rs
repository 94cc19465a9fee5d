//! Where training time goes: a process-wide count of the iterations run and of the time spent
//! inside the engine's training step (tensor work), so that `gan bench` can report the share of
//! each iteration spent outside it (data batching, metrics, observers, script callbacks).
//!
//! Two relaxed atomic adds per iteration; nothing else reads the clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

static STEPS: AtomicU64 = AtomicU64::new(0);
static STEP_NANOS: AtomicU64 = AtomicU64::new(0);

/// Records one training step that took `d`.
pub fn record_step(d: Duration) {
    STEPS.fetch_add(1, Ordering::Relaxed);
    STEP_NANOS.fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
}

/// Steps recorded so far and the seconds they took.
pub fn steps() -> (u64, f64) {
    (
        STEPS.load(Ordering::Relaxed),
        STEP_NANOS.load(Ordering::Relaxed) as f64 * 1e-9,
    )
}
