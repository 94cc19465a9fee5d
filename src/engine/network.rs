//! A built stack: the layers of a [`StackSpec`] with their parameters.

use dfdx::prelude::*;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::layers::affine::Affine;
use super::layers::{Layer, LayerTape, Masks, Shape};
pub use super::layers::{Param, ParamRef};
use super::spec::{ShapeError, StackSpec};
use super::{Dev, Mat, Vector};

/// Which network a stack is; sets the default init range (pylearn2 `irange` in the paper's
/// MNIST recipe: 0.05 for G, 0.005 for D).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Generator,
    Discriminator,
}

impl Role {
    pub fn default_irange(self) -> f64 {
        match self {
            Role::Generator => 0.05,
            Role::Discriminator => 0.005,
        }
    }
}

/// A parameter's name (`"<layer index>.w"` / `".b"`), shape and values.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedValues {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// A built network: its layers in order (each kind behind [`Layer`]). It knows nothing of the
/// engine's paths: the reference forward is here, the fast path mirrors the layers
/// ([`Layer::mirror`]), and [`super::EnginePath::eval`] picks between them.
#[derive(Clone, Debug)]
pub struct Network {
    pub spec: StackSpec,
    pub role: Role,
    pub layers: Vec<Box<dyn Layer>>,
}

impl Network {
    /// Shape-checks `spec` and builds it with weights drawn from `rng`.
    pub fn try_build(
        spec: &StackSpec,
        role: Role,
        dev: &Dev,
        rng: &mut ChaCha8Rng,
    ) -> Result<Self, ShapeError> {
        let shapes = spec.try_layer_shapes()?;
        let mut shape = Shape::Flat(spec.input);
        let mut layers = Vec::with_capacity(spec.layers.len());
        for (l, out) in spec.layers.iter().zip(shapes) {
            layers.push(l.kind().build(shape, role.default_irange(), dev, rng));
            shape = out;
        }
        Ok(Network {
            spec: spec.clone(),
            role,
            layers,
        })
    }

    pub fn input_dim(&self) -> usize {
        self.spec.input
    }

    pub fn output_dim(&self) -> usize {
        self.spec
            .try_output()
            .expect("a built network has a valid spec")
    }

    /// `(B, input) → (B, output)` on dfdx's ops (the reference path; with a tape, autograd
    /// gives its backward).
    pub fn forward<T: LayerTape>(&self, x: Mat<T>, masks: &mut Masks) -> Mat<T> {
        debug_assert_eq!(x.shape().1, self.input_dim());
        let mut h = x;
        for l in &self.layers {
            h = T::run(l.as_ref(), h, masks);
        }
        h
    }

    /// Forward in evaluation mode through dfdx's ops.
    pub fn eval_reference(&self, x: Mat) -> Mat {
        self.forward(x, &mut Masks::Off)
    }

    /// Every parameter with its name (`"<layer index>.<name>"`), in a fixed order, read-only.
    pub fn params(&self) -> Vec<(String, ParamRef<'_>)> {
        let mut out = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            for (name, p) in l.params() {
                out.push((format!("{i}.{name}"), p));
            }
        }
        out
    }

    /// Every parameter with its name, in a fixed order.
    pub fn params_mut(&mut self) -> Vec<(String, Param<'_>)> {
        let mut out = Vec::new();
        for (i, l) in self.layers.iter_mut().enumerate() {
            for (name, p) in l.params_mut() {
                out.push((format!("{i}.{name}"), p));
            }
        }
        out
    }

    /// Parameter values by name (for checkpoints and weight files), then the layers' non-trained
    /// state (batch norm's running statistics, `"<layer index>.running_mean"`).
    pub fn export(&mut self) -> Vec<NamedValues> {
        let state = self.state();
        self.params_mut()
            .into_iter()
            .map(|(name, p)| match p {
                Param::Matrix(m) => NamedValues {
                    name,
                    shape: vec![m.shape().0, m.shape().1],
                    values: m.as_vec(),
                },
                Param::Vector(v) => NamedValues {
                    name,
                    shape: vec![v.shape().0],
                    values: v.as_vec(),
                },
            })
            .chain(state)
            .collect()
    }

    /// Every layer's non-trained state by name, in a fixed order.
    fn state(&self) -> Vec<NamedValues> {
        let mut out = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            for (name, values) in l.state() {
                out.push(NamedValues {
                    name: format!("{i}.{name}"),
                    shape: vec![values.len()],
                    values,
                });
            }
        }
        out
    }

    /// Loads values exported from a network of the same architecture; any missing name or
    /// shape disagreement is an error naming the parameter (nothing is changed then).
    pub fn try_import(&mut self, values: &[NamedValues]) -> Result<(), String> {
        let find = |name: &str| values.iter().find(|v| v.name == name);
        // check everything first, so a failed import leaves the network untouched
        for (name, p) in self.params_mut() {
            let want = match &p {
                Param::Matrix(m) => vec![m.shape().0, m.shape().1],
                Param::Vector(v) => vec![v.shape().0],
            };
            let got = find(&name).ok_or_else(|| format!("parameter `{name}` is missing"))?;
            if got.shape != want || got.values.len() != want.iter().product::<usize>() {
                return Err(format!(
                    "parameter `{name}` has shape {:?}, the network expects {want:?}",
                    got.shape
                ));
            }
        }
        for want in self.state() {
            let got = find(&want.name)
                .ok_or_else(|| format!("layer state `{}` is missing", want.name))?;
            if got.shape != want.shape || got.values.len() != want.values.len() {
                return Err(format!(
                    "layer state `{}` has shape {:?}, the network expects {:?}",
                    want.name, got.shape, want.shape
                ));
            }
        }
        for (i, l) in self.layers.iter_mut().enumerate() {
            for (name, _) in l.state() {
                let got = find(&format!("{i}.{name}")).expect("checked above");
                l.set_state(name, &got.values);
            }
        }
        for (name, p) in self.params_mut() {
            let got = find(&name).expect("checked above");
            match p {
                Param::Matrix(m) => m.copy_from(&got.values),
                Param::Vector(v) => v.copy_from(&got.values),
            }
        }
        Ok(())
    }

    /// The bias of the last affine layer (G's output layer), if any.
    pub fn last_bias_mut(&mut self) -> Option<&mut Vector> {
        self.layers.iter_mut().rev().find_map(|l| {
            match l.as_any_mut().downcast_mut::<Affine>()? {
                Affine {
                    b,
                    maxout_pieces: None,
                    ..
                } => Some(b),
                _ => None,
            }
        })
    }

    pub fn param_count(&self) -> usize {
        self.spec.param_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::LayerSpec;
    use crate::engine::{device, rng};

    fn paper_d() -> StackSpec {
        crate::engine::GanSpec::paper_mnist().d
    }

    #[test]
    fn builds_with_role_default_init_range() {
        let dev = device();
        let mut r = rng::stream(0, rng::Purpose::InitD, 0);
        let mut d = Network::try_build(&paper_d(), Role::Discriminator, &dev, &mut r).unwrap();
        let ex = d.export();
        assert_eq!(ex[0].shape, vec![784, 1200]);
        let max = ex[0].values.iter().fold(0f32, |a, &v| a.max(v.abs()));
        assert!(
            max <= 0.005 && max > 0.0049,
            "uniform on ±0.005, max |w| {max}"
        );
        let mean = ex[0].values.iter().map(|&v| v as f64).sum::<f64>() / ex[0].values.len() as f64;
        assert!(mean.abs() < 5e-5);
        assert!(ex[1].values.iter().all(|&v| v == 0.0), "biases start at 0");
        let y = d.eval_reference(dev.zeros_like(&(3, 784)));
        assert_eq!(y.shape(), &(3, 1));
    }

    #[test]
    fn import_checks_shapes_and_round_trips() {
        let dev = device();
        let mut r = rng::stream(0, rng::Purpose::InitD, 0);
        let mut a = Network::try_build(&paper_d(), Role::Discriminator, &dev, &mut r).unwrap();
        let mut b = Network::try_build(&paper_d(), Role::Discriminator, &dev, &mut r).unwrap();
        let ex = a.export();
        assert_ne!(b.export(), ex);
        b.try_import(&ex).unwrap();
        assert_eq!(b.export(), ex);
        let mut small = paper_d();
        small.layers[1] = LayerSpec::Maxout {
            units: 200,
            pieces: 5,
            irange: None,
        };
        let mut c = Network::try_build(&small, Role::Discriminator, &dev, &mut r).unwrap();
        let err = c.try_import(&ex).unwrap_err();
        assert_eq!(
            err,
            "parameter `1.w` has shape [784, 1200], the network expects [784, 1000]"
        );
    }
}
