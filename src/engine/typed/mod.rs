//! Compile-time-shaped networks.
//!
//! A layer's input and output are types: flat features `C<N>` (dfdx's `Const<N>`) or images
//! [`Img<C, H, W>`]. A stack is a tuple whose layers must agree: each layer's input type is the
//! previous layer's output type, so a mismatch is a compile error. A typed stack lowers to the
//! same runtime [`StackSpec`] the script layer builds, so one training step serves both.
//!
//! Stable Rust cannot compute a type from arithmetic on const generics (`H / S` needs the
//! unstable `generic_const_exprs`), so a layer that changes an image's size names its output
//! shape in its type (`Conv<Img<64, 14, 14>, 4, 2, 1>`) and an associated const asserts that the
//! shape is what the kernel, stride and padding give — the same rules the runtime checks
//! ([`rules`]). The assertion is evaluated when the stack is used (`TypedGan::try_new`,
//! [`stack_spec`]), so a misfit fails `cargo build`; like every post-monomorphization error it
//! may pass `cargo check`.
//!
//! ```
//! use gan::engine::typed::*;
//! use gan::engine::{GanLoss, Noise, UpdateScheme};
//! // The paper's MNIST generator and discriminator, sizes checked by the compiler.
//! type PaperG = (Dense<1200>, Relu, Dense<1200>, Relu, Dense<784>, Sigmoid);
//! type PaperD = (Dropout, Maxout<240, 5>, Dropout, Maxout<240, 5>, Dropout, Dense<1>);
//! let g: PaperG = (Dense::new(), Relu, Dense::new(), Relu, Dense::new(), Sigmoid);
//! let d: PaperD = (Dropout(0.8), Maxout::new(), Dropout(0.5), Maxout::new(), Dropout(0.5), Dense::new());
//! let gan = TypedGan::<C<100>, C<784>>::try_new(g, d, GanLoss::NonSaturating, UpdateScheme::Simultaneous, NoiseKind::PaperUniform, 0).unwrap();
//! assert_eq!(gan.gan.g.param_count(), 101 * 1200 + 1201 * 1200 + 1201 * 784);
//! ```
//!
//! A discriminator whose input does not match the generator's output does not compile:
//! ```compile_fail
//! use gan::engine::typed::*;
//! use gan::engine::{GanLoss, UpdateScheme};
//! let g = (Dense::<1200>::new(), Relu, Dense::<784>::new(), Sigmoid);
//! let d = (Maxout::<240, 5>::new(), Dense::<1>::new());
//! // D is declared on 28×28 = 784 inputs, G is declared for 100-d noise … but D is asked to read 783.
//! let _ = TypedGan::<C<100>, C<783>>::try_new(g, d, GanLoss::NonSaturating, UpdateScheme::Simultaneous, NoiseKind::PaperUniform, 0);
//! ```
//!
//! Image stacks: see [`image`] for the layers and the compile errors a misfit gives.

mod dense;
mod gan;
pub mod image;
pub mod rules;
#[cfg(test)]
mod tests;

use dfdx::shapes::{ConstDim, Dim};

pub use self::dense::{Dense, Dropout, LeakyRelu, Maxout, Relu, Sigmoid, Tanh};
pub use self::gan::{NoiseKind, TypedGan};
pub use self::image::{
    AvgPool, BatchNorm, ChannelMaxout, Conv, ConvTranspose, Flatten, MaxPool, Reshape, Upsample,
};
use super::layers::{Shape, MAX_SIDE};
use super::spec::{LayerSpec, StackSpec};
pub use dfdx::shapes::Const;

/// Short name for a compile-time number of flat features.
pub type C<const N: usize> = Const<N>;

/// An image of `CH` channels of `H × W` pixels, as a compile-time dimension of `CH·H·W` values
/// (so `Tensor<(usize, Img<1, 28, 28>), …>` is a batch of MNIST-sized rows).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Img<const CH: usize, const H: usize, const W: usize>;

impl<const CH: usize, const H: usize, const W: usize> Dim for Img<CH, H, W> {
    fn size(&self) -> usize {
        <Self as ConstDim>::SIZE
    }
    fn from_size(size: usize) -> Option<Self> {
        (size == <Self as ConstDim>::SIZE).then_some(Img)
    }
}

impl<const CH: usize, const H: usize, const W: usize> ConstDim for Img<CH, H, W> {
    const SIZE: usize = CH * H * W;
}

/// What one row of a typed layer's input or output is: flat features or an image.
pub trait TypedShape: ConstDim {
    /// The runtime shape this type stands for.
    const SHAPE: Shape;
    /// Asserts the shape can exist (no empty axis, sides the runtime accepts).
    const VALID: ();
}

impl<const N: usize> TypedShape for Const<N> {
    const SHAPE: Shape = Shape::Flat(N);
    const VALID: () = assert!(N >= 1, "a flat shape C<N> needs N ≥ 1 features");
}

impl<const CH: usize, const H: usize, const W: usize> TypedShape for Img<CH, H, W> {
    const SHAPE: Shape = Shape::Image { c: CH, h: H, w: W };
    const VALID: () = assert!(
        CH >= 1 && H >= 1 && W >= 1 && CH <= MAX_SIDE && H <= MAX_SIDE && W <= MAX_SIDE,
        "an image shape Img<C, H, W> needs every size in 1..=MAX_SIDE"
    );
}

/// A layer's runtime description, whatever its input: what a typed stack lowers to.
pub trait LayerSpecs {
    /// Appends this layer's (or these layers') runtime description.
    fn specs(&self, out: &mut Vec<LayerSpec>);
}

/// A layer (or a tuple of layers) that maps inputs of shape `I` to `Self::Out`.
pub trait TypedLayer<I: TypedShape>: LayerSpecs {
    type Out: TypedShape;
    /// Asserts that the layer fits its input (and that the output it names is the one it
    /// gives); evaluated at compile time wherever the stack is used.
    const CHECK: ();
}

/// Layers that keep their input's shape, flat or image.
macro_rules! shape_preserving {
    ($($name:ty => |$s:ident| $spec:expr;)*) => {$(
        impl LayerSpecs for $name {
            fn specs(&self, out: &mut Vec<LayerSpec>) {
                let $s = self;
                out.push($spec);
            }
        }
        impl<I: TypedShape> TypedLayer<I> for $name {
            type Out = I;
            const CHECK: () = ();
        }
    )*};
}
pub(crate) use shape_preserving;

// Tuples of layers: the first layer takes the input, the rest (a shorter tuple) takes its
// output, so each layer's input type is the previous layer's output type.
macro_rules! tuple_stack {
    ($A:ident) => {
        impl<$A: LayerSpecs> LayerSpecs for ($A,) {
            fn specs(&self, out: &mut Vec<LayerSpec>) {
                self.0.specs(out);
            }
        }
        impl<In: TypedShape, $A: TypedLayer<In>> TypedLayer<In> for ($A,) {
            type Out = <$A as TypedLayer<In>>::Out;
            const CHECK: () = <$A as TypedLayer<In>>::CHECK;
        }
    };
    ($A:ident, $($T:ident),+) => {
        impl<$A: LayerSpecs, $($T: LayerSpecs),+> LayerSpecs for ($A, $($T,)+) {
            #[allow(non_snake_case)]
            fn specs(&self, out: &mut Vec<LayerSpec>) {
                let ($A, $($T,)+) = self;
                $A.specs(out);
                $( $T.specs(out); )+
            }
        }
        impl<In: TypedShape, $A: TypedLayer<In>, $($T: LayerSpecs),+> TypedLayer<In> for ($A, $($T,)+)
        where
            ($($T,)+): TypedLayer<<$A as TypedLayer<In>>::Out>,
        {
            type Out = <($($T,)+) as TypedLayer<<$A as TypedLayer<In>>::Out>>::Out;
            const CHECK: () = {
                let () = <$A as TypedLayer<In>>::CHECK;
                let () = <<$A as TypedLayer<In>>::Out as TypedShape>::VALID;
                <($($T,)+) as TypedLayer<<$A as TypedLayer<In>>::Out>>::CHECK
            };
        }
        tuple_stack!($($T),+);
    };
}
tuple_stack!(L1, L2, L3, L4, L5, L6, L7, L8, L9, L10, L11, L12, L13, L14, L15, L16);

/// The runtime description of a typed stack on inputs of shape `I`: an image input starts with
/// the `reshape` that the script's `stack([c, h, w])` starts with, so both lower alike.
pub fn stack_spec<I: TypedShape, L: TypedLayer<I>>(layers: &L) -> StackSpec {
    let () = I::VALID;
    let () = L::CHECK;
    let () = <L::Out as TypedShape>::VALID;
    let mut specs = Vec::new();
    if let Shape::Image { c, h, w } = I::SHAPE {
        specs.push(LayerSpec::Reshape { c, h, w });
    }
    layers.specs(&mut specs);
    StackSpec {
        input: I::SIZE,
        layers: specs,
    }
}
