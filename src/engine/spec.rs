//! Plain, serialisable descriptions of networks and games, kept apart from the built networks
//! (they are what `config.json` records and what a checkpoint restores from).

use serde::{Deserialize, Serialize};

use super::layers::activation::Activation;
use super::layers::affine::AffineKind;
use super::layers::batch_norm::BatchNormKind;
use super::layers::conv::ConvKind;
pub use super::layers::conv::ConvSpec;
use super::layers::conv_transpose::ConvTransposeKind;
use super::layers::dropout::DropoutKind;
use super::layers::pool::PoolKind;
use super::layers::reshape::Reshape;
pub use super::layers::{check_irange, shown, MAX_IRANGE};
use super::layers::{LayerKind, Shape};
use super::loss::GanLoss;
use super::noise::Noise;

/// One layer of a stack. Sizes are runtime values; [`StackSpec::try_shapes`] checks them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LayerSpec {
    /// Affine map to `units` outputs; weights uniform on ±`irange` (None: the role's default), biases 0.
    Dense {
        units: usize,
        irange: Option<f64>,
    },
    /// pylearn2's maxout: an affine map to `units × pieces`, then the max over each unit's pieces.
    Maxout {
        units: usize,
        pieces: usize,
        irange: Option<f64>,
    },
    Relu,
    LeakyRelu {
        slope: f64,
    },
    Sigmoid,
    Tanh,
    /// Dropout on this layer's input, keeping each value with probability `keep` and scaling kept
    /// values by `1/keep` in training (the paper's 0.8 → ×1.25, 0.5 → ×2); identity in evaluation.
    Dropout {
        keep: f64,
    },
    /// 2-D convolution on an image (fast path only; see [`super::layers::conv`]).
    Conv(ConvSpec),
    /// Transposed 2-D convolution on an image (fast path only).
    ConvTranspose(ConvSpec),
    /// Batch normalisation per channel (images) or feature (flat rows); fast path only.
    BatchNorm {
        momentum: f64,
        eps: f64,
    },
    /// The row's values seen as a `c × h × w` image.
    Reshape {
        c: usize,
        h: usize,
        w: usize,
    },
    /// The row's values seen as flat features.
    Flatten,
    /// Nearest-neighbour upsampling of an image by `scale` (fast path only).
    Upsample {
        scale: usize,
    },
    /// Average pooling over non-overlapping `k × k` windows (fast path only).
    AvgPool {
        k: usize,
    },
    /// Max pooling over `k × k` windows `stride` apart that tile the image, or with `ceil`,
    /// `ceil((size − k) / stride) + 1` windows, the last clipped at the edge (fast path only).
    MaxPool {
        k: usize,
        stride: usize,
        /// Left out of a spec's JSON when false, so existing specs keep their bytes.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        ceil: bool,
    },
    /// The max over groups of `pieces` consecutive channels (fast path only).
    ChannelMaxout {
        pieces: usize,
    },
}

impl LayerSpec {
    /// The kind behind this spec (its rules, its build): the registry of [`super::layers`].
    pub fn kind(&self) -> Box<dyn LayerKind> {
        match *self {
            LayerSpec::Dense { units, irange } => Box::new(AffineKind::dense(units, irange)),
            LayerSpec::Maxout {
                units,
                pieces,
                irange,
            } => Box::new(AffineKind::maxout(units, pieces, irange)),
            LayerSpec::Relu => Box::new(Activation::Relu),
            LayerSpec::LeakyRelu { slope } => Box::new(Activation::LeakyRelu(slope)),
            LayerSpec::Sigmoid => Box::new(Activation::Sigmoid),
            LayerSpec::Tanh => Box::new(Activation::Tanh),
            LayerSpec::Dropout { keep } => Box::new(DropoutKind { keep }),
            LayerSpec::Conv(c) => Box::new(ConvKind(c)),
            LayerSpec::ConvTranspose(c) => Box::new(ConvTransposeKind(c)),
            LayerSpec::BatchNorm { momentum, eps } => Box::new(BatchNormKind { momentum, eps }),
            LayerSpec::Reshape { c, h, w } => Box::new(Reshape::Image { c, h, w }),
            LayerSpec::Flatten => Box::new(Reshape::Flatten),
            LayerSpec::Upsample { scale } => Box::new(PoolKind::Upsample { scale }),
            LayerSpec::AvgPool { k } => Box::new(PoolKind::AvgPool { k }),
            LayerSpec::MaxPool { k, stride, ceil } => {
                Box::new(PoolKind::MaxPool { k, stride, ceil })
            }
            LayerSpec::ChannelMaxout { pieces } => Box::new(PoolKind::ChannelMaxout { pieces }),
        }
    }

    /// The name used in scripts and error messages.
    pub fn name(&self) -> String {
        self.kind().name()
    }

    /// Output width for an input of width `input`, or why the layer cannot be built.
    pub fn output_size(&self, input: usize) -> Result<usize, String> {
        let out = self.kind().output_shape(Shape::Flat(input))?;
        out.len()
            .ok_or_else(|| format!("output shape {out} has more values than fit in memory"))
    }

    /// Number of parameters this layer holds for an input of width `input`.
    /// Saturates at `usize::MAX` (a stack of absurd sizes must reach [`MAX_PARAMS`]'s check, not
    /// wrap around below it).
    pub fn param_count(&self, input: usize) -> usize {
        self.kind()
            .param_count(Shape::Flat(input))
            .unwrap_or(usize::MAX)
    }
}

/// A stack of layers on an input of `input` features.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StackSpec {
    pub input: usize,
    pub layers: Vec<LayerSpec>,
}

/// A stack that cannot be built: which layer (index into `layers`, or `None` for the stack as
/// a whole) and why. The script layer maps `layer` to the script position that declared it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}{message}", layer_prefix(.layer, .layer_name))]
pub struct ShapeError {
    pub layer: Option<usize>,
    pub layer_name: Option<String>,
    pub message: String,
}

fn layer_prefix(layer: &Option<usize>, name: &Option<String>) -> String {
    match (layer, name) {
        (Some(i), Some(n)) => format!("layer {} `{n}`: ", i + 1),
        (Some(i), None) => format!("layer {}: ", i + 1),
        _ => String::new(),
    }
}

impl ShapeError {
    pub fn stack(message: impl Into<String>) -> Self {
        ShapeError {
            layer: None,
            layer_name: None,
            message: message.into(),
        }
    }
}

/// Largest parameter count a stack may declare (≈ 4 GiB of f32 weights): refused before allocating.
pub const MAX_PARAMS: usize = 1 << 30;

impl StackSpec {
    pub fn new(input: usize) -> Self {
        StackSpec {
            input,
            layers: Vec::new(),
        }
    }

    /// The width after each layer (`result[i]` is layer i's output), or the first layer that fails.
    pub fn try_shapes(&self) -> Result<Vec<usize>, ShapeError> {
        Ok(self
            .try_layer_shapes()?
            .iter()
            .map(|s| s.len().expect("checked by try_layer_shapes"))
            .collect())
    }

    /// The shape after each layer (`result[i]` is layer i's output), or the first layer that
    /// fails. The input is flat; a `reshape` layer makes it an image.
    pub fn try_layer_shapes(&self) -> Result<Vec<Shape>, ShapeError> {
        if self.input == 0 {
            return Err(ShapeError::stack(
                "a stack needs an input of at least 1 feature, got 0",
            ));
        }
        let mut shape = Shape::Flat(self.input);
        let mut params = 0usize;
        let mut out = Vec::with_capacity(self.layers.len());
        for (i, layer) in self.layers.iter().enumerate() {
            let kind = layer.kind();
            let err = |message: String| ShapeError {
                layer: Some(i),
                layer_name: Some(kind.name()),
                message,
            };
            let next = kind.output_shape(shape).map_err(err)?;
            if next.len().is_none() {
                return Err(err(format!(
                    "output shape {next} has more values than fit in memory"
                )));
            }
            params = params.saturating_add(kind.param_count(shape).unwrap_or(usize::MAX));
            if params > MAX_PARAMS {
                return Err(err(format!(
                    "the stack would hold more than {MAX_PARAMS} parameters (input {shape}); refusing to allocate"
                )));
            }
            out.push(next);
            shape = next;
        }
        Ok(out)
    }

    /// Refuses a stack with a layer the reference path (dfdx) does not implement, naming it.
    pub fn try_reference(&self) -> Result<(), ShapeError> {
        match self.layers.iter().position(|l| !l.kind().has_reference()) {
            None => Ok(()),
            Some(i) => Err(ShapeError {
                layer: Some(i),
                layer_name: Some(self.layers[i].name()),
                message: "this layer has no reference (dfdx) implementation: dfdx 0.13 has no \
                          stable convolution or batch norm, so it runs only on the fast path \
                          (unset GAN_ENGINE=reference)"
                    .into(),
            }),
        }
    }

    /// Output width of the whole stack.
    pub fn try_output(&self) -> Result<usize, ShapeError> {
        Ok(self.try_shapes()?.last().copied().unwrap_or(self.input))
    }

    /// Total parameter count (saturating; a stack that does not build counts its valid prefix).
    pub fn param_count(&self) -> usize {
        let mut shape = Shape::Flat(self.input);
        let mut n = 0usize;
        for l in &self.layers {
            let kind = l.kind();
            n = n.saturating_add(kind.param_count(shape).unwrap_or(usize::MAX));
            match kind.output_shape(shape) {
                Ok(next) => shape = next,
                Err(_) => break,
            }
        }
        n
    }
}

/// How D and G take turns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UpdateScheme {
    /// The paper's own code (pylearn2 `AdversaryCost2` + SGD): one minibatch, one D pass over
    /// G(z) with one dropout mask; D's gradient from the D loss and G's from the G loss of that
    /// same pass, both applied at once.
    Simultaneous,
    /// Algorithm 1 as printed: `k` D-steps (fresh noise each), then one G-step on fresh noise.
    Alternating { k: u32 },
}

/// The most D-steps per G-step: each G-step waits for k D-steps, so more than this would mean
/// G never trains within any run.
pub const MAX_K: u64 = 1_000_000;

/// Checks Algorithm 1's `k` (D-steps per G-step).
pub fn check_k(k: u64) -> Result<u32, String> {
    if k == 0 || k > MAX_K {
        return Err(format!(
            "k must be in 1..={MAX_K} D-steps per G-step, got {k}"
        ));
    }
    u32::try_from(k).map_err(|_| format!("k is too large: {k}"))
}

/// A whole game: both stacks, the losses, the noise prior and the update scheme.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GanSpec {
    pub g: StackSpec,
    pub d: StackSpec,
    pub loss: GanLoss,
    pub scheme: UpdateScheme,
    pub noise: Noise,
    /// pylearn2's `init_sigmoid_bias_from_marginals`: G's last dense bias = logit of the data's
    /// per-feature mean (clipped to [1e-3, 1 − 1e-3]), applied when training data is first seen.
    pub init_g_bias_from_marginals: bool,
}

impl GanSpec {
    /// The paper's MNIST game (its code's mnist.yaml): G 100 → 1200 ReLU → 1200 ReLU → 784
    /// sigmoid, D dropout(0.8) → maxout 240×5 → dropout(0.5) → maxout 240×5 → dropout(0.5) →
    /// one logit; non-saturating G loss, the simultaneous update, z ~ U(−√3, √3)^100, G's output
    /// bias from the data marginals. `scripts/mnist_paper.rhai` declares the same game.
    pub fn paper_mnist() -> Self {
        let dense = |units| LayerSpec::Dense {
            units,
            irange: None,
        };
        let maxout = || LayerSpec::Maxout {
            units: 240,
            pieces: 5,
            irange: None,
        };
        let dropout = |keep| LayerSpec::Dropout { keep };
        GanSpec {
            g: StackSpec {
                input: 100,
                layers: vec![
                    dense(1200),
                    LayerSpec::Relu,
                    dense(1200),
                    LayerSpec::Relu,
                    dense(784),
                    LayerSpec::Sigmoid,
                ],
            },
            d: StackSpec {
                input: 784,
                layers: vec![
                    dropout(0.8),
                    maxout(),
                    dropout(0.5),
                    maxout(),
                    dropout(0.5),
                    dense(1),
                ],
            },
            loss: GanLoss::NonSaturating,
            scheme: UpdateScheme::Simultaneous,
            noise: Noise::Uniform {
                dim: 100,
                half_width: 3f64.sqrt(),
            },
            init_g_bias_from_marginals: true,
        }
    }

    /// Checks both stacks and that they fit each other and the data width: G maps noise to data,
    /// D maps data to one logit.
    pub fn try_check(&self, data_dim: Option<usize>) -> Result<(), GanShapeError> {
        let g_out = self.g.try_output().map_err(GanShapeError::G)?;
        let d_out = self.d.try_output().map_err(GanShapeError::D)?;
        self.noise.try_check().map_err(GanShapeError::Game)?;
        if let UpdateScheme::Alternating { k } = self.scheme {
            check_k(k as u64).map_err(GanShapeError::Game)?;
        }
        if self.noise.dim() != self.g.input {
            return Err(GanShapeError::Game(format!(
                "the noise has {} dimensions but G takes {} inputs",
                self.noise.dim(),
                self.g.input
            )));
        }
        if g_out != self.d.input {
            return Err(GanShapeError::Mismatch {
                g_out,
                d_in: self.d.input,
            });
        }
        if d_out != 1 {
            return Err(GanShapeError::DOutput(d_out));
        }
        if let Some(dim) = data_dim {
            if dim != self.d.input {
                return Err(GanShapeError::Game(format!(
                    "the data has {} per example but D takes {} (and G outputs {g_out})",
                    count(dim, "feature"),
                    count(self.d.input, "input")
                )));
            }
        }
        Ok(())
    }
}

/// Why a game's stacks do not fit together.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum GanShapeError {
    #[error("generator: {0}")]
    G(ShapeError),
    #[error("discriminator: {0}")]
    D(ShapeError),
    /// G's last layer (or D's input) is at fault.
    #[error("G outputs {} but D takes {}", count(*g_out, "feature"), count(*d_in, "input"))]
    Mismatch { g_out: usize, d_in: usize },
    /// D's last layer is at fault.
    #[error("D must output 1 logit per example, but its stack outputs {0} (end it with dense(1))")]
    DOutput(usize),
    #[error("{0}")]
    Game(String),
}

/// `1 feature`, `3 features`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_layers() {
        let s = StackSpec {
            input: 784,
            layers: vec![
                LayerSpec::Dropout { keep: 0.8 },
                LayerSpec::Maxout {
                    units: 240,
                    pieces: 5,
                    irange: None,
                },
                LayerSpec::Dense {
                    units: 1,
                    irange: None,
                },
            ],
        };
        assert_eq!(s.try_shapes().unwrap(), vec![784, 240, 1]);
        assert_eq!(s.param_count(), 785 * 1200 + 241);
    }

    #[test]
    fn bad_layers_name_their_index() {
        let s = StackSpec {
            input: 10,
            layers: vec![
                LayerSpec::Relu,
                LayerSpec::Dense {
                    units: 0,
                    irange: None,
                },
            ],
        };
        let e = s.try_shapes().unwrap_err();
        assert_eq!(e.layer, Some(1));
        assert_eq!(
            e.to_string(),
            "layer 2 `dense(0)`: a dense layer needs at least 1 unit, got 0"
        );
        let s = StackSpec {
            input: 10,
            layers: vec![LayerSpec::Dropout { keep: 1.5 }],
        };
        assert!(s.try_shapes().unwrap_err().message.contains("(0, 1]"));
    }

    #[test]
    fn huge_stacks_are_refused_before_allocation() {
        let s = StackSpec {
            input: 1 << 20,
            layers: vec![LayerSpec::Dense {
                units: 1 << 20,
                irange: None,
            }],
        };
        assert!(s
            .try_shapes()
            .unwrap_err()
            .message
            .contains("refusing to allocate"));
    }
}
