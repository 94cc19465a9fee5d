//! The engine: generator and discriminator as layer stacks on dfdx tensors, the minimax game,
//! optimizers, schedules and the training loop. It knows nothing of scripts, REPLs or notebooks.
//!
//! Two ways to declare a network share one implementation:
//! - [`StackSpec`] with runtime sizes (what scripts build), shape-checked by [`Network::try_build`];
//! - [`typed`] layers with compile-time sizes (a mismatch is a compile error) that lower to the same
//!   [`Network`], so one training step serves both.
//!
//! Each layer kind is one file under [`layers`] (its spec, its dfdx forward, its fast forward and
//! backward). Two paths run the same game: dfdx's autograd (the reference) and [`fast`] (its
//! optimisation); an [`EnginePath`] value on the [`Gan`] picks one.

pub mod classifier;
pub mod ema;
/// The fast CPU path (absent from CUDA builds, which run the reference path).
#[cfg(not(feature = "cuda"))]
pub mod fast;
pub mod gan;
pub mod host_copy;
pub mod layers;
pub mod loss;
pub mod metrics;
pub mod network;
pub mod noise;
pub mod ops;
pub mod optim;
pub mod path;
pub mod perf;
pub mod rng;
pub mod schedule;
pub mod spec;
pub mod step;
pub mod theory;
pub mod trainer;
pub mod typed;

pub use gan::{Gan, InputError};
pub use loss::GanLoss;
pub use metrics::{EpochMetrics, StepMetrics};
pub use network::{Network, Role};
pub use noise::Noise;
pub use optim::{OptimizerSpec, OptimizerState};
pub use path::EnginePath;
pub use schedule::Schedule;
pub use spec::{GanSpec, LayerSpec, ShapeError, StackSpec, UpdateScheme};
pub use trainer::{Control, FitObserver, FitSpec, Trainer};

use dfdx::prelude::*;

/// The dfdx device the engine runs on (CPU by default, CUDA with `--features cuda`).
#[cfg(not(feature = "cuda"))]
pub type Dev = Cpu;
/// The dfdx device the engine runs on (CPU by default, CUDA with `--features cuda`).
#[cfg(feature = "cuda")]
pub type Dev = Cuda;

/// What a built layer must be: `Send + Sync` in CPU builds, where the script layer shares GANs
/// between threads; nothing in CUDA builds, whose dfdx 0.13 device holds a CUDA stream handle that
/// is neither (those builds leave out the script layer and front ends: see the `cuda` feature).
#[cfg(not(feature = "cuda"))]
pub trait Shareable: Send + Sync {}
#[cfg(not(feature = "cuda"))]
impl<T: Send + Sync> Shareable for T {}
/// What a built layer must be: nothing more in CUDA builds (see the CPU build's definition).
#[cfg(feature = "cuda")]
pub trait Shareable {}
#[cfg(feature = "cuda")]
impl<T> Shareable for T {}

/// A batch of rows: `(batch, features)` with runtime sizes.
pub type Mat<T = NoneTape> = Tensor<(usize, usize), f32, Dev, T>;
/// A vector parameter (biases): `(features,)`.
pub type Vector = Tensor<(usize,), f32, Dev>;
/// The tape used while training.
pub type Tp = OwnedTape<f32, Dev>;

/// A device for engine tensors. All randomness comes from [`rng`] streams, never from the
/// device's own generator, so runs can be resumed bit-exactly.
pub fn device() -> Dev {
    Dev::default()
}
