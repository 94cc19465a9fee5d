//! Element-wise kernels of the fast path, split over rayon's threads by rows (or by parameter
//! chunks): each output element is computed by exactly one thread with the same arithmetic as
//! serially, so results never depend on the thread count.
//!
//! The arithmetic of every kernel is the one of the dfdx op it replaces (same formula, same order
//! of f32 operations), so a kernel fed the same inputs as dfdx gives the same bits.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::linalg::par::{map_into, par_flat, par_rows, par_rows2, zip_into};

// ---------------------------------------------------------------------------------------------
// Dropout masks

/// Fills `out` with a dropout mask (`1/keep` kept, `0` dropped) exactly as the reference path
/// draws it: value `i` compares `rng.gen::<f32>()` (the `i`-th 32-bit word of the stream from
/// word `pos` on, `(word >> 8) · 2⁻²⁴`) with `keep`. The stream is split into chunks that are
/// generated in parallel from their own word positions (ChaCha is a counter-mode generator).
pub fn fill_mask(rng: &ChaCha8Rng, pos: u128, keep: f32, out: &mut [f32]) {
    let scale = 1.0 / keep;
    par_flat(out, |at, dst| {
        let mut g = rng.clone();
        g.set_word_pos(pos + at as u128);
        let mut words = [0u32; 256];
        for chunk in dst.chunks_mut(256) {
            let w = &mut words[..chunk.len()];
            g.fill(w);
            for (m, &u) in chunk.iter_mut().zip(w.iter()) {
                // rand 0.8's `Standard` f32: 24 high bits of one u32, times 2⁻²⁴.
                let x = (1.0 / (1u32 << 24) as f32) * (u >> 8) as f32;
                *m = if x < keep { scale } else { 0.0 };
            }
        }
    });
}

/// `y = x ⊙ m` (dropout forward) or `δx = δy ⊙ m` (its backward).
pub fn mul_into(y: &mut [f32], x: &[f32], m: &[f32]) {
    zip_into(y, x, m, |a, b| a * b);
}

// ---------------------------------------------------------------------------------------------
// Affine layers

/// Dense epilogue: `z[r, c] += b[c]` (dfdx: the matmul, then the broadcast bias added).
pub fn add_bias(z: &mut [f32], b: &[f32]) {
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
pub fn bias_maxout(z: &mut [f32], b: &[f32], h: &mut [f32], pieces: usize) {
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
pub fn maxout_backward(
    dz: &mut [f32],
    z: &[f32],
    h: &[f32],
    dh: &[f32],
    units: usize,
    pieces: usize,
) {
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
pub fn col_sums(db: &mut [f32], d: &[f32], acc: bool) {
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

// ---------------------------------------------------------------------------------------------
// Activations (dfdx's formulas)

pub fn relu(y: &mut [f32], x: &[f32]) {
    map_into(y, x, |v| v.max(0.0));
}

pub fn relu_backward(dx: &mut [f32], x: &[f32], dy: &[f32]) {
    zip_into(dx, x, dy, |v, g| (if v > 0.0 { 1.0 } else { 0.0 }) * g);
}

/// The reference computes `relu(x) + (−relu(−x))·a`.
pub fn leaky_relu(y: &mut [f32], x: &[f32], a: f32) {
    map_into(y, x, |v| v.max(0.0) + (-(-v).max(0.0)) * a);
}

pub fn leaky_relu_backward(dx: &mut [f32], x: &[f32], dy: &[f32], a: f32) {
    zip_into(dx, x, dy, |v, g| {
        let pos = (if v > 0.0 { 1.0 } else { 0.0 }) * g;
        let neg = -((if -v > 0.0 { 1.0 } else { 0.0 }) * -(g * a));
        pos + neg
    });
}

pub fn sigmoid(y: &mut [f32], x: &[f32]) {
    map_into(y, x, |v| 1.0 / (1.0 + (-v).exp()));
}

pub fn sigmoid_backward(dx: &mut [f32], y: &[f32], dy: &[f32]) {
    zip_into(dx, y, dy, |f, g| (f * (1.0 - f)) * g);
}

pub fn tanh(y: &mut [f32], x: &[f32]) {
    map_into(y, x, |v| v.tanh());
}

pub fn tanh_backward(dx: &mut [f32], y: &[f32], dy: &[f32]) {
    zip_into(dx, y, dy, |f, g| (1.0 - f.powi(2)) * g);
}
