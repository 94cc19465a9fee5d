//! Crash-safe file and directory writes.
//!
//! A reader must only ever see a file or directory that is either absent or complete. So every
//! file is written under a temporary name in its final directory, flushed to the disk, and then
//! renamed over the final name (a rename within one file system is atomic); the directory is
//! then flushed as well, because the rename is a change to the directory and is not durable
//! until the directory itself has been synced.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};

/// Suffix of every temporary file or directory this module creates; readers skip such names.
pub const TEMP_SUFFIX: &str = ".tmp";

/// A name no other writer (another thread, another process) will pick at the same time:
/// `.<stem>.<pid>.<counter>.tmp`. The leading dot keeps it out of ordinary listings.
pub fn temp_name(stem: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(".{stem}.{}.{n}{TEMP_SUFFIX}", std::process::id())
}

/// Writes `bytes` to `path` atomically: temp file in the same directory, write, fsync, rename
/// over `path`, fsync the directory. On error the temp file is removed and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .with_context(|| format!("{} has no file name", path.display()))?;
    let tmp = dir.join(temp_name(&name.to_string_lossy()));
    let written = (|| -> Result<()> {
        let mut f = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("writing {}", tmp.display()))?;
        // Without this the rename could reach the disk before the data does, and a crash
        // would leave `path` naming an empty or partial file.
        f.sync_all()
            .with_context(|| format!("syncing {}", tmp.display()))?;
        drop(f);
        fs::rename(&tmp, path)
            .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    sync_dir(&dir)
}

/// Flushes a directory's entries (creations, renames, deletions) to the disk.
///
/// On Unix a directory can be opened and synced like a file; elsewhere this is a no-op, as
/// the platform offers no portable way to do it.
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing directory {}", dir.display()))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Creates `dir` (and missing parents) and makes its creation durable by syncing the parent.
pub fn create_dir_durable(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).with_context(|| format!("creating directory {}", dir.display()))?;
    sync_dir(&parent_dir(dir))
}

/// The directory holding `path` (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_whole_files_and_leave_no_temps() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.bin");
        write_atomic(&p, b"first version").unwrap();
        write_atomic(&p, b"second").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"second");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.bin")]);
    }

    #[test]
    fn a_failed_write_leaves_the_target_alone() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-dir").join("a.bin");
        let err = write_atomic(&missing, b"x").unwrap_err();
        assert!(format!("{err:#}").contains("no-such-dir"), "{err:#}");
    }

    #[test]
    fn temp_names_are_unique_and_marked() {
        let (a, b) = (temp_name("x"), temp_name("x"));
        assert_ne!(a, b);
        assert!(a.starts_with(".x.") && a.ends_with(TEMP_SUFFIX));
    }
}
