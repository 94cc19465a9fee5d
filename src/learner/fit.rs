//! The learner's loop: epochs from the engine, and around each the run's outputs, its
//! checkpoint cadence, the time budget, interrupts and, at the end, the final weights.

use std::time::Instant;

use anyhow::{anyhow, Context, Result};

use std::cell::RefCell;

use super::builder::Learner;
use super::events::Progress;
use super::outputs::{after_epoch, checkpoint, final_weights};
use super::plans::FitMode;
use super::resume;
use super::run::{per_gan, Run};
use super::trainee::{Model, Trainee};
use crate::data::Dataset;
use crate::engine::{
    Control, EpochMetrics, FitObserver, FitSpec, Gan, OptimizerSpec, StepMetrics, Trainer,
};
use crate::error::TrainError;

/// A fit ready to train: its engine settings and its place in the run.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub fit_spec: FitSpec,
    /// Which call of `fit` on this GAN this is (1 for the first).
    pub fit_index: u64,
    /// Replaying a fit the interrupted run finished: its metrics lines and checkpoints exist.
    pub replay: bool,
}

/// Reports progress a few times a second and stops at a step boundary when asked to.
struct StepObserver<'a> {
    run: &'a Run,
    name: &'a str,
    epochs: u64,
    last: Instant,
}

impl FitObserver for StepObserver<'_> {
    fn on_step(&mut self, gan: &Gan, m: &StepMetrics, done: u64, total: u64) -> Control {
        if self.last.elapsed().as_millis() >= 100 || done == total {
            self.last = Instant::now();
            self.run.sink.progress(&Progress {
                gan: self.name.to_string(),
                epoch: gan.epoch + 1,
                epochs: self.epochs,
                done,
                total,
                d_loss: m.d_loss,
                g_loss: m.g_loss,
            });
        }
        if self.run.stop.requested() {
            return Control::Stop;
        }
        Control::Continue
    }

    /// Progress and stop requests only: the parameters are written back at the epoch's end.
    fn reads_params_on_step(&self) -> bool {
        false
    }
}

impl Learner {
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

    /// Counts this fit, decides what a resumed run does with it (load its checkpoint, replay it
    /// quietly, or train) and checks the settings against the GAN and the data.
    pub fn prepare<T: Trainee>(&self, trainee: &T, data: &Dataset) -> Result<Prepared> {
        self.config.try_check()?;
        let (run, name, c) = (&*self.run, self.name.as_str(), &self.config);
        let fit_index = run.next_fit_index(name);
        let mode = resume::fit_mode(run, name, fit_index)?;
        let fit_spec = trainee.with(|gan, history| -> Result<FitSpec> {
            // `epochs` counts from here; an interrupted epoch in progress is the first of them.
            let target = gan.epoch + c.epochs;
            if let FitMode::Load(path) = &mode {
                // A resumed run: this is the fit the checkpoint was taken in.
                let m = resume::load_into(run, name, gan, history, path)?;
                if m.epoch > target {
                    anyhow::bail!(
                        "resume: {} is at epoch {}, past this fit's last epoch {target}",
                        path.display(),
                        m.epoch
                    );
                }
            }
            crate::engine::ema::configure(gan, c.g_ema);
            let fit_spec = FitSpec {
                epochs: target,
                batch: c.batch,
                d_opt: c.d_opt.clone().unwrap_or_else(OptimizerSpec::paper_sgd),
                g_opt: c.g_opt.clone().unwrap_or_else(OptimizerSpec::paper_sgd),
                steps_per_epoch: c.steps_per_epoch,
            };
            Trainer::try_check(gan, &data.x, data.dim, &fit_spec).context("fit()")?;
            Ok(fit_spec)
        })?;
        Ok(Prepared {
            fit_spec,
            fit_index,
            replay: mode == FitMode::Replay,
        })
    }

    /// Trains a prepared fit. `on_epoch` runs after each epoch's outputs, with the GAN released
    /// (it may use it); [`Control::Stop`] ends the fit there. Returns the last epoch's metrics.
    pub fn train<T: Trainee>(
        &self,
        p: &Prepared,
        trainee: &T,
        data: &Dataset,
        on_epoch: &mut dyn FnMut(&Run, &EpochMetrics) -> Result<Control>,
    ) -> Result<Option<EpochMetrics>> {
        let (run, name, c) = (&*self.run, self.name.as_str(), &self.config);
        let fit_spec = &p.fit_spec;
        let write = !p.replay;
        let checkpoints = write && c.checkpoint_every > 0;
        let max_secs = c.max_minutes.map(|m| m * 60.0);
        let mut last = None;
        let mut obs = StepObserver {
            run,
            name,
            epochs: fit_spec.epochs,
            last: Instant::now(),
        };
        let started = Instant::now();
        let mut last_epoch_secs = 0.0;
        loop {
            if let Some(limit) = max_secs {
                // Stop before an epoch that would end past the time budget.
                if started.elapsed().as_secs_f64() + last_epoch_secs > limit {
                    run.sink.text(&format!(
                        "max_minutes reached: stopping `{name}` after {:.1} min",
                        started.elapsed().as_secs_f64() / 60.0
                    ));
                    break;
                }
            }
            let epoch_started = Instant::now();
            let epoch = trainee.with(|gan, _| {
                if gan.epoch >= fit_spec.epochs {
                    return Ok(None);
                }
                Trainer::run_epoch(gan, &data.x, data.dim, fit_spec, &mut obs).map(Some)
            });
            let (m, wish) = match epoch {
                Ok(None) => break,
                Ok(Some(r)) => r,
                Err(e) => {
                    run.sink.fit_end(name);
                    return Err(self.with_hint(e));
                }
            };
            let Some(m) = m else {
                run.sink.fit_end(name);
                // Stopped at a step boundary (Ctrl-C, a time limit): a consistent state, saved
                // so that a resumed run loses nothing.
                if checkpoints && run.dir.is_some() {
                    trainee.with(|gan, _| {
                        checkpoint(run, gan, name, c.keep_checkpoints, p.fit_index, fit_spec)
                    })?;
                }
                return Err(trainee.with(|gan, _| self.stopped(gan, checkpoints)).into());
            };
            let m = trainee.with(|gan, history| {
                after_epoch(run, name, (gan, history), m, data, c.samples_every, write)
            })?;
            // A stop request that came with the epoch's last step: the epoch is complete, and
            // its state is saved before `on_epoch` (which an interrupt may cut short).
            let stopping = wish == Control::Stop;
            let on_cadence = checkpoints && m.epoch % c.checkpoint_every == 0;
            if on_cadence || (checkpoints && stopping && run.dir.is_some()) {
                trainee.with(|gan, _| {
                    checkpoint(run, gan, name, c.keep_checkpoints, p.fit_index, fit_spec)
                })?;
            }
            last_epoch_secs = epoch_started.elapsed().as_secs_f64();
            let stop = on_epoch(run, &m)?;
            last = Some(m);
            if stopping {
                run.sink.fit_end(name);
                return Err(trainee.with(|gan, _| self.stopped(gan, checkpoints)).into());
            }
            if stop == Control::Stop {
                break;
            }
        }
        run.sink.fit_end(name);
        trainee.with(|gan, _| final_weights(run, name, gan))?;
        Ok(last)
    }

    /// Why a fit stopped at a step boundary, where, and how to continue.
    fn stopped(&self, gan: &Gan, checkpointed: bool) -> TrainError {
        let (run, name) = (&*self.run, self.name.as_str());
        let (at, more) = if gan.batch_in_epoch == 0 {
            (format!("the end of epoch {}", gan.epoch), "`epochs` more")
        } else {
            (
                format!("epoch {}, batch {}", gan.epoch + 1, gan.batch_in_epoch),
                "`epochs` more, the interrupted one first",
            )
        };
        let saved = if checkpointed && run.dir.is_some() {
            resume::find(run, name).ok().flatten().map(|f| {
                format!(
                    "; its state is saved in {}: `gan resume {}` continues from there",
                    f.path.display(),
                    run.dir
                        .as_ref()
                        .map(|r| r.path().display().to_string())
                        .unwrap_or_default()
                )
            })
        } else {
            None
        };
        if run.stop.timed_out() {
            return TrainError::TimedOut(format!(
                "timed out: the run passed its --timeout of {} s at step {} ({at}) of `{name}`{}",
                run.stop.timeout_secs().unwrap_or_default(),
                gan.step,
                saved.unwrap_or_default()
            ));
        }
        TrainError::Interrupted(format!(
            "interrupted at step {} ({at}); `{name}` keeps its state and optimizers: fit again continues \
             ({more}; without optimizers it keeps this fit's){}",
            gan.step,
            saved.unwrap_or_default()
        ))
    }

    /// A divergence (non-finite loss or parameter) with what went wrong where and the
    /// checkpoint to go back to. Other training errors pass through unchanged.
    fn with_hint(&self, e: anyhow::Error) -> anyhow::Error {
        let Some(TrainError::Diverged { step, message }) = e.downcast_ref::<TrainError>() else {
            return e;
        };
        let (run, name) = (&*self.run, self.name.as_str());
        let who = if name == "gan" {
            String::new()
        } else {
            format!(" of `{name}`")
        };
        let hint = match resume::find(run, name) {
            Ok(Some(f)) => {
                let dir = run
                    .dir
                    .as_ref()
                    .map(|r| r.path().display().to_string())
                    .unwrap_or_default();
                format!(
                    "nothing of the diverged epoch was saved; the last good checkpoint is {} (epoch {}, step {}): \
                     `gan resume {dir}` continues from it (lower the learning rate in {dir}/recipe.rhai first)",
                    f.path.display(),
                    f.epoch,
                    f.step
                )
            }
            _ if run.dir.is_some() => {
                "nothing of the diverged epoch was saved, and no checkpoint was saved before it"
                    .into()
            }
            _ => "nothing was saved (this session has no run directory)".into(),
        };
        anyhow!(TrainError::Diverged {
            step: *step,
            message: format!("{}{who}; {hint}", message.trim_end_matches('.')),
        })
    }
}
