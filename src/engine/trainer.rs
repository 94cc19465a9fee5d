//! The training loop: epochs of shuffled minibatches, metrics, observers and interruption.

use std::time::Instant;

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::gan::Gan;
use super::metrics::{EpochMetrics, StepMetrics};
use super::optim::OptimizerSpec;
use super::rng::{stream, Purpose};
use super::spec::UpdateScheme;
use super::step::{train_step, Optimizers};
use dfdx::prelude::*;

/// How to train, as plain data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitSpec {
    /// Train until this many epochs are complete in total (a second fit continues the count).
    pub epochs: u64,
    pub batch: usize,
    pub d_opt: OptimizerSpec,
    pub g_opt: OptimizerSpec,
    /// Stop each epoch after this many iterations (a quick look at a big dataset); None: whole epochs.
    pub steps_per_epoch: Option<u64>,
}

/// What an observer asks of the loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Continue,
    Stop,
}

/// Hooks the loop calls: after each step (cheap: progress bars, interrupt checks) and after each
/// epoch (samples, checkpoints, script callbacks).
pub trait FitObserver {
    fn on_step(&mut self, _gan: &Gan, _m: &StepMetrics, _done: u64, _total: u64) -> Control {
        Control::Continue
    }
    fn on_epoch(&mut self, _gan: &mut Gan, _m: &EpochMetrics) -> anyhow::Result<Control> {
        Ok(Control::Continue)
    }
}

/// An observer that does nothing.
pub struct Quiet;
impl FitObserver for Quiet {}

/// How a fit ended.
#[derive(Clone, Debug, PartialEq)]
pub enum FitEnd {
    /// All requested epochs are done.
    Done,
    /// An observer asked to stop (e.g. Ctrl-C); the model keeps the state of the last full step.
    Stopped,
}

/// Runs epochs over an in-memory dataset (`rows × dim`, row-major).
pub struct Trainer;

impl Trainer {
    /// Checks the fit against the data and the game before any work is done.
    pub fn try_check(gan: &Gan, data: &[f32], dim: usize, fit: &FitSpec) -> anyhow::Result<()> {
        gan.spec.try_check(Some(dim))?;
        fit.d_opt
            .check()
            .map_err(|e| anyhow::anyhow!("d_opt: {e}"))?;
        fit.g_opt
            .check()
            .map_err(|e| anyhow::anyhow!("g_opt: {e}"))?;
        if fit.batch == 0 {
            anyhow::bail!("batch must be at least 1");
        }
        let rows = data.len() / dim.max(1);
        let per_iter = fit.batch * Self::batches_per_iteration(gan);
        if per_iter > rows {
            anyhow::bail!(
                "one iteration needs {per_iter} examples (batch {} × {} D-steps) but the data has only {rows}",
                fit.batch,
                Self::batches_per_iteration(gan)
            );
        }
        if data.iter().any(|v| !v.is_finite()) {
            anyhow::bail!("the training data contains NaN or infinite values");
        }
        Ok(())
    }

    fn batches_per_iteration(gan: &Gan) -> usize {
        match gan.spec.scheme {
            UpdateScheme::Simultaneous => 1,
            UpdateScheme::Alternating { k } => k.max(1) as usize,
        }
    }

    /// Iterations in one epoch over `rows` examples (incomplete last batches are dropped, as pylearn2 does).
    pub fn iterations_per_epoch(gan: &Gan, rows: usize, fit: &FitSpec) -> u64 {
        let it = (rows / fit.batch / Self::batches_per_iteration(gan)) as u64;
        fit.steps_per_epoch.map_or(it, |s| s.min(it))
    }

    /// Trains until `fit.epochs` epochs are complete or an observer stops; returns each finished
    /// epoch's metrics. Resumes mid-epoch where a previous fit was stopped.
    pub fn fit(
        gan: &mut Gan,
        data: &[f32],
        dim: usize,
        fit: &FitSpec,
        obs: &mut dyn FitObserver,
    ) -> anyhow::Result<(Vec<EpochMetrics>, FitEnd)> {
        Self::try_check(gan, data, dim, fit)?;
        let mut out = Vec::new();
        while gan.epoch < fit.epochs {
            match Self::run_epoch(gan, data, dim, fit, obs)? {
                (Some(m), Control::Continue) => out.push(m),
                (Some(m), Control::Stop) => {
                    out.push(m);
                    return Ok((out, FitEnd::Stopped));
                }
                (None, _) => return Ok((out, FitEnd::Stopped)),
            }
        }
        Ok((out, FitEnd::Done))
    }

    /// Trains the rest of the current epoch. Returns its metrics when it completes (None if an
    /// observer stopped it mid-way) and the observer's wish after the epoch.
    pub fn run_epoch(
        gan: &mut Gan,
        data: &[f32],
        dim: usize,
        fit: &FitSpec,
        obs: &mut dyn FitObserver,
    ) -> anyhow::Result<(Option<EpochMetrics>, Control)> {
        let rows = data.len() / dim;
        if gan.spec.init_g_bias_from_marginals && !gan.marginals_applied {
            gan.init_g_bias_from_marginals(data);
        }
        let epoch = gan.epoch + 1;
        let per_iter = Self::batches_per_iteration(gan);
        let total = Self::iterations_per_epoch(gan, rows, fit);
        // The epoch's order depends only on (seed, epoch): resuming mid-epoch sees the same order.
        let mut order: Vec<u32> = (0..rows as u32).collect();
        order.shuffle(&mut stream(gan.seed, Purpose::Shuffle, epoch));
        let opts = Optimizers {
            d: &fit.d_opt,
            g: &fit.g_opt,
        };
        let mut buf = vec![0f32; fit.batch * dim];
        while gan.batch_in_epoch < total {
            let started = Instant::now();
            let it = gan.batch_in_epoch as usize;
            let batches: Vec<_> = (0..per_iter)
                .map(|j| {
                    let first = (it * per_iter + j) * fit.batch;
                    for (r, &idx) in order[first..first + fit.batch].iter().enumerate() {
                        let src = idx as usize * dim;
                        buf[r * dim..(r + 1) * dim].copy_from_slice(&data[src..src + dim]);
                    }
                    gan.dev.tensor_from_vec(buf.clone(), (fit.batch, dim))
                })
                .collect();
            let m = train_step(gan, &batches, &opts, epoch);
            if !(m.d_loss.is_finite() && m.g_loss.is_finite()) {
                anyhow::bail!(
                    "training diverged at step {} (epoch {epoch}): d_loss = {}, g_loss = {}",
                    gan.step,
                    m.d_loss,
                    m.g_loss
                );
            }
            gan.batch_in_epoch += 1;
            gan.epoch_acc.push(&m);
            gan.epoch_acc.secs += started.elapsed().as_secs_f64();
            if obs.on_step(gan, &m, gan.batch_in_epoch, total) == Control::Stop {
                return Ok((None, Control::Stop));
            }
        }
        gan.epoch = epoch;
        gan.batch_in_epoch = 0;
        let metrics = gan.epoch_acc.finish(epoch, gan.step);
        gan.epoch_acc = Default::default();
        let wish = obs.on_epoch(gan, &metrics)?;
        Ok((Some(metrics), wish))
    }
}
