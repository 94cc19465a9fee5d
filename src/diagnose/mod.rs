//! Live training diagnostics: after every epoch, three detectors read the run's per-epoch series
//! and say, once per kind, why a GAN is failing: D winning (G's gradient vanishing, the paper's
//! §3), mode collapse (the fixed-noise samples far less spread than real rows), and divergence
//! (losses or weight norms growing without bound before the NaN guard trips).
//!
//! Plain Rust over plain numbers: the script layer fills an [`Observation`] per epoch (it is
//! written to `metrics.jsonl`, so a resumed run sees the same series and warns the same), and
//! [`check`] is a pure function of the series and of the kinds already reported.

pub mod spread;

use serde::{Deserialize, Serialize};

/// What the detectors read about one finished epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Observation {
    pub epoch: u64,
    pub d_loss: f64,
    pub g_loss: f64,
    /// Mean D(G(z)) as a probability, for losses where D(G(z)) → 0 means D wins (the
    /// saturating and non-saturating ones); `None` under least squares and hinge.
    pub d_fake: Option<f64>,
    /// G minimises the saturating log(1 − D(G(z))).
    pub saturating: bool,
    /// Mean pairwise distance of the fixed-noise samples over that of real rows.
    pub spread: Option<f64>,
    /// L2 norms of G's and D's parameters.
    pub g_norm: Option<f64>,
    pub d_norm: Option<f64>,
}

/// A kind of failure; each is reported once per GAN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    DWinning,
    ModeCollapse,
    Divergence,
}

/// One diagnosis: the kind, the epoch it was found at, and the numbers with a hint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    pub kind: Kind,
    pub message: String,
}

/// The thresholds (documented in the README's "Training diagnostics").
pub mod limits {
    /// D winning: mean D(G(z)) below this …
    pub const D_FAKE: f64 = 0.05;
    /// … for this many epochs in a row.
    pub const D_FAKE_EPOCHS: usize = 3;
    /// Mode collapse: sample spread below this fraction of the real rows' …
    pub const SPREAD: f64 = 0.6;
    /// … for this many epochs in a row (a healthy G can pass through a narrow phase while it
    /// moves onto the data: 3 epochs in `toy_1d.rhai`).
    pub const SPREAD_EPOCHS: usize = 4;
    /// Divergence: a series rising every epoch over this many epochs …
    pub const RISING_EPOCHS: usize = 4;
    /// … to at least this multiple of where the rise began …
    pub const GROWTH: f64 = 3.0;
    /// … not before this epoch (weights grow fast from their small initial ranges) …
    pub const FROM_EPOCH: u64 = 5;
    /// … and, for a loss, to above this many nats (a loss rising towards the game's equilibrium,
    /// log 4 for D, is healthy: `toy_1d.rhai` trains D alone first, so its d_loss starts near 0).
    pub const LOSS_FLOOR: f64 = 5.0;
}

/// The warnings the newest epoch of `series` raises, leaving out kinds in `reported`.
pub fn check(series: &[Observation], reported: &[Kind]) -> Vec<Warning> {
    let mut out = Vec::new();
    for (kind, found) in [
        (Kind::DWinning, d_winning(series)),
        (Kind::ModeCollapse, mode_collapse(series)),
        (Kind::Divergence, divergence(series)),
    ] {
        if let (false, Some(message)) = (reported.contains(&kind), found) {
            out.push(Warning { kind, message });
        }
    }
    out
}

/// The last `n` observations, if there are that many.
fn last(series: &[Observation], n: usize) -> Option<&[Observation]> {
    series.len().checked_sub(n).map(|i| &series[i..])
}

fn d_winning(series: &[Observation]) -> Option<String> {
    let w = last(series, limits::D_FAKE_EPOCHS)?;
    let vals: Vec<f64> = w.iter().map(|o| o.d_fake).collect::<Option<_>>()?;
    if !vals.iter().all(|&v| v < limits::D_FAKE) {
        return None;
    }
    let why = if w[w.len() - 1].saturating {
        "G's gradient vanishes: log(1 − D(G(z))) saturates when D rejects G's samples (the \
         paper's §3); use loss: \"non_saturating\", or"
    } else {
        "G learns from a D that rejects all its samples, so its gradient is small and points at \
         whatever D finds least fake (often one mode); try"
    };
    Some(format!(
        "D is winning: mean D(G(z)) has stayed below {} for {} epochs ({}). {why} a lower lr for D \
         or a higher one for G, fewer D-steps (k), or more dropout in D",
        limits::D_FAKE,
        w.len(),
        list(&vals, 3)
    ))
}

fn mode_collapse(series: &[Observation]) -> Option<String> {
    let w = last(series, limits::SPREAD_EPOCHS)?;
    let vals: Vec<f64> = w.iter().map(|o| o.spread).collect::<Option<_>>()?;
    if !vals.iter().all(|&v| v < limits::SPREAD) {
        return None;
    }
    Some(format!(
        "mode collapse: the samples of the fixed noise batch are spread {} as much as real rows \
         (mean pairwise distance; below {} for {} epochs): G maps different z to nearly the same \
         output. Usually D is winning or G's lr is too high; look at the sample grids",
        list(&vals, 2),
        limits::SPREAD,
        w.len()
    ))
}

/// One per-epoch number of an observation (absent where it was not computed).
type Series = fn(&Observation) -> Option<f64>;

fn divergence(series: &[Observation]) -> Option<String> {
    let newest = series.last()?;
    if newest.epoch < limits::FROM_EPOCH {
        return None;
    }
    let w = last(series, limits::RISING_EPOCHS)?;
    // (name, value, floor the newest value must pass)
    let named: [(&str, Series, f64); 4] = [
        ("|d_loss|", |o| Some(o.d_loss.abs()), limits::LOSS_FLOOR),
        ("|g_loss|", |o| Some(o.g_loss.abs()), limits::LOSS_FLOOR),
        ("‖θ_G‖", |o| o.g_norm, 0.0),
        ("‖θ_D‖", |o| o.d_norm, 0.0),
    ];
    for (name, get, floor) in named {
        let Some(vals) = w.iter().map(get).collect::<Option<Vec<f64>>>() else {
            continue;
        };
        let rising = vals.windows(2).all(|p| p[1] > p[0]);
        let newest = vals[vals.len() - 1];
        if rising && vals[0] > 0.0 && newest >= limits::GROWTH * vals[0] && newest > floor {
            return Some(format!(
                "diverging: {name} rose every epoch for {} epochs, {} (×{:.1}); training is likely \
                 to end in NaN. Lower the learning rates, or add weight_decay",
                vals.len(),
                list(&vals, 4),
                vals[vals.len() - 1] / vals[0]
            ));
        }
    }
    None
}

fn list(vals: &[f64], digits: usize) -> String {
    let v: Vec<String> = vals.iter().map(|v| format!("{v:.digits$}")).collect();
    v.join(" → ")
}

#[cfg(test)]
mod tests;
