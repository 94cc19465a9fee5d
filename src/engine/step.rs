//! One training iteration of the game, in either update scheme.

use dfdx::prelude::*;

use super::gan::Gan;
use rand_chacha::ChaCha8Rng;

use super::layers::{LayerTape, Masks};
use super::loss::mean_sigmoid;
use super::metrics::StepMetrics;
use super::optim::OptimizerSpec;
use super::rng::{stream, Purpose};
use super::spec::UpdateScheme;
#[cfg(not(feature = "cuda"))]
use super::EnginePath;
use super::{Dev, Mat};

/// The optimizers of one fit.
pub struct Optimizers<'a> {
    pub d: &'a OptimizerSpec,
    pub g: &'a OptimizerSpec,
}

/// What the training step keeps from one iteration to the next within an epoch: the path it runs
/// on (the GAN's [`super::EnginePath`] when it was made) and, on the fast path, its parameter
/// mirrors and buffers ([`super::fast::Workspace`]). Make it when the iterations start; it is only
/// valid while the GAN changes through [`train_step_rows`] alone. On the fast path the steps
/// update the mirrors only: the GAN's parameter tensors are stale until [`StepWorkspace::sync`].
pub struct StepWorkspace {
    #[cfg(not(feature = "cuda"))]
    fast: Option<super::fast::Workspace>,
    /// The averaged G's values while the GAN has one ([`super::ema`]).
    ema: Option<super::ema::EmaBuffers>,
}

impl StepWorkspace {
    pub fn new(gan: &Gan) -> Self {
        #[cfg(feature = "cuda")]
        let _ = gan;
        StepWorkspace {
            #[cfg(not(feature = "cuda"))]
            fast: (gan.path.effective() == EnginePath::Fast)
                .then(|| super::fast::Workspace::new(gan)),
            ema: gan.g_ema.as_ref().map(super::ema::EmaBuffers::new),
        }
    }

    /// Brings the GAN's parameter tensors up to date with the steps run since the last sync:
    /// call it before anything reads them (observers, checkpoints, sampling, the end of a fit).
    pub fn sync(&mut self, gan: &mut Gan) {
        #[cfg(not(feature = "cuda"))]
        if let Some(w) = self.fast.as_mut() {
            w.sync(gan);
        }
        if let (Some(b), Some(e)) = (self.ema.as_mut(), gan.g_ema.as_mut()) {
            b.store(e);
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
    let m = reference_on_rows(gan, real, batch, opts, epoch);
    average_g(gan, ws);
    super::perf::record_step_at(started, started.elapsed());
    m
}

/// Folds the step's G into the averaged G, if the GAN has one: from the fast path's mirror (the
/// parameters' truth during a fit) or from G's tensors after a reference step.
fn average_g(gan: &mut Gan, ws: &mut StepWorkspace) {
    let (Some(buf), Some(ema)) = (ws.ema.as_mut(), gan.g_ema.as_mut()) else {
        return;
    };
    #[cfg(not(feature = "cuda"))]
    if let Some(w) = ws.fast.as_ref() {
        let live = w.g.layers.iter().flat_map(|l| l.params());
        buf.update(ema, live, &gan.g);
        return;
    }
    let live: Vec<Vec<f32>> = gan.g.params().iter().map(|(_, p)| p.values()).collect();
    buf.update(ema, live.iter().map(|v| v.as_slice()), &gan.g);
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
    let m = train_step_rows(gan, &mut ws, &rows, batch, opts, epoch);
    ws.sync(gan);
    m
}

/// The iteration on dfdx's autograd: the engine's original step, kept as the reference the fast
/// path is tested against (and run instead of it on [`EnginePath::Reference`]). All randomness of
/// the iteration comes from one stream keyed by the step, drawn in the order the passes run.
pub fn train_step_reference(
    gan: &mut Gan,
    real: &[Mat],
    opts: &Optimizers,
    epoch: u64,
) -> StepMetrics {
    let mut rng = stream(gan.seed, Purpose::Step, gan.step);
    let m = match gan.spec.scheme {
        UpdateScheme::Simultaneous => simultaneous(gan, &real[0], &mut rng, opts, epoch),
        UpdateScheme::Alternating { k } => {
            assert_eq!(
                real.len(),
                k as usize,
                "alternating scheme takes k real batches"
            );
            alternating(gan, real, &mut rng, opts, epoch)
        }
    };
    gan.step += 1;
    m
}

/// D's half of an iteration: D over `real`, then over `fake` (training mode: dropout masks drawn
/// from `rng` in that order), D's loss and its gradients. The fake pass's masks go to
/// `fake_masks`, so that pass can be replayed.
pub(crate) struct DPass {
    pub d_real: f64,
    pub d_fake: f64,
    pub d_loss: f64,
    pub grads: Gradients<f32, Dev>,
}

pub(crate) fn d_pass(
    gan: &Gan,
    real: Mat,
    fake: Mat,
    rng: &mut ChaCha8Rng,
    fake_masks: &mut Vec<Mat>,
) -> DPass {
    let mut real_masks = Vec::new();
    let lr_ = gan.d.forward(
        real.leaky_traced(),
        &mut Masks::Draw {
            rng,
            record: &mut real_masks,
        },
    );
    let lf_ = gan.d.forward(
        fake.leaky_traced(),
        &mut Masks::Draw {
            rng,
            record: fake_masks,
        },
    );
    let (d_real, d_fake) = (mean_sigmoid(&lr_.as_vec()), mean_sigmoid(&lf_.as_vec()));
    let d_loss = gan.spec.loss.d_loss(lr_, lf_);
    DPass {
        d_real,
        d_fake,
        d_loss: d_loss.array() as f64,
        grads: d_loss.backward(),
    }
}

/// G(z) on fresh noise for `b` rows in training mode, its masks drawn from `rng`.
fn generate<T: LayerTape>(
    gan: &Gan,
    b: usize,
    rng: &mut ChaCha8Rng,
    trace: impl FnOnce(Mat) -> Mat<T>,
) -> Mat<T> {
    let z = gan.spec.noise.sample(&gan.dev, b, rng);
    gan.g.forward(
        trace(z),
        &mut Masks::Draw {
            rng,
            record: &mut Vec::new(),
        },
    )
}

/// The paper's simultaneous scheme: one pass of D over real and G(z), and both updates from
/// gradients taken before either is applied.
fn simultaneous(
    gan: &mut Gan,
    real: &Mat,
    rng: &mut ChaCha8Rng,
    opts: &Optimizers,
    epoch: u64,
) -> StepMetrics {
    let b = real.shape().0;
    let fake_t = generate(gan, b, rng, |z| z.leaky_traced());
    // Keep G's tape aside: D's update must not reach G, G's must come from the same D pass.
    let (fake, g_tape) = fake_t.split_tape();
    let mut fake_masks = Vec::new();
    let mut d = d_pass(gan, real.clone(), fake.clone(), rng, &mut fake_masks);
    // The same D pass over G(z) (same masks, same weights), now carrying G's tape.
    let lf = gan.d.forward(
        fake.put_tape(g_tape),
        &mut Masks::Replay {
            masks: &fake_masks,
            next: 0,
        },
    );
    let g_loss = gan.spec.loss.g_loss(lf);
    let g_loss_value = g_loss.array() as f64;
    let mut g_grads = g_loss.backward();
    let (t_d, t_g) = (gan.d_state.t, gan.g_state.t);
    let ad = gan
        .d_state
        .update(opts.d, &mut gan.d, &mut d.grads, t_d, epoch);
    let ag = gan
        .g_state
        .update(opts.g, &mut gan.g, &mut g_grads, t_g, epoch);
    StepMetrics {
        d_loss: d.d_loss,
        g_loss: g_loss_value,
        d_real: d.d_real,
        d_fake: d.d_fake,
        lr_d: ad.lr,
        lr_g: ag.lr,
        momentum: ad.momentum,
    }
}

/// The k-step scheme (the paper's Algorithm 1): k updates of D, each on its own real batch and
/// fresh G(z), then one update of G on fresh noise through the updated D.
fn alternating(
    gan: &mut Gan,
    real: &[Mat],
    rng: &mut ChaCha8Rng,
    opts: &Optimizers,
    epoch: u64,
) -> StepMetrics {
    let mut m = StepMetrics::default();
    for batch in real {
        let fake = generate(gan, batch.shape().0, rng, |z| z);
        let mut d = d_pass(gan, batch.clone(), fake, rng, &mut Vec::new());
        m.d_loss += d.d_loss;
        m.d_real += d.d_real;
        m.d_fake += d.d_fake;
        let t = gan.d_state.t;
        let a = gan
            .d_state
            .update(opts.d, &mut gan.d, &mut d.grads, t, epoch);
        m.lr_d = a.lr;
        m.momentum = a.momentum;
    }
    let k = real.len() as f64;
    m.d_loss /= k;
    m.d_real /= k;
    m.d_fake /= k;
    let fake_t = generate(gan, real[0].shape().0, rng, |z| z.leaky_traced());
    let lf = gan.d.forward(
        fake_t,
        &mut Masks::Draw {
            rng,
            record: &mut Vec::new(),
        },
    );
    let g_loss = gan.spec.loss.g_loss(lf);
    m.g_loss = g_loss.array() as f64;
    let mut grads = g_loss.backward();
    let t = gan.g_state.t;
    m.lr_g = gan
        .g_state
        .update(opts.g, &mut gan.g, &mut grads, t, epoch)
        .lr;
    m
}
