//! The game step by step: exactly `steps` iterations as `fit` runs them (same minibatch order,
//! same update; epochs roll over), every step's metrics kept, and G's gradient under both G
//! losses probed now and then. A study tool: it writes no metrics file, checkpoint or weights.

use anyhow::Result;

use super::grad::grad_norms;
use crate::data::Dataset;
use crate::engine::trainer::{Control, FitObserver};
use crate::engine::{EpochMetrics, FitSpec, Gan, GanLoss, OptimizerSpec, StepMetrics, Trainer};

/// Options of [`train_steps`]; each field's default is in `Default`.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainStepsOptions {
    pub steps: u64,
    pub batch: usize,
    pub d_opt: OptimizerSpec,
    pub g_opt: OptimizerSpec,
    /// Probe G's gradient every this many steps (and before the first); 0: never.
    pub probe_every: u64,
    /// Fixed noise rows of each probe.
    pub probe_n: usize,
}

impl Default for TrainStepsOptions {
    fn default() -> Self {
        TrainStepsOptions {
            steps: 100,
            batch: 100,
            d_opt: OptimizerSpec::paper_sgd(),
            g_opt: OptimizerSpec::paper_sgd(),
            probe_every: 0,
            probe_n: 100,
        }
    }
}

/// A gradient probe: the game's step, ‖∇ saturating‖, ‖∇ non-saturating‖, mean D(G(z)).
pub type Probe = (u64, f64, f64, f64);

/// What [`train_steps`] recorded: (the game's step, its metrics) for every step done, and the
/// probes.
#[derive(Clone, Debug, Default)]
pub struct StepRecord {
    pub steps: Vec<(u64, StepMetrics)>,
    pub probes: Vec<Probe>,
    /// The caller's `interrupted` said stop at the end of an epoch (the GAN keeps the state of
    /// the last full step).
    pub interrupted: bool,
}

/// What the caller sees while [`train_steps`] runs.
pub trait StepHooks {
    /// Once the options have been checked against the GAN and the data, before the first step.
    fn started(&mut self) {}
    /// Every 20th step and the last.
    fn progress(&mut self, gan: &Gan, m: &StepMetrics, done: u64, total: u64);
    /// An epoch of the data ended.
    fn epoch(&mut self, m: &EpochMetrics);
    /// Asked after every step: true stops the study there.
    fn interrupted(&self) -> bool;
}

struct Recorder<'a> {
    hooks: &'a mut dyn StepHooks,
    want: u64,
    probe_every: u64,
    probe_z: Vec<f32>,
    record: StepRecord,
}

impl Recorder<'_> {
    fn probe(&mut self, gan: &Gan) {
        if self.probe_every == 0 {
            return;
        }
        let g = grad_norms(gan, GanLoss::Saturating, &self.probe_z);
        self.record
            .probes
            .push((gan.step, g.saturating, g.non_saturating, g.d_fake));
    }
}

impl FitObserver for Recorder<'_> {
    fn on_step(&mut self, gan: &Gan, m: &StepMetrics, done: u64, total: u64) -> Control {
        self.record.steps.push((gan.step, *m));
        let n = self.record.steps.len() as u64;
        if self.probe_every > 0 && (n.is_multiple_of(self.probe_every) || n == self.want) {
            self.probe(gan);
        }
        if n.is_multiple_of(20) || n == self.want {
            self.hooks.progress(gan, m, done, total);
        }
        if n >= self.want || self.hooks.interrupted() {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}

/// Runs `o.steps` iterations of the game on `data`. The caller checks that `data` has D's width.
pub fn train_steps(
    gan: &mut Gan,
    data: &Dataset,
    o: &TrainStepsOptions,
    hooks: &mut dyn StepHooks,
) -> Result<StepRecord> {
    let fit = FitSpec {
        epochs: u64::MAX,
        batch: o.batch,
        d_opt: o.d_opt.clone(),
        g_opt: o.g_opt.clone(),
        steps_per_epoch: None,
    };
    Trainer::try_check(gan, &data.x, data.dim, &fit)?;
    hooks.started();
    let mut rec = Recorder {
        hooks,
        want: o.steps,
        probe_every: o.probe_every,
        probe_z: gan.fixed_noise(o.probe_n),
        record: StepRecord {
            steps: Vec::with_capacity(o.steps as usize),
            probes: Vec::new(),
            interrupted: false,
        },
    };
    if o.probe_every > 0 {
        rec.probe(gan);
    }
    while (rec.record.steps.len() as u64) < o.steps {
        let (m, _) = Trainer::run_epoch(gan, &data.x, data.dim, &fit, &mut rec)?;
        if let Some(m) = m {
            rec.hooks.epoch(&m);
        }
        if rec.hooks.interrupted() {
            rec.record.interrupted = true;
            break;
        }
    }
    Ok(rec.record)
}
