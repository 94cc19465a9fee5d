//! Element-wise kernels of the fast path, split over rayon's threads by rows (or by parameter
//! chunks): each output element is computed by exactly one thread with the same arithmetic as
//! serially, so results never depend on the thread count.
//!
//! The arithmetic of every kernel is the one of the dfdx op it replaces (same formula, same order
//! of f32 operations), so a kernel fed the same inputs as dfdx gives the same bits.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Below this many elements a kernel runs on the calling thread (splitting costs more).
const PAR_MIN: usize = 1 << 16;

fn threads() -> usize {
    rayon::current_num_threads()
}

/// Rows per task when `rows` rows of `width` values are split over the pool; `rows` when the
/// work is too small to split.
fn rows_per_task(rows: usize, width: usize) -> usize {
    let t = threads();
    if t <= 1 || rows < 2 || rows * width < PAR_MIN {
        rows.max(1)
    } else {
        // a few tasks per thread, so that a thread another process holds up does not stall the rest
        rows.div_ceil(4 * t).max((PAR_MIN / 4).div_ceil(width))
    }
}

/// Runs `f(first_row, rows_chunk)` over `out` (rows of `width`), in parallel when it pays.
pub fn par_rows(out: &mut [f32], width: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    if width == 0 || out.is_empty() {
        return;
    }
    let rows = out.len() / width;
    let per = rows_per_task(rows, width);
    if per >= rows {
        f(0, out);
    } else {
        out.par_chunks_mut(per * width)
            .enumerate()
            .for_each(|(i, c)| f(i * per, c));
    }
}

/// Like [`par_rows`] over two outputs with their own widths (the same rows of each).
pub fn par_rows2(
    a: &mut [f32],
    wa: usize,
    b: &mut [f32],
    wb: usize,
    f: impl Fn(usize, &mut [f32], &mut [f32]) + Sync + Send,
) {
    if wa == 0 || wb == 0 || a.is_empty() {
        return;
    }
    let rows = a.len() / wa;
    debug_assert_eq!(b.len() / wb, rows);
    let per = rows_per_task(rows, wa + wb);
    if per >= rows {
        f(0, a, b);
    } else {
        a.par_chunks_mut(per * wa)
            .zip(b.par_chunks_mut(per * wb))
            .enumerate()
            .for_each(|(i, (ca, cb))| f(i * per, ca, cb));
    }
}

/// Runs `f(offset, chunk)` over a flat buffer in parallel chunks (element-wise updates).
fn par_flat(len: usize, f: impl Fn(std::ops::Range<usize>) + Sync + Send) {
    let t = threads();
    if t <= 1 || len < PAR_MIN {
        f(0..len);
        return;
    }
    // A few chunks per thread so that a thread slowed by another process does not hold up the rest.
    let chunks = 4 * t;
    let per = len.div_ceil(chunks).next_multiple_of(16);
    (0..len.div_ceil(per))
        .into_par_iter()
        .for_each(|i| f(i * per..((i + 1) * per).min(len)));
}

/// A raw pointer that may cross threads; each thread writes a disjoint range.
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// # Safety
    /// `r` must lie inside the buffer, and no other live reference may overlap it.
    unsafe fn slice<'a>(self, r: std::ops::Range<usize>) -> &'a mut [f32] {
        std::slice::from_raw_parts_mut(self.0.add(r.start), r.len())
    }
}

// ---------------------------------------------------------------------------------------------
// Dropout masks

/// Fills `out` with a dropout mask (`1/keep` kept, `0` dropped) exactly as the reference path
/// draws it: value `i` compares `rng.gen::<f32>()` (the `i`-th 32-bit word of the stream from
/// word `pos` on, `(word >> 8) · 2⁻²⁴`) with `keep`. The stream is split into chunks that are
/// generated in parallel from their own word positions (ChaCha is a counter-mode generator).
pub fn fill_mask(rng: &ChaCha8Rng, pos: u128, keep: f32, out: &mut [f32]) {
    let scale = 1.0 / keep;
    let len = out.len();
    let ptr = SendPtr(out.as_mut_ptr());
    par_flat(len, |r| {
        // SAFETY: par_flat hands out disjoint ranges inside `out`.
        let dst = unsafe { ptr.slice(r.clone()) };
        let mut g = rng.clone();
        g.set_word_pos(pos + r.start as u128);
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

fn map_into(y: &mut [f32], x: &[f32], f: impl Fn(f32) -> f32 + Sync + Send) {
    debug_assert_eq!(y.len(), x.len());
    let ptr = SendPtr(y.as_mut_ptr());
    par_flat(y.len(), |r| {
        // SAFETY: disjoint ranges inside `y`.
        let out = unsafe { ptr.slice(r.clone()) };
        for (o, &v) in out.iter_mut().zip(&x[r]) {
            *o = f(v);
        }
    });
}

fn zip_into(y: &mut [f32], a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync + Send) {
    debug_assert!(y.len() == a.len() && y.len() == b.len());
    let ptr = SendPtr(y.as_mut_ptr());
    par_flat(y.len(), |r| {
        // SAFETY: disjoint ranges inside `y`.
        let out = unsafe { ptr.slice(r.clone()) };
        for ((o, &u), &v) in out.iter_mut().zip(&a[r.clone()]).zip(&b[r]) {
            *o = f(u, v);
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Optimizers (dfdx's kernels, element for element)

/// What dfdx's SGD kernel does to one parameter (`SgdConfig` unpacked into f32 values).
#[derive(Clone, Copy, Debug)]
pub struct SgdStep {
    pub lr: f32,
    /// `Some((u, nesterov))`.
    pub momentum: Option<(f32, bool)>,
    /// L2 weight decay added to the gradient.
    pub l2: Option<f32>,
    /// Decoupled weight decay, already multiplied by the learning rate.
    pub decoupled: Option<f32>,
}

pub fn sgd(p: &mut [f32], v: &mut [f32], g: &[f32], s: SgdStep) {
    assert!(p.len() == v.len() && p.len() == g.len());
    let (pp, vp) = (SendPtr(p.as_mut_ptr()), SendPtr(v.as_mut_ptr()));
    par_flat(p.len(), |r| {
        // SAFETY: disjoint ranges inside `p` and `v`.
        let (p, v) = unsafe { (pp.slice(r.clone()), vp.slice(r.clone())) };
        let g = &g[r];
        match s {
            // The paper's case, without branches in the loop so that it vectorises.
            SgdStep {
                momentum: Some((u, false)),
                l2: None,
                decoupled: None,
                lr,
            } => {
                for ((p, v), &g) in p.iter_mut().zip(v.iter_mut()).zip(g) {
                    *v = g + u * *v;
                    *p -= *v * lr;
                }
            }
            _ => {
                for ((p, v), &g) in p.iter_mut().zip(v.iter_mut()).zip(g) {
                    let mut g = g;
                    if let Some(wd) = s.l2 {
                        g += wd * *p;
                    }
                    match s.momentum {
                        Some((u, false)) => {
                            *v = g + u * *v;
                            g = *v * s.lr;
                        }
                        Some((u, true)) => {
                            *v = g + u * *v;
                            g = (g + u * *v) * s.lr;
                        }
                        None => g *= s.lr,
                    }
                    if let Some(wd) = s.decoupled {
                        g += wd * *p;
                    }
                    *p -= g;
                }
            }
        }
    });
}

/// `θ ← θ − u·lr` after a GEMM put the new velocity in `u` (the fused SGD of the fast path; dfdx
/// computes `g = u·lr; θ −= g`).
pub fn sgd_fused(p: &mut [f32], v: &[f32], lr: f32) {
    assert_eq!(p.len(), v.len());
    let pp = SendPtr(p.as_mut_ptr());
    par_flat(p.len(), |r| {
        // SAFETY: disjoint ranges inside `p`.
        let p = unsafe { pp.slice(r.clone()) };
        for (p, &v) in p.iter_mut().zip(&v[r]) {
            *p -= v * lr;
        }
    });
}

/// What dfdx's Adam kernel does to one parameter.
#[derive(Clone, Copy, Debug)]
pub struct AdamStep {
    pub lr: f32,
    pub betas: [f32; 2],
    pub eps: f32,
    /// `1 / (1 − βᵢᵗ)`, as dfdx computes them.
    pub corr: [f32; 2],
    pub l2: Option<f32>,
    pub decoupled: Option<f32>,
}

pub fn adam(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], s: AdamStep) {
    assert!(p.len() == m.len() && p.len() == v.len() && p.len() == g.len());
    let (pp, mp, vp) = (
        SendPtr(p.as_mut_ptr()),
        SendPtr(m.as_mut_ptr()),
        SendPtr(v.as_mut_ptr()),
    );
    par_flat(p.len(), |r| {
        // SAFETY: disjoint ranges inside `p`, `m` and `v`.
        let (p, m, v) = unsafe {
            (
                pp.slice(r.clone()),
                mp.slice(r.clone()),
                vp.slice(r.clone()),
            )
        };
        for (((p, m), v), &g) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(&g[r]) {
            let mut g = g;
            if let Some(wd) = s.l2 {
                g += wd * *p;
            }
            *m = *m * s.betas[0] + g * (1.0 - s.betas[0]);
            *v = *v * s.betas[1] + g.powi(2) * (1.0 - s.betas[1]);
            let m_hat = *m * s.corr[0];
            let v_hat = *v * s.corr[1];
            g = s.lr * m_hat / (v_hat.sqrt() + s.eps);
            if let Some(wd) = s.decoupled {
                g += wd * *p;
            }
            *p -= g;
        }
    });
}
