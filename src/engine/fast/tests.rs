//! The fast path against the dfdx-autograd reference path: same masks, same gradients and
//! updates up to float rounding, same evaluation; and results that do not depend on the thread
//! count.

use dfdx::prelude::*;
use rand::Rng;

use super::*;
use crate::engine::gan::Gan;
use crate::engine::loss::GanLoss;
use crate::engine::optim::OptimizerSpec;
use crate::engine::rng::{stream, Purpose};
use crate::engine::schedule::Schedule;
use crate::engine::spec::UpdateScheme;
use crate::engine::spec::{GanSpec, LayerSpec, StackSpec};
use crate::engine::step::{train_step_reference, Optimizers};
use crate::engine::Mat;
use crate::engine::Noise;

fn dense(units: usize, irange: f64) -> LayerSpec {
    LayerSpec::Dense {
        units,
        irange: Some(irange),
    }
}

/// Small stacks that use every layer kind, G ending in a sigmoid and D in one logit.
fn small_spec(loss: GanLoss, scheme: UpdateScheme) -> GanSpec {
    GanSpec {
        g: StackSpec {
            input: 5,
            layers: vec![
                dense(24, 0.4),
                LayerSpec::Relu,
                LayerSpec::Dropout { keep: 0.9 },
                dense(16, 0.4),
                LayerSpec::Tanh,
                dense(12, 0.4),
                LayerSpec::Sigmoid,
            ],
        },
        d: StackSpec {
            input: 12,
            layers: vec![
                LayerSpec::Dropout { keep: 0.8 },
                LayerSpec::Maxout {
                    units: 10,
                    pieces: 3,
                    irange: Some(0.3),
                },
                LayerSpec::Dropout { keep: 0.5 },
                dense(9, 0.3),
                LayerSpec::LeakyRelu { slope: 0.2 },
                LayerSpec::Dropout { keep: 1.0 },
                dense(1, 0.3),
            ],
        },
        loss,
        scheme,
        noise: Noise::Gaussian { dim: 5, std: 1.0 },
        init_g_bias_from_marginals: false,
    }
}

fn data(rows: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut r = stream(seed, Purpose::Data, 0);
    (0..rows * dim).map(|_| r.gen::<f32>()).collect()
}

fn params(gan: &mut Gan) -> Vec<Vec<f32>> {
    let mut out: Vec<Vec<f32>> = gan.g.export().into_iter().map(|v| v.values).collect();
    out.extend(gan.d.export().into_iter().map(|v| v.values));
    out
}

fn close(a: &[f32], b: &[f32], tol: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-3);
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * scale,
            "{what}[{i}]: fast {x} vs reference {y} (scale {scale})"
        );
    }
}

/// Runs `steps` iterations on both paths from the same start; compares metrics, parameters and
/// optimizer state after each.
fn compare_paths(
    spec: GanSpec,
    d_opt: OptimizerSpec,
    g_opt: OptimizerSpec,
    batch: usize,
    steps: u64,
) {
    let k = match spec.scheme {
        UpdateScheme::Simultaneous => 1,
        UpdateScheme::Alternating { k } => k as usize,
    };
    let dim = spec.d.input;
    let mut a = Gan::try_new(spec.clone(), 11).unwrap();
    let mut b = Gan::try_new(spec, 11).unwrap();
    let opts = Optimizers {
        d: &d_opt,
        g: &g_opt,
    };
    let mut ws = Workspace::new(&b);
    for step in 0..steps {
        let real = data(k * batch, dim, step);
        let batches: Vec<Mat> = real
            .chunks_exact(batch * dim)
            .map(|c| a.dev.tensor_from_vec(c.to_vec(), (batch, dim)))
            .collect();
        let ma = train_step_reference(&mut a, &batches, &opts, 1);
        let mb = train_step(&mut b, &mut ws, &real, batch, &d_opt, &g_opt, 1);
        ws.sync(&mut b);
        let what = format!("{:?} {:?} step {step}", a.spec.loss, a.spec.scheme);
        for (x, y, n) in [
            (mb.d_loss, ma.d_loss, "d_loss"),
            (mb.g_loss, ma.g_loss, "g_loss"),
            (mb.d_real, ma.d_real, "d_real"),
            (mb.d_fake, ma.d_fake, "d_fake"),
        ] {
            assert!(
                (x - y).abs() <= 1e-5 * y.abs().max(1.0),
                "{what} {n}: fast {x} vs reference {y}"
            );
        }
        assert_eq!(
            (mb.lr_d, mb.lr_g, mb.momentum),
            (ma.lr_d, ma.lr_g, ma.momentum)
        );
        for (i, (x, y)) in params(&mut b).iter().zip(params(&mut a)).enumerate() {
            close(x, &y, 2e-5, &format!("{what} parameter {i}"));
        }
        let (sa, sb) = (a.d_state.export(&mut a.d), b.d_state.export(&mut b.d));
        for (x, y) in sb.iter().zip(&sa) {
            close(
                &x.values,
                &y.values,
                2e-5,
                &format!("{what} D state {}", x.name),
            );
        }
        assert_eq!(
            (a.step, a.d_state.t, a.g_state.t),
            (b.step, b.d_state.t, b.g_state.t)
        );
    }
}

fn sgd(lr: f64, momentum: f64, nesterov: bool, weight_decay: f64) -> OptimizerSpec {
    OptimizerSpec::Sgd {
        lr: Schedule::ExpDecay {
            start: lr,
            factor: 1.5,
            floor: 1e-3,
        },
        momentum: Schedule::Constant { value: momentum },
        nesterov,
        weight_decay,
    }
}

#[test]
fn every_loss_and_scheme_matches_the_reference_path() {
    for loss in GanLoss::NAMES.map(|n| GanLoss::parse(n).unwrap()) {
        for scheme in [
            UpdateScheme::Simultaneous,
            UpdateScheme::Alternating { k: 2 },
        ] {
            compare_paths(
                small_spec(loss, scheme),
                sgd(0.1, 0.5, false, 0.0),
                sgd(0.05, 0.7, false, 0.0),
                8,
                3,
            );
        }
    }
}

#[test]
fn nesterov_weight_decay_and_adam_match_the_reference_path() {
    let spec = small_spec(GanLoss::NonSaturating, UpdateScheme::Simultaneous);
    compare_paths(
        spec.clone(),
        sgd(0.1, 0.9, true, 1e-3),
        sgd(0.1, 0.0, false, 1e-2),
        8,
        3,
    );
    let adam = |wd| OptimizerSpec::Adam {
        lr: Schedule::Constant { value: 0.01 },
        beta1: 0.5,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: wd,
    };
    compare_paths(spec, adam(0.0), adam(1e-2), 8, 3);
}

/// One step of the paper's MNIST stacks with lr 1 and no momentum: each parameter moves by minus
/// its gradient, so the two paths' moves compare their gradients, layer by layer.
#[test]
fn paper_model_gradients_match_the_reference_path() {
    let spec = GanSpec {
        init_g_bias_from_marginals: false,
        ..GanSpec::paper_mnist()
    };
    let opt = OptimizerSpec::Sgd {
        lr: Schedule::Constant { value: 1.0 },
        momentum: Schedule::Constant { value: 0.0 },
        nesterov: false,
        weight_decay: 0.0,
    };
    let mut a = Gan::try_new(spec.clone(), 3).unwrap();
    let mut b = Gan::try_new(spec, 3).unwrap();
    let before = params(&mut a);
    let real = data(100, 784, 9);
    let batch = [a.dev.tensor_from_vec(real.clone(), (100, 784))];
    let opts = Optimizers { d: &opt, g: &opt };
    train_step_reference(&mut a, &batch, &opts, 1);
    let mut ws = Workspace::new(&b);
    train_step(&mut b, &mut ws, &real, 100, &opt, &opt, 1);
    ws.sync(&mut b);
    let (pa, pb) = (params(&mut a), params(&mut b));
    for (i, ((x, y), p0)) in pb.iter().zip(&pa).zip(&before).enumerate() {
        let ga: Vec<f32> = y.iter().zip(p0).map(|(v, w)| w - v).collect();
        let gb: Vec<f32> = x.iter().zip(p0).map(|(v, w)| w - v).collect();
        // the moves are differences of nearby f32 weights: compare at the weights' resolution
        let w_scale = p0.iter().fold(0f32, |m, v| m.max(v.abs()));
        let g_scale = ga.iter().fold(0f32, |m, v| m.max(v.abs()));
        let tol = 1e-4 * g_scale + 4.0 * f32::EPSILON * w_scale;
        for (j, (u, v)) in gb.iter().zip(&ga).enumerate() {
            assert!(
                (u - v).abs() <= tol,
                "parameter {i}[{j}]: fast {u} vs reference {v}"
            );
        }
        assert!(g_scale > 0.0, "parameter {i} has a gradient");
    }
}

#[test]
fn eval_matches_the_reference_path() {
    let mut spec = small_spec(GanLoss::NonSaturating, UpdateScheme::Simultaneous);
    spec.g.layers.insert(0, LayerSpec::LeakyRelu { slope: 0.1 });
    let gan = Gan::try_new(spec, 5).unwrap();
    for (net, rows) in [(&gan.g, 300), (&gan.d, 7)] {
        let x = data(rows, net.input_dim(), 2);
        let xt: Mat = gan.dev.tensor_from_vec(x, (rows, net.input_dim()));
        let fast = eval(net, &xt).as_vec();
        let reference = net.eval_reference(xt).as_vec();
        close(&fast, &reference, 1e-6, "eval");
    }
}

/// Mid-sized stacks (past the sizes at which kernels and GEMMs split work, and at which a layer's
/// two backward products run side by side) trained on pools of 1, 2 and 3 threads give the same
/// bits.
#[test]
fn results_do_not_depend_on_the_thread_count() {
    let spec = GanSpec {
        g: StackSpec {
            input: 20,
            layers: vec![
                dense(400, 0.1),
                LayerSpec::Relu,
                dense(300, 0.1),
                LayerSpec::Sigmoid,
            ],
        },
        d: StackSpec {
            input: 300,
            layers: vec![
                LayerSpec::Dropout { keep: 0.8 },
                LayerSpec::Maxout {
                    units: 80,
                    pieces: 5,
                    irange: Some(0.05),
                },
                LayerSpec::Dropout { keep: 0.5 },
                // weight- and input-gradient products of similar size: side by side on threads
                LayerSpec::Maxout {
                    units: 80,
                    pieces: 5,
                    irange: Some(0.05),
                },
                dense(1, 0.05),
            ],
        },
        loss: GanLoss::NonSaturating,
        scheme: UpdateScheme::Simultaneous,
        noise: Noise::Uniform {
            dim: 20,
            half_width: 1.0,
        },
        init_g_bias_from_marginals: false,
    };
    let opt = sgd(0.1, 0.5, false, 0.0);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut gan = Gan::try_new(spec.clone(), 1).unwrap();
            let mut ws = Workspace::new(&gan);
            let mut m = Vec::new();
            for s in 0..3 {
                let real = data(128, 300, s);
                m.push(train_step(&mut gan, &mut ws, &real, 128, &opt, &opt, 1));
            }
            ws.sync(&mut gan);
            let samples = eval_rows(&NetMirror::new(&gan.g), &data(500, 20, 7));
            (m, params(&mut gan), samples)
        })
    };
    let (m1, p1, s1) = run(1);
    for threads in [2, 3] {
        let (m, p, s) = run(threads);
        assert_eq!(m1, m, "metrics, 1 and {threads} threads");
        assert!(p1 == p, "parameters differ between 1 and {threads} threads");
        assert!(s1 == s, "samples differ between 1 and {threads} threads");
    }
}

/// Records G's and D's parameters as `on_step` sees them, when it asks to read them.
struct Watcher {
    reads: bool,
    seen: Vec<Vec<Vec<f32>>>,
}

impl crate::engine::FitObserver for Watcher {
    fn on_step(
        &mut self,
        gan: &Gan,
        _: &crate::engine::StepMetrics,
        _: u64,
        _: u64,
    ) -> crate::engine::Control {
        if self.reads {
            let values = |n: &crate::engine::Network| -> Vec<Vec<f32>> {
                n.layers
                    .iter()
                    .flat_map(|l| l.params().into_iter().map(|(_, p)| p.values()))
                    .collect()
            };
            let mut all = values(&gan.g);
            all.extend(values(&gan.d));
            self.seen.push(all);
        }
        crate::engine::Control::Continue
    }
    fn reads_params_on_step(&self) -> bool {
        self.reads
    }
}

/// The fast path keeps the parameters in its mirrors during a fit and writes the GAN's tensors
/// lazily: an observer that reads them on each step sees every step's parameters (those of one
/// step at a time through `train_step`, which syncs), and the fit ends with the same bits whether
/// anyone read them along the way or not.
#[test]
fn lazily_synced_parameters_are_every_steps_parameters() {
    let spec = small_spec(GanLoss::NonSaturating, UpdateScheme::Simultaneous);
    let rows = data(40, spec.d.input, 3);
    let fit = crate::engine::FitSpec {
        epochs: 2,
        batch: 8,
        d_opt: sgd(0.1, 0.5, false, 0.0),
        g_opt: sgd(0.1, 0.5, false, 0.0),
        steps_per_epoch: None,
    };
    let run = |reads: bool| {
        let mut gan = Gan::try_new(spec.clone(), 5).unwrap();
        let mut w = Watcher {
            reads,
            seen: Vec::new(),
        };
        crate::engine::Trainer::fit(&mut gan, &rows, spec.d.input, &fit, &mut w).unwrap();
        (params(&mut gan), w.seen)
    };
    let (quiet, _) = run(false);
    let (watched, seen) = run(true);
    assert!(quiet == watched, "final parameters depend on the observer");
    assert_eq!(seen.len(), 10, "5 steps in each of 2 epochs");
    assert!(seen.last() == Some(&quiet));
    // Step s's parameters: a fit of s steps, whose end writes them back.
    for s in 1..=5 {
        let mut gan = Gan::try_new(spec.clone(), 5).unwrap();
        let short = crate::engine::FitSpec {
            epochs: 1,
            steps_per_epoch: Some(s),
            ..fit.clone()
        };
        let mut quiet = crate::engine::trainer::Quiet;
        crate::engine::Trainer::fit(&mut gan, &rows, spec.d.input, &short, &mut quiet).unwrap();
        assert!(
            params(&mut gan) == seen[s as usize - 1],
            "step {s} as on_step saw it"
        );
    }
    assert!(seen.windows(2).all(|w| w[0] != w[1]), "every step moves");
}
