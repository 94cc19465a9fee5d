//! Batch-wide image kernels on NCHW `f32` slices: convolution and transposed convolution (im2col +
//! one GEMM per layer), batch normalisation, max and average pooling, nearest upsampling and
//! channel-group maxout, each with its backward pass.
//!
//! The kernels know nothing of layers or networks: shapes are explicit (batch `n`, channels, height,
//! width), buffers are caller-owned slices, and every shape rule is checked by a `try_` constructor
//! that returns a [`ShapeError`](crate::engine::ShapeError) naming the input shape and the
//! operation's own, so a misfit is an error where the layer is declared, never a panic mid-training.
//!
//! Results never depend on the thread count: GEMMs never split their inner dimension (see
//! [`gemm`](crate::linalg::gemm)), and every other output element (or per-channel sum) is
//! computed by one thread in a fixed order; work is split over rayon's pool by whole planes, images
//! or channels.

pub mod batch_norm;
pub mod conv;
pub mod conv_transpose;
pub mod geom;
pub mod im2col;
pub mod maxout;
pub mod pool;
pub mod upsample;

pub use batch_norm::{BatchNorm, BatchNormCache};
pub use conv::{Conv2d, ConvWork};
pub use conv_transpose::ConvTranspose2d;
pub use geom::{Axis, ConvGeom, Image};
pub use maxout::ChannelMaxout;
pub use pool::{AvgPool, MaxPool, PoolRounding};
pub use upsample::Upsample;

#[cfg(test)]
mod tests;
