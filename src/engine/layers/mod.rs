//! Layer kinds, one file per kind, each behind the same three faces:
//!
//! - [`LayerKind`]: the spec's rules (name, output shape, parameter count with checked
//!   arithmetic) and how to build the layer;
//! - [`Layer`]: the built layer on dfdx tensors — the reference path's forward (autograd gives its
//!   backward), its parameters and any non-trained state (what optimizers and checkpoints see);
//! - [`FastLayer`]: the same layer mirrored into plain buffers for the fast path, with a
//!   hand-written forward and backward ([`super::fast`] drives them).
//!
//! Adding a kind: one file here implementing the three, and one line in
//! [`super::spec::LayerSpec::kind`] (the registry; plus the kind's `LayerSpec` variant, the
//! serialised form). This module imports nothing from the rest of the engine but its tensor types. Each file tests its fast path against its dfdx
//! forward (and, with parameters, against finite differences), through [`testing`].
//!
//! Shapes are [`Shape`]s so image layers (`[c, h, w]`) fit; layers whose training and evaluation
//! behaviour differ read the pass's [`Masks`] (training draws or replays, evaluation is `Off`).

pub mod activation;
pub mod affine;
pub mod batch_norm;
pub mod conv;
pub mod conv_transpose;
pub mod dropout;
mod fast_ctx;
#[cfg(test)]
pub(crate) mod fd;
mod grads;
pub mod pool;
pub mod reshape;
#[cfg(test)]
pub(crate) mod testing;

use std::any::Any;

use dfdx::prelude::*;
use rand_chacha::ChaCha8Rng;

pub use self::dropout::Masks;
pub use self::fast_ctx::{BackwardPass, ForwardPass, Pass, Seg, Sink};
use super::{Dev, Mat, Tp, Vector};

/// What one row of a layer's input or output holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `n` features.
    Flat(usize),
    /// An image: `c` channels of `h × w` (row-major, channel after channel).
    Image { c: usize, h: usize, w: usize },
}

impl Shape {
    /// Values per row, or `None` when that overflows.
    pub fn len(&self) -> Option<usize> {
        match *self {
            Shape::Flat(n) => Some(n),
            Shape::Image { c, h, w } => c.checked_mul(h)?.checked_mul(w),
        }
    }

    /// Whether a row holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shape::Flat(n) => write!(f, "{n}"),
            Shape::Image { c, h, w } => write!(f, "[{c}, {h}, {w}]"),
        }
    }
}

/// A parameter (or state) tensor, mutable: for optimizers and checkpoints.
pub enum Param<'a> {
    Matrix(&'a mut Mat),
    Vector(&'a mut Vector),
}

/// A parameter tensor, read-only.
pub enum ParamRef<'a> {
    Matrix(&'a Mat),
    Vector(&'a Vector),
}

impl ParamRef<'_> {
    pub fn values(&self) -> Vec<f32> {
        match self {
            ParamRef::Matrix(m) => m.as_vec(),
            ParamRef::Vector(v) => v.as_vec(),
        }
    }
}

/// A kind's spec: its rules and how to build it.
pub trait LayerKind {
    /// The name used in scripts and error messages.
    fn name(&self) -> String;
    /// The output shape for `input`, or why the layer cannot take it.
    fn output_shape(&self, input: Shape) -> Result<Shape, String>;
    /// Parameters held for `input`; `None` when the count overflows `usize`.
    fn param_count(&self, _input: Shape) -> Option<usize> {
        Some(0)
    }
    /// Whether the reference path (dfdx's ops) implements this kind. The image kernels exist
    /// only on the fast path (dfdx 0.13's convolutions need a nightly compiler): a stack holding
    /// one is refused on [`super::EnginePath::Reference`].
    fn has_reference(&self) -> bool {
        true
    }
    /// Builds the layer for `input` (already checked by [`LayerKind::output_shape`]), drawing any
    /// initial weights from `rng` (`default_irange` unless the spec sets its own).
    fn build(
        &self,
        input: Shape,
        default_irange: f64,
        dev: &Dev,
        rng: &mut ChaCha8Rng,
    ) -> Box<dyn Layer>;
}

/// A built layer.
pub trait Layer: LayerBox + std::fmt::Debug + super::Shareable {
    /// The reference forward on dfdx tensors, without a tape (evaluation, or training passes
    /// nobody differentiates).
    fn forward(&self, x: Mat, masks: &mut Masks) -> Mat;
    /// The reference forward recording on the tape (autograd gives the backward).
    fn forward_traced(&self, x: Mat<Tp>, masks: &mut Masks) -> Mat<Tp>;
    /// Trained parameters by name within the layer (`"w"`, `"b"`), in a fixed order.
    fn params(&self) -> Vec<(&'static str, ParamRef<'_>)> {
        Vec::new()
    }
    fn params_mut(&mut self) -> Vec<(&'static str, Param<'_>)> {
        Vec::new()
    }
    /// Non-trained state by name (batch norm's running statistics), in a fixed order: what
    /// checkpoints save and restore besides [`Layer::params`]; optimizers never see it.
    fn state(&self) -> Vec<(&'static str, Vec<f32>)> {
        Vec::new()
    }
    /// Restores one entry of [`Layer::state`] (its length already checked against it).
    fn set_state(&mut self, name: &str, _values: &[f32]) {
        unreachable!("layer has no state `{name}`")
    }
    /// The layer in plain buffers for the fast path (a copy of its parameters).
    fn mirror(&self) -> Box<dyn FastLayer>;
}

/// What every built layer gets from being `Clone + 'static` (a blanket impl: kinds do not write it).
pub trait LayerBox {
    fn clone_box(&self) -> Box<dyn Layer>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Layer + Clone + 'static> LayerBox for T {
    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

impl Clone for Box<dyn Layer> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// A layer on the fast path: parameters mirrored in plain buffers, forward and backward written
/// out (the same functions as the dfdx forward and its autograd backward, up to float rounding).
pub trait FastLayer: FastLayerBox + std::fmt::Debug + Send + Sync {
    /// Values per row its forward keeps for its backward (beyond its input and output), for an
    /// input `win` wide.
    fn saved_width(&self, _win: usize) -> usize {
        0
    }
    /// Random words one training pass over `rows` rows of width `win` draws.
    fn random_words(&self, _rows: usize, _win: usize) -> u128 {
        0
    }
    fn forward(&self, f: ForwardPass<'_>);
    fn backward(&mut self, b: BackwardPass<'_, '_>);
    /// The parameter buffers, in the order of [`Layer::params_mut`].
    fn params(&self) -> Vec<&[f32]> {
        Vec::new()
    }
}

/// Cloning a boxed [`FastLayer`] (a blanket impl over `Clone` kinds).
pub trait FastLayerBox {
    fn clone_box(&self) -> Box<dyn FastLayer>;
}

impl<T: FastLayer + Clone + 'static> FastLayerBox for T {
    fn clone_box(&self) -> Box<dyn FastLayer> {
        Box::new(self.clone())
    }
}

impl Clone for Box<dyn FastLayer> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// The largest image side, kernel, stride or padding a layer takes: far past any real network,
/// and small enough that no output-size rule can overflow.
pub const MAX_SIDE: usize = 1 << 20;

/// The image an image layer `name` reads, or why `input` is not one.
pub fn image_input(name: &str, input: Shape) -> Result<crate::engine::ops::Image, String> {
    match input {
        Shape::Image { c, h, w } if c.max(h).max(w) <= MAX_SIDE && input.len().is_some() => {
            Ok(crate::engine::ops::Image::new(c, h, w))
        }
        Shape::Image { .. } => Err(format!(
            "{name} takes images of at most {MAX_SIDE} per side, got {input}"
        )),
        Shape::Flat(n) => Err(format!(
            "{name} needs an image input [c, h, w], got {n} flat features (reshape(c, h, w) first)"
        )),
    }
}

/// The reference forward of a kind that has none: unreachable once the stack was checked with
/// [`LayerKind::has_reference`] (see [`super::spec::StackSpec::try_reference`]).
fn no_reference(name: &str) -> ! {
    panic!("`{name}` has no reference (dfdx) implementation: run it on the fast path")
}

/// The largest initial weight range: weights are drawn as f32 from ±irange, and a range past
/// f32's (1e300 became ±inf) cannot be sampled. No sensible init comes near it.
pub const MAX_IRANGE: f64 = 1e6;

/// A number as a message shows it: `1e300` rather than its 301 digits.
pub fn shown(x: f64) -> String {
    if x.is_finite() && x.abs() >= 1e15 {
        format!("{x:e}")
    } else {
        x.to_string()
    }
}

/// Checks a layer's initial weight range (0: all weights start at 0).
pub fn check_irange(r: f64) -> Result<(), String> {
    if r.is_finite() && (0.0..=MAX_IRANGE).contains(&r) {
        Ok(())
    } else {
        Err(format!(
            "irange must be a finite number in [0, {MAX_IRANGE:e}], got {}",
            shown(r)
        ))
    }
}

/// The tapes a reference forward runs with, each calling its own [`Layer`] method (a trait
/// object cannot have a method generic over the tape).
pub trait LayerTape: Tape<f32, Dev> {
    fn run(layer: &dyn Layer, x: Mat<Self>, masks: &mut Masks) -> Mat<Self>;
}

impl LayerTape for NoneTape {
    fn run(layer: &dyn Layer, x: Mat, masks: &mut Masks) -> Mat {
        layer.forward(x, masks)
    }
}

impl LayerTape for Tp {
    fn run(layer: &dyn Layer, x: Mat<Tp>, masks: &mut Masks) -> Mat<Tp> {
        layer.forward_traced(x, masks)
    }
}
