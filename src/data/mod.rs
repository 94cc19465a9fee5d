//! Data sources for GAN training and evaluation.
//!
//! Everything here produces a [`Dataset`]: MNIST from its IDX files ([`mnist`], [`idx`]),
//! synthetic 1-D and 2-D mixtures ([`toy`]), or a folder of images ([`image_folder`]).
//! [`fetch`] downloads and verifies MNIST. This module depends only on external crates, never
//! on the rest of the engine.

pub mod dataset;
pub mod fetch;
pub mod idx;
pub mod image_folder;
pub mod mnist;
pub mod toy;

pub use dataset::{Dataset, ImageShape};
pub use fetch::{
    fetch_mnist, verify_mnist, FetchOutcome, MnistFile, DEFAULT_MNIST_MIRROR, MNIST_FILES,
};
pub use idx::{parse_idx, read_idx, Idx};
pub use image_folder::{load_image_folder, ColorMode};
pub use mnist::{load_mnist, resolve_data_dir, MnistSplit};
pub use toy::{
    gaussian_1d, grid_2d, grid_centers, ring_2d, ring_centers, try_gaussian_1d, try_grid_2d,
    try_ring_2d, MAX_MODES, MAX_TOY_ROWS,
};
