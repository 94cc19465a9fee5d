//! Distributions the library computes with (a leaf: it depends on nothing in the crate).

pub mod normal;

pub use normal::{log_normaliser, normal_cdf, normal_interval, normal_pdf, normal_quantile};
