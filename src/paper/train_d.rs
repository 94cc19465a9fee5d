//! Proposition 1's first half: D trained alone against a frozen G, summarised.

use anyhow::Result;

use crate::data::Dataset;
use crate::engine::theory::{self, DTrainReport};
use crate::engine::{Gan, OptimizerSpec, OptimizerState, Schedule};

/// Options of [`train_d`]; each field's default is in `Default`.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainDOptions {
    pub steps: u64,
    pub batch: usize,
    pub opt: OptimizerSpec,
    /// Keep every step's numbers, not only the summary.
    pub record: bool,
}

impl Default for TrainDOptions {
    fn default() -> Self {
        TrainDOptions {
            steps: 1000,
            batch: 100,
            opt: OptimizerSpec::Adam {
                lr: Schedule::constant(1e-3),
                beta1: 0.5,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0,
            },
            record: false,
        }
    }
}

/// What [`train_d`] did: the steps done, D's first loss and the means over the last tenth (at
/// least one step, at most 100) of D's loss and of mean D(x), D(G(z)); every step's numbers
/// when `record` was set.
#[derive(Clone, Debug, PartialEq)]
pub struct DTrainSummary {
    pub steps: u64,
    pub d_loss_first: f64,
    pub d_loss: f64,
    pub d_real: f64,
    pub d_fake: f64,
    pub trace: Option<DTrainReport>,
}

/// Mean of the last tenth (at least one, at most 100) of a trace.
fn tail_mean(v: &[f64]) -> f64 {
    let k = (v.len() / 10).clamp(1, 100).min(v.len().max(1));
    let t = &v[v.len().saturating_sub(k)..];
    t.iter().sum::<f64>() / t.len().max(1) as f64
}

/// Trains D alone on `data` with a fresh optimizer state (see [`theory::train_d`]); `stop` is
/// asked before every step, and `steps` in the summary says how many were done.
pub fn train_d(
    gan: &mut Gan,
    data: &Dataset,
    o: &TrainDOptions,
    stop: &mut dyn FnMut() -> bool,
) -> Result<DTrainSummary> {
    let mut state = OptimizerState::default();
    let r = theory::train_d(
        gan, &data.x, data.dim, o.steps, o.batch, &o.opt, &mut state, stop,
    )?;
    Ok(DTrainSummary {
        steps: r.steps,
        d_loss_first: r.d_loss.first().copied().unwrap_or(f64::NAN),
        d_loss: tail_mean(&r.d_loss),
        d_real: tail_mean(&r.d_real),
        d_fake: tail_mean(&r.d_fake),
        trace: o.record.then_some(r),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_mean_takes_the_last_tenth() {
        let v: Vec<f64> = (1..=30).map(f64::from).collect();
        // last 3 of 30: (28 + 29 + 30) / 3
        assert_eq!(tail_mean(&v), 29.0);
        assert_eq!(tail_mean(&[4.0, 6.0]), 6.0);
        let long: Vec<f64> = (0..5000).map(f64::from).collect();
        // at most 100: mean of 4900..=4999
        assert_eq!(tail_mean(&long), 4949.5);
    }
}
