//! `gan`: a scriptable GAN engine reproducing Goodfellow et al. 2014, "Generative Adversarial Nets".
//!
//! Dependencies point one way: [`engine`] ← [`script`] ← [`session`] ← front ends (`gan` binary).
//! [`data`], [`viz`] and [`eval`] are leaf modules the engine does not depend on; [`linalg`] (GEMM,
//! parallel splits) is a leaf both the engine and [`eval`] use.

pub mod checkpoint;
pub mod data;
pub mod diagnose;
pub mod engine;
pub mod eval;
pub mod linalg;
pub mod run_lock;
pub mod rundir;
pub mod safe_fs;
pub mod script;
pub mod session;
pub mod sweep;
pub mod viz;
