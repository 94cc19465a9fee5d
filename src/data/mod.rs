//! Data sources for GAN training and evaluation.
//!
//! Everything here produces a [`Dataset`]: MNIST and Fashion-MNIST from their IDX files
//! ([`mnist`], [`idx_set`], [`idx`]), CIFAR-10 from its binary batches ([`cifar10`]),
//! synthetic 1-D and 2-D mixtures ([`toy`]), or a folder of images ([`image_folder`]).
//! [`fetch`] downloads and verifies the IDX sets, [`cifar_fetch`] CIFAR-10's archive;
//! [`pixel_range`] rescales pixels ([-1, 1], global contrast normalisation). This module depends only on external crates, never
//! on the rest of the engine.

pub mod cifar10;
pub mod cifar_fetch;
pub mod dataset;
pub mod fetch;
pub mod idx;
pub mod idx_set;
pub mod image_folder;
pub mod mnist;
pub mod pixel_range;
pub mod toy;

pub use cifar10::{load_cifar10, CifarSplit};
pub use cifar_fetch::{fetch_cifar10, CifarArchive, CIFAR10_ARCHIVE, DEFAULT_CIFAR10_URL};
pub use dataset::{Dataset, ImageShape};
pub use fetch::{
    fetch_idx_set, fetch_mnist, verify_idx_set, verify_mnist, FetchOutcome, FetchSource,
};
pub use idx::{parse_idx, read_idx, Idx};
pub use idx_set::{
    IdxSet, MnistFile, DEBIAN_FASHION_MNIST_DIR, DEFAULT_FASHION_MNIST_MIRROR,
    DEFAULT_MNIST_MIRROR, FASHION_MNIST, FASHION_MNIST_FILES, MNIST, MNIST_FILES,
};
pub use image_folder::{load_image_folder, ColorMode};
pub use mnist::{load_fashion_mnist, load_idx_set, load_mnist, resolve_data_dir, MnistSplit};
pub use pixel_range::{global_contrast_normalize, Gcn, PixelRange};
pub use toy::{
    gaussian_1d, grid_2d, grid_centers, ring_2d, ring_centers, try_gaussian_1d, try_grid_2d,
    try_ring_2d, MAX_MODES, MAX_TOY_ROWS,
};
