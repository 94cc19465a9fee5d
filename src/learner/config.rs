//! A learner's settings as plain data: what `fit(data, #{…})` in a recipe parses its options
//! into, what a Rust user builds, and what is saved beside a library run's outputs.

use serde::{Deserialize, Serialize};

use crate::engine::OptimizerSpec;

/// How one fit trains and what it writes. Defaults are those of a recipe's `fit`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LearnerConfig {
    /// Epochs to train from where the GAN is (an interrupted epoch in progress is the first).
    pub epochs: u64,
    pub batch: usize,
    /// D's and G's optimizers; None: the paper's SGD.
    pub d_opt: Option<OptimizerSpec>,
    pub g_opt: Option<OptimizerSpec>,
    /// Stop each epoch after this many iterations; None: whole epochs.
    pub steps_per_epoch: Option<u64>,
    /// A sample grid every this many epochs (image data only); 0: none.
    pub samples_every: u64,
    /// A checkpoint every this many epochs (and at an interrupt); 0: none.
    pub checkpoint_every: u64,
    /// Checkpoints kept (the newest).
    pub keep_checkpoints: usize,
    /// Stop before an epoch that would end past this many minutes of training.
    pub max_minutes: Option<f64>,
    /// Decay of the moving average of G's weights that sampling uses ([`crate::engine::ema`]);
    /// None or 0: no average (one the GAN holds is dropped).
    pub g_ema: Option<f64>,
}

impl Default for LearnerConfig {
    fn default() -> Self {
        LearnerConfig {
            epochs: 1,
            batch: 100,
            d_opt: None,
            g_opt: None,
            steps_per_epoch: None,
            samples_every: 0,
            checkpoint_every: 1,
            keep_checkpoints: 2,
            max_minutes: None,
            g_ema: None,
        }
    }
}

impl LearnerConfig {
    /// Checks the values no type rules out, naming the field.
    pub fn try_check(&self) -> anyhow::Result<()> {
        if let Some(m) = self.max_minutes {
            // NaN would never stop the loop, and 0 or less would stop it before it starts.
            if !(m.is_finite() && m > 0.0) {
                anyhow::bail!("option `max_minutes` of fit() must be a finite number > 0, got {m}");
            }
        }
        if let Some(d) = self.g_ema {
            crate::engine::ema::GEma::try_decay(d, "g_ema")
                .map_err(|e| anyhow::anyhow!("{e} (fit())"))?;
        }
        if self.batch == 0 {
            anyhow::bail!("option `batch` of fit() must be ≥ 1, got 0");
        }
        if self.keep_checkpoints == 0 {
            anyhow::bail!("option `keep_checkpoints` of fit() must be ≥ 1, got 0");
        }
        Ok(())
    }
}
