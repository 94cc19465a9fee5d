use super::*;
use crate::engine::device;
use crate::engine::layers::conv_transpose::ConvTransposeKind;
use crate::engine::layers::fd::check_gradients;
use crate::engine::layers::Seg;
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
        irange: None,
        untied_bias: false,
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

/// One forward over `rows` rows of `x`, then one backward sweep over `segs` (output gradients
/// `coef`); returns the input gradient (NaN where no segment wants one) and the weight gradient.
fn sweep(
    layer: &dyn Layer,
    win: usize,
    wout: usize,
    x: &[f32],
    coef: &[f32],
    segs: &[Seg],
    lo_in: usize,
) -> (Vec<f32>, Vec<f32>) {
    use crate::engine::layers::testing::Collect;
    let rows = x.len() / win;
    let total: usize = segs.iter().map(|s| s.rows).sum();
    let mut fast = layer.mirror();
    let mut y = vec![0f32; rows * wout];
    fast.forward(ForwardPass {
        rows,
        win,
        wout,
        x,
        y: &mut y,
        saved: &mut [],
        draw: None,
        drawn: &mut [],
    });
    let mut sink = Collect::default();
    let mut dx = vec![f32::NAN; total * win];
    let (mut scratch, mut gb) = (Vec::new(), Vec::new());
    fast.backward(BackwardPass {
        layer: 0,
        segs,
        total,
        lo_in,
        lo_out: 0,
        win,
        wout,
        x,
        y: &y,
        saved: &[],
        cur: coef,
        nxt: &mut dx,
        scratch: &mut scratch,
        gb: &mut gb,
        sink: Some(&mut sink),
    });
    (dx, sink.gw)
}

#[test]
fn a_sweep_of_weight_and_input_only_segments_gives_each_its_own_gradients() {
    // The simultaneous step's sweep: 2 rows feed the weights (the forward's rows, whose im2col
    // is reused), then 1 row (tape row 1 again) only carries an input gradient (no weight GEMM,
    // no im2col). Each part must equal a sweep of its rows alone, bit for bit.
    let input = img(2, 6, 6);
    for ls in [
        LayerSpec::Conv(spec(3, 4, 2, 1, true)),
        LayerSpec::ConvTranspose(spec(3, 4, 2, 1, true)),
    ] {
        let kind = ls.kind();
        let out = kind.output_shape(input).unwrap();
        let (win, wout) = (input.len().unwrap(), out.len().unwrap());
        let layer = kind.build(input, 0.5, &device(), &mut stream(5, Purpose::InitD, 0));
        let x: Vec<f32> = (0..2 * win)
            .map(|i| ((i * 37 % 101) as f32) / 50.0 - 1.0)
            .collect();
        let coef: Vec<f32> = (0..3 * wout)
            .map(|i| ((i * 53 % 97) as f32) / 48.0 - 1.0)
            .collect();
        let seg = |delta, tape, rows, weights| Seg {
            delta,
            tape,
            rows,
            weights,
        };
        let both = [seg(0, 0, 2, true), seg(2, 1, 1, false)];
        let (dx, gw) = sweep(layer.as_ref(), win, wout, &x, &coef, &both, 0);
        let (dx_w, gw_w) = sweep(
            layer.as_ref(),
            win,
            wout,
            &x,
            &coef[..2 * wout],
            &both[..1],
            0,
        );
        let (dx_1, gw_1) = sweep(
            layer.as_ref(),
            win,
            wout,
            &x[win..],
            &coef[2 * wout..],
            &[seg(0, 0, 1, false)],
            0,
        );
        let name = ls.name();
        assert_eq!(
            dx[..2 * win],
            dx_w[..],
            "{name}: input gradient of the weight rows"
        );
        assert_eq!(
            dx[2 * win..],
            dx_1[..],
            "{name}: input gradient of the last row"
        );
        assert_eq!(
            gw, gw_w,
            "{name}: weight gradient from the weight rows only"
        );
        assert!(
            gw_1.is_empty(),
            "{name}: no weight gradient without a weight segment"
        );
        // weight rows other than the forward's: recomputed, the same as reusing a forward of them
        let (dx_r, gw_r) = sweep(
            layer.as_ref(),
            win,
            wout,
            &x,
            &coef[..wout],
            &[seg(0, 1, 1, true)],
            0,
        );
        let (dx_f, gw_f) = sweep(
            layer.as_ref(),
            win,
            wout,
            &x[win..],
            &coef[..wout],
            &[seg(0, 0, 1, true)],
            0,
        );
        assert_eq!(
            (dx_r, gw_r),
            (dx_f, gw_f),
            "{name}: recomputed vs reused forward buffers"
        );
    }
}

#[test]
fn untied_bias_backward_matches_finite_differences() {
    // the paper's CIFAR-10 "Deconv" (tied_b: 0) in small: stride 3, no padding, a bias per value
    let mut s = spec(2, 5, 3, 0, true);
    s.untied_bias = true;
    check_gradients(
        &LayerSpec::ConvTranspose(s),
        img(3, 2, 3),
        &[2, 1],
        1e-2,
        2e-3,
        60,
    );
    let mut c = spec(2, 3, 1, 1, true);
    c.untied_bias = true;
    check_gradients(&LayerSpec::Conv(c), img(2, 4, 3), &[3], 1e-2, 2e-3, 60);
}

#[test]
fn an_untied_bias_adds_one_value_per_output_position() {
    use crate::engine::layers::fd::train_forward;
    let dev = device();
    let input = img(4, 3, 3);
    let mut untied = spec(3, 5, 3, 0, true);
    untied.untied_bias = true;
    let kind = ConvTransposeKind(untied);
    // (3 − 1)·3 + 5 = 11: a bias for each of 3·11·11 values
    assert_eq!(kind.output_shape(input), Ok(img(3, 11, 11)));
    assert_eq!(kind.param_count(input), Some(4 * 3 * 25 + 3 * 11 * 11));
    let mut layer = kind.build(input, 0.05, &dev, &mut stream(1, Purpose::InitG, 0));
    let bias: Vec<f32> = (0..3 * 11 * 11).map(|i| (i as f32 * 0.37).sin()).collect();
    let w = layer.params()[0].1.values();
    match &mut layer.params_mut()[1].1 {
        Param::Vector(v) => v.copy_from(&bias),
        Param::Matrix(_) => panic!("b is a vector"),
    }
    // the same weights without a bias
    let mut plain = ConvTransposeKind(spec(3, 5, 3, 0, false)).build(
        input,
        0.05,
        &dev,
        &mut stream(1, Purpose::InitG, 0),
    );
    match &mut plain.params_mut()[0].1 {
        Param::Matrix(m) => m.copy_from(&w),
        Param::Vector(_) => panic!("w is a matrix"),
    }
    let x: Vec<f32> = (0..2 * 36).map(|i| (i as f32 * 0.11).cos()).collect();
    let y = train_forward(layer.as_ref(), 36, 363, &x, &[2]);
    let y0 = train_forward(plain.as_ref(), 36, 363, &x, &[2]);
    for (i, (a, b)) in y.iter().zip(&y0).enumerate() {
        assert_eq!(*a, b + bias[i % 363], "value {i}");
    }
    let mut no_bias = untied;
    no_bias.bias = false;
    let e = ConvTransposeKind(no_bias).output_shape(input).unwrap_err();
    assert!(e.contains("untied_bias needs bias: true"), "{e}");
}

#[test]
fn irange_draws_weights_uniform_as_pylearn2_does() {
    let dev = device();
    let mut s = spec(64, 8, 1, 4, true);
    s.irange = Some(0.005);
    let layer = ConvKind(s).build(
        img(3, 32, 32),
        0.05,
        &dev,
        &mut stream(1, Purpose::InitD, 0),
    );
    let params = layer.params();
    let w = params[0].1.values();
    assert_eq!(w.len(), 64 * 3 * 64);
    let n = w.len() as f64;
    let mean = w.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = w.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    // U(−r, r): variance r²/3, every draw inside, the extremes near ±r
    let r = 0.005f64;
    assert!(w.iter().all(|&v| (v as f64).abs() <= r));
    assert!(w.iter().any(|&v| v as f64 > 0.99 * r) && w.iter().any(|&v| (v as f64) < -0.99 * r));
    assert!(
        mean.abs() < 2e-4 && (var / (r * r / 3.0) - 1.0).abs() < 0.05,
        "mean {mean}, var {var}"
    );
    assert!(params[1].1.values().iter().all(|&v| v == 0.0));
    // a spec without the new options keeps its JSON (and so its checkpoints' bytes)
    let json = serde_json::to_string(&spec(2, 3, 1, 1, true)).unwrap();
    assert_eq!(
        json,
        r#"{"out_channels":2,"kernel":3,"stride":1,"padding":1,"output_padding":0,"bias":true}"#
    );
    s.irange = Some(-1.0);
    assert!(ConvKind(s).output_shape(img(3, 32, 32)).is_err());
}
