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

mod config;
mod events;
mod fit;
pub mod metrics_file;
mod outputs;
pub mod resume;
mod run;
mod stop;
pub mod watch;

use std::cell::RefCell;
use std::sync::Arc;

pub use crate::engine::Control;
pub use crate::error::TrainError;
pub use config::LearnerConfig;
pub use events::{NullSink, Progress, Sink};
pub use fit::Prepared;
pub use resume::{describe_stack, FitMode, Found};
pub use run::{checkpoint_dir_name, per_gan, Run};
pub use stop::StopFlag;

use crate::data::Dataset;
use crate::engine::{EpochMetrics, Gan, OptimizerSpec};

/// Access to the GAN a learner trains and its metrics history. The learner holds it only for
/// the work of one epoch at a time, so code called between epochs (a recipe's `on_epoch`) can
/// use the GAN too.
pub trait Trainee {
    fn with<R>(&self, f: impl FnOnce(&mut Gan, &mut Vec<EpochMetrics>) -> R) -> R;
}

/// A GAN and what a run keeps beside it, for library users.
pub struct Model {
    pub gan: Gan,
    /// Every finished epoch's metrics (read back from the metrics file on resume).
    pub history: Vec<EpochMetrics>,
}

impl Model {
    pub fn new(gan: Gan) -> Self {
        Model {
            gan,
            history: Vec::new(),
        }
    }
}

impl Trainee for RefCell<&mut Model> {
    fn with<R>(&self, f: impl FnOnce(&mut Gan, &mut Vec<EpochMetrics>) -> R) -> R {
        let mut m = self.borrow_mut();
        let m = &mut **m;
        f(&mut m.gan, &mut m.history)
    }
}

/// Trains one named GAN of a [`Run`] with a [`LearnerConfig`]; built step by step.
pub struct Learner {
    run: Arc<Run>,
    name: String,
    config: LearnerConfig,
}

impl Learner {
    /// A learner for GAN `name` (`gan` for a run's first; the name picks its file names) with
    /// the default config.
    pub fn new(run: Arc<Run>, name: &str) -> Self {
        Learner {
            run,
            name: name.to_string(),
            config: LearnerConfig::default(),
        }
    }

    pub fn with_config(mut self, config: LearnerConfig) -> Self {
        self.config = config;
        self
    }

    pub fn epochs(mut self, n: u64) -> Self {
        self.config.epochs = n;
        self
    }

    pub fn batch(mut self, n: usize) -> Self {
        self.config.batch = n;
        self
    }

    pub fn optimizers(mut self, d: OptimizerSpec, g: OptimizerSpec) -> Self {
        self.config.d_opt = Some(d);
        self.config.g_opt = Some(g);
        self
    }

    pub fn checkpoint_every(mut self, n: u64) -> Self {
        self.config.checkpoint_every = n;
        self
    }

    pub fn keep_checkpoints(mut self, n: usize) -> Self {
        self.config.keep_checkpoints = n;
        self
    }

    pub fn samples_every(mut self, n: u64) -> Self {
        self.config.samples_every = n;
        self
    }

    pub fn max_minutes(mut self, m: f64) -> Self {
        self.config.max_minutes = Some(m);
        self
    }

    pub fn config(&self) -> &LearnerConfig {
        &self.config
    }

    pub fn run(&self) -> &Arc<Run> {
        &self.run
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Trains `model` on `data` as configured; returns the last finished epoch's metrics. The
    /// config is saved as `learner.json` (`learner_<name>.json`) in the run directory first.
    /// An interrupt or the time limit ends it with a [`TrainError`] after saving a checkpoint;
    /// a second `fit` (or a resumed run) continues.
    pub fn fit(&self, model: &mut Model, data: &Dataset) -> anyhow::Result<Option<EpochMetrics>> {
        let slot = RefCell::new(model);
        let prepared = self.prepare(&slot, data)?;
        if let Some(dir) = &self.run.dir {
            let file = per_gan(&self.name, "learner", "json");
            dir.write(
                &file,
                serde_json::to_string_pretty(&self.config)?.as_bytes(),
            )?;
        }
        self.train(&prepared, &slot, data, &mut |_, _| Ok(Control::Continue))
    }
}
