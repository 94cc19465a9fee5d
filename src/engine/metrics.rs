//! What a training step and an epoch report.

use serde::{Deserialize, Serialize};

/// One iteration's numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepMetrics {
    pub d_loss: f64,
    pub g_loss: f64,
    /// Mean D(x) on the real batch (σ of D's logits; dropout as in training).
    pub d_real: f64,
    /// Mean D(G(z)) on the fake batch of the D pass.
    pub d_fake: f64,
    pub lr_d: f64,
    pub lr_g: f64,
    pub momentum: f64,
}

/// One epoch's means, one line of `metrics.jsonl`. Timing lives only in `secs` and `it_per_s`, so
/// two runs of the same recipe and seed agree on every other field byte for byte.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    pub epoch: u64,
    /// Iterations completed by the end of this epoch (over the whole run).
    pub step: u64,
    pub d_loss: f64,
    pub g_loss: f64,
    pub d_real: f64,
    pub d_fake: f64,
    pub lr: f64,
    pub lr_g: f64,
    pub momentum: f64,
    pub steps: u64,
    pub secs: f64,
    pub it_per_s: f64,
    /// What the training diagnostics read (see [`crate::diagnose`]): the fixed-noise samples'
    /// spread over real rows', and the parameter norms. Absent from metrics files written before
    /// they existed, and where nothing computed them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub g_norm: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d_norm: Option<f64>,
    /// Diagnoses first made at this epoch (each kind once per GAN).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::diagnose::Warning>,
}

/// Accumulates step metrics in f64, in step order (deterministic). Lives in the [`Gan`](super::Gan)
/// so an epoch interrupted (and checkpointed) mid-way reports all its steps once finished.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsAccumulator {
    pub sum: StepMetrics,
    pub last: StepMetrics,
    pub n: u64,
    /// Training seconds of this epoch so far (timing only; excluded from comparisons).
    pub secs: f64,
}

impl MetricsAccumulator {
    pub fn push(&mut self, m: &StepMetrics) {
        self.sum.d_loss += m.d_loss;
        self.sum.g_loss += m.g_loss;
        self.sum.d_real += m.d_real;
        self.sum.d_fake += m.d_fake;
        self.last = *m;
        self.n += 1;
    }

    pub fn count(&self) -> u64 {
        self.n
    }

    /// Means of the accumulated steps; learning rates and momentum are the last step's.
    pub fn finish(&self, epoch: u64, step: u64) -> EpochMetrics {
        let secs = self.secs;
        let n = self.n.max(1) as f64;
        EpochMetrics {
            epoch,
            step,
            d_loss: self.sum.d_loss / n,
            g_loss: self.sum.g_loss / n,
            d_real: self.sum.d_real / n,
            d_fake: self.sum.d_fake / n,
            lr: self.last.lr_d,
            lr_g: self.last.lr_g,
            momentum: self.last.momentum,
            steps: self.n,
            secs,
            it_per_s: if secs > 0.0 {
                self.n as f64 / secs
            } else {
                0.0
            },
            ..Default::default()
        }
    }
}
