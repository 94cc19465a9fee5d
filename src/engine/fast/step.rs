//! One training iteration on the fast path, in either update scheme: the reference step's
//! passes (step.rs), with D run once over real and fake rows and the optimizer updates applied
//! layer by layer as the backward sweep leaves each layer.

use rand_chacha::ChaCha8Rng;

use super::backward::{backward, Back};
use super::loss::{d_loss, g_loss};
use super::mirror::{forward, NetMirror, Tape};
use crate::engine::gan::Gan;
use crate::engine::layers::{Param, Pass, Seg, Sink};
use crate::engine::loss::mean_sigmoid;
use crate::engine::metrics::StepMetrics;
use crate::engine::network::Network;
use crate::engine::optim::kernels as opt_kernels;
use crate::engine::optim::{OptimizerSpec, OptimizerState, StepKind, UpdatePlan};
use crate::engine::rng::{stream, Purpose};
use crate::engine::spec::UpdateScheme;
use crate::engine::{Mat, Vector};

/// Everything the fast step keeps between iterations: the parameter mirrors, the forward tapes,
/// gradient buffers. Valid while the GAN's parameters change only through it (see the module
/// docs); [`Workspace::new`] loads them. The mirrors are the parameters' truth while it trains:
/// a step updates them alone, and [`Workspace::sync`] writes them into the GAN's tensors, which
/// are stale until then (a write-back after every step copied ≈ 15 MB per iteration of the
/// paper model for tensors that nothing read between steps).
#[derive(Debug)]
pub struct Workspace {
    pub g: NetMirror,
    pub d: NetMirror,
    g_tape: Tape,
    d_tape: Tape,
    /// Weight-gradient buffers by layer index (used unless the update is fused into the GEMM).
    g_grads: Vec<Vec<f32>>,
    d_grads: Vec<Vec<f32>>,
    back: Back,
    /// The GAN's tensors lag behind the mirrors.
    stale: bool,
}

impl Workspace {
    pub fn new(gan: &Gan) -> Self {
        let (g, d) = (NetMirror::new(&gan.g), NetMirror::new(&gan.d));
        Workspace {
            g_grads: vec![Vec::new(); g.layers.len()],
            d_grads: vec![Vec::new(); d.layers.len()],
            g,
            d,
            g_tape: Tape::default(),
            d_tape: Tape::default(),
            back: Back::default(),
            stale: false,
        }
    }

    /// Writes the mirrors' parameters into the GAN's tensors if a step changed them since the
    /// last sync (both networks at once, one task per tensor).
    pub fn sync(&mut self, gan: &mut Gan) {
        if std::mem::take(&mut self.stale) {
            rayon::join(|| self.g.store(&mut gan.g), || self.d.store(&mut gan.d));
        }
    }
}

/// Applies one optimizer update to a network's mirror layer by layer as a backward sweep
/// completes each one (the network's tensors are only the optimizer state's keys here).
///
/// SGD with classic momentum and no weight decay (the paper's case) is fused into the weight
/// gradient's GEMM: `gemm` computes `u ← μ'·u + xᵀδ` (rounded as `round(μ'·u) + g`, exactly dfdx's
/// `g + μ'·u`, the gradient summed in one block since the batch is under gemm's 512-deep block),
/// then `θ ← θ − lr·u`. Other updates get the gradient in a buffer and run dfdx's arithmetic.
struct Updater<'a> {
    state: &'a mut OptimizerState,
    net: &'a mut Network,
    plan: UpdatePlan,
    grads: &'a mut [Vec<f32>],
}

impl Updater<'_> {
    fn fused_momentum(&self) -> Option<f32> {
        match self.plan.step {
            StepKind::Sgd(opt_kernels::SgdStep {
                momentum: Some((u, false)),
                l2: None,
                decoupled: None,
                ..
            }) => Some(u),
            _ => None,
        }
    }
}

/// The dfdx tensors of layer `layer`'s weight matrix and bias (the layers the fast path hands
/// to a [`Sink`] hold exactly these two parameters, in this order).
fn weight_and_bias(net: &mut Network, layer: usize) -> (&mut Mat, &mut Vector) {
    let mut params = net.layers[layer].params_mut().into_iter();
    match (params.next(), params.next()) {
        (Some((_, Param::Matrix(w))), Some((_, Param::Vector(b)))) => (w, b),
        _ => unreachable!("layer {layer} reported gradients for a weight and a bias"),
    }
}

impl Sink for Updater<'_> {
    fn weight_target(&mut self, layer: usize, len: usize) -> (&mut [f32], Option<f32>) {
        match self.fused_momentum() {
            Some(u) => {
                let (w, _) = weight_and_bias(self.net, layer);
                (self.state.first_mut(w), Some(u))
            }
            None => {
                let g = &mut self.grads[layer];
                g.resize(len, 0.0);
                (g, None)
            }
        }
    }

    fn done(&mut self, layer: usize, pw: &mut [f32], pb: &mut [f32], gb: &[f32]) {
        let fused = self.fused_momentum().is_some();
        let (w, b) = weight_and_bias(self.net, layer);
        match self.plan.step {
            StepKind::Sgd(s) => {
                if fused {
                    opt_kernels::sgd_fused(pw, self.state.first_mut(w), s.lr);
                } else {
                    opt_kernels::sgd(pw, self.state.first_mut(w), &self.grads[layer], s);
                }
                opt_kernels::sgd(pb, self.state.first_mut(b), gb, s);
            }
            StepKind::Adam(s) => {
                let (m, v) = self.state.moments_mut(w);
                opt_kernels::adam(pw, m, v, &self.grads[layer], s);
                let (m, v) = self.state.moments_mut(b);
                opt_kernels::adam(pb, m, v, gb, s);
            }
        }
    }
}

/// D's backward sweep over `rows` rows of output gradients (`ws.back.cur`), laid out as `segs`
/// says, updating each of D's layers by `plan` as the sweep leaves it.
fn update_d(gan: &mut Gan, ws: &mut Workspace, plan: UpdatePlan, segs: &[Seg], rows: usize) {
    ws.stale = true;
    let mut up = Updater {
        state: &mut gan.d_state,
        net: &mut gan.d,
        plan,
        grads: &mut ws.d_grads,
    };
    backward(
        &mut ws.d,
        &ws.d_tape,
        segs,
        rows,
        &mut ws.back,
        Some(&mut up),
    );
}

/// G's backward sweep from ∂loss/∂G(z) in the first `b` rows of `ws.back.cur`, updating each of
/// G's layers by `plan` as the sweep leaves it.
fn update_g(gan: &mut Gan, ws: &mut Workspace, plan: UpdatePlan, b: usize) {
    ws.stale = true;
    let segs = [Seg {
        delta: 0,
        tape: 0,
        rows: b,
        weights: true,
    }];
    let mut up = Updater {
        state: &mut gan.g_state,
        net: &mut gan.g,
        plan,
        grads: &mut ws.g_grads,
    };
    backward(&mut ws.g, &ws.g_tape, &segs, b, &mut ws.back, Some(&mut up));
}

/// One iteration on the fast path; `real` holds the iteration's real rows (`batches × batch`).
pub fn train_step(
    gan: &mut Gan,
    ws: &mut Workspace,
    real: &[f32],
    batch: usize,
    d_opt: &OptimizerSpec,
    g_opt: &OptimizerSpec,
    epoch: u64,
) -> StepMetrics {
    let dim = gan.data_dim();
    assert_eq!(ws.d.input, dim, "workspace built for another GAN");
    let mut rng = stream(gan.seed, Purpose::Step, gan.step);
    let m = match gan.spec.scheme {
        UpdateScheme::Simultaneous => {
            assert_eq!(
                real.len(),
                batch * dim,
                "simultaneous scheme takes one batch"
            );
            simultaneous(gan, ws, &mut rng, real, batch, d_opt, g_opt, epoch)
        }
        UpdateScheme::Alternating { k } => {
            assert_eq!(
                real.len(),
                k as usize * batch * dim,
                "alternating scheme takes k batches"
            );
            alternating(gan, ws, &mut rng, real, batch, d_opt, g_opt, epoch)
        }
    };
    gan.step += 1;
    m
}

/// Noise for `b` rows into G's tape, then G's pass; returns the stream position after G's draws.
fn generate(gan: &Gan, ws: &mut Workspace, rng: &mut ChaCha8Rng, b: usize) -> u128 {
    let z = gan.spec.noise.sample_vec(b, rng);
    ws.g_tape.ensure(&ws.g, b);
    ws.g_tape.input_mut().copy_from_slice(&z);
    let pos = rng.get_word_pos();
    let passes = [Pass {
        first_row: 0,
        rows: b,
        pos,
    }];
    forward(&ws.g, &mut ws.g_tape, Some((&*rng, &passes)));
    pos + ws.g.dropout_words(b)
}

/// D over `real` (if any) then G's output, as the reference's consecutive passes drawing from
/// `pos`, in one pass of stacked rows. Returns the stream position after them.
fn discriminate(
    ws: &mut Workspace,
    rng: &ChaCha8Rng,
    real: Option<&[f32]>,
    b: usize,
    pos: u128,
) -> u128 {
    let dim = ws.d.input;
    let nr = if real.is_some() { b } else { 0 };
    ws.d_tape.ensure(&ws.d, nr + b);
    let input = ws.d_tape.input_mut();
    if let Some(r) = real {
        input[..b * dim].copy_from_slice(r);
    }
    input[nr * dim..].copy_from_slice(ws.g_tape.output());
    let words = ws.d.dropout_words(b);
    let mut passes = vec![];
    let mut p = pos;
    for first_row in (0..nr + b).step_by(b) {
        passes.push(Pass {
            first_row,
            rows: b,
            pos: p,
        });
        p += words;
    }
    forward(&ws.d, &mut ws.d_tape, Some((rng, &passes)));
    p
}

#[allow(clippy::too_many_arguments)]
fn simultaneous(
    gan: &mut Gan,
    ws: &mut Workspace,
    rng: &mut ChaCha8Rng,
    real: &[f32],
    b: usize,
    d_opt: &OptimizerSpec,
    g_opt: &OptimizerSpec,
    epoch: u64,
) -> StepMetrics {
    let loss = gan.spec.loss;
    let pos = generate(gan, ws, rng, b);
    let end = discriminate(ws, rng, Some(real), b, pos);
    rng.set_word_pos(end);
    let logits = ws.d_tape.output();
    let (lr_, lf) = logits.split_at(b);
    let mut m = StepMetrics {
        d_real: mean_sigmoid(lr_),
        d_fake: mean_sigmoid(lf),
        ..Default::default()
    };
    // Output gradients of the one sweep through D: [D loss on real; D loss on fake; G loss on fake].
    ws.back.cur.resize(3 * b, 0.0);
    {
        let (gd, gg) = ws.back.cur.split_at_mut(2 * b);
        let (gr, gf) = gd.split_at_mut(b);
        m.d_loss = d_loss(loss, lr_, lf, gr, gf) as f64;
        m.g_loss = g_loss(loss, lf, gg) as f64;
    }
    // Both updates from gradients taken before either was applied: D's layers are updated as the
    // sweep leaves them, after G's gradient went through them.
    let d_plan = gan.d_state.plan(d_opt, gan.d_state.t, epoch);
    let g_plan = gan.g_state.plan(g_opt, gan.g_state.t, epoch);
    let segs = [
        Seg {
            delta: 0,
            tape: 0,
            rows: 2 * b,
            weights: true,
        },
        Seg {
            delta: 2 * b,
            tape: b,
            rows: b,
            weights: false,
        },
    ];
    update_d(gan, ws, d_plan, &segs, 3 * b);
    // ∂ g_loss / ∂ G(z): rows 2b..3b of the sweep's input gradient.
    let dim = ws.d.input;
    ws.back.cur.copy_within(2 * b * dim..3 * b * dim, 0);
    update_g(gan, ws, g_plan, b);
    gan.d_state.advance(&d_plan);
    gan.g_state.advance(&g_plan);
    m.lr_d = d_plan.applied.lr;
    m.lr_g = g_plan.applied.lr;
    m.momentum = d_plan.applied.momentum;
    m
}

#[allow(clippy::too_many_arguments)]
fn alternating(
    gan: &mut Gan,
    ws: &mut Workspace,
    rng: &mut ChaCha8Rng,
    real: &[f32],
    b: usize,
    d_opt: &OptimizerSpec,
    g_opt: &OptimizerSpec,
    epoch: u64,
) -> StepMetrics {
    let loss = gan.spec.loss;
    let dim = ws.d.input;
    let mut m = StepMetrics::default();
    let (mut dl, mut dr, mut df) = (0.0, 0.0, 0.0);
    let k = real.len() / (b * dim);
    for batch in real.chunks_exact(b * dim) {
        let pos = generate(gan, ws, rng, b);
        let end = discriminate(ws, rng, Some(batch), b, pos);
        rng.set_word_pos(end);
        let logits = ws.d_tape.output();
        let (lr_, lf) = logits.split_at(b);
        dr += mean_sigmoid(lr_);
        df += mean_sigmoid(lf);
        ws.back.cur.resize(2 * b, 0.0);
        let (gr, gf) = ws.back.cur.split_at_mut(b);
        dl += d_loss(loss, lr_, lf, gr, gf) as f64;
        let segs = [Seg {
            delta: 0,
            tape: 0,
            rows: 2 * b,
            weights: true,
        }];
        let plan = gan.d_state.plan(d_opt, gan.d_state.t, epoch);
        update_d(gan, ws, plan, &segs, 2 * b);
        gan.d_state.advance(&plan);
        m.lr_d = plan.applied.lr;
        m.momentum = plan.applied.momentum;
    }
    let kf = k as f64;
    m.d_loss = dl / kf;
    m.d_real = dr / kf;
    m.d_fake = df / kf;
    // G step on fresh noise through the freshly updated D.
    let pos = generate(gan, ws, rng, b);
    let end = discriminate(ws, rng, None, b, pos);
    rng.set_word_pos(end);
    ws.back.cur.resize(b, 0.0);
    m.g_loss = g_loss(loss, ws.d_tape.output(), &mut ws.back.cur) as f64;
    let segs = [Seg {
        delta: 0,
        tape: 0,
        rows: b,
        weights: false,
    }];
    backward(&mut ws.d, &ws.d_tape, &segs, b, &mut ws.back, None);
    let plan = gan.g_state.plan(g_opt, gan.g_state.t, epoch);
    update_g(gan, ws, plan, b);
    gan.g_state.advance(&plan);
    m.lr_g = plan.applied.lr;
    m
}
