//! `gan sweep` and `gan report` through the real binary, with the local executor: each task ends
//! byte for byte where `gan run` with its values ends; a sweep stopped by SIGTERM and resumed
//! ends the same; names the recipe never reads are refused before anything starts; edited or
//! linked sweep files are refused; the report's numbers are recomputed here from the runs' files.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use common::sweep::{
    assert_same_as_direct, first_checkpoint, gan, ok, setup, status, text, wait_for, TOY,
};
use serde_json::Value;

fn results(dir: &Path) -> Value {
    serde_json::from_slice(&fs::read(dir.join("results.json")).unwrap()).unwrap()
}

#[test]
fn a_local_sweep_runs_each_task_as_gan_run_does_and_reports_mean_and_std() {
    let (tmp, recipe) = setup();
    let sw = tmp.path().join("sw");
    let out = ok(gan()
        .args(["sweep"])
        .arg(&recipe)
        .args([
            "--set",
            "lr=0.001,0.01",
            "--set",
            "epochs=2",
            "--seed",
            "1..2",
            "--jobs",
            "2",
            "--out",
        ])
        .arg(&sw)
        .output()
        .unwrap());
    assert!(out.contains("4 done, 0 stopped, 0 failed"), "{out}");
    let names = [
        "lr=0.001,epochs=2,seed=1",
        "lr=0.001,epochs=2,seed=2",
        "lr=0.01,epochs=2,seed=1",
        "lr=0.01,epochs=2,seed=2",
    ];
    for name in names {
        let run = sw.join("runs").join(name);
        assert_eq!(status(&run)["state"], "done");
        assert_eq!(status(&run)["attempts"], 1);
        // the same task by hand
        let lr = &name[3..name.find(',').unwrap()];
        let seed = &name[name.rfind('=').unwrap() + 1..];
        let lr = format!("lr={lr}");
        assert_same_as_direct(
            tmp.path(),
            &recipe,
            &run,
            &["--set", &lr, "--set", "epochs=2"],
            seed,
        );
    }
    let table = ok(gan().args(["sweep", "status"]).arg(&sw).output().unwrap());
    assert!(table.trim_end().ends_with("4 done"), "{table}");

    // mean and std (n − 1) of p_g_std per lr, recomputed from the runs' own files
    let expect = |lr: &str| {
        let xs: Vec<f64> = (1..=2)
            .map(|s| {
                results(&sw.join(format!("runs/lr={lr},epochs=2,seed={s}")))["p_g_std"]
                    .as_f64()
                    .unwrap()
            })
            .collect();
        let mean = (xs[0] + xs[1]) / 2.0;
        let std = (((xs[0] - mean).powi(2) + (xs[1] - mean).powi(2)) / 1.0).sqrt();
        (mean, std)
    };
    let csv = ok(gan().arg("report").arg(&sw).arg("--csv").output().unwrap());
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "a header and 2 groups:\n{csv}");
    let head: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(&head[..4], ["lr", "epochs", "n", "total"]);
    let col = |row: &str, name: &str| -> String {
        row.split(',')
            .nth(head.iter().position(|h| *h == name).unwrap())
            .unwrap()
            .to_string()
    };
    for (row, lr) in [(lines[1], "0.001"), (lines[2], "0.01")] {
        assert_eq!(col(row, "lr"), lr);
        assert_eq!((col(row, "n"), col(row, "total")), ("2".into(), "2".into()));
        let (mean, std) = expect(lr);
        let got_mean: f64 = col(row, "p_g_std_mean").parse().unwrap();
        let got_std: f64 = col(row, "p_g_std_std").parse().unwrap();
        assert!(
            (got_mean - mean).abs() < 1e-12 && (got_std - std).abs() < 1e-12,
            "{row}"
        );
        assert!(std > 0.0, "two seeds differ");
    }

    // a failed seed is counted out and named
    let st = sw.join("runs/lr=0.01,epochs=2,seed=2/status.json");
    let edited = fs::read_to_string(&st)
        .unwrap()
        .replace("\"done\"", "\"failed\"");
    fs::write(&st, edited).unwrap();
    let md = ok(gan().arg("report").arg(&sw).output().unwrap());
    let row = md.lines().find(|l| l.starts_with("| 0.01 |")).unwrap();
    assert!(
        row.contains("| 1/2 |") && row.trim_end().ends_with("| 2 |"),
        "{md}"
    );
    let one = results(&sw.join("runs/lr=0.01,epochs=2,seed=1"))["p_g_std"]
        .as_f64()
        .unwrap();
    let csv = ok(gan().arg("report").arg(&sw).arg("--csv").output().unwrap());
    let row = csv.lines().nth(2).unwrap();
    assert_eq!(col(row, "p_g_std_mean").parse::<f64>().unwrap(), one);
    assert_eq!(col(row, "p_g_std_std"), "", "no std of one run");

    // --by: one group over every lr
    let by = ok(gan()
        .arg("report")
        .arg(&sw)
        .args(["--by", "epochs"])
        .output()
        .unwrap());
    assert!(by.lines().any(|l| l.starts_with("| 2 | 3/4 |")), "{by}");
}

#[test]
fn names_the_recipe_never_reads_are_refused_before_anything_starts() {
    let (tmp, recipe) = setup();
    let sw = tmp.path().join("sw");
    let out = gan()
        .arg("sweep")
        .arg(&recipe)
        .args([
            "--set", "lr=0.1", "--set", "lrr=1,2", "--seed", "1..3", "--out",
        ])
        .arg(&sw)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let e = text(&out);
    assert!(
        e.contains("--set lrr:")
            && e.contains("never reads param(\"lrr\", …) (it reads: epochs, lr, n)"),
        "{e}"
    );
    assert!(!sw.exists(), "nothing was made");
    let dry = ok(gan()
        .arg("sweep")
        .arg(&recipe)
        .args(["--set", "lr=0.1,0.2", "--seed", "1,5", "--dry-run", "--out"])
        .arg(&sw)
        .output()
        .unwrap());
    assert!(
        dry.contains("4 tasks:") && dry.contains("3  lr=0.2,seed=5"),
        "{dry}"
    );
    assert!(!sw.exists(), "a dry run makes nothing");
}

#[test]
fn edited_or_linked_sweep_files_are_refused() {
    let (tmp, recipe) = setup();
    let sw = tmp.path().join("sw");
    ok(gan()
        .arg("sweep")
        .arg(&recipe)
        .args(["--set", "n=200", "--seed", "1..2", "--out"])
        .arg(&sw)
        .output()
        .unwrap());
    let sweep_status =
        |dir: &Path| text(&gan().args(["sweep", "status"]).arg(dir).output().unwrap());
    // a task renamed to reach outside runs/
    let plan = sw.join("sweep.json");
    let good = fs::read_to_string(&plan).unwrap();
    fs::write(&plan, good.replace("\"n=200,seed=1\"", "\"../../x\"")).unwrap();
    let e = sweep_status(&sw);
    assert!(
        e.contains("sweep.json: inconsistent") && e.contains("not the expansion"),
        "{e}"
    );
    fs::write(&plan, &good).unwrap();
    // a changed recipe
    fs::write(sw.join("recipe.rhai"), TOY.replace("seed(3)", "seed(4)")).unwrap();
    let e = sweep_status(&sw);
    assert!(
        e.contains("recipe.rhai: changed since the sweep was made"),
        "{e}"
    );
    fs::write(sw.join("recipe.rhai"), TOY).unwrap();
    // status.json replaced by a symlink
    let st = sw.join("runs/n=200,seed=1/status.json");
    fs::remove_file(&st).unwrap();
    std::os::unix::fs::symlink(&plan, &st).unwrap();
    let e = sweep_status(&sw);
    assert!(
        e.contains("status.json") && e.contains("is a symbolic link"),
        "{e}"
    );
    fs::remove_file(&st).unwrap();
    // sweep.json as a symlink
    let other = tmp.path().join("other");
    fs::create_dir(&other).unwrap();
    std::os::unix::fs::symlink(&plan, other.join("sweep.json")).unwrap();
    assert!(sweep_status(&other).contains("is a symbolic link"));
    // a status file removed: the task is pending again, and resume runs only it
    let out = ok(gan().args(["sweep", "resume"]).arg(&sw).output().unwrap());
    assert!(
        out.contains("1 of 2 tasks to finish") && out.contains("1 done"),
        "{out}"
    );
}

#[test]
fn a_sweep_stopped_by_sigterm_resumes_to_the_same_bytes() {
    let (tmp, recipe) = setup();
    let sw = tmp.path().join("sw");
    // 15 000 steps an epoch: seconds, so SIGTERM lands in epoch 2
    let sets = ["--set", "n=300000", "--set", "epochs=2"];
    let child = gan()
        .arg("sweep")
        .arg(&recipe)
        .args(sets)
        .args(["--seed", "1..2", "--out"])
        .arg(&sw)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let first = sw.join("runs/n=300000,epochs=2,seed=1");
    wait_for("epoch 1's checkpoint", || first_checkpoint(&first));
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{}", text(&out));
    let printed = text(&out);
    assert!(
        printed.contains("0 done, 1 stopped, 0 failed, 1 not started"),
        "{printed}"
    );
    let st = status(&first);
    assert_eq!(
        (st["state"].as_str(), st["exit_code"].as_i64()),
        (Some("stopped"), Some(143))
    );
    assert!(!first.join("weights.safetensors").exists());

    let out = ok(gan().args(["sweep", "resume"]).arg(&sw).output().unwrap());
    assert!(
        out.contains("2 of 2 tasks to finish") && out.contains("2 done"),
        "{out}"
    );
    assert_eq!(status(&first)["attempts"], 2);
    assert_same_as_direct(tmp.path(), &recipe, &first, &sets, "1");
}

/// `--eval parzen` writes each finished run's `gan eval parzen --json` into eval_parzen.json,
/// and the report carries it (`parzen_ll`): here a tiny MNIST GAN of 5 steps.
#[test]
fn eval_parzen_lands_in_each_run_and_in_the_report() {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = tmp.path().join("m.rhai");
    fs::write(
        &recipe,
        r#"
let g = stack(10).dense(64).relu().dense(784).sigmoid();
let d = stack(784).dense(64).relu().dense(1);
let m = gan(g, d, #{ init_bias_from_marginals: true });
m.fit(mnist("train"), #{ epochs: param("epochs", 1), steps_per_epoch: 5, batch: 50, samples_every: 0 });
"#,
    )
    .unwrap();
    let sw = tmp.path().join("sw");
    ok(gan()
        .arg("sweep")
        .arg(&recipe)
        .args([
            "--set", "epochs=1", "--seed", "1", "--eval", "parzen", "--out",
        ])
        .arg(&sw)
        .env("GAN_DATA_DIR", common::mnist_dir())
        .output()
        .unwrap());
    let run = sw.join("runs/epochs=1,seed=1");
    let ll = serde_json::from_slice::<Value>(&fs::read(run.join("eval_parzen.json")).unwrap())
        .unwrap()["ll"]
        .as_f64()
        .unwrap();
    let csv = ok(gan().arg("report").arg(&sw).arg("--csv").output().unwrap());
    let (head, row) = (csv.lines().next().unwrap(), csv.lines().nth(1).unwrap());
    let at = head.split(',').position(|h| h == "parzen_ll_mean").unwrap();
    assert_eq!(
        row.split(',').nth(at).unwrap().parse::<f64>().unwrap(),
        ll,
        "{csv}"
    );
    let bad = gan()
        .arg("sweep")
        .arg(&recipe)
        .args(["--seed", "1", "--eval", "fid", "--dry-run"])
        .output()
        .unwrap();
    assert!(text(&bad).contains("--eval fid: unknown (known: parzen, classifier)"));
}
