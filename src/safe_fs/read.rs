//! Reading files from a directory someone else may have prepared: only regular files, never
//! through a symlink, never blocking on a FIFO, never more than the caller allows.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::open::open_no_follow;

/// Opens `path` for reading if it is a regular file and not a symlink; returns it with its
/// size ([`open_no_follow`]).
pub fn open_regular(path: &Path) -> Result<(File, u64)> {
    open_no_follow(path, OpenOptions::new().read(true), "read")
}

/// Reads the whole of `path` if it is a regular file (not a symlink) of at most `max` bytes.
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>> {
    let (f, len) = open_regular(path)?;
    if len > max {
        bail!(
            "{}: {len} bytes, more than the {max} this file may have",
            path.display()
        );
    }
    read_all(f, len, path)
}

/// Reads `len` bytes from `f`, failing if the file holds a different amount (it changed since
/// it was measured).
pub(crate) fn read_all(f: File, len: u64, path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(len as usize);
    f.take(len + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() as u64 != len {
        bail!("{}: the file changed while it was read", path.display());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_small_regular_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"12345").unwrap();
        assert_eq!(read_regular(&p, 5).unwrap(), b"12345");
        let e = format!("{:#}", read_regular(&p, 4).unwrap_err());
        assert!(e.contains("5 bytes, more than the 4"), "{e}");
        let e = format!("{:#}", read_regular(dir.path(), 100).unwrap_err());
        assert!(
            e.contains("not a regular file") || e.contains("reading"),
            "{e}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn fifos_devices_and_symlinks_are_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("model.safetensors");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = format!("{:#}", read_regular(&fifo, 100).unwrap_err());
        assert!(
            e.contains("model.safetensors: is not a regular file"),
            "{e}"
        );
        let e = format!(
            "{:#}",
            read_regular(Path::new("/dev/zero"), 100).unwrap_err()
        );
        assert!(e.contains("/dev/zero: is not a regular file"), "{e}");
        let link = dir.path().join("link");
        std::fs::write(dir.path().join("target"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("target"), &link).unwrap();
        let e = format!("{:#}", read_regular(&link, 100).unwrap_err());
        assert!(e.contains("link: is a symbolic link"), "{e}");
    }
}
