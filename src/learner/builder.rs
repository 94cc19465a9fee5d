//! A learner as a value: which GAN of which run, and its settings, set one by one.

use std::sync::Arc;

use super::config::LearnerConfig;
use super::run::Run;
use crate::engine::OptimizerSpec;

/// Trains one named GAN of a [`Run`] with a [`LearnerConfig`]; built step by step.
pub struct Learner {
    pub(super) run: Arc<Run>,
    pub(super) name: String,
    pub(super) config: LearnerConfig,
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
}
