//! The game's losses, computed from D's logits `l` (D(x) = σ(l)) in numerically stable forms:
//! `−log σ(l) = softplus(−l)` and `−log(1 − σ(l)) = softplus(l)`, so no loss is NaN for finite logits.

use dfdx::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Dev, Mat};

/// Which game is played. The first two share the paper's D loss and differ in G's:
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GanLoss {
    /// G minimises `log(1 − D(G(z)))`: the minimax game as written in the paper's equation (1).
    /// Its gradient vanishes when D confidently rejects samples (early training).
    Saturating,
    /// G minimises `−log D(G(z))`: the paper's recommended heuristic (and what its code runs).
    /// Many libraries call this one "vanilla".
    NonSaturating,
    /// LSGAN: D minimises `½[(l_real − 1)² + l_fake²]`, G minimises `½(l_fake − 1)²` on the raw output.
    LeastSquares,
    /// Hinge: D minimises `relu(1 − l_real) + relu(1 + l_fake)`, G minimises `−l_fake`.
    Hinge,
}

impl GanLoss {
    pub const NAMES: [&'static str; 4] = ["saturating", "non_saturating", "least_squares", "hinge"];

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "saturating" => Some(GanLoss::Saturating),
            "non_saturating" => Some(GanLoss::NonSaturating),
            "least_squares" => Some(GanLoss::LeastSquares),
            "hinge" => Some(GanLoss::Hinge),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// D's loss on a batch of real logits and a batch of fake logits `(batch, 1)`.
    ///
    /// For the two cross-entropy games this is the paper code's `0.5 × (cost(real, 1) + cost(fake, 0))`
    /// (pylearn2 `AdversaryCost2`): the mean cross-entropy over the 2B examples D sees. So
    /// `V(D, G) = E log D(x) + E log(1 − D(G(z))) = −2 × d_loss`.
    pub fn d_loss<T1, T2>(self, real: Mat<T1>, fake: Mat<T2>) -> Tensor<(), f32, Dev, T1>
    where
        T1: Tape<f32, Dev> + Merge<T2>,
        T2: Tape<f32, Dev>,
    {
        match self {
            GanLoss::Saturating | GanLoss::NonSaturating => {
                let ones = real.device().ones_like(&real);
                let zeros = fake.device().zeros_like(&fake);
                let r = real.bce_with_logits(ones).mean();
                let f = fake.bce_with_logits(zeros).mean();
                (r + f) * 0.5
            }
            GanLoss::LeastSquares => {
                let r = (real - 1.0).square().mean();
                let f = fake.square().mean();
                (r + f) * 0.5
            }
            GanLoss::Hinge => {
                let r = (real.negate() + 1.0).relu().mean();
                let f = (fake + 1.0).relu().mean();
                r + f
            }
        }
    }

    /// G's loss on the logits D gave its samples `(batch, 1)`.
    pub fn g_loss<T: Tape<f32, Dev>>(self, fake: Mat<T>) -> Tensor<(), f32, Dev, T> {
        match self {
            GanLoss::Saturating => {
                // log(1 − σ(l)) = −softplus(l)
                let zeros = fake.device().zeros_like(&fake);
                fake.bce_with_logits(zeros).mean().negate()
            }
            GanLoss::NonSaturating => {
                let ones = fake.device().ones_like(&fake);
                fake.bce_with_logits(ones).mean()
            }
            GanLoss::LeastSquares => (fake - 1.0).square().mean() * 0.5,
            GanLoss::Hinge => fake.mean().negate(),
        }
    }
}

/// Softmax cross-entropy of `(batch, classes)` logits against one-hot (or any probability)
/// targets of the same shape, averaged over the batch: `−(1/B) Σ_i Σ_k t_ik log softmax(l_i)_k`.
/// dfdx's `cross_entropy_with_logits_loss` uses the stable log-softmax (max subtracted first).
pub fn softmax_cross_entropy<T: Tape<f32, Dev>>(
    logits: Mat<T>,
    targets: Mat,
) -> Tensor<(), f32, Dev, T> {
    dfdx::losses::cross_entropy_with_logits_loss(logits, targets)
}

/// `softplus(x) = log(1 + eˣ)` in f64, stable for any finite x (reference for tests and metrics).
pub fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// Logistic sigmoid in f64.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The mean of σ(logit) over a batch: the average D(x) of a batch of D's logits (0 when empty).
pub fn mean_sigmoid(logits: &[f32]) -> f64 {
    logits.iter().map(|&l| sigmoid(l as f64)).sum::<f64>() / logits.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::device;

    #[test]
    fn mean_sigmoid_averages_d_over_the_batch() {
        // σ(0) = ½, σ(ln 3) = ¾, σ(−ln 3) = ¼
        let l3 = 3f32.ln();
        assert!(
            (mean_sigmoid(&[0.0, l3, -l3, l3]) - (0.5 + 0.75 + 0.25 + 0.75) / 4.0).abs() < 1e-7
        );
        assert_eq!(mean_sigmoid(&[]), 0.0);
    }

    fn logits(dev: &Dev, v: &[f32]) -> Mat {
        dev.tensor_from_vec(v.to_vec(), (v.len(), 1))
    }

    /// Closed forms straight from the definitions, in f64 with plain `ln`, for moderate logits.
    fn closed_d(loss: GanLoss, r: &[f32], f: &[f32]) -> f64 {
        let m = |v: &[f32], g: &dyn Fn(f64) -> f64| {
            v.iter().map(|&x| g(x as f64)).sum::<f64>() / v.len() as f64
        };
        match loss {
            GanLoss::Saturating | GanLoss::NonSaturating => {
                -0.5 * (m(r, &|l| sigmoid(l).ln()) + m(f, &|l| (1.0 - sigmoid(l)).ln()))
            }
            GanLoss::LeastSquares => 0.5 * (m(r, &|l| (l - 1.0).powi(2)) + m(f, &|l| l * l)),
            GanLoss::Hinge => m(r, &|l| (1.0 - l).max(0.0)) + m(f, &|l| (1.0 + l).max(0.0)),
        }
    }

    fn closed_g(loss: GanLoss, f: &[f32]) -> f64 {
        let m =
            |g: &dyn Fn(f64) -> f64| f.iter().map(|&x| g(x as f64)).sum::<f64>() / f.len() as f64;
        match loss {
            GanLoss::Saturating => m(&|l| (1.0 - sigmoid(l)).ln()),
            GanLoss::NonSaturating => m(&|l| -sigmoid(l).ln()),
            GanLoss::LeastSquares => 0.5 * m(&|l| (l - 1.0).powi(2)),
            GanLoss::Hinge => m(&|l| -l),
        }
    }

    #[test]
    fn losses_match_closed_forms() {
        let dev = device();
        let r = [2.0f32, -0.5, 0.3, 1.7];
        let f = [-1.0f32, 0.8, -2.5, 0.0];
        for name in GanLoss::NAMES {
            let loss = GanLoss::parse(name).unwrap();
            let d = loss.d_loss(logits(&dev, &r), logits(&dev, &f)).array() as f64;
            let g = loss.g_loss(logits(&dev, &f)).array() as f64;
            assert!((d - closed_d(loss, &r, &f)).abs() < 1e-5, "{name} d: {d}");
            assert!((g - closed_g(loss, &f)).abs() < 1e-5, "{name} g: {g}");
        }
    }

    #[test]
    fn at_d_one_half_v_is_minus_log_4() {
        // D(x) = ½ everywhere (logit 0): V = 2 log ½ = −log 4, so d_loss = log 2.
        let dev = device();
        let z = [0.0f32; 8];
        let d = GanLoss::NonSaturating
            .d_loss(logits(&dev, &z), logits(&dev, &z))
            .array() as f64;
        assert!((-2.0 * d + 4f64.ln()).abs() < 1e-6);
    }

    #[test]
    fn extreme_logits_give_finite_losses_and_gradients() {
        let dev = device();
        let ext = [50.0f32, -50.0, 88.0, -88.0, 1e4, -1e4];
        for name in GanLoss::NAMES {
            let loss = GanLoss::parse(name).unwrap();
            let r = logits(&dev, &ext);
            let f = logits(&dev, &ext);
            let d = loss.d_loss(r.leaky_trace(), f.clone());
            let dv = d.array();
            assert!(dv.is_finite(), "{name}: d_loss {dv}");
            let grads = d.backward();
            assert!(
                grads.get(&r).as_vec().iter().all(|g| g.is_finite()),
                "{name}: d grad"
            );
            let ft = logits(&dev, &ext);
            let g = loss.g_loss(ft.leaky_trace());
            assert!(g.array().is_finite(), "{name}: g_loss");
            assert!(g.backward().get(&ft).as_vec().iter().all(|g| g.is_finite()));
        }
        // Values at ±50 against the asymptotics: −log σ(−50) ≈ 50, −log σ(50) ≈ e^−50.
        let ns = GanLoss::NonSaturating
            .g_loss(logits(&dev, &[-50.0]))
            .array() as f64;
        assert!((ns - 50.0).abs() < 1e-4);
        let sat = GanLoss::Saturating.g_loss(logits(&dev, &[-50.0])).array() as f64;
        assert!(sat.abs() < 1e-6, "saturating loss at D≈0 is ≈ 0: {sat}");
    }

    /// Finite differences of each loss in f64 against dfdx's gradient w.r.t. the logits.
    #[test]
    fn loss_gradients_match_finite_differences() {
        let dev = device();
        let r = [1.3f32, -0.7, 0.2];
        let f = [-0.4f32, 0.9, -1.6];
        let h = 1e-4;
        for name in GanLoss::NAMES {
            let loss = GanLoss::parse(name).unwrap();
            let ft = logits(&dev, &f);
            let gg = loss.g_loss(ft.leaky_trace()).backward().get(&ft).as_vec();
            let rt = logits(&dev, &r);
            let dg = loss
                .d_loss(rt.leaky_trace(), logits(&dev, &f))
                .backward()
                .get(&rt)
                .as_vec();
            for i in 0..3 {
                let mut fp = f;
                let mut fm = f;
                fp[i] += h as f32;
                fm[i] -= h as f32;
                let num = (closed_g(loss, &fp) - closed_g(loss, &fm)) / (fp[i] - fm[i]) as f64;
                assert!(
                    (num - gg[i] as f64).abs() < 2e-3,
                    "{name} g grad {i}: {num} vs {}",
                    gg[i]
                );
                let mut rp = r;
                let mut rm = r;
                rp[i] += h as f32;
                rm[i] -= h as f32;
                let num =
                    (closed_d(loss, &rp, &f) - closed_d(loss, &rm, &f)) / (rp[i] - rm[i]) as f64;
                assert!(
                    (num - dg[i] as f64).abs() < 2e-3,
                    "{name} d grad {i}: {num} vs {}",
                    dg[i]
                );
            }
        }
    }

    /// Against the definition in f64: mean over rows of `logsumexp(l) − l_label`, and its gradient
    /// `(softmax(l) − onehot) / B`.
    #[test]
    fn softmax_cross_entropy_matches_its_definition() {
        let dev = device();
        let l = [1.0f32, -2.0, 0.5, 30.0, 29.0, -5.0];
        let labels = [2usize, 0];
        let mut t = vec![0f32; 6];
        for (i, &k) in labels.iter().enumerate() {
            t[i * 3 + k] = 1.0;
        }
        let x = dev.tensor_from_vec(l.to_vec(), (2, 3));
        let loss = softmax_cross_entropy(x.leaky_trace(), dev.tensor_from_vec(t.clone(), (2, 3)));
        let got = loss.array() as f64;
        let row = |r: &[f32]| {
            let m = r.iter().fold(f64::MIN, |a, &v| a.max(v as f64));
            m + r.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln()
        };
        let want = ((row(&l[..3]) - l[2] as f64) + (row(&l[3..]) - l[3] as f64)) / 2.0;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        let g = loss.backward().get(&x).as_vec();
        for (i, r) in l.chunks(3).enumerate() {
            let lse = row(r);
            for k in 0..3 {
                let p = (r[k] as f64 - lse).exp();
                let want = (p - t[i * 3 + k] as f64) / 2.0;
                assert!((g[i * 3 + k] as f64 - want).abs() < 1e-5, "grad [{i},{k}]");
            }
        }
    }
}
