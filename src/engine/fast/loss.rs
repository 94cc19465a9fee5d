//! The game's losses on the logits, with their gradients w.r.t. the logits, as dfdx's autograd
//! computes them (same f32 formulas, same summation order).

use crate::engine::loss::GanLoss;

fn bce(l: f32, p: f32) -> f32 {
    l.max(0.0) - l * p + (1.0 + (-l.abs()).exp()).ln()
}

/// ∂ bce / ∂ logit (dfdx's `BCEKernelOp::dfdx`).
fn bce_d(l: f32, p: f32) -> f32 {
    1.0 - p - (1.0 + l.exp()).recip()
}

/// dfdx's `mean`: a sequential f32 sum times `1/n`.
fn mean(v: impl Iterator<Item = f32>, n: usize) -> f32 {
    let inv = (1.0 / n as f64) as f32;
    v.fold(0.0f32, |a, x| a + x) * inv
}

fn inv(n: usize) -> f32 {
    (1.0 / n as f64) as f32
}

/// D's loss on the real and fake logits; writes ∂/∂logit into `gr`, `gf`.
pub(super) fn d_loss(
    loss: GanLoss,
    real: &[f32],
    fake: &[f32],
    gr: &mut [f32],
    gf: &mut [f32],
) -> f32 {
    let (nr, nf) = (real.len(), fake.len());
    match loss {
        GanLoss::Saturating | GanLoss::NonSaturating => {
            let (r, f) = (
                mean(real.iter().map(|&l| bce(l, 1.0)), nr),
                mean(fake.iter().map(|&l| bce(l, 0.0)), nf),
            );
            let (cr, cf) = (0.5 * inv(nr), 0.5 * inv(nf));
            gr.iter_mut()
                .zip(real)
                .for_each(|(g, &l)| *g = bce_d(l, 1.0) * cr);
            gf.iter_mut()
                .zip(fake)
                .for_each(|(g, &l)| *g = bce_d(l, 0.0) * cf);
            (r + f) * 0.5
        }
        GanLoss::LeastSquares => {
            let (r, f) = (
                mean(real.iter().map(|&l| (l - 1.0).powi(2)), nr),
                mean(fake.iter().map(|&l| l.powi(2)), nf),
            );
            let (cr, cf) = (0.5 * inv(nr), 0.5 * inv(nf));
            gr.iter_mut()
                .zip(real)
                .for_each(|(g, &l)| *g = (2.0 * (l - 1.0)) * cr);
            gf.iter_mut()
                .zip(fake)
                .for_each(|(g, &l)| *g = (2.0 * l) * cf);
            (r + f) * 0.5
        }
        GanLoss::Hinge => {
            let (r, f) = (
                mean(real.iter().map(|&l| (-l + 1.0).max(0.0)), nr),
                mean(fake.iter().map(|&l| (l + 1.0).max(0.0)), nf),
            );
            let step = |v: f32| if v > 0.0 { 1.0 } else { 0.0 };
            let (cr, cf) = (inv(nr), inv(nf));
            gr.iter_mut()
                .zip(real)
                .for_each(|(g, &l)| *g = -(step(-l + 1.0) * cr));
            gf.iter_mut()
                .zip(fake)
                .for_each(|(g, &l)| *g = step(l + 1.0) * cf);
            r + f
        }
    }
}

/// G's loss on the fake logits; writes ∂/∂logit into `gf`.
pub(super) fn g_loss(loss: GanLoss, fake: &[f32], gf: &mut [f32]) -> f32 {
    let n = fake.len();
    let c = inv(n);
    match loss {
        GanLoss::Saturating => {
            gf.iter_mut()
                .zip(fake)
                .for_each(|(g, &l)| *g = bce_d(l, 0.0) * -c);
            -mean(fake.iter().map(|&l| bce(l, 0.0)), n)
        }
        GanLoss::NonSaturating => {
            gf.iter_mut()
                .zip(fake)
                .for_each(|(g, &l)| *g = bce_d(l, 1.0) * c);
            mean(fake.iter().map(|&l| bce(l, 1.0)), n)
        }
        GanLoss::LeastSquares => {
            let c = 0.5 * c;
            gf.iter_mut()
                .zip(fake)
                .for_each(|(g, &l)| *g = (2.0 * (l - 1.0)) * c);
            mean(fake.iter().map(|&l| (l - 1.0).powi(2)), n) * 0.5
        }
        GanLoss::Hinge => {
            gf.iter_mut().for_each(|g| *g = -c);
            -mean(fake.iter().copied(), n)
        }
    }
}
