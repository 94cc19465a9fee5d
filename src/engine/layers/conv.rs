//! Convolution layers: `conv(out_channels, kernel, #{stride, padding, bias})` (PyTorch's
//! `Conv2d`, square kernels) and, sharing this file's built layer, `conv_transpose`
//! ([`super::conv_transpose`]). Fast path only: the kernels are [`crate::engine::ops`]'s (im2col
//! + one GEMM over the batch); dfdx 0.13 has no stable convolution, so there is no reference.
//!
//! Init as DCGAN (Radford et al. 2015) does: weights `N(0, 0.02²)`, biases 0; or, with `irange`,
//! uniform on ±irange as pylearn2 draws them (the paper's CIFAR-10 recipes). `untied_bias` gives
//! every output value its own bias (pylearn2's `tied_b: 0`, the paper's conv G). Weights are a
//! `(out_c, in_c·k·k)` matrix for a convolution, `(in_c, out_c·k·k)` for a transposed one
//! (PyTorch's layouts, row-major).

use std::sync::Mutex;

use dfdx::prelude::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::grads::{add_into, hand_over};
use super::{
    check_irange, image_input, no_reference, BackwardPass, FastLayer, ForwardPass, Layer,
    LayerKind, Masks, Param, ParamRef, Shape, MAX_SIDE,
};
use crate::engine::ops::im2col::{im2col, swap_outer};
use crate::engine::ops::{Conv2d, ConvTranspose2d, ConvWork, Image};
use crate::engine::{Dev, Mat, Tp, Vector};

/// A (transposed) convolution's settings as a stack spec records them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConvSpec {
    pub out_channels: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
    /// Transposed convolutions only: extra rows and columns on the far edge (< stride).
    #[serde(default)]
    pub output_padding: usize,
    pub bias: bool,
    /// Weights uniform on ±irange instead of `N(0, 0.02²)`. Left out of a spec's JSON when
    /// unset, so the specs (and checkpoints) of stacks without it keep their bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub irange: Option<f64>,
    /// One bias per output value rather than per channel (needs `bias`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub untied_bias: bool,
}

impl ConvSpec {
    /// Refuses sizes past [`MAX_SIDE`] before any output-size rule multiplies them.
    pub(super) fn check_sizes(&self, name: &str) -> Result<(), String> {
        let c = self;
        let biggest = c
            .out_channels
            .max(c.kernel)
            .max(c.stride)
            .max(c.padding)
            .max(c.output_padding);
        if biggest > MAX_SIDE {
            return Err(format!(
                "{name}: channels, kernel, stride and padding must be at most {MAX_SIDE}, got {biggest}"
            ));
        }
        self.irange.map_or(Ok(()), check_irange)?;
        if self.untied_bias && !self.bias {
            return Err(format!("{name}: untied_bias needs bias: true"));
        }
        Ok(())
    }

    /// Whether the kernel adds a per-channel bias (an untied one is added by [`Conv`]).
    pub(super) fn tied_bias(&self) -> bool {
        self.bias && !self.untied_bias
    }
}

/// The spec of `conv(...)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConvKind(pub ConvSpec);

impl ConvKind {
    fn op(&self, input: Shape) -> Result<Op, String> {
        let c = self.0;
        self.0.check_sizes(&self.name())?;
        if c.output_padding != 0 {
            return Err(format!(
                "{}: output_padding belongs to conv_transpose, got {}",
                self.name(),
                c.output_padding
            ));
        }
        let img = image_input(&self.name(), input)?;
        let (k, s, p) = ([c.kernel; 2], [c.stride; 2], [c.padding; 2]);
        Conv2d::try_new(img, c.out_channels, k, s, p, c.tied_bias())
            .map(Op::Conv)
            .map_err(|e| e.message)
    }
}

impl LayerKind for ConvKind {
    fn name(&self) -> String {
        let c = self.0;
        format!(
            "conv({}, {}, stride {}, padding {})",
            c.out_channels, c.kernel, c.stride, c.padding
        )
    }
    fn output_shape(&self, input: Shape) -> Result<Shape, String> {
        self.op(input)?.output_shape()
    }
    fn param_count(&self, input: Shape) -> Option<usize> {
        self.op(input).ok()?.param_count(self.0.untied_bias)
    }
    fn has_reference(&self) -> bool {
        false
    }
    fn build(&self, input: Shape, _: f64, dev: &Dev, rng: &mut ChaCha8Rng) -> Box<dyn Layer> {
        Box::new(Conv::init(
            self.op(input).expect("checked"),
            &self.0,
            dev,
            rng,
        ))
    }
}

/// The kernel a built layer runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Conv(Conv2d),
    Transpose(ConvTranspose2d),
}

impl Op {
    fn output(&self) -> Image {
        match self {
            Op::Conv(c) => c.output(),
            Op::Transpose(t) => t.output(),
        }
    }

    pub(super) fn output_shape(&self) -> Result<Shape, String> {
        let o = self.output();
        let shape = Shape::Image {
            c: o.c,
            h: o.h,
            w: o.w,
        };
        match shape.len() {
            Some(_) => Ok(shape),
            None => Err(format!("output {shape} has more values than fit in memory")),
        }
    }

    /// The weight matrix's `(rows, cols)`.
    fn weight_shape(&self) -> (usize, usize) {
        match self {
            Op::Conv(c) => (c.out_c, c.geom.k()),
            Op::Transpose(t) => (t.in_c, t.geom.k()),
        }
    }

    fn bias(&self) -> bool {
        match self {
            Op::Conv(c) => c.bias,
            Op::Transpose(t) => t.bias,
        }
    }

    /// The bias vector's length: one per output channel, or per output value when `untied`.
    fn bias_len(&self, untied: bool) -> usize {
        let o = self.output();
        if untied {
            o.c * o.h * o.w
        } else {
            o.c
        }
    }

    pub(super) fn param_count(&self, untied: bool) -> Option<usize> {
        let (r, c) = self.weight_shape();
        let bias = if self.bias() || untied {
            self.bias_len(untied)
        } else {
            0
        };
        r.checked_mul(c)?.checked_add(bias)
    }

    fn name(&self) -> &'static str {
        match self {
            Op::Conv(_) => "conv",
            Op::Transpose(_) => "conv_transpose",
        }
    }

    fn forward(
        &self,
        n: usize,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        y: &mut [f32],
        work: &mut ConvWork,
    ) {
        let b = self.bias().then_some(b);
        match self {
            Op::Conv(c) => c.forward(n, x, w, b, y, work),
            Op::Transpose(t) => t.forward(n, x, w, b, y, work),
        }
    }

    /// Gradients of `n` rows from their output gradient `dy`: the weight gradients (`dw`, and
    /// `db` with a bias) only where `dw` is given, the input gradient where `dx` is. The weight
    /// gradient needs the forward's intermediate for the rows' input `x`: `work` may hold it
    /// already (the forward ran on exactly these rows), else it is recomputed from `x`.
    #[allow(clippy::too_many_arguments)]
    fn backward(
        &self,
        n: usize,
        x: &[f32],
        dy: &[f32],
        w: &[f32],
        work: &mut ConvWork,
        dw: Option<&mut [f32]>,
        db: &mut [f32],
        dx: Option<&mut [f32]>,
    ) {
        let recompute = dw.is_some() && !work.holds(x);
        let db = (self.bias() && dw.is_some()).then_some(db);
        match self {
            Op::Conv(c) => {
                if recompute {
                    let len = c.geom.k() * n * c.geom.positions();
                    im2col(&c.geom, n, x, ConvWork::sized(&mut work.cols, len));
                }
                c.backward(n, dy, w, work, dw, db, dx);
            }
            Op::Transpose(t) => {
                if recompute {
                    let len = t.in_c * n * t.geom.positions();
                    let xt = ConvWork::sized(&mut work.t, len);
                    swap_outer(x, n, t.in_c, t.geom.positions(), None, xt);
                }
                t.backward(n, dy, w, work, dw, db, dx);
            }
        }
    }
}

/// The built layer (either kind): `b` stays 0 without a bias. With `untied`, `b` holds one
/// value per output value and the kernel itself adds none.
#[derive(Clone, Debug)]
pub struct Conv {
    pub op: Op,
    pub untied: bool,
    pub w: Mat,
    pub b: Vector,
}

impl Conv {
    pub(super) fn init(op: Op, spec: &ConvSpec, dev: &Dev, rng: &mut ChaCha8Rng) -> Self {
        let (r, c) = op.weight_shape();
        let w: Vec<f32> = match spec.irange {
            Some(ir) => {
                let ir = ir as f32;
                (0..r * c)
                    .map(|_| {
                        if ir > 0.0 {
                            rng.gen_range(-ir..ir)
                        } else {
                            0.0
                        }
                    })
                    .collect()
            }
            None => (0..r * c)
                .map(|_| {
                    let v: f64 = StandardNormal.sample(rng);
                    (0.02 * v) as f32
                })
                .collect(),
        };
        // Without a bias the layer still holds one, zero and never moved (its gradient is 0):
        // the fast path's optimizer takes one weight matrix and one bias per layer, and dfdx
        // tensors cannot be empty. It is not counted as a parameter.
        let nb = op.bias_len(spec.untied_bias);
        Conv {
            op,
            untied: spec.untied_bias,
            w: dev.tensor_from_vec(w, (r, c)),
            b: dev.zeros_like(&(nb,)),
        }
    }
}

impl Layer for Conv {
    fn forward(&self, _: Mat, _: &mut Masks) -> Mat {
        no_reference(self.op.name())
    }
    fn forward_traced(&self, _: Mat<Tp>, _: &mut Masks) -> Mat<Tp> {
        no_reference(self.op.name())
    }
    fn params(&self) -> Vec<(&'static str, ParamRef<'_>)> {
        vec![
            ("w", ParamRef::Matrix(&self.w)),
            ("b", ParamRef::Vector(&self.b)),
        ]
    }
    fn params_mut(&mut self) -> Vec<(&'static str, Param<'_>)> {
        vec![
            ("w", Param::Matrix(&mut self.w)),
            ("b", Param::Vector(&mut self.b)),
        ]
    }
    fn mirror(&self) -> Box<dyn FastLayer> {
        Box::new(ConvMirror {
            op: self.op,
            untied: self.untied,
            w: self.w.as_vec(),
            b: self.b.as_vec(),
            fwd: Mutex::default(),
            work: ConvWork::default(),
            grads: Default::default(),
        })
    }
}

/// Gradient buffers of one backward: one segment's, and their sums over the weight segments.
#[derive(Clone, Debug, Default)]
struct Grads {
    dw: Vec<f32>,
    db: Vec<f32>,
    gw: Vec<f32>,
    gb: Vec<f32>,
}

/// The fast path's copy. The forward's buffers sit behind a lock (the forward takes `&self`);
/// the backward recomputes the forward's im2col per segment into its own.
#[derive(Debug)]
pub struct ConvMirror {
    op: Op,
    untied: bool,
    w: Vec<f32>,
    b: Vec<f32>,
    fwd: Mutex<ConvWork>,
    work: ConvWork,
    grads: Grads,
}

impl Clone for ConvMirror {
    fn clone(&self) -> Self {
        ConvMirror {
            op: self.op,
            untied: self.untied,
            w: self.w.clone(),
            b: self.b.clone(),
            fwd: Mutex::default(),
            work: ConvWork::default(),
            grads: Grads::default(),
        }
    }
}

impl FastLayer for ConvMirror {
    fn forward(&self, f: ForwardPass<'_>) {
        let mut work = self.fwd.lock().unwrap_or_else(|e| e.into_inner());
        self.op
            .forward(f.rows, f.x, &self.w, &self.b, f.y, &mut work);
        if self.untied {
            for row in f.y[..f.rows * self.b.len()].chunks_exact_mut(self.b.len()) {
                row.iter_mut().zip(&self.b).for_each(|(y, b)| *y += b);
            }
        }
    }

    fn backward(&mut self, b: BackwardPass<'_, '_>) {
        let (win, wout) = (b.win, b.wout);
        let sink = b.sink;
        let mut first = true;
        let g = &mut self.grads;
        g.dw.resize(self.w.len(), 0.0);
        g.db.resize(self.b.len(), 0.0);
        for s in b.segs {
            let want_dx = s.delta >= b.lo_in;
            let want_w = s.weights && sink.is_some();
            if !want_dx && !want_w {
                continue;
            }
            let x = &b.x[s.tape * win..(s.tape + s.rows) * win];
            let dy = &b.cur[s.delta * wout..(s.delta + s.rows) * wout];
            let dx = want_dx.then(|| &mut b.nxt[s.delta * win..(s.delta + s.rows) * win]);
            // The forward's buffers serve the segment that ran through it; others use their own.
            let fwd = self.fwd.get_mut().unwrap_or_else(|e| e.into_inner());
            let work = if fwd.holds(x) { fwd } else { &mut self.work };
            self.op.backward(
                s.rows,
                x,
                dy,
                &self.w,
                work,
                want_w.then_some(&mut g.dw[..]),
                &mut g.db,
                dx,
            );
            if self.untied {
                // the kernel adds no bias here: each value's bias gradient is its dy summed over rows
                g.db.fill(0.0);
                for row in dy.chunks_exact(g.db.len()) {
                    g.db.iter_mut().zip(row).for_each(|(d, v)| *d += v);
                }
            }
            if want_w {
                add_into(&mut g.gw, &g.dw, first);
                add_into(&mut g.gb, &g.db, first);
                first = false;
            }
        }
        if let Some(sink) = sink {
            if first {
                return;
            }
            hand_over(sink, b.layer, &g.gw, &mut self.w, &mut self.b, &g.gb);
        }
    }

    fn params(&self) -> Vec<&[f32]> {
        vec![&self.w, &self.b]
    }
}

#[cfg(test)]
mod tests;
