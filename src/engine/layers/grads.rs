//! Handing a layer's complete parameter gradients to a [`Sink`], for the layers whose backward
//! sums them segment by segment into their own buffers (the image layers) rather than writing
//! them straight into the sink's target as the affine layer's GEMM does.

use super::Sink;

/// Writes `gw` into the sink's weight target (overwriting it, or `target = α·target + gw` when the
/// sink asks for an accumulation: the fused momentum's `u ← μ'·u + g`), then reports the layer
/// done with its parameters `w`, `b` and bias gradient `gb`.
pub fn hand_over(
    sink: &mut dyn Sink,
    layer: usize,
    gw: &[f32],
    w: &mut [f32],
    b: &mut [f32],
    gb: &[f32],
) {
    let (target, alpha) = sink.weight_target(layer, gw.len());
    match alpha {
        None => target.copy_from_slice(gw),
        Some(a) => target
            .iter_mut()
            .zip(gw)
            .for_each(|(t, &g)| *t = a * *t + g),
    }
    sink.done(layer, w, b, gb);
}

/// `acc += g` (or `acc = g` for the first contribution).
pub fn add_into(acc: &mut Vec<f32>, g: &[f32], first: bool) {
    if first {
        acc.clear();
        acc.extend_from_slice(g);
    } else {
        acc.iter_mut().zip(g).for_each(|(a, &v)| *a += v);
    }
}
