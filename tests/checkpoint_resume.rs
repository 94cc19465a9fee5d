//! Weights files and checkpoints: round trips, exact resume (at an epoch boundary and mid-epoch,
//! in both update schemes), load errors and crash safety.

use std::fs;
use std::path::Path;

use gan::checkpoint::{
    keep_last, latest, list, load_weights, read_gan, remove_stale_temps, save_weights, Checkpoint,
    MANIFEST_FILE, MODEL_FILE, OPTIM_FILE,
};
use gan::engine::trainer::{FitEnd, Quiet};
use gan::engine::{
    Control, EpochMetrics, FitObserver, FitSpec, Gan, GanLoss, GanSpec, LayerSpec, Noise,
    OptimizerSpec, Schedule, StackSpec, StepMetrics, Trainer, UpdateScheme,
};
use serde_json::json;

const ROWS: usize = 512;
const BATCH: usize = 32;

/// 1-D data in [0.25, 0.75): a low-discrepancy sequence, the same every run.
fn data() -> Vec<f32> {
    (0..ROWS)
        .map(|i| 0.25 + 0.5 * (i as f32 * 0.618_034).fract())
        .collect()
}

/// G 1→16→1 (sigmoid output), D 1→16→1 with dropout; G's output bias from the marginals, so
/// `marginals_applied` matters on resume.
fn spec(scheme: UpdateScheme, d_hidden: usize) -> GanSpec {
    GanSpec {
        g: StackSpec {
            input: 1,
            layers: vec![
                LayerSpec::Dense {
                    units: 16,
                    irange: Some(0.5),
                },
                LayerSpec::Relu,
                LayerSpec::Dense {
                    units: 1,
                    irange: Some(0.5),
                },
                LayerSpec::Sigmoid,
            ],
        },
        d: StackSpec {
            input: 1,
            layers: vec![
                LayerSpec::Dense {
                    units: d_hidden,
                    irange: Some(0.3),
                },
                LayerSpec::LeakyRelu { slope: 0.2 },
                LayerSpec::Dropout { keep: 0.5 },
                LayerSpec::Dense {
                    units: 1,
                    irange: Some(0.3),
                },
            ],
        },
        loss: GanLoss::NonSaturating,
        scheme,
        noise: Noise::Uniform {
            dim: 1,
            half_width: 3f64.sqrt(),
        },
        init_g_bias_from_marginals: true,
    }
}

fn simultaneous() -> UpdateScheme {
    UpdateScheme::Simultaneous
}

fn alternating() -> UpdateScheme {
    UpdateScheme::Alternating { k: 2 }
}

/// SGD with momentum ramping over epochs and an exponentially decaying learning rate.
fn sgd_fit(epochs: u64) -> FitSpec {
    let sgd = OptimizerSpec::Sgd {
        lr: Schedule::ExpDecay {
            start: 0.1,
            factor: 1.01,
            floor: 1e-4,
        },
        momentum: Schedule::Ramp {
            start: 0.5,
            end: 0.7,
            from: 1,
            to: 3,
        },
        nesterov: false,
        weight_decay: 0.0,
    };
    FitSpec {
        epochs,
        batch: BATCH,
        d_opt: sgd.clone(),
        g_opt: sgd,
        steps_per_epoch: None,
    }
}

fn adam_fit(epochs: u64) -> FitSpec {
    let adam = OptimizerSpec::Adam {
        lr: Schedule::ExpDecay {
            start: 0.01,
            factor: 1.003,
            floor: 1e-5,
        },
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

fn new_gan(scheme: UpdateScheme) -> Gan {
    Gan::try_new(spec(scheme, 16), 7).unwrap()
}

/// Records every step's metrics, draws a sample after each epoch (so `samples_drawn` moves) and
/// optionally stops once `gan.step` reaches `stop_at`.
#[derive(Default)]
struct Recorder {
    steps: Vec<StepMetrics>,
    samples: Vec<Vec<f32>>,
    stop_at: Option<u64>,
}

impl FitObserver for Recorder {
    fn on_step(&mut self, gan: &Gan, m: &StepMetrics, _: u64, _: u64) -> Control {
        self.steps.push(*m);
        match self.stop_at {
            Some(s) if gan.step >= s => Control::Stop,
            _ => Control::Continue,
        }
    }
    fn on_epoch(&mut self, gan: &mut Gan, _: &EpochMetrics) -> anyhow::Result<Control> {
        self.samples.push(gan.sample(4));
        Ok(Control::Continue)
    }
}

fn fit(gan: &mut Gan, fit: &FitSpec, obs: &mut dyn FitObserver) -> (Vec<EpochMetrics>, FitEnd) {
    Trainer::fit(gan, &data(), 1, fit, obs).unwrap()
}

fn f32_bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Every parameter as (name, shape, f32 bits), G's then D's.
fn weight_bits(gan: &Gan) -> Vec<(String, Vec<usize>, Vec<u32>)> {
    let (mut g, mut d) = (gan.g.clone(), gan.d.clone());
    let tag = |p: &str, v: gan::engine::network::NamedValues| {
        (format!("{p}.{}", v.name), v.shape, f32_bits(&v.values))
    };
    let mut out: Vec<_> = g.export().into_iter().map(|v| tag("g", v)).collect();
    out.extend(d.export().into_iter().map(|v| tag("d", v)));
    out
}

/// Both optimizer states as (name, bits), plus their scalars.
fn optim_bits(gan: &mut Gan) -> (Vec<(String, Vec<u32>)>, [u64; 4]) {
    let mut out: Vec<_> = gan
        .g_state
        .export(&mut gan.g)
        .into_iter()
        .map(|v| (format!("g.{}", v.name), f32_bits(&v.values)))
        .collect();
    out.extend(
        gan.d_state
            .export(&mut gan.d)
            .into_iter()
            .map(|v| (format!("d.{}", v.name), f32_bits(&v.values))),
    );
    let scalars = [
        gan.g_state.t,
        gan.g_state.prev_lr.to_bits(),
        gan.d_state.t,
        gan.d_state.prev_lr.to_bits(),
    ];
    (out, scalars)
}

fn position(gan: &Gan) -> (u64, u64, u64, u64, u64, bool) {
    (
        gan.seed,
        gan.step,
        gan.epoch,
        gan.batch_in_epoch,
        gan.samples_drawn,
        gan.marginals_applied,
    )
}

/// Asserts two GANs hold bit-identical weights, optimizer states and positions.
fn assert_same_state(a: &mut Gan, b: &mut Gan) {
    assert_eq!(a.spec, b.spec);
    assert_eq!(
        position(a),
        position(b),
        "(seed, step, epoch, batch_in_epoch, samples_drawn, marginals_applied)"
    );
    assert_eq!(weight_bits(a), weight_bits(b), "weights differ");
    assert_eq!(optim_bits(a), optim_bits(b), "optimizer states differ");
}

/// Every field but the timing ones (`secs`, `it_per_s`), floats as bits.
fn epoch_key(m: &EpochMetrics) -> Vec<u64> {
    let f = [
        m.d_loss, m.g_loss, m.d_real, m.d_fake, m.lr, m.lr_g, m.momentum,
    ];
    let mut k = vec![m.epoch, m.step, m.steps];
    k.extend(f.iter().map(|x| x.to_bits()));
    k
}

fn step_key(m: &StepMetrics) -> [u64; 7] {
    [
        m.d_loss, m.g_loss, m.d_real, m.d_fake, m.lr_d, m.lr_g, m.momentum,
    ]
    .map(f64::to_bits)
}

fn assert_epochs_identical(a: &[EpochMetrics], b: &[EpochMetrics]) {
    assert_eq!(a.len(), b.len(), "number of epochs");
    for (x, y) in a.iter().zip(b) {
        assert_eq!(
            epoch_key(x),
            epoch_key(y),
            "epoch {} metrics differ:\n{x:?}\n{y:?}",
            x.epoch
        );
    }
}

fn assert_steps_identical(a: &[StepMetrics], b: &[StepMetrics]) {
    assert_eq!(a.len(), b.len(), "number of steps");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(
            step_key(x),
            step_key(y),
            "step {i} metrics differ:\n{x:?}\n{y:?}"
        );
    }
}

/// The uninterrupted reference: 2 epochs straight.
struct Straight {
    gan: Gan,
    epochs: Vec<EpochMetrics>,
    rec: Recorder,
}

fn straight(scheme: UpdateScheme, fit_spec: &dyn Fn(u64) -> FitSpec) -> Straight {
    let mut gan = new_gan(scheme);
    let mut rec = Recorder::default();
    let (epochs, end) = fit(&mut gan, &fit_spec(2), &mut rec);
    assert_eq!(end, FitEnd::Done);
    assert_eq!(epochs.len(), 2);
    Straight { gan, epochs, rec }
}

/// Train 1 epoch, checkpoint, drop the GAN, load a new one from the checkpoint, train to 2:
/// everything must match the straight run bit for bit.
fn check_resume_at_epoch_boundary(scheme: UpdateScheme, fit_spec: &dyn Fn(u64) -> FitSpec) {
    let mut s = straight(scheme, fit_spec);
    let dir = tempfile::tempdir().unwrap();

    let mut first = new_gan(scheme);
    let mut rec1 = Recorder::default();
    let (mut epochs, _) = fit(&mut first, &fit_spec(1), &mut rec1);
    let path =
        Checkpoint::save(dir.path(), &mut first, json!({ "note": "after epoch 1" })).unwrap();
    drop(first);

    let (mut resumed, manifest) = Checkpoint::load(&path).unwrap();
    assert_eq!((manifest.epoch, resumed.batch_in_epoch), (1, 0));
    let mut rec2 = Recorder::default();
    let (more, end) = fit(&mut resumed, &fit_spec(2), &mut rec2);
    assert_eq!(end, FitEnd::Done);
    epochs.extend(more);

    assert_epochs_identical(&s.epochs, &epochs);
    let steps: Vec<_> = rec1.steps.iter().chain(&rec2.steps).copied().collect();
    assert_steps_identical(&s.rec.steps, &steps);
    let samples: Vec<_> = rec1
        .samples
        .iter()
        .chain(&rec2.samples)
        .map(|v| f32_bits(v))
        .collect();
    assert_eq!(
        s.rec
            .samples
            .iter()
            .map(|v| f32_bits(v))
            .collect::<Vec<_>>(),
        samples
    );
    assert_same_state(&mut s.gan, &mut resumed);
    // The sample stream continues identically too.
    assert_eq!(f32_bits(&s.gan.sample(8)), f32_bits(&resumed.sample(8)));
}

/// Stop after `stop_at` steps (inside epoch 1), checkpoint, load, continue to 2 epochs.
/// Returns the straight and resumed epoch metrics for the caller to compare.
fn check_resume_mid_epoch(
    scheme: UpdateScheme,
    fit_spec: &dyn Fn(u64) -> FitSpec,
    stop_at: u64,
) -> (Vec<EpochMetrics>, Vec<EpochMetrics>) {
    let mut s = straight(scheme, fit_spec);
    let dir = tempfile::tempdir().unwrap();

    let mut first = new_gan(scheme);
    let mut rec1 = Recorder {
        stop_at: Some(stop_at),
        ..Default::default()
    };
    let (epochs1, end) = fit(&mut first, &fit_spec(2), &mut rec1);
    assert_eq!(end, FitEnd::Stopped);
    assert!(epochs1.is_empty());
    assert_eq!(
        (first.step, first.epoch, first.batch_in_epoch),
        (stop_at, 0, stop_at)
    );
    let path = Checkpoint::save(dir.path(), &mut first, json!(null)).unwrap();
    drop(first);

    let (mut resumed, manifest) = Checkpoint::load(&path).unwrap();
    assert_eq!((manifest.step, manifest.batch_in_epoch), (stop_at, stop_at));
    let mut rec2 = Recorder::default();
    let (epochs2, end) = fit(&mut resumed, &fit_spec(2), &mut rec2);
    assert_eq!(end, FitEnd::Done);

    let steps: Vec<_> = rec1.steps.iter().chain(&rec2.steps).copied().collect();
    assert_steps_identical(&s.rec.steps, &steps);
    assert_same_state(&mut s.gan, &mut resumed);
    assert_eq!(f32_bits(&s.gan.sample(8)), f32_bits(&resumed.sample(8)));
    // Epoch 2 ran wholly after the resume.
    assert_epochs_identical(&s.epochs[1..], &epochs2[1..]);
    (s.epochs, epochs2)
}

#[test]
fn resume_at_epoch_boundary_is_bit_identical_sgd_simultaneous() {
    check_resume_at_epoch_boundary(simultaneous(), &sgd_fit);
}

#[test]
fn resume_at_epoch_boundary_is_bit_identical_adam_alternating() {
    check_resume_at_epoch_boundary(alternating(), &adam_fit);
}

#[test]
fn resume_mid_epoch_is_bit_identical_sgd_simultaneous() {
    check_resume_mid_epoch(simultaneous(), &sgd_fit, 5);
}

#[test]
fn resume_mid_epoch_is_bit_identical_adam_alternating() {
    check_resume_mid_epoch(alternating(), &adam_fit, 3);
}

/// The metrics of the epoch that was interrupted: the per-epoch accumulator is part of `Gan`
/// (and its checkpoint), so after a mid-epoch resume the epoch's means and `steps` cover the
/// iterations before the stop too.
#[test]
fn resume_mid_epoch_keeps_the_interrupted_epochs_metrics() {
    for (scheme, f, stop) in [
        (simultaneous(), &sgd_fit as &dyn Fn(u64) -> FitSpec, 5),
        (alternating(), &adam_fit, 3),
    ] {
        let (straight, resumed) = check_resume_mid_epoch(scheme, f, stop);
        assert_epochs_identical(&straight, &resumed);
    }
}

/// A stop at an epoch's last step closes the epoch (metrics, `on_epoch`) rather than leaving
/// it in progress with no steps to go; the next fit trains the following epoch.
#[test]
fn a_stop_at_an_epochs_last_step_ends_with_that_epoch_complete() {
    let mut s = straight(simultaneous(), &sgd_fit);
    let mut gan = new_gan(simultaneous());
    let per_epoch = Trainer::iterations_per_epoch(&gan, data().len(), &sgd_fit(2));
    let mut rec = Recorder {
        stop_at: Some(per_epoch),
        ..Default::default()
    };
    let (epochs, end) = fit(&mut gan, &sgd_fit(2), &mut rec);
    assert_eq!(end, FitEnd::Stopped);
    assert_eq!(epochs.len(), 1, "epoch 1's metrics are returned");
    assert_eq!(rec.samples.len(), 1, "on_epoch ran for epoch 1");
    assert_eq!((gan.step, gan.epoch, gan.batch_in_epoch), (per_epoch, 1, 0));
    assert_epochs_identical(&s.epochs[..1], &epochs);
    let (more, end) = fit(&mut gan, &sgd_fit(2), &mut Recorder::default());
    assert_eq!(end, FitEnd::Done);
    assert_eq!((more.len(), gan.step), (1, 2 * per_epoch));
    assert_same_state(&mut s.gan, &mut gan);
}

#[test]
fn checkpoint_round_trips_weights_optimizers_and_position() {
    for (scheme, f) in [
        (simultaneous(), &sgd_fit as &dyn Fn(u64) -> FitSpec),
        (alternating(), &adam_fit),
    ] {
        let mut gan = new_gan(scheme);
        // One epoch and 3 steps into the next: non-zero optimizer state, a mid-epoch position.
        let mut rec = Recorder {
            stop_at: None,
            ..Default::default()
        };
        fit(&mut gan, &f(1), &mut rec);
        let per_epoch = gan.step;
        rec.stop_at = Some(per_epoch + 3);
        fit(&mut gan, &f(2), &mut rec);
        assert_eq!(
            (gan.epoch, gan.batch_in_epoch, gan.samples_drawn),
            (1, 3, 1)
        );

        let (states, _) = optim_bits(&mut gan);
        let nonzero = |suffix: &str| {
            states
                .iter()
                .filter(|(n, _)| n.ends_with(suffix))
                .any(|(_, v)| v.iter().any(|&b| f32::from_bits(b) != 0.0))
        };
        assert!(nonzero(".m1"), "first moments / velocities are non-zero");
        if scheme != simultaneous() {
            assert!(nonzero(".m2"), "Adam's second moments are non-zero");
        }

        let dir = tempfile::tempdir().unwrap();
        let extra = json!({ "recipe_sha256": "abc", "metrics_len": 1234, "lr": 0.1 / 1.000004f64.powf(3.0) });
        let path = Checkpoint::save(dir.path(), &mut gan, extra.clone()).unwrap();
        assert_eq!(
            path.file_name().unwrap(),
            format!("ckpt-{:010}", gan.step).as_str()
        );
        let (mut back, manifest) = Checkpoint::load(&path).unwrap();
        assert_same_state(&mut gan, &mut back);
        // Floats in `extra` come back bit-exact as well.
        assert_eq!(manifest.extra, extra);
        assert_eq!(
            manifest.extra["lr"].as_f64().unwrap().to_bits(),
            extra["lr"].as_f64().unwrap().to_bits()
        );
        assert_eq!(manifest.g_prev_lr.to_bits(), gan.g_state.prev_lr.to_bits());
    }
}

/// Every f64 of a manifest comes back with the same bits: learning rates after decay, the
/// spec's floats, and floats in the caller's `extra`, including values a fast decimal parser
/// reads one ULP off. (The manifest relies on serde_json's `float_roundtrip` for this.)
#[test]
fn manifest_floats_round_trip_bit_exactly() {
    let mut gan = new_gan(simultaneous());
    fit(&mut gan, &sgd_fit(1), &mut Quiet);
    let mut tricky = vec![
        0.1 / 1.000004f64.powf(3.0),
        0.09999880000959997,
        1.0 / 3.0,
        2f64.sqrt(),
        f64::MIN_POSITIVE,
        5e-324,
        f64::MAX,
        -0.0,
        1e-300 * 3.0,
        123_456_789.123_456_79,
    ];
    // and a few thousand spread over the exponent range, from a fixed generator
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..3000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let v = f64::from_bits(x);
        if v.is_finite() {
            tricky.push(v);
        }
    }
    gan.g_state.prev_lr = tricky[0];
    gan.d_state.prev_lr = tricky[1];
    gan.spec.noise = Noise::Uniform {
        dim: 1,
        half_width: tricky[2],
    };
    let dir = tempfile::tempdir().unwrap();
    let path = Checkpoint::save(dir.path(), &mut gan, json!({ "floats": tricky })).unwrap();
    let text = fs::read_to_string(path.join(MANIFEST_FILE)).unwrap();
    assert!(!text.contains("float_bits"), "no side channel of bits");
    let m = gan::checkpoint::manifest::Manifest::read(&path.join(MANIFEST_FILE)).unwrap();
    assert_eq!(m.g_prev_lr.to_bits(), tricky[0].to_bits());
    assert_eq!(m.d_prev_lr.to_bits(), tricky[1].to_bits());
    match m.gan_spec.noise {
        Noise::Uniform { half_width, .. } => assert_eq!(half_width.to_bits(), tricky[2].to_bits()),
        other => panic!("{other:?}"),
    }
    let back: Vec<u64> = m.extra["floats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap().to_bits())
        .collect();
    let want: Vec<u64> = tricky.iter().map(|v| v.to_bits()).collect();
    assert_eq!(back.len(), want.len());
    for (i, (b, w)) in back.iter().zip(&want).enumerate() {
        assert_eq!(
            b,
            w,
            "float {i}: {} came back as {}",
            f64::from_bits(*w),
            f64::from_bits(*b)
        );
    }
}

#[test]
fn manifest_records_position_rng_spec_and_digests() {
    let mut gan = new_gan(simultaneous());
    fit(&mut gan, &sgd_fit(1), &mut Recorder::default());
    let dir = tempfile::tempdir().unwrap();
    let path = Checkpoint::save(dir.path(), &mut gan, json!({ "k": [1, 2] })).unwrap();
    let m: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(path.join(MANIFEST_FILE)).unwrap()).unwrap();
    for key in [
        "format_version",
        "epoch",
        "step",
        "batch_in_epoch",
        "samples_drawn",
        "marginals_applied",
        "seed",
        "g_opt_t",
        "g_prev_lr",
        "d_opt_t",
        "d_prev_lr",
        "gan_spec",
        "extra",
        "files",
        "rng",
    ] {
        assert!(m.get(key).is_some(), "manifest lacks `{key}`");
    }
    assert_eq!(m["epoch"], 1);
    assert_eq!(m["step"], 16);
    assert_eq!(m["rng"]["kind"], "counter");
    assert_eq!(m["rng"]["step"], 16);
    assert_eq!(m["extra"], json!({ "k": [1, 2] }));
    for file in [MODEL_FILE, OPTIM_FILE] {
        let want = gan::checkpoint::sha256_hex(&fs::read(path.join(file)).unwrap());
        assert_eq!(m["files"][file], want.as_str());
    }
    let entries: Vec<_> = fs::read_dir(&path)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(entries.len(), 3, "no temp files left: {entries:?}");
}

#[test]
fn weights_file_round_trips_and_rebuilds_the_gan() {
    let mut gan = new_gan(simultaneous());
    fit(&mut gan, &sgd_fit(1), &mut Quiet);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("w.safetensors");
    save_weights(&p, &gan).unwrap();

    let rebuilt = read_gan(&p).unwrap();
    assert_eq!(rebuilt.spec, gan.spec);
    assert_eq!(rebuilt.seed, gan.seed);
    assert_eq!(weight_bits(&rebuilt), weight_bits(&gan));

    let mut other = Gan::try_new(spec(simultaneous(), 16), 99).unwrap();
    assert_ne!(weight_bits(&other), weight_bits(&gan));
    load_weights(&p, &mut other).unwrap();
    assert_eq!(weight_bits(&other), weight_bits(&gan));
    // Same weights, same outputs.
    let z = gan.fixed_noise(16);
    assert_eq!(f32_bits(&other.generate(&z)), f32_bits(&gan.generate(&z)));
}

#[test]
fn weights_of_another_architecture_are_refused_naming_tensor_and_shapes() {
    let gan = new_gan(simultaneous());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("w.safetensors");
    save_weights(&p, &gan).unwrap();

    let mut narrow = Gan::try_new(spec(simultaneous(), 8), 7).unwrap();
    let before = weight_bits(&narrow);
    let err = format!("{:#}", load_weights(&p, &mut narrow).unwrap_err());
    assert!(
        err.contains("d.0.w: file has [1, 16], model expects [1, 8]"),
        "{err}"
    );
    assert!(
        err.contains(&p.display().to_string()),
        "error names the file: {err}"
    );
    assert_eq!(
        weight_bits(&narrow),
        before,
        "a failed load changes nothing"
    );

    // A model with an extra layer: the file lacks a tensor.
    let mut deeper_spec = spec(simultaneous(), 16);
    deeper_spec.g.layers.insert(
        2,
        LayerSpec::Dense {
            units: 16,
            irange: None,
        },
    );
    let mut deeper = Gan::try_new(deeper_spec, 7).unwrap();
    let err = format!("{:#}", load_weights(&p, &mut deeper).unwrap_err());
    assert!(
        err.contains("g.2.w: file has [16, 1], model expects [16, 16]"),
        "{err}"
    );
}

#[test]
fn truncated_or_corrupt_files_are_errors_naming_the_file() {
    let gan = new_gan(simultaneous());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("w.safetensors");
    save_weights(&p, &gan).unwrap();
    let bytes = fs::read(&p).unwrap();

    let cut = dir.path().join("cut.safetensors");
    fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let mut target = new_gan(simultaneous());
    let err = format!("{:#}", load_weights(&cut, &mut target).unwrap_err());
    assert!(
        err.contains(&cut.display().to_string()) && err.contains("not a valid safetensors"),
        "{err}"
    );
    let err = format!("{:#}", read_gan(&cut).unwrap_err());
    assert!(err.contains(&cut.display().to_string()), "{err}");

    let junk = dir.path().join("junk.safetensors");
    fs::write(&junk, b"definitely not safetensors").unwrap();
    let err = format!("{:#}", load_weights(&junk, &mut target).unwrap_err());
    assert!(err.contains(&junk.display().to_string()), "{err}");

    // Inside a checkpoint, a damaged file is caught by its digest, naming it.
    let mut g2 = new_gan(simultaneous());
    let ck = Checkpoint::save(dir.path().join("run"), &mut g2, json!(null)).unwrap();
    let optim = ck.join(OPTIM_FILE);
    let mut ob = fs::read(&optim).unwrap();
    let last = ob.len() - 1;
    ob[last] ^= 0x40;
    fs::write(&optim, &ob).unwrap();
    let err = format!("{:#}", Checkpoint::load(&ck).unwrap_err());
    assert!(
        err.contains(&optim.display().to_string()) && err.contains("SHA-256"),
        "{err}"
    );
}

/// Saves checkpoints of one GAN after each of `epochs` epochs into `dir`.
fn checkpoints_per_epoch(dir: &Path, epochs: u64) -> Vec<std::path::PathBuf> {
    let mut gan = new_gan(simultaneous());
    (1..=epochs)
        .map(|e| {
            fit(&mut gan, &sgd_fit(e), &mut Quiet);
            Checkpoint::save(dir, &mut gan, json!({ "epoch": e })).unwrap()
        })
        .collect()
}

#[test]
fn latest_skips_checkpoints_with_a_missing_manifest_or_a_bad_digest() {
    let dir = tempfile::tempdir().unwrap();
    let cks = checkpoints_per_epoch(dir.path(), 3);
    assert_eq!(latest(dir.path()).as_deref(), Some(cks[2].as_path()));

    fs::remove_file(cks[2].join(MANIFEST_FILE)).unwrap();
    assert_eq!(latest(dir.path()).as_deref(), Some(cks[1].as_path()));

    // Same length, one byte changed: only the digest can tell.
    let model = cks[1].join(MODEL_FILE);
    let mut b = fs::read(&model).unwrap();
    let mid = b.len() - 7;
    b[mid] ^= 1;
    fs::write(&model, b).unwrap();
    assert_eq!(latest(dir.path()).as_deref(), Some(cks[0].as_path()));
    let (g, m) = Checkpoint::load(latest(dir.path()).unwrap()).unwrap();
    assert_eq!((g.epoch, m.extra["epoch"].as_u64()), (1, Some(1)));

    assert_eq!(latest(dir.path().join("nowhere")), None);
}

#[test]
fn a_half_written_temporary_checkpoint_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let cks = checkpoints_per_epoch(dir.path(), 1);

    // A crash mid-save: the temp directory holds part of the model and no manifest.
    let tmp = dir.path().join(".ckpt-0000000032.4242.0.tmp");
    fs::create_dir(&tmp).unwrap();
    let model = fs::read(cks[0].join(MODEL_FILE)).unwrap();
    fs::write(tmp.join(MODEL_FILE), &model[..model.len() / 3]).unwrap();
    // A crash after the manifest but before the rename: complete, yet never published.
    let tmp2 = dir.path().join(".ckpt-0000000048.4242.1.tmp");
    fs::create_dir(&tmp2).unwrap();
    for f in [MODEL_FILE, OPTIM_FILE, MANIFEST_FILE] {
        fs::copy(cks[0].join(f), tmp2.join(f)).unwrap();
    }
    // And a stray half-written temp file inside a published-looking directory.
    let stray = dir.path().join("ckpt-0000000064");
    fs::create_dir(&stray).unwrap();
    fs::write(stray.join(".model.safetensors.4242.2.tmp"), b"partial").unwrap();

    assert_eq!(latest(dir.path()).as_deref(), Some(cks[0].as_path()));
    let (g, _) = Checkpoint::load(latest(dir.path()).unwrap()).unwrap();
    assert_eq!(g.epoch, 1);

    assert_eq!(remove_stale_temps(dir.path()).unwrap(), 2);
    assert!(!tmp.exists() && !tmp2.exists());
    assert_eq!(
        list(dir.path()).unwrap().len(),
        2,
        "ckpt-16 and the incomplete ckpt-64"
    );
}

#[test]
fn keep_last_deletes_older_checkpoints_but_never_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let cks = checkpoints_per_epoch(dir.path(), 4);
    let removed = keep_last(dir.path(), 2).unwrap();
    assert_eq!(removed, cks[..2].to_vec());
    let left: Vec<_> = list(dir.path())
        .unwrap()
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    assert_eq!(left, cks[2..].to_vec());

    keep_last(dir.path(), 0).unwrap();
    let left: Vec<_> = list(dir.path())
        .unwrap()
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    assert_eq!(left, vec![cks[3].clone()], "k = 0 still keeps the newest");

    // Saving twice at the same step replaces the checkpoint.
    let (mut g, _) = Checkpoint::load(&cks[3]).unwrap();
    let again = Checkpoint::save(dir.path(), &mut g, json!("second")).unwrap();
    assert_eq!(again, cks[3]);
    assert_eq!(Checkpoint::verify(&again).unwrap().extra, json!("second"));
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "nothing left over: {names:?}");
}

/// `f` run on another thread must finish within 20 s (a FIFO read would block forever).
fn within_20s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(f()));
    match rx.recv_timeout(std::time::Duration::from_secs(20)) {
        Ok(v) => v,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("hung: the checkpoint read blocked")
        }
        Err(_) => panic!("the check failed (its panic is above)"),
    }
}

/// Rewrites the manifest of checkpoint `ck` with `edit` applied to its JSON.
fn edit_manifest(ck: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let p = ck.join(MANIFEST_FILE);
    let mut m: serde_json::Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
    edit(&mut m);
    fs::write(&p, serde_json::to_string_pretty(&m).unwrap()).unwrap();
}

/// The error of resuming from the newest checkpoint in `dir`, as the resume path does: an
/// edited or planted checkpoint must stop it, not be skipped for an older one.
fn resume_error(dir: &Path) -> String {
    let dir = dir.to_path_buf();
    within_20s(move || {
        let e =
            gan::checkpoint::latest_checked(&dir).expect_err("the newest checkpoint is refused");
        assert!(e.is::<gan::checkpoint::Tampered>(), "{e:#}");
        format!("{e:#}")
    })
}

#[cfg(unix)]
#[test]
fn a_fifo_or_symlink_as_a_checkpoint_file_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let cks = checkpoints_per_epoch(dir.path(), 2);
    let model = cks[1].join(MODEL_FILE);
    fs::remove_file(&model).unwrap();
    let c = std::ffi::CString::new(model.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let e = resume_error(dir.path());
    assert!(
        e.contains("model.safetensors: is not a regular file"),
        "{e}"
    );
    let ck = cks[1].clone();
    let e = within_20s(move || format!("{:#}", Checkpoint::load(&ck).unwrap_err()));
    assert!(
        e.contains("model.safetensors: is not a regular file"),
        "{e}"
    );

    // a symlink to an identical copy outside is refused too (its target is never read)
    fs::remove_file(&model).unwrap();
    let outside = dir.path().join("elsewhere.safetensors");
    fs::copy(cks[0].join(MODEL_FILE), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, &model).unwrap();
    let e = resume_error(dir.path());
    assert!(e.contains("model.safetensors: is a symbolic link"), "{e}");
}

#[test]
fn a_manifest_naming_files_outside_its_checkpoint_is_refused() {
    for name in [
        "/dev/zero",
        "../../outside.bin",
        "..",
        "sub/model.safetensors",
        "extra.bin",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let cks = checkpoints_per_epoch(dir.path(), 1);
        fs::write(dir.path().join("outside.bin"), b"secret").unwrap();
        edit_manifest(&cks[0], |m| {
            m["files"][name] = json!(gan::checkpoint::sha256_hex(b"secret"));
        });
        let e = resume_error(dir.path());
        let plain = !name.contains('/') && name != "..";
        let want = if plain {
            "a checkpoint holds exactly model.safetensors and optim.safetensors".to_string()
        } else {
            format!("`files`: `{name}` is not a plain file name")
        };
        assert!(e.contains(&want), "{name}: {e}");
    }
}

#[test]
fn an_edited_manifest_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cks = checkpoints_per_epoch(dir.path(), 3);
    let newest = cks[2].clone();
    let fresh = fs::read(newest.join(MANIFEST_FILE)).unwrap();
    let restore = || fs::write(newest.join(MANIFEST_FILE), &fresh).unwrap();

    // epoch edited consistently (with rng.epoch): the weights' own metadata disagrees
    edit_manifest(&newest, |m| {
        m["epoch"] = json!(7);
        m["rng"]["epoch"] = json!(7);
    });
    let e = resume_error(dir.path());
    assert!(
        e.contains("`epoch` is 7, but") && e.contains("was saved at epoch 3"),
        "{e}"
    );
    restore();
    // epoch alone: it disagrees with rng.epoch
    edit_manifest(&newest, |m| m["epoch"] = json!(1));
    let e = resume_error(dir.path());
    assert!(e.contains("`epoch` is 1 but `rng.epoch` is 3"), "{e}");
    restore();
    // a field nothing else records: the seal catches it
    edit_manifest(&newest, |m| m["g_prev_lr"] = json!(0.5));
    let e = resume_error(dir.path());
    assert!(e.contains("`seal` does not match its content"), "{e}");
    restore();
    assert_eq!(
        gan::checkpoint::latest_checked(dir.path())
            .unwrap()
            .as_deref(),
        Some(newest.as_path())
    );
}

#[test]
fn a_checkpoint_file_of_another_size_than_declared_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let cks = checkpoints_per_epoch(dir.path(), 2);
    let optim = cks[1].join(OPTIM_FILE);
    let mut b = fs::read(&optim).unwrap();
    b.extend_from_slice(&[0; 4096]);
    fs::write(&optim, b).unwrap();
    let e = format!("{:#}", Checkpoint::load(&cks[1]).unwrap_err());
    assert!(
        e.contains("optim.safetensors: ") && e.contains(" bytes, the manifest records "),
        "{e}"
    );
    // like a corrupt file, it is passed over for the older complete checkpoint
    assert_eq!(latest(dir.path()).as_deref(), Some(cks[0].as_path()));
}
