//! `batch_norm(#{momentum, eps})`: PyTorch's `BatchNorm2d` on images (per channel, over the batch
//! and the plane) and `BatchNorm1d` on flat rows (per feature); the kernels and their conventions
//! (biased variance to normalise, unbiased in the running variance, `momentum` the new batch's
//! weight) are [`crate::engine::ops::BatchNorm`]'s. Fast path only, like the convolutions.
//!
//! Training normalises with each *pass*'s own statistics and moves the running statistics once
//! per pass, in pass order; evaluation (sampling, `d_logits`, metrics) uses the running ones.
//! The simultaneous scheme runs D once over `[real; fake]` rows, which are two passes (see
//! [`super::Pass`]): each half is normalised with its own statistics, exactly as a user calling D
//! on the real batch and then on the fake batch gets (PyTorch's DCGAN example does that).
//!
//! Init as DCGAN does: γ ~ `N(1, 0.02²)`, β = 0; running mean 0, running variance 1. γ is held as
//! a `(1, C)` matrix so the fast path's optimizer hands (weight matrix, bias vector) fit it.
//! The running statistics are non-trained state ([`Layer::state`]): checkpoints save and restore
//! them; the fast path's mirror shares them with the layer, so its updates need no write-back.

use std::sync::{Arc, Mutex, MutexGuard};

use dfdx::prelude::*;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::grads::{add_into, hand_over};
use super::{
    no_reference, BackwardPass, FastLayer, ForwardPass, Layer, LayerKind, Masks, Param, ParamRef,
    Shape,
};
use crate::engine::ops::{BatchNorm, BatchNormCache};
use crate::engine::{Dev, Mat, Tp, Vector};

/// The spec: PyTorch's defaults are momentum 0.1, eps 1e-5.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNormKind {
    pub momentum: f64,
    pub eps: f64,
}

impl BatchNormKind {
    fn op(&self, input: Shape) -> Result<BatchNorm, String> {
        let (m, e) = (self.momentum, self.eps);
        if !(0.0..=1.0).contains(&m) {
            return Err(format!("momentum must be in [0, 1], got {m}"));
        }
        if !(e.is_finite() && e > 0.0 && e <= 1.0) {
            return Err(format!("eps must be in (0, 1], got {e}"));
        }
        let (channels, spatial) = match input {
            Shape::Flat(n) => (n, 1),
            Shape::Image { c, h, w } => (
                c,
                h.checked_mul(w)
                    .ok_or_else(|| format!("input {input} has more values than fit in memory"))?,
            ),
        };
        if channels == 0 || spatial == 0 || input.len().is_none() {
            return Err(format!("batch_norm needs a non-empty input, got {input}"));
        }
        Ok(BatchNorm {
            channels,
            spatial,
            eps: e as f32,
            momentum: m as f32,
        })
    }
}

impl LayerKind for BatchNormKind {
    fn name(&self) -> String {
        format!("batch_norm(momentum {}, eps {})", self.momentum, self.eps)
    }
    fn output_shape(&self, input: Shape) -> Result<Shape, String> {
        self.op(input).map(|_| input)
    }
    /// γ and β per channel.
    fn param_count(&self, input: Shape) -> Option<usize> {
        self.op(input).ok()?.channels.checked_mul(2)
    }
    fn has_reference(&self) -> bool {
        false
    }
    fn build(&self, input: Shape, _: f64, dev: &Dev, rng: &mut ChaCha8Rng) -> Box<dyn Layer> {
        let op = self.op(input).expect("checked");
        let c = op.channels;
        let gamma: Vec<f32> = (0..c)
            .map(|_| {
                let v: f64 = StandardNormal.sample(rng);
                (1.0 + 0.02 * v) as f32
            })
            .collect();
        Box::new(BatchNormLayer {
            op,
            gamma: dev.tensor_from_vec(gamma, (1, c)),
            beta: dev.zeros_like(&(c,)),
            running: Arc::new(Mutex::new(Running {
                mean: vec![0.0; c],
                var: vec![1.0; c],
            })),
        })
    }
}

/// The running statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct Running {
    pub mean: Vec<f32>,
    pub var: Vec<f32>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The built layer.
#[derive(Debug)]
pub struct BatchNormLayer {
    pub op: BatchNorm,
    pub gamma: Mat,
    pub beta: Vector,
    pub running: Arc<Mutex<Running>>,
}

impl Clone for BatchNormLayer {
    /// A copy owns its own running statistics.
    fn clone(&self) -> Self {
        BatchNormLayer {
            op: self.op,
            gamma: self.gamma.clone(),
            beta: self.beta.clone(),
            running: Arc::new(Mutex::new(lock(&self.running).clone())),
        }
    }
}

impl Layer for BatchNormLayer {
    fn forward(&self, _: Mat, _: &mut Masks) -> Mat {
        no_reference("batch_norm")
    }
    fn forward_traced(&self, _: Mat<Tp>, _: &mut Masks) -> Mat<Tp> {
        no_reference("batch_norm")
    }
    fn params(&self) -> Vec<(&'static str, ParamRef<'_>)> {
        vec![
            ("gamma", ParamRef::Matrix(&self.gamma)),
            ("beta", ParamRef::Vector(&self.beta)),
        ]
    }
    fn params_mut(&mut self) -> Vec<(&'static str, Param<'_>)> {
        vec![
            ("gamma", Param::Matrix(&mut self.gamma)),
            ("beta", Param::Vector(&mut self.beta)),
        ]
    }
    fn state(&self) -> Vec<(&'static str, Vec<f32>)> {
        let r = lock(&self.running);
        vec![
            ("running_mean", r.mean.clone()),
            ("running_var", r.var.clone()),
        ]
    }
    fn set_state(&mut self, name: &str, values: &[f32]) {
        let mut r = lock(&self.running);
        match name {
            "running_mean" => r.mean.copy_from_slice(values),
            "running_var" => r.var.copy_from_slice(values),
            _ => unreachable!("batch_norm has no state `{name}`"),
        }
    }
    fn mirror(&self) -> Box<dyn FastLayer> {
        Box::new(BnMirror {
            op: self.op,
            gamma: self.gamma.as_vec(),
            beta: self.beta.as_vec(),
            running: self.running.clone(),
            last: Mutex::default(),
            grads: Grads::default(),
        })
    }
}

/// What the last training forward used, for its backward: each pass's rows and statistics.
/// Empty after an evaluation forward.
#[derive(Debug, Default)]
struct LastPass {
    passes: Vec<(usize, usize)>,
    caches: Vec<BatchNormCache>,
}

#[derive(Clone, Debug, Default)]
struct Grads {
    dg: Vec<f32>,
    db: Vec<f32>,
    gg: Vec<f32>,
    gb: Vec<f32>,
}

/// The fast path's copy: γ and β in buffers, the running statistics shared with the layer.
#[derive(Debug)]
pub struct BnMirror {
    op: BatchNorm,
    gamma: Vec<f32>,
    beta: Vec<f32>,
    running: Arc<Mutex<Running>>,
    last: Mutex<LastPass>,
    grads: Grads,
}

impl Clone for BnMirror {
    fn clone(&self) -> Self {
        BnMirror {
            op: self.op,
            gamma: self.gamma.clone(),
            beta: self.beta.clone(),
            running: self.running.clone(),
            last: Mutex::default(),
            grads: Grads::default(),
        }
    }
}

impl FastLayer for BnMirror {
    fn forward(&self, f: ForwardPass<'_>) {
        let w = f.win;
        let mut last = lock(&self.last);
        last.passes.clear();
        let mut run = lock(&self.running);
        let Some((_, passes)) = f.draw else {
            let Running { mean, var } = &*run;
            self.op
                .forward_eval(f.rows, f.x, &self.gamma, &self.beta, mean, var, f.y);
            return;
        };
        assert_eq!(
            passes.iter().map(|p| p.rows).sum::<usize>(),
            f.rows,
            "batch_norm: the passes cover the rows"
        );
        last.caches.resize_with(passes.len(), Default::default);
        let LastPass {
            passes: seen,
            caches,
        } = &mut *last;
        for (p, cache) in passes.iter().zip(caches.iter_mut()) {
            let span = p.first_row * w..(p.first_row + p.rows) * w;
            let Running { mean, var } = &mut *run;
            self.op
                .try_forward_train(
                    p.rows,
                    &f.x[span.clone()],
                    &self.gamma,
                    &self.beta,
                    mean,
                    var,
                    &mut f.y[span],
                    cache,
                )
                .unwrap_or_else(|e| panic!("{e}"));
            seen.push((p.first_row, p.rows));
        }
    }

    fn backward(&mut self, b: BackwardPass<'_, '_>) {
        let w = b.win;
        let last = self.last.get_mut().unwrap_or_else(|e| e.into_inner());
        let run = lock(&self.running);
        let g = &mut self.grads;
        g.dg.resize(self.op.channels, 0.0);
        g.db.resize(self.op.channels, 0.0);
        let sink = b.sink;
        let mut first = true;
        for s in b.segs {
            let want_dx = s.delta >= b.lo_in;
            let want_w = s.weights && sink.is_some();
            if !want_dx && !want_w {
                continue;
            }
            // The segment's rows, pass by pass (a pass's statistics couple its rows).
            let blocks: Vec<(usize, usize, Option<&BatchNormCache>)> = if last.passes.is_empty() {
                vec![(s.tape, s.rows, None)]
            } else {
                last.passes
                    .iter()
                    .zip(&last.caches)
                    .filter(|((r0, n), _)| *r0 < s.tape + s.rows && r0 + n > s.tape)
                    .map(|(&(r0, n), c)| {
                        assert!(
                            r0 >= s.tape && r0 + n <= s.tape + s.rows,
                            "batch_norm: a backward segment splits a pass"
                        );
                        (r0, n, Some(c))
                    })
                    .collect()
            };
            for (r0, n, cache) in blocks {
                let d0 = s.delta + (r0 - s.tape);
                let x = &b.x[r0 * w..(r0 + n) * w];
                let dy = &b.cur[d0 * w..(d0 + n) * w];
                let dx = want_dx.then(|| &mut b.nxt[d0 * w..(d0 + n) * w]);
                match cache {
                    Some(c) => {
                        self.op
                            .backward_train(n, x, dy, &self.gamma, c, &mut g.dg, &mut g.db, dx)
                    }
                    None => self.op.backward_eval(
                        n,
                        x,
                        dy,
                        &self.gamma,
                        &run.mean,
                        &run.var,
                        &mut g.dg,
                        &mut g.db,
                        dx,
                    ),
                }
                if want_w {
                    add_into(&mut g.gg, &g.dg, first);
                    add_into(&mut g.gb, &g.db, first);
                    first = false;
                }
            }
        }
        drop(run);
        if let (Some(sink), false) = (sink, first) {
            hand_over(sink, b.layer, &g.gg, &mut self.gamma, &mut self.beta, &g.gb);
        }
    }

    fn params(&self) -> Vec<&[f32]> {
        vec![&self.gamma, &self.beta]
    }
}

#[cfg(test)]
mod tests;
