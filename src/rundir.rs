//! A run directory: where a recipe's outputs go. Every path a recipe names is resolved inside it
//! (no absolute paths, no `..`, no symlinks leading out), and files are written atomically.

use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};

use crate::run_lock::{self, Acquired, RunLock};
use crate::safe_fs::{append_line, remove_stray_temps, write_atomic};

/// The folder a run writes into. Holding one holds the run's lock ([`crate::run_lock`]).
#[derive(Clone, Debug)]
pub struct RunDir {
    root: PathBuf,
    _lock: Arc<RunLock>,
}

impl RunDir {
    /// Creates (if needed), locks and opens `root`; fails naming the holder if another process
    /// writes it. Taking the lock fresh, it deletes the temporary files a crashed writer left.
    pub fn create(root: &Path) -> Result<Self> {
        fs::create_dir_all(root)
            .with_context(|| format!("creating run directory {}", root.display()))?;
        let root = root
            .canonicalize()
            .with_context(|| format!("opening run directory {}", root.display()))?;
        let lock = match run_lock::acquire(&root)? {
            Acquired::Fresh(l) => {
                remove_stray_temps(&root)?;
                l
            }
            Acquired::Shared(l) => l,
        };
        Ok(RunDir { root, _lock: lock })
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

    /// Writes `bytes` to `rel` for a recipe (`write_json`, images): as [`RunDir::write`], but a
    /// control file of the run ([`control_file`]) is refused, naming it.
    pub fn write_output(&self, rel: &str, bytes: &[u8]) -> Result<PathBuf> {
        if let Some(what) = control_file(rel) {
            bail!("`{rel}`: {what}; recipes may not write it");
        }
        self.write(rel, bytes)
    }

    /// Appends one line to `rel` (flushed, never through a symlink; used for metrics.jsonl).
    pub fn append_line(&self, rel: &str, line: &str) -> Result<()> {
        append_line(&self.resolve(rel)?, line)
    }
}

/// Why `rel` names a file `gan` itself writes and reads back (so a recipe writing it could
/// change how the run is resumed or what it reports), or None for an ordinary output.
pub fn control_file(rel: &str) -> Option<&'static str> {
    let first = Path::new(rel).components().find_map(|c| match c {
        Component::Normal(n) => Some(n.to_string_lossy()),
        _ => None,
    })?;
    let name = first.as_ref();
    let per_gan = |base: &str, ext: &str| {
        name == format!("{base}.{ext}")
            || (name.starts_with(&format!("{base}_")) && name.ends_with(&format!(".{ext}")))
    };
    Some(match name {
        "config.json" => "config.json records how `gan resume` reruns the run",
        "recipe.rhai" => "recipe.rhai is the recipe `gan resume` runs",
        "status.json" => "status.json records the run's state",
        run_lock::LOCK_FILE => "the run's lock file",
        _ if per_gan("metrics", "jsonl") => {
            "metrics files are the run's training log, read back on resume"
        }
        _ if name == "checkpoints" || name.starts_with("checkpoints_") => {
            "checkpoint directories are read back on resume"
        }
        _ if per_gan("weights", "safetensors") => "weights files are the run's trained models",
        _ => return None,
    })
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
        for name in [
            "config.json",
            "./recipe.rhai",
            "metrics.jsonl",
            "metrics_other.jsonl",
            "checkpoints/ckpt-0000000001/manifest.json",
            "checkpoints_b/x",
            "weights.safetensors",
            "weights_b.safetensors",
            "status.json",
            ".gan.lock",
        ] {
            let e = run.write_output(name, b"{}").unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("`{name}`: ")) && e.ends_with("recipes may not write it"),
                "{e}"
            );
        }
        for name in [
            "final.json",
            "sub/config.json",
            "metrics.json",
            "weights.png",
        ] {
            run.write_output(name, b"{}").unwrap();
        }
        assert_eq!(fs::read(run.path().join("sub/ok.txt")).unwrap(), b"yes");
    }
}
