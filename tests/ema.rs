//! The averaged generator (fit's `g_ema`): its weights against a naive recurrence over per-step
//! snapshots of G, on both paths; averaging leaves training itself unchanged; the thread count
//! changes nothing; checkpoints carry it and resume bit for bit; damaged files are clear errors.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use gan::checkpoint::{read_gan, save_weights, Checkpoint};
use gan::engine::ema::{configure, GEma};
use gan::engine::network::NamedValues;
use gan::engine::{
    Control, EnginePath, FitObserver, FitSpec, Gan, GanLoss, GanSpec, LayerSpec, Noise,
    OptimizerSpec, Schedule, StackSpec, StepMetrics, Trainer, UpdateScheme,
};

const ROWS: usize = 256;
const BATCH: usize = 32;

/// 2-D data: two clusters, the same every run.
fn data() -> Vec<f32> {
    (0..ROWS)
        .flat_map(|i| {
            let t = (i as f32 * 0.618_034).fract();
            let c = if i % 2 == 0 { 1.0 } else { -1.0 };
            [c + 0.3 * t, 0.5 * c - 0.2 * t]
        })
        .collect()
}

/// G 4 → 16 (batch norm when `bn`) → ReLU → 2; D 2 → 16 → leaky ReLU → 1; alternating k = 1.
fn spec(bn: bool) -> GanSpec {
    let dense = |units| LayerSpec::Dense {
        units,
        irange: Some(0.5),
    };
    let mut g = vec![dense(16)];
    if bn {
        g.push(LayerSpec::BatchNorm {
            momentum: 0.1,
            eps: 1e-5,
        });
    }
    g.extend([LayerSpec::Relu, dense(2)]);
    GanSpec {
        g: StackSpec {
            input: 4,
            layers: g,
        },
        d: StackSpec {
            input: 2,
            layers: vec![dense(16), LayerSpec::LeakyRelu { slope: 0.2 }, dense(1)],
        },
        loss: GanLoss::NonSaturating,
        scheme: UpdateScheme::Alternating { k: 1 },
        noise: Noise::Gaussian { dim: 4, std: 1.0 },
        init_g_bias_from_marginals: false,
    }
}

fn fit(epochs: u64) -> FitSpec {
    let adam = OptimizerSpec::Adam {
        lr: Schedule::constant(0.01),
        beta1: 0.5,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
    };
    FitSpec {
        epochs,
        batch: BATCH,
        d_opt: adam.clone(),
        g_opt: adam,
        steps_per_epoch: None,
    }
}

/// Trains `gan` for `epochs` epochs of [`fit`] on [`data`] with no observer.
fn fit_quietly(gan: &mut Gan, epochs: u64) {
    Trainer::fit(
        gan,
        &data(),
        2,
        &fit(epochs),
        &mut gan::engine::trainer::Quiet,
    )
    .unwrap();
}

fn new_gan(bn: bool, path: EnginePath, decay: Option<f64>) -> Gan {
    let mut gan = Gan::try_new(spec(bn), 5).unwrap();
    gan.try_set_path(path).unwrap();
    configure(&mut gan, decay);
    gan
}

fn export(net: &gan::engine::Network) -> Vec<NamedValues> {
    net.clone().export()
}

fn ema_export(gan: &Gan) -> Vec<NamedValues> {
    export(&gan.g_ema.as_ref().expect("an averaged G").net)
}

/// The naive recurrence, in f64, over G's values read after every step.
struct Naive {
    decay: f64,
    t: u64,
    avg: Vec<Vec<f64>>,
}

impl FitObserver for Naive {
    fn on_step(&mut self, gan: &Gan, _: &StepMetrics, _: u64, _: u64) -> Control {
        let t = self.t as f64;
        let beta = self.decay.min((1.0 + t) / (10.0 + t));
        for (a, v) in self.avg.iter_mut().zip(export(&gan.g)) {
            for (a, x) in a.iter_mut().zip(v.values) {
                *a = beta * *a + (1.0 - beta) * x as f64;
            }
        }
        self.t += 1;
        Control::Continue
    }
    fn reads_params_on_step(&self) -> bool {
        true
    }
}

#[test]
fn averaged_weights_follow_the_naive_recurrence_on_both_paths() {
    for (bn, path) in [(true, EnginePath::Fast), (false, EnginePath::Reference)] {
        let mut gan = new_gan(bn, path, Some(0.95));
        let mut naive = Naive {
            decay: 0.95,
            t: 0,
            avg: export(&gan.g)
                .into_iter()
                .map(|v| v.values.iter().map(|&x| x as f64).collect())
                .collect(),
        };
        Trainer::fit(&mut gan, &data(), 2, &fit(3), &mut naive).unwrap();
        assert_eq!(naive.t, 24, "3 epochs of 8 steps");
        assert_eq!(gan.g_ema.as_ref().unwrap().updates, 24);
        let (ema, live) = (ema_export(&gan), export(&gan.g));
        if bn {
            assert!(ema.iter().any(|v| v.name.ends_with("running_var")));
        }
        let mut far_from_live = 0f64;
        for ((e, n), l) in ema.iter().zip(&naive.avg).zip(&live) {
            for ((&a, &n), &x) in e.values.iter().zip(n).zip(&l.values) {
                let err = (a as f64 - n).abs();
                assert!(
                    err <= 1e-5 * (1.0 + n.abs()),
                    "{path:?} {}: averaged {a}, naive {n}",
                    e.name
                );
                far_from_live = far_from_live.max((a - x).abs() as f64);
            }
        }
        assert!(
            far_from_live > 1e-3,
            "{path:?}: the average differs from the live G (by {far_from_live})"
        );
    }
}

#[test]
fn averaging_leaves_training_unchanged_and_sampling_uses_the_average() {
    let mut off = new_gan(true, EnginePath::Fast, None);
    let mut on = new_gan(true, EnginePath::Fast, Some(0.9));
    for gan in [&mut off, &mut on] {
        fit_quietly(gan, 2);
    }
    assert_eq!(export(&off.g), export(&on.g), "G trains the same");
    assert_eq!(export(&off.d), export(&on.d), "D trains the same");
    let z = on.fixed_noise(8);
    let by_ema = on.try_generate(&z).unwrap();
    assert_eq!(
        by_ema,
        on.path
            .eval(&on.g_ema.as_ref().unwrap().net, gan_mat(&on, &z))
            .as_vec()
    );
    assert_eq!(
        on.try_generate_by(&z, true).unwrap(),
        off.try_generate(&z).unwrap()
    );
    assert_ne!(by_ema, off.try_generate(&z).unwrap());
    // a later fit without the option drops the average: sampling is G's again
    configure(&mut on, None);
    assert_eq!(on.try_generate(&z).unwrap(), off.try_generate(&z).unwrap());
}

fn gan_mat(gan: &Gan, z: &[f32]) -> gan::engine::Mat {
    use dfdx::prelude::*;
    gan.dev
        .tensor_from_vec(z.to_vec(), (z.len() / gan.noise_dim(), gan.noise_dim()))
}

#[test]
fn the_average_ignores_the_thread_count() {
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut gan = new_gan(true, EnginePath::Fast, Some(0.99));
            fit_quietly(&mut gan, 2);
            ema_export(&gan)
        })
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
}

#[test]
fn a_checkpoint_holds_the_average_and_resumes_bit_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let mut straight = new_gan(true, EnginePath::Fast, Some(0.9));
    fit_quietly(&mut straight, 3);

    let mut first = new_gan(true, EnginePath::Fast, Some(0.9));
    fit_quietly(&mut first, 1);
    let ckpt = Checkpoint::save(tmp.path(), &mut first, serde_json::json!({})).unwrap();
    let (mut resumed, _) = Checkpoint::load(&ckpt).unwrap();
    assert_eq!(ema_export(&resumed), ema_export(&first));
    assert_eq!(resumed.g_ema.as_ref().unwrap().updates, 8);
    fit_quietly(&mut resumed, 3);
    assert_eq!(ema_export(&resumed), ema_export(&straight));
    assert_eq!(export(&resumed.g), export(&straight.g));

    // a weights file carries it too, and the eval-side loader reads it
    let w = tmp.path().join("w.safetensors");
    save_weights(&w, &straight).unwrap();
    let back = read_gan(&w).unwrap();
    assert_eq!(ema_export(&back), ema_export(&straight));
    assert_eq!(back.g_ema.as_ref().unwrap().decay, 0.9);
}

#[test]
fn a_file_without_an_average_still_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let mut gan = new_gan(true, EnginePath::Fast, None);
    fit_quietly(&mut gan, 1);
    let ckpt = Checkpoint::save(tmp.path(), &mut gan, serde_json::json!({})).unwrap();
    let (back, _) = Checkpoint::load(&ckpt).unwrap();
    assert!(back.g_ema.is_none());
    assert_eq!(export(&back.g), export(&gan.g));
}

/// An edit of a safetensors file's tensors (name, shape, values) and metadata.
type Edit = dyn Fn(
    &mut Vec<(String, Vec<usize>, Vec<f32>)>,
    &mut std::collections::HashMap<String, String>,
);

/// Rewrites the safetensors file at `path` with `edit` applied to its tensors and metadata.
fn rewrite(
    path: &Path,
    edit: impl FnOnce(
        &mut Vec<(String, Vec<usize>, Vec<f32>)>,
        &mut std::collections::HashMap<String, String>,
    ),
) {
    use safetensors::tensor::{Dtype, TensorView};
    let bytes = fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let mut meta = header.metadata().clone().unwrap_or_default();
    let mut tensors: Vec<(String, Vec<usize>, Vec<f32>)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| {
            let vals = v
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            (n, v.shape().to_vec(), vals)
        })
        .collect();
    edit(&mut tensors, &mut meta);
    let raw: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(n, s, v)| (n, s, v.iter().flat_map(|x| x.to_le_bytes()).collect()))
        .collect();
    let views: Vec<(String, TensorView)> = raw
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    fs::write(path, safetensors::serialize(views, &Some(meta)).unwrap()).unwrap();
}

#[test]
fn a_damaged_average_is_an_error_naming_the_file_and_tensor() {
    let tmp = tempfile::tempdir().unwrap();
    let mut gan = new_gan(true, EnginePath::Fast, Some(0.9));
    fit_quietly(&mut gan, 1);
    let good = tmp.path().join("good.safetensors");
    save_weights(&good, &gan).unwrap();
    let cases: Vec<(&str, Box<Edit>, &str)> = vec![
        (
            "missing",
            Box::new(|t, _| t.retain(|(n, _, _)| n != "g_ema.0.w")),
            "g_ema.0.w: missing from the file",
        ),
        (
            "misshaped",
            Box::new(|t, _| {
                let e = t.iter_mut().find(|(n, _, _)| n == "g_ema.3.b").unwrap();
                e.1 = vec![1];
                e.2.truncate(1);
            }),
            "g_ema.3.b: file has [1], model expects [2]",
        ),
        (
            "nonfinite",
            Box::new(|t, _| {
                let e = t
                    .iter_mut()
                    .find(|(n, _, _)| n == "g_ema.1.running_var")
                    .unwrap();
                e.2[3] = f32::NAN;
            }),
            "g_ema.1.running_var: holds the non-finite value NaN",
        ),
        (
            "decay",
            Box::new(|_, m| {
                m.insert("g_ema_decay".into(), "1.5".into());
            }),
            "metadata `g_ema_decay` is `1.5`, not a number in [0, 1)",
        ),
    ];
    for (name, edit, want) in cases {
        let p = tmp.path().join(format!("{name}.safetensors"));
        fs::copy(&good, &p).unwrap();
        rewrite(&p, |t, m| edit(t, m));
        let e = format!("{:#}", read_gan(&p).unwrap_err());
        assert!(
            e.contains(&p.display().to_string()) && e.contains(want),
            "{name}: {e}"
        );
    }
}

#[test]
fn a_decay_outside_zero_to_one_is_refused_naming_the_option() {
    assert!(GEma::try_decay(0.0, "g_ema").is_ok());
    assert!(GEma::try_decay(0.999, "g_ema").is_ok());
    for bad in [1.0, -0.1, f64::NAN, 2.0] {
        let e = GEma::try_decay(bad, "g_ema").unwrap_err();
        assert!(e.contains("option `g_ema`"), "{e}");
    }
    let (mut s, _) = common::session(None, &[], None);
    let e = s
        .eval(
            "let g = stack(2).dense(2); let d = stack(2).dense(1); let m = gan(g, d);\n\
             m.fit(ring(8, #{ n: 256 }), #{ epochs: 1, batch: 32, g_ema: 1.0 });",
        )
        .expect_err("g_ema 1.0");
    assert!(
        e.message
            .contains("option `g_ema` must be a number in [0, 1)"),
        "{e}"
    );
}

fn gan_bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gan"));
    c.env_remove("GAN_ENGINE")
        .env_remove("RAYON_NUM_THREADS")
        .env("GAN_DATA_DIR", common::mnist_dir());
    c
}

#[test]
fn gan_eval_refuses_ema_weights_for_a_file_without_an_average() {
    let tmp = tempfile::tempdir().unwrap();
    let w = tmp.path().join("plain.safetensors");
    save_weights(&w, &new_gan(false, EnginePath::Fast, None)).unwrap();
    let out = gan_bin()
        .args(["eval", "classifier"])
        .arg(&w)
        .args(["--weights", "ema"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--weights ema")
            && err.contains("plain.safetensors")
            && err.contains("holds no averaged generator"),
        "{err}"
    );
}
