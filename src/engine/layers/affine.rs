//! Affine layers: `dense(units)` (`x · W + b`) and pylearn2's `maxout(units, pieces)` (an affine
//! map to `units × pieces` columns, unit j's pieces contiguous, then the max over each unit's
//! pieces). Weights are `(in, out)` so a batch `(B, in)` maps by `x · W` (pylearn2's layout),
//! drawn uniform on ±irange; biases start at 0.

use dfdx::prelude::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{
    check_irange, BackwardPass, FastLayer, ForwardPass, Layer, LayerKind, Masks, Param, ParamRef,
    Shape,
};
use crate::engine::{Dev, Mat, Tp, Vector};
use crate::linalg::gemm::{matmul, matmul_on, MatRef};
use crate::linalg::par::{par_rows, par_rows2};
use crate::linalg::transposed::matmul_via_transpose_on;

/// The spec: `pieces` is `None` for a dense layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AffineKind {
    pub units: usize,
    pub pieces: Option<usize>,
    pub irange: Option<f64>,
}

impl AffineKind {
    pub fn dense(units: usize, irange: Option<f64>) -> Self {
        AffineKind {
            units,
            pieces: None,
            irange,
        }
    }

    pub fn maxout(units: usize, pieces: usize, irange: Option<f64>) -> Self {
        AffineKind {
            units,
            pieces: Some(pieces),
            irange,
        }
    }
}

impl LayerKind for AffineKind {
    fn name(&self) -> String {
        match self.pieces {
            None => format!("dense({})", self.units),
            Some(p) => format!("maxout({}, {p})", self.units),
        }
    }

    fn output_shape(&self, _input: Shape) -> Result<Shape, String> {
        self.irange.map_or(Ok(()), check_irange)?;
        let units = self.units;
        match self.pieces {
            None if units == 0 => Err("a dense layer needs at least 1 unit, got 0".into()),
            None => Ok(Shape::Flat(units)),
            Some(pieces) => {
                if units == 0 || pieces == 0 {
                    return Err(format!(
                        "maxout needs units ≥ 1 and pieces ≥ 1, got units {units}, pieces {pieces}"
                    ));
                }
                units
                    .checked_mul(pieces)
                    .ok_or_else(|| format!("maxout size {units} × {pieces} overflows"))?;
                Ok(Shape::Flat(units))
            }
        }
    }

    /// `(input + 1) × units × pieces`: the weights and one bias per column.
    fn param_count(&self, input: Shape) -> Option<usize> {
        input
            .len()?
            .checked_add(1)?
            .checked_mul(self.units)?
            .checked_mul(self.pieces.unwrap_or(1))
    }

    fn build(
        &self,
        input: Shape,
        default_irange: f64,
        dev: &Dev,
        rng: &mut ChaCha8Rng,
    ) -> Box<dyn Layer> {
        let input = input.len().expect("checked by output_shape");
        let out = self.units * self.pieces.unwrap_or(1);
        let r = self.irange.unwrap_or(default_irange) as f32;
        let w: Vec<f32> = (0..input * out)
            .map(|_| if r > 0.0 { rng.gen_range(-r..r) } else { 0.0 })
            .collect();
        Box::new(Affine {
            w: dev.tensor_from_vec(w, (input, out)),
            b: dev.zeros_like(&(out,)),
            maxout_pieces: self.pieces,
        })
    }
}

/// The built layer: `w` is `(in, units × pieces)`.
#[derive(Clone, Debug)]
pub struct Affine {
    pub w: Mat,
    pub b: Vector,
    pub maxout_pieces: Option<usize>,
}

impl Affine {
    fn apply<T: Tape<f32, Dev>>(&self, x: Mat<T>) -> Mat<T> {
        let batch = x.shape().0;
        let cols = self.w.shape().1;
        // (B, in) · (in, cols) + b broadcast over rows → (B, cols)
        let z =
            x.matmul(self.w.clone()) + self.b.clone().broadcast_like::<_, Axis<0>>(&(batch, cols));
        match self.maxout_pieces {
            None => z,
            // (B, units·p) → (B, units, p) → max over pieces → (B, units)
            Some(p) => z
                .reshape_like(&(batch, cols / p, p))
                .max::<(usize, usize), Axis<2>>(),
        }
    }
}

impl Layer for Affine {
    fn forward(&self, x: Mat, _: &mut Masks) -> Mat {
        self.apply(x)
    }
    fn forward_traced(&self, x: Mat<Tp>, _: &mut Masks) -> Mat<Tp> {
        self.apply(x)
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
        let (inp, cols) = *self.w.shape();
        let mut w = vec![0f32; inp * cols];
        self.w.copy_into(&mut w);
        let mut b = vec![0f32; cols];
        self.b.copy_into(&mut b);
        Box::new(AffineMirror {
            w,
            b,
            inp,
            cols,
            pieces: self.maxout_pieces.unwrap_or(1),
            dxt: Vec::new(),
        })
    }
}

/// The fast path's copy: `w` is `(inp, cols)` row-major like the dfdx tensor.
#[derive(Clone, Debug)]
pub struct AffineMirror {
    pub w: Vec<f32>,
    pub b: Vec<f32>,
    pub inp: usize,
    pub cols: usize,
    /// 1 for a dense layer.
    pub pieces: usize,
    /// The input gradient's transpose (see [`matmul_via_transpose_on`]).
    pub dxt: Vec<f32>,
}

impl FastLayer for AffineMirror {
    /// Maxout keeps `x·W + b` before the max (its backward needs to know which piece won).
    fn saved_width(&self, _win: usize) -> usize {
        if self.pieces > 1 {
            self.cols
        } else {
            0
        }
    }

    fn forward(&self, f: ForwardPass<'_>) {
        let xm = MatRef::new(f.x, f.rows, f.win);
        let wm = MatRef::new(&self.w, self.inp, self.cols);
        if self.pieces == 1 {
            matmul(f.y, self.cols, xm, wm, None);
            add_bias(f.y, &self.b);
        } else {
            let z = &mut f.saved[..f.rows * self.cols];
            matmul(z, self.cols, xm, wm, None);
            bias_maxout(z, &self.b, f.y, self.pieces);
        }
    }

    fn backward(&mut self, b: BackwardPass<'_, '_>) {
        let (cols, pieces) = (self.cols, self.pieces);
        let units = cols / pieces;
        let BackwardPass {
            layer,
            segs,
            total,
            lo_in,
            lo_out,
            win,
            x,
            y,
            saved,
            cur,
            nxt,
            scratch,
            gb,
            sink,
            ..
        } = b;
        // δ w.r.t. x·W + b, for rows ≥ lo_out
        let dz: &[f32] = if pieces == 1 {
            cur
        } else {
            if scratch.len() < total * cols {
                scratch.resize(total * cols, 0.0);
            }
            for s in segs.iter().filter(|s| s.delta >= lo_out) {
                maxout_backward(
                    &mut scratch[s.delta * cols..(s.delta + s.rows) * cols],
                    &saved[s.tape * cols..(s.tape + s.rows) * cols],
                    &y[s.tape * units..(s.tape + s.rows) * units],
                    &cur[s.delta * units..(s.delta + s.rows) * units],
                    units,
                    pieces,
                );
            }
            scratch
        };
        let (inp, w, dxt) = (self.inp, &self.w, &mut self.dxt);
        // Weight and bias gradients over the weight segments, on `threads` threads.
        let weight_grads = |gw: &mut [f32], alpha: Option<f32>, gb: &mut Vec<f32>, threads| {
            gb.resize(cols, 0.0);
            let mut first = true;
            for s in segs.iter().filter(|s| s.weights) {
                matmul_on(
                    gw,
                    cols,
                    MatRef::rows(x, s.tape, s.rows, win).t(),
                    MatRef::rows(dz, s.delta, s.rows, cols),
                    if first { alpha } else { Some(1.0) },
                    threads,
                );
                col_sums(gb, &dz[s.delta * cols..(s.delta + s.rows) * cols], !first);
                first = false;
            }
        };
        // The input gradient δ·Wᵀ of rows ≥ lo_in.
        let mut input_grad = |nxt: &mut [f32], threads| {
            if lo_in < total {
                matmul_via_transpose_on(
                    &mut nxt[lo_in * win..total * win],
                    MatRef::rows(dz, lo_in, total - lo_in, cols),
                    MatRef::new(w, inp, cols).t(),
                    dxt,
                    threads,
                );
            }
        };
        let threads = rayon::current_num_threads();
        let weights = match sink {
            Some(sink) => {
                let weight_rows: usize = segs.iter().filter(|s| s.weights).map(|s| s.rows).sum();
                let (gw, alpha) = sink.weight_target(layer, inp * cols);
                if threads > 1 && side_by_side(weight_rows, total - lo_in) {
                    // Two independent products of similar size: each whole on its own thread,
                    // rather than each cut into column blocks one after the other.
                    rayon::join(|| weight_grads(gw, alpha, gb, 1), || input_grad(nxt, 1));
                } else {
                    weight_grads(gw, alpha, gb, threads);
                    input_grad(nxt, threads);
                }
                Some(sink)
            }
            None => {
                input_grad(nxt, threads);
                None
            }
        };
        if let Some(sink) = weights {
            sink.done(layer, &mut self.w, &mut self.b, gb);
        }
    }

    fn params(&self) -> Vec<&[f32]> {
        vec![&self.w, &self.b]
    }
}

/// Whether a layer's weight-gradient product (over `weight_rows` rows) and input-gradient product
/// (over `input_rows`; both `rows × in × out` multiply-adds) are close enough in size to run side
/// by side, one whole product per thread; otherwise each is split over the threads in turn.
fn side_by_side(weight_rows: usize, input_rows: usize) -> bool {
    let (lo, hi) = if weight_rows < input_rows {
        (weight_rows, input_rows)
    } else {
        (input_rows, weight_rows)
    };
    lo > 0 && 2 * hi <= 3 * lo
}

/// Dense epilogue: `z[r, c] += b[c]` (dfdx: the matmul, then the broadcast bias added).
fn add_bias(z: &mut [f32], b: &[f32]) {
    let cols = b.len();
    par_rows(z, cols, |_, c| {
        for row in c.chunks_exact_mut(cols) {
            for (v, &bb) in row.iter_mut().zip(b) {
                *v += bb;
            }
        }
    });
}

/// Maxout epilogue: `z += b` in place (kept for the backward pass), then
/// `h[r, u] = max_q z[r, u·p + q]` (dfdx's `max` over the pieces axis: a running max from −∞).
fn bias_maxout(z: &mut [f32], b: &[f32], h: &mut [f32], pieces: usize) {
    let cols = b.len();
    let units = cols / pieces;
    par_rows2(z, cols, h, units, |_, zc, hc| {
        for (zr, hr) in zc.chunks_exact_mut(cols).zip(hc.chunks_exact_mut(units)) {
            for (v, &bb) in zr.iter_mut().zip(b) {
                *v += bb;
            }
            for (o, zs) in hr.iter_mut().zip(zr.chunks_exact(pieces)) {
                let mut m = f32::NEG_INFINITY;
                for &v in zs {
                    m = m.max(v);
                }
                *o = m;
            }
        }
    });
}

/// Maxout backward for one block of rows: `δz[r, u·p + q] = δh[r, u] · [z == h]` (dfdx gives the
/// gradient to every piece equal to the max). `z`, `dz`: rows × units·pieces; `h`, `dh`: rows × units.
fn maxout_backward(dz: &mut [f32], z: &[f32], h: &[f32], dh: &[f32], units: usize, pieces: usize) {
    let cols = units * pieces;
    debug_assert!(dz.len() == z.len() && h.len() == dh.len() && dz.len() / cols == h.len() / units);
    par_rows(dz, cols, |r0, dc| {
        for (i, dzr) in dc.chunks_exact_mut(cols).enumerate() {
            let r = r0 + i;
            let zr = &z[r * cols..(r + 1) * cols];
            let hr = &h[r * units..(r + 1) * units];
            let gr = &dh[r * units..(r + 1) * units];
            for (u, (dzs, zs)) in dzr
                .chunks_exact_mut(pieces)
                .zip(zr.chunks_exact(pieces))
                .enumerate()
            {
                let (o, go) = (hr[u], gr[u]);
                for (d, &v) in dzs.iter_mut().zip(zs) {
                    *d = go * if o == v { 1.0 } else { 0.0 };
                }
            }
        }
    });
}

/// Column sums `db[c] = Σ_r δ[r, c]` accumulated row after row from 0 (dfdx's broadcast backward);
/// `acc` adds to `db` instead of overwriting it.
fn col_sums(db: &mut [f32], d: &[f32], acc: bool) {
    let cols = db.len();
    if !acc {
        db.fill(0.0);
    }
    for row in d.chunks_exact(cols) {
        for (s, &v) in db.iter_mut().zip(row) {
            *s += v;
        }
    }
}

#[cfg(test)]
mod tests;
