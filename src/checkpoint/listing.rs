//! Finding, pruning and cleaning up checkpoint directories.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{Checkpoint, Tampered, DIR_PREFIX};
use crate::safe_fs::{sync_dir, temp_name, TEMP_SUFFIX};

/// The step of a checkpoint directory name (`ckpt-0000001234` → 1234); None for anything else,
/// temporary directories (`.ckpt-….tmp`) included.
fn step_of(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(DIR_PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Every `ckpt-<step>` directory in `dir`, complete or not, oldest (lowest step) first.
/// A missing `dir` has none.
pub fn list(dir: impl AsRef<Path>) -> Result<Vec<(u64, PathBuf)>> {
    let dir = dir.as_ref();
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let Some(step) = entry.file_name().to_str().and_then(step_of) else {
            continue;
        };
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            out.push((step, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// The newest complete checkpoint in `dir`: the highest step whose manifest is present and
/// whose files match their recorded digests. Incomplete or corrupt ones and temporary
/// directories are skipped; None if there is none (or `dir` cannot be read, or the newest
/// one that is not incomplete was edited: see [`latest_checked`]).
pub fn latest(dir: impl AsRef<Path>) -> Option<PathBuf> {
    latest_checked(dir).ok().flatten()
}

/// As [`latest`], but a checkpoint that was edited or planted ([`Tampered`]: a manifest whose
/// seal or position does not match, a file that is a symlink, FIFO or device) is an error
/// rather than skipped: going back to an older checkpoint would hide it.
pub fn latest_checked(dir: impl AsRef<Path>) -> Result<Option<PathBuf>> {
    for (_, p) in list(dir)?.into_iter().rev() {
        match Checkpoint::verify(&p) {
            Ok(_) => return Ok(Some(p)),
            Err(e) if e.is::<Tampered>() => return Err(e),
            Err(_) => {}
        }
    }
    Ok(None)
}

/// Keeps the newest `k` complete checkpoints of `dir` (at least one: the newest complete one
/// is never deleted) and deletes every checkpoint directory older than the oldest kept one.
/// Incomplete directories newer than that are left for inspection. Returns what was deleted.
pub fn keep_last(dir: impl AsRef<Path>, k: usize) -> Result<Vec<PathBuf>> {
    let dir = dir.as_ref();
    let all = list(dir)?;
    let k = k.max(1);
    // Walk from the newest, counting complete checkpoints until `k` are found: only
    // verified ones count, so a corrupt newest one cannot push a good one out.
    let mut kept = 0;
    let mut cut = None;
    for (i, (_, p)) in all.iter().enumerate().rev() {
        if Checkpoint::verify(p).is_ok() {
            kept += 1;
            if kept == k {
                cut = Some(i);
                break;
            }
        }
    }
    let Some(cut) = cut else {
        return Ok(Vec::new()); // fewer than k complete: keep everything
    };
    let mut removed = Vec::new();
    for (_, p) in &all[..cut] {
        remove_dir_safely(dir, p)?;
        removed.push(p.clone());
    }
    if !removed.is_empty() {
        sync_dir(dir)?;
    }
    Ok(removed)
}

/// Deletes a checkpoint directory by first renaming it to a temporary name, so that a crash
/// during the deletion cannot leave a half-deleted `ckpt-*` directory behind.
fn remove_dir_safely(dir: &Path, p: &Path) -> Result<()> {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let doomed = dir.join(temp_name(&format!("{name}.deleted")));
    fs::rename(p, &doomed).with_context(|| format!("moving aside {}", p.display()))?;
    fs::remove_dir_all(&doomed).with_context(|| format!("deleting {}", doomed.display()))
}

/// Deletes leftover temporary checkpoint directories (`.ckpt-….tmp`) in `dir`, as left by a
/// crash mid-save. Call it when no other process is saving into `dir`. Returns how many.
pub fn remove_stale_temps(dir: impl AsRef<Path>) -> Result<usize> {
    let dir = dir.as_ref();
    if !dir.exists() {
        return Ok(0);
    }
    let mut n = 0;
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let temp = name.starts_with(&format!(".{DIR_PREFIX}")) && name.ends_with(TEMP_SUFFIX);
        if temp && entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            fs::remove_dir_all(entry.path())
                .with_context(|| format!("deleting {}", entry.path().display()))?;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_checkpoint_names_have_steps() {
        assert_eq!(step_of("ckpt-0000001234"), Some(1234));
        assert_eq!(step_of("ckpt-12"), Some(12));
        assert_eq!(step_of(".ckpt-0000001234.77.0.tmp"), None);
        assert_eq!(step_of("ckpt-0000001234.77.0.tmp"), None);
        assert_eq!(step_of("ckpt-"), None);
        assert_eq!(step_of("model.safetensors"), None);
    }
}
