//! `conv_transpose(out_channels, kernel, #{stride, padding, output_padding, bias})`: PyTorch's
//! `ConvTranspose2d` (square kernels), the generator's upsampling layer in DCGAN. Output side
//! `(in − 1)·stride − 2·padding + kernel + output_padding`. Built as [`super::conv::Conv`] (same
//! parameters, init and fast-path driver, the transposed kernel of [`crate::engine::ops`]).

use rand_chacha::ChaCha8Rng;

use super::conv::{Conv, ConvSpec, Op};
use super::{image_input, Layer, LayerKind, Shape};
use crate::engine::ops::ConvTranspose2d;
use crate::engine::Dev;

/// The spec of `conv_transpose(...)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConvTransposeKind(pub ConvSpec);

impl ConvTransposeKind {
    fn op(&self, input: Shape) -> Result<Op, String> {
        let c = self.0;
        c.check_sizes(&self.name())?;
        let img = image_input(&self.name(), input)?;
        ConvTranspose2d::try_new(
            img,
            c.out_channels,
            [c.kernel; 2],
            [c.stride; 2],
            [c.padding; 2],
            [c.output_padding; 2],
            c.tied_bias(),
        )
        .map(Op::Transpose)
        .map_err(|e| e.message)
    }
}

impl LayerKind for ConvTransposeKind {
    fn name(&self) -> String {
        let c = self.0;
        let op = if c.output_padding > 0 {
            format!(", output_padding {}", c.output_padding)
        } else {
            String::new()
        };
        format!(
            "conv_transpose({}, {}, stride {}, padding {}{op})",
            c.out_channels, c.kernel, c.stride, c.padding
        )
    }
    fn output_shape(&self, input: Shape) -> Result<Shape, String> {
        self.op(input)?.output_shape()
    }
    fn param_count(&self, input: Shape) -> Option<usize> {
        self.op(input).ok()?.param_count(self.0.untied_bias)
    }
    fn has_reference(&self) -> bool {
        false
    }
    fn build(&self, input: Shape, _: f64, dev: &Dev, rng: &mut ChaCha8Rng) -> Box<dyn Layer> {
        Box::new(Conv::init(
            self.op(input).expect("checked"),
            &self.0,
            dev,
            rng,
        ))
    }
}
