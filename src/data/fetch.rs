//! Downloading (or copying) and verifying the files of an MNIST-format set (MNIST, Fashion-MNIST).
//!
//! Each file is fetched as `<base_url>/<name>.gz` or read from a local directory, checked against
//! the SHA-256 of the original decompressed IDX bytes (mirrors and Debian gzip differently, so
//! hashing the `.gz` would tie us to one source), and only then written to `<dir>/<name>.gz` by
//! write-to-temp, fsync, rename. A failed or interrupted fetch therefore never leaves a partial
//! file where the loader would find it.

use super::idx::{is_gzip, maybe_gunzip, read_maybe_gz};
use super::idx_set::{IdxSet, MnistFile, MNIST};
use super::mnist::find_set_file;
use crate::digest::sha256_hex;
use crate::safe_fs::{read_regular, write_atomic};
use anyhow::{anyhow, bail, Result};
use flate2::write::GzEncoder;
use flate2::Compression;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Responses and local files larger than this are refused; the largest file is 47 MB raw.
const MAX_DOWNLOAD_BYTES: u64 = 128 << 20;

/// Where [`fetch_idx_set`] takes the files from.
#[derive(Clone, Copy, Debug)]
pub enum FetchSource<'a> {
    /// An HTTP(S) mirror serving `<base>/<name>.gz` (with or without a trailing slash).
    Mirror(&'a str),
    /// A local directory holding `<name>.gz` or `<name>`, e.g. the one a system package
    /// installs: no network needed.
    Dir(&'a Path),
}

/// What [`fetch_mnist`] did for one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchOutcome {
    /// A valid copy was already present; nothing was downloaded.
    AlreadyPresent {
        /// MNIST file name, e.g. `"train-images-idx3-ubyte"`.
        name: &'static str,
        /// The existing valid file (`<name>.gz` or `<name>`).
        path: PathBuf,
    },
    /// The file was copied from a local directory, verified and written.
    Copied {
        /// File name, e.g. `"train-images-idx3-ubyte"`.
        name: &'static str,
        /// Where it was written: `<dir>/<name>.gz`.
        path: PathBuf,
        /// The file it was read from.
        from: PathBuf,
        /// Size of that file in bytes.
        bytes: u64,
    },
    /// The file was downloaded, verified and written.
    Downloaded {
        /// MNIST file name, e.g. `"train-images-idx3-ubyte"`.
        name: &'static str,
        /// Where it was written: `<dir>/<name>.gz`.
        path: PathBuf,
        /// The URL it came from.
        url: String,
        /// Size of the response body in bytes.
        bytes: u64,
    },
}

impl FetchOutcome {
    /// The MNIST file name this outcome is about.
    pub fn name(&self) -> &'static str {
        match self {
            FetchOutcome::AlreadyPresent { name, .. }
            | FetchOutcome::Copied { name, .. }
            | FetchOutcome::Downloaded { name, .. } => name,
        }
    }

    /// Where the valid file now lies.
    pub fn path(&self) -> &Path {
        match self {
            FetchOutcome::AlreadyPresent { path, .. }
            | FetchOutcome::Copied { path, .. }
            | FetchOutcome::Downloaded { path, .. } => path,
        }
    }

    /// True when this fetch downloaded the file.
    pub fn was_downloaded(&self) -> bool {
        matches!(self, FetchOutcome::Downloaded { .. })
    }
}

/// Checks that the file at `path` (raw or gzipped) decompresses to exactly `file`'s bytes.
pub fn verify_file(path: &Path, file: &MnistFile) -> Result<()> {
    let bytes = read_maybe_gz(path)?;
    let got = sha256_hex(&bytes);
    if got != file.sha256 {
        bail!(
            "{}: SHA-256 mismatch for {}: expected {}, found {got} (corrupt or not the original file)",
            path.display(),
            file.name,
            file.sha256
        );
    }
    Ok(())
}

/// Checks all four MNIST files in `dir` (as `<name>.gz` or `<name>`), reporting every problem.
pub fn verify_mnist(dir: &Path) -> Result<()> {
    verify_idx_set(&MNIST, dir)
}

/// [`verify_mnist`] for any IDX set.
pub fn verify_idx_set(set: &IdxSet, dir: &Path) -> Result<()> {
    let problems: Vec<String> = set
        .files
        .iter()
        .filter_map(|f| {
            find_set_file(set, dir, f.name)
                .and_then(|p| verify_file(&p, f))
                .err()
                .map(|e| format!("{e:#}"))
        })
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    bail!(
        "{} in {} failed verification; re-run `gan data fetch {} --dir {}`:\n  {}",
        set.label,
        dir.display(),
        set.key,
        dir.display(),
        problems.join("\n  ")
    )
}

/// Makes sure `dir` holds valid copies of all four MNIST files, downloading from `base_url`
/// (with or without a trailing slash) any that are missing or fail verification. Stops at the
/// first failure; files completed before it stay in place.
pub fn fetch_mnist(dir: &Path, base_url: &str) -> Result<Vec<FetchOutcome>> {
    fetch_idx_set(&MNIST, dir, FetchSource::Mirror(base_url))
}

/// Makes sure `dir` holds valid copies of all four files of `set`, taking any that are missing
/// or fail verification from `source`. Stops at the first failure; files completed before it
/// stay in place.
pub fn fetch_idx_set(set: &IdxSet, dir: &Path, source: FetchSource) -> Result<Vec<FetchOutcome>> {
    fs::create_dir_all(dir).map_err(|e| anyhow!("cannot create {}: {e}", dir.display()))?;
    let agent = agent();
    let mut outcomes = Vec::with_capacity(set.files.len());
    for file in &set.files {
        if let Ok(path) = find_set_file(set, dir, file.name) {
            // An existing but corrupt copy is simply replaced below.
            if verify_file(&path, file).is_ok() {
                outcomes.push(FetchOutcome::AlreadyPresent {
                    name: file.name,
                    path,
                });
                continue;
            }
        }
        let path = dir.join(format!("{}.gz", file.name));
        match source {
            FetchSource::Mirror(base_url) => {
                let url = format!("{}/{}.gz", base_url.trim_end_matches('/'), file.name);
                let body = download(&agent, &url, file.name)?;
                write_atomic(&path, &checked_gz(&body, &url, file)?)?;
                outcomes.push(FetchOutcome::Downloaded {
                    name: file.name,
                    path,
                    url,
                    bytes: body.len() as u64,
                });
            }
            FetchSource::Dir(from_dir) => {
                let from = find_set_file(set, from_dir, file.name)?;
                // A regular file only, never through a symlink, of a bounded size.
                let body = read_regular(&from, MAX_DOWNLOAD_BYTES)?;
                let origin = from.display().to_string();
                write_atomic(&path, &checked_gz(&body, &origin, file)?)?;
                outcomes.push(FetchOutcome::Copied {
                    name: file.name,
                    path,
                    from,
                    bytes: body.len() as u64,
                });
            }
        }
    }
    Ok(outcomes)
}

/// A ureq agent with the timeouts every fetch uses.
pub(crate) fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(30))
        .timeout_read(Duration::from_secs(60))
        .build()
}

/// GETs `url` into memory, insisting on a 2xx status and a complete body.
fn download(agent: &ureq::Agent, url: &str, name: &str) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    download_into(agent, url, name, &mut body, MAX_DOWNLOAD_BYTES)?;
    Ok(body)
}

/// GETs `url` into `out`, insisting on a 2xx status and a complete body of at most `max` bytes;
/// returns its length. `name` says what is downloaded, for errors.
pub(crate) fn download_into(
    agent: &ureq::Agent,
    url: &str,
    name: &str,
    out: &mut dyn Write,
    max: u64,
) -> Result<u64> {
    let resp = match agent.get(url).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(code, r)) => bail!(
            "downloading {name} from {url} failed: HTTP {code} {}",
            r.status_text()
        ),
        Err(ureq::Error::Transport(t)) => {
            bail!("downloading {name} from {url} failed: {t}")
        }
    };
    let declared: Option<u64> = resp
        .header("Content-Length")
        .and_then(|v| v.trim().parse().ok());
    let mut reader = resp.into_reader().take(max + 1);
    let mut buf = vec![0u8; 1 << 16];
    let mut got = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => bail!(
                "downloading {name} from {url} was interrupted after {got} bytes{}: {e}",
                declared.map_or(String::new(), |n| format!(" of {n}"))
            ),
        };
        got += n as u64;
        if got > max {
            bail!("downloading {name} from {url}: response exceeds {max} bytes");
        }
        out.write_all(&buf[..n])
            .map_err(|e| anyhow!("downloading {name} from {url}: cannot store it: {e}"))?;
    }
    // ureq already errors on a short body; this also covers transports that don't.
    if let Some(n) = declared {
        if n != got {
            bail!("downloading {name} from {url} was truncated: got {got} of {n} bytes");
        }
    }
    Ok(got)
}

/// Verifies a downloaded (or copied) body against `file`'s checksum and returns the bytes to store gzipped.
/// A body that is not gzip (a server that applied transfer decompression) is compressed here.
fn checked_gz(body: &[u8], url: &str, file: &MnistFile) -> Result<Vec<u8>> {
    let origin = if url.contains("://") {
        format!("{} downloaded from {url}", file.name)
    } else {
        format!("{} read from {url}", file.name)
    };
    let raw = maybe_gunzip(body, &origin)?;
    let got = sha256_hex(&raw);
    if got != file.sha256 {
        bail!(
            "checksum mismatch for {origin}: expected SHA-256 {}, got {got}",
            file.sha256
        );
    }
    if is_gzip(body) {
        return Ok(body.to_vec());
    }
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(&raw)?;
    Ok(enc.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn checked_gz_accepts_raw_and_gz_rejects_wrong() {
        let file = MnistFile {
            name: "abc",
            sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        };
        let gz = checked_gz(b"abc", "http://x/abc.gz", &file).unwrap();
        assert!(is_gzip(&gz));
        assert_eq!(checked_gz(&gz, "u", &file).unwrap(), gz);
        let err = checked_gz(b"abd", "http://x/abc.gz", &file)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("checksum mismatch")
                && err.contains("abc")
                && err.contains("http://x/abc.gz"),
            "{err}"
        );
    }
}
