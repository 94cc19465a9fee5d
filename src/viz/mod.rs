//! Pictures of what a GAN does: sample grids (the paper's Figures 2 and 3),
//! line and scatter plots of training curves, and the paper's Figure 1 on a
//! 1-D toy problem. Everything renders to an in-memory [`image::RgbImage`];
//! [`encode_png`] / [`save_png`] turn that into bytes or a file.
//!
//! This module is self-contained: it depends only on external crates, so it can
//! be built and tested on its own.
//!
//! Text (titles, axis labels, legends) needs a TrueType font found on the
//! system at run time (see [`text_available`]); without one, plots are drawn
//! without text instead of failing.

mod canvas;
mod density;
mod figure1;
mod font;
mod grid;
mod nn;
mod plot;
mod png;

pub use figure1::{figure1, Figure1Panel, DATA_COLOR, D_COLOR, GEN_COLOR};
pub use font::{text_available, FONT_ENV};
pub use grid::{
    figure2_grid, interpolation_grid, sample_grid, FIGURE2_PAD, FIGURE2_PAD_COLOR, GRID_PAD_COLOR,
};
pub use nn::nearest_rows;
pub use plot::{line_plot, line_plots, scatter_2d, Series, FAKE_COLOR, REAL_COLOR};
pub use png::{encode_png, save_png};

/// Geometry of one sample image (CHW rows; 1 or 3 channels; values in its `range`): the data module's type.
pub use crate::data::ImageShape;

/// Values in one sample: `height * width * channels`.
///
/// A free function rather than a method so that [`ImageShape`] can later be
/// replaced by another type with the same fields without touching callers.
fn values_per_image(shape: ImageShape) -> usize {
    shape.height * shape.width * shape.channels
}

/// Checks that `shape` is drawable and that `len` values hold a whole number
/// of samples of it; returns how many samples that is.
fn count_images(shape: ImageShape, len: usize) -> anyhow::Result<usize> {
    let ImageShape {
        height,
        width,
        channels,
        ..
    } = shape;
    anyhow::ensure!(
        height > 0 && width > 0,
        "image shape {height}x{width}x{channels} has no pixels"
    );
    anyhow::ensure!(
        channels == 1 || channels == 3,
        "image shape {height}x{width}x{channels}: only 1 (grey) or 3 (RGB) channels can be drawn"
    );
    let dim = values_per_image(shape);
    anyhow::ensure!(
        len.is_multiple_of(dim),
        "sample buffer has {len} values, which is not a multiple of {dim} \
         (= {height}x{width}x{channels} values per image)"
    );
    Ok(len / dim)
}
