//! A panic anywhere below the session becomes the cell's error instead of ending the REPL or the
//! kernel's session thread. Front ends run every cell (and every value rendering, completion or
//! help lookup) through [`contain`].
//!
//! The panic hook stays quiet for a contained panic (a REPL user or a notebook should read one
//! error, not a backtrace on stderr) and keeps the message with its source location for the
//! error. Panics outside a [`contain`] reach the previous hook unchanged, so tests and other
//! threads report theirs as before.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

thread_local! {
    /// How many [`contain`] calls this thread is inside.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// The first contained panic's message and place, for the error.
    static NOTE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// How many [`contain`] calls are running in the process: a rayon worker that panics for a
/// contained cell is quiet too (rayon hands the payload on to the thread that waits for it).
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
static HOOK: Once = Once::new();

fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let here = DEPTH.with(Cell::get) > 0;
            let worker =
                ACTIVE.load(Ordering::SeqCst) > 0 && rayon::current_thread_index().is_some();
            if !here && !worker {
                return previous(info);
            }
            if here {
                let at = info
                    .location()
                    .map(|l| format!(" (at {}:{})", l.file(), l.line()))
                    .unwrap_or_default();
                let text = format!("{}{at}", payload_text(info.payload()));
                NOTE.with(|n| {
                    n.borrow_mut().get_or_insert(text);
                });
            }
        }));
    });
}

/// Runs `f`; a panic inside it comes back as `Err` with the panic's message (and where it was
/// raised). The caller decides what of its state to keep: see [`super::Session::eval_named`].
pub fn contain<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    if DEPTH.with(Cell::get) == 0 {
        // A panic some library caught by itself leaves a note nobody took.
        NOTE.with(|n| n.borrow_mut().take());
    }
    DEPTH.with(|d| d.set(d.get() + 1));
    ACTIVE.fetch_add(1, Ordering::SeqCst);
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    ACTIVE.fetch_sub(1, Ordering::SeqCst);
    DEPTH.with(|d| d.set(d.get() - 1));
    r.map_err(|payload| {
        NOTE.with(|n| n.borrow_mut().take())
            .unwrap_or_else(|| payload_text(&*payload))
    })
}

fn payload_text(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_with_its_message_and_place() {
        let e = contain(|| -> u8 { panic!("boom {}", 7) }).unwrap_err();
        assert!(
            e.starts_with("boom 7 (at src/session/panic_guard.rs:"),
            "{e}"
        );
        assert_eq!(contain(|| 5), Ok(5));
    }

    #[test]
    fn a_panic_in_a_rayon_worker_comes_back_too() {
        use rayon::prelude::*;
        let e = contain(|| {
            (0..64).into_par_iter().for_each(|i| {
                if i == 63 {
                    panic!("worker {i}");
                }
            })
        })
        .unwrap_err();
        assert!(e.contains("worker 63"), "{e}");
    }
}
