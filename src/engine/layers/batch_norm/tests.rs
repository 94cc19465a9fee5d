use super::*;
use crate::engine::device;
use crate::engine::layers::fd::{check_gradients, passes, train_forward};
use crate::engine::layers::{BackwardPass, Seg};
use crate::engine::network::{Network, Role};
use crate::engine::rng::{stream, Purpose};
use crate::engine::spec::{LayerSpec, StackSpec};
use rand::Rng;

const BN: LayerSpec = LayerSpec::BatchNorm {
    momentum: 0.1,
    eps: 1e-5,
};

fn img(c: usize, h: usize, w: usize) -> Shape {
    Shape::Image { c, h, w }
}

fn built(input: Shape) -> Box<dyn Layer> {
    BN.kind()
        .build(input, 0.0, &device(), &mut stream(2, Purpose::InitD, 0))
}

#[test]
fn batch_norm_backward_matches_finite_differences() {
    // small passes make batch norm strongly curved: a small step, f32 noise allowed for
    check_gradients(&BN, img(3, 2, 2), &[3, 2], 2e-3, 5e-3, 40);
    check_gradients(&BN, Shape::Flat(5), &[4, 4], 2e-3, 5e-3, 40);
}

/// Input gradient of `Σ coef ⊙ y` for one training pass per entry of `pass_rows`, with the
/// backward split into `segs` as the fast step splits it.
fn input_grad(
    layer: &dyn Layer,
    win: usize,
    x: &[f32],
    pass_rows: &[usize],
    coef: &[f32],
    segs: &[Seg],
) -> Vec<f32> {
    let rows = x.len() / win;
    let mut fast = layer.mirror();
    let mut y = vec![0f32; rows * win];
    let rng = stream(3, Purpose::Step, 0);
    let ps = passes(pass_rows);
    fast.forward(ForwardPass {
        rows,
        win,
        wout: win,
        x,
        y: &mut y,
        saved: &mut [],
        draw: Some((&rng, &ps)),
        drawn: &mut vec![0; ps.len()],
    });
    let total = coef.len() / win;
    let mut nxt = vec![f32::NAN; total * win];
    fast.backward(BackwardPass {
        layer: 0,
        segs,
        total,
        lo_in: 0,
        lo_out: 0,
        win,
        wout: win,
        x,
        y: &y,
        saved: &[],
        cur: coef,
        nxt: &mut nxt,
        scratch: &mut Vec::new(),
        gb: &mut Vec::new(),
        sink: None,
    });
    nxt
}

/// The simultaneous scheme's one pass over `[real; fake]` is two passes: each half normalised by
/// its own statistics, the running statistics moved twice, the gradients those of two calls.
#[test]
fn one_pass_over_real_and_fake_equals_two_separate_passes() {
    let shape = img(2, 3, 3);
    let (w, b) = (18, 4);
    let mut r = stream(8, Purpose::InitG, 0);
    let real: Vec<f32> = (0..b * w).map(|_| r.gen_range(0.0..1.0)).collect();
    let fake: Vec<f32> = (0..b * w).map(|_| r.gen_range(-2.0..3.0)).collect();
    let both = [real.clone(), fake.clone()].concat();

    let joint = built(shape);
    let y = train_forward(joint.as_ref(), w, w, &both, &[b, b]);
    let apart = built(shape);
    let yr = train_forward(apart.as_ref(), w, w, &real, &[b]);
    let yf = train_forward(apart.as_ref(), w, w, &fake, &[b]);
    assert_eq!(y, [yr, yf].concat(), "outputs");
    assert_eq!(joint.state(), apart.state(), "running statistics");
    // not the statistics of all 2b rows at once
    let pooled = train_forward(built(shape).as_ref(), w, w, &both, &[2 * b]);
    assert_ne!(pooled, y);

    // gradients: [D loss on real; D loss on fake; G loss on fake] as the simultaneous step lays them out
    let coef: Vec<f32> = (0..3 * b * w).map(|_| r.gen_range(-1.0..1.0)).collect();
    let segs = [
        Seg {
            delta: 0,
            tape: 0,
            rows: 2 * b,
            weights: true,
        },
        Seg {
            delta: 2 * b,
            tape: b,
            rows: b,
            weights: false,
        },
    ];
    let g = input_grad(joint.as_ref(), w, &both, &[b, b], &coef, &segs);
    let one = |x: &[f32], c: &[f32]| {
        let seg = [Seg {
            delta: 0,
            tape: 0,
            rows: b,
            weights: true,
        }];
        input_grad(built(shape).as_ref(), w, x, &[b], c, &seg)
    };
    let (bw, cw) = (b * w, &coef);
    assert_eq!(&g[..bw], &one(&real, &cw[..bw])[..], "real half");
    assert_eq!(
        &g[bw..2 * bw],
        &one(&fake, &cw[bw..2 * bw])[..],
        "fake half, D loss"
    );
    assert_eq!(
        &g[2 * bw..],
        &one(&fake, &cw[2 * bw..])[..],
        "fake half, G loss"
    );
}

/// Evaluation normalises with the running statistics, which training moved by PyTorch's rule.
#[test]
fn evaluation_uses_the_running_statistics() {
    let layer = built(Shape::Flat(1));
    let x = [1.0f32, 2.0, 3.0, 6.0];
    train_forward(layer.as_ref(), 1, 1, &x, &[4]);
    // mean 3, unbiased variance 14/3; momentum 0.1 from (0, 1)
    let (rm, rv) = (0.1 * 3.0, 0.9 + 0.1 * 14.0 / 3.0);
    let st = layer.state();
    assert!(
        (st[0].1[0] - rm).abs() < 1e-6 && (st[1].1[0] - rv).abs() < 1e-6,
        "{st:?}"
    );
    let fast = layer.mirror();
    let mut y = [0f32; 1];
    fast.forward(ForwardPass {
        rows: 1,
        win: 1,
        wout: 1,
        x: &[2.0],
        y: &mut y,
        saved: &mut [],
        draw: None,
        drawn: &mut [],
    });
    let gamma = layer.params()[0].1.values()[0];
    let want = (2.0 - rm) / (rv + 1e-5f32).sqrt() * gamma;
    assert!((y[0] - want).abs() < 1e-6, "{} vs {want}", y[0]);
}

#[test]
fn running_statistics_travel_with_the_network_export() {
    let spec = StackSpec {
        input: 8,
        layers: vec![LayerSpec::Reshape { c: 2, h: 2, w: 2 }, BN, LayerSpec::Relu],
    };
    let dev = device();
    let mut a = Network::try_build(
        &spec,
        Role::Generator,
        &dev,
        &mut stream(1, Purpose::InitG, 0),
    )
    .unwrap();
    let x: Vec<f32> = (0..24).map(|i| (i as f32 * 0.37).sin()).collect();
    train_forward(a.layers[1].as_ref(), 8, 8, &x, &[3]);
    let ex = a.export();
    let names: Vec<&str> = ex.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names,
        ["1.gamma", "1.beta", "1.running_mean", "1.running_var"]
    );
    assert_ne!(
        ex[2].values,
        vec![0.0, 0.0],
        "training moved the running mean"
    );
    let mut b = Network::try_build(
        &spec,
        Role::Generator,
        &dev,
        &mut stream(9, Purpose::InitG, 0),
    )
    .unwrap();
    b.try_import(&ex).unwrap();
    assert_eq!(b.export(), ex);
    let e = b.try_import(&ex[..3]).unwrap_err();
    assert_eq!(e, "layer state `1.running_var` is missing");
}

#[test]
fn bad_settings_are_refused() {
    let k = |momentum, eps| BatchNormKind { momentum, eps };
    assert!(k(1.5, 1e-5)
        .output_shape(Shape::Flat(3))
        .unwrap_err()
        .contains("momentum must be in [0, 1], got 1.5"));
    assert!(k(0.1, 0.0)
        .output_shape(Shape::Flat(3))
        .unwrap_err()
        .contains("eps must be in (0, 1], got 0"));
    assert_eq!(k(0.1, 1e-5).param_count(img(64, 7, 7)), Some(128));
}
