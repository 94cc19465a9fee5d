//! The memory limit, charged before native allocations: samples, data sets, images, GANs and
//! training activations are asked for here, by size, before they are allocated, and refused
//! when the process would pass the host's memory limit. Rhai's own values are still sampled
//! between script operations ([`Host::memory_exceeded`]); a native value is one call, often
//! hundreds of megabytes, and would slip past a sample.
//!
//! The ledger is the process's resident memory: what every live value holds, Rhai's and native.
//! Large blocks (every allocation worth refusing) are mapped and unmapped whole by the allocator,
//! so a value that dies gives its bytes back at once. Charging `resident + bytes` against the
//! limit therefore counts earlier values that are still alive, and forgets those that are not.
//!
//! Native functions do not all see the host; the session names it for the thread that runs a
//! cell ([`enter`]), and [`reserve`] charges that host. Code that runs outside a script (the
//! CLI's `gan eval`, tests of the engine) has no host and no limit here.

use std::cell::RefCell;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::host::{resident_bytes, Host};
use super::options::{err, RhaiResult};

thread_local! {
    static CURRENT: RefCell<Option<Arc<Host>>> = const { RefCell::new(None) };
}

/// While alive, [`reserve`] on this thread charges `host`.
pub struct Entered(Option<Arc<Host>>);

/// Names `host` as the one whose limit this thread's native calls are charged against, until the
/// returned guard drops (then the previous one is restored: cells may nest through callbacks).
pub fn enter(host: &Arc<Host>) -> Entered {
    Entered(CURRENT.with(|c| c.borrow_mut().replace(host.clone())))
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// Charges `bytes` that `what` is about to allocate against the memory limit of the host this
/// thread runs a script for; an error (raised at the calling script position) if they do not fit.
pub fn reserve(bytes: u128, what: &str) -> RhaiResult<()> {
    let host = CURRENT.with(|c| c.borrow().clone());
    match host {
        Some(h) => h.reserve(bytes, what).or_else(err),
        None => Ok(()),
    }
}

impl Host {
    /// See [`reserve`]: `Err` with the message when `bytes` more would pass the memory limit.
    pub fn reserve(&self, bytes: u128, what: &str) -> Result<(), String> {
        let limit = self.memory_limit.load(Ordering::Relaxed);
        if limit == 0 {
            return Ok(());
        }
        let held = resident_bytes().unwrap_or(0);
        if (held as u128).saturating_add(bytes) <= limit as u128 {
            return Ok(());
        }
        Err(format!(
            "out of memory: {what} needs {} MiB, and the process already holds {} MiB of the \
             memory limit of {} MiB; refusing to allocate (keep fewer values alive, or ask for less)",
            bytes >> 20,
            held >> 20,
            limit >> 20
        ))
    }
}
