//! Parameter-free image resampling layers on [`crate::engine::ops`]'s kernels: `upsample(scale)`
//! (nearest), `avg_pool(k)` (non-overlapping k×k), `max_pool(k, stride)` (windows that must tile
//! the image, or with `ceil` pylearn2's clipped last windows; ties go to the first maximum, as in
//! PyTorch) and `channel_maxout(pieces)` (the max
//! over groups of `pieces` consecutive channels, pylearn2's maxout after a convolution). Fast
//! path only, like the convolutions.

use rand_chacha::ChaCha8Rng;

use super::{
    image_input, no_reference, BackwardPass, FastLayer, ForwardPass, Layer, LayerKind, Masks,
    Shape, MAX_SIDE,
};
use crate::engine::ops::{AvgPool, ChannelMaxout, Image, MaxPool, PoolRounding, Upsample};
use crate::engine::{Dev, Mat, Tp};

/// The spec of one of the four kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    Upsample { scale: usize },
    AvgPool { k: usize },
    MaxPool { k: usize, stride: usize, ceil: bool },
    ChannelMaxout { pieces: usize },
}

/// The built layer: the kernel with its shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pool {
    Upsample(Upsample),
    AvgPool(AvgPool),
    MaxPool(MaxPool),
    ChannelMaxout(ChannelMaxout),
}

impl PoolKind {
    fn op(&self, input: Shape) -> Result<Pool, String> {
        let size = match *self {
            PoolKind::Upsample { scale } => scale,
            PoolKind::AvgPool { k } => k,
            PoolKind::MaxPool { k, stride, .. } => k.max(stride),
            PoolKind::ChannelMaxout { pieces } => pieces,
        };
        if size > MAX_SIDE {
            return Err(format!("{}: sizes must be at most {MAX_SIDE}", self.name()));
        }
        let img = image_input(&self.name(), input)?;
        let pool = match *self {
            PoolKind::Upsample { scale } => Upsample::try_new(img, scale).map(Pool::Upsample),
            PoolKind::AvgPool { k } => AvgPool::try_new(img, k).map(Pool::AvgPool),
            PoolKind::MaxPool { k, stride, ceil } => {
                let rounding = if ceil {
                    PoolRounding::Ceil
                } else {
                    PoolRounding::Exact
                };
                MaxPool::try_new(img, k, stride, rounding).map(Pool::MaxPool)
            }
            PoolKind::ChannelMaxout { pieces } => {
                ChannelMaxout::try_new(img, pieces).map(Pool::ChannelMaxout)
            }
        };
        pool.map_err(|e| e.message)
    }
}

impl LayerKind for PoolKind {
    fn name(&self) -> String {
        match self {
            PoolKind::Upsample { scale } => format!("upsample({scale})"),
            PoolKind::AvgPool { k } => format!("avg_pool({k})"),
            PoolKind::MaxPool {
                k,
                stride,
                ceil: false,
            } => format!("max_pool({k}, {stride})"),
            PoolKind::MaxPool { k, stride, .. } => format!("max_pool({k}, {stride}, ceil)"),
            PoolKind::ChannelMaxout { pieces } => format!("channel_maxout({pieces})"),
        }
    }
    fn output_shape(&self, input: Shape) -> Result<Shape, String> {
        let o = self.op(input)?.output();
        let shape = Shape::Image {
            c: o.c,
            h: o.h,
            w: o.w,
        };
        shape
            .len()
            .map(|_| shape)
            .ok_or_else(|| format!("output {shape} has more values than fit in memory"))
    }
    fn has_reference(&self) -> bool {
        false
    }
    fn build(&self, input: Shape, _: f64, _: &Dev, _: &mut ChaCha8Rng) -> Box<dyn Layer> {
        Box::new(self.op(input).expect("checked"))
    }
}

impl Pool {
    fn output(&self) -> Image {
        match self {
            Pool::Upsample(p) => p.output(),
            Pool::AvgPool(p) => p.output(),
            Pool::MaxPool(p) => p.output(),
            Pool::ChannelMaxout(p) => p.output(),
        }
    }

    fn forward(&self, n: usize, x: &[f32], y: &mut [f32]) {
        match self {
            Pool::Upsample(p) => p.forward(n, x, y),
            Pool::AvgPool(p) => p.forward(n, x, y),
            Pool::MaxPool(p) => p.forward(n, x, y, &mut vec![0; y.len()]),
            Pool::ChannelMaxout(p) => p.forward(n, x, y),
        }
    }

    /// `dx` from `dy` for `n` rows of input `x` (max pooling finds its argmax again).
    fn backward(&self, n: usize, x: &[f32], dy: &[f32], dx: &mut [f32]) {
        match self {
            Pool::Upsample(p) => p.backward(n, dy, dx),
            Pool::AvgPool(p) => p.backward(n, dy, dx),
            Pool::MaxPool(p) => {
                let mut argmax = vec![0; dy.len()];
                p.forward(n, x, &mut vec![0.0; dy.len()], &mut argmax);
                p.backward(n, dy, &argmax, dx);
            }
            Pool::ChannelMaxout(p) => p.backward(n, x, dy, dx),
        }
    }
}

impl Layer for Pool {
    fn forward(&self, _: Mat, _: &mut Masks) -> Mat {
        no_reference("pooling")
    }
    fn forward_traced(&self, _: Mat<Tp>, _: &mut Masks) -> Mat<Tp> {
        no_reference("pooling")
    }
    fn mirror(&self) -> Box<dyn FastLayer> {
        Box::new(*self)
    }
}

impl FastLayer for Pool {
    fn forward(&self, f: ForwardPass<'_>) {
        Pool::forward(self, f.rows, f.x, f.y);
    }

    fn backward(&mut self, b: BackwardPass<'_, '_>) {
        let (win, wout) = (b.win, b.wout);
        for s in b.segs.iter().filter(|s| s.delta >= b.lo_in) {
            Pool::backward(
                self,
                s.rows,
                &b.x[s.tape * win..(s.tape + s.rows) * win],
                &b.cur[s.delta * wout..(s.delta + s.rows) * wout],
                &mut b.nxt[s.delta * win..(s.delta + s.rows) * win],
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::layers::fd::check_gradients;
    use crate::engine::spec::LayerSpec;

    fn img(c: usize, h: usize, w: usize) -> Shape {
        Shape::Image { c, h, w }
    }

    #[test]
    fn backward_matches_finite_differences() {
        for (spec, input) in [
            (LayerSpec::Upsample { scale: 2 }, img(2, 3, 2)),
            (LayerSpec::AvgPool { k: 2 }, img(2, 4, 6)),
            (
                LayerSpec::MaxPool {
                    k: 3,
                    stride: 2,
                    ceil: false,
                },
                img(2, 5, 7),
            ),
            // pylearn2's rounding: ⌈(6 − 4) / 3⌉ + 1 = 2 rows, the last window clipped to 2 × 4
            (
                LayerSpec::MaxPool {
                    k: 4,
                    stride: 3,
                    ceil: true,
                },
                img(2, 6, 5),
            ),
            (LayerSpec::ChannelMaxout { pieces: 3 }, img(6, 2, 3)),
        ] {
            check_gradients(&spec, input, &[2, 1], 1e-3, 5e-3, 200);
        }
    }

    #[test]
    fn shapes_and_misfits() {
        let k = |p: PoolKind, s| p.output_shape(s);
        assert_eq!(
            k(PoolKind::Upsample { scale: 2 }, img(3, 7, 5)),
            Ok(img(3, 14, 10))
        );
        assert_eq!(
            k(
                PoolKind::MaxPool {
                    k: 3,
                    stride: 2,
                    ceil: false
                },
                img(3, 7, 5)
            ),
            Ok(img(3, 3, 2))
        );
        assert_eq!(
            k(PoolKind::ChannelMaxout { pieces: 2 }, img(6, 7, 5)),
            Ok(img(3, 7, 5))
        );
        let e = k(PoolKind::AvgPool { k: 2 }, img(3, 7, 5)).unwrap_err();
        assert!(
            e.contains("avg_pool 2x2 does not tile input [3, 7, 5]"),
            "{e}"
        );
        let max = |k, stride, ceil| PoolKind::MaxPool { k, stride, ceil };
        let e = max(2, 2, false).output_shape(img(3, 7, 5)).unwrap_err();
        assert!(e.contains("does not tile input [3, 7, 5]"), "{e}");
        // with ceil: ⌈(7 − 2) / 2⌉ + 1 = 4 rows, ⌈(5 − 2) / 2⌉ + 1 = 3 columns; the paper's D
        // pools its 33×33 detector maps 4/2 to ⌈29 / 2⌉ + 1 = 16
        assert_eq!(max(2, 2, true).output_shape(img(3, 7, 5)), Ok(img(3, 4, 3)));
        assert_eq!(
            max(4, 2, true).output_shape(img(64, 33, 33)),
            Ok(img(64, 16, 16))
        );
        let e = k(PoolKind::ChannelMaxout { pieces: 4 }, img(6, 2, 2)).unwrap_err();
        assert!(e.contains("the 6 channels are not a multiple of 4"), "{e}");
        let e = k(PoolKind::Upsample { scale: 2 }, Shape::Flat(9)).unwrap_err();
        assert!(e.contains("needs an image input"), "{e}");
    }
}
