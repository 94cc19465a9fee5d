//! The training diagnostics of a GAN being fitted: after each epoch, the numbers the detectors of
//! [`crate::diagnose`] read are added to the epoch's metrics (so they reach `metrics.jsonl` and a
//! resumed run reads them back), and the diagnoses the epoch raises are attached and shown.

use crate::data::Dataset;
use crate::diagnose::spread::{evenly_spaced_rows, spread_ratio};
use crate::diagnose::{check, Kind, Observation, Warning};
use crate::engine::{EpochMetrics, Gan, GanLoss};

/// Rows of fixed-noise samples and of real data compared for the spread (64 · 63 / 2 pairs).
const SPREAD_ROWS: usize = 64;

/// Fills in `m`'s spread and parameter norms from the GAN at the end of the epoch. Depends only on
/// the model and the data, so a resumed run computes the same numbers.
pub fn observe(gan: &mut Gan, data: &Dataset, m: &mut EpochMetrics) {
    let samples = gan.sample_fixed(SPREAD_ROWS);
    let real = evenly_spaced_rows(&data.x, data.dim, SPREAD_ROWS);
    m.spread = spread_ratio(&samples, &real, data.dim);
    let norm = |values: Vec<crate::engine::network::NamedValues>| {
        let sq: f64 = values
            .iter()
            .flat_map(|v| &v.values)
            .map(|&x| (x as f64) * (x as f64))
            .sum();
        sq.sqrt()
    };
    m.g_norm = Some(norm(gan.g.export()));
    m.d_norm = Some(norm(gan.d.export()));
}

/// The diagnoses epoch `m` raises after `history` (this GAN's earlier epochs, including those
/// a resumed run read back), under `loss`.
pub fn diagnose(history: &[EpochMetrics], m: &EpochMetrics, loss: GanLoss) -> Vec<Warning> {
    // D(G(z)) → 0 means "D wins" only where D's target for fakes is probability 0.
    let probability = matches!(loss, GanLoss::Saturating | GanLoss::NonSaturating);
    let series: Vec<Observation> = history
        .iter()
        .chain(std::iter::once(m))
        .map(|e| Observation {
            epoch: e.epoch,
            d_loss: e.d_loss,
            g_loss: e.g_loss,
            d_fake: probability.then_some(e.d_fake),
            spread: e.spread,
            g_norm: e.g_norm,
            d_norm: e.d_norm,
            saturating: loss == GanLoss::Saturating,
        })
        .collect();
    let reported: Vec<Kind> = history
        .iter()
        .flat_map(|e| e.warnings.iter().map(|w| w.kind))
        .collect();
    check(&series, &reported)
}
