//! The paper's theory checks and figures as plain-Rust computations (Goodfellow et al. 2014):
//! the script layer (`script/api_paper*.rs`) only turns Rhai values into these options, checks
//! them, and turns the results back into maps.
//!
//! - Proposition 1 (optimal D): [`train_d`] trains D alone with G frozen; [`density_ratio_check`]
//!   compares D with D* = p_data / (p_data + p_g).
//! - Theorem 1 (global optimum): [`value_on`] is V(D, G); [`d_range`] is D's range on an interval.
//! - Figure 1: [`figure1_panel`] snapshots a 1-D game; Figure 2: [`nearest_distances`];
//!   Figure 3: [`interpolate`].
//! - The saturation remark of §3: [`train_steps`] records every step of the game and probes G's
//!   gradient under both G losses ([`grad_norms`]).
//! - [`resolve_weights`]: which weights file a recipe may read.

pub mod density_ratio;
pub mod figure1;
pub mod figure2;
pub mod grad;
pub mod grid;
pub mod interpolate;
pub mod probe;
pub mod steps;
#[cfg(test)]
mod testing;
pub mod train_d;
pub mod value;
pub mod weights;

pub use density_ratio::{density_ratio_check, DensityRatio, DensityRatioOptions};
pub use figure1::{figure1_panel, Figure1PanelOptions};
pub use figure2::nearest_distances;
pub use grad::{grad_norms, GradNorms};
pub use grid::{argmin_max, linspace};
pub use interpolate::interpolate;
pub use probe::{d_at, draw_noise};
pub use steps::{train_steps, Probe, StepHooks, StepRecord, TrainStepsOptions};
pub use train_d::{train_d, DTrainSummary, TrainDOptions};
pub use value::{d_range, value_on, DRange};
pub use weights::resolve_weights;
