//! Convolutional GANs end to end through the real binary: a tiny DCGAN-shaped recipe trains,
//! a run stopped after an epoch and resumed ends byte-identical to one never stopped (batch
//! norm's running statistics included), the thread count changes nothing, the reference path
//! refuses it, and image-layer misfits are errors at the layer's line:col.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn gan() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gan"));
    c.env_remove("GAN_ENGINE")
        .env_remove("RAYON_NUM_THREADS")
        .env("GAN_DATA_DIR", common::mnist_dir());
    c
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "gan failed ({:?}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A small DCGAN on 256 MNIST images: both kinds of convolution, batch norm in G (image and
/// flat) and in D, a bias-free layer, and alternating updates (D's pass over G(z) in the G step).
const TINY: &str = r#"
seed(3);
let data = mnist("train").slice(0, 256);
let g = stack(16)
    .dense(8 * 7 * 7).batch_norm().relu().reshape(8, 7, 7)
    .conv_transpose(4, 4, #{ stride: 2, padding: 1, bias: false }).batch_norm(#{ momentum: 0.2 }).relu()
    .conv_transpose(1, 4, #{ stride: 2, padding: 1 }).sigmoid();
let d = stack([1, 28, 28])
    .conv(4, 4, #{ stride: 2, padding: 1 }).leaky_relu(0.2)
    .conv(8, 4, #{ stride: 2, padding: 1, bias: false }).batch_norm().leaky_relu(0.2)
    .dense(1);
let m = gan(g, d, #{ scheme: param("scheme", "alternating"), noise: "gaussian" });
let opt = adam(#{ lr: 0.0002, beta1: 0.5 });
m.fit(data, #{ epochs: param("epochs", 2), batch: 32, d_opt: opt, g_opt: opt });
write_json("final.json", #{ step: m.step, mean: m.sample(16).mean(), std: m.sample(16).std() });
"#;

fn run(dir: &Path, out: &str, extra: &[&str], threads: &str) -> Output {
    let recipe = dir.join("tiny.rhai");
    fs::write(&recipe, TINY).unwrap();
    gan()
        .arg("run")
        .arg(&recipe)
        .arg("--out")
        .arg(dir.join(out))
        .args(extra)
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .unwrap()
}

fn bytes(dir: &Path, run: &str, file: &str) -> Vec<u8> {
    fs::read(dir.join(run).join(file)).unwrap()
}

#[test]
fn a_tiny_conv_gan_resumes_byte_identical_and_ignores_the_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for scheme in ["alternating", "simultaneous"] {
        let set = format!("scheme={scheme}");
        let (a, b, c) = (
            format!("a-{scheme}"),
            format!("b-{scheme}"),
            format!("c-{scheme}"),
        );
        ok(run(dir, &a, &["--set", "epochs=2", "--set", &set], "2"));
        ok(run(dir, &b, &["--set", "epochs=1", "--set", &set], "2"));
        ok(gan()
            .arg("resume")
            .arg(dir.join(&b))
            .args(["--set", "epochs=2"])
            .env("RAYON_NUM_THREADS", "2")
            .output()
            .unwrap());
        ok(run(dir, &c, &["--set", "epochs=2", "--set", &set], "1"));
        let wa = bytes(dir, &a, "weights.safetensors");
        let text = String::from_utf8_lossy(&wa);
        assert!(
            text.contains("g.1.running_mean") && text.contains("d.4.running_var"),
            "the weights file holds the running statistics"
        );
        assert!(
            wa == bytes(dir, &b, "weights.safetensors"),
            "{scheme}: resumed weights differ"
        );
        assert!(
            wa == bytes(dir, &c, "weights.safetensors"),
            "{scheme}: 1 thread differs from 2"
        );
        let fa = bytes(dir, &a, "final.json");
        assert_eq!(fa, bytes(dir, &b, "final.json"));
        assert_eq!(fa, bytes(dir, &c, "final.json"));
        assert!(
            String::from_utf8_lossy(&fa).contains("\"step\": 16"),
            "{}",
            String::from_utf8_lossy(&fa)
        );
    }
}

#[test]
fn the_reference_path_refuses_a_conv_stack_at_its_layer() {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = tmp.path().join("r.rhai");
    fs::write(
        &recipe,
        "let g = stack(4).dense(16).reshape(1, 4, 4).conv_transpose(1, 3, #{ padding: 1 });\n\
         let d = stack([1, 4, 4]).dense(1);\nlet m = gan(g, d);\n",
    )
    .unwrap();
    let out = gan()
        .arg("run")
        .arg(&recipe)
        .arg("--out")
        .arg(tmp.path().join("o"))
        .env("GAN_ENGINE", "reference")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("r.rhai:1:45: generator: layer 3")
            && err.contains("layer 3 `conv_transpose(1, 3, stride 1, padding 1)`: this layer has no reference (dfdx) implementation"),
        "{err}"
    );
}

#[test]
fn image_layer_misfits_are_errors_at_that_layer() {
    let (mut s, _) = common::session(None, &[], None);
    let e = s
        .eval_named("recipe.rhai", "let d = stack([1, 28, 28])\n    .conv(8, 4, #{ stride: 2, padding: 1 })\n    .conv(8, 3, #{ stride: 2 });\n")
        .expect_err("a misfit");
    assert_eq!((e.line, e.col), (Some(3), Some(6)), "{e}");
    assert!(
        e.message
            .contains("kernel 3x3, stride 2x2, padding 0x0 does not tile input [8, 14, 14]"),
        "{}",
        e.message
    );
    let e = s
        .eval_named(
            "recipe.rhai",
            "let g = stack(100).dense(784)\n  .reshape(3, 16, 16);\n",
        )
        .expect_err("a reshape whose sizes differ");
    assert_eq!((e.line, e.col), (Some(2), Some(4)), "{e}");
    assert!(
        e.message
            .contains("cannot reshape input 784 (784 values) to [3, 16, 16] (768 values)"),
        "{}",
        e.message
    );
    let e = s
        .eval_named("recipe.rhai", "let d = stack(784).conv(8, 3);\n")
        .expect_err("conv on flat rows");
    assert!(
        e.message
            .contains("needs an image input [c, h, w], got 784 flat features"),
        "{}",
        e.message
    );
}

#[test]
fn summary_lists_each_layer_with_its_output_shape_and_parameters() {
    let (mut s, _) = common::session(None, &[], None);
    let v = s
        .eval_named(
            "recipe.rhai",
            "stack([1, 28, 28]).conv(64, 4, #{ stride: 2, padding: 1 }).leaky_relu(0.2).batch_norm().flatten().dense(1).summary()",
        )
        .unwrap();
    let text = v.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 9, "{text}");
    assert!(
        lines[2].starts_with("1 reshape(1, 28, 28)")
            && lines[2].contains("[1, 28, 28]")
            && lines[2].ends_with(" 0"),
        "{text}"
    );
    assert!(
        lines[3].contains("[64, 14, 14]") && lines[3].ends_with("1088"),
        "{text}"
    );
    assert!(
        lines[5].starts_with("4 batch_norm") && lines[5].ends_with("128"),
        "{text}"
    );
    assert!(
        lines[6].starts_with("5 flatten()") && lines[6].contains("12544"),
        "{text}"
    );
    assert!(
        lines[7].starts_with("6 dense(1)") && lines[7].ends_with("12545"),
        "{text}"
    );
    assert_eq!(
        lines[8],
        format!("total parameters: {}", 1088 + 128 + 12545)
    );
}

#[test]
fn pooling_layers_compute_their_shapes_and_refuse_misfits_at_the_call() {
    let (mut s, _) = common::session(None, &[], None);
    let v = s
        .eval_named(
            "recipe.rhai",
            "stack([6, 8, 8]).channel_maxout(2).max_pool(2, 2).upsample(3).avg_pool(2).output_size()",
        )
        .unwrap();
    // [6, 8, 8] → [3, 8, 8] → [3, 4, 4] → [3, 12, 12] → [3, 6, 6]
    assert_eq!(v.as_int().unwrap(), 3 * 6 * 6);
    let e = s
        .eval_named(
            "recipe.rhai",
            "let d = stack([3, 7, 7])\n  .max_pool(2, 2);\n",
        )
        .expect_err("a misfit");
    assert_eq!((e.line, e.col), (Some(2), Some(4)), "{e}");
    assert!(
        e.message
            .contains("max_pool 2x2, stride 2 does not tile input [3, 7, 7]"),
        "{}",
        e.message
    );
}

/// `gan eval` picks its engine path from GAN_ENGINE too: on a conv run the reference path is an
/// error naming the layer, not a panic inside the layer's forward.
#[test]
fn gan_eval_refuses_the_reference_path_for_a_conv_run() {
    let tmp = tempfile::tempdir().unwrap();
    ok(run(tmp.path(), "r", &["--set", "epochs=1"], "1"));
    let out = gan()
        .args(["eval", "parzen"])
        .arg(tmp.path().join("r"))
        .args(["--samples", "10"])
        .env("GAN_ENGINE", "reference")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("on GAN_ENGINE=reference")
            && err.contains("has no reference (dfdx) implementation")
            && !err.contains("panicked"),
        "{err}"
    );
}

/// A flat batch norm sees one value per channel per row: a batch of 1 is refused before training,
/// naming the layer, rather than panicking in the first pass.
#[test]
fn batch_norm_on_a_batch_of_one_is_an_error_naming_the_layer() {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = tmp.path().join("b.rhai");
    fs::write(
        &recipe,
        "let data = mnist(\"train\").slice(0, 64);\n\
         let g = stack(8).dense(16).batch_norm().relu().dense(784).sigmoid();\n\
         let d = stack(784).dense(8).leaky_relu(0.2).dense(1);\n\
         let m = gan(g, d);\nm.fit(data, #{ epochs: 1, batch: 1 });\n",
    )
    .unwrap();
    let out = gan()
        .arg("run")
        .arg(&recipe)
        .arg("--out")
        .arg(tmp.path().join("o"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("generator: layer 2 `batch_norm")
            && err.contains("normalise in training, but batch 1 of 16 gives 1")
            && !err.contains("panicked"),
        "{err}"
    );
}
