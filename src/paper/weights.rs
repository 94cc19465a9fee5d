//! Which weights file a recipe may read: a relative path inside one of a few root directories,
//! with no `..` and no symlink leading out.

use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Result};

/// The first of `roots` holding the regular file `rel`, canonicalised. Refuses an empty or
/// absolute path, `..`, and a symlink that leads outside its root.
pub fn resolve_weights(rel: &str, roots: &[PathBuf]) -> Result<PathBuf> {
    let p = Path::new(rel);
    if rel.is_empty()
        || p.components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        bail!(
            "`{rel}`: recipes read weights only from inside the run directory or the data directory (a relative path, no `..`)"
        );
    }
    let mut tried = Vec::new();
    for root in roots {
        let full = root.join(p);
        if let (Ok(real), Ok(base)) = (full.canonicalize(), root.canonicalize()) {
            if !real.starts_with(&base) {
                bail!(
                    "`{rel}` leads outside {} (through a symlink)",
                    base.display()
                );
            }
            if real.is_file() {
                return Ok(real);
            }
        }
        tried.push(full.display().to_string());
    }
    bail!("no file `{rel}` (looked for {})", tried.join(" and "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_root_and_refuses_escapes() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        std::fs::write(b.path().join("w.safetensors"), b"x").unwrap();
        let roots = [a.path().to_path_buf(), b.path().to_path_buf()];
        let got = resolve_weights("w.safetensors", &roots).unwrap();
        assert_eq!(got, b.path().join("w.safetensors").canonicalize().unwrap());
        for bad in ["", "/etc/passwd", "../w.safetensors", "x/../w.safetensors"] {
            let e = resolve_weights(bad, &roots).unwrap_err().to_string();
            assert!(e.contains("a relative path, no `..`"), "{bad}: {e}");
        }
        std::os::unix::fs::symlink(b.path(), a.path().join("out")).unwrap();
        let e = resolve_weights("out/w.safetensors", &roots)
            .unwrap_err()
            .to_string();
        assert!(e.contains("leads outside"), "{e}");
        let e = resolve_weights("none", &roots).unwrap_err().to_string();
        assert!(e.starts_with("no file `none` (looked for "), "{e}");
    }
}
