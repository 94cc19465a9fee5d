//! `gan data fetch cifar10`: the official `cifar-10-binary.tar.gz`, downloaded (or read from a
//! local copy), checked against its published MD5, and unpacked into the CIFAR-10 folder.
//!
//! The archive is untrusted until its MD5 matches, and a mirror or local file may be hostile
//! anyway, so unpacking takes only the six known `.bin` files from `cifar-10-batches-bin/`,
//! refuses links, devices, absolute paths and `..`, checks each entry's size before and while
//! copying it, and reads at most the expected unpacked size in total. Everything happens in a
//! temporary folder beside the target that is renamed into place only once all six files have
//! their exact sizes: a crash leaves no partial data folder, only a `.tmp` one.

use super::cifar10::{check_records, RECORD_BYTES, TEST_FILE, TRAIN_FILES};
use super::fetch::{agent, download_into};
use crate::safe_fs::{create_dir_durable, create_temp_dir, open_regular, parent_dir, sync_dir};
use anyhow::{anyhow, bail, Context, Result};
use flate2::read::GzDecoder;
use md5::{Digest, Md5};
use std::fs::{self, File};
use std::io::{self, Read, Seek, Write};
use std::path::{Component, Path, PathBuf};

/// File name of the archive on the mirror.
pub const ARCHIVE_NAME: &str = "cifar-10-binary.tar.gz";
/// The folder inside the archive that holds the batches.
pub const ARCHIVE_DIR: &str = "cifar-10-batches-bin";
/// Where the archive is published (Krizhevsky's page); `<this><ARCHIVE_NAME>` is downloaded.
pub const DEFAULT_CIFAR10_URL: &str = "https://www.cs.toronto.edu/~kriz/";
/// The real archive is about 170 MB; anything much larger is not it.
const MAX_ARCHIVE_BYTES: u64 = 256 << 20;

/// What a valid archive is: its MD5 and how many records each of its six files holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CifarArchive<'a> {
    /// Lower-case hex MD5 of the `.tar.gz` file.
    pub md5: &'a str,
    /// Records per `.bin` file (10,000 in the official archive).
    pub records_per_file: usize,
}

/// The official archive, as published with the data set.
pub const CIFAR10_ARCHIVE: CifarArchive<'static> = CifarArchive {
    md5: "c32a1d4ab5d03f1284b67883e8d87530",
    records_per_file: super::cifar10::RECORDS_PER_FILE,
};

/// Where the archive comes from.
#[derive(Clone, Copy, Debug)]
pub enum CifarSource<'a> {
    /// A mirror serving `<base>/cifar-10-binary.tar.gz`.
    Mirror(&'a str),
    /// A local copy of the archive, or a directory holding `cifar-10-binary.tar.gz`.
    Local(&'a Path),
}

/// What [`fetch_cifar10`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CifarOutcome {
    /// All six files were already there with the right sizes.
    AlreadyPresent(PathBuf),
    /// The archive was fetched from `from` (`bytes` long), verified and unpacked into the path.
    Installed {
        /// The CIFAR-10 folder now holding the six files.
        dir: PathBuf,
        /// The URL or file the archive came from.
        from: String,
        /// Size of the archive.
        bytes: u64,
    },
}

/// The six `.bin` files, training batches first.
fn bin_files() -> impl Iterator<Item = &'static str> {
    TRAIN_FILES.iter().copied().chain([TEST_FILE])
}

/// Checks that `dir` holds all six files as regular files of exactly `records_per_file`
/// records, reporting every problem.
pub fn verify_cifar10(dir: &Path, records_per_file: usize) -> Result<()> {
    let want = (records_per_file * RECORD_BYTES) as u64;
    let problems: Vec<String> = bin_files()
        .filter_map(|name| {
            let path = dir.join(name);
            match open_regular(&path) {
                Ok((_, len)) if len == want => None,
                Ok((_, len)) => Some(format!(
                    "{}: {len} bytes, expected {want} ({records_per_file} records of {RECORD_BYTES})",
                    path.display()
                )),
                Err(e) => Some(format!("{e:#}")),
            }
        })
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    bail!(
        "CIFAR-10 in {} failed verification; re-run `gan data fetch cifar10 --dir {}`:\n  {}",
        dir.display(),
        dir.display(),
        problems.join("\n  ")
    )
}

/// Makes sure `dir` holds the six CIFAR-10 files, fetching and unpacking the archive from
/// `source` unless they are already there. `archive` says what the archive must be
/// ([`CIFAR10_ARCHIVE`] for the real one).
pub fn fetch_cifar10(
    dir: &Path,
    source: CifarSource,
    archive: &CifarArchive,
) -> Result<CifarOutcome> {
    if verify_cifar10(dir, archive.records_per_file).is_ok() {
        return Ok(CifarOutcome::AlreadyPresent(dir.to_path_buf()));
    }
    let parent = parent_dir(dir);
    create_dir_durable(&parent)?;
    // The archive goes to an unpredictable temporary file beside the target, removed on drop.
    let mut tar_gz = tempfile::Builder::new()
        .prefix(".cifar-10-binary.")
        .suffix(".tmp")
        .tempfile_in(&parent)
        .with_context(|| format!("creating a temporary file in {}", parent.display()))?;
    let mut hashing = Md5Writer {
        inner: tar_gz.as_file_mut(),
        md5: Md5::new(),
    };
    let (from, bytes) = match source {
        CifarSource::Mirror(base) => {
            let url = format!("{}/{ARCHIVE_NAME}", base.trim_end_matches('/'));
            let n = download_into(
                &agent(),
                &url,
                ARCHIVE_NAME,
                &mut hashing,
                MAX_ARCHIVE_BYTES,
            )?;
            (url, n)
        }
        CifarSource::Local(path) => {
            let path = if path.is_dir() {
                path.join(ARCHIVE_NAME)
            } else {
                path.to_path_buf()
            };
            let (f, len) = open_regular(&path)?;
            if len > MAX_ARCHIVE_BYTES {
                bail!(
                    "{}: {len} bytes, more than a CIFAR-10 archive's {MAX_ARCHIVE_BYTES}",
                    path.display()
                );
            }
            let n = io::copy(&mut f.take(MAX_ARCHIVE_BYTES), &mut hashing)
                .with_context(|| format!("reading {}", path.display()))?;
            (path.display().to_string(), n)
        }
    };
    let got: String = hashing
        .md5
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if got != archive.md5 {
        bail!(
            "checksum mismatch for {ARCHIVE_NAME} from {from}: expected MD5 {}, got {got} \
             (corrupt, truncated or not the CIFAR-10 binary archive); nothing was unpacked",
            archive.md5
        );
    }
    let file = tar_gz.as_file_mut();
    file.flush()?;
    file.rewind()?;
    let staging = create_temp_dir(&parent, "cifar10")?;
    let unpacked = unpack(file, &staging, archive.records_per_file)
        .and_then(|()| verify_cifar10(&staging, archive.records_per_file))
        .with_context(|| format!("unpacking {ARCHIVE_NAME} from {from}"))
        .and_then(|()| install(&staging, dir, &parent));
    if let Err(e) = unpacked {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    Ok(CifarOutcome::Installed {
        dir: dir.to_path_buf(),
        from,
        bytes,
    })
}

/// Moves the complete `staging` folder to `dir`, replacing whatever incomplete copy was there.
fn install(staging: &Path, dir: &Path, parent: &Path) -> Result<()> {
    sync_dir(staging)?;
    let old = if fs::symlink_metadata(dir).is_ok() {
        let old = create_temp_dir(parent, "cifar10-old")?;
        let aside = old.join("old");
        fs::rename(dir, &aside)
            .with_context(|| format!("moving the incomplete {} aside", dir.display()))?;
        Some(old)
    } else {
        None
    };
    fs::rename(staging, dir)
        .with_context(|| format!("moving the unpacked files to {}", dir.display()))?;
    sync_dir(parent)?;
    if let Some(old) = old {
        fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
    }
    Ok(())
}

/// Writes the six `.bin` entries of the gzipped tar `tar_gz` into `dest`; see the module
/// documentation for what is refused.
fn unpack(tar_gz: &mut File, dest: &Path, records_per_file: usize) -> Result<()> {
    let file_bytes = (records_per_file * RECORD_BYTES) as u64;
    // Six files plus headers, readme and metadata; a gzip bomb stops here.
    let max_unpacked = 6 * file_bytes + (16 << 20);
    let mut tar = tar::Archive::new(GzDecoder::new(tar_gz).take(max_unpacked));
    for entry in tar.entries().context("reading the tar archive")? {
        let mut entry = entry.context("reading the tar archive")?;
        let path = entry
            .path()
            .context("an entry's path is not valid")?
            .into_owned();
        let shown = path.display().to_string();
        if path
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            bail!("archive entry {shown:?} points outside the archive (absolute path or `..`); refusing it");
        }
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            bail!("archive entry {shown:?} is a {kind:?}, not a regular file; refusing it");
        }
        let parts: Vec<_> = path
            .components()
            .filter(|c| !matches!(c, Component::CurDir))
            .collect();
        let name = match parts.as_slice() {
            [Component::Normal(d), Component::Normal(n)] if *d == ARCHIVE_DIR => n.to_str(),
            _ => None,
        };
        let Some(name) = name.filter(|n| bin_files().any(|b| b == *n)) else {
            continue; // the readme and label names are not needed
        };
        if entry.size() != file_bytes {
            bail!(
                "archive entry {shown}: {} bytes, expected {file_bytes} ({records_per_file} records of {RECORD_BYTES})",
                entry.size()
            );
        }
        let out_path = dest.join(name);
        let mut out = File::options()
            .write(true)
            .create_new(true)
            .open(&out_path)
            .map_err(|e| {
                anyhow!(
                    "archive entry {shown}: cannot create {}: {e} (is it in the archive twice?)",
                    out_path.display()
                )
            })?;
        let mut bytes = Vec::with_capacity(file_bytes as usize);
        (&mut entry)
            .take(file_bytes + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("archive entry {shown}: reading it"))?;
        if bytes.len() as u64 != file_bytes {
            bail!(
                "archive entry {shown}: ended after {} of {file_bytes} bytes",
                bytes.len()
            );
        }
        check_records(&bytes, Path::new(&shown))?;
        out.write_all(&bytes)
            .and_then(|()| out.sync_all())
            .with_context(|| format!("writing {}", out_path.display()))?;
    }
    Ok(())
}

/// Passes bytes on to a file while hashing them.
struct Md5Writer<'a> {
    inner: &'a mut File,
    md5: Md5,
}

impl Write for Md5Writer<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.md5.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
