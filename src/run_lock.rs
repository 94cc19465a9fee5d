//! One writer per run directory.
//!
//! Two processes writing one run (two `gan resume` of it, a resume while the run is still going)
//! would interleave metrics lines and trip over each other's checkpoint renames. So whatever
//! writes a run holds an exclusive `flock` on `<run>/.gan.lock` for as long as it may write, and
//! records in that file who it is (pid, command line, start time) so the next one can say who
//! holds it. The kernel drops the lock when the process ends, however it ends (kill -9
//! included), so a lock is never left stale; the file itself stays and is reused.
//!
//! Within one process several sessions may share a run directory (a notebook rebuilding its
//! session): they share one lock.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::safe_fs::open_no_follow;

/// The lock file's name inside a run directory.
pub const LOCK_FILE: &str = ".gan.lock";

/// Holding one keeps the run directory locked; dropping the last clone unlocks it.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    dir: PathBuf,
}

/// The locks this process holds, by canonical run directory.
static HELD: Mutex<Vec<(PathBuf, Weak<RunLock>)>> = Mutex::new(Vec::new());

/// Whether [`acquire`] took a fresh lock or joined one this process already held.
pub enum Acquired {
    Fresh(Arc<RunLock>),
    Shared(Arc<RunLock>),
}

impl Acquired {
    pub fn lock(self) -> Arc<RunLock> {
        match self {
            Acquired::Fresh(l) | Acquired::Shared(l) => l,
        }
    }
}

/// Locks the run directory `dir` (which must exist) for writing, or fails naming the process
/// that holds it.
pub fn acquire(dir: &Path) -> Result<Acquired> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("opening run directory {}", dir.display()))?;
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    held.retain(|(_, w)| w.strong_count() > 0);
    if let Some(l) = held
        .iter()
        .find(|(d, _)| *d == dir)
        .and_then(|(_, w)| w.upgrade())
    {
        return Ok(Acquired::Shared(l));
    }
    let path = dir.join(LOCK_FILE);
    let (mut file, _) = open_no_follow(
        &path,
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false),
        "use as the run's lock",
    )?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "{} is in use by another gan process ({}); wait for it to finish or stop it",
            dir.display(),
            holder(&path)
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
    let me = serde_json::json!({
        "pid": std::process::id(),
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "started_unix": now_secs(),
    });
    file.set_len(0)
        .and_then(|_| file.write_all(format!("{me}\n").as_bytes()))
        .with_context(|| format!("writing {}", path.display()))?;
    let lock = Arc::new(RunLock {
        _file: file,
        dir: dir.clone(),
    });
    held.push((dir, Arc::downgrade(&lock)));
    Ok(Acquired::Fresh(lock))
}

impl RunLock {
    /// The locked run directory (canonical).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// "pid 123, `gan resume runs/x`, started 42 s ago", from what the holder wrote.
fn holder(path: &Path) -> String {
    let Ok(bytes) = crate::safe_fs::read_regular(path, 64 * 1024) else {
        return "holder unknown".into();
    };
    let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
        return "holder unknown".into();
    };
    let pid = v["pid"].as_u64().map_or("?".into(), |p| p.to_string());
    let command = v["command"].as_str().unwrap_or("?");
    let ago = v["started_unix"]
        .as_u64()
        .map_or("?".into(), |t| now_secs().saturating_sub(t).to_string());
    format!("pid {pid}, `{command}`, started {ago} s ago")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_process_shares_its_lock_and_releases_it_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let a = acquire(dir.path()).unwrap();
        assert!(matches!(a, Acquired::Fresh(_)));
        let b = acquire(dir.path()).unwrap();
        assert!(matches!(b, Acquired::Shared(_)));
        // another open file description (as another process has) is refused while it is held
        let other = File::open(dir.path().join(LOCK_FILE)).unwrap();
        assert!(other.try_lock().is_err());
        drop((a, b));
        other.try_lock().unwrap();
        let text = std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["pid"].as_u64(), Some(std::process::id() as u64));
    }
}
