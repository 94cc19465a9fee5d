//! A GAN's metrics file (`metrics.jsonl`, one JSON line per epoch) read back: cut to a
//! checkpoint's length on resume, counted when a checkpoint is taken, parsed into the history the
//! diagnostics read.

use std::fs;
use std::io::BufRead;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};

use crate::engine::EpochMetrics;

/// The most a run's metrics file may hold when read back (a line is ~300 bytes: millions of
/// epochs fit). A received run directory may hold anything under that name: it is read as a
/// bounded regular file, never through a symlink and never blocking on a FIFO.
const MAX_METRICS_BYTES: u64 = 1 << 30;

fn open_metrics(path: &Path) -> Result<fs::File> {
    let (f, len) = crate::safe_fs::open_regular(path)?;
    if len > MAX_METRICS_BYTES {
        bail!(
            "{}: {len} bytes, more than the {MAX_METRICS_BYTES} a metrics file may have",
            path.display()
        );
    }
    Ok(f)
}

fn read_metrics(path: &Path) -> Result<Vec<u8>> {
    crate::safe_fs::read_regular(path, MAX_METRICS_BYTES)
}

/// Keeps the first `n` lines of `path` (atomically); returns how many lines it had, up to `n`.
pub fn truncate_lines(path: &Path, n: usize) -> Result<usize> {
    let f = open_metrics(path)?;
    let mut kept = Vec::new();
    let mut count = 0;
    let mut reader = std::io::BufReader::new(f);
    let mut line = Vec::new();
    while count < n {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("reading {}", path.display()))?;
        if read == 0 {
            break;
        }
        if !line.ends_with(b"\n") {
            break; // a line cut short by a crash is not a line
        }
        kept.extend_from_slice(&line);
        count += 1;
    }
    crate::safe_fs::write_atomic(path, &kept)?;
    Ok(count)
}

/// Every line of a metrics file as epoch metrics.
pub fn read_history(path: &Path) -> Result<Vec<EpochMetrics>> {
    let text = String::from_utf8(read_metrics(path)?)
        .map_err(|_| anyhow!("{}: not UTF-8 text", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| anyhow!("{}:{}: not a metrics line: {e}", path.display(), i + 1))
        })
        .collect()
}

/// Number of complete lines in `path` (0 if it does not exist).
pub fn count_lines(path: &Path) -> Result<u64> {
    if !path.exists() {
        return Ok(0);
    }
    let bytes = read_metrics(path)?;
    Ok(bytes.iter().filter(|&&b| b == b'\n').count() as u64)
}
