//! One training iteration of the game, in either update scheme.

use dfdx::prelude::*;

use super::gan::Gan;
use super::layers::Masks;
use super::loss::mean_sigmoid;
use super::metrics::StepMetrics;
use super::optim::OptimizerSpec;
use super::rng::{stream, Purpose};
use super::spec::UpdateScheme;
use super::{EnginePath, Mat};

/// The optimizers of one fit.
pub struct Optimizers<'a> {
    pub d: &'a OptimizerSpec,
    pub g: &'a OptimizerSpec,
}

/// What the training step keeps from one iteration to the next within an epoch: the path it runs
/// on (the GAN's [`super::EnginePath`] when it was made) and, on the fast path, its parameter
/// mirrors and buffers ([`super::fast::Workspace`]). Make it when the iterations start; it is only
/// valid while the GAN changes through [`train_step_rows`] alone.
pub struct StepWorkspace {
    #[cfg(not(feature = "cuda"))]
    fast: Option<super::fast::Workspace>,
}

impl StepWorkspace {
    pub fn new(gan: &Gan) -> Self {
        #[cfg(feature = "cuda")]
        let _ = gan;
        StepWorkspace {
            #[cfg(not(feature = "cuda"))]
            fast: (gan.path.effective() == EnginePath::Fast)
                .then(|| super::fast::Workspace::new(gan)),
        }
    }
}

/// Runs one iteration on `real`: the iteration's real batches one after another, `batch` rows of
/// `data_dim` values each (one batch for the simultaneous scheme, `k` for the alternating one),
/// and advances `gan.step`, on the path the workspace was made for (see [`super::EnginePath`]);
/// both give the same results up to float rounding.
pub fn train_step_rows(
    gan: &mut Gan,
    ws: &mut StepWorkspace,
    real: &[f32],
    batch: usize,
    opts: &Optimizers,
    epoch: u64,
) -> StepMetrics {
    let started = std::time::Instant::now();
    #[cfg(not(feature = "cuda"))]
    let m = match ws.fast.as_mut() {
        Some(w) => super::fast::train_step(gan, w, real, batch, opts.d, opts.g, epoch),
        None => reference_on_rows(gan, real, batch, opts, epoch),
    };
    #[cfg(feature = "cuda")]
    let m = {
        let _ = ws;
        reference_on_rows(gan, real, batch, opts, epoch)
    };
    super::perf::record_step_at(started, started.elapsed());
    m
}

fn reference_on_rows(
    gan: &mut Gan,
    real: &[f32],
    batch: usize,
    opts: &Optimizers,
    epoch: u64,
) -> StepMetrics {
    let dim = gan.data_dim();
    let batches: Vec<Mat> = real
        .chunks_exact(batch * dim)
        .map(|b| gan.dev.tensor_from_vec(b.to_vec(), (batch, dim)))
        .collect();
    train_step_reference(gan, &batches, opts, epoch)
}

/// Runs one iteration on the real batches given (`(B, data_dim)` each: one for the simultaneous
/// scheme, `k` for the alternating one) and advances `gan.step`. Each call loads the parameters
/// afresh; a loop of iterations should keep a [`StepWorkspace`] and call [`train_step_rows`].
pub fn train_step(gan: &mut Gan, real: &[Mat], opts: &Optimizers, epoch: u64) -> StepMetrics {
    let batch = real.first().map_or(0, |r| r.shape().0);
    let rows: Vec<f32> = real.iter().flat_map(|r| r.as_vec()).collect();
    let mut ws = StepWorkspace::new(gan);
    train_step_rows(gan, &mut ws, &rows, batch, opts, epoch)
}

/// The iteration on dfdx's autograd: the engine's original step, kept as the reference the fast
/// path is tested against (and run instead of it on [`EnginePath::Reference`]).
pub fn train_step_reference(
    gan: &mut Gan,
    real: &[Mat],
    opts: &Optimizers,
    epoch: u64,
) -> StepMetrics {
    // All randomness of this iteration comes from one stream keyed by the step.
    let mut rng = stream(gan.seed, Purpose::Step, gan.step);
    let loss = gan.spec.loss;
    let noise = gan.spec.noise;
    let mut m = StepMetrics::default();
    match gan.spec.scheme {
        UpdateScheme::Simultaneous => {
            let real = real[0].clone();
            let b = real.shape().0;
            let z = noise.sample(&gan.dev, b, &mut rng);
            let mut g_masks = Vec::new();
            let fake_t = gan.g.forward(
                z.leaky_traced(),
                &mut Masks::Draw {
                    rng: &mut rng,
                    record: &mut g_masks,
                },
            );
            // Keep G's tape aside: D's update must not reach G, G's must come from the same D pass.
            let (fake, g_tape) = fake_t.split_tape();

            let (mut real_masks, mut fake_masks) = (Vec::new(), Vec::new());
            let lr_ = gan.d.forward(
                real.leaky_traced(),
                &mut Masks::Draw {
                    rng: &mut rng,
                    record: &mut real_masks,
                },
            );
            let lf_ = gan.d.forward(
                fake.clone().leaky_traced(),
                &mut Masks::Draw {
                    rng: &mut rng,
                    record: &mut fake_masks,
                },
            );
            m.d_real = mean_sigmoid(&lr_.as_vec());
            m.d_fake = mean_sigmoid(&lf_.as_vec());
            let d_loss = loss.d_loss(lr_, lf_);
            m.d_loss = d_loss.array() as f64;
            let mut d_grads = d_loss.backward();

            // The same D pass over G(z) (same masks, same weights), now carrying G's tape.
            let lf2 = gan.d.forward(
                fake.put_tape(g_tape),
                &mut Masks::Replay {
                    masks: &fake_masks,
                    next: 0,
                },
            );
            let g_loss = loss.g_loss(lf2);
            m.g_loss = g_loss.array() as f64;
            let mut g_grads = g_loss.backward();

            // Both updates from gradients taken before either was applied.
            let (t_d, t_g) = (gan.d_state.t, gan.g_state.t);
            let ad = gan
                .d_state
                .update(opts.d, &mut gan.d, &mut d_grads, t_d, epoch);
            let ag = gan
                .g_state
                .update(opts.g, &mut gan.g, &mut g_grads, t_g, epoch);
            m.lr_d = ad.lr;
            m.lr_g = ag.lr;
            m.momentum = ad.momentum;
        }
        UpdateScheme::Alternating { k } => {
            assert_eq!(
                real.len(),
                k as usize,
                "alternating scheme takes k real batches"
            );
            let (mut dl, mut dr, mut df) = (0.0, 0.0, 0.0);
            for real in real {
                let b = real.shape().0;
                let z = noise.sample(&gan.dev, b, &mut rng);
                let mut rec = Vec::new();
                let fake = gan.g.forward(
                    z,
                    &mut Masks::Draw {
                        rng: &mut rng,
                        record: &mut rec,
                    },
                );
                let lr_ = gan.d.forward(
                    real.clone().leaky_traced(),
                    &mut Masks::Draw {
                        rng: &mut rng,
                        record: &mut rec,
                    },
                );
                let lf_ = gan.d.forward(
                    fake.leaky_traced(),
                    &mut Masks::Draw {
                        rng: &mut rng,
                        record: &mut rec,
                    },
                );
                dr += mean_sigmoid(&lr_.as_vec());
                df += mean_sigmoid(&lf_.as_vec());
                let d_loss = loss.d_loss(lr_, lf_);
                dl += d_loss.array() as f64;
                let mut grads = d_loss.backward();
                let t = gan.d_state.t;
                let a = gan.d_state.update(opts.d, &mut gan.d, &mut grads, t, epoch);
                m.lr_d = a.lr;
                m.momentum = a.momentum;
            }
            let k = real.len() as f64;
            m.d_loss = dl / k;
            m.d_real = dr / k;
            m.d_fake = df / k;
            // G step on fresh noise through the freshly updated D.
            let b = real[0].shape().0;
            let z = noise.sample(&gan.dev, b, &mut rng);
            let mut rec = Vec::new();
            let fake_t = gan.g.forward(
                z.leaky_traced(),
                &mut Masks::Draw {
                    rng: &mut rng,
                    record: &mut rec,
                },
            );
            let lf = gan.d.forward(
                fake_t,
                &mut Masks::Draw {
                    rng: &mut rng,
                    record: &mut rec,
                },
            );
            let g_loss = loss.g_loss(lf);
            m.g_loss = g_loss.array() as f64;
            let mut grads = g_loss.backward();
            let t = gan.g_state.t;
            m.lr_g = gan
                .g_state
                .update(opts.g, &mut gan.g, &mut grads, t, epoch)
                .lr;
        }
    }
    gan.step += 1;
    m
}
