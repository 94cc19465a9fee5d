//! How the kernels split work: whole chunks (image planes, examples, matrix rows, channels), each
//! computed by one task with the same arithmetic whatever the thread count.
//!
//! With a pool of one thread the work runs inline on the calling thread: handing each call to a
//! single pool worker and waiting for it would only add a thread wake-up per kernel call, which a
//! busy machine can delay.

use rayon::prelude::*;

fn serial() -> bool {
    rayon::current_num_threads() <= 1
}

/// `f(i, chunk)` for every `size`-long chunk of `buf` (the last may be shorter).
pub fn chunks<T: Send>(buf: &mut [T], size: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    if buf.is_empty() {
        return;
    }
    if serial() {
        buf.chunks_mut(size).enumerate().for_each(|(i, c)| f(i, c));
    } else {
        buf.par_chunks_mut(size)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    }
}

/// `f(i, a_chunk, b_chunk)` over two buffers split into the same number of chunks.
pub fn chunks2<A: Send, B: Send>(
    a: &mut [A],
    sa: usize,
    b: &mut [B],
    sb: usize,
    f: impl Fn(usize, &mut [A], &mut [B]) + Sync + Send,
) {
    if a.is_empty() {
        return;
    }
    if serial() {
        a.chunks_mut(sa)
            .zip(b.chunks_mut(sb))
            .enumerate()
            .for_each(|(i, (x, y))| f(i, x, y));
    } else {
        a.par_chunks_mut(sa)
            .zip(b.par_chunks_mut(sb))
            .enumerate()
            .for_each(|(i, (x, y))| f(i, x, y));
    }
}

/// `[f(0), …, f(n − 1)]`.
pub fn map<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    if serial() {
        (0..n).map(f).collect()
    } else {
        (0..n).into_par_iter().map(f).collect()
    }
}
