//! Crash-safe, symlink-safe file and directory writes.
//!
//! A reader must only ever see a file or directory that is either absent or complete. So every
//! file is written under a temporary name in its final directory, flushed to the disk, and then
//! renamed over the final name (a rename within one file system is atomic); the directory is
//! then flushed as well, because the rename is a change to the directory and is not durable
//! until the directory itself has been synced.
//!
//! The directory may hold files planted by someone else (a shared run directory). The temporary
//! file is therefore created with `O_CREAT | O_EXCL` under a random name (`tempfile`), which
//! never opens an existing file or follows a symlink; and a final name that is already a symlink
//! or not a regular file is refused before anything is written, so the rename never replaces
//! something the writer did not make.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::open::open_no_follow;

/// Suffix of every temporary file or directory this module creates; readers skip such names.
pub const TEMP_SUFFIX: &str = ".tmp";

/// A fresh, unguessable name `.<stem>.<random>.tmp` (for renaming something aside). The
/// leading dot keeps it out of ordinary listings; [`super::remove_stray_temps`] finds it by
/// the dot and the suffix.
pub fn temp_name(stem: &str) -> String {
    format!(".{stem}.{:016x}{TEMP_SUFFIX}", rand::random::<u64>())
}

/// Refuses to write over `path` when it is a symlink or anything but a regular file.
fn check_target(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => bail!(
            "{}: is a symbolic link; refusing to write through it",
            path.display()
        ),
        Ok(m) if !m.is_file() => bail!(
            "{}: exists and is not a regular file; refusing to replace it",
            path.display()
        ),
        _ => Ok(()),
    }
}

/// Writes `bytes` to `path` atomically: an exclusive temp file in the same directory, write,
/// fsync, rename over `path`, fsync the directory. Missing parent directories are created. On
/// error the temp file is removed and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .with_context(|| format!("{} has no file name", path.display()))?;
    check_target(path)?;
    fs::create_dir_all(&dir).with_context(|| format!("creating directory {}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
        .suffix(TEMP_SUFFIX)
        .tempfile_in(&dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("writing {}", tmp.path().display()))?;
    // Without this the rename could reach the disk before the data does, and a crash would
    // leave `path` naming an empty or partial file.
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("syncing {}", tmp.path().display()))?;
    // On error `persist` hands the temp file back, and dropping it deletes it.
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("renaming a temporary file to {}", path.display()))?;
    sync_dir(&dir)
}

/// Appends `line` and a newline to `path` (created if missing), flushed to the disk. A symlink
/// (dangling or not) or a non-regular file at `path` is refused before a byte is written.
pub fn append_line(path: &Path, line: &str) -> Result<()> {
    let (mut f, _) = open_no_follow(
        path,
        OpenOptions::new().create(true).append(true),
        "append to",
    )?;
    writeln!(f, "{line}").with_context(|| format!("writing {}", path.display()))?;
    f.sync_data().ok();
    Ok(())
}

/// Creates a fresh directory `.<stem>.<random>.tmp` inside `dir` (exclusively: never an
/// existing one) and returns its path. The caller renames it into place or deletes it.
pub fn create_temp_dir(dir: &Path, stem: &str) -> Result<PathBuf> {
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{stem}."))
        .suffix(TEMP_SUFFIX)
        .tempdir_in(dir)
        .with_context(|| format!("creating a temporary directory in {}", dir.display()))?;
    Ok(tmp.keep())
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

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn writes_replace_whole_files_and_leave_no_temps() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.bin");
        write_atomic(&p, b"first version").unwrap();
        write_atomic(&p, b"second").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"second");
        assert_eq!(names(dir.path()), ["a.bin"]);
        write_atomic(&dir.path().join("new/sub/b.bin"), b"b").unwrap();
        assert_eq!(fs::read(dir.path().join("new/sub/b.bin")).unwrap(), b"b");
    }

    #[test]
    fn a_failed_write_leaves_the_target_alone_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        // a directory where the file should go: refused before anything is created
        let taken = dir.path().join("taken");
        fs::create_dir(&taken).unwrap();
        let err = format!("{:#}", write_atomic(&taken, b"x").unwrap_err());
        assert!(
            err.contains("taken: exists and is not a regular file"),
            "{err}"
        );
        assert_eq!(names(dir.path()), ["taken"]);
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_targets_are_refused_before_a_byte_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::write(&outside, b"precious").unwrap();
        let run = dir.path().join("run");
        fs::create_dir(&run).unwrap();
        std::os::unix::fs::symlink(&outside, run.join("config.json")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("nowhere"), run.join("metrics.jsonl")).unwrap();

        let err = format!(
            "{:#}",
            write_atomic(&run.join("config.json"), b"x").unwrap_err()
        );
        assert!(err.contains("config.json: is a symbolic link"), "{err}");
        let err = format!(
            "{:#}",
            append_line(&run.join("metrics.jsonl"), "x").unwrap_err()
        );
        assert!(err.contains("metrics.jsonl: is a symbolic link"), "{err}");
        assert_eq!(fs::read(&outside).unwrap(), b"precious");
        assert!(!dir.path().join("nowhere").exists());
        assert_eq!(names(&run), ["config.json", "metrics.jsonl"]);
    }

    #[cfg(unix)]
    #[test]
    fn appending_to_a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("metrics.jsonl");
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = format!("{:#}", append_line(&p, "x").unwrap_err());
        assert!(err.contains("metrics.jsonl"), "{err}");
    }

    #[test]
    fn appends_add_lines_to_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.jsonl");
        append_line(&p, "a").unwrap();
        append_line(&p, "b").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "a\nb\n");
    }

    #[test]
    fn temp_names_are_unique_and_marked() {
        let (a, b) = (temp_name("x"), temp_name("x"));
        assert_ne!(a, b);
        assert!(a.starts_with(".x.") && a.ends_with(TEMP_SUFFIX));
        let dir = tempfile::tempdir().unwrap();
        let t = create_temp_dir(dir.path(), "ckpt-1").unwrap();
        assert!(t.is_dir());
        let n = t.file_name().unwrap().to_string_lossy().into_owned();
        assert!(n.starts_with(".ckpt-1.") && n.ends_with(TEMP_SUFFIX), "{n}");
    }
}
