//! Point-wise activations: relu, leaky relu, sigmoid, tanh. One file for the four because they
//! share everything but their formula: no parameters, the output shape is the input's, a forward
//! that maps each value and a backward that multiplies by the derivative — four files would
//! repeat the same skeleton four times. The fast kernels use the dfdx op's formula (same f32
//! operations in the same order), so the two paths give the same bits.

use dfdx::prelude::*;
use rand_chacha::ChaCha8Rng;

use super::{BackwardPass, FastLayer, ForwardPass, Layer, LayerKind, Masks, Shape};
use crate::engine::{Dev, Mat, Tp};
use crate::linalg::par::{map_into, zip_into};

/// The spec: which activation (a leaky relu's slope as the spec writes it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    Relu,
    LeakyRelu(f64),
    Sigmoid,
    Tanh,
}

/// The built activation (slope in f32, as both paths compute with it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pointwise {
    Relu,
    LeakyRelu(f32),
    Sigmoid,
    Tanh,
}

impl LayerKind for Activation {
    fn name(&self) -> String {
        match self {
            Activation::Relu => "relu()".into(),
            Activation::LeakyRelu(slope) => format!("leaky_relu({slope})"),
            Activation::Sigmoid => "sigmoid()".into(),
            Activation::Tanh => "tanh()".into(),
        }
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, String> {
        match self {
            Activation::LeakyRelu(slope) if !slope.is_finite() => {
                Err(format!("leaky_relu slope must be finite, got {slope}"))
            }
            _ => Ok(input),
        }
    }

    fn build(&self, _: Shape, _: f64, _: &Dev, _: &mut ChaCha8Rng) -> Box<dyn Layer> {
        Box::new(match *self {
            Activation::Relu => Pointwise::Relu,
            Activation::LeakyRelu(a) => Pointwise::LeakyRelu(a as f32),
            Activation::Sigmoid => Pointwise::Sigmoid,
            Activation::Tanh => Pointwise::Tanh,
        })
    }
}

impl Pointwise {
    fn apply<T: Tape<f32, Dev>>(&self, x: Mat<T>) -> Mat<T> {
        match *self {
            Pointwise::Relu => x.relu(),
            Pointwise::LeakyRelu(a) => {
                // max(x, 0) + a·min(x, 0)
                let neg = x.with_empty_tape().negate().relu().negate() * a;
                x.relu() + neg
            }
            Pointwise::Sigmoid => x.sigmoid(),
            Pointwise::Tanh => x.tanh(),
        }
    }
}

impl Layer for Pointwise {
    fn forward(&self, x: Mat, _: &mut Masks) -> Mat {
        self.apply(x)
    }
    fn forward_traced(&self, x: Mat<Tp>, _: &mut Masks) -> Mat<Tp> {
        self.apply(x)
    }
    fn mirror(&self) -> Box<dyn FastLayer> {
        Box::new(*self)
    }
}

impl FastLayer for Pointwise {
    fn forward(&self, f: ForwardPass<'_>) {
        let (y, x) = (f.y, f.x);
        match *self {
            Pointwise::Relu => map_into(y, x, |v| v.max(0.0)),
            // the reference computes `relu(x) + (−relu(−x))·a`
            Pointwise::LeakyRelu(a) => map_into(y, x, |v| v.max(0.0) + (-(-v).max(0.0)) * a),
            Pointwise::Sigmoid => map_into(y, x, |v| 1.0 / (1.0 + (-v).exp())),
            Pointwise::Tanh => map_into(y, x, |v| v.tanh()),
        }
    }

    fn backward(&mut self, b: BackwardPass<'_, '_>) {
        let (x, y) = (b.x, b.y);
        let step = |v: f32| if v > 0.0 { 1.0 } else { 0.0 };
        match *self {
            Pointwise::Relu => b.elementwise(|o, dy, t| zip_into(o, &x[t], dy, |v, g| step(v) * g)),
            Pointwise::LeakyRelu(a) => b.elementwise(|o, dy, t| {
                zip_into(o, &x[t], dy, |v, g| {
                    let pos = step(v) * g;
                    let neg = -(step(-v) * -(g * a));
                    pos + neg
                })
            }),
            Pointwise::Sigmoid => {
                b.elementwise(|o, dy, t| zip_into(o, &y[t], dy, |f, g| (f * (1.0 - f)) * g))
            }
            Pointwise::Tanh => {
                b.elementwise(|o, dy, t| zip_into(o, &y[t], dy, |f, g| (1.0 - f.powi(2)) * g))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::layers::testing::{check_paths, check_paths_with};
    use crate::engine::spec::LayerSpec;

    #[test]
    fn fast_path_matches_dfdx_for_every_activation() {
        for spec in [
            LayerSpec::Relu,
            LayerSpec::LeakyRelu { slope: 0.2 },
            LayerSpec::Sigmoid,
            LayerSpec::Tanh,
        ] {
            check_paths(&spec, 7);
        }
    }

    /// Inputs exactly at the kink: dfdx's relu derivative is 0 there, and so must ours be.
    #[test]
    fn relu_derivative_at_zero_is_zero_on_both_paths() {
        for spec in [LayerSpec::Relu, LayerSpec::LeakyRelu { slope: 0.3 }] {
            check_paths_with(&spec, 4, &[0.0, -0.0, 1.5, -2.0, 0.0, 3.0, -1.0, 0.0]);
        }
    }

    #[test]
    fn leaky_relu_refuses_a_non_finite_slope() {
        let e = Activation::LeakyRelu(f64::NAN)
            .output_shape(Shape::Flat(3))
            .unwrap_err();
        assert_eq!(e, "leaky_relu slope must be finite, got NaN");
    }
}
