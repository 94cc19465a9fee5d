//! The Slurm executor on a real cluster (`tests/slurm/up.sh` starts a one-node one; `.ci/run`
//! does). Without a cluster each test prints "skipped: no Slurm" and passes, so `cargo test`
//! passes on a laptop. Each test's toy runs take seconds.

mod common;

use std::fs;
use std::process::Command;

use common::sweep::{assert_same_as_direct, first_checkpoint, gan, ok, setup, status, wait_for};

fn no_slurm() -> bool {
    let up = Command::new("sinfo")
        .arg("-h")
        .output()
        .is_ok_and(|o| o.status.success());
    if !up {
        eprintln!("skipped: no Slurm (tests/slurm/up.sh starts a one-node cluster)");
    }
    !up
}

/// Whether no job of the sweep is queued or running.
fn jobs_gone(job: &str) -> bool {
    let out = Command::new("squeue")
        .args(["-h", "-o", "%i", "-j", job])
        .output()
        .unwrap();
    !out.status.success() || String::from_utf8_lossy(&out.stdout).trim().is_empty()
}

/// A sweep of one toy task (n = 300 000: seconds an epoch) submitted to Slurm, once epoch 1's
/// checkpoint is written: (its folder, the recipe, the run directory, the array task's job id).
fn long_task_at_its_first_checkpoint(
    seed: &str,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    std::path::PathBuf,
    String,
) {
    let (tmp, recipe) = setup();
    let sw = tmp.path().join("sw");
    ok(gan()
        .arg("sweep")
        .arg(&recipe)
        .args(LONG)
        .args(["--seed", seed, "--executor", "slurm", "--out"])
        .arg(&sw)
        .output()
        .unwrap());
    let run = sw.join(format!("runs/n=300000,epochs=2,seed={seed}"));
    wait_for("epoch 1's checkpoint", || first_checkpoint(&run));
    let job = status(&run)["job_id"].as_str().unwrap().to_string();
    (tmp, recipe, run, job)
}

const LONG: [&str; 4] = ["--set", "n=300000", "--set", "epochs=2"];

#[test]
fn a_2x2_grid_on_slurm_reports_two_rows_of_two() {
    if no_slurm() {
        return;
    }
    let (tmp, recipe) = setup();
    let sw = tmp.path().join("sw");
    let out = ok(gan()
        .arg("sweep")
        .arg(&recipe)
        .args([
            "--set",
            "lr=0.001,0.01",
            "--seed",
            "1..2",
            "--executor",
            "slurm",
            "--jobs",
            "2",
            "--wait",
            "--out",
        ])
        .arg(&sw)
        .output()
        .unwrap());
    assert!(out.contains("4 of 4 tasks done"), "{out}");
    let md = ok(gan().arg("report").arg(&sw).output().unwrap());
    let rows: Vec<&str> = md.lines().skip(2).collect();
    assert_eq!(rows.len(), 2, "{md}");
    assert!(
        rows[0].starts_with("| 0.001 | 2/2 |") && rows[1].starts_with("| 0.01 | 2/2 |"),
        "{md}"
    );
    let st = status(&sw.join("runs/lr=0.01,seed=2"));
    assert!(st["job_id"].as_str().unwrap().ends_with("_3"), "{st}");
}

#[test]
fn scontrol_requeue_after_a_checkpoint_ends_as_the_local_run() {
    if no_slurm() {
        return;
    }
    let (tmp, recipe, run, job) = long_task_at_its_first_checkpoint("1");
    ok(Command::new("scontrol")
        .args(["requeue", &job])
        .output()
        .unwrap());
    wait_for("the requeued task to finish", || {
        status(&run)["state"] == "done"
    });
    let st = status(&run);
    assert_eq!(st["attempts"], 2, "{st}");
    assert!(!run.join("weights.safetensors.tmp").exists());
    assert_same_as_direct(tmp.path(), &recipe, &run, &LONG, "1");
}

#[test]
fn scancel_then_sweep_resume_resubmits_only_the_unfinished_tasks() {
    if no_slurm() {
        return;
    }
    let (tmp, recipe) = setup();
    let sw = tmp.path().join("sw");
    // task 0 is quick, task 1 (n = 300 000) takes seconds an epoch; one at a time (%1)
    let out = ok(gan()
        .arg("sweep")
        .arg(&recipe)
        .args([
            "--set",
            "n=2000,300000",
            "--seed",
            "1",
            "--executor",
            "slurm",
            "--jobs",
            "1",
            "--out",
        ])
        .arg(&sw)
        .output()
        .unwrap());
    let job = out
        .split("Slurm job ")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .unwrap()
        .to_string();
    let long = sw.join("runs/n=300000,seed=1");
    wait_for("task 1's first checkpoint", || {
        long.join("checkpoints/ckpt-0000015000/manifest.json")
            .exists()
    });
    ok(Command::new("scancel").arg(&job).output().unwrap());
    wait_for("the cancelled job to end", || jobs_gone(&job));
    assert_eq!(status(&sw.join("runs/n=2000,seed=1"))["state"], "done");
    wait_for("task 1's status", || status(&long)["state"] != "running");
    let st = status(&long);
    assert_eq!(
        st["state"], "stopped",
        "SIGTERM from scancel: checkpoint, no requeue: {st}"
    );
    let out = ok(gan()
        .args(["sweep", "resume"])
        .arg(&sw)
        .args(["--executor", "slurm", "--wait"])
        .output()
        .unwrap());
    assert!(
        out.contains("1 of 2 tasks to finish") && out.contains("2 of 2 tasks done"),
        "{out}"
    );
    let new_job = out
        .split("Slurm job ")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .unwrap();
    let logs: Vec<String> = fs::read_dir(sw.join("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("slurm-{new_job}_")))
        .collect();
    assert_eq!(
        logs,
        [format!("slurm-{new_job}_1.log")],
        "only task 1 resubmitted"
    );
    assert_eq!(status(&long)["attempts"], 2);
    assert_same_as_direct(tmp.path(), &recipe, &long, &["--set", "n=300000"], "1");
}

/// What `--signal=B:USR1@120` sends before a time limit, sent now (`scancel --batch
/// --signal=USR1`, the same delivery to the batch step): the task checkpoints, requeues its own
/// job, and the requeued job ends where the run without Slurm ends.
#[test]
fn usr1_before_the_time_limit_checkpoints_requeues_and_ends_as_the_local_run() {
    if no_slurm() {
        return;
    }
    let (tmp, recipe, run, job) = long_task_at_its_first_checkpoint("2");
    ok(Command::new("scancel")
        .args(["--batch", "--signal=USR1", &job])
        .output()
        .unwrap());
    wait_for("the stop", || status(&run)["state"] != "running");
    let st = status(&run);
    assert_eq!(
        (st["state"].as_str(), st["exit_code"].as_i64()),
        (Some("stopped"), Some(138)),
        "{st}"
    );
    wait_for("the requeued task to finish", || {
        status(&run)["state"] == "done"
    });
    assert_eq!(status(&run)["attempts"], 2);
    let log = run.join(format!("../../logs/slurm-{job}.log"));
    let log = fs::read_to_string(log).unwrap_or_default();
    assert!(log.contains("requeued Slurm job"), "{log}");
    assert_same_as_direct(tmp.path(), &recipe, &run, &LONG, "2");
}
