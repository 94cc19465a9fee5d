//! `gan`: a scriptable GAN engine reproducing Goodfellow et al. 2014, "Generative Adversarial Nets".
//!
//! Dependencies point one way: [`engine`] ← [`script`] ← [`session`] ← front ends (`gan` binary).
//! [`data`], [`viz`] and [`eval`] are leaf modules the engine does not depend on; [`linalg`] (GEMM,
//! parallel splits) is a leaf both the engine and [`eval`] use. The run driver, [`learner`], sits
//! between the engine and the script layer: it trains and writes a run's outputs for a recipe's
//! `fit` and for Rust users alike. [`error`] holds the errors callers branch on.

#[cfg(all(feature = "cuda", feature = "cli"))]
compile_error!(
    "the `cuda` feature builds the engine library without the script layer and front ends \
     (dfdx 0.13's CUDA device is not Send): build with `--no-default-features --features cuda`"
);

pub mod checkpoint;
pub mod data;
pub mod diagnose;
pub mod digest;
pub mod engine;
pub mod error;
pub mod eval;
pub mod learner;
pub mod linalg;
pub mod paper;
pub mod run_lock;
pub mod rundir;
pub mod safe_fs;
#[cfg(not(feature = "cuda"))]
pub mod script;
#[cfg(not(feature = "cuda"))]
pub mod session;
pub mod stats;
pub mod sweep;
pub mod viz;
