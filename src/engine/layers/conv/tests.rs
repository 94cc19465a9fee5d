use super::*;
use crate::engine::device;
use crate::engine::layers::conv_transpose::ConvTransposeKind;
use crate::engine::layers::fd::check_gradients;
use crate::engine::rng::{stream, Purpose};
use crate::engine::spec::{LayerSpec, StackSpec};

fn spec(out_channels: usize, kernel: usize, stride: usize, padding: usize, bias: bool) -> ConvSpec {
    ConvSpec {
        out_channels,
        kernel,
        stride,
        padding,
        output_padding: 0,
        bias,
    }
}

fn img(c: usize, h: usize, w: usize) -> Shape {
    Shape::Image { c, h, w }
}

#[test]
fn conv_backward_matches_finite_differences() {
    // DCGAN's D layer (4x4, stride 2, padding 1), with and without a bias, over two passes
    check_gradients(
        &LayerSpec::Conv(spec(3, 4, 2, 1, true)),
        img(2, 6, 6),
        &[2, 2],
        1e-2,
        2e-3,
        60,
    );
    check_gradients(
        &LayerSpec::Conv(spec(2, 3, 1, 1, false)),
        img(3, 5, 5),
        &[3],
        1e-2,
        2e-3,
        60,
    );
}

#[test]
fn conv_transpose_backward_matches_finite_differences() {
    let mut s = spec(2, 4, 2, 1, true);
    check_gradients(
        &LayerSpec::ConvTranspose(s),
        img(3, 3, 3),
        &[2, 1],
        1e-2,
        2e-3,
        60,
    );
    s.kernel = 3;
    s.output_padding = 1;
    s.bias = false;
    check_gradients(
        &LayerSpec::ConvTranspose(s),
        img(2, 3, 4),
        &[2],
        1e-2,
        2e-3,
        60,
    );
}

#[test]
fn output_shapes_and_parameter_counts_follow_pytorch() {
    let d1 = ConvKind(spec(64, 4, 2, 1, true));
    assert_eq!(d1.output_shape(img(1, 28, 28)), Ok(img(64, 14, 14)));
    assert_eq!(d1.param_count(img(1, 28, 28)), Some(64 * 16 + 64));
    let mut g = spec(64, 4, 2, 1, false);
    assert_eq!(
        ConvTransposeKind(g).output_shape(img(128, 7, 7)),
        Ok(img(64, 14, 14))
    );
    assert_eq!(
        ConvTransposeKind(g).param_count(img(128, 7, 7)),
        Some(128 * 64 * 16)
    );
    // (7 − 1)·2 − 2 + 3 + 1 = 14
    g.kernel = 3;
    g.output_padding = 1;
    assert_eq!(
        ConvTransposeKind(g).output_shape(img(128, 7, 7)),
        Ok(img(64, 14, 14))
    );
}

#[test]
fn misfits_are_errors_naming_the_input_and_the_window() {
    let e = ConvKind(spec(8, 3, 2, 0, true))
        .output_shape(img(1, 28, 28))
        .unwrap_err();
    assert!(
        e.contains("kernel 3x3, stride 2x2, padding 0x0 does not tile input [1, 28, 28]"),
        "{e}"
    );
    let e = ConvKind(spec(8, 3, 1, 0, true))
        .output_shape(Shape::Flat(784))
        .unwrap_err();
    assert_eq!(
        e,
        "conv(8, 3, stride 1, padding 0) needs an image input [c, h, w], got 784 flat features (reshape(c, h, w) first)"
    );
    let e = ConvKind(spec(usize::MAX, 3, 1, 0, true))
        .output_shape(img(1, 4, 4))
        .unwrap_err();
    assert!(e.contains("must be at most"), "{e}");
    let mut t = spec(4, 4, 2, 1, true);
    t.output_padding = 2;
    let e = ConvTransposeKind(t).output_shape(img(2, 4, 4)).unwrap_err();
    assert!(
        e.contains("output padding 2 must be smaller than the stride 2"),
        "{e}"
    );
}

#[test]
fn weights_start_as_dcgan_draws_them() {
    let dev = device();
    let kind = ConvKind(spec(64, 4, 2, 1, true));
    let layer = kind.build(img(8, 8, 8), 0.05, &dev, &mut stream(1, Purpose::InitD, 0));
    let params = layer.params();
    let w = params[0].1.values();
    assert_eq!(w.len(), 64 * 8 * 16);
    let n = w.len() as f64;
    let mean = w.iter().map(|&v| v as f64).sum::<f64>() / n;
    let sd = (w.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
    assert!(
        mean.abs() < 2e-3 && (sd - 0.02).abs() < 1e-3,
        "mean {mean}, sd {sd}"
    );
    assert!(params[1].1.values().iter().all(|&v| v == 0.0));
}

#[test]
fn a_stack_with_a_convolution_is_refused_on_the_reference_path() {
    let stack = StackSpec {
        input: 16,
        layers: vec![
            LayerSpec::Reshape { c: 1, h: 4, w: 4 },
            LayerSpec::Conv(spec(2, 3, 1, 1, true)),
            LayerSpec::Relu,
        ],
    };
    assert!(stack.try_layer_shapes().is_ok());
    let e = stack.try_reference().unwrap_err();
    assert_eq!(e.layer, Some(1));
    assert!(
        e.to_string().starts_with("layer 2 `conv(2, 3, stride 1, padding 1)`: this layer has no reference (dfdx) implementation"),
        "{e}"
    );
    let flat = StackSpec {
        input: 16,
        layers: vec![
            LayerSpec::Dense {
                units: 3,
                irange: None,
            },
            LayerSpec::Relu,
        ],
    };
    assert_eq!(flat.try_reference(), Ok(()));
}
