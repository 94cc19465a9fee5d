//! Finite-difference truth for the layers that have no reference (dfdx) path: their fast
//! backward, through the [`FastLayer`] interface, against central differences of their fast
//! forward in training mode (rows split into passes as the fast step splits them).

use dfdx::prelude::*;
use rand::Rng;

use super::testing::Collect;
use super::{BackwardPass, ForwardPass, Layer, Param, Pass, Seg, Shape};
use crate::engine::device;
use crate::engine::rng::{stream, Purpose};
use crate::engine::spec::LayerSpec;

/// The training forward of `layer` (mirrored afresh) over `x`, in passes of `pass_rows` rows.
pub fn train_forward(
    layer: &dyn Layer,
    win: usize,
    wout: usize,
    x: &[f32],
    pass_rows: &[usize],
) -> Vec<f32> {
    let rows = x.len() / win;
    let fast = layer.mirror();
    let mut y = vec![0f32; rows * wout];
    let mut saved = vec![0f32; rows * fast.saved_width(win)];
    let rng = stream(3, Purpose::Step, 0);
    let passes = passes(pass_rows);
    let mut drawn = vec![0u128; passes.len()];
    fast.forward(ForwardPass {
        rows,
        win,
        wout,
        x,
        y: &mut y,
        saved: &mut saved,
        draw: Some((&rng, &passes)),
        drawn: &mut drawn,
    });
    y
}

pub fn passes(pass_rows: &[usize]) -> Vec<Pass> {
    let mut first_row = 0;
    pass_rows
        .iter()
        .map(|&rows| {
            let p = Pass {
                first_row,
                rows,
                pos: 0,
            };
            first_row += rows;
            p
        })
        .collect()
}

fn loss(y: &[f32], coef: &[f32]) -> f64 {
    y.iter().zip(coef).map(|(&a, &c)| a as f64 * c as f64).sum()
}

fn close(what: &str, i: usize, analytic: f32, numeric: f64, tol: f64) {
    let (a, n) = (analytic as f64, numeric);
    assert!(
        (a - n).abs() <= tol * (1.0 + n.abs()),
        "{what}[{i}]: backward {a} vs finite difference {n}"
    );
}

/// Builds `spec` on `input` and checks its fast backward of `loss = Σ c ⊙ y` (input gradient,
/// then every parameter's) against central differences with step `h`, within `tol` (relative to
/// 1 + |gradient|), at up to `probes` entries of each.
pub fn check_gradients(
    spec: &LayerSpec,
    input: Shape,
    pass_rows: &[usize],
    h: f32,
    tol: f64,
    probes: usize,
) {
    let name = spec.name();
    let dev = device();
    let kind = spec.kind();
    let (win, wout) = (
        input.len().unwrap(),
        kind.output_shape(input).expect("valid spec").len().unwrap(),
    );
    let mut layer = kind.build(input, 0.5, &dev, &mut stream(5, Purpose::InitD, 0));
    // non-zero biases and varied weights, away from any symmetric point
    let mut r = stream(12, Purpose::InitG, 2);
    for (_, p) in layer.params_mut() {
        match p {
            Param::Vector(v) => {
                let n = v.shape().0;
                v.copy_from(&(0..n).map(|_| r.gen_range(-0.5..0.5)).collect::<Vec<_>>());
            }
            Param::Matrix(m) => {
                let n = m.shape().0 * m.shape().1;
                let old = m.as_vec();
                m.copy_from(
                    &(0..n)
                        .map(|i| old[i] + r.gen_range(-0.3..0.3))
                        .collect::<Vec<_>>(),
                );
            }
        }
    }
    let rows: usize = pass_rows.iter().sum();
    let x: Vec<f32> = (0..rows * win).map(|_| r.gen_range(-1.0..1.0)).collect();
    let coef: Vec<f32> = (0..rows * wout).map(|_| r.gen_range(-1.0..1.0)).collect();

    // analytic: one training forward, one backward sweep over all rows (weights and input)
    let mut fast = layer.mirror();
    let mut y = vec![0f32; rows * wout];
    let mut saved = vec![0f32; rows * fast.saved_width(win)];
    let rng = stream(3, Purpose::Step, 0);
    let ps = passes(pass_rows);
    let mut drawn = vec![0u128; ps.len()];
    fast.forward(ForwardPass {
        rows,
        win,
        wout,
        x: &x,
        y: &mut y,
        saved: &mut saved,
        draw: Some((&rng, &ps)),
        drawn: &mut drawn,
    });
    let mut sink = Collect::default();
    let mut dx = vec![f32::NAN; rows * win];
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
        win,
        wout,
        x: &x,
        y: &y,
        saved: &saved,
        cur: &coef,
        nxt: &mut dx,
        scratch: &mut scratch,
        gb: &mut gb,
        sink: Some(&mut sink),
    });
    assert_eq!(
        sink.done,
        !layer.params().is_empty(),
        "{name}: parameters reported"
    );

    let step = |n: usize| (n / probes.max(1)).max(1);
    let mut xp = x.clone();
    for i in (0..x.len()).step_by(step(x.len())) {
        xp[i] = x[i] + h;
        let up = loss(
            &train_forward(layer.as_ref(), win, wout, &xp, pass_rows),
            &coef,
        );
        xp[i] = x[i] - h;
        let down = loss(
            &train_forward(layer.as_ref(), win, wout, &xp, pass_rows),
            &coef,
        );
        xp[i] = x[i];
        close(
            &format!("{name} input gradient"),
            i,
            dx[i],
            (up - down) / (2.0 * h as f64),
            tol,
        );
    }
    let n_params = layer.params().len();
    for j in 0..n_params {
        let (pname, values) = {
            let (n, p) = &layer.params()[j];
            (*n, p.values())
        };
        let analytic = if j == 0 { &sink.gw } else { &sink.gb };
        assert_eq!(analytic.len(), values.len(), "{name}: gradient of {pname}");
        let set = |layer: &mut Box<dyn Layer>, v: &[f32]| match layer.params_mut().swap_remove(j).1
        {
            Param::Matrix(m) => m.copy_from(v),
            Param::Vector(b) => b.copy_from(v),
        };
        let mut vp = values.clone();
        for i in (0..values.len()).step_by(step(values.len())) {
            vp[i] = values[i] + h;
            set(&mut layer, &vp);
            let up = loss(
                &train_forward(layer.as_ref(), win, wout, &x, pass_rows),
                &coef,
            );
            vp[i] = values[i] - h;
            set(&mut layer, &vp);
            let down = loss(
                &train_forward(layer.as_ref(), win, wout, &x, pass_rows),
                &coef,
            );
            vp[i] = values[i];
            set(&mut layer, &vp);
            close(
                &format!("{name} gradient of {pname}"),
                i,
                analytic[i],
                (up - down) / (2.0 * h as f64),
                tol,
            );
        }
    }
}
