//! The in-memory dataset type every data source produces.
//!
//! A [`Dataset`] is a dense row-major matrix of `f32` features plus optional per-row labels and an
//! optional image shape. Training code draws minibatches of rows from it; evaluation code reads
//! summary statistics. Nothing here knows where the data came from.

use anyhow::{bail, ensure, Result};
use serde::{Deserialize, Serialize};
use std::ops::Range;

pub use super::pixel_range::PixelRange;
use super::pixel_range::{global_contrast_normalize, unit_to_symmetric, Gcn};

/// Shape of one image row: rows of an image dataset are `channels * height * width` values in
/// CHW order (channel-major: all of channel 0, then channel 1, …), as CIFAR-10's binary files
/// store them and as convolution layers read them. For one channel this is plain row-major.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageShape {
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
    /// Planes per image: 1 for grayscale, 3 for RGB.
    pub channels: usize,
    /// What the values mean as pixel intensities: how a sample grid turns them into bytes.
    #[serde(default)]
    pub range: PixelRange,
}

impl ImageShape {
    /// A `channels × height × width` image of `[0, 1]` values (the order conv layers use).
    pub fn new(channels: usize, height: usize, width: usize) -> ImageShape {
        ImageShape {
            height,
            width,
            channels,
            range: PixelRange::Unit,
        }
    }

    /// The same geometry with values meaning `range`.
    pub fn with_range(self, range: PixelRange) -> ImageShape {
        ImageShape { range, ..self }
    }

    /// `[channels, height, width]`: the shape a conv stack's input takes.
    pub fn chw(&self) -> [usize; 3] {
        [self.channels, self.height, self.width]
    }

    /// Number of `f32` values in one image row (`height * width * channels`).
    pub fn len(&self) -> usize {
        self.height * self.width * self.channels
    }

    /// True when the shape holds no values at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An in-memory dataset: `rows()` examples of `dim` `f32` features, row-major in `x`.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Human-readable name, e.g. `"mnist-train"` or `"ring_2d"`.
    pub name: String,
    /// Row-major feature matrix, `rows() * dim` values.
    pub x: Vec<f32>,
    /// Features per row.
    pub dim: usize,
    /// One class label per row, when the source has them (MNIST digits, toy mixture components).
    pub labels: Option<Vec<u8>>,
    /// Set for image datasets; then `image.len() == dim`.
    pub image: Option<ImageShape>,
}

impl Dataset {
    /// Builds a dataset after checking that the parts agree with each other: `x` is a whole number
    /// of rows, there is one label per row, and the image shape (if any) matches `dim`.
    pub fn try_new(
        name: impl Into<String>,
        x: Vec<f32>,
        dim: usize,
        labels: Option<Vec<u8>>,
        image: Option<ImageShape>,
    ) -> Result<Dataset> {
        let name = name.into();
        ensure!(dim > 0, "dataset {name}: dim must be positive");
        ensure!(
            x.len().is_multiple_of(dim),
            "dataset {name}: {} values is not a whole number of rows of {dim}",
            x.len()
        );
        let rows = x.len() / dim;
        if let Some(l) = &labels {
            ensure!(
                l.len() == rows,
                "dataset {name}: {} labels for {rows} rows",
                l.len()
            );
        }
        if let Some(shape) = image {
            ensure!(
                shape.len() == dim,
                "dataset {name}: image shape {}x{}x{} has {} values but dim is {dim}",
                shape.height,
                shape.width,
                shape.channels,
                shape.len()
            );
        }
        Ok(Dataset {
            name,
            x,
            dim,
            labels,
            image,
        })
    }

    /// Panicking convenience for [`Dataset::try_new`].
    pub fn new(
        name: impl Into<String>,
        x: Vec<f32>,
        dim: usize,
        labels: Option<Vec<u8>>,
        image: Option<ImageShape>,
    ) -> Dataset {
        Self::try_new(name, x, dim, labels, image).unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// The per-row class labels, when the source has them.
    pub fn labels(&self) -> Option<&[u8]> {
        self.labels.as_deref()
    }

    /// `[channels, height, width]` of an image dataset; `None` for flat (toy) data.
    pub fn image_chw(&self) -> Option<[usize; 3]> {
        self.image.map(|s| s.chw())
    }

    /// Number of examples.
    pub fn rows(&self) -> usize {
        // A zero dim only arises from a hand-built struct; treat it as empty rather than divide by 0.
        self.x.len().checked_div(self.dim).unwrap_or(0)
    }

    /// True when the dataset has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows() == 0
    }

    /// Row `i`, or an error when `i` is out of range.
    pub fn try_row(&self, i: usize) -> Result<&[f32]> {
        let rows = self.rows();
        ensure!(
            i < rows,
            "dataset {}: row {i} out of range (0..{rows})",
            self.name
        );
        Ok(&self.x[i * self.dim..(i + 1) * self.dim])
    }

    /// Row `i`. Panics when `i >= rows()`.
    pub fn row(&self, i: usize) -> &[f32] {
        self.try_row(i).unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// A copy of rows `range` (labels sliced alongside), or an error when the range does not fit.
    /// The name is kept: a slice is still "mnist-train", just fewer rows of it.
    pub fn try_slice(&self, range: Range<usize>) -> Result<Dataset> {
        let rows = self.rows();
        if range.start > range.end || range.end > rows {
            bail!(
                "dataset {}: slice {}..{} out of range (0..{rows})",
                self.name,
                range.start,
                range.end
            );
        }
        Ok(Dataset {
            name: self.name.clone(),
            x: self.x[range.start * self.dim..range.end * self.dim].to_vec(),
            dim: self.dim,
            labels: self.labels.as_ref().map(|l| l[range.clone()].to_vec()),
            image: self.image,
        })
    }

    /// Panicking convenience for [`Dataset::try_slice`].
    pub fn slice(&self, range: Range<usize>) -> Dataset {
        self.try_slice(range).unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// Copies the rows named by `indices` (in that order, repeats allowed) into one row-major
    /// buffer of `indices.len() * dim` values: the shape a minibatch tensor wants.
    pub fn try_gather(&self, indices: &[usize]) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(indices.len() * self.dim);
        for &i in indices {
            out.extend_from_slice(self.try_row(i)?);
        }
        Ok(out)
    }

    /// Panicking convenience for [`Dataset::try_gather`].
    pub fn gather(&self, indices: &[usize]) -> Vec<f32> {
        self.try_gather(indices).unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// Mean of all values (accumulated in `f64`); `NaN` for an empty dataset.
    pub fn mean(&self) -> f64 {
        if self.x.is_empty() {
            return f64::NAN;
        }
        self.x.iter().map(|&v| v as f64).sum::<f64>() / self.x.len() as f64
    }

    /// Population standard deviation of all values (divides by N); `NaN` for an empty dataset.
    pub fn std(&self) -> f64 {
        let mean = self.mean();
        if mean.is_nan() {
            return f64::NAN;
        }
        // Two passes: the one-pass sum-of-squares formula loses precision on 47M values.
        let var = self
            .x
            .iter()
            .map(|&v| {
                let d = v as f64 - mean;
                d * d
            })
            .sum::<f64>()
            / self.x.len() as f64;
        var.sqrt()
    }

    /// Per-feature means over all rows (`dim` values); `NaN`s when the dataset is empty.
    pub fn column_means(&self) -> Vec<f32> {
        let rows = self.rows();
        let mut acc = vec![0f64; self.dim];
        for row in self.x.chunks_exact(self.dim.max(1)) {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += v as f64;
            }
        }
        acc.into_iter().map(|a| (a / rows as f64) as f32).collect()
    }

    /// How many rows carry each label: entry `k` counts label `k`, up to the largest label seen.
    /// `None` when the dataset has no labels.
    pub fn label_counts(&self) -> Option<Vec<usize>> {
        let labels = self.labels.as_ref()?;
        let max = labels.iter().copied().max().map_or(0, |m| m as usize + 1);
        let mut counts = vec![0usize; max];
        for &l in labels {
            counts[l as usize] += 1;
        }
        Some(counts)
    }
}

/// Rescaling after loading: the pixel range, and global contrast normalisation.
impl Dataset {
    /// A copy of this `[0, 1]` image dataset with its values in `range`. Refused for flat data
    /// (no pixel meaning) and for data already moved out of `[0, 1]`.
    pub fn try_with_range(&self, range: PixelRange) -> Result<Dataset> {
        let Some(shape) = self.image else {
            bail!(
                "dataset {}: a pixel range applies to image data only",
                self.name
            );
        };
        ensure!(
            shape.range == PixelRange::Unit || shape.range == range,
            "dataset {}: values are already {}; a range is chosen once, when loading",
            self.name,
            shape.range
        );
        let mut out = self.clone();
        if shape.range != range {
            unit_to_symmetric(&mut out.x);
            out.image = Some(shape.with_range(range));
        }
        Ok(out)
    }

    /// A copy with every row globally contrast-normalised (see [`global_contrast_normalize`]);
    /// images are then drawn as [`PixelRange::Contrast`].
    pub fn try_gcn(&self, p: &Gcn) -> Result<Dataset> {
        let mut out = self.clone();
        global_contrast_normalize(&mut out.x, self.dim, p)?;
        out.image = self.image.map(|s| s.with_range(PixelRange::Contrast));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Dataset {
        // 3 rows of 2: [1,2], [3,4], [5,6]
        Dataset::new(
            "t",
            vec![1., 2., 3., 4., 5., 6.],
            2,
            Some(vec![0, 2, 2]),
            None,
        )
    }

    #[test]
    fn rows_and_row() {
        let d = small();
        assert_eq!(d.rows(), 3);
        assert_eq!(d.row(1), &[3., 4.]);
        assert!(d.try_row(3).is_err());
    }

    #[test]
    fn slice_keeps_labels_and_checks_range() {
        let d = small();
        let s = d.slice(1..3);
        assert_eq!(s.x, vec![3., 4., 5., 6.]);
        assert_eq!(s.labels, Some(vec![2, 2]));
        assert_eq!(d.slice(2..2).rows(), 0);
        let err = d.try_slice(2..4).unwrap_err().to_string();
        assert!(err.contains("2..4") && err.contains("0..3"), "{err}");
        #[allow(clippy::reversed_empty_ranges)]
        let reversed = 2..1;
        assert!(d.try_slice(reversed).is_err());
    }

    #[test]
    fn statistics() {
        let d = small();
        assert!((d.mean() - 3.5).abs() < 1e-12);
        // population variance of 1..=6 is 35/12
        assert!((d.std() - (35f64 / 12.).sqrt()).abs() < 1e-12);
        assert_eq!(d.column_means(), vec![3., 4.]);
        assert_eq!(d.label_counts(), Some(vec![1, 0, 2]));
        let empty = d.slice(0..0);
        assert!(empty.mean().is_nan() && empty.std().is_nan());
    }

    #[test]
    fn gather_in_order() {
        let d = small();
        assert_eq!(d.gather(&[2, 0, 2]), vec![5., 6., 1., 2., 5., 6.]);
        assert!(d.try_gather(&[0, 9]).is_err());
    }

    #[test]
    fn try_new_validates() {
        assert!(Dataset::try_new("a", vec![1.; 5], 2, None, None).is_err());
        assert!(Dataset::try_new("a", vec![1.; 4], 2, Some(vec![0]), None).is_err());
        let shape = ImageShape::new(1, 2, 2);
        assert!(Dataset::try_new("a", vec![1.; 8], 4, None, Some(shape)).is_ok());
        assert!(Dataset::try_new("a", vec![1.; 8], 2, None, Some(shape)).is_err());
        assert!(Dataset::try_new("a", vec![], 0, None, None).is_err());
    }
}
