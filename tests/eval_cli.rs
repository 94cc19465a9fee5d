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
