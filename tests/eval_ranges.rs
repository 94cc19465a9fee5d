//! Evaluation of runs on `[-1, 1]` data and of Fashion-MNIST runs: samples are mapped onto the
//! real images' `[0, 1]` by the range the run recorded, and a Fashion-MNIST run is scored by the
//! Fashion-MNIST classifier (trained once into `target/test-classifier-cache/`, like MNIST's; its own
//! checks are in tests/classifier_metrics.rs).

mod common;

use std::path::Path;
use std::process::{Command, Output};

use gan::data::{MnistSplit, PixelRange};
use gan::eval::EvalSet;

fn symmetric(x: &[f32]) -> Vec<f32> {
    x.iter().map(|v| 2.0 * v - 1.0).collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

/// Real images given as `[-1, 1]` values with their range score as the `[0, 1]` originals; read
/// as `[0, 1]` values they would score far worse (what evaluating a tanh run used to do).
#[test]
fn symmetric_real_images_score_as_their_unit_originals() {
    let ev = common::shared_evaluator();
    let valid = EvalSet::Mnist
        .load(&common::mnist_dir(), MnistSplit::Valid)
        .unwrap();
    let unit = ev.evaluate_samples(&valid.x).unwrap();
    let sym = ev
        .evaluate_in_range(&symmetric(&valid.x), PixelRange::Symmetric)
        .unwrap();
    eprintln!("unit {unit:?}\nsymmetric {sym:?}");
    assert!(close(unit.fd, sym.fd), "{} vs {}", unit.fd, sym.fd);
    assert!(
        close(unit.score, sym.score),
        "{} vs {}",
        unit.score,
        sym.score
    );
    let unmapped = ev.evaluate_samples(&symmetric(&valid.x)).unwrap();
    assert!(
        unmapped.fd > 10.0 * unit.fd,
        "{} vs {}",
        unmapped.fd,
        unit.fd
    );
    let e = ev
        .evaluate_in_range(&valid.x, PixelRange::Contrast)
        .unwrap_err()
        .to_string();
    assert!(e.contains("contrast-normalised"), "{e}");
}

/// A tanh G on symmetric Fashion-MNIST, one step.
const TANH_FASHION: &str = r#"
seed(3);
let data = fashion_mnist("test", #{ range: "symmetric" }).slice(0, 100);
let m = gan(stack(8).dense(784).tanh(), stack(784).dense(1));
m.fit(data, #{ epochs: 1, batch: 50, steps_per_epoch: 1 });
"#;

fn gan(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(args)
        .arg("--data-dir")
        .arg(common::mnist_dir())
        .env("GAN_CACHE_DIR", common::test_classifier_cache())
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn json_of(out: &Output) -> serde_json::Value {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn stderr_of(out: &Output) -> String {
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `gan eval classifier` and `gan eval parzen` read the data set and range from config.json and
/// give what the library gives for the GAN with that set and range; a config.json that cannot
/// tell is an error naming the file and field, unless the flags say it.
#[test]
fn cli_evaluates_a_symmetric_fashion_run_as_recorded() {
    let ev = common::shared_fashion_evaluator();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("tanh.rhai"), TANH_FASHION).unwrap();
    let out = gan(&["run", "tanh.rhai", "--out", "run"], tmp.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let weights = tmp.path().join("run/weights.safetensors");
    let mut model = gan::checkpoint::read_gan(&weights).unwrap();
    let truth = ev
        .evaluate_gan(&mut model, 200, PixelRange::Symmetric)
        .unwrap();

    let classifier = ["eval", "classifier", "run", "--samples", "200", "--json"];
    let v = json_of(&gan(&classifier, tmp.path()));
    assert_eq!(v["data"], "fashion-mnist");
    assert_eq!(v["range"], "symmetric");
    assert_eq!(v["accuracy"].as_f64().unwrap(), ev.test_accuracy);
    assert_eq!(v["fd"].as_f64().unwrap(), truth.fd);
    assert_eq!(v["score"].as_f64().unwrap(), truth.score);

    let parzen = [
        "eval",
        "parzen",
        "run",
        "--samples",
        "50",
        "--sigma",
        "0.2",
        "--json",
    ];
    let p = json_of(&gan(&parzen, tmp.path()));
    let mut model = gan::checkpoint::read_gan(&weights).unwrap();
    let dir = common::mnist_dir();
    let (valid, test) = (
        EvalSet::FashionMnist.load(&dir, MnistSplit::Valid).unwrap(),
        EvalSet::FashionMnist.load(&dir, MnistSplit::Test).unwrap(),
    );
    let r = gan::eval::gan_parzen(
        &mut model,
        PixelRange::Symmetric,
        &valid,
        &test,
        50,
        Some(0.2),
    )
    .unwrap();
    assert_eq!(p["ll"].as_f64().unwrap(), r.ll);

    // Hostile or damaged records: each an error naming config.json and the field.
    let config = tmp.path().join("run/config.json");
    let original = std::fs::read_to_string(&config).unwrap();
    let edit = |from: &str, to: &str| {
        assert!(original.contains(from), "{from} in {original}");
        std::fs::write(&config, original.replace(from, to)).unwrap();
    };
    edit("\"range\": \"symmetric\"", "\"range\": \"tanh\"");
    let e = stderr_of(&gan(&classifier, tmp.path()));
    assert!(
        e.contains("config.json, gans.gan.data.image.range") && e.contains("\"tanh\""),
        "{e}"
    );
    edit("\"range\": \"symmetric\",", "");
    let e = stderr_of(&gan(&parzen, tmp.path()));
    assert!(e.contains("gans.gan.data.image: no pixel \"range\""), "{e}");
    edit("\"name\": \"fashion-mnist-test", "\"name\": \"cifar10-test");
    let e = stderr_of(&gan(&classifier, tmp.path()));
    assert!(
        e.contains("no evaluation classifier for the data set \"cifar10-test"),
        "{e}"
    );
    // the flags stand in for the record
    let flags = ["--range", "symmetric", "--data-set", "fashion-mnist"];
    let v = json_of(&gan(&[&classifier[..], &flags].concat(), tmp.path()));
    assert_eq!(v["fd"].as_f64().unwrap(), truth.fd);
    std::fs::remove_file(&config).unwrap();
    let e = stderr_of(&gan(&classifier, tmp.path()));
    assert!(
        e.contains("config.json") && e.contains("--range and --data-set"),
        "{e}"
    );
}

/// The DSL scores a GAN against the data it was fit on, in its range.
#[test]
fn dsl_metrics_follow_the_fit_data() {
    let ev = common::shared_fashion_evaluator();
    let (mut s, _) = common::session(None, &[], Some(1));
    let both: rhai::Array = s
        .eval(&format!(
            "{TANH_FASHION}\n[classifier_metrics(m, #{{ samples: 200 }}), classifier_metrics(fashion_mnist(\"valid\", #{{ range: \"symmetric\" }}).rows_of(0, 500), #{{ data: \"fashion-mnist\" }})]"
        ))
        .unwrap()
        .cast();
    let g: rhai::Map = both[0].clone().cast();
    assert_eq!(g["data"].clone().into_string().unwrap(), "fashion-mnist");
    assert_eq!(g["accuracy"].as_float().unwrap(), ev.test_accuracy);
    let real: rhai::Map = both[1].clone().cast();
    let valid = EvalSet::FashionMnist
        .load(&common::mnist_dir(), MnistSplit::Valid)
        .unwrap();
    let truth = ev.evaluate_samples(&valid.x[..500 * 784]).unwrap();
    assert!(close(real["fd"].as_float().unwrap(), truth.fd));
}
