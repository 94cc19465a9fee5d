//! [`TypedGan`]: a GAN whose noise and data shapes are types, built from typed stacks.
//!
//! A generator whose output is not the data shape the GAN is declared on does not compile
//! (here G makes 28×28 images, the GAN is declared on 32×32):
//! ```compile_fail
//! use gan::engine::typed::*;
//! use gan::engine::{GanLoss, UpdateScheme};
//! let g = (Dense::<{ 8 * 7 * 7 }>::new(), Reshape::<8, 7, 7>, ConvTranspose::<Img<1, 28, 28>, 4, 4>::new(), Tanh);
//! let d = (Conv::<Img<8, 16, 16>, 4, 2, 1>::new(), Flatten::<{ 8 * 16 * 16 }>, Dense::<1>::new());
//! let _ = TypedGan::<C<16>, Img<1, 32, 32>>::try_new(g, d, GanLoss::NonSaturating, UpdateScheme::Simultaneous, NoiseKind::Gaussian(1.0), 0);
//! ```

use std::marker::PhantomData;

use dfdx::prelude::*;

use super::{stack_spec, Const, TypedLayer, TypedShape};
use crate::engine::gan::Gan;
use crate::engine::layers::Shape;
use crate::engine::loss::GanLoss;
use crate::engine::noise::Noise;
use crate::engine::spec::{GanShapeError, GanSpec, UpdateScheme};
use crate::engine::{Dev, Mat};

/// The noise prior of a typed GAN (its dimension comes from the type).
#[derive(Clone, Copy, Debug)]
pub enum NoiseKind {
    /// Uniform on (−√3, √3), as in the paper's MNIST experiment.
    PaperUniform,
    Uniform(f64),
    Gaussian(f64),
}

/// A GAN whose noise shape `Z` and data shape `X` (flat `C<N>` or an image `Img<C, H, W>`) are
/// types: G must map `Z → X` and D must map `X → C<1>`, checked by the compiler. Training uses
/// the same [`Gan`] and `Trainer`.
pub struct TypedGan<Z: TypedShape, X: TypedShape> {
    pub gan: Gan,
    _dims: PhantomData<(Z, X)>,
}

impl<Z: TypedShape, X: TypedShape> TypedGan<Z, X> {
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

    /// Checks that a data set of `dim` values per row, seen as `image` (`[c, h, w]`) if it is
    /// one, is what `X` declares: an image type needs images of exactly that shape, a flat type
    /// rows of that many values. Data only exist at run time, so this is the one runtime check.
    pub fn try_check_data(dim: usize, image: Option<[usize; 3]>) -> Result<(), String> {
        let shown = |i: Option<[usize; 3]>| match i {
            Some([c, h, w]) => format!("images [{c}, {h}, {w}]"),
            None => format!("{dim} flat features"),
        };
        let fits = match X::SHAPE {
            Shape::Image { c, h, w } => image == Some([c, h, w]),
            Shape::Flat(n) => dim == n,
        };
        if fits && dim == X::SIZE {
            return Ok(());
        }
        Err(format!(
            "the data are {} per row, the GAN's type declares {}",
            shown(image),
            X::SHAPE
        ))
    }

    /// The GAN's fixed noise batch as a typed tensor `(n, Z)`.
    pub fn fixed_noise(&self, n: usize) -> Tensor<(usize, Z), f32, Dev> {
        self.gan
            .dev
            .tensor_from_vec(self.gan.fixed_noise(n), (n, Z::default()))
    }

    /// G(z) for a typed batch `(B, Z) → (B, X)`, in evaluation mode, from the generator that
    /// samples ([`Gan::sampler`](crate::engine::Gan::sampler)): the moving average of G's
    /// weights when a fit kept one, else G.
    pub fn generate(&self, z: Tensor<(usize, Z), f32, Dev>) -> Tensor<(usize, X), f32, Dev> {
        let z: Mat = z.realize::<(usize, usize)>();
        self.gan
            .path
            .eval(self.gan.sampler(), z)
            .realize::<(usize, X)>()
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
