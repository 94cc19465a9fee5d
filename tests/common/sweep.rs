//! Helpers of the sweep tests (tests/sweep.rs, tests/slurm.rs): the `gan` binary, a toy recipe,
//! task status files and polling.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn gan() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gan"))
}

/// stdout and stderr of a command that must have succeeded.
pub fn ok(out: Output) -> String {
    let text = text(&out);
    assert!(out.status.success(), "failed ({:?}):\n{text}", out.status);
    text
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A 1-D toy GAN reading `n`, `lr` and `epochs`; writes its p_g's mean and std to results.json.
/// `n` rows at batch 20: 15 000 steps an epoch (seconds) at n = 300 000.
pub const TOY: &str = r#"
seed(3);
let n = param("n", 2000);
let data = gaussian_1d(4.0, 0.5, n);
let g = stack(1).dense(16, 0.5).relu().dense(1, 0.5);
let d = stack(1).dense(16, 0.5).relu().dense(1, 0.5);
let m = gan(g, d);
m.fit(data, #{ epochs: param("epochs", 2), batch: 20, opt: adam(#{ lr: param("lr", 0.001) }) });
let s = m.sample(1000);
write_json("results.json", #{ p_g_mean: s.mean(), p_g_std: s.std() });
"#;

/// A temporary folder holding `toy.rhai`.
pub fn setup() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = tmp.path().join("toy.rhai");
    fs::write(&recipe, TOY).unwrap();
    (tmp, recipe)
}

/// A task's status.json (Null while it has none).
pub fn status(run: &Path) -> Value {
    serde_json::from_slice(&fs::read(run.join("status.json")).unwrap_or_default())
        .unwrap_or(Value::Null)
}

/// Polls until `f` holds (at most 10 minutes).
pub fn wait_for(what: &str, f: impl Fn() -> bool) {
    let started = Instant::now();
    while !f() {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether epoch 1's checkpoint of a n = 300 000 toy run is complete.
pub fn first_checkpoint(run: &Path) -> bool {
    run.join("checkpoints/ckpt-0000015000/manifest.json")
        .exists()
}

/// `file` of two runs holds the same bytes; for metrics.jsonl, but for the timing fields.
pub fn same_file(a: &Path, b: &Path, file: &str) {
    if file == "metrics.jsonl" {
        assert_eq!(
            super::metrics_without_timing(a, file),
            super::metrics_without_timing(b, file)
        );
        return;
    }
    assert!(
        fs::read(a.join(file)).unwrap() == fs::read(b.join(file)).unwrap(),
        "{file} differs between {} and {}",
        a.display(),
        b.display()
    );
}

/// Runs the toy with `sets` and `seed` by `gan run` into `tmp/direct-<seed>` and checks that
/// `run` (a sweep's run) ended the same.
pub fn assert_same_as_direct(tmp: &Path, recipe: &Path, run: &Path, sets: &[&str], seed: &str) {
    let direct = tmp.join(format!("direct-{seed}-{}", sets.join("")));
    ok(gan()
        .arg("run")
        .arg(recipe)
        .args(sets)
        .args(["--seed", seed, "--out"])
        .arg(&direct)
        .output()
        .unwrap());
    for f in ["weights.safetensors", "results.json", "metrics.jsonl"] {
        same_file(run, &direct, f);
    }
}
