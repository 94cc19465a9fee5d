//! Compile-time-shaped networks.
//!
//! Layers here carry their sizes in dfdx dimension types (`Const<N>`), and a stack is a tuple
//! whose layers must agree: each layer's input type is the previous layer's output type, so a
//! mismatch is a compile error. A typed stack lowers to the same runtime [`Network`] the script
//! layer builds, so one training step serves both.
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

use std::marker::PhantomData;

use dfdx::prelude::*;
pub use dfdx::shapes::Const;

use super::gan::Gan;
use super::loss::GanLoss;
use super::noise::Noise;
use super::spec::{GanShapeError, GanSpec, LayerSpec, StackSpec, UpdateScheme};
use super::{Dev, Mat};

/// Short name for a compile-time dimension.
pub type C<const N: usize> = Const<N>;

/// A layer (or a tuple of layers) that maps inputs of dimension `I` to `Self::Out`.
pub trait TypedLayer<I: ConstDim> {
    type Out: ConstDim;
    /// Appends this layer's runtime description.
    fn specs(&self, out: &mut Vec<LayerSpec>);
}

/// Affine map to `O` units (init range: the role's default unless set).
#[derive(Clone, Copy, Debug, Default)]
pub struct Dense<const O: usize> {
    pub irange: Option<f64>,
}
impl<const O: usize> Dense<O> {
    pub fn new() -> Self {
        Dense { irange: None }
    }
    pub fn with_irange(irange: f64) -> Self {
        Dense {
            irange: Some(irange),
        }
    }
}
impl<const I: usize, const O: usize> TypedLayer<Const<I>> for Dense<O> {
    type Out = Const<O>;
    fn specs(&self, out: &mut Vec<LayerSpec>) {
        out.push(LayerSpec::Dense {
            units: O,
            irange: self.irange,
        });
    }
}

/// Maxout with `U` units of `K` pieces.
#[derive(Clone, Copy, Debug, Default)]
pub struct Maxout<const U: usize, const K: usize> {
    pub irange: Option<f64>,
}
impl<const U: usize, const K: usize> Maxout<U, K> {
    pub fn new() -> Self {
        Maxout { irange: None }
    }
}
impl<const I: usize, const U: usize, const K: usize> TypedLayer<Const<I>> for Maxout<U, K> {
    type Out = Const<U>;
    fn specs(&self, out: &mut Vec<LayerSpec>) {
        out.push(LayerSpec::Maxout {
            units: U,
            pieces: K,
            irange: self.irange,
        });
    }
}

macro_rules! shape_preserving {
    ($($name:ident => $spec:expr;)*) => {$(
        impl<I: ConstDim> TypedLayer<I> for $name {
            type Out = I;
            fn specs(&self, out: &mut Vec<LayerSpec>) {
                #[allow(clippy::redundant_closure_call)]
                out.push(($spec)(self));
            }
        }
    )*};
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Relu;
#[derive(Clone, Copy, Debug, Default)]
pub struct Sigmoid;
#[derive(Clone, Copy, Debug, Default)]
pub struct Tanh;
/// Leaky ReLU with this negative slope.
#[derive(Clone, Copy, Debug)]
pub struct LeakyRelu(pub f64);
/// Dropout on the input with this *keep* probability (paper scaling 1/keep).
#[derive(Clone, Copy, Debug)]
pub struct Dropout(pub f64);

shape_preserving! {
    Relu => |_: &Relu| LayerSpec::Relu;
    Sigmoid => |_: &Sigmoid| LayerSpec::Sigmoid;
    Tanh => |_: &Tanh| LayerSpec::Tanh;
    LeakyRelu => |l: &LeakyRelu| LayerSpec::LeakyRelu { slope: l.0 };
    Dropout => |d: &Dropout| LayerSpec::Dropout { keep: d.0 };
}

// Tuples of layers: each layer takes the previous layer's output type (written out because
// where-clauses cannot come from a macro call).
macro_rules! tuple_stack {
    ([$($gen:tt)*] ($($t:ident),*) => $out:ty) => {
        impl<In: ConstDim, $($gen)*> TypedLayer<In> for ($($t,)*) {
            type Out = $out;
            #[allow(non_snake_case)]
            fn specs(&self, out: &mut Vec<LayerSpec>) {
                let ($($t,)*) = self;
                $( $t.specs(out); )*
            }
        }
    };
}
tuple_stack!([A: TypedLayer<In>, B: TypedLayer<<A as TypedLayer<In>>::Out>] (A, B) => <B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out);
tuple_stack!([A: TypedLayer<In>, B: TypedLayer<<A as TypedLayer<In>>::Out>, C3: TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>] (A, B, C3) => <C3 as TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>>::Out);
tuple_stack!([A: TypedLayer<In>, B: TypedLayer<<A as TypedLayer<In>>::Out>, C3: TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>, D4: TypedLayer<<C3 as TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>>::Out>] (A, B, C3, D4) => <D4 as TypedLayer<<C3 as TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>>::Out>>::Out);
tuple_stack!([A: TypedLayer<In>, B: TypedLayer<<A as TypedLayer<In>>::Out>, C3: TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>, D4: TypedLayer<<C3 as TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>>::Out>, E5: TypedLayer<<D4 as TypedLayer<<C3 as TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>>::Out>>::Out>] (A, B, C3, D4, E5) => <E5 as TypedLayer<<D4 as TypedLayer<<C3 as TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>>::Out>>::Out>>::Out);
tuple_stack!([A: TypedLayer<In>, B: TypedLayer<<A as TypedLayer<In>>::Out>, C3: TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>, D4: TypedLayer<<C3 as TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>>::Out>, E5: TypedLayer<<D4 as TypedLayer<<C3 as TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>>::Out>>::Out>, F6: TypedLayer<<E5 as TypedLayer<<D4 as TypedLayer<<C3 as TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>>::Out>>::Out>>::Out>] (A, B, C3, D4, E5, F6) => <F6 as TypedLayer<<E5 as TypedLayer<<D4 as TypedLayer<<C3 as TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>>::Out>>::Out>>::Out>>::Out);
tuple_stack!([A: TypedLayer<In>, B: TypedLayer<<A as TypedLayer<In>>::Out>, C3: TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>, D4: TypedLayer<<C3 as TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>>::Out>, E5: TypedLayer<<D4 as TypedLayer<<C3 as TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>>::Out>>::Out>, F6: TypedLayer<<E5 as TypedLayer<<D4 as TypedLayer<<C3 as TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>>::Out>>::Out>>::Out>, G7: TypedLayer<<F6 as TypedLayer<<E5 as TypedLayer<<D4 as TypedLayer<<C3 as TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>>::Out>>::Out>>::Out>>::Out>] (A, B, C3, D4, E5, F6, G7) => <G7 as TypedLayer<<F6 as TypedLayer<<E5 as TypedLayer<<D4 as TypedLayer<<C3 as TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>>::Out>>::Out>>::Out>>::Out>>::Out);
tuple_stack!([A: TypedLayer<In>, B: TypedLayer<<A as TypedLayer<In>>::Out>, C3: TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>, D4: TypedLayer<<C3 as TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>>::Out>, E5: TypedLayer<<D4 as TypedLayer<<C3 as TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>>::Out>>::Out>, F6: TypedLayer<<E5 as TypedLayer<<D4 as TypedLayer<<C3 as TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>>::Out>>::Out>>::Out>, G7: TypedLayer<<F6 as TypedLayer<<E5 as TypedLayer<<D4 as TypedLayer<<C3 as TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>>::Out>>::Out>>::Out>>::Out>, H8: TypedLayer<<G7 as TypedLayer<<F6 as TypedLayer<<E5 as TypedLayer<<D4 as TypedLayer<<C3 as TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>>::Out>>::Out>>::Out>>::Out>>::Out>] (A, B, C3, D4, E5, F6, G7, H8) => <H8 as TypedLayer<<G7 as TypedLayer<<F6 as TypedLayer<<E5 as TypedLayer<<D4 as TypedLayer<<C3 as TypedLayer<<B as TypedLayer<<A as TypedLayer<In>>::Out>>::Out>>::Out>>::Out>>::Out>>::Out>>::Out>>::Out);

/// The runtime description of a typed stack on inputs of dimension `I`.
pub fn stack_spec<I: ConstDim, L: TypedLayer<I>>(layers: &L) -> StackSpec {
    let mut specs = Vec::new();
    layers.specs(&mut specs);
    StackSpec {
        input: I::SIZE,
        layers: specs,
    }
}

/// The noise prior of a typed GAN (its dimension comes from the type).
#[derive(Clone, Copy, Debug)]
pub enum NoiseKind {
    /// Uniform on (−√3, √3), as in the paper's MNIST experiment.
    PaperUniform,
    Uniform(f64),
    Gaussian(f64),
}

/// A GAN whose noise dimension `Z` and data dimension `X` are types: G must map `Z → X` and D
/// must map `X → 1`, checked by the compiler. Training uses the same [`Gan`] and `Trainer`.
pub struct TypedGan<Z: ConstDim, X: ConstDim> {
    pub gan: Gan,
    _dims: PhantomData<(Z, X)>,
}

impl<Z: ConstDim, X: ConstDim> TypedGan<Z, X> {
    pub fn try_new<G, D>(
        g: G,
        d: D,
        loss: GanLoss,
        scheme: UpdateScheme,
        noise: NoiseKind,
        seed: u64,
    ) -> Result<Self, GanShapeError>
    where
        G: TypedLayer<Z, Out = X>,
        D: TypedLayer<X, Out = Const<1>>,
    {
        let noise = match noise {
            NoiseKind::PaperUniform => Noise::Uniform {
                dim: Z::SIZE,
                half_width: 3f64.sqrt(),
            },
            NoiseKind::Uniform(h) => Noise::Uniform {
                dim: Z::SIZE,
                half_width: h,
            },
            NoiseKind::Gaussian(s) => Noise::Gaussian {
                dim: Z::SIZE,
                std: s,
            },
        };
        let spec = GanSpec {
            g: stack_spec::<Z, G>(&g),
            d: stack_spec::<X, D>(&d),
            loss,
            scheme,
            noise,
            init_g_bias_from_marginals: false,
        };
        Ok(TypedGan {
            gan: Gan::try_new(spec, seed)?,
            _dims: PhantomData,
        })
    }

    /// Wraps a runtime GAN whose sizes match `Z` and `X` (e.g. one loaded from a checkpoint);
    /// errors name the disagreeing size.
    pub fn try_from_gan(gan: Gan) -> Result<Self, String> {
        if gan.noise_dim() != Z::SIZE {
            return Err(format!(
                "the GAN's noise has {} dimensions, the type says {}",
                gan.noise_dim(),
                Z::SIZE
            ));
        }
        if gan.data_dim() != X::SIZE {
            return Err(format!(
                "the GAN's data has {} features, the type says {}",
                gan.data_dim(),
                X::SIZE
            ));
        }
        Ok(TypedGan {
            gan,
            _dims: PhantomData,
        })
    }

    /// The GAN's fixed noise batch as a typed tensor `(n, Z)`.
    pub fn fixed_noise(&self, n: usize) -> Tensor<(usize, Z), f32, Dev> {
        self.gan
            .dev
            .tensor_from_vec(self.gan.fixed_noise(n), (n, Z::default()))
    }

    /// G(z) for a typed batch `(B, Z) → (B, X)`.
    pub fn generate(&self, z: Tensor<(usize, Z), f32, Dev>) -> Tensor<(usize, X), f32, Dev> {
        let z: Mat = z.realize::<(usize, usize)>();
        self.gan.path.eval(&self.gan.g, z).realize::<(usize, X)>()
    }

    /// D's probability for a typed batch `(B, X) → (B, 1)`.
    pub fn discriminate(
        &self,
        x: Tensor<(usize, X), f32, Dev>,
    ) -> Tensor<(usize, Const<1>), f32, Dev> {
        let x: Mat = x.realize::<(usize, usize)>();
        self.gan
            .path
            .eval(&self.gan.d, x)
            .sigmoid()
            .realize::<(usize, Const<1>)>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_stack_lowers_to_the_runtime_spec() {
        let g = (
            Dense::<1200>::new(),
            Relu,
            Dense::<784>::with_irange(0.1),
            Sigmoid,
        );
        let s = stack_spec::<C<100>, _>(&g);
        assert_eq!(s.input, 100);
        assert_eq!(s.try_output().unwrap(), 784);
        assert_eq!(
            s.layers[2],
            LayerSpec::Dense {
                units: 784,
                irange: Some(0.1)
            }
        );
    }

    #[test]
    fn typed_forward_matches_runtime_forward() {
        let g = (Dense::<8>::new(), Tanh, Dense::<3>::new());
        let d = (Dense::<4>::new(), LeakyRelu(0.2), Dense::<1>::new());
        let tg = TypedGan::<C<2>, C<3>>::try_new(
            g,
            d,
            GanLoss::NonSaturating,
            UpdateScheme::Simultaneous,
            NoiseKind::Gaussian(1.0),
            5,
        )
        .unwrap();
        let zv = vec![0.5f32, -1.0, 2.0, 0.25];
        let z = tg.gan.dev.tensor_from_vec(zv.clone(), (2, Const::<2>));
        let x = tg.generate(z);
        assert_eq!(x.as_vec(), tg.gan.generate(&zv));
        let p = tg.discriminate(x.clone());
        assert_eq!(p.as_vec(), tg.gan.discriminate(&x.as_vec()));
    }
}
