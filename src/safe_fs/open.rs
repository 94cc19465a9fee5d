//! Opening a file in a directory someone else may have prepared.

use std::fs::{File, OpenOptions};
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};

/// Opens `path` with `opts`, never through a symlink (`O_NOFOLLOW`) and never waiting on a FIFO
/// (`O_NONBLOCK`: opening one would otherwise wait for the other end, forever), then checks on
/// the opened file (`fstat`, so it cannot be swapped in between) that it is a regular file.
/// Returns it with its size; `doing` ("read", "append to") words the errors.
pub fn open_no_follow(path: &Path, opts: &mut OpenOptions, doing: &str) -> Result<(File, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let f = opts.open(path).map_err(|e| {
        let link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        if link {
            anyhow!(
                "{}: is a symbolic link; refusing to {doing} it",
                path.display()
            )
        } else {
            anyhow::Error::new(e).context(format!("opening {}", path.display()))
        }
    })?;
    let meta = f
        .metadata()
        .with_context(|| format!("inspecting {}", path.display()))?;
    if !meta.is_file() {
        bail!(
            "{}: is not a regular file (a FIFO, device or directory); refusing to {doing} it",
            path.display()
        );
    }
    Ok((f, meta.len()))
}

/// Like [`open_no_follow`] but through symlinks: for data files, which users link into place
/// (a shared MNIST folder, a distribution's package). Still never waits on a FIFO and refuses
/// anything but a regular file, checked on the opened file.
pub fn open_data_file(path: &Path) -> Result<(File, u64)> {
    let mut opts = OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let f = opts
        .open(path)
        .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
    let meta = f
        .metadata()
        .with_context(|| format!("inspecting {}", path.display()))?;
    if !meta.is_file() {
        bail!(
            "{}: is not a regular file (a FIFO, device or directory); refusing to read it",
            path.display()
        );
    }
    Ok((f, meta.len()))
}
