//! CIFAR-10 (Krizhevsky 2009) from its official binary version: `data_batch_1.bin` …
//! `data_batch_5.bin` (training, 10,000 images each) and `test_batch.bin` (10,000). Each record
//! is one label byte (0-9) then 3 × 32 × 32 pixel bytes, the red plane, green plane and blue
//! plane, each row-major: exactly the CHW order [`ImageShape`] uses, so rows are copied as they are.
//!
//! The files live in `cifar10/` beside the MNIST directory (`./data/cifar10` for `./data/mnist`),
//! where `gan data fetch cifar10` extracts them.

use super::dataset::{Dataset, ImageShape};
use super::idx_set::sibling_dir;
use crate::safe_fs::read_regular;
use anyhow::{bail, Context, Result};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Side of a CIFAR-10 image in pixels.
pub const SIDE: usize = 32;
/// Colour planes per image.
pub const CHANNELS: usize = 3;
/// Bytes per record: the label, then the pixels.
pub const RECORD_BYTES: usize = 1 + CHANNELS * SIDE * SIDE;
/// Records in each of the six official files.
pub const RECORDS_PER_FILE: usize = 10_000;
/// Bytes in each of the six official files.
pub const FILE_BYTES: usize = RECORDS_PER_FILE * RECORD_BYTES;
/// The training files, in order.
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The test file.
pub const TEST_FILE: &str = "test_batch.bin";
/// Name of the folder beside the MNIST directory.
pub const DIR_NAME: &str = "cifar10";

/// The folder CIFAR-10 is read from for the MNIST directory `data_dir`.
pub fn cifar10_dir(data_dir: &Path) -> PathBuf {
    sibling_dir(data_dir, DIR_NAME)
}

/// Which part of CIFAR-10 to load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CifarSplit {
    /// The five training batches, 50,000 images.
    Train,
    /// The test batch, 10,000 images.
    Test,
}

impl CifarSplit {
    /// `train` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            CifarSplit::Train => "train",
            CifarSplit::Test => "test",
        }
    }

    /// The files this split is read from, in order.
    pub fn files(self) -> &'static [&'static str] {
        match self {
            CifarSplit::Train => &TRAIN_FILES,
            CifarSplit::Test => std::slice::from_ref(&TEST_FILE),
        }
    }
}

impl fmt::Display for CifarSplit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CifarSplit {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "train" => Ok(CifarSplit::Train),
            "test" => Ok(CifarSplit::Test),
            other => bail!("unknown CIFAR-10 split {other:?}; valid splits are: train, test (slice train for a validation set)"),
        }
    }
}

/// Bytes the files of `split` in `dir` hold, from their sizes alone: what loading would take
/// as pixels, for a caller to check against its memory limit. Missing files count 0.
pub fn declared_bytes(dir: &Path, split: CifarSplit) -> u64 {
    split
        .files()
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

/// Checks that `bytes`, read from `path`, are whole records with labels 0-9; returns the count.
pub fn check_records(bytes: &[u8], path: &Path) -> Result<usize> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD_BYTES) {
        bail!(
            "{}: {} bytes is not a whole number of CIFAR-10 records ({RECORD_BYTES} bytes each: \
             1 label + 3×32×32 pixels); the file is truncated or not CIFAR-10's binary version",
            path.display(),
            bytes.len()
        );
    }
    if let Some(i) = bytes.chunks_exact(RECORD_BYTES).position(|r| r[0] > 9) {
        bail!(
            "{}: record {i} has label {}, not a class 0-9",
            path.display(),
            bytes[i * RECORD_BYTES]
        );
    }
    Ok(bytes.len() / RECORD_BYTES)
}

/// Loads one split from `dir`: images as `3 × 32 × 32` CHW rows in `[0, 1]` (byte / 255),
/// labels kept. Any whole number of records per file is accepted (the official files hold
/// 10,000; `gan data fetch cifar10` checks that).
pub fn load_cifar10(dir: &Path, split: CifarSplit) -> Result<Dataset> {
    let max = FILE_BYTES as u64;
    let mut x = Vec::new();
    let mut labels = Vec::new();
    for name in split.files() {
        let path = dir.join(name);
        if !path.exists() {
            bail!(
                "CIFAR-10 file {} not found; download CIFAR-10 with `gan data fetch cifar10 --dir {}`",
                path.display(),
                dir.display()
            );
        }
        let bytes =
            read_regular(&path, max).with_context(|| format!("reading CIFAR-10 {split}"))?;
        let n = check_records(&bytes, &path)?;
        x.reserve(n * (RECORD_BYTES - 1));
        for record in bytes.chunks_exact(RECORD_BYTES) {
            labels.push(record[0]);
            x.extend(record[1..].iter().map(|&p| p as f32 / 255.0));
        }
    }
    let shape = ImageShape::new(CHANNELS, SIDE, SIDE);
    Dataset::try_new(
        format!("cifar10-{split}"),
        x,
        shape.len(),
        Some(labels),
        Some(shape),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record of class `label` whose pixel `p` (CHW index) is `(p + seed) % 256`.
    fn record(label: u8, seed: usize) -> Vec<u8> {
        let mut r = vec![label];
        r.extend((0..RECORD_BYTES - 1).map(|p| ((p + seed) % 256) as u8));
        r
    }

    fn write_split(dir: &Path, files: &[&str], per_file: usize) {
        for (f, name) in files.iter().enumerate() {
            let bytes: Vec<u8> = (0..per_file)
                .flat_map(|i| record(((f * per_file + i) % 10) as u8, f * 100 + i))
                .collect();
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }

    #[test]
    fn reads_records_in_chw_order_with_labels() {
        let dir = tempfile::tempdir().unwrap();
        write_split(dir.path(), &TRAIN_FILES, 3);
        let d = load_cifar10(dir.path(), CifarSplit::Train).unwrap();
        assert_eq!(d.rows(), 15);
        assert_eq!(d.dim, 3072);
        assert_eq!(d.image_chw(), Some([3, 32, 32]));
        assert_eq!(d.name, "cifar10-train");
        let labels: Vec<u8> = (0..15).map(|i| (i % 10) as u8).collect();
        assert_eq!(d.labels(), Some(&labels[..]));
        // Row 4 is file 1's record 1 (seed 101): its green plane starts at CHW index 1024.
        let row = d.row(4);
        assert_eq!(row[0], 101.0 / 255.0);
        assert_eq!(row[1024], ((1024 + 101) % 256) as f32 / 255.0);
        assert_eq!(row[3071], ((3071 + 101) % 256) as f32 / 255.0);
    }

    #[test]
    fn bad_files_are_refused_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let e = format!(
            "{:#}",
            load_cifar10(dir.path(), CifarSplit::Test).unwrap_err()
        );
        assert!(
            e.contains("test_batch.bin") && e.contains("gan data fetch cifar10"),
            "{e}"
        );
        let path = dir.path().join(TEST_FILE);
        let mut bytes = record(3, 0);
        bytes.extend(&record(4, 1)[..100]);
        std::fs::write(&path, &bytes).unwrap();
        let e = format!(
            "{:#}",
            load_cifar10(dir.path(), CifarSplit::Test).unwrap_err()
        );
        assert!(
            e.contains("test_batch.bin") && e.contains(&format!("{} bytes", RECORD_BYTES + 100)),
            "{e}"
        );
        let mut bytes = record(3, 0);
        bytes.extend(record(10, 1));
        std::fs::write(&path, &bytes).unwrap();
        let e = format!(
            "{:#}",
            load_cifar10(dir.path(), CifarSplit::Test).unwrap_err()
        );
        assert!(e.contains("record 1 has label 10"), "{e}");
        assert!("valid".parse::<CifarSplit>().is_err());
    }
}
