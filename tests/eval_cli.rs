//! `gan eval` through the real binary on runs whose GANs are named.

mod common;

use std::process::{Command, Output};

fn gan(args: &[&str], cwd: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(args)
        .arg("--data-dir")
        .arg(common::mnist_dir())
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// Two named MNIST GANs, one step each: neither writes `weights.safetensors`.
const TWO_NAMED: &str = r#"
seed(5);
let data = mnist("test").slice(0, 100);
let a = gan(stack(8).dense(784).sigmoid(), stack(784).dense(1), #{ name: "alpha" });
a.fit(data, #{ epochs: 1, batch: 50, steps_per_epoch: 1 });
let b = gan(stack(8).dense(784).sigmoid(), stack(784).dense(1), #{ name: "beta" });
b.fit(data, #{ epochs: 1, batch: 50, steps_per_epoch: 1 });
"#;

#[test]
fn eval_of_a_run_of_named_gans_lists_them_and_takes_gan() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("two.rhai"), TWO_NAMED).unwrap();
    let out = gan(&["run", "two.rhai", "--out", "run"], tmp.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(tmp.path().join("run/weights_alpha.safetensors").is_file());
    assert!(!tmp.path().join("run/weights.safetensors").exists());

    let parzen = ["eval", "parzen", "run", "--samples", "20", "--sigma", "0.2"];
    let out = gan(&parzen, tmp.path());
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "the run holds alpha (weights_alpha.safetensors), beta (weights_beta.safetensors): \
             pick one with --gan NAME"
        ),
        "{stderr}"
    );

    let out = gan(
        &[&parzen[..], &["--gan", "beta", "--json"]].concat(),
        tmp.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["n_samples"], 20);
    assert_eq!(v["sigma"], 0.2);

    let out = gan(&[&parzen[..], &["--gan", "gamma"]].concat(), tmp.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("no GAN named `gamma`; the run holds alpha"),
        "{stderr}"
    );
}

/// Writes `values` as a samples file: one F32 tensor `samples` of shape `[n, 784]`.
fn samples_file(path: &std::path::Path, values: &[f32]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let view = safetensors::tensor::TensorView::new(
        safetensors::Dtype::F32,
        vec![values.len() / 784, 784],
        &bytes,
    )
    .unwrap();
    std::fs::write(
        path,
        safetensors::serialize([("samples", view)], &None).unwrap(),
    )
    .unwrap();
}

/// Truth for `--samples-file`: the test images themselves, as samples, are the test set: their
/// Fréchet distance to it is 0 and their score is the reference score the same run prints; in
/// [-1, 1] with `--range symmetric` they score the same. A file without `samples` is an error
/// naming it.
#[test]
fn eval_classifier_scores_a_samples_file() {
    let tmp = tempfile::tempdir().unwrap();
    let test = gan::data::load_mnist(&common::mnist_dir(), gan::data::MnistSplit::Test).unwrap();
    let unit = tmp.path().join("unit.safetensors");
    samples_file(&unit, &test.x);
    let symmetric = tmp.path().join("symmetric.safetensors");
    samples_file(
        &symmetric,
        &test.x.iter().map(|v| v * 2.0 - 1.0).collect::<Vec<_>>(),
    );
    let eval = |file: &str, range: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_gan"))
            .env("GAN_CACHE_DIR", common::test_classifier_cache())
            .args([
                "eval",
                "classifier",
                "--json",
                "--range",
                range,
                "--samples-file",
            ])
            .arg(tmp.path().join(file))
            .arg("--data-dir")
            .arg(common::mnist_dir())
            .output()
            .unwrap();
        (out.status.success(), common::output_text(&out))
    };
    for (file, range) in [
        ("unit.safetensors", "unit"),
        ("symmetric.safetensors", "symmetric"),
    ] {
        let (ok, text) = eval(file, range);
        assert!(ok, "{text}");
        let v: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(v["n_samples"], 10_000, "{v}");
        assert!(v["fd"].as_f64().unwrap().abs() < 1e-3, "{v}");
        let (score, reference) = (
            v["score"].as_f64().unwrap(),
            v["ref_test_score"].as_f64().unwrap(),
        );
        assert!((score - reference).abs() < 1e-4 * reference, "{v}");
    }
    let other = tmp.path().join("other.safetensors");
    let bytes = vec![0u8; 4 * 784 * 2];
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2, 784], &bytes)
        .unwrap();
    std::fs::write(
        &other,
        safetensors::serialize([("images", view)], &None).unwrap(),
    )
    .unwrap();
    let (ok, text) = eval("other.safetensors", "unit");
    assert!(!ok);
    assert!(
        text.contains("other.safetensors: no tensor `samples` (it holds: images)"),
        "{text}"
    );
}
