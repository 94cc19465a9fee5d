use super::*;
use crate::engine::layers::testing::check_paths;
use crate::engine::spec::LayerSpec;
use crate::engine::{device, rng};

fn mat(dev: &Dev, rows: usize, cols: usize, v: Vec<f32>) -> Mat {
    dev.tensor_from_vec(v, (rows, cols))
}

#[test]
fn fast_path_matches_dfdx_for_dense_and_maxout() {
    check_paths(
        &LayerSpec::Dense {
            units: 5,
            irange: Some(0.7),
        },
        6,
    );
    check_paths(
        &LayerSpec::Maxout {
            units: 4,
            pieces: 3,
            irange: Some(0.7),
        },
        6,
    );
}

#[test]
fn maxout_takes_the_max_over_contiguous_pieces() {
    let dev = device();
    // identity weights: 4 inputs → 2 units × 2 pieces
    let mut w = vec![0.0f32; 16];
    for i in 0..4 {
        w[i * 4 + i] = 1.0;
    }
    let layer = Affine {
        w: mat(&dev, 4, 4, w),
        b: dev.zeros_like(&(4,)),
        maxout_pieces: Some(2),
    };
    let x = mat(&dev, 1, 4, vec![1.0, 3.0, -2.0, -5.0]);
    let y = Layer::forward(&layer, x, &mut Masks::Off);
    assert_eq!(y.as_vec(), vec![3.0, -2.0]);
}

#[test]
fn parameter_count_is_checked() {
    let k = AffineKind::maxout(3, 2, None);
    assert_eq!(k.param_count(Shape::Flat(4)), Some(5 * 3 * 2));
    assert_eq!(
        AffineKind::dense(7, None).param_count(Shape::Flat(0)),
        Some(7)
    );
    assert_eq!(
        k.param_count(Shape::Flat(usize::MAX)),
        None,
        "input + 1 overflows"
    );
    assert_eq!(
        AffineKind::maxout(usize::MAX / 2, 3, None).param_count(Shape::Flat(1)),
        None
    );
    assert_eq!(
        AffineKind::maxout(usize::MAX / 2, 3, None)
            .output_shape(Shape::Flat(1))
            .unwrap_err(),
        format!("maxout size {} × 3 overflows", usize::MAX / 2)
    );
}

/// Finite differences (f64 central, on an f32 network: tolerance accordingly) for dense and
/// maxout weights, biases and inputs, with activations in between.
#[test]
fn dense_and_maxout_gradients_match_finite_differences() {
    let dev = device();
    let mut r = rng::stream(7, rng::Purpose::InitD, 0);
    let specs = [
        LayerSpec::Maxout {
            units: 3,
            pieces: 2,
            irange: Some(0.8),
        },
        LayerSpec::Tanh,
        LayerSpec::Dense {
            units: 2,
            irange: Some(0.8),
        },
        LayerSpec::LeakyRelu { slope: 0.2 },
        LayerSpec::Dense {
            units: 1,
            irange: Some(0.8),
        },
    ];
    let mut width = Shape::Flat(4);
    let mut layers: Vec<Box<dyn Layer>> = Vec::new();
    for s in &specs {
        let k = s.kind();
        layers.push(k.build(width, 0.0, &dev, &mut r));
        width = k.output_shape(width).unwrap();
    }
    // give biases non-zero values so their gradients are exercised off the kink
    for l in layers.iter_mut() {
        for (_, p) in l.params_mut() {
            if let Param::Vector(b) = p {
                let n = b.shape().0;
                b.copy_from(&(0..n).map(|i| 0.1 * i as f32 - 0.05).collect::<Vec<_>>());
            }
        }
    }
    let xv: Vec<f32> = vec![0.3, -0.7, 1.1, 0.05, -0.2, 0.9, -1.3, 0.4];
    let loss_of = |layers: &[Box<dyn Layer>], xv: &[f32]| -> f64 {
        let mut h = mat(&dev, 2, 4, xv.to_vec());
        for l in layers {
            h = l.forward(h, &mut Masks::Off);
        }
        h.as_vec()
            .iter()
            .map(|&v| (v as f64) * (v as f64 + 1.0))
            .sum()
    };
    // analytic
    let x = mat(&dev, 2, 4, xv.clone());
    let mut h = x.leaky_trace();
    for l in &layers {
        h = l.forward_traced(h, &mut Masks::Off);
    }
    let loss = (h.with_empty_tape() * (h + 1.0)).sum();
    let grads = loss.backward();
    let eps = 1e-2f32;
    let tol = |a: f64, n: f64| (a - n).abs() <= 2e-3 + 2e-2 * n.abs();
    // inputs
    let gx = grads.get(&x).as_vec();
    for i in 0..xv.len() {
        let (mut p, mut m) = (xv.clone(), xv.clone());
        p[i] += eps;
        m[i] -= eps;
        let num = (loss_of(&layers, &p) - loss_of(&layers, &m)) / (2.0 * eps as f64);
        assert!(tol(gx[i] as f64, num), "input {i}: {} vs {num}", gx[i]);
    }
    // every parameter of every layer
    let mut checked = 0;
    for li in 0..layers.len() {
        let names: Vec<(&str, Vec<f32>, Vec<f32>)> = layers[li]
            .params()
            .into_iter()
            .map(|(n, p)| {
                let g = match &p {
                    ParamRef::Matrix(m) => grads.get(*m).as_vec(),
                    ParamRef::Vector(v) => grads.get(*v).as_vec(),
                };
                (n, p.values(), g)
            })
            .collect();
        for (pi, (pname, values, g)) in names.into_iter().enumerate() {
            for (j, &gj) in g.iter().enumerate() {
                let shifted = |d: f32| {
                    let mut ls = layers.clone();
                    let mut v = values.clone();
                    v[j] += d;
                    match ls[li].params_mut().swap_remove(pi).1 {
                        Param::Matrix(m) => m.copy_from(&v),
                        Param::Vector(b) => b.copy_from(&v),
                    }
                    loss_of(&ls, &xv)
                };
                let num = (shifted(eps) - shifted(-eps)) / (2.0 * eps as f64);
                assert!(
                    tol(gj as f64, num),
                    "layer {li} {pname}[{j}]: {gj} vs {num}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(
        checked,
        (4 + 1) * 6 + (3 + 1) * 2 + (2 + 1),
        "every parameter"
    );
}
