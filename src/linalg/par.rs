//! How element-wise work is split over rayon's threads: by rows, or by chunks of a flat buffer
//! (`par_chunks_mut`). Each output element is computed by exactly one thread with the same
//! arithmetic as serially, so results never depend on the thread count.

use rayon::prelude::*;

/// Below this many elements a kernel runs on the calling thread (splitting costs more).
pub const PAR_MIN: usize = 1 << 16;

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

/// Elements per parallel chunk of a flat buffer of `len` elements, or `None` when the work is too
/// small to split (or there is one thread): then it runs as one chunk on the calling thread.
pub fn flat_chunk(len: usize) -> Option<usize> {
    let t = threads();
    if t <= 1 || len < PAR_MIN {
        return None;
    }
    // A few chunks per thread so that a thread slowed by another process does not hold up the rest.
    Some(len.div_ceil(4 * t).next_multiple_of(16))
}

/// Runs `f(first_index, chunk)` over `out` in [`flat_chunk`]-sized chunks, in parallel when it pays.
pub fn par_flat(out: &mut [f32], f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    match flat_chunk(out.len()) {
        None => f(0, out),
        Some(per) => out
            .par_chunks_mut(per)
            .enumerate()
            .for_each(|(i, c)| f(i * per, c)),
    }
}

/// `y[i] = f(x[i])`, split as [`par_flat`].
pub fn map_into(y: &mut [f32], x: &[f32], f: impl Fn(f32) -> f32 + Sync + Send) {
    debug_assert_eq!(y.len(), x.len());
    par_flat(y, |at, out| {
        let n = out.len();
        for (o, &v) in out.iter_mut().zip(&x[at..at + n]) {
            *o = f(v);
        }
    });
}

/// `y[i] = f(a[i], b[i])`, split as [`par_flat`].
pub fn zip_into(y: &mut [f32], a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync + Send) {
    debug_assert!(y.len() == a.len() && y.len() == b.len());
    par_flat(y, |at, out| {
        let r = at..at + out.len();
        for ((o, &u), &v) in out.iter_mut().zip(&a[r.clone()]).zip(&b[r]) {
            *o = f(u, v);
        }
    });
}

/// Runs `f(first_index, a_chunk, b_chunk)` over two buffers of one length in the same chunks.
pub fn par_flat2(
    a: &mut [f32],
    b: &mut [f32],
    f: impl Fn(usize, &mut [f32], &mut [f32]) + Sync + Send,
) {
    assert_eq!(a.len(), b.len());
    match flat_chunk(a.len()) {
        None => f(0, a, b),
        Some(per) => a
            .par_chunks_mut(per)
            .zip(b.par_chunks_mut(per))
            .enumerate()
            .for_each(|(i, (ca, cb))| f(i * per, ca, cb)),
    }
}

/// Runs `f(first_index, a_chunk, b_chunk, c_chunk)` over three buffers of one length.
pub fn par_flat3(
    a: &mut [f32],
    b: &mut [f32],
    c: &mut [f32],
    f: impl Fn(usize, &mut [f32], &mut [f32], &mut [f32]) + Sync + Send,
) {
    assert!(a.len() == b.len() && a.len() == c.len());
    match flat_chunk(a.len()) {
        None => f(0, a, b, c),
        Some(per) => a
            .par_chunks_mut(per)
            .zip(b.par_chunks_mut(per))
            .zip(c.par_chunks_mut(per))
            .enumerate()
            .for_each(|(i, ((ca, cb), cc))| f(i * per, ca, cb, cc)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every element is visited once, with its own index, whatever the split.
    #[test]
    fn flat_chunks_cover_each_index_once() {
        for len in [0, 1, 17, PAR_MIN - 1, PAR_MIN, 3 * PAR_MIN + 5] {
            let mut v = vec![-1.0f32; len];
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(3)
                .build()
                .unwrap();
            pool.install(|| {
                par_flat(&mut v, |at, c| {
                    for (i, x) in c.iter_mut().enumerate() {
                        assert_eq!(*x, -1.0, "visited twice");
                        *x = (at + i) as f32;
                    }
                })
            });
            assert!(
                v.iter().enumerate().all(|(i, &x)| x == i as f32),
                "len {len}"
            );
        }
    }
}
