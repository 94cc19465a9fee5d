//! The child processes a sweep runs (`gan sweep task`, and a task's `gan run`/`gan resume`/`gan
//! eval`), each started in a process group of its own so that a stop signal reaches each level
//! exactly once: Ctrl-C in a terminal reaches only the foreground group (the parent), which
//! passes it on with [`forward`]. A run that received two Ctrl-Cs would quit without its
//! checkpoint.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;

use anyhow::{Context, Result};

static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());
/// The stop signal forwarded so far (0: none).
static STOPPING: AtomicI32 = AtomicI32::new(0);

/// Starts `cmd` in its own process group and remembers it for [`forward`]. A stop already
/// forwarded reaches it at once.
pub fn spawn(cmd: &mut Command) -> Result<Child> {
    let mut list = CHILDREN.lock().unwrap();
    let child = cmd
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {:?}", cmd.get_program()))?;
    list.push(child.id());
    if let Some(sig) = stopping() {
        signal_group(child.id(), sig);
    }
    Ok(child)
}

/// Forgets a child that ended.
pub fn forget(child: &Child) {
    CHILDREN.lock().unwrap().retain(|&p| p != child.id());
}

/// Sends `sig` to every child's process group and remembers that the sweep is stopping.
pub fn forward(sig: i32) {
    let list = CHILDREN.lock().unwrap();
    STOPPING.store(sig, Ordering::Relaxed);
    for &pid in list.iter() {
        signal_group(pid, sig);
    }
}

/// The stop signal received, if one was: no new child should start.
pub fn stopping() -> Option<i32> {
    match STOPPING.load(Ordering::Relaxed) {
        0 => None,
        s => Some(s),
    }
}

fn signal_group(pid: u32, sig: i32) {
    // SAFETY: kill(2) with a negative pid signals that process group; it touches no memory.
    unsafe {
        libc::kill(-(pid as i32), sig);
    }
}

/// A child's exit status as a shell writes it: its code, or 128 + the signal that killed it.
pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}
