//! Built layers on runtime-sized dfdx tensors, and the dropout-mask context of one forward pass.

use dfdx::prelude::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::spec::LayerSpec;
use super::{Dev, Mat, Vector};

/// A built layer. Weights are `(in, out)` so a batch `(B, in)` maps by `x · W` (pylearn2's layout).
#[derive(Clone, Debug)]
pub enum Layer {
    /// `x · w + b`; for maxout, `units × pieces` columns, unit j's pieces contiguous.
    Affine {
        w: Mat,
        b: Vector,
        maxout_pieces: Option<usize>,
    },
    Relu,
    LeakyRelu(f32),
    Sigmoid,
    Tanh,
    Dropout {
        keep: f32,
    },
}

/// How dropout behaves during one forward pass.
pub enum Masks<'a> {
    /// Evaluation: dropout is the identity.
    Off,
    /// Training: draw a fresh mask per dropout layer from `rng`, recording each so the same pass
    /// can be replayed (the simultaneous update needs D's pass over G(z) twice with one mask).
    Draw {
        rng: &'a mut ChaCha8Rng,
        record: &'a mut Vec<Mat>,
    },
    /// Replay masks recorded by an earlier `Draw`, in order.
    Replay { masks: &'a [Mat], next: usize },
}

impl Masks<'_> {
    /// The mask for a dropout layer: 0 or `1/keep` per entry, or `None` when dropout is off.
    fn next(&mut self, dev: &Dev, shape: (usize, usize), keep: f32) -> Option<Mat> {
        match self {
            Masks::Off => None,
            Masks::Draw { rng, record } => {
                let scale = 1.0 / keep;
                let n = shape.0 * shape.1;
                let v: Vec<f32> = (0..n)
                    .map(|_| if rng.gen::<f32>() < keep { scale } else { 0.0 })
                    .collect();
                let m = dev.tensor_from_vec(v, shape);
                record.push(m.clone());
                Some(m)
            }
            Masks::Replay { masks, next } => {
                let m = masks
                    .get(*next)
                    .expect("replayed pass has more dropout layers than recorded");
                assert_eq!(m.shape(), &shape, "replayed dropout mask shape");
                *next += 1;
                Some(m.clone())
            }
        }
    }
}

impl Layer {
    /// Builds a layer from its spec: weights uniform on ±irange from `rng`, biases 0.
    pub fn build(
        spec: &LayerSpec,
        input: usize,
        default_irange: f64,
        dev: &Dev,
        rng: &mut ChaCha8Rng,
    ) -> Layer {
        let affine =
            |out: usize, irange: Option<f64>, pieces: Option<usize>, rng: &mut ChaCha8Rng| {
                let r = irange.unwrap_or(default_irange) as f32;
                let w: Vec<f32> = (0..input * out)
                    .map(|_| if r > 0.0 { rng.gen_range(-r..r) } else { 0.0 })
                    .collect();
                Layer::Affine {
                    w: dev.tensor_from_vec(w, (input, out)),
                    b: dev.zeros_like(&(out,)),
                    maxout_pieces: pieces,
                }
            };
        match *spec {
            LayerSpec::Dense { units, irange } => affine(units, irange, None, rng),
            LayerSpec::Maxout {
                units,
                pieces,
                irange,
            } => affine(units * pieces, irange, Some(pieces), rng),
            LayerSpec::Relu => Layer::Relu,
            LayerSpec::LeakyRelu { slope } => Layer::LeakyRelu(slope as f32),
            LayerSpec::Sigmoid => Layer::Sigmoid,
            LayerSpec::Tanh => Layer::Tanh,
            LayerSpec::Dropout { keep } => Layer::Dropout { keep: keep as f32 },
        }
    }

    /// `(B, in) → (B, out)`.
    pub fn forward<T: Tape<f32, Dev>>(&self, x: Mat<T>, masks: &mut Masks) -> Mat<T> {
        match self {
            Layer::Affine {
                w,
                b,
                maxout_pieces,
            } => {
                let batch = x.shape().0;
                let cols = w.shape().1;
                // (B, in) · (in, cols) + b broadcast over rows → (B, cols)
                let z =
                    x.matmul(w.clone()) + b.clone().broadcast_like::<_, Axis<0>>(&(batch, cols));
                match maxout_pieces {
                    None => z,
                    Some(p) => {
                        // (B, units·p) → (B, units, p) → max over pieces → (B, units)
                        z.reshape_like(&(batch, cols / p, *p))
                            .max::<(usize, usize), Axis<2>>()
                    }
                }
            }
            Layer::Relu => x.relu(),
            Layer::LeakyRelu(a) => {
                // max(x, 0) + a·min(x, 0)
                let neg = x.with_empty_tape().negate().relu().negate() * *a;
                x.relu() + neg
            }
            Layer::Sigmoid => x.sigmoid(),
            Layer::Tanh => x.tanh(),
            Layer::Dropout { keep } => {
                if *keep >= 1.0 {
                    return x;
                }
                let shape = *x.shape();
                match masks.next(x.device(), shape, *keep) {
                    Some(mask) => x * mask,
                    None => x,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{device, rng};

    fn mat(dev: &Dev, rows: usize, cols: usize, v: Vec<f32>) -> Mat {
        dev.tensor_from_vec(v, (rows, cols))
    }

    #[test]
    fn maxout_takes_the_max_over_contiguous_pieces() {
        let dev = device();
        // identity weights: 4 inputs → 2 units × 2 pieces
        let mut w = vec![0.0f32; 16];
        for i in 0..4 {
            w[i * 4 + i] = 1.0;
        }
        let layer = Layer::Affine {
            w: mat(&dev, 4, 4, w),
            b: dev.zeros_like(&(4,)),
            maxout_pieces: Some(2),
        };
        let x = mat(&dev, 1, 4, vec![1.0, 3.0, -2.0, -5.0]);
        let y = layer.forward(x, &mut Masks::Off);
        assert_eq!(y.as_vec(), vec![3.0, -2.0]);
    }

    #[test]
    fn dropout_scales_kept_values_in_training_and_is_identity_in_eval() {
        let dev = device();
        let layer = Layer::Dropout { keep: 0.8 };
        let x = mat(&dev, 100, 100, vec![1.0; 10_000]);
        assert_eq!(
            layer.forward(x.clone(), &mut Masks::Off).as_vec(),
            vec![1.0; 10_000]
        );
        let mut r = rng::stream(3, rng::Purpose::Step, 0);
        let mut rec = Vec::new();
        let y = layer
            .forward(
                x.clone(),
                &mut Masks::Draw {
                    rng: &mut r,
                    record: &mut rec,
                },
            )
            .as_vec();
        assert!(
            y.iter().all(|&v| v == 0.0 || v == 1.25),
            "kept values are scaled by 1/keep"
        );
        let kept = y.iter().filter(|&&v| v > 0.0).count() as f64 / 1e4;
        assert!((kept - 0.8).abs() < 0.02, "kept fraction {kept}");
        let mean = y.iter().map(|&v| v as f64).sum::<f64>() / 1e4;
        assert!(
            (mean - 1.0).abs() < 0.03,
            "inverted scaling keeps the mean: {mean}"
        );
        // replay gives the same mask
        let z = layer
            .forward(
                x,
                &mut Masks::Replay {
                    masks: &rec,
                    next: 0,
                },
            )
            .as_vec();
        assert_eq!(y, z);
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
        let mut width = 4;
        let mut layers = Vec::new();
        for s in &specs {
            layers.push(Layer::build(s, width, 0.0, &dev, &mut r));
            width = s.output_size(width).unwrap();
        }
        // give biases non-zero values so their gradients are exercised off the kink
        for l in layers.iter_mut() {
            if let Layer::Affine { b, .. } = l {
                let n = b.shape().0;
                *b = dev.tensor_from_vec((0..n).map(|i| 0.1 * i as f32 - 0.05).collect(), (n,));
            }
        }
        let xv: Vec<f32> = vec![0.3, -0.7, 1.1, 0.05, -0.2, 0.9, -1.3, 0.4];
        let loss_of = |layers: &[Layer], xv: &[f32]| -> f64 {
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
            h = l.forward(h, &mut Masks::Off);
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
        // parameters of every affine layer
        for li in 0..layers.len() {
            let Layer::Affine { w, b, .. } = &layers[li] else {
                continue;
            };
            let (gw, gb) = (grads.get(w).as_vec(), grads.get(b).as_vec());
            let (wv, bv) = (w.as_vec(), b.as_vec());
            for (j, &g) in gw.iter().enumerate() {
                let mut lp = layers.clone();
                let mut lm = layers.clone();
                for (l, d) in [(&mut lp[li], eps), (&mut lm[li], -eps)] {
                    if let Layer::Affine { w, .. } = l {
                        let mut v = wv.clone();
                        v[j] += d;
                        *w = dev.tensor_from_vec(v, *w.shape());
                    }
                }
                let num = (loss_of(&lp, &xv) - loss_of(&lm, &xv)) / (2.0 * eps as f64);
                assert!(tol(g as f64, num), "layer {li} w[{j}]: {g} vs {num}");
            }
            for (j, &g) in gb.iter().enumerate() {
                let mut lp = layers.clone();
                let mut lm = layers.clone();
                for (l, d) in [(&mut lp[li], eps), (&mut lm[li], -eps)] {
                    if let Layer::Affine { b, .. } = l {
                        let mut v = bv.clone();
                        v[j] += d;
                        *b = dev.tensor_from_vec(v, *b.shape());
                    }
                }
                let num = (loss_of(&lp, &xv) - loss_of(&lm, &xv)) / (2.0 * eps as f64);
                assert!(tol(g as f64, num), "layer {li} b[{j}]: {g} vs {num}");
            }
        }
    }
}
