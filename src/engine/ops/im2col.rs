//! The layout moves around a convolution's GEMM: im2col (image windows as columns), col2im (the
//! scatter-add back) and the swap of batch and channel axes between NCHW and the GEMM's
//! channel-major `[C × N·H·W]`.
//!
//! The column matrix of a batch is `[K × P]`, row-major: row `(c, i, j)` (K = C·kh·kw) holds, for
//! every window position `(n, oy, ox)` (P = N·OH·OW), the input value under kernel tap `(i, j)` of
//! channel `c` (zero in the padding). One GEMM over all P columns then serves the whole batch.

use std::ops::Range;

use super::geom::{Axis, ConvGeom};
use super::par::{self, SegLayout};

/// Where kernel tap `i` of an axis lands in the axis's stride phases: the image coordinate
/// `o·stride + i − pad` of window position `o` is `(o + q)·stride + phase`, so that tap reads (or
/// writes) a contiguous run of phase `phase`'s sub-grid, shifted by `q`.
fn tap_phase(a: &Axis, i: usize) -> (usize, isize) {
    let off = i as isize - a.pad as isize;
    let s = a.stride as isize;
    (off.rem_euclid(s) as usize, off.div_euclid(s))
}

/// `f(d, s)` for the pairs of two equally long runs, in blocks of 16, then 4, then 1: the runs
/// here are short (4–16 values: a window row), too short for the compiler's own vector loop,
/// which would leave them all to its scalar remainder.
#[inline(always)]
fn run(dst: &mut [f32], src: &[f32], f: impl Fn(&mut f32, f32) + Copy) {
    #[inline(always)]
    fn blocks<const W: usize>(
        dst: &mut [f32],
        src: &[f32],
        f: impl Fn(&mut f32, f32) + Copy,
    ) -> usize {
        let n = dst.len() / W * W;
        for (d, s) in dst[..n].chunks_exact_mut(W).zip(src[..n].chunks_exact(W)) {
            for k in 0..W {
                f(&mut d[k], s[k]);
            }
        }
        n
    }
    assert_eq!(dst.len(), src.len(), "runs of one length");
    let a = blocks::<16>(dst, src, f);
    let b = a + blocks::<4>(&mut dst[a..], &src[a..], f);
    for (d, &s) in dst[b..].iter_mut().zip(&src[b..]) {
        f(d, s);
    }
}

/// An image plane split by stride phase: `stride_y · stride_x` sub-grids of `hs × ws` values
/// (phase `(py, px)` holds the pixels `(ys·stride_y + py, xs·stride_x + px)`). With stride 1 the
/// single sub-grid is the plane itself, so no split is needed. Strided windows then read and
/// write contiguous runs, which vectorise, instead of every `stride`-th value.
///
/// Every tap's valid window rows and columns and its sub-grid offset are worked out once per
/// call (they depend only on the geometry): computed per image and channel, their integer
/// divisions cost more than the copies of the small planes of a deep layer.
struct Phases {
    ry: Axis,
    rx: Axis,
    hs: usize,
    ws: usize,
    /// Tap `(i, j)` at `i·kw + j`: see [`tap`](Self::tap).
    taps: Vec<(Range<usize>, Range<usize>, isize)>,
    /// Where each tap's window position `(oy, 0)` lies in sub-grids whose rows carry a guard
    /// column on either side (`oy·(ws + 2)` on): see [`guarded`](Self::guarded).
    guarded_base: Vec<isize>,
    /// Whether every tap reaches at most one column past either edge of its sub-grid, whose
    /// rows are window rows (`ws == ow`) and hold only real pixels (width `ws·stride`).
    guardable: bool,
}

impl Phases {
    fn new(g: &ConvGeom) -> Self {
        let (ry, rx) = (g.rows, g.cols);
        let (hs, ws) = (ry.size.div_ceil(ry.stride), rx.size.div_ceil(rx.stride));
        let mut taps = Vec::with_capacity(ry.k * rx.k);
        let mut guarded_base = Vec::with_capacity(ry.k * rx.k);
        let mut guardable =
            !(ry.stride == 1 && rx.stride == 1) && ws == rx.out && rx.size == ws * rx.stride;
        for i in 0..ry.k {
            for j in 0..rx.k {
                let ((py, qy), (px, qx)) = (tap_phase(&ry, i), tap_phase(&rx, j));
                let grid = ((py * rx.stride + px) * hs * ws) as isize;
                let base = grid + qy * ws as isize + qx;
                taps.push((ry.valid(i), rx.valid(j), base));
                let rs = (ws + 2) as isize;
                let grid = ((py * rx.stride + px) * hs) as isize * rs;
                guarded_base.push(grid + qy * rs + qx + 1);
                guardable &= (-1..=1).contains(&qx);
            }
        }
        Phases {
            ry,
            rx,
            hs,
            ws,
            taps,
            guarded_base,
            guardable,
        }
    }

    /// For col2im: the length of sub-grids with a guard column on either side of every row, if
    /// this geometry allows them. Then every tap adds whole window rows ([`guarded_rows`]): the
    /// window positions that miss the image by a column land in a guard column and are dropped,
    /// and every pixel still gets exactly its terms, in tap order. Without guards the taps that
    /// miss a column add short runs (3 or 7 values in DCGAN's deeper layers), mostly left to
    /// scalar code.
    ///
    /// [`guarded_rows`]: Self::guarded_rows
    fn guarded(&self) -> Option<usize> {
        self.guardable
            .then(|| self.ry.stride * self.rx.stride * self.hs * (self.ws + 2))
    }

    /// For guarded sub-grids: `f(grid_start, window_start)` for every valid window row of tap
    /// `(i, j)`, each a run of `ow` values.
    #[inline]
    fn guarded_rows(&self, i: usize, j: usize, mut f: impl FnMut(usize, usize)) {
        let t = i * self.rx.k + j;
        let (ow, rs) = (self.rx.out, self.ws + 2);
        let base = self.guarded_base[t];
        for oy in self.taps[t].0.clone() {
            f((base + (oy * rs) as isize) as usize, oy * ow);
        }
    }

    /// Whether the sub-grid is the plane itself.
    fn direct(&self) -> bool {
        self.ry.stride == 1 && self.rx.stride == 1
    }

    fn len(&self) -> usize {
        self.ry.stride * self.rx.stride * self.hs * self.ws
    }

    /// For kernel tap `(i, j)`: the valid window rows and columns and the offset of window
    /// position `(oy, ox)`'s value in the sub-grids is `base + oy·ws + ox`.
    #[inline]
    fn tap(&self, i: usize, j: usize) -> (Range<usize>, Range<usize>, isize) {
        self.taps[i * self.rx.k + j].clone()
    }

    /// Visits the runs of tap `(i, j)`: `f(grid_start, window_start, len)` for each contiguous
    /// run of valid positions (one per window row, or one for all rows when whole rows are
    /// contiguous in both layouts), in window-row order. Returns the valid rows and columns.
    #[inline]
    fn runs(
        &self,
        i: usize,
        j: usize,
        mut f: impl FnMut(usize, usize, usize),
    ) -> (Range<usize>, Range<usize>) {
        let (oy_ok, ox_ok, base) = self.tap(i, j);
        let ow = self.rx.out;
        if ox_ok.is_empty() || oy_ok.is_empty() {
            return (oy_ok, ox_ok);
        }
        let at = |oy: usize| (base + (oy * self.ws + ox_ok.start) as isize) as usize;
        if ox_ok.len() == ow && self.ws == ow {
            f(at(oy_ok.start), oy_ok.start * ow, oy_ok.len() * ow);
        } else {
            for oy in oy_ok.clone() {
                f(at(oy), oy * ow + ox_ok.start, ox_ok.len());
            }
        }
        (oy_ok, ox_ok)
    }

    /// For im2col: like [`runs`](Self::runs), but where a sub-grid row is exactly a window row
    /// (`ws == ow`: stride 2, kernel 4, padding 1, the DCGAN case) a tap that misses some window
    /// columns is still copied as one block of whole window rows, instead of one short run per
    /// row. The block's entries at the missed columns come from neighbouring pixels (or keep the
    /// destination's old values where the block would leave the grid of `grid_len` values):
    /// im2col then zeroes them, as it zeroes every window position that lies on the padding.
    #[inline]
    fn block_runs(
        &self,
        i: usize,
        j: usize,
        grid_len: usize,
        mut f: impl FnMut(usize, usize, usize),
    ) -> (Range<usize>, Range<usize>) {
        let ow = self.rx.out;
        let (oy_ok, ox_ok, base) = self.tap(i, j);
        if self.ws != ow || ox_ok.is_empty() || oy_ok.is_empty() || ox_ok.len() == ow {
            return self.runs(i, j, f);
        }
        // grid index of window position (oy_ok.start, 0), and one past the block's end
        let start = base + (oy_ok.start * ow) as isize;
        let end = start + (oy_ok.len() * ow) as isize;
        // the valid positions lie inside the grid, so clamping only drops missed ones
        let (lo, hi) = (start.max(0), end.min(grid_len as isize));
        f(
            lo as usize,
            oy_ok.start * ow + (lo - start) as usize,
            (hi - lo) as usize,
        );
        (oy_ok, ox_ok)
    }

    /// With column stride 2 and an even width (every row splits into two equal halves): the
    /// sub-grid rows of column phases 0 and 1 for plane row `ys·stride_y + py`.
    fn pair_rows<'s>(
        &self,
        sub: &'s mut [f32],
        py: usize,
        ys: usize,
        guard: usize,
    ) -> Option<(&'s mut [f32], &'s mut [f32])> {
        if self.rx.stride != 2 || self.rx.size != 2 * self.ws {
            return None;
        }
        let rs = self.ws + 2 * guard;
        let at = |px: usize| ((py * 2 + px) * self.hs + ys) * rs + guard;
        let (lo, hi) = sub.split_at_mut(at(1));
        Some((&mut lo[at(0)..][..self.ws], &mut hi[..self.ws]))
    }

    /// `sub ← plane` split by phase.
    fn split(&self, plane: &[f32], sub: &mut [f32]) {
        let (sy, sx, w) = (self.ry.stride, self.rx.stride, self.rx.size);
        for (y, row) in plane.chunks_exact(w).enumerate() {
            let (py, ys) = (y % sy, y / sy);
            if let Some((d0, d1)) = self.pair_rows(sub, py, ys, 0) {
                // stride 2 across an even width: both phases of the row in one pass over it
                for ((a, b), v) in d0.iter_mut().zip(d1).zip(row.chunks_exact(2)) {
                    *a = v[0];
                    *b = v[1];
                }
                continue;
            }
            for px in 0..sx.min(w) {
                let dst = &mut sub[((py * sx + px) * self.hs + ys) * self.ws..][..self.ws];
                for (d, v) in dst.iter_mut().zip(row[px..].iter().step_by(sx)) {
                    *d = *v;
                }
            }
        }
    }

    /// `plane ← sub` interleaved back; `guard`: 1 when the sub-grid rows have guard columns (see
    /// [`guarded`](Self::guarded)), else 0.
    fn merge(&self, sub: &mut [f32], plane: &mut [f32], guard: usize) {
        let (sy, sx, w) = (self.ry.stride, self.rx.stride, self.rx.size);
        let rs = self.ws + 2 * guard;
        for (y, row) in plane.chunks_exact_mut(w).enumerate() {
            let (py, ys) = (y % sy, y / sy);
            if let Some((s0, s1)) = self.pair_rows(sub, py, ys, guard) {
                for ((a, b), v) in s0.iter().zip(&*s1).zip(row.chunks_exact_mut(2)) {
                    v[0] = *a;
                    v[1] = *b;
                }
                continue;
            }
            for px in 0..sx.min(w) {
                let src = &sub[((py * sx + px) * self.hs + ys) * rs + guard..][..self.ws];
                for (d, v) in row[px..].iter_mut().step_by(sx).zip(src) {
                    *d = *v;
                }
            }
        }
    }
}

/// Fills `cols` (`[K × n·positions]`) from the NCHW batch `x` (`n` images of `g.img`). One task
/// fills the rows of one channel (its `kh·kw` taps) for a block of images (see
/// [`par::segments`]): each image plane is split by stride phase once, then every tap copies
/// contiguous runs.
pub fn im2col(g: &ConvGeom, n: usize, x: &[f32], cols: &mut [f32]) {
    let img = g.img;
    let s = g.positions();
    let p = n * s;
    assert!(
        x.len() == n * img.len() && cols.len() == g.k() * p,
        "im2col buffers"
    );
    if p == 0 {
        return;
    }
    let ph = Phases::new(g);
    let (kh, kw) = (g.rows.k, g.cols.k);
    let lay = SegLayout {
        channels: img.c,
        c_stride: kh * kw * p,
        taps: kh * kw,
        t_stride: p,
        n,
        b_stride: s,
        len: s,
    };
    par::segments(cols, lay, |c, block| {
        let mut sub = vec![0.0; if ph.direct() { 0 } else { ph.len() }];
        for b in block.images() {
            let plane = &x[(b * img.c + c) * img.plane()..][..img.plane()];
            let grid = if ph.direct() {
                plane
            } else {
                ph.split(plane, &mut sub);
                &sub[..]
            };
            for i in 0..kh {
                for j in 0..kw {
                    let row = block.get(i * kw + j, b);
                    let (oy_ok, ox_ok) = ph.block_runs(i, j, grid.len(), |at, o, len| {
                        run(&mut row[o..o + len], &grid[at..at + len], |d, v| *d = v);
                    });
                    // zeros where the window lies on the padding
                    let ow = g.cols.out;
                    if ox_ok.is_empty() || oy_ok.is_empty() {
                        row.fill(0.0);
                        continue;
                    }
                    row[..oy_ok.start * ow].fill(0.0);
                    row[oy_ok.end * ow..].fill(0.0);
                    if ox_ok.len() < ow {
                        for out in row[oy_ok.start * ow..oy_ok.end * ow].chunks_exact_mut(ow) {
                            out[..ox_ok.start].fill(0.0);
                            out[ox_ok.end..].fill(0.0);
                        }
                    }
                }
            }
        }
    });
}

/// The adjoint of [`im2col`]: `x[n, c, y, x] = init[c] + Σ` of every column entry that im2col would
/// have read from that pixel (`init` zero when `None`). One task reads the `kh·kw` rows of one
/// channel for a block of images, image after image, as a few sequential streams (a task per
/// image would read a short piece of every one of the K rows, far apart in a matrix much larger
/// than the caches), and writes that channel's planes of those images in the NCHW output. Each
/// plane is summed by one task, every pixel's terms in kernel-tap order (taps add contiguous runs
/// into the plane's stride-phase sub-grids, interleaved into the plane at the end), so the result
/// does not depend on the thread count.
pub fn col2im(g: &ConvGeom, n: usize, cols: &[f32], init: Option<&[f32]>, x: &mut [f32]) {
    let img = g.img;
    let s = g.positions();
    let p = n * s;
    assert!(
        x.len() == n * img.len() && cols.len() == g.k() * p,
        "col2im buffers"
    );
    if x.is_empty() {
        return;
    }
    let ph = Phases::new(g);
    let (kh, kw) = (g.rows.k, g.cols.k);
    let lay = SegLayout {
        channels: img.c,
        c_stride: img.plane(),
        taps: 1,
        t_stride: 0,
        n,
        b_stride: img.len(),
        len: img.plane(),
    };
    par::segments(x, lay, |c, planes| {
        let guarded = ph.guarded();
        let sub_len = match (ph.direct(), guarded) {
            (true, _) => 0,
            (false, Some(len)) => len,
            (false, None) => ph.len(),
        };
        let mut sub = vec![0.0; sub_len];
        let ow = g.cols.out;
        let rows = &cols[c * kh * kw * p..][..kh * kw * p];
        for b in planes.images() {
            let plane = planes.get(0, b);
            let acc = if ph.direct() {
                &mut plane[..]
            } else {
                &mut sub[..]
            };
            acc.fill(init.map_or(0.0, |v| v[c]));
            for i in 0..kh {
                for j in 0..kw {
                    let src = &rows[(i * kw + j) * p + b * s..][..s];
                    if guarded.is_some() {
                        ph.guarded_rows(i, j, |at, o| {
                            run(&mut acc[at..at + ow], &src[o..o + ow], |d, v| *d += v);
                        });
                    } else {
                        ph.runs(i, j, |at, o, len| {
                            run(&mut acc[at..at + len], &src[o..o + len], |d, v| *d += v);
                        });
                    }
                }
            }
            if !ph.direct() {
                ph.merge(&mut sub, plane, usize::from(guarded.is_some()));
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
    par::chunks(dst, plane, |q, out| {
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
    par::chunks(db, 1, |c, o| {
        o[0] = d[c * len..(c + 1) * len]
            .iter()
            .map(|&v| v as f64)
            .sum::<f64>() as f32;
    });
}
