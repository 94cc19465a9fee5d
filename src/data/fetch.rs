//! Downloading and verifying the MNIST files.
//!
//! Each file is fetched as `<base_url>/<name>.gz`, checked against the SHA-256 of the original
//! decompressed IDX bytes (mirrors gzip differently, so hashing the `.gz` would tie us to one
//! mirror), and only then written to `<dir>/<name>.gz` by write-to-temp, fsync, rename. A failed
//! or interrupted fetch therefore never leaves a partial file where the loader would find it.

use super::idx::{is_gzip, maybe_gunzip, read_maybe_gz};
use super::mnist::find_mnist_file;
use crate::digest::sha256_hex;
use crate::safe_fs::write_atomic;
use anyhow::{anyhow, bail, Result};
use flate2::write::GzEncoder;
use flate2::Compression;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A public HTTPS mirror of the four gzipped MNIST files (the one torchvision uses first).
/// `https://storage.googleapis.com/cvdf-datasets/mnist/` serves the same files.
pub const DEFAULT_MNIST_MIRROR: &str = "https://ossci-datasets.s3.amazonaws.com/mnist/";

/// Responses larger than this are refused; the largest file is ~10 MB gzipped, 47 MB raw.
const MAX_DOWNLOAD_BYTES: u64 = 128 << 20;

/// One MNIST file and the SHA-256 of its decompressed IDX bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MnistFile {
    /// File name without `.gz`, e.g. `"train-images-idx3-ubyte"`.
    pub name: &'static str,
    /// Lower-case hex SHA-256 of the decompressed bytes.
    pub sha256: &'static str,
}

/// The four MNIST files, in download order.
pub const MNIST_FILES: [MnistFile; 4] = [
    MnistFile {
        name: "train-images-idx3-ubyte",
        sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    },
    MnistFile {
        name: "train-labels-idx1-ubyte",
        sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    },
    MnistFile {
        name: "t10k-images-idx3-ubyte",
        sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    },
    MnistFile {
        name: "t10k-labels-idx1-ubyte",
        sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
];

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
            FetchOutcome::AlreadyPresent { name, .. } | FetchOutcome::Downloaded { name, .. } => {
                name
            }
        }
    }

    /// Where the valid file now lies.
    pub fn path(&self) -> &Path {
        match self {
            FetchOutcome::AlreadyPresent { path, .. } | FetchOutcome::Downloaded { path, .. } => {
                path
            }
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
    let problems: Vec<String> = MNIST_FILES
        .iter()
        .filter_map(|f| {
            find_mnist_file(dir, f.name)
                .and_then(|p| verify_file(&p, f))
                .err()
                .map(|e| format!("{e:#}"))
        })
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    bail!(
        "MNIST in {} failed verification; re-run `gan data fetch mnist --dir {}`:\n  {}",
        dir.display(),
        dir.display(),
        problems.join("\n  ")
    )
}

/// Makes sure `dir` holds valid copies of all four MNIST files, downloading from `base_url`
/// (with or without a trailing slash) any that are missing or fail verification. Stops at the
/// first failure; files completed before it stay in place.
pub fn fetch_mnist(dir: &Path, base_url: &str) -> Result<Vec<FetchOutcome>> {
    fs::create_dir_all(dir).map_err(|e| anyhow!("cannot create {}: {e}", dir.display()))?;
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(30))
        .timeout_read(Duration::from_secs(60))
        .build();
    let base = base_url.trim_end_matches('/');
    let mut outcomes = Vec::with_capacity(MNIST_FILES.len());
    for file in &MNIST_FILES {
        if let Ok(path) = find_mnist_file(dir, file.name) {
            // An existing but corrupt copy is simply replaced below.
            if verify_file(&path, file).is_ok() {
                outcomes.push(FetchOutcome::AlreadyPresent {
                    name: file.name,
                    path,
                });
                continue;
            }
        }
        let url = format!("{base}/{}.gz", file.name);
        let body = download(&agent, &url, file.name)?;
        let gz = checked_gz(&body, &url, file)?;
        let path = dir.join(format!("{}.gz", file.name));
        write_atomic(&path, &gz)?;
        outcomes.push(FetchOutcome::Downloaded {
            name: file.name,
            path,
            url,
            bytes: body.len() as u64,
        });
    }
    Ok(outcomes)
}

/// GETs `url` into memory, insisting on a 2xx status and a complete body.
fn download(agent: &ureq::Agent, url: &str, name: &str) -> Result<Vec<u8>> {
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
    let mut body = Vec::new();
    resp.into_reader()
        .take(MAX_DOWNLOAD_BYTES + 1)
        .read_to_end(&mut body)
        .map_err(|e| {
            anyhow!(
                "downloading {name} from {url} was interrupted after {} bytes{}: {e}",
                body.len(),
                declared.map_or(String::new(), |n| format!(" of {n}"))
            )
        })?;
    if body.len() as u64 > MAX_DOWNLOAD_BYTES {
        bail!("downloading {name} from {url}: response exceeds {MAX_DOWNLOAD_BYTES} bytes");
    }
    // ureq already errors on a short body; this also covers transports that don't.
    if let Some(n) = declared {
        if n != body.len() as u64 {
            bail!(
                "downloading {name} from {url} was truncated: got {} of {n} bytes",
                body.len()
            );
        }
    }
    Ok(body)
}

/// Verifies a downloaded body against `file`'s checksum and returns the bytes to store gzipped.
/// A body that is not gzip (a server that applied transfer decompression) is compressed here.
fn checked_gz(body: &[u8], url: &str, file: &MnistFile) -> Result<Vec<u8>> {
    let origin = format!("{} downloaded from {url}", file.name);
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
