//! The signals that ask `gan` to stop: Ctrl-C (SIGINT), SIGTERM (what `kill`, Slurm's cancel,
//! preemption and time limit send) and SIGUSR1 (Slurm's `--signal=B:USR1@…` warning before the
//! time limit). Each sets the session's interrupt flag, so training stops at the next step
//! boundary and checkpoints; the exit status then names the signal as 128 + its number.
//!
//! One mechanism for every front end (`signal-hook`): the handler runs on a thread of its own,
//! never inside the signal context, so it may print and touch atomics freely.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;

pub use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};

/// The signals a training command treats as "stop at the next step boundary".
pub const STOP_SIGNALS: [i32; 3] = [SIGINT, SIGTERM, SIGUSR1];

/// The last stop signal received (0: none).
static LAST: AtomicI32 = AtomicI32::new(0);

/// The last stop signal received by a handler from [`on_signals`], if any.
pub fn last() -> Option<i32> {
    match LAST.load(Ordering::Relaxed) {
        0 => None,
        s => Some(s),
    }
}

/// The exit status of a run stopped by `signal`: 128 + its number, as a shell reports a process
/// the signal killed (130 Ctrl-C, 143 SIGTERM, 138 SIGUSR1), but only after the checkpoint.
pub fn exit_status(signal: i32) -> i32 {
    128 + signal
}

/// A human name for the signals `gan` handles.
pub fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "Ctrl-C (SIGINT)",
        SIGTERM => "SIGTERM",
        SIGUSR1 => "SIGUSR1",
        _ => "a signal",
    }
}

/// Calls `f(signal)` on a background thread for each of `signals` received (replacing their
/// default action, which would kill the process). Registration failure is reported, not fatal.
pub fn on_signals(signals: &[i32], f: impl Fn(i32) + Send + 'static) {
    let mut it = match signal_hook::iterator::Signals::new(signals) {
        Ok(it) => it,
        Err(e) => {
            eprintln!("warning: cannot handle signals {signals:?}: {e}");
            return;
        }
    };
    std::thread::spawn(move || {
        for s in it.forever() {
            LAST.store(s, Ordering::Relaxed);
            f(s);
        }
    });
}

/// What `gan run`, `gan resume` and `gan sweep task` install: any stop signal sets `flag` (the
/// session stops at the next step boundary and checkpoints); a second Ctrl-C quits at once.
pub fn stop_training_on_signals(flag: Arc<AtomicBool>) {
    on_signals(&STOP_SIGNALS, move |s| {
        if flag.swap(true, Ordering::Relaxed) && s == SIGINT {
            // a second Ctrl-C: the user really wants out
            std::process::exit(exit_status(SIGINT));
        }
        eprintln!(
            "\n{}: stopping at the next step boundary{}",
            name(s),
            if s == SIGINT {
                " (Ctrl-C again to quit now)"
            } else {
                ", then saving a checkpoint"
            }
        );
    });
}
