//! The training loop: epochs of shuffled minibatches, metrics, observers and interruption.

use std::time::Instant;

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::gan::Gan;
use super::layers::Shape;
use super::metrics::{EpochMetrics, StepMetrics};
use super::optim::OptimizerSpec;
use super::rng::{stream, Purpose};
use super::spec::{LayerSpec, StackSpec, UpdateScheme};
use super::step::{train_step_rows, Optimizers, StepWorkspace};
use crate::error::TrainError;

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

/// What an observer asks of the loop. Ordered so that `max` of two wishes is `Stop` when either is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
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
    /// Whether [`Self::on_step`] reads the GAN's parameters. Only then does the loop write the
    /// step's parameters into the GAN's tensors before calling it (the fast path updates its own
    /// buffers and syncs the tensors lazily, see [`StepWorkspace::sync`]); an observer answering
    /// `false` sees stale parameters in `on_step`. `on_epoch` always sees them up to date.
    fn reads_params_on_step(&self) -> bool {
        true
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
        for (net, stack) in [("generator", &gan.spec.g), ("discriminator", &gan.spec.d)] {
            check_batch_norm_rows(net, stack, fit.batch)?;
        }
        let values = activation_values(&gan.spec, fit.batch);
        if values > MAX_ACTIVATION_VALUES as u128 {
            anyhow::bail!(
                "batch {} through these networks needs about {values} activation values per iteration \
                 ({:.1} GiB), more than the limit of {MAX_ACTIVATION_VALUES} ({} GiB); refusing to allocate: \
                 use a smaller batch or narrower layers",
                fit.batch,
                values as f64 * 4.0 / (1u64 << 30) as f64,
                (MAX_ACTIVATION_VALUES * 4) >> 30
            );
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
    /// observer stopped it mid-way) and the observer's wish after the epoch: `Stop` also when an
    /// observer stopped it at its last step.
    pub fn run_epoch(
        gan: &mut Gan,
        data: &[f32],
        dim: usize,
        fit: &FitSpec,
        obs: &mut dyn FitObserver,
    ) -> anyhow::Result<(Option<EpochMetrics>, Control)> {
        let rows = data.len() / dim;
        if gan.spec.init_g_bias_from_marginals && !gan.marginals_applied {
            gan.try_init_g_bias_from_marginals(data)?;
        }
        let epoch = gan.epoch + 1;
        let total = Self::iterations_per_epoch(gan, rows, fit);
        // The epoch's order depends only on (seed, epoch): resuming mid-epoch sees the same order.
        let mut order: Vec<u32> = (0..rows as u32).collect();
        order.shuffle(&mut stream(gan.seed, Purpose::Shuffle, epoch));
        // Kept across the epoch's iterations: nothing but the step changes the GAN in between
        // (observers only see `&Gan`), and it holds the parameters' truth until synced.
        let mut ws = StepWorkspace::new(gan);
        let steps = Self::epoch_steps(gan, &mut ws, data, dim, fit, obs, &order, epoch, total);
        // Every way out of the loop leaves the tensors up to date (a stop, a divergence).
        ws.sync(gan);
        let step_wish = steps?;
        if gan.batch_in_epoch < total {
            return Ok((None, Control::Stop));
        }
        if let Some(bad) = non_finite_param(gan) {
            return Err(TrainError::Diverged {
                step: gan.step,
                message: format!(
                    "training diverged at step {} (end of epoch {epoch}): {bad}",
                    gan.step
                ),
            }
            .into());
        }
        gan.epoch = epoch;
        gan.batch_in_epoch = 0;
        let metrics = gan.epoch_acc.finish(epoch, gan.step);
        gan.epoch_acc = Default::default();
        let wish = obs.on_epoch(gan, &metrics)?;
        // A stop that came with the epoch's last step ends the fit here, the epoch complete:
        // stopping it "in progress" would leave an epoch with no steps left to continue.
        Ok((Some(metrics), wish.max(step_wish)))
    }

    /// The epoch's iterations from `gan.batch_in_epoch` on; `Control::Stop` when an observer
    /// stopped them (after the last one, too). The GAN's tensors may be stale on return: the
    /// caller syncs `ws`.
    #[allow(clippy::too_many_arguments)]
    fn epoch_steps(
        gan: &mut Gan,
        ws: &mut StepWorkspace,
        data: &[f32],
        dim: usize,
        fit: &FitSpec,
        obs: &mut dyn FitObserver,
        order: &[u32],
        epoch: u64,
        total: u64,
    ) -> anyhow::Result<Control> {
        let per_iter = Self::batches_per_iteration(gan);
        let opts = Optimizers {
            d: &fit.d_opt,
            g: &fit.g_opt,
        };
        // The iteration's real rows, gathered in place (all its batches, one after another).
        let mut buf = vec![0f32; per_iter * fit.batch * dim];
        while gan.batch_in_epoch < total {
            let started = Instant::now();
            let first = gan.batch_in_epoch as usize * per_iter * fit.batch;
            let rows = &order[first..first + per_iter * fit.batch];
            for (dst, &idx) in buf.chunks_exact_mut(dim).zip(rows) {
                let src = idx as usize * dim;
                dst.copy_from_slice(&data[src..src + dim]);
            }
            let m = train_step_rows(gan, ws, &buf, fit.batch, &opts, epoch);
            if !(m.d_loss.is_finite() && m.g_loss.is_finite()) {
                let what = if !m.d_loss.is_finite() {
                    format!("d_loss is {} (g_loss = {})", m.d_loss, m.g_loss)
                } else {
                    format!("g_loss is {} (d_loss = {})", m.g_loss, m.d_loss)
                };
                return Err(TrainError::Diverged {
                    step: gan.step,
                    message: format!(
                        "training diverged at step {} (epoch {epoch}, batch {} of {total}): {what}",
                        gan.step,
                        gan.batch_in_epoch + 1
                    ),
                }
                .into());
            }
            gan.batch_in_epoch += 1;
            gan.epoch_acc.push(&m);
            gan.epoch_acc.secs += started.elapsed().as_secs_f64();
            if obs.reads_params_on_step() {
                ws.sync(gan);
            }
            if obs.on_step(gan, &m, gan.batch_in_epoch, total) == Control::Stop {
                return Ok(Control::Stop);
            }
        }
        Ok(Control::Continue)
    }
}

/// Most activation values one training iteration may hold (≈ 2 GiB of f32): a batch and layer
/// widths past this are refused before anything is allocated.
pub const MAX_ACTIVATION_VALUES: usize = 1 << 29;

/// About how many activation values one iteration of `spec` holds for a batch of `batch`: every
/// layer's outputs (maxout's pre-activations too) of G once and of D three times (real, fake,
/// and fake again for G's gradient), times the batches of an alternating step.
pub fn activation_values(spec: &super::spec::GanSpec, batch: usize) -> u128 {
    let stack = stack_values;
    let k = match spec.scheme {
        UpdateScheme::Simultaneous => 1,
        UpdateScheme::Alternating { k } => k.max(1) as u128 + 1,
    };
    let per_row = stack(&spec.g).saturating_add(stack(&spec.d).saturating_mul(3));
    per_row.saturating_mul(batch as u128).saturating_mul(k)
}

/// Values one row holds while it goes through `s` at once: its input and every layer's output
/// (maxout's pre-activations too).
pub fn stack_values(s: &super::spec::StackSpec) -> u128 {
    let mut width = s.input as u128;
    let mut total = width;
    for l in &s.layers {
        if let super::spec::LayerSpec::Maxout { units, pieces, .. } = l {
            total = total.saturating_add((*units as u128).saturating_mul(*pieces as u128));
        }
        width = l.output_size(width as usize).map_or(width, |w| w as u128);
        total = total.saturating_add(width);
    }
    total
}

/// Refuses holding `rows` rows of `per_row` values at once (a call that samples, generates or
/// evaluates outside training) when that passes [`MAX_ACTIVATION_VALUES`]: checking the row
/// count alone lets a narrow count of very wide rows through, and the allocation would abort.
pub fn check_rows_held(rows: usize, per_row: u128) -> anyhow::Result<()> {
    let total = (rows as u128).saturating_mul(per_row);
    if total > MAX_ACTIVATION_VALUES as u128 {
        anyhow::bail!(
            "{rows} rows × {per_row} values per row = {total} values ({:.1} GiB), more than the limit of \
             {MAX_ACTIVATION_VALUES} ({} GiB); refusing to allocate: ask for fewer rows at once",
            total as f64 * 4.0 / (1u64 << 30) as f64,
            (MAX_ACTIVATION_VALUES * 4) >> 30
        );
    }
    Ok(())
}

/// The first parameter tensor of G or D holding NaN or infinite values, described (which
/// network, which tensor, how many bad values); None when all are finite.
pub fn non_finite_param(gan: &Gan) -> Option<String> {
    for (who, net) in [("G", &gan.g), ("D", &gan.d)] {
        for (i, layer) in net.layers.iter().enumerate() {
            {
                for (name, values) in layer.params().iter().map(|(n, p)| (n, p.values())) {
                    let nan = values.iter().filter(|v| v.is_nan()).count();
                    let inf = values.iter().filter(|v| v.is_infinite()).count();
                    if nan + inf > 0 {
                        return Some(format!(
                            "{who} parameter `{i}.{name}` (layer {} `{}`) has {nan} NaN and {inf} infinite values out of {}",
                            i + 1,
                            net.spec.layers.get(i).map(|l| l.name()).unwrap_or_default(),
                            values.len()
                        ));
                    }
                }
            }
        }
    }
    None
}

/// Batch norm in training needs at least 2 values per channel in each pass (one row of a flat
/// layer has 1): refused here, before any work, rather than when the first pass reaches it.
fn check_batch_norm_rows(net: &str, stack: &StackSpec, batch: usize) -> anyhow::Result<()> {
    let shapes = stack.try_layer_shapes()?;
    let mut input = Shape::Flat(stack.input);
    for (i, (layer, out)) in stack.layers.iter().zip(&shapes).enumerate() {
        if let LayerSpec::BatchNorm { .. } = layer {
            let per_row = match input {
                Shape::Flat(_) => 1,
                Shape::Image { h, w, .. } => h.saturating_mul(w),
            };
            if batch.saturating_mul(per_row) < 2 {
                anyhow::bail!(
                    "{net}: layer {} `{}` needs at least 2 values per channel to normalise in training, but batch {batch} of {input} gives {}: use a batch of 2 or more",
                    i + 1,
                    layer.name(),
                    batch.saturating_mul(per_row)
                );
            }
        }
        input = *out;
    }
    Ok(())
}
