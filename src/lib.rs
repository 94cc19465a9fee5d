//! `gan`: a scriptable GAN engine reproducing Goodfellow et al. 2014, "Generative Adversarial Nets".
//!
//! Dependencies point one way: [`engine`] ← [`script`] ← [`session`] ← front ends (`gan` binary).
//! [`data`], [`viz`] and [`eval`] are leaf modules the engine does not depend on.

pub mod engine;
