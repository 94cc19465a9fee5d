//! The paper's theory as things one can measure: training D alone against a frozen G
//! (Proposition 1), the value V(D, G) of the game (Theorem 1), the density p_g of a 1-D generator
//! by change of variables, gradient probes of G's loss, and linear paths in z-space (Figure 3).

use dfdx::prelude::*;
use rand::Rng;
use sha2::{Digest, Sha256};

use super::gan::Gan;
use super::host_copy;
use super::layers::{Masks, ParamRef};
use super::loss::{mean_sigmoid, softplus, GanLoss};
use super::network::Network;
use super::noise::Noise;
use super::optim::{OptimizerSpec, OptimizerState};
use super::rng::{stream, Purpose};
use super::step::d_pass;
use super::Mat;

/// What [`train_d`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DTrainReport {
    pub steps: u64,
    /// D's loss of every step (on its minibatch, dropout as in training).
    pub d_loss: Vec<f64>,
    /// Mean D(x) and D(G(z)) of every step's minibatch.
    pub d_real: Vec<f64>,
    pub d_fake: Vec<f64>,
}

/// A key for the random streams of one [`train_d`] call: the run's seed, the game's step and D's
/// current weights. The same state gives the same draws; any D update gives new ones, so calling
/// `train_d` twice in a row continues with fresh minibatches.
fn d_state_key(gan: &Gan) -> u64 {
    let mut h = Sha256::new();
    h.update(gan.seed.to_le_bytes());
    h.update(gan.step.to_le_bytes());
    for (_, p) in gan.d.params() {
        for v in p.values() {
            h.update(v.to_bits().to_le_bytes());
        }
    }
    let d = h.finalize();
    u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
}

/// Trains D alone for `steps` minibatches with G frozen (G's weights are read, never written):
/// each step draws `batch` real rows uniformly (with replacement) from `data`, `batch` samples of
/// G in evaluation mode, and takes one step of `opt` on D's loss of the game. With a cross-entropy
/// loss this drives D towards Proposition 1's D*(x) = p_data(x) / (p_data(x) + p_g(x)).
///
/// `state` is the optimizer state to use (a fresh one trains D from its current weights with new
/// moments). Schedules in `opt` see this call's own step count and epoch 1. `stop` is asked
/// before every step; when it says true, training ends there (`steps` in the report says how many
/// were done).
#[allow(clippy::too_many_arguments)]
pub fn train_d(
    gan: &mut Gan,
    data: &[f32],
    dim: usize,
    steps: u64,
    batch: usize,
    opt: &OptimizerSpec,
    state: &mut OptimizerState,
    stop: &mut dyn FnMut() -> bool,
) -> anyhow::Result<DTrainReport> {
    anyhow::ensure!(
        dim == gan.data_dim(),
        "the data has {dim} features per row, D takes {}",
        gan.data_dim()
    );
    anyhow::ensure!(batch > 0, "batch must be at least 1");
    let rows = data.len() / dim.max(1);
    anyhow::ensure!(rows > 0, "the data has no rows");
    anyhow::ensure!(
        data.iter().all(|v| v.is_finite()),
        "the training data contains NaN or infinite values"
    );
    opt.check().map_err(|e| anyhow::anyhow!("opt: {e}"))?;
    let key = d_state_key(gan);
    let noise = gan.spec.noise;
    let mut report = DTrainReport::default();
    let mut buf = vec![0f32; batch * dim];
    for i in 0..steps {
        if stop() {
            break;
        }
        let mut rng = stream(key, Purpose::Step, i);
        for r in 0..batch {
            let idx = rng.gen_range(0..rows);
            buf[r * dim..(r + 1) * dim].copy_from_slice(&data[idx * dim..(idx + 1) * dim]);
        }
        let real: Mat = gan.dev.tensor_from_vec(buf.clone(), (batch, dim));
        let z = noise.sample(&gan.dev, batch, &mut rng);
        let fake = gan.path.eval(&gan.g, z);
        let mut d = d_pass(gan, real, fake, &mut rng, &mut Vec::new());
        report.d_real.push(d.d_real);
        report.d_fake.push(d.d_fake);
        let l = d.d_loss;
        anyhow::ensure!(
            l.is_finite(),
            "D's training diverged at step {} of {steps}: d_loss = {l}",
            i + 1
        );
        report.d_loss.push(l);
        state.update(opt, &mut gan.d, &mut d.grads, i, 1);
        report.steps += 1;
    }
    Ok(report)
}

/// A Monte Carlo estimate of the game's value.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ValueEstimate {
    /// V(D, G) = E_x log D(x) + E_z log(1 − D(G(z))).
    pub v: f64,
    /// E_x log D(x) over the real rows.
    pub e_log_d_real: f64,
    /// E_z log(1 − D(G(z))) over the generated rows.
    pub e_log_one_minus_d_fake: f64,
    /// Standard error of `v` (the two terms' sample variances over their counts).
    pub se: f64,
    pub n_real: usize,
    pub n_fake: usize,
}

/// D's logits in evaluation mode, a few thousand rows at a time (bounded memory).
pub fn d_logits_chunked(gan: &Gan, x: &[f32]) -> Vec<f32> {
    let dim = gan.data_dim();
    let chunk = 4096 * dim;
    x.chunks(chunk).flat_map(|c| gan.d_logits(c)).collect()
}

/// G(z) in evaluation mode, a few thousand rows at a time.
pub fn generate_chunked(gan: &Gan, z: &[f32]) -> Vec<f32> {
    let chunk = 4096 * gan.noise_dim();
    z.chunks(chunk).flat_map(|c| gan.generate(c)).collect()
}

/// V(D, G) in evaluation mode (no dropout) over the real rows `real` and G's images of the noise
/// rows `z`, in f64 with `log D = −softplus(−l)` and `log(1 − D) = −softplus(l)` for logits l.
pub fn value(gan: &Gan, real: &[f32], z: &[f32]) -> ValueEstimate {
    let fake = generate_chunked(gan, z);
    let lr = d_logits_chunked(gan, real);
    let lf = d_logits_chunked(gan, &fake);
    let stats = |v: Vec<f64>| {
        let n = v.len().max(1) as f64;
        let m = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        (m, var / n)
    };
    let (er, vr) = stats(lr.iter().map(|&l| -softplus(-(l as f64))).collect());
    let (ef, vf) = stats(lf.iter().map(|&l| -softplus(l as f64)).collect());
    ValueEstimate {
        v: er + ef,
        e_log_d_real: er,
        e_log_one_minus_d_fake: ef,
        se: (vr + vf).sqrt(),
        n_real: lr.len(),
        n_fake: lf.len(),
    }
}

/// The density of G's samples for a 1-D game (noise of dimension 1, data of dimension 1), exactly
/// by the change of variables p_g(x) = Σ_{z: G(z) = x} p_z(z) / |G′(z)|, evaluated for the
/// piecewise-linear interpolant of G on `z_points` evenly spaced z values (G in evaluation mode):
/// each segment [z_i, z_{i+1}] carries the prior mass between its ends (exact for a uniform prior,
/// pdf × width at the midpoint for a Gaussian one, whose grid spans ±8 std) and spreads it
/// evenly over [G(z_i), G(z_{i+1})]. Summing over segments counts every preimage, so G need not
/// be monotone. Returns p_g at each `x` and the support [min G, max G] of the interpolant.
/// G computes in f32, so each segment's width carries a rounding error of about 1e-7·|x|: with
/// 20001 points the density is good to a relative 1e-3 or so (D* = p/(p + p_g) to ~1e-4).
pub fn pg_density_1d(
    gan: &Gan,
    xs: &[f64],
    z_points: usize,
) -> anyhow::Result<(Vec<f64>, (f64, f64))> {
    anyhow::ensure!(
        gan.noise_dim() == 1 && gan.data_dim() == 1,
        "p_g by change of variables needs a 1-D game (noise of dimension 1, data of dimension 1); \
         this one has noise dimension {} and data dimension {}",
        gan.noise_dim(),
        gan.data_dim()
    );
    anyhow::ensure!(z_points >= 2, "z_points must be at least 2, got {z_points}");
    let (z0, z1, pdf): (f64, f64, Box<dyn Fn(f64) -> f64>) = match gan.spec.noise {
        Noise::Uniform { half_width, .. } => {
            let h = half_width;
            (-h, h, Box::new(move |_| 1.0 / (2.0 * h)))
        }
        Noise::Gaussian { std, .. } => (
            -8.0 * std,
            8.0 * std,
            Box::new(move |z: f64| crate::stats::normal_pdf(z, 0.0, std)),
        ),
    };
    let zs: Vec<f64> = (0..z_points)
        .map(|i| z0 + (z1 - z0) * i as f64 / (z_points - 1) as f64)
        .collect();
    let zf: Vec<f32> = zs.iter().map(|&z| z as f32).collect();
    let gz: Vec<f64> = generate_chunked(gan, &zf)
        .into_iter()
        .map(|v| v as f64)
        .collect();
    anyhow::ensure!(
        gz.iter().all(|v| v.is_finite()),
        "G gives non-finite outputs on its noise support"
    );
    let mut out = vec![0.0; xs.len()];
    for i in 0..z_points - 1 {
        let dz = zs[i + 1] - zs[i];
        let mass = pdf(0.5 * (zs[i] + zs[i + 1])) * dz;
        let (a, b) = (gz[i].min(gz[i + 1]), gz[i].max(gz[i + 1]));
        let width = (b - a).max(1e-12);
        for (o, &x) in out.iter_mut().zip(xs) {
            // half-open, so a shared end of two segments counts once
            if x >= a && x < b || (b - a < 1e-12 && (x - a).abs() < 1e-12) {
                *o += mass / width;
            }
        }
    }
    let lo = gz.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = gz.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    Ok((out, (lo, hi)))
}

/// The norm of the gradient of G's loss `loss` with respect to all of G's parameters, on G's
/// images of the noise rows `z` scored by D in evaluation mode (no update is made). Also returns
/// the mean D(G(z)) of those rows. This is what the paper's remark on saturation is about: for
/// the minimax loss log(1 − D(G(z))) the gradient at D's logit is −D(G(z)), which vanishes when D
/// confidently rejects G's samples; for −log D(G(z)) it is −(1 − D(G(z))).
pub fn g_grad_norm(gan: &Gan, loss: GanLoss, z: &[f32]) -> (f64, f64) {
    let n = z.len() / gan.noise_dim();
    let zt: Mat = gan.dev.tensor_from_vec(z.to_vec(), (n, gan.noise_dim()));
    let fake = gan.g.forward(zt.leaky_traced(), &mut Masks::Off);
    let logits = gan.d.forward(fake, &mut Masks::Off);
    let mean_d = mean_sigmoid(&logits.as_vec());
    let mut grads = loss.g_loss(logits).backward();
    (param_grad_norm(&gan.g, &mut grads), mean_d)
}

fn param_grad_norm(net: &Network, grads: &mut Gradients<f32, super::Dev>) -> f64 {
    let mut sq = 0.0f64;
    for (_, p) in net.params() {
        let g = match p {
            ParamRef::Matrix(w) => host_copy::to_host(grads.get_or_alloc_mut(w).expect("gradient")),
            ParamRef::Vector(b) => host_copy::to_host(grads.get_or_alloc_mut(b).expect("gradient")),
        };
        sq += g.iter().map(|&v| (v as f64).powi(2)).sum::<f64>();
    }
    sq.sqrt()
}

/// Rows of z on the straight lines from each row of `z0` to the same row of `z1`: for every pair,
/// `steps` points `(1 − t)·z0 + t·z1` with t = 0, 1/(steps − 1), …, 1, pair after pair. The ends
/// are exactly `z0` and `z1`.
pub fn lerp_rows(z0: &[f32], z1: &[f32], dim: usize, steps: usize) -> Vec<f32> {
    assert_eq!(z0.len(), z1.len(), "lerp_rows: z0 and z1 differ in length");
    let mut out = Vec::with_capacity(z0.len() * steps);
    for (a, b) in z0.chunks_exact(dim).zip(z1.chunks_exact(dim)) {
        for s in 0..steps {
            let t = if steps == 1 {
                0.0
            } else {
                s as f32 / (steps - 1) as f32
            };
            out.extend(a.iter().zip(b).map(|(&x, &y)| (1.0 - t) * x + t * y));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::{GanSpec, LayerSpec, StackSpec, UpdateScheme};

    fn affine_gan(noise: Noise) -> Gan {
        let one = |input| StackSpec {
            input,
            layers: vec![LayerSpec::Dense {
                units: 1,
                irange: None,
            }],
        };
        let spec = GanSpec {
            noise,
            g: one(1),
            d: one(1),
            loss: GanLoss::NonSaturating,
            scheme: UpdateScheme::Simultaneous,
            init_g_bias_from_marginals: false,
        };
        let mut gan = Gan::try_new(spec, 0).unwrap();
        // G(z) = 2z + 3
        let mut p = gan.g.export();
        p[0].values = vec![2.0];
        p[1].values = vec![3.0];
        gan.g.try_import(&p).unwrap();
        gan
    }

    #[test]
    fn change_of_variables_is_exact_for_an_affine_generator() {
        // z ~ U(−1, 1), G(z) = 2z + 3: p_g is uniform on (1, 5) with density 1/4.
        let gan = affine_gan(Noise::Uniform {
            dim: 1,
            half_width: 1.0,
        });
        let (p, (lo, hi)) = pg_density_1d(&gan, &[0.5, 1.2, 3.0, 4.9, 5.5], 1001).unwrap();
        assert_eq!((lo, hi), (1.0, 5.0));
        // G runs in f32: the segment widths carry its rounding (relative 1e-5).
        for (got, want) in p.iter().zip([0.0, 0.25, 0.25, 0.25, 0.0]) {
            assert!((got - want).abs() < 1e-4, "{got} vs {want}");
        }
        // z ~ N(0, 1): p_g = N(3, 2²).
        let gan = affine_gan(Noise::Gaussian { dim: 1, std: 1.0 });
        let xs = [-1.0, 2.0, 3.0, 4.5, 7.0];
        let (p, _) = pg_density_1d(&gan, &xs, 20001).unwrap();
        for (got, &x) in p.iter().zip(&xs) {
            let want = crate::stats::normal_pdf(x, 3.0, 2.0);
            assert!(
                (got - want).abs() < 2e-3 * want,
                "p_g({x}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn lerp_ends_are_exact() {
        let z0 = [0.1f32, -0.7, 0.3, 0.9];
        let z1 = [-0.4f32, 0.2, 0.8, -0.33];
        let l = lerp_rows(&z0, &z1, 2, 5);
        assert_eq!(l.len(), 2 * 5 * 2);
        assert_eq!(&l[0..2], &z0[0..2]);
        assert_eq!(&l[8..10], &z1[0..2]);
        assert_eq!(&l[10..12], &z0[2..4]);
        assert_eq!(&l[18..20], &z1[2..4]);
    }

    #[test]
    fn value_at_logit_zero_is_minus_log_4() {
        let mut gan = affine_gan(Noise::Uniform {
            dim: 1,
            half_width: 1.0,
        });
        let mut p = gan.d.export();
        p[0].values = vec![0.0];
        gan.d.try_import(&p).unwrap();
        let v = value(&gan, &[1.0, 2.0, 3.0], &[0.5, -0.5]);
        assert!((v.v + 4f64.ln()).abs() < 1e-12);
        assert_eq!((v.n_real, v.n_fake), (3, 2));
    }

    #[test]
    fn train_d_leaves_g_alone_and_moves_d_towards_the_data() {
        let mut gan = affine_gan(Noise::Uniform {
            dim: 1,
            half_width: 1.0,
        });
        let g_before = gan.g.export();
        let data: Vec<f32> = (0..200).map(|i| -3.0 - (i % 7) as f32 * 0.1).collect();
        let opt = OptimizerSpec::Adam {
            lr: super::super::Schedule::constant(0.05),
            beta1: 0.5,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        };
        let mut st = OptimizerState::default();
        let r = train_d(&mut gan, &data, 1, 300, 32, &opt, &mut st, &mut || false).unwrap();
        assert_eq!(r.steps, 300);
        assert_eq!(gan.g.export(), g_before);
        // Data near −3.3, G's samples on (1, 5): separable, D learns it.
        assert!(r.d_loss[299] < 0.1, "{:?}", &r.d_loss[290..]);
        let d = gan.discriminate(&[-3.3, 3.0]);
        assert!(d[0] > 0.9 && d[1] < 0.1, "{d:?}");
    }

    #[test]
    fn saturating_gradient_vanishes_when_d_rejects() {
        let mut gan = affine_gan(Noise::Uniform {
            dim: 1,
            half_width: 1.0,
        });
        // D(x) = σ(−4x): G's samples on (1, 5) are confidently rejected.
        let mut p = gan.d.export();
        p[0].values = vec![-4.0];
        gan.d.try_import(&p).unwrap();
        let z: Vec<f32> = (0..50).map(|i| -1.0 + i as f32 / 25.0).collect();
        let (sat, d) = g_grad_norm(&gan, GanLoss::Saturating, &z);
        let (ns, d2) = g_grad_norm(&gan, GanLoss::NonSaturating, &z);
        assert_eq!(d, d2);
        assert!(d < 0.01, "{d}");
        assert!(ns > 100.0 * sat, "saturating {sat}, non-saturating {ns}");
    }
}
