//! The layout moves around a convolution's GEMM: im2col (image windows as columns), col2im (the
//! scatter-add back) and the swap of batch and channel axes between NCHW and the GEMM's
//! channel-major `[C × N·H·W]`.
//!
//! The column matrix of a batch is `[K × P]`, row-major: row `(c, i, j)` (K = C·kh·kw) holds, for
//! every window position `(n, oy, ox)` (P = N·OH·OW), the input value under kernel tap `(i, j)` of
//! channel `c` (zero in the padding). One GEMM over all P columns then serves the whole batch.

use super::geom::ConvGeom;
use rayon::prelude::*;

/// Fills `cols` (`[K × n·positions]`) from the NCHW batch `x` (`n` images of `g.img`). Rows are
/// independent, so they are split over the pool.
pub fn im2col(g: &ConvGeom, n: usize, x: &[f32], cols: &mut [f32]) {
    let (img, ry, rx) = (g.img, g.rows, g.cols);
    let s = g.positions();
    let p = n * s;
    assert!(
        x.len() == n * img.len() && cols.len() == g.k() * p,
        "im2col buffers"
    );
    if p == 0 {
        return;
    }
    cols.par_chunks_mut(p)
        .with_min_len(4)
        .enumerate()
        .for_each(|(r, row)| {
            let c = r / (ry.k * rx.k);
            let (i, j) = ((r / rx.k) % ry.k, r % rx.k);
            let (oy_ok, ox_ok) = (ry.valid(i), rx.valid(j));
            for (b, dst) in row.chunks_exact_mut(s).enumerate() {
                let plane = &x[(b * img.c + c) * img.plane()..][..img.plane()];
                for (oy, out) in dst.chunks_exact_mut(rx.out).enumerate() {
                    if !oy_ok.contains(&oy) {
                        out.fill(0.0);
                        continue;
                    }
                    let src = &plane[(oy * ry.stride + i - ry.pad) * img.w..][..img.w];
                    out[..ox_ok.start].fill(0.0);
                    out[ox_ok.end..].fill(0.0);
                    if ox_ok.is_empty() {
                        continue;
                    }
                    let x0 = ox_ok.start * rx.stride + j - rx.pad;
                    if rx.stride == 1 {
                        out[ox_ok.clone()].copy_from_slice(&src[x0..x0 + ox_ok.len()]);
                    } else {
                        for (o, v) in out[ox_ok.clone()]
                            .iter_mut()
                            .zip(src[x0..].iter().step_by(rx.stride))
                        {
                            *o = *v;
                        }
                    }
                }
            }
        });
}

/// The adjoint of [`im2col`]: `x[n, c, y, x] = init[c] + Σ` of every column entry that im2col would
/// have read from that pixel (`init` zero when `None`). Each image plane is summed by one thread,
/// taps and positions in a fixed order, so the result does not depend on the thread count.
pub fn col2im(g: &ConvGeom, n: usize, cols: &[f32], init: Option<&[f32]>, x: &mut [f32]) {
    let (img, ry, rx) = (g.img, g.rows, g.cols);
    let s = g.positions();
    let p = n * s;
    assert!(
        x.len() == n * img.len() && cols.len() == g.k() * p,
        "col2im buffers"
    );
    if x.is_empty() {
        return;
    }
    x.par_chunks_mut(img.plane())
        .enumerate()
        .for_each(|(q, plane)| {
            let (b, c) = (q / img.c, q % img.c);
            plane.fill(init.map_or(0.0, |v| v[c]));
            for i in 0..ry.k {
                for j in 0..rx.k {
                    let r = (c * ry.k + i) * rx.k + j;
                    let src = &cols[r * p + b * s..][..s];
                    let ox_ok = rx.valid(j);
                    if ox_ok.is_empty() {
                        continue;
                    }
                    let x0 = ox_ok.start * rx.stride + j - rx.pad;
                    for oy in ry.valid(i) {
                        let dst = &mut plane[(oy * ry.stride + i - ry.pad) * img.w..][..img.w];
                        let row = &src[oy * rx.out..][ox_ok.clone()];
                        if rx.stride == 1 {
                            for (d, v) in dst[x0..x0 + row.len()].iter_mut().zip(row) {
                                *d += v;
                            }
                        } else {
                            for (d, v) in dst[x0..].iter_mut().step_by(rx.stride).zip(row) {
                                *d += v;
                            }
                        }
                    }
                }
            }
        });
}

/// Swaps the two outer axes of a `[a × b × plane]` buffer into `[b × a × plane]` (NCHW ↔ the
/// GEMM's `[C × N·H·W]`), adding `bias[i]` (indexed by the source's outer axis) when given.
pub fn swap_outer(
    src: &[f32],
    a: usize,
    b: usize,
    plane: usize,
    bias: Option<&[f32]>,
    dst: &mut [f32],
) {
    assert!(
        src.len() == a * b * plane && dst.len() == src.len(),
        "swap_outer buffers"
    );
    if dst.is_empty() {
        return;
    }
    dst.par_chunks_mut(plane)
        .with_min_len(4)
        .enumerate()
        .for_each(|(q, out)| {
            let (j, i) = (q / a, q % a);
            let from = &src[(i * b + j) * plane..][..plane];
            match bias {
                Some(bv) => {
                    for (o, v) in out.iter_mut().zip(from) {
                        *o = v + bv[i];
                    }
                }
                None => out.copy_from_slice(from),
            }
        });
}

/// `db[c] = Σ` over the row `c` of a `[C × len]` buffer, summed in f64 in index order (one channel
/// per task, so the sum does not depend on the thread count).
pub fn row_sums(d: &[f32], db: &mut [f32]) {
    let len = d.len() / db.len().max(1);
    db.par_iter_mut().enumerate().for_each(|(c, o)| {
        *o = d[c * len..(c + 1) * len]
            .iter()
            .map(|&v| v as f64)
            .sum::<f64>() as f32;
    });
}
