//! The paper's CIFAR-10 recipes (`scripts/paper/cifar10_fc.rhai`, `cifar10_conv.rhai`) through
//! the real binary, on generated files in CIFAR-10's binary format (the real set is not reachable
//! from our machines): every layer's output shape and parameter count against the arithmetic of
//! goodfeli/adversarial's yaml files, and a one-step run that writes its outputs and resumes
//! on to a second step (for the conv model, bit for bit where an uninterrupted two-step run ends).
//! Run in release mode (`cargo test --release`): the generators have 64–89 M parameters.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use common::{metrics_without_timing as metrics, ok};
use gan::data::cifar10::{RECORD_BYTES, TEST_FILE, TRAIN_FILES};
use serde_json::Value;

/// Records per generated file: 5 × 28 = 140 training rows, enough for one batch of 128 (conv) or
/// 100 (FC) and a few held-out rows.
const PER_FILE: usize = 28;

/// One model at a time: each run holds 2.5–3.5 GB of memory and writes checkpoints of 0.9 GB
/// (conv) or 1.5 GB (FC) each.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// CIFAR-10-format files under `root/cifar10` (the sibling of the data dir `root/mnist`): record
/// `k` has label `k % 10` and varied pixels, so GCN has something to normalise.
fn write_cifar(root: &Path) {
    let dir = root.join("cifar10");
    fs::create_dir_all(&dir).unwrap();
    for (f, name) in TRAIN_FILES.iter().chain([&TEST_FILE]).enumerate() {
        let mut bytes = Vec::new();
        for i in 0..PER_FILE {
            let k = f * PER_FILE + i;
            bytes.push((k % 10) as u8);
            bytes.extend((0..RECORD_BYTES - 1).map(|p| ((p * (k + 3) + 11 * k) % 251) as u8));
        }
        fs::write(dir.join(name), bytes).unwrap();
    }
}

/// `gan run RECIPE --out OUT` on the generated data: `epochs` epochs of one step each.
fn run(
    root: &Path,
    recipe: &Path,
    out: &Path,
    train_stop: usize,
    epochs: u32,
    extra: &[&str],
) -> String {
    let o = ok(Command::new(env!("CARGO_BIN_EXE_gan"))
        .arg("run")
        .arg(recipe)
        .arg("--out")
        .arg(out)
        .args(extra)
        .arg("--data-dir")
        .arg(root.join("mnist"))
        .args(["--set", &format!("train_stop={train_stop}")])
        .args(["--set", &format!("valid_stop={}", 5 * PER_FILE)])
        .args(["--set", &format!("epochs={epochs}")])
        .output()
        .unwrap());
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The rows of every `summary()` table in `stdout`: (output shape, parameters) per layer, and
/// each table's total.
fn summaries(stdout: &str) -> Vec<(Vec<(String, usize)>, usize)> {
    let mut tables = Vec::new();
    let mut rows = None;
    for line in stdout.lines() {
        if line.starts_with("layer ") && line.contains("output shape") {
            rows = Some(Vec::new());
        } else if let Some(total) = line.strip_prefix("total parameters: ") {
            tables.push((rows.take().unwrap(), total.parse().unwrap()));
        } else if let Some(r) = rows.as_mut() {
            let cols: Vec<&str> = line.split("  ").filter(|c| !c.is_empty()).collect();
            if cols[0].trim() == "input" {
                continue;
            }
            let params = cols.get(2).map_or(0, |p| p.trim().parse().unwrap());
            r.push((cols[1].trim().to_string(), params));
        }
    }
    tables
}

fn check_table(what: &str, got: &(Vec<(String, usize)>, usize), want: &[(&str, usize)]) {
    let want: Vec<(String, usize)> = want.iter().map(|(s, p)| (s.to_string(), *p)).collect();
    assert_eq!(got.0, want, "{what}: (output shape, parameters) per layer");
    assert_eq!(
        got.1,
        want.iter().map(|w| w.1).sum::<usize>(),
        "{what}: total"
    );
}

/// A one-epoch run (one step) writes its outputs; `gan resume --set epochs=2` takes it on to
/// epoch 2 and, with `exact`, to where an uninterrupted two-epoch run ends, bit for bit (the FC
/// model's layers are the MNIST recipe's, whose resume the resume tests check: it skips that
/// third run of 127 M parameters).
fn run_and_resume(name: &str, batch: usize, exact: bool) -> String {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write_cifar(root);
    let r = common::recipe(&format!("paper/{name}"));
    let (a, b) = (root.join("a"), root.join("b"));
    let stdout = run(root, &r, &b, batch, 1, &[]);
    for f in [
        "metrics.jsonl",
        "weights.safetensors",
        "valid.json",
        "final_samples.png",
        "history.png",
    ] {
        assert!(b.join(f).is_file(), "{name}: {f} not written");
    }
    let valid: Value = serde_json::from_slice(&fs::read(b.join("valid.json")).unwrap()).unwrap();
    assert_eq!(valid["rows"], 5 * PER_FILE - batch, "{name}: held-out rows");
    for k in ["mean_d_real", "mean_d_fake"] {
        let p = valid[k].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "{name}: {k} = {p}");
    }
    let first = metrics(&b, "metrics.jsonl");
    assert_eq!(first.len(), 1);

    ok(Command::new(env!("CARGO_BIN_EXE_gan"))
        .arg("resume")
        .arg(&b)
        .arg("--data-dir")
        .arg(root.join("mnist"))
        .args(["--set", "epochs=2"])
        .output()
        .unwrap());
    let mb = metrics(&b, "metrics.jsonl");
    assert_eq!(mb.len(), 2, "{name}: the resumed run went on to epoch 2");
    assert_eq!(mb[0], first[0], "{name}: epoch 1's line kept");
    assert_eq!((&mb[1]["epoch"], &mb[1]["step"]), (&2.into(), &2.into()));
    if !exact {
        return stdout;
    }
    // the uninterrupted run needs no checkpoints
    run(root, &r, &a, batch, 2, &["--checkpoint-every", "0"]);
    let ma = metrics(&a, "metrics.jsonl");
    assert_eq!(ma, mb, "{name}: resumed metrics");
    assert!(
        fs::read(a.join("weights.safetensors")).unwrap()
            == fs::read(b.join("weights.safetensors")).unwrap(),
        "{name}: the resumed run's final weights differ from the uninterrupted run's"
    );
    stdout
}

#[test]
fn fully_connected_model_has_the_yaml_shapes_and_runs_and_resumes() {
    let stdout = run_and_resume("cifar10_fc.rhai", 100, false);
    let t = summaries(&stdout);
    assert_eq!(t.len(), 2, "{stdout}");
    // G: nvis 100 → RectifiedLinear 8000 → Sigmoid 8000 → Linear 3072 (weights + biases)
    check_table(
        "FC G",
        &t[0],
        &[
            ("8000", 100 * 8000 + 8000),
            ("8000", 0),
            ("8000", 8000 * 8000 + 8000),
            ("8000", 0),
            ("3072", 8000 * 3072 + 3072),
        ],
    );
    // D: nvis 3072 → Maxout 1600 units × 5 pieces (8000 affine outputs) → Maxout 1600 × 5
    // → Sigmoid 1, a dropout before each
    check_table(
        "FC D",
        &t[1],
        &[
            ("3072", 0),
            ("1600", 3072 * 8000 + 8000),
            ("1600", 0),
            ("1600", 1600 * 8000 + 8000),
            ("1600", 0),
            ("1", 1600 + 1),
        ],
    );
    assert_eq!(t[0].1 + t[1].1, 126_788_673);
}

#[test]
fn convolutional_model_has_the_yaml_shapes_and_runs_and_resumes() {
    let stdout = run_and_resume("cifar10_conv.rhai", 128, true);
    let t = summaries(&stdout);
    assert_eq!(t.len(), 2, "{stdout}");
    // G: as the FC G to the 8000 sigmoid units, seen as [80, 10, 10]; Deconv: 3 channels, 5×5
    // kernel, output stride 3, pad_out 0 → side 3·(10 − 1) − 0 + 5 = 32; W is 80·3·5·5 and the
    // untied bias (tied_b: 0) one per output value, 3·32·32.
    check_table(
        "conv G",
        &t[0],
        &[
            ("8000", 100 * 8000 + 8000),
            ("8000", 0),
            ("8000", 8000 * 8000 + 8000),
            ("8000", 0),
            ("[80, 10, 10]", 0),
            ("[3, 32, 32]", 80 * 3 * 5 * 5 + 3 * 32 * 32),
        ],
    );
    // D: MaxoutConvC01B detector side (in + 2·pad − k) / 1 + 1, detector channels units·pieces,
    // one bias per detector channel (tied_b: 1); pool side ⌈(in − pool) / stride⌉ + 1.
    //   dh0: 32 + 8 − 8 + 1 = 33, 64 ch; pool ⌈(33 − 4)/2⌉ + 1 = 16
    //   h1:  16 + 6 − 8 + 1 = 15;        pool ⌈(15 − 4)/2⌉ + 1 = 7
    //   h2:   7 + 6 − 5 + 1 = 9, 384 ch; pool ⌈(9 − 2)/2⌉ + 1 = 5 → 192·5·5 = 4800
    //   h3: Maxout 500 × 5 on 4800; y: Sigmoid 1 on 500
    check_table(
        "conv D",
        &t[1],
        &[
            ("[3, 32, 32]", 0),
            ("[3, 32, 32]", 0),
            ("[64, 33, 33]", 64 * 3 * 8 * 8 + 64),
            ("[32, 33, 33]", 0),
            ("[32, 16, 16]", 0),
            ("[32, 16, 16]", 0),
            ("[64, 15, 15]", 64 * 32 * 8 * 8 + 64),
            ("[32, 15, 15]", 0),
            ("[32, 7, 7]", 0),
            ("[32, 7, 7]", 0),
            ("[384, 9, 9]", 384 * 32 * 5 * 5 + 384),
            ("[192, 9, 9]", 0),
            ("[192, 5, 5]", 0),
            ("[192, 5, 5]", 0),
            ("500", 4800 * 2500 + 2500),
            ("500", 0),
            ("1", 500 + 1),
        ],
    );
    assert_eq!((t[0].1, t[1].1), (64_825_072, 12_454_073));
}
