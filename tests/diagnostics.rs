//! Training diagnostics: on metric series recorded from real recipes (one that collapses on
//! purpose, healthy ones), and end to end on a toy game that D wins within an epoch.

mod common;

use gan::diagnose::Kind;
use gan::engine::{EpochMetrics, GanLoss};
use gan::learner::watch::diagnose;

/// Replays a recorded `metrics.jsonl` through the detectors, epoch by epoch as training does:
/// (epoch, kind) of every warning raised.
fn replay(file: &str, loss: GanLoss) -> Vec<(u64, Kind)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/diagnose")
        .join(file);
    let mut history: Vec<EpochMetrics> = Vec::new();
    let mut raised = Vec::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let mut m: EpochMetrics = serde_json::from_str(line).unwrap();
        assert!(m.warnings.is_empty(), "fixtures hold the inputs only");
        m.warnings = diagnose(&history, &m, loss);
        raised.extend(m.warnings.iter().map(|w| (m.epoch, w.kind)));
        history.push(m);
    }
    raised
}

/// The previous `mnist_quick.rhai` (G and D both Adam 2e-4; git history of the recipe), seed 7,
/// 4 epochs: D(G(z)) 0.109, 0.034, 0.048, 0.043; spread 0.55, 0.57, 0.53, 0.53 (collapsing to
/// 1s: the README's Fréchet distance 191 at epoch 3).
#[test]
fn the_collapsing_recipe_is_diagnosed_at_epoch_4() {
    assert_eq!(
        replay("mnist_quick_equal_adam_seed7.jsonl", GanLoss::NonSaturating),
        vec![(4, Kind::DWinning), (4, Kind::ModeCollapse)]
    );
}

#[test]
fn healthy_recipes_raise_nothing() {
    // mnist_quick.rhai as shipped, 7 epochs (spread 0.88–0.98, D(G(z)) 0.29–0.40)
    assert_eq!(
        replay("mnist_quick_seed42.jsonl", GanLoss::NonSaturating),
        vec![]
    );
    // mnist_paper.rhai, its first 6 epochs (G starts narrow: spread 0.24, 0.46, 0.82, …)
    assert_eq!(
        replay("mnist_paper_6_epochs.jsonl", GanLoss::NonSaturating),
        vec![]
    );
    // toy_1d.rhai, 100 epochs: D trained alone first, so d_loss rises ×56 towards log 4, and G
    // passes through a narrow phase (spread ≈ 0.1 for 3 epochs) on its way to the data
    assert_eq!(replay("toy_1d.jsonl", GanLoss::NonSaturating), vec![]);
}

/// G all but frozen (lr 1e-7) while D learns fast: D(G(z)) falls below 0.05 by epoch 3, and G's
/// outputs (from ±0.05 weights) stay far narrower than N(4, 0.5²).
const D_WINS: &str = r#"
seed(2);
let data = gaussian_1d(4.0, 0.5, 2000);
let m = gan(stack(4).dense(8).relu().dense(1), stack(1).dense(16).relu().dense(1), #{ loss: "saturating" });
m.fit(data, #{ epochs: param("epochs", 6), batch: 50, d_opt: adam(#{ lr: 0.01 }), g_opt: sgd(#{ lr: 1e-7 }) });
"#;

#[test]
fn warnings_reach_the_output_and_metrics_jsonl_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, rec) = common::session(Some(dir.path()), &[], None);
    let _ = s.eval_named("d_wins.rhai", D_WINS).unwrap();
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(dir.path().join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // independent of the detectors: the first epoch ending 3 epochs of D(G(z)) < 0.05, and 4
    // epochs of spread < 0.6
    let first = |n: usize, bad: &dyn Fn(&serde_json::Value) -> bool| {
        (n..=lines.len()).find(|&e| lines[e - n..e].iter().all(bad))
    };
    let d_wins = first(3, &|l| l["d_fake"].as_f64().unwrap() < 0.05).expect("D wins");
    let narrow = first(4, &|l| l["spread"].as_f64().unwrap() < 0.6).expect("G is narrow");
    assert_eq!(
        (d_wins, narrow),
        (5, 4),
        "the game this test was written for"
    );
    let warned: Vec<(usize, String)> = lines
        .iter()
        .enumerate()
        .flat_map(|(i, l)| {
            l.get("warnings")
                .and_then(|w| w.as_array())
                .into_iter()
                .flatten()
                .map(move |w| (i + 1, w["kind"].as_str().unwrap().to_string()))
        })
        .collect();
    assert_eq!(
        warned,
        vec![
            (narrow, "mode_collapse".to_string()),
            (d_wins, "d_winning".to_string())
        ]
    );
    let said = rec.lines.lock().unwrap().clone();
    let d_line: Vec<&String> = said
        .iter()
        .filter(|l| l.starts_with(&format!("warning (epoch {d_wins}): D is winning")))
        .collect();
    assert_eq!(d_line.len(), 1, "{said:#?}");
    assert!(
        d_line[0].contains("use loss: \"non_saturating\""),
        "{}",
        d_line[0]
    );
    assert_eq!(
        said.iter().filter(|l| l.starts_with("warning")).count(),
        2,
        "{said:#?}"
    );
}

fn lines_of(dir: &std::path::Path) -> Vec<serde_json::Value> {
    common::metrics_without_timing(dir, "metrics.jsonl")
}

/// A run stopped after epoch 4 (one warning raised) and resumed to epoch 6 raises the other one
/// at the same epoch, with the same metrics lines, as the run that was never stopped.
#[test]
fn a_resumed_run_warns_as_the_uninterrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = tmp.path().join("d_wins.rhai");
    std::fs::write(&recipe, D_WINS).unwrap();
    let gan = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gan"))
            .args(args)
            .current_dir(tmp.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    gan(&["run", "d_wins.rhai", "--out", "whole"]);
    gan(&["run", "d_wins.rhai", "--out", "part", "--set", "epochs=4"]);
    assert_eq!(lines_of(&tmp.path().join("part")).len(), 4);
    let resumed = gan(&["resume", "part", "--set", "epochs=6"]);
    assert!(
        resumed.contains("warning (epoch 5): D is winning"),
        "{resumed}"
    );
    let whole = lines_of(&tmp.path().join("whole"));
    assert_eq!(lines_of(&tmp.path().join("part")), whole);
    assert_eq!(
        whole.iter().filter(|l| l.get("warnings").is_some()).count(),
        2
    );
}
