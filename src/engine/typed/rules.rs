//! The output-size rules of the image layers as `const fn`s, so a typed layer's const assertion
//! can apply them at compile time. They restate [`crate::engine::ops`]'s runtime rules (which
//! build error messages and so cannot be `const`); the tests below hold the two to the same
//! answers over every small size. `None`: the layer does not fit (the runtime's error).

/// A convolution's output side: `(size + 2·pad − k) / stride + 1`, when the windows tile the
/// padded input exactly.
pub const fn conv_side(size: usize, k: usize, stride: usize, pad: usize) -> Option<usize> {
    if size == 0 || k == 0 || stride == 0 {
        return None;
    }
    let Some(padded) = size.checked_add(2 * pad) else {
        return None;
    };
    if padded < k || !(padded - k).is_multiple_of(stride) {
        return None;
    }
    Some((padded - k) / stride + 1)
}

/// A transposed convolution's output side: `(size − 1)·stride − 2·pad + k + out_pad`, with
/// `out_pad < stride` and something left after the padding.
pub const fn transpose_side(
    size: usize,
    k: usize,
    stride: usize,
    pad: usize,
    out_pad: usize,
) -> Option<usize> {
    if size == 0 || k == 0 || stride == 0 || out_pad >= stride {
        return None;
    }
    let Some(spread) = (size - 1).checked_mul(stride) else {
        return None;
    };
    let Some(full) = spread.checked_add(k + out_pad) else {
        return None;
    };
    if full <= 2 * pad {
        return None;
    }
    Some(full - 2 * pad)
}

/// Max pooling's output side: windows of `k`, `stride` apart (1 ≤ stride ≤ k), tiling exactly.
pub const fn max_pool_side(size: usize, k: usize, stride: usize) -> Option<usize> {
    if size == 0
        || k == 0
        || stride == 0
        || stride > k
        || k > size
        || !(size - k).is_multiple_of(stride)
    {
        return None;
    }
    Some((size - k) / stride + 1)
}

/// Average pooling's output side: non-overlapping windows of `k` that tile the side.
pub const fn avg_pool_side(size: usize, k: usize) -> Option<usize> {
    if size == 0 || k == 0 || !size.is_multiple_of(k) {
        return None;
    }
    Some(size / k)
}

/// Nearest upsampling's output side.
pub const fn upsample_side(size: usize, scale: usize) -> Option<usize> {
    if size == 0 || scale == 0 {
        return None;
    }
    size.checked_mul(scale)
}

/// Channel maxout's output channels: groups of `pieces` consecutive channels.
pub const fn maxout_channels(channels: usize, pieces: usize) -> Option<usize> {
    if channels == 0 || pieces == 0 || !channels.is_multiple_of(pieces) {
        return None;
    }
    Some(channels / pieces)
}

/// Whether `rule` gave exactly `named` (a const fn cannot compare `Option`s with `==`).
pub const fn gives(rule: Option<usize>, named: usize) -> bool {
    matches!(rule, Some(n) if n == named)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::layers::Shape;
    use crate::engine::spec::{ConvSpec, LayerSpec};

    /// The runtime's answer for `layer` on a `c × h × w` input, as (c, h, w) or None.
    fn runtime(layer: LayerSpec, c: usize, h: usize, w: usize) -> Option<(usize, usize, usize)> {
        match layer.kind().output_shape(Shape::Image { c, h, w }) {
            Ok(Shape::Image { c, h, w }) => Some((c, h, w)),
            Ok(flat) => panic!("{layer:?} gave flat {flat}"),
            Err(_) => None,
        }
    }

    fn both(rule: impl Fn(usize) -> Option<usize>, h: usize, w: usize) -> Option<(usize, usize)> {
        Some((rule(h)?, rule(w)?))
    }

    #[test]
    fn conv_rules_agree_with_the_runtime_on_every_small_size() {
        let mut fits = 0;
        for (h, w) in [
            (1, 1),
            (2, 3),
            (5, 5),
            (7, 9),
            (8, 8),
            (14, 14),
            (28, 28),
            (32, 31),
        ] {
            for k in 0..=6 {
                for s in 0..=4 {
                    for p in 0..=3 {
                        let spec = |op| ConvSpec {
                            out_channels: 3,
                            kernel: k,
                            stride: s,
                            padding: p,
                            output_padding: op,
                            bias: true,
                            irange: None,
                            untied_bias: false,
                        };
                        let typed = both(|n| conv_side(n, k, s, p), h, w).map(|(a, b)| (3, a, b));
                        assert_eq!(
                            typed,
                            runtime(LayerSpec::Conv(spec(0)), 2, h, w),
                            "conv {h}x{w} k{k} s{s} p{p}"
                        );
                        fits += typed.is_some() as usize;
                        for op in 0..=3 {
                            let typed = both(|n| transpose_side(n, k, s, p, op), h, w)
                                .map(|(a, b)| (3, a, b));
                            let rt = runtime(LayerSpec::ConvTranspose(spec(op)), 2, h, w);
                            assert_eq!(typed, rt, "conv_transpose {h}x{w} k{k} s{s} p{p} op{op}");
                            fits += typed.is_some() as usize;
                        }
                    }
                }
            }
        }
        // both fitting and misfitting cases were compared
        assert!(fits > 1000, "{fits}");
    }

    #[test]
    fn pool_rules_agree_with_the_runtime_on_every_small_size() {
        for (h, w) in [(1, 1), (2, 3), (4, 4), (6, 9), (8, 8), (12, 10)] {
            for k in 0..=5 {
                for s in 0..=5 {
                    let typed = both(|n| max_pool_side(n, k, s), h, w).map(|(a, b)| (4, a, b));
                    let rt = runtime(
                        LayerSpec::MaxPool {
                            k,
                            stride: s,
                            ceil: false,
                        },
                        4,
                        h,
                        w,
                    );
                    assert_eq!(typed, rt, "max_pool {h}x{w} k{k} s{s}");
                }
                let typed = both(|n| avg_pool_side(n, k), h, w).map(|(a, b)| (4, a, b));
                assert_eq!(
                    typed,
                    runtime(LayerSpec::AvgPool { k }, 4, h, w),
                    "avg_pool {h}x{w} k{k}"
                );
                let typed = both(|n| upsample_side(n, k), h, w).map(|(a, b)| (4, a, b));
                assert_eq!(
                    typed,
                    runtime(LayerSpec::Upsample { scale: k }, 4, h, w),
                    "upsample {h}x{w} x{k}"
                );
            }
        }
        for c in 1..=12 {
            for pieces in 0..=7 {
                let typed = maxout_channels(c, pieces).map(|o| (o, 3, 5));
                let rt = runtime(LayerSpec::ChannelMaxout { pieces }, c, 3, 5);
                assert_eq!(typed, rt, "channel_maxout {c} channels, {pieces} pieces");
            }
        }
    }
}
