//! When training must stop: an interrupt flag front ends set (Ctrl-C, a Jupyter interrupt, a
//! library user's own thread) and an optional deadline (`--timeout`). The learner checks both at
//! every step boundary.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An interrupt flag and a deadline, shared by a run and its front end.
#[derive(Debug, Default)]
pub struct StopFlag {
    interrupt: Arc<AtomicBool>,
    /// When the run must stop, and the limit in seconds (for messages).
    deadline: Mutex<Option<(Instant, f64)>>,
    /// Set once the deadline was seen passed: a cheap read for hot paths.
    timed_out: AtomicBool,
}

impl StopFlag {
    /// The flag a front end sets to interrupt training (at the next step boundary).
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.interrupt.clone()
    }

    /// Asks training to stop at the next step boundary.
    pub fn interrupt(&self) {
        self.interrupt.store(true, Ordering::Relaxed);
    }

    /// Whether an interrupt was requested (the flag only; no clock).
    pub fn interrupt_requested(&self) -> bool {
        self.interrupt.load(Ordering::Relaxed)
    }

    /// Forgets an interrupt request (the deadline holds).
    pub fn clear_interrupt(&self) {
        self.interrupt.store(false, Ordering::Relaxed);
    }

    /// Stops the run once `secs` seconds have passed from now.
    pub fn set_timeout(&self, secs: f64) {
        let at = Duration::try_from_secs_f64(secs.max(0.0))
            .ok()
            .and_then(|d| Instant::now().checked_add(d));
        *self.deadline.lock().unwrap() = at.map(|i| (i, secs));
    }

    /// The time limit in seconds, if one is set.
    pub fn timeout_secs(&self) -> Option<f64> {
        self.deadline.lock().unwrap().map(|(_, s)| s)
    }

    /// Whether the deadline has passed (checked now; it stays true once it is).
    pub fn timed_out(&self) -> bool {
        if self.timed_out.load(Ordering::Relaxed) {
            return true;
        }
        let past = matches!(*self.deadline.lock().unwrap(), Some((at, _)) if Instant::now() >= at);
        if past {
            self.timed_out.store(true, Ordering::Relaxed);
        }
        past
    }

    /// Whether the deadline was already seen passed (atomics only, no clock).
    pub fn timed_out_seen(&self) -> bool {
        self.timed_out.load(Ordering::Relaxed)
    }

    /// Stop requested: an interrupt, or the deadline passed.
    pub fn requested(&self) -> bool {
        self.interrupt_requested() || self.timed_out()
    }
}
