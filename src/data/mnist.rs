//! MNIST loading: the four IDX files, split the way Goodfellow et al. (2014) used them.
//!
//! The paper follows the usual convention: the first 50,000 images of the training file train the
//! model, the last 10,000 are the validation set (used to pick the Parzen window width), and the
//! 10,000 `t10k` images are the test set. Fashion-MNIST has the same files and sizes and is split
//! the same way ([`load_idx_set`]).

use super::dataset::{Dataset, ImageShape};
use super::idx::read_idx_expect;
use super::idx_set::{IdxSet, FASHION_MNIST, MNIST};
use anyhow::{bail, Result};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Training images (60,000 × 28 × 28).
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
/// Training labels (60,000).
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
/// Test images (10,000 × 28 × 28).
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
/// Test labels (10,000).
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// Rows of the training file that form the training split; the rest are validation.
pub const TRAIN_SPLIT_ROWS: usize = 50_000;

/// Environment variable naming the MNIST directory when no CLI flag is given.
pub const DATA_DIR_ENV: &str = "GAN_DATA_DIR";

/// Directory used when neither the CLI flag nor the environment names one.
pub const DEFAULT_DATA_DIR: &str = "./data/mnist";

/// Which part of MNIST to load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MnistSplit {
    /// Training file rows `0..50000`.
    Train,
    /// Training file rows `50000..60000`.
    Valid,
    /// The `t10k` file, 10,000 rows.
    Test,
    /// Training file rows `0..60000`.
    TrainAll,
}

impl MnistSplit {
    /// All splits, in the order their names are listed in errors.
    pub const ALL: [MnistSplit; 4] = [
        MnistSplit::Train,
        MnistSplit::Valid,
        MnistSplit::Test,
        MnistSplit::TrainAll,
    ];

    /// The name accepted by [`FromStr`]: `train`, `valid`, `test` or `train_all`.
    pub fn name(self) -> &'static str {
        match self {
            MnistSplit::Train => "train",
            MnistSplit::Valid => "valid",
            MnistSplit::Test => "test",
            MnistSplit::TrainAll => "train_all",
        }
    }

    /// The (images, labels) file names this split is read from.
    pub fn files(self) -> (&'static str, &'static str) {
        match self {
            MnistSplit::Test => (TEST_IMAGES, TEST_LABELS),
            _ => (TRAIN_IMAGES, TRAIN_LABELS),
        }
    }

    /// The rows of the file this split takes, or `None` for all of them.
    pub fn row_range(self) -> Option<std::ops::Range<usize>> {
        match self {
            MnistSplit::Train => Some(0..TRAIN_SPLIT_ROWS),
            MnistSplit::Valid => Some(TRAIN_SPLIT_ROWS..60_000),
            MnistSplit::Test | MnistSplit::TrainAll => None,
        }
    }
}

impl fmt::Display for MnistSplit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error for an unrecognised split name; its message lists the valid names.
#[derive(Debug, thiserror::Error)]
#[error("unknown MNIST split {0:?}; valid splits are: train, valid, test, train_all")]
pub struct UnknownSplit(pub String);

impl FromStr for MnistSplit {
    type Err = UnknownSplit;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MnistSplit::ALL
            .into_iter()
            .find(|split| split.name() == s.trim())
            .ok_or_else(|| UnknownSplit(s.to_string()))
    }
}

/// Picks the MNIST directory: the CLI flag if given, else `$GAN_DATA_DIR` if set and non-empty,
/// else `./data/mnist`.
pub fn resolve_data_dir(cli: Option<&Path>) -> PathBuf {
    if let Some(p) = cli {
        return p.to_path_buf();
    }
    match std::env::var_os(DATA_DIR_ENV) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(DEFAULT_DATA_DIR),
    }
}

/// Finds `<name>.gz` or `<name>` in `dir`. The `.gz` wins when both exist because that is what
/// `gan data fetch` writes and repairs; a stale raw copy beside it must not shadow a fresh fetch.
pub fn find_mnist_file(dir: &Path, name: &str) -> Result<PathBuf> {
    find_set_file(&MNIST, dir, name)
}

/// [`find_mnist_file`] for any IDX set: its errors name the set and its fetch command.
pub fn find_set_file(set: &IdxSet, dir: &Path, name: &str) -> Result<PathBuf> {
    let gz = dir.join(format!("{name}.gz"));
    let raw = dir.join(name);
    for p in [&gz, &raw] {
        if p.is_file() {
            return Ok(p.clone());
        }
    }
    bail!(
        "{} file {name} not found: tried {} and {}; download {} with `gan data fetch {} --dir {}`",
        set.label,
        raw.display(),
        gz.display(),
        set.label,
        set.key,
        dir.display()
    )
}

/// How many pixels the images file of `split` in `dir` declares, from its header alone (no
/// inflating): what loading it would hold, for a caller to check against its memory limit.
pub fn declared_pixels(dir: &Path, split: MnistSplit) -> Result<(PathBuf, u64)> {
    declared_set_pixels(&MNIST, dir, split)
}

/// [`declared_pixels`] for any IDX set.
pub fn declared_set_pixels(set: &IdxSet, dir: &Path, split: MnistSplit) -> Result<(PathBuf, u64)> {
    let path = find_set_file(set, dir, split.files().0)?;
    let dims = super::idx::read_dims(&path)?;
    Ok((
        path,
        dims.iter().fold(1u64, |a, &d| a.saturating_mul(d as u64)),
    ))
}

/// Loads one MNIST split from `dir`: pixels scaled by 1/255 into `[0, 1]`, labels kept, image
/// shape taken from the file header (1×28×28 for real MNIST).
pub fn load_mnist(dir: &Path, split: MnistSplit) -> Result<Dataset> {
    load_idx_set(&MNIST, dir, split)
}

/// Loads one Fashion-MNIST split from `dir` (e.g. [`IdxSet::locate`]'s answer), as
/// [`load_mnist`] does; labels are the ten clothing classes.
pub fn load_fashion_mnist(dir: &Path, split: MnistSplit) -> Result<Dataset> {
    load_idx_set(&FASHION_MNIST, dir, split)
}

/// Loads one split of an MNIST-format set from `dir`; the data set is named `<key>-<split>`.
pub fn load_idx_set(set: &IdxSet, dir: &Path, split: MnistSplit) -> Result<Dataset> {
    let (img_name, lbl_name) = split.files();
    let img_path = find_set_file(set, dir, img_name)?;
    let lbl_path = find_set_file(set, dir, lbl_name)?;
    let images = read_idx_expect(&img_path, 3)?;
    let labels = read_idx_expect(&lbl_path, 1)?;

    let (n, height, width) = (images.dims[0], images.dims[1], images.dims[2]);
    if height == 0 || width == 0 {
        bail!(
            "{}: images have zero size {height}×{width}",
            img_path.display()
        );
    }
    if labels.dims[0] != n {
        bail!(
            "{} image/label count mismatch: {} has {n} images but {} has {} labels",
            set.label,
            img_path.display(),
            lbl_path.display(),
            labels.dims[0]
        );
    }
    if let Some((i, &l)) = labels.data.iter().enumerate().find(|(_, &l)| l > 9) {
        bail!(
            "{}: label {l} at index {i} is not a class 0-9",
            lbl_path.display()
        );
    }

    let rows = split.row_range().unwrap_or(0..n);
    if rows.end > n {
        bail!(
            "{}: has {n} images, but split {split} needs rows {}..{}",
            img_path.display(),
            rows.start,
            rows.end
        );
    }
    let dim = height * width;
    let x = images.data[rows.start * dim..rows.end * dim]
        .iter()
        .map(|&p| p as f32 / 255.0)
        .collect();
    Dataset::try_new(
        format!("{}-{split}", set.key),
        x,
        dim,
        Some(labels.data[rows].to_vec()),
        Some(ImageShape::new(1, height, width)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_names_round_trip() {
        for s in MnistSplit::ALL {
            assert_eq!(s.name().parse::<MnistSplit>().unwrap(), s);
            assert_eq!(s.to_string(), s.name());
        }
        let err = "training".parse::<MnistSplit>().unwrap_err().to_string();
        assert!(err.contains("\"training\""), "{err}");
        for name in ["train", "valid", "test", "train_all"] {
            assert!(err.contains(name), "{err}");
        }
    }

    #[test]
    fn resolve_data_dir_precedence() {
        // The only test in this crate touching GAN_DATA_DIR, so no other test races with it.
        let old = std::env::var_os(DATA_DIR_ENV);
        std::env::set_var(DATA_DIR_ENV, "/from/env");
        assert_eq!(
            resolve_data_dir(Some(Path::new("/from/cli"))),
            PathBuf::from("/from/cli")
        );
        assert_eq!(resolve_data_dir(None), PathBuf::from("/from/env"));
        std::env::set_var(DATA_DIR_ENV, "");
        assert_eq!(resolve_data_dir(None), PathBuf::from(DEFAULT_DATA_DIR));
        std::env::remove_var(DATA_DIR_ENV);
        assert_eq!(resolve_data_dir(None), PathBuf::from(DEFAULT_DATA_DIR));
        if let Some(v) = old {
            std::env::set_var(DATA_DIR_ENV, v);
        }
    }

    #[test]
    fn missing_file_names_path_and_fetch_command() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_mnist(dir.path(), MnistSplit::Test)
            .unwrap_err()
            .to_string();
        assert!(err.contains(TEST_IMAGES), "{err}");
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
        assert!(err.contains("gan data fetch mnist --dir"), "{err}");
    }

    #[test]
    fn prefers_gz_then_raw() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"").unwrap();
        assert_eq!(
            find_mnist_file(dir.path(), "f").unwrap(),
            dir.path().join("f")
        );
        std::fs::write(dir.path().join("f.gz"), b"").unwrap();
        assert_eq!(
            find_mnist_file(dir.path(), "f").unwrap(),
            dir.path().join("f.gz")
        );
    }
}
