//! Cleaning up after a crash: a process killed between creating a temporary file (or
//! checkpoint directory) and renaming it into place leaves `.<name>.<random>.tmp` behind.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

use super::write::TEMP_SUFFIX;

/// How deep below the run directory to look (outputs go a few folders deep at most).
const MAX_DEPTH: usize = 8;

/// Deletes every temporary file or directory (`.<…>.tmp`) in `dir` and its subdirectories,
/// never following a symlink. Call it only while holding the directory's lock (see
/// [`crate::run_lock`]), when no other writer can be mid-write. Returns how many were deleted.
pub fn remove_stray_temps(dir: &Path) -> Result<usize> {
    remove_in(dir, 0)
}

fn remove_in(dir: &Path, depth: usize) -> Result<usize> {
    let mut n = 0;
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // `file_type` does not follow symlinks: a link is never entered nor deleted by type.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if name.starts_with('.') && name.ends_with(TEMP_SUFFIX) && !kind.is_symlink() {
            if kind.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            }
            .with_context(|| format!("deleting the stray temporary {}", path.display()))?;
            n += 1;
        } else if kind.is_dir() && depth < MAX_DEPTH {
            n += remove_in(&path, depth + 1)?;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletes_temps_at_any_depth_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir_all(d.join("checkpoints/.ckpt-0000000010.ab12cd.tmp")).unwrap();
        fs::write(
            d.join("checkpoints/.ckpt-0000000010.ab12cd.tmp/model.safetensors"),
            b"x",
        )
        .unwrap();
        fs::write(d.join(".config.json.Xy12zz.tmp"), b"{").unwrap();
        fs::create_dir_all(d.join("sub")).unwrap();
        fs::write(d.join("sub/.a.png.QQ.tmp"), b"x").unwrap();
        for keep in ["config.json", "notes.tmp", ".hidden", "sub/a.png"] {
            fs::write(d.join(keep), b"keep").unwrap();
        }
        #[cfg(unix)]
        {
            let outside = tempfile::tempdir().unwrap();
            fs::write(outside.path().join(".victim.tmp"), b"keep").unwrap();
            std::os::unix::fs::symlink(outside.path(), d.join("out")).unwrap();
            std::os::unix::fs::symlink(outside.path().join(".victim.tmp"), d.join(".l.tmp"))
                .unwrap();
            assert_eq!(remove_stray_temps(d).unwrap(), 3);
            assert!(outside.path().join(".victim.tmp").exists());
            assert!(fs::symlink_metadata(d.join(".l.tmp")).is_ok());
        }
        #[cfg(not(unix))]
        assert_eq!(remove_stray_temps(d).unwrap(), 3);
        assert!(!d.join(".config.json.Xy12zz.tmp").exists());
        assert!(!d.join("sub/.a.png.QQ.tmp").exists());
        assert_eq!(fs::read_dir(d.join("checkpoints")).unwrap().count(), 0);
        for keep in ["config.json", "notes.tmp", ".hidden", "sub/a.png"] {
            assert!(d.join(keep).exists(), "{keep}");
        }
    }
}
