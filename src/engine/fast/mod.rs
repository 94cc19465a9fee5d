//! The fast CPU path: the training step and evaluation written directly on f32 buffers, instead
//! of through dfdx's autograd. It computes the same functions as the dfdx path (step.rs's
//! `train_step_reference`, each layer kind's dfdx forward in [`super::layers`]), with the same random draws, and
//!
//! - skips gradients nobody needs: no input gradient for the real batch or for D's update, no
//!   weight gradients of D for G's update, no gradient for the noise;
//! - runs D once over real and fake rows together (one GEMM of 2B rows per layer) and shares that
//!   pass between D's and G's updates: the simultaneous step backpropagates D's loss (2B rows) and
//!   G's loss (B rows) through D in one sweep of 3B rows, where the dfdx path ran D's forward and
//!   backward over the fake batch a second time;
//! - takes its GEMMs from `gemm` 0.19 (AVX-512 kernels on stable Rust; dfdx's `gemm` 0.15 has them
//!   only on nightly), and splits every element-wise kernel (bias + maxout, dropout masks and their
//!   random draws, activations, SGD/Adam updates, copies) over rayon's threads.
//!
//! Results match the dfdx path to rounding, not bit for bit: the two GEMM libraries sum in
//! different orders (blocking, FMA), and D's weight gradient is one sum over 2B rows rather than
//! two sums of B rows added. Everything else (masks, noise, maxout, activations, losses, optimizer
//! arithmetic) is the dfdx path's formula. Runs stay exactly reproducible: no result depends on
//! the thread count (see [`crate::linalg`]).
//!
//! The path is an optimisation of the reference, not a second engine: each layer kind's fast
//! forward and backward sit in its own file beside its dfdx forward ([`super::layers`]); this
//! module only drives them ([`mirror`]: buffers and the forward pass, [`backward`]: the sweep,
//! [`step`]: the iteration and its updates, [`loss`]: the losses' gradients).
//!
//! Parameters: outside a fit, dfdx tensors are the source of truth (checkpoints, scripts and the
//! reference path read them); this path works on a mirror ([`NetMirror`]) loaded from them when a
//! [`Workspace`] is made, and during a fit the mirror is the truth: steps update it alone and
//! [`Workspace::sync`] writes it back when something is about to read the tensors (an observer
//! that asks to, the end of an epoch, a stop, a divergence). The trainer keeps one workspace for
//! a whole `run_epoch`, during which nothing else can change the networks (observers get `&Gan`).

mod backward;
mod loss;
pub mod mirror;
mod step;

pub use mirror::{eval, eval_rows, NetMirror};
pub use step::{train_step, Workspace};

#[cfg(test)]
mod tests;
