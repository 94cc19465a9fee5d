//! A run directory: where a recipe's outputs go. Every path a recipe names is resolved inside it
//! (no absolute paths, no `..`, no symlinks leading out), and files are written atomically.

use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The folder a run writes into.
#[derive(Clone, Debug)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// Creates (if needed) and opens `root`.
    pub fn create(root: &Path) -> Result<Self> {
        fs::create_dir_all(root)
            .with_context(|| format!("creating run directory {}", root.display()))?;
        let root = root
            .canonicalize()
            .with_context(|| format!("opening run directory {}", root.display()))?;
        Ok(RunDir { root })
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Resolves a relative path a recipe gave, refusing anything that would land outside the run
    /// directory: absolute paths, `..` components, and existing symlinks that point out.
    pub fn resolve(&self, rel: &str) -> Result<PathBuf> {
        let p = Path::new(rel);
        if rel.is_empty() {
            bail!("empty file name");
        }
        for c in p.components() {
            match c {
                Component::Normal(_) | Component::CurDir => {}
                Component::ParentDir => bail!(
                    "`{rel}`: `..` is not allowed; recipes write only inside their run directory"
                ),
                Component::RootDir | Component::Prefix(_) => {
                    bail!("`{rel}`: absolute paths are not allowed; recipes write only inside their run directory")
                }
            }
        }
        let full = self.root.join(p);
        // Follow whatever already exists of the path: a symlink may not lead outside.
        let mut probe = full.clone();
        while !probe.exists() {
            if !probe.pop() {
                break;
            }
        }
        if let Ok(real) = probe.canonicalize() {
            if !real.starts_with(&self.root) {
                bail!(
                    "`{rel}` leads outside the run directory (through a symlink to {})",
                    real.display()
                );
            }
        }
        Ok(full)
    }

    /// Writes `bytes` to `rel` atomically (temp file, fsync, rename).
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<PathBuf> {
        let path = self.resolve(rel)?;
        write_atomic(&path, bytes)?;
        Ok(path)
    }

    /// Appends one line to `rel` (flushed; used for metrics.jsonl).
    pub fn append_line(&self, rel: &str, line: &str) -> Result<()> {
        let path = self.resolve(rel)?;
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        writeln!(f, "{line}").with_context(|| format!("writing {}", path.display()))?;
        f.sync_data().ok();
        Ok(())
    }
}

/// Writes a file so that readers see either the old content or the whole new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| -> Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// Reads a small file a run or sweep directory holds, treating it as hostile: a symlink (even to
/// a file), a FIFO or device (which would block or never end) and anything over `max` bytes are
/// refused with an error naming the file.
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: opening a FIFO must not wait for a writer; checked as a regular file next.
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .with_context(|| format!("opening {} (symlinks are not followed)", path.display()))?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        bail!("{}: not a regular file", path.display());
    }
    if meta.len() > max {
        bail!(
            "{}: {} bytes, more than the {max} allowed",
            path.display(),
            meta.len()
        );
    }
    let mut bytes = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() as u64 > max {
        bail!("{}: grew past the {max} bytes allowed", path.display());
    }
    Ok(bytes)
}

/// The first free directory among `root/stem`, `root/stem-2`, `-3`, … (free: absent or empty),
/// so that running or sweeping the same recipe again never touches the earlier results.
pub fn first_free(root: &Path, stem: &str) -> PathBuf {
    let free = |p: &Path| !p.exists() || fs::read_dir(p).is_ok_and(|mut d| d.next().is_none());
    let first = root.join(stem);
    if free(&first) {
        return first;
    }
    (2..)
        .map(|i| root.join(format!("{stem}-{i}")))
        .find(|p| free(p))
        .expect("some index is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_paths_that_leave_the_run_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunDir::create(&tmp.path().join("run")).unwrap();
        assert!(run.resolve("a/b.png").unwrap().starts_with(run.path()));
        let e = run.resolve("../x").unwrap_err().to_string();
        assert!(e.contains("`..` is not allowed"), "{e}");
        let e = run.resolve("/etc/passwd").unwrap_err().to_string();
        assert!(e.contains("absolute paths are not allowed"), "{e}");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(tmp.path(), run.path().join("out")).unwrap();
            let e = run.write("out/x", b"no").unwrap_err().to_string();
            assert!(e.contains("leads outside"), "{e}");
            assert!(!tmp.path().join("x").exists());
        }
        run.write("sub/ok.txt", b"yes").unwrap();
        assert_eq!(fs::read(run.path().join("sub/ok.txt")).unwrap(), b"yes");
    }

    #[test]
    fn read_regular_refuses_symlinks_fifos_and_big_files() {
        let tmp = tempfile::tempdir().unwrap();
        let ok = tmp.path().join("ok.json");
        fs::write(&ok, b"{}").unwrap();
        assert_eq!(read_regular(&ok, 2).unwrap(), b"{}");
        let e = read_regular(&ok, 1).unwrap_err().to_string();
        assert!(e.contains("2 bytes, more than the 1 allowed"), "{e}");
        let link = tmp.path().join("link.json");
        std::os::unix::fs::symlink(&ok, &link).unwrap();
        let e = format!("{:#}", read_regular(&link, 10).unwrap_err());
        assert!(e.contains("link.json") && e.contains("symlinks"), "{e}");
        let fifo = tmp.path().join("fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let e = read_regular(&fifo, 10).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }
}
