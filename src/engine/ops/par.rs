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

/// The `n` planes of one channel in an `[n × channels × plane]` (NCHW) buffer: one task's share
/// when the work is split by channel, whose planes are not contiguous.
pub struct ChannelPlanes<'a> {
    ptr: *mut f32,
    n: usize,
    stride: usize,
    plane: usize,
    _buf: std::marker::PhantomData<&'a mut [f32]>,
}

impl ChannelPlanes<'_> {
    /// Image `b`'s plane of this channel.
    pub fn get(&mut self, b: usize) -> &mut [f32] {
        assert!(b < self.n, "plane {b} of {}", self.n);
        // SAFETY: `channel_planes` made `ptr` point at this channel's first plane inside a buffer
        // of `n · stride` values it borrows mutably for `'a`; plane `b` lies inside it, no other
        // task's channel overlaps it, and `&mut self` allows one plane slice at a time.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(b * self.stride), self.plane) }
    }
}

/// A pointer handed to the tasks of [`channel_planes`], each of which writes only its own
/// channel's planes.
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: see `ChannelPlanes::get`: the tasks write disjoint planes, and `channel_planes` waits
// for all of them before its borrow of the buffer ends.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

/// `f(c, planes)` for every channel `c` of the NCHW buffer `buf` (`n` images of `channels` planes
/// of `plane` values), one task per channel, so that a kernel split by channel writes its
/// results straight into NCHW (no channel-major scratch and swap).
pub fn channel_planes(
    buf: &mut [f32],
    n: usize,
    channels: usize,
    plane: usize,
    f: impl Fn(usize, &mut ChannelPlanes<'_>) + Sync + Send,
) {
    assert_eq!(buf.len(), n * channels * plane, "channel_planes buffer");
    if buf.is_empty() {
        return;
    }
    let base = SendPtr(buf.as_mut_ptr());
    let task = |c: usize| {
        let base = base;
        let mut planes = ChannelPlanes {
            // SAFETY: c < channels, so the offset lies inside `buf`
            ptr: unsafe { base.0.add(c * plane) },
            n,
            stride: channels * plane,
            plane,
            _buf: std::marker::PhantomData,
        };
        f(c, &mut planes);
    };
    if serial() {
        (0..channels).for_each(task);
    } else {
        (0..channels).into_par_iter().for_each(task);
    }
}
