//! Typed image layers. Each layer that changes an image's size names its output `Img<C, H, W>`
//! in its type, and its `CHECK` asserts that shape with the [`super::rules`] the runtime uses;
//! a misfit is a compile error wherever the stack is used. Layers that keep the channel count
//! (pooling, upsampling) check the channels named too; a convolution reads its input channels
//! from the previous layer's type, so those cannot disagree.
//!
//! A DCGAN discriminator on MNIST, every shape checked by the compiler:
//! ```
//! use gan::engine::typed::*;
//! type D = (
//!     Conv<Img<64, 14, 14>, 4, 2, 1>, LeakyRelu,
//!     Conv<Img<128, 7, 7>, 4, 2, 1>, BatchNorm, LeakyRelu,
//!     Flatten<{ 128 * 7 * 7 }>, Dense<1>,
//! );
//! let d: D = (Conv::new(), LeakyRelu(0.2), Conv::no_bias(), BatchNorm::new(), LeakyRelu(0.2), Flatten, Dense::new());
//! let spec = stack_spec::<Img<1, 28, 28>, D>(&d);
//! assert_eq!(spec.try_output().unwrap(), 1);
//! ```
//!
//! A kernel, stride and padding that do not tile the input (28 + 2 − 3 = 27 is odd) do not
//! compile, wherever the layer sits in the stack:
//! ```compile_fail
//! use gan::engine::typed::*;
//! let d = (Conv::<Img<64, 14, 14>, 3, 2, 1>::new(), LeakyRelu(0.2), Flatten::<{ 64 * 14 * 14 }>, Dense::<1>::new());
//! let _ = stack_spec::<Img<1, 28, 28>, _>(&d);
//! ```
//! Nor does an output shape the layer would not give (4×4, stride 2, padding 1 halves 28):
//! ```compile_fail
//! use gan::engine::typed::*;
//! let d = (Relu, Conv::<Img<64, 13, 13>, 4, 2, 1>::new());
//! let _ = stack_spec::<Img<1, 28, 28>, _>(&d);
//! ```
//! A reshape whose sizes differ (100 values are not 4·5·6):
//! ```compile_fail
//! use gan::engine::typed::*;
//! let g = (Dense::<100>::new(), Reshape::<4, 5, 6>, BatchNorm::new());
//! let _ = stack_spec::<C<10>, _>(&g);
//! ```
//! A channel count that the layer does not keep (max pooling keeps 64 channels, not 32), or
//! that channel maxout's pieces do not divide:
//! ```compile_fail
//! use gan::engine::typed::*;
//! let d = (Conv::<Img<64, 16, 16>, 3, 1, 1>::new(), MaxPool::<Img<32, 8, 8>, 2, 2>::new());
//! let _ = stack_spec::<Img<3, 16, 16>, _>(&d);
//! ```
//! ```compile_fail
//! use gan::engine::typed::*;
//! let d = (Conv::<Img<64, 16, 16>, 3, 1, 1>::new(), ChannelMaxout::<Img<12, 16, 16>, 5>::new());
//! let _ = stack_spec::<Img<3, 16, 16>, _>(&d);
//! ```

use std::marker::PhantomData;

use super::rules::{
    avg_pool_side, conv_side, gives, max_pool_side, maxout_channels, transpose_side, upsample_side,
};
use super::{shape_preserving, Const, Img, LayerSpecs, TypedLayer, TypedShape};
use crate::engine::spec::{ConvSpec, LayerSpec};

/// `conv(CO, K, #{stride: S, padding: P})` with output `O = Img<CO, HO, WO>`.
#[derive(Clone, Copy, Debug)]
pub struct Conv<O, const K: usize, const S: usize = 1, const P: usize = 0> {
    pub bias: bool,
    _out: PhantomData<O>,
}

/// `conv_transpose(CO, K, #{stride: S, padding: P, output_padding: OP})` with output `O`.
#[derive(Clone, Copy, Debug)]
pub struct ConvTranspose<
    O,
    const K: usize,
    const S: usize = 1,
    const P: usize = 0,
    const OP: usize = 0,
> {
    pub bias: bool,
    _out: PhantomData<O>,
}

macro_rules! conv_constructors {
    ($name:ident [$($k:ident),*]) => {
        impl<O, $(const $k: usize),*> $name<O, $($k),*> {
            /// With a bias per output channel.
            pub fn new() -> Self {
                $name { bias: true, _out: PhantomData }
            }
            /// Without bias (DCGAN's layers before a batch norm).
            pub fn no_bias() -> Self {
                $name { bias: false, _out: PhantomData }
            }
        }
        impl<O, $(const $k: usize),*> Default for $name<O, $($k),*> {
            fn default() -> Self {
                Self::new()
            }
        }
    };
}
conv_constructors!(Conv[K, S, P]);
conv_constructors!(ConvTranspose[K, S, P, OP]);

/// The `LayerSpecs` and `TypedLayer` impls of a layer on images whose type names its output
/// `Img<CO, HO, WO>`: `$spec` is its runtime spec (`$l` the layer, `$c` its output channels),
/// and each `$fits => $what` is asserted with the input's and output's sizes bound to
/// `$ci, $hi, $wi, $co, $ho, $wo`.
macro_rules! image_layer {
    ($name:ident [$($k:ident),*], |$l:ident, $c:ident| $spec:expr,
     |$ci:ident, $hi:ident, $wi:ident, $co:ident, $ho:ident, $wo:ident|
     $($fits:expr => $what:literal),+ $(,)?) => {
        impl<const CO: usize, const HO: usize, const WO: usize, $(const $k: usize),*> LayerSpecs
            for $name<Img<CO, HO, WO>, $($k),*>
        {
            fn specs(&self, out: &mut Vec<LayerSpec>) {
                let ($l, $c) = (self, CO);
                let _ = ($l, $c);
                out.push($spec);
            }
        }
        impl<
                const CI: usize,
                const HI: usize,
                const WI: usize,
                const CO: usize,
                const HO: usize,
                const WO: usize,
                $(const $k: usize),*
            > TypedLayer<Img<CI, HI, WI>> for $name<Img<CO, HO, WO>, $($k),*>
        {
            type Out = Img<CO, HO, WO>;
            const CHECK: () = {
                let ($ci, $hi, $wi, $co, $ho, $wo) = (CI, HI, WI, CO, HO, WO);
                $( assert!($fits, $what); )+
            };
        }
    };
}

image_layer! {
    Conv[K, S, P],
    |l, c| LayerSpec::Conv(ConvSpec {
        out_channels: c,
        kernel: K,
        stride: S,
        padding: P,
        output_padding: 0,
        bias: l.bias,
        irange: None,
        untied_bias: false,
    }),
    |_ci, hi, wi, _co, ho, wo|
    conv_side(hi, K, S, P).is_some() && conv_side(wi, K, S, P).is_some() =>
        "Conv: the kernel, stride and padding do not tile the input image \
         (side + 2·padding − kernel must be a non-negative multiple of the stride)",
    gives(conv_side(hi, K, S, P), ho) && gives(conv_side(wi, K, S, P), wo) =>
        "Conv: the output Img<C, H, W> named in the type is not the one the layer gives: \
         each side is (side + 2·padding − kernel) / stride + 1",
}

image_layer! {
    ConvTranspose[K, S, P, OP],
    |l, c| LayerSpec::ConvTranspose(ConvSpec {
        out_channels: c,
        kernel: K,
        stride: S,
        padding: P,
        output_padding: OP,
        bias: l.bias,
        irange: None,
        untied_bias: false,
    }),
    |_ci, hi, wi, _co, ho, wo|
    transpose_side(hi, K, S, P, OP).is_some() && transpose_side(wi, K, S, P, OP).is_some() =>
        "ConvTranspose: needs output padding < stride and a padding that leaves some output",
    gives(transpose_side(hi, K, S, P, OP), ho) && gives(transpose_side(wi, K, S, P, OP), wo) =>
        "ConvTranspose: the output Img<C, H, W> named in the type is not the one the layer \
         gives: each side is (side − 1)·stride − 2·padding + kernel + output padding",
}

/// `batch_norm(#{momentum, eps})`: per channel on images, per feature on flat rows.
#[derive(Clone, Copy, Debug)]
pub struct BatchNorm {
    pub momentum: f64,
    pub eps: f64,
}
impl BatchNorm {
    /// The script's defaults (PyTorch's): momentum 0.1, eps 1e-5.
    pub fn new() -> Self {
        BatchNorm {
            momentum: 0.1,
            eps: 1e-5,
        }
    }
}
impl Default for BatchNorm {
    fn default() -> Self {
        Self::new()
    }
}
shape_preserving! {
    BatchNorm => |b| LayerSpec::BatchNorm { momentum: b.momentum, eps: b.eps };
}

/// `reshape(CH, H, W)`: the row's values seen as an image; the sizes must hold as many values.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reshape<const CH: usize, const H: usize, const W: usize>;
impl<const CH: usize, const H: usize, const W: usize> LayerSpecs for Reshape<CH, H, W> {
    fn specs(&self, out: &mut Vec<LayerSpec>) {
        out.push(LayerSpec::Reshape { c: CH, h: H, w: W });
    }
}
impl<I: TypedShape, const CH: usize, const H: usize, const W: usize> TypedLayer<I>
    for Reshape<CH, H, W>
{
    type Out = Img<CH, H, W>;
    const CHECK: () = assert!(
        I::SIZE == CH * H * W,
        "Reshape<C, H, W>: the input does not hold C·H·W values"
    );
}

/// `flatten()`: an image's values as `N = C·H·W` flat features.
#[derive(Clone, Copy, Debug, Default)]
pub struct Flatten<const N: usize>;
impl<const N: usize> LayerSpecs for Flatten<N> {
    fn specs(&self, out: &mut Vec<LayerSpec>) {
        out.push(LayerSpec::Flatten);
    }
}
impl<const CH: usize, const H: usize, const W: usize, const N: usize> TypedLayer<Img<CH, H, W>>
    for Flatten<N>
{
    type Out = Const<N>;
    const CHECK: () = assert!(
        N == CH * H * W,
        "Flatten<N>: N is not the input's C·H·W values"
    );
}

/// The parameter-free resampling layers: each names its output `Img` and checks it.
macro_rules! resampling {
    ($(#[$doc:meta] $name:ident [$($k:ident),*] => $spec:expr, $what:literal,
       |$ci:ident, $hi:ident, $wi:ident, $co:ident, $ho:ident, $wo:ident| $fits:expr;)*) => {$(
        #[$doc]
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $name<O, $(const $k: usize),*>(PhantomData<O>);
        impl<O, $(const $k: usize),*> $name<O, $($k),*> {
            pub fn new() -> Self {
                $name(PhantomData)
            }
        }
        image_layer! {
            $name[$($k),*], |_l, _c| $spec,
            |$ci, $hi, $wi, $co, $ho, $wo| $fits => $what
        }
    )*};
}

resampling! {
    /// `upsample(SCALE)`: nearest-neighbour, `Img<C, H·SCALE, W·SCALE>`.
    Upsample[SCALE] => LayerSpec::Upsample { scale: SCALE },
        "Upsample: the output must keep the channels and multiply each side by the scale",
        |ci, hi, wi, co, ho, wo| ci == co
            && gives(upsample_side(hi, SCALE), ho) && gives(upsample_side(wi, SCALE), wo);
    /// `avg_pool(K)`: non-overlapping `K × K` windows that must tile the image.
    AvgPool[K] => LayerSpec::AvgPool { k: K },
        "AvgPool: the output must keep the channels, and K must divide each side into the sides named",
        |ci, hi, wi, co, ho, wo| ci == co
            && gives(avg_pool_side(hi, K), ho) && gives(avg_pool_side(wi, K), wo);
    /// `max_pool(K, S)`: `K × K` windows `S` apart (1 ≤ S ≤ K) that must tile the image (floor rounding; the DSL's `#{ceil: true}` has no typed form yet).
    MaxPool[K, S] => LayerSpec::MaxPool { k: K, stride: S, ceil: false },
        "MaxPool: the output must keep the channels, and the windows must tile each side into (side − K) / S + 1",
        |ci, hi, wi, co, ho, wo| ci == co
            && gives(max_pool_side(hi, K, S), ho) && gives(max_pool_side(wi, K, S), wo);
    /// `channel_maxout(PIECES)`: the max over groups of `PIECES` consecutive channels.
    ChannelMaxout[PIECES] => LayerSpec::ChannelMaxout { pieces: PIECES },
        "ChannelMaxout: the pieces must divide the input channels into the channels named, keeping height and width",
        |ci, hi, wi, co, ho, wo| gives(maxout_channels(ci, PIECES), co) && hi == ho && wi == wo;
}
