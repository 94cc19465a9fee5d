//! Typed fully connected layers and the shape-keeping ones (activations, dropout): `Dense<O>`
//! and `Maxout<U, K>` read any input, flat or image, as its `c·h·w` values, as the runtime
//! `dense`/`maxout` do.

use super::{shape_preserving, Const, LayerSpecs, TypedLayer, TypedShape};
use crate::engine::spec::LayerSpec;

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
impl<const O: usize> LayerSpecs for Dense<O> {
    fn specs(&self, out: &mut Vec<LayerSpec>) {
        out.push(LayerSpec::Dense {
            units: O,
            irange: self.irange,
        });
    }
}
impl<I: TypedShape, const O: usize> TypedLayer<I> for Dense<O> {
    type Out = Const<O>;
    const CHECK: () = assert!(O >= 1, "Dense<O> needs O ≥ 1 units");
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
impl<const U: usize, const K: usize> LayerSpecs for Maxout<U, K> {
    fn specs(&self, out: &mut Vec<LayerSpec>) {
        out.push(LayerSpec::Maxout {
            units: U,
            pieces: K,
            irange: self.irange,
        });
    }
}
impl<I: TypedShape, const U: usize, const K: usize> TypedLayer<I> for Maxout<U, K> {
    type Out = Const<U>;
    const CHECK: () = assert!(U >= 1 && K >= 1, "Maxout<U, K> needs U ≥ 1 and K ≥ 1");
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
    Relu => |_l| LayerSpec::Relu;
    Sigmoid => |_l| LayerSpec::Sigmoid;
    Tanh => |_l| LayerSpec::Tanh;
    LeakyRelu => |l| LayerSpec::LeakyRelu { slope: l.0 };
    Dropout => |d| LayerSpec::Dropout { keep: d.0 };
}
