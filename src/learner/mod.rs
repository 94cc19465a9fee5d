//! The run driver: trains a GAN over a dataset and owns everything a run writes around the
//! engine's epoch loop — the metrics file (`metrics.jsonl`), sample grids, checkpoints at a
//! cadence with retention, `gan resume`'s replay, the time budget, interrupts and the final
//! weights. Recipes reach it through `fit(data, #{…})`; a Rust or evcxr user calls it directly:
//!
//! ```no_run
//! use std::sync::Arc;
//! use gan::learner::{Learner, Model, Run, NullSink};
//! # fn main() -> anyhow::Result<()> {
//! # let (spec, data): (gan::engine::GanSpec, gan::data::Dataset) = todo!();
//! let run = Arc::new(Run::new(Some("runs/toy".as_ref()), "toy", Arc::new(NullSink))?);
//! let mut model = Model::new(gan::engine::Gan::try_new(spec, 0)?);
//! Learner::new(run, "gan").epochs(10).checkpoint_every(2).fit(&mut model, &data)?;
//! # Ok(()) }
//! ```
//!
//! It depends on the engine, checkpoints, the run directory and the diagnostics, never on the
//! script layer: the script layer parses options into a [`LearnerConfig`] and calls it.

mod builder;
mod config;
mod events;
mod fit;
pub mod metrics_file;
mod outputs;
mod plans;
pub mod resume;
mod run;
mod stop;
mod trainee;
pub mod watch;

pub use crate::engine::Control;
pub use crate::error::TrainError;
pub use builder::Learner;
pub use config::LearnerConfig;
pub use events::{NullSink, Progress, Sink};
pub use fit::Prepared;
pub use plans::{FitMode, Found};
pub use resume::describe_stack;
pub use run::{checkpoint_dir_name, per_gan, Run};
pub use stop::StopFlag;
pub use trainee::{Model, Trainee};
