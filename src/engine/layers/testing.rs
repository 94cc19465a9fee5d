//! The test every layer kind runs: its fast forward and backward against its dfdx forward and
//! dfdx's autograd, on one layer alone, in training (same random draws) and in evaluation.

use dfdx::prelude::*;

use super::{BackwardPass, ForwardPass, Masks, Pass, Seg, Shape, Sink};
use crate::engine::rng::{stream, Purpose};
use crate::engine::spec::LayerSpec;
use crate::engine::{device, Mat};

/// Collects what a backward sweep reports: the weight gradient and the bias gradient.
#[derive(Default)]
pub(crate) struct Collect {
    pub gw: Vec<f32>,
    pub gb: Vec<f32>,
    pub done: bool,
}

impl Sink for Collect {
    fn weight_target(&mut self, _: usize, len: usize) -> (&mut [f32], Option<f32>) {
        self.gw.resize(len, f32::NAN);
        (&mut self.gw, None)
    }
    fn done(&mut self, _: usize, _: &mut [f32], _: &mut [f32], gb: &[f32]) {
        self.gb = gb.to_vec();
        self.done = true;
    }
}

fn close(what: &str, fast: &[f32], reference: &[f32]) {
    assert_eq!(fast.len(), reference.len(), "{what}: length");
    for (i, (&f, &r)) in fast.iter().zip(reference).enumerate() {
        // the paths' GEMMs sum in different orders: allow f32 rounding of the sums
        assert!(
            (f - r).abs() <= 1e-5 * (1.0 + r.abs()),
            "{what}[{i}]: fast {f} vs dfdx {r}"
        );
    }
}

/// [`check_paths_with`] on inputs drawn from a fixed stream.
pub fn check_paths(spec: &LayerSpec, width: usize) {
    use rand::Rng;
    let mut r = stream(11, Purpose::InitG, 1);
    let x: Vec<f32> = (0..3 * width).map(|_| r.gen_range(-2.0..2.0)).collect();
    check_paths_with(spec, width, &x);
}

/// Builds `spec` for rows of `width` values and checks, on the rows `x`: the fast forward equals
/// the dfdx forward in evaluation and in training (same draws), and the fast backward of
/// `loss = Σ c ⊙ y` gives dfdx's input gradient and parameter gradients.
pub fn check_paths_with(spec: &LayerSpec, width: usize, x: &[f32]) {
    let name = spec.name();
    let dev = device();
    let rows = x.len() / width;
    let kind = spec.kind();
    let out = kind.output_shape(Shape::Flat(width)).expect("valid spec");
    let wout = out.len().unwrap();
    let mut layer = kind.build(
        Shape::Flat(width),
        0.5,
        &dev,
        &mut stream(5, Purpose::InitD, 0),
    );
    // non-zero biases, so their gradients are exercised off any kink
    for (_, p) in layer.params_mut() {
        if let super::Param::Vector(b) = p {
            let n = b.shape().0;
            b.copy_from(&(0..n).map(|i| 0.1 * i as f32 - 0.05).collect::<Vec<_>>());
        }
    }
    let coef: Vec<f32> = (0..rows * wout)
        .map(|i| 0.3 + 0.1 * (i % 7) as f32)
        .collect();
    let mut fast = layer.mirror();
    let saved_w = fast.saved_width(width);
    let xt: Mat = dev.tensor_from_vec(x.to_vec(), (rows, width));

    // evaluation
    let want = layer.forward(xt.clone(), &mut Masks::Off).as_vec();
    let (mut y, mut saved) = (vec![0f32; rows * wout], vec![0f32; rows * saved_w]);
    fast.forward(ForwardPass {
        rows,
        win: width,
        wout,
        x,
        y: &mut y,
        saved: &mut saved,
        draw: None,
        drawn: &mut [],
    });
    close(&format!("{name} eval output"), &y, &want);

    // training: the reference draws from the stream's start, the fast pass from word 0
    let rng = stream(3, Purpose::Step, 0);
    let mut rec = Vec::new();
    let yt = layer.forward_traced(
        xt.leaky_trace(),
        &mut Masks::Draw {
            rng: &mut rng.clone(),
            record: &mut rec,
        },
    );
    let want = yt.as_vec();
    let c: Mat = dev.tensor_from_vec(coef.clone(), (rows, wout));
    let grads = (yt * c).sum().backward();
    let mut drawn = [0u128];
    let passes = [Pass {
        first_row: 0,
        rows,
        pos: 0,
    }];
    fast.forward(ForwardPass {
        rows,
        win: width,
        wout,
        x,
        y: &mut y,
        saved: &mut saved,
        draw: Some((&rng, &passes)),
        drawn: &mut drawn,
    });
    close(&format!("{name} training output"), &y, &want);
    assert_eq!(
        drawn[0],
        fast.random_words(rows, width),
        "{name}: words drawn"
    );

    let mut sink = Collect::default();
    let mut nxt = vec![f32::NAN; rows * width];
    let (mut scratch, mut gb) = (Vec::new(), Vec::new());
    fast.backward(BackwardPass {
        layer: 0,
        segs: &[Seg {
            delta: 0,
            tape: 0,
            rows,
            weights: true,
        }],
        total: rows,
        lo_in: 0,
        lo_out: 0,
        win: width,
        wout,
        x,
        y: &y,
        saved: &saved,
        cur: &coef,
        nxt: &mut nxt,
        scratch: &mut scratch,
        gb: &mut gb,
        sink: Some(&mut sink),
    });
    close(
        &format!("{name} input gradient"),
        &nxt,
        &grads.get(&xt).as_vec(),
    );
    let params = layer.params();
    assert_eq!(sink.done, !params.is_empty(), "{name}: parameters reported");
    for (pname, p) in params {
        let g = match p {
            super::ParamRef::Matrix(m) => grads.get(m).as_vec(),
            super::ParamRef::Vector(v) => grads.get(v).as_vec(),
        };
        let got = if pname == "w" { &sink.gw } else { &sink.gb };
        close(&format!("{name} gradient of {pname}"), got, &g);
    }
}
