//! The fast CPU path: the training step and evaluation written directly on f32 buffers, instead
//! of through dfdx's autograd. It computes the same functions as the dfdx path (step.rs's
//! `train_step_reference`, layer.rs's `Layer::forward`), with the same random draws, and
//!
//! - skips gradients nobody needs: no input gradient for the real batch or for D's update, no
//!   weight gradients of D for G's update, no gradient for the noise;
//! - runs D once over real and fake rows together (one GEMM of 2B rows per layer) and shares that
//!   pass between D's and G's updates: the simultaneous step backpropagates D's loss (2B rows) and
//!   G's loss (B rows) through D in one sweep of 3B rows, where the dfdx path ran D's forward and
//!   backward over the fake batch a second time;
//! - takes its GEMMs from `gemm` 0.19 (AVX-512 kernels on stable Rust; dfdx's `gemm` 0.15 has them
//!   only on nightly), and splits every element-wise kernel (bias + maxout, dropout masks and their
//!   random draws, activations, SGD/Adam updates, copies) over rayon's threads.
//!
//! Results match the dfdx path to rounding, not bit for bit: the two GEMM libraries sum in
//! different orders (blocking, FMA), and D's weight gradient is one sum over 2B rows rather than
//! two sums of B rows added. Everything else (masks, noise, maxout, activations, losses, optimizer
//! arithmetic) is the dfdx path's formula. Runs stay exactly reproducible: no result depends on
//! the thread count (see [`crate::linalg`]).
//!
//! Parameters: dfdx tensors stay the source of truth (checkpoints, scripts and the reference path
//! read them); this path works on a mirror ([`NetMirror`]) loaded from them when a [`Workspace`]
//! is made, and writes them back after every update. The trainer keeps one workspace for a whole
//! `run_epoch`, during which nothing else can change the networks (observers get `&Gan`).

pub mod kernels;

use std::sync::atomic::{AtomicU8, Ordering};

use dfdx::prelude::*;
use rand_chacha::ChaCha8Rng;

use super::optim::kernels as opt_kernels;
use crate::linalg::gemm::{matmul, MatRef};
use super::gan::Gan;
use super::layer::Layer;
use super::loss::{mean_sigmoid, GanLoss};
use super::metrics::StepMetrics;
use super::network::Network;
use super::optim::{OptimizerSpec, OptimizerState, StepKind, UpdatePlan};
use super::rng::{stream, Purpose};
use super::spec::UpdateScheme;
use super::Mat;

// ---------------------------------------------------------------------------------------------
// Which path runs

const UNSET: u8 = 0;
const FAST: u8 = 1;
const REFERENCE: u8 = 2;
static MODE: AtomicU8 = AtomicU8::new(UNSET);

/// Forces the dfdx-autograd reference path (`true`) or the fast path (`false`) for the rest of
/// the process; for benchmarks and tests that compare the two. The default is the fast path;
/// `GAN_ENGINE=reference` selects the dfdx path. CUDA builds always use dfdx.
pub fn set_reference(on: bool) {
    MODE.store(if on { REFERENCE } else { FAST }, Ordering::Relaxed);
}

/// Whether the fast path is in use.
pub fn enabled() -> bool {
    if cfg!(feature = "cuda") {
        return false;
    }
    match MODE.load(Ordering::Relaxed) {
        FAST => true,
        REFERENCE => false,
        _ => {
            // The fast path is the default; `GAN_ENGINE=reference` selects the dfdx-autograd
            // step (the engine's reference: the fast path is tested against it).
            let reference = std::env::var("GAN_ENGINE").is_ok_and(|v| v.trim() == "reference");
            set_reference(reference);
            !reference
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Mirrors of the networks

/// An affine layer's parameters: `w` is `(inp, cols)` row-major like the dfdx tensor.
#[derive(Clone, Debug)]
pub struct Affine {
    pub w: Vec<f32>,
    pub b: Vec<f32>,
    pub inp: usize,
    pub cols: usize,
    /// 1 for a dense layer.
    pub pieces: usize,
}

#[derive(Clone, Debug)]
pub enum FLayer {
    Affine(Affine),
    Relu,
    LeakyRelu(f32),
    Sigmoid,
    Tanh,
    Dropout(f32),
}

/// A network's layers with their parameters in plain buffers.
#[derive(Clone, Debug)]
pub struct NetMirror {
    pub input: usize,
    pub layers: Vec<FLayer>,
    /// Output width of each layer.
    pub widths: Vec<usize>,
}

impl NetMirror {
    /// Copies `net`'s structure and parameters.
    pub fn new(net: &Network) -> Self {
        let mut width = net.input_dim();
        let mut layers = Vec::with_capacity(net.layers.len());
        let mut widths = Vec::with_capacity(net.layers.len());
        for l in &net.layers {
            let fl = match l {
                Layer::Affine {
                    w,
                    b,
                    maxout_pieces,
                } => {
                    let (inp, cols) = *w.shape();
                    assert_eq!(inp, width, "layer input width");
                    let mut wv = vec![0f32; inp * cols];
                    w.copy_into(&mut wv);
                    let mut bv = vec![0f32; cols];
                    b.copy_into(&mut bv);
                    let pieces = maxout_pieces.unwrap_or(1);
                    width = cols / pieces;
                    FLayer::Affine(Affine {
                        w: wv,
                        b: bv,
                        inp,
                        cols,
                        pieces,
                    })
                }
                Layer::Relu => FLayer::Relu,
                Layer::LeakyRelu(a) => FLayer::LeakyRelu(*a),
                Layer::Sigmoid => FLayer::Sigmoid,
                Layer::Tanh => FLayer::Tanh,
                Layer::Dropout { keep } => FLayer::Dropout(*keep),
            };
            layers.push(fl);
            widths.push(width);
        }
        NetMirror {
            input: net.input_dim(),
            layers,
            widths,
        }
    }

    pub fn output_dim(&self) -> usize {
        self.widths.last().copied().unwrap_or(self.input)
    }

    fn width_in(&self, i: usize) -> usize {
        if i == 0 {
            self.input
        } else {
            self.widths[i - 1]
        }
    }

    /// Random words one training pass over `rows` rows draws (dropout masks; `keep ≥ 1` draws none).
    pub fn dropout_words(&self, rows: usize) -> u128 {
        (0..self.layers.len())
            .filter(|&i| matches!(self.layers[i], FLayer::Dropout(k) if k < 1.0))
            .map(|i| (rows * self.width_in(i)) as u128)
            .sum()
    }

    /// Writes the parameters into `net`'s tensors (one task per tensor on rayon's pool).
    pub fn store(&self, net: &mut Network) {
        rayon::scope(|s| {
            for (l, fl) in net.layers.iter_mut().zip(&self.layers) {
                if let (Layer::Affine { w, b, .. }, FLayer::Affine(a)) = (l, fl) {
                    s.spawn(move |_| w.copy_from(&a.w));
                    b.copy_from(&a.b);
                }
            }
        });
    }

    /// Index of the first affine layer.
    fn lowest_affine(&self) -> Option<usize> {
        self.layers
            .iter()
            .position(|l| matches!(l, FLayer::Affine(_)))
    }
}

// ---------------------------------------------------------------------------------------------
// Forward pass

/// What one forward pass keeps for its backward pass.
#[derive(Default, Debug)]
struct Tape {
    rows: usize,
    /// `acts[i]`: layer i's input (`acts[0]` the network's input, the last one its output).
    acts: Vec<Vec<f32>>,
    /// Maxout layers: `x·W + b` before the max.
    pre: Vec<Vec<f32>>,
    /// Dropout layers: the mask (0 or 1/keep).
    masks: Vec<Vec<f32>>,
}

impl Tape {
    /// Sizes the buffers for `rows` rows of `net` (keeping allocations across calls).
    fn ensure(&mut self, net: &NetMirror, rows: usize) {
        let n = net.layers.len();
        self.rows = rows;
        self.acts.resize_with(n + 1, Vec::new);
        self.pre.resize_with(n, Vec::new);
        self.masks.resize_with(n, Vec::new);
        self.acts[0].resize(rows * net.input, 0.0);
        for (i, l) in net.layers.iter().enumerate() {
            self.acts[i + 1].resize(rows * net.widths[i], 0.0);
            match l {
                FLayer::Affine(a) if a.pieces > 1 => self.pre[i].resize(rows * a.cols, 0.0),
                FLayer::Dropout(_) => self.masks[i].resize(rows * net.width_in(i), 0.0),
                _ => {}
            }
        }
    }

    fn input_mut(&mut self) -> &mut [f32] {
        &mut self.acts[0]
    }

    fn output(&self) -> &[f32] {
        self.acts.last().expect("sized")
    }
}

/// A group of rows drawn by one `Masks::Draw` pass of the reference path: its dropout masks come
/// from the step's stream starting at word `pos`.
#[derive(Clone, Copy, Debug)]
struct Pass {
    first_row: usize,
    rows: usize,
    pos: u128,
}

enum Dropout<'a> {
    Off,
    Draw {
        rng: &'a ChaCha8Rng,
        passes: &'a [Pass],
    },
}

/// Runs `net` over `tape.acts[0]` (`tape.rows` rows, already written).
fn forward(net: &NetMirror, tape: &mut Tape, drop: &Dropout) {
    let rows = tape.rows;
    // words each pass has drawn so far (layer by layer, in the reference's order)
    let mut drawn = vec![
        0u128;
        if let Dropout::Draw { passes, .. } = drop {
            passes.len()
        } else {
            0
        }
    ];
    for (i, layer) in net.layers.iter().enumerate() {
        let win = net.width_in(i);
        let (before, after) = tape.acts.split_at_mut(i + 1);
        let x = &before[i][..rows * win];
        let y = &mut after[0][..rows * net.widths[i]];
        match layer {
            FLayer::Affine(a) => {
                let xm = MatRef::new(x, rows, win);
                let wm = MatRef::new(&a.w, a.inp, a.cols);
                if a.pieces == 1 {
                    matmul(y, a.cols, xm, wm, None);
                    kernels::add_bias(y, &a.b);
                } else {
                    let z = &mut tape.pre[i][..rows * a.cols];
                    matmul(z, a.cols, xm, wm, None);
                    kernels::bias_maxout(z, &a.b, y, a.pieces);
                }
            }
            FLayer::Relu => kernels::relu(y, x),
            FLayer::LeakyRelu(s) => kernels::leaky_relu(y, x, *s),
            FLayer::Sigmoid => kernels::sigmoid(y, x),
            FLayer::Tanh => kernels::tanh(y, x),
            FLayer::Dropout(keep) => match drop {
                Dropout::Draw { rng, passes } if *keep < 1.0 => {
                    let m = &mut tape.masks[i][..rows * win];
                    for (p, d) in passes.iter().zip(drawn.iter_mut()) {
                        let block = &mut m[p.first_row * win..(p.first_row + p.rows) * win];
                        kernels::fill_mask(rng, p.pos + *d, *keep, block);
                        *d += (p.rows * win) as u128;
                    }
                    kernels::mul_into(y, x, m);
                }
                _ => y.copy_from_slice(x),
            },
        }
    }
}

/// `net` in evaluation mode (no dropout) on `x` (`rows × input`), in blocks of rows.
pub fn eval_rows(net: &NetMirror, x: &[f32]) -> Vec<f32> {
    const BLOCK: usize = 256;
    let rows = x.len() / net.input.max(1);
    let out_w = net.output_dim();
    let mut out = vec![0f32; rows * out_w];
    let mut tape = Tape::default();
    let mut r = 0;
    while r < rows {
        let n = BLOCK.min(rows - r);
        tape.ensure(net, n);
        tape.input_mut()
            .copy_from_slice(&x[r * net.input..(r + n) * net.input]);
        forward(net, &mut tape, &Dropout::Off);
        out[r * out_w..(r + n) * out_w].copy_from_slice(tape.output());
        r += n;
    }
    out
}

/// [`Network::eval`] on the fast path: a mirror of the weights, then [`eval_rows`].
pub fn eval(net: &Network, x: &Mat) -> Mat {
    let (rows, cols) = *x.shape();
    assert_eq!(cols, net.input_dim(), "input width");
    let mirror = NetMirror::new(net);
    let out = eval_rows(&mirror, &x.as_vec());
    x.device().tensor_from_vec(out, (rows, mirror.output_dim()))
}

// ---------------------------------------------------------------------------------------------
// Backward pass

/// Rows of the backward sweep: `rows` rows starting at `delta` in the gradient buffers, which
/// belong to tape rows starting at `tape`. A `weights` segment feeds the weight gradients (and
/// needs no gradient below the lowest affine layer); the others carry an input gradient down to
/// the network's input. Weight segments come first.
#[derive(Clone, Copy, Debug)]
struct Seg {
    delta: usize,
    tape: usize,
    rows: usize,
    weights: bool,
}

/// An element-wise backward kernel on one segment: (output rows, δ range, tape range).
type RowKernel<'a> = dyn Fn(&mut [f32], std::ops::Range<usize>, std::ops::Range<usize>) + 'a;

/// Gradient buffers of one backward sweep.
#[derive(Default, Debug)]
struct Back {
    cur: Vec<f32>,
    nxt: Vec<f32>,
    dz: Vec<f32>,
    gb: Vec<f32>,
}

/// Receives an affine layer's weight gradients during a backward sweep.
trait Sink {
    /// Where layer `layer`'s weight gradient (`inp × cols`) goes, and the factor its content is
    /// scaled by before the gradient is added (`None`: overwritten).
    fn weight_target(&mut self, layer: usize, len: usize) -> (&mut [f32], Option<f32>);
    /// Layer `layer`'s gradients are complete (`gb` its bias gradient) and the sweep no longer
    /// needs its parameters: they may change now.
    fn done(&mut self, layer: usize, a: &mut Affine, gb: &[f32]);
}

/// Backpropagates `tape`'s pass. `back.cur` holds the gradient w.r.t. the output for every
/// segment row (`total × output width`). The weight segments' weight gradients go to `sink`
/// layer by layer, top down, each layer handed over as soon as the sweep is past it; on return
/// `back.cur` holds the input gradient of the input segments (rows from the first input segment's
/// `delta` on, `input` wide).
fn backward(
    net: &mut NetMirror,
    tape: &Tape,
    segs: &[Seg],
    total: usize,
    back: &mut Back,
    mut sink: Option<&mut dyn Sink>,
) {
    let first_input = segs.iter().find(|s| !s.weights).map_or(total, |s| s.delta);
    debug_assert!(segs.iter().all(|s| s.weights == (s.delta < first_input)));
    let has_weight_rows = first_input > 0;
    let lowest = net.lowest_affine();
    // δ w.r.t. layer i's output is needed from this row on.
    let out_from = |i: usize| {
        if lowest.is_some_and(|l| i >= l) && has_weight_rows {
            0
        } else {
            first_input
        }
    };
    let widths: Vec<usize> = (0..net.layers.len()).map(|i| net.width_in(i)).collect();
    let max_w = net
        .widths
        .iter()
        .copied()
        .chain([net.input])
        .max()
        .unwrap_or(0);
    for i in (0..net.layers.len()).rev() {
        let win = widths[i];
        let lo_out = out_from(i);
        let lo_in = if i == 0 { first_input } else { out_from(i - 1) };
        let x = &tape.acts[i];
        let y = &tape.acts[i + 1];
        if back.nxt.len() < total * max_w {
            back.nxt.resize(total * max_w, 0.0);
        }
        let Back { cur, nxt, dz, gb } = &mut *back;
        let cur: &[f32] = cur;
        // Element-wise layers, segment by segment (δ rows ↔ tape rows), for rows ≥ lo_in.
        let elementwise = |nxt: &mut [f32], f: &RowKernel| {
            for s in segs.iter().filter(|s| s.delta >= lo_in) {
                let d = s.delta * win..(s.delta + s.rows) * win;
                let t = s.tape * win..(s.tape + s.rows) * win;
                f(&mut nxt[d.clone()], d, t);
            }
        };
        match &mut net.layers[i] {
            FLayer::Affine(a) => {
                let units = a.cols / a.pieces;
                // δ w.r.t. x·W + b, for rows ≥ lo_out
                let dz: &[f32] = if a.pieces == 1 {
                    cur
                } else {
                    if dz.len() < total * a.cols {
                        dz.resize(total * a.cols, 0.0);
                    }
                    for s in segs.iter().filter(|s| s.delta >= lo_out) {
                        kernels::maxout_backward(
                            &mut dz[s.delta * a.cols..(s.delta + s.rows) * a.cols],
                            &tape.pre[i][s.tape * a.cols..(s.tape + s.rows) * a.cols],
                            &y[s.tape * units..(s.tape + s.rows) * units],
                            &cur[s.delta * units..(s.delta + s.rows) * units],
                            units,
                            a.pieces,
                        );
                    }
                    dz
                };
                let sink = if has_weight_rows {
                    sink.as_deref_mut()
                } else {
                    None
                };
                let weights = match sink {
                    Some(sink) => {
                        let (gw, alpha) = sink.weight_target(i, a.inp * a.cols);
                        gb.resize(a.cols, 0.0);
                        let mut first = true;
                        for s in segs.iter().filter(|s| s.weights) {
                            matmul(
                                gw,
                                a.cols,
                                MatRef::rows(x, s.tape, s.rows, win).t(),
                                MatRef::rows(dz, s.delta, s.rows, a.cols),
                                if first { alpha } else { Some(1.0) },
                            );
                            kernels::col_sums(
                                gb,
                                &dz[s.delta * a.cols..(s.delta + s.rows) * a.cols],
                                !first,
                            );
                            first = false;
                        }
                        Some(sink)
                    }
                    None => None,
                };
                if lo_in < total {
                    matmul(
                        &mut nxt[lo_in * win..total * win],
                        win,
                        MatRef::rows(dz, lo_in, total - lo_in, a.cols),
                        MatRef::new(&a.w, a.inp, a.cols).t(),
                        None,
                    );
                }
                if let Some(sink) = weights {
                    sink.done(i, a, gb);
                }
            }
            FLayer::Relu => elementwise(nxt, &|o, d, t| kernels::relu_backward(o, &x[t], &cur[d])),
            FLayer::LeakyRelu(s) => {
                let s = *s;
                elementwise(nxt, &|o, d, t| {
                    kernels::leaky_relu_backward(o, &x[t], &cur[d], s)
                })
            }
            FLayer::Sigmoid => {
                elementwise(nxt, &|o, d, t| kernels::sigmoid_backward(o, &y[t], &cur[d]))
            }
            FLayer::Tanh => elementwise(nxt, &|o, d, t| kernels::tanh_backward(o, &y[t], &cur[d])),
            FLayer::Dropout(keep) if *keep < 1.0 => {
                let m = &tape.masks[i];
                elementwise(nxt, &|o, d, t| kernels::mul_into(o, &cur[d], &m[t]))
            }
            FLayer::Dropout(_) => elementwise(nxt, &|o, d, _| o.copy_from_slice(&cur[d])),
        }
        std::mem::swap(&mut back.cur, &mut back.nxt);
    }
}

// ---------------------------------------------------------------------------------------------
// Losses: values and gradients w.r.t. the logits, as dfdx's autograd computes them

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
fn d_loss(loss: GanLoss, real: &[f32], fake: &[f32], gr: &mut [f32], gf: &mut [f32]) -> f32 {
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
fn g_loss(loss: GanLoss, fake: &[f32], gf: &mut [f32]) -> f32 {
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

// ---------------------------------------------------------------------------------------------
// The training step

/// Everything the fast step keeps between iterations: the parameter mirrors, the forward tapes,
/// gradient buffers. Valid while the GAN's parameters change only through it (see the module
/// docs); [`Workspace::new`] loads them.
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
        }
    }
}

/// Applies one optimizer update to a network layer by layer as a backward sweep completes each
/// one, then writes the layer back into the network's tensors.
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
    /// Leave the weights' write-back to the end of the step ([`store_weights`]).
    defer_weights: bool,
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

fn affine_tensors(net: &mut Network, layer: usize) -> (&mut Mat, &mut super::Vector) {
    match &mut net.layers[layer] {
        Layer::Affine { w, b, .. } => (w, b),
        _ => unreachable!("layer {layer} of the mirror is affine"),
    }
}

impl Sink for Updater<'_> {
    fn weight_target(&mut self, layer: usize, len: usize) -> (&mut [f32], Option<f32>) {
        match self.fused_momentum() {
            Some(u) => {
                let (w, _) = affine_tensors(self.net, layer);
                (self.state.first_mut(w), Some(u))
            }
            None => {
                let g = &mut self.grads[layer];
                g.resize(len, 0.0);
                (g, None)
            }
        }
    }

    fn done(&mut self, layer: usize, a: &mut Affine, gb: &[f32]) {
        let fused = self.fused_momentum().is_some();
        let (w, b) = affine_tensors(self.net, layer);
        match self.plan.step {
            StepKind::Sgd(s) => {
                if fused {
                    opt_kernels::sgd_fused(&mut a.w, self.state.first_mut(w), s.lr);
                } else {
                    opt_kernels::sgd(&mut a.w, self.state.first_mut(w), &self.grads[layer], s);
                }
                opt_kernels::sgd(&mut a.b, self.state.first_mut(b), gb, s);
            }
            StepKind::Adam(s) => {
                let (m, v) = self.state.moments_mut(w);
                opt_kernels::adam(&mut a.w, m, v, &self.grads[layer], s);
                let (m, v) = self.state.moments_mut(b);
                opt_kernels::adam(&mut a.b, m, v, gb, s);
            }
        }
        b.copy_from(&a.b);
        if !self.defer_weights {
            w.copy_from(&a.w);
        }
    }
}

/// D's backward sweep over `rows` rows of output gradients (`ws.back.cur`), laid out as `segs`
/// says, updating each of D's layers by `plan` as the sweep leaves it.
fn update_d(
    gan: &mut Gan,
    ws: &mut Workspace,
    plan: UpdatePlan,
    segs: &[Seg],
    rows: usize,
    defer: bool,
) {
    let mut up = Updater {
        state: &mut gan.d_state,
        net: &mut gan.d,
        plan,
        grads: &mut ws.d_grads,
        defer_weights: defer,
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
fn update_g(gan: &mut Gan, ws: &mut Workspace, plan: UpdatePlan, b: usize, defer: bool) {
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
        defer_weights: defer,
    };
    backward(&mut ws.g, &ws.g_tape, &segs, b, &mut ws.back, Some(&mut up));
}

/// Whether the updaters of a step leave the weight write-back to [`store_weights`] at its end:
/// with several threads that copy runs on all of them at once (one tensor each), where a copy
/// right after each layer's update (while its weights are in cache, better on one thread) would
/// leave the other threads idle.
fn defer_weights() -> bool {
    rayon::current_num_threads() > 1
}

/// Writes the weight matrices of both mirrors back to the GAN's tensors, one task per tensor.
fn store_weights(ws: &Workspace, gan: &mut Gan) {
    rayon::scope(|s| {
        for (net, mirror) in [(&mut gan.g, &ws.g), (&mut gan.d, &ws.d)] {
            for (l, fl) in net.layers.iter_mut().zip(&mirror.layers) {
                if let (Layer::Affine { w, .. }, FLayer::Affine(a)) = (l, fl) {
                    s.spawn(move |_| w.copy_from(&a.w));
                }
            }
        }
    });
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
    forward(
        &ws.g,
        &mut ws.g_tape,
        &Dropout::Draw {
            rng: &*rng,
            passes: &passes,
        },
    );
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
    forward(
        &ws.d,
        &mut ws.d_tape,
        &Dropout::Draw {
            rng,
            passes: &passes,
        },
    );
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
    let defer = defer_weights();
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
    update_d(gan, ws, d_plan, &segs, 3 * b, defer);
    // ∂ g_loss / ∂ G(z): rows 2b..3b of the sweep's input gradient.
    let dim = ws.d.input;
    ws.back.cur.copy_within(2 * b * dim..3 * b * dim, 0);
    update_g(gan, ws, g_plan, b, defer);
    if defer {
        store_weights(ws, gan);
    }
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
    let defer = defer_weights();
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
        update_d(gan, ws, plan, &segs, 2 * b, defer);
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
    update_g(gan, ws, plan, b, defer);
    if defer {
        store_weights(ws, gan);
    }
    gan.g_state.advance(&plan);
    m.lr_g = plan.applied.lr;
    m
}

#[cfg(test)]
mod tests;
