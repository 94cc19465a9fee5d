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

/// Where the segments of a buffer split by channel and image lie: segment `(c, t, b)` (channel,
/// tap, image) is `len` values at `c·c_stride + t·t_stride + b·b_stride`.
#[derive(Clone, Copy, Debug)]
pub struct SegLayout {
    pub channels: usize,
    pub c_stride: usize,
    pub taps: usize,
    pub t_stride: usize,
    pub n: usize,
    pub b_stride: usize,
    pub len: usize,
}

impl SegLayout {
    /// The values the segments span, after checking that no two of them overlap: sorted by
    /// stride, each axis's stride must clear everything the axes inside it span.
    fn checked_extent(&self) -> usize {
        let mut axes = [
            (self.c_stride, self.channels),
            (self.t_stride, self.taps),
            (self.b_stride, self.n),
        ];
        axes.sort();
        let mut extent = self.len;
        for (stride, count) in axes {
            if count > 1 {
                assert!(stride >= extent, "overlapping segments: {self:?}");
                extent += (count - 1) * stride;
            }
        }
        extent
    }
}

/// One task's segments: its channel's, for its block of images.
pub struct Segments<'a> {
    ptr: *mut f32,
    lay: SegLayout,
    images: std::ops::Range<usize>,
    _buf: std::marker::PhantomData<&'a mut [f32]>,
}

impl Segments<'_> {
    /// The images whose segments this task owns.
    pub fn images(&self) -> std::ops::Range<usize> {
        self.images.clone()
    }

    /// Segment `(t, b)` of this task's channel.
    pub fn get(&mut self, t: usize, b: usize) -> &mut [f32] {
        assert!(
            t < self.lay.taps && self.images.contains(&b),
            "segment ({t}, {b})"
        );
        let at = t * self.lay.t_stride + b * self.lay.b_stride;
        // SAFETY: `segments` made `ptr` point at this task's channel inside a buffer it borrows
        // mutably for `'a` and checked to hold every segment of the layout without overlaps;
        // no other task owns this (channel, image), and `&mut self` allows one slice at a time.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(at), self.lay.len) }
    }
}

/// A pointer handed to the tasks of [`segments`], each of which writes only its own segments.
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: see `Segments::get`: the tasks write disjoint segments, and `segments` waits for all
// of them before its borrow of the buffer ends.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// The pointer `offset` values on (a method, so that a closure captures the whole `SendPtr`
    /// rather than its raw pointer field, which may not cross threads).
    ///
    /// # Safety
    /// As for `pointer::add`: the result must lie inside the same buffer.
    unsafe fn at(self, offset: usize) -> *mut f32 {
        self.0.add(offset)
    }
}

/// `f(c, segs)` for every channel `c` and block of images, one task each: a kernel split by
/// channel writes its segments where they belong (e.g. straight into NCHW), and a layer with
/// fewer channels than threads (3 colour planes) still gives every thread work. Each segment is
/// written by one task whatever the split, so results do not depend on the thread count.
pub fn segments(
    buf: &mut [f32],
    lay: SegLayout,
    f: impl Fn(usize, &mut Segments<'_>) + Sync + Send,
) {
    if lay.channels == 0 || lay.taps == 0 || lay.n == 0 || lay.len == 0 {
        return;
    }
    assert!(lay.checked_extent() <= buf.len(), "segments buffer");
    // about four tasks per thread, in whole images
    let blocks = if serial() {
        1
    } else {
        (4 * rayon::current_num_threads())
            .div_ceil(lay.channels)
            .clamp(1, lay.n)
    };
    let base = SendPtr(buf.as_mut_ptr());
    let task = |q: usize| {
        let (c, i) = (q / blocks, q % blocks);
        let mut segs = Segments {
            // SAFETY: c < channels, so the offset lies inside `buf` (checked above)
            ptr: unsafe { base.at(c * lay.c_stride) },
            lay,
            images: lay.n * i / blocks..lay.n * (i + 1) / blocks,
            _buf: std::marker::PhantomData,
        };
        f(c, &mut segs);
    };
    let tasks = lay.channels * blocks;
    if serial() {
        (0..tasks).for_each(task);
    } else {
        (0..tasks).into_par_iter().for_each(task);
    }
}
