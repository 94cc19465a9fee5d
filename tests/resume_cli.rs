//! `gan resume RUN_DIR` through the real binary: a run killed with SIGKILL in the middle of an
//! epoch and resumed ends bit for bit where the run that was never stopped ends.
//! Run in release mode (`cargo test --release`): these train real (small) networks.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn gan() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gan"))
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

/// A 1-D toy GAN. `n` rows at batch 20: 15 000 steps an epoch for n = 300 000 (a few seconds).
const ONE_FIT: &str = r#"
seed(3);
let n = param("n", 300000);
let data = gaussian_1d(4.0, 0.5, n);
let g = stack(1).dense(128, 0.5).relu().dense(128, 0.5).relu().dense(1, 0.5);
let d = stack(1).dropout(0.9).dense(128, 0.5).relu().dense(1, 0.5);
let m = gan(g, d);
m.fit(data, #{ epochs: param("epochs", 2), batch: 20, opt: adam(#{ lr: 0.001 }) });
write_json("final.json", #{ epoch: m.epoch, step: m.step });
"#;

/// Two fits of one GAN with script work between them, and a second GAN.
const TWO_FITS: &str = r#"
let n = param("n", 100000);
let data = gaussian_1d(4.0, 0.5, n);
let g = stack(1).dense(64, 0.5).relu().dense(64, 0.5).relu().dense(1, 0.5);
let d = stack(1).dropout(0.9).dense(64, 0.5).relu().dense(1, 0.5);
let m = gan(g, d);
m.fit(data, #{ epochs: 1, batch: 20, opt: adam(#{ lr: 0.001 }) });
let s = m.sample(1000);
write_json("between.json", #{ mean: s.mean(), std: s.std(), epoch: m.epoch });
m.fit(data, #{ epochs: 2, batch: 20, opt: sgd(#{ lr: 0.01, momentum: 0.5 }) });
let other = gan(g, d, #{ name: "other", scheme: "alternating", k: 2 });
other.fit(data.slice(0, 20000), #{ epochs: 2, batch: 20 });
write_json("final.json", #{ m: m.sample(100).mean(), other: other.sample(100).mean() });
"#;

struct Setup {
    _tmp: tempfile::TempDir,
    recipe: PathBuf,
    root: PathBuf,
}

fn setup(text: &str) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let recipe = root.join("toy.rhai");
    fs::write(&recipe, text).unwrap();
    Setup {
        _tmp: tmp,
        recipe,
        root,
    }
}

fn run_args(s: &Setup, out: &Path, extra: &[&str]) -> Command {
    let mut c = gan();
    c.arg("run")
        .arg(&s.recipe)
        .arg("--out")
        .arg(out)
        .args(extra);
    c
}

/// metrics lines with the timing fields (`secs`, `it_per_s`) removed.
fn metrics(dir: &Path, file: &str) -> Vec<Value> {
    fs::read_to_string(dir.join(file))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            assert!(o.remove("secs").is_some() && o.remove("it_per_s").is_some());
            v
        })
        .collect()
}

/// Runs `a` (never stopped) and `b` (stopped and resumed) ended alike: the same metrics lines
/// (`epochs` of them), bit-identical final weights and the same `final.json`.
fn assert_same_end(a: &Path, b: &Path, epochs: usize) {
    assert_eq!(metrics(a, "metrics.jsonl"), metrics(b, "metrics.jsonl"));
    assert_eq!(metrics(b, "metrics.jsonl").len(), epochs);
    assert!(
        fs::read(a.join("weights.safetensors")).unwrap()
            == fs::read(b.join("weights.safetensors")).unwrap(),
        "final weights differ"
    );
    assert_eq!(
        fs::read_to_string(a.join("final.json")).unwrap(),
        fs::read_to_string(b.join("final.json")).unwrap()
    );
}

/// Sends `sig` (`-STOP`, `-CONT`, `-KILL`) to `pid`.
fn signal(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success(), "kill {sig} {pid}");
}

/// The process's state letter and the CPU time it has used (user + system, all threads, in
/// clock ticks), from /proc/PID/stat.
fn proc_stat(pid: u32) -> (char, u64) {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // fields after the parenthesised command name start at field 3 (state); utime and stime
    // are fields 14 and 15
    let rest: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .collect();
    let ticks = rest[11].parse::<u64>().unwrap() + rest[12].parse::<u64>().unwrap();
    (rest[0].chars().next().unwrap(), ticks)
}

/// SIGSTOPs `pid` and waits until it is stopped; returns its CPU ticks then.
fn freeze(pid: u32) -> u64 {
    signal(pid, "-STOP");
    let started = Instant::now();
    loop {
        let (state, ticks) = proc_stat(pid);
        if state == 'T' || state == 't' {
            return ticks;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no stop");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A child process that is killed and reaped when dropped, so a failed assertion does not leave
/// a (possibly SIGSTOPped) run behind.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `cmd` and SIGKILLs it part way through the epoch that follows the checkpoint `ready`
/// waits for, and before `done` (that epoch's end) holds.
///
/// No wall-clock sleep decides where the kill lands, so a loaded machine cannot move it: the run
/// goes on in short bursts, frozen with SIGSTOP between them while it is checked, until it has
/// spent a third of an epoch's CPU time past the checkpoint. An epoch's CPU time is measured
/// from when `previous` first holds (the epoch before's checkpoint, or the start) to `ready`:
/// epochs of different fits differ (a toy's Adam epoch took 10× its SGD epoch). Every check is
/// made on the frozen process and the SIGKILL hits it frozen, so it lands in exactly the state
/// that was checked. Returns (CPU ticks of the epoch before, CPU ticks spent past the
/// checkpoint).
fn kill_mid_epoch(
    mut cmd: Command,
    previous: impl Fn() -> bool,
    ready: impl Fn() -> bool,
    done: impl Fn() -> bool,
) -> (u64, u64) {
    // One thread: rayon's idle workers spin, and on a loaded machine their CPU time swamps the
    // per-epoch estimate below (measured: 2.1 s of system time in a 4.5 s toy run at 2 threads,
    // 0.01 s at 1). Results do not depend on the thread count, so the resume must still match.
    let mut child = Reaped(
        cmd.env("RAYON_NUM_THREADS", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = child.0.id();
    let started = Instant::now();
    // `ready` is checked on the frozen run too: a poller descheduled on a loaded machine must not
    // let it run on past the checkpoint unwatched
    let mut at_previous = None;
    let at_checkpoint = loop {
        std::thread::sleep(Duration::from_millis(5));
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        assert!(started.elapsed() < Duration::from_secs(600), "timed out");
        let ticks = freeze(pid);
        if at_previous.is_none() && previous() {
            at_previous = Some(ticks);
        }
        if ready() {
            break ticks;
        }
        signal(pid, "-CONT");
    };
    let per_epoch = at_checkpoint - at_previous.expect("`previous` holds once `ready` does");
    let target = at_checkpoint + (per_epoch / 3).max(5);
    loop {
        let now = proc_stat(pid).1;
        assert!(
            !done(),
            "the epoch ended before the kill ({} ticks past the checkpoint, an epoch takes ~{per_epoch}): make the epochs longer",
            now - at_checkpoint
        );
        if now >= target {
            child.0.kill().unwrap(); // SIGKILL, delivered to the stopped process
            child.0.wait().unwrap();
            return (per_epoch, now - at_checkpoint);
        }
        signal(pid, "-CONT");
        std::thread::sleep(Duration::from_millis(10));
        freeze(pid);
    }
}

fn metrics_lines(dir: &Path, file: &str) -> usize {
    fs::read_to_string(dir.join(file))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

fn has_checkpoint(dir: &Path, step: u64) -> bool {
    dir.join(format!("ckpt-{step:010}/manifest.json")).exists()
}

#[test]
fn a_run_killed_mid_epoch_and_resumed_is_bit_identical() {
    let s = setup(ONE_FIT);
    let (a, b) = (s.root.join("a"), s.root.join("b"));
    let args = [
        "--seed",
        "5",
        "--set",
        "n=300000",
        "--checkpoint-every",
        "1",
    ];
    ok(run_args(&s, &a, &args).output().unwrap());

    // the same run, killed with SIGKILL a third of the way into epoch 2 (by CPU time)
    let ck = b.join("checkpoints");
    let (per_epoch, past) = kill_mid_epoch(
        run_args(&s, &b, &args),
        || true,
        || has_checkpoint(&ck, 15000),
        || metrics_lines(&b, "metrics.jsonl") > 1 || ck.join("ckpt-0000030000").exists(),
    );
    // epoch 2 had done real work, and had not finished
    assert!(
        past >= per_epoch / 3 && per_epoch > 0,
        "{past} of {per_epoch}"
    );
    assert_eq!(
        metrics(&b, "metrics.jsonl").len(),
        1,
        "killed in epoch 2, after epoch 1's line"
    );
    assert!(
        !b.join("weights.safetensors").exists() && !b.join("final.json").exists(),
        "epoch 2 finished before the kill"
    );
    assert_eq!(
        fs::read_dir(&ck).unwrap().count(),
        1,
        "only epoch 1's checkpoint"
    );

    let out = ok(gan().arg("resume").arg(&b).output().unwrap());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("--seed 5") && stdout.contains("--set n=300000"),
        "{stdout}"
    );
    assert!(
        stdout.contains("resuming `gan` from")
            && stdout.contains("ckpt-0000015000 (epoch 1, step 15000)"),
        "{stdout}"
    );

    assert_same_end(&a, &b, 2);
    // the same checkpoints are kept
    let names = |d: &Path| {
        let mut v: Vec<String> = fs::read_dir(d.join("checkpoints"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&a), names(&b));
    assert_eq!(names(&a), ["ckpt-0000015000", "ckpt-0000030000"]);
    // recorded how it was started
    let config: Value = serde_json::from_slice(&fs::read(b.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["invocation"]["seed"], 5);
    assert_eq!(config["invocation"]["set"]["n"], "300000");
    assert_eq!(config["invocation"]["checkpoint_every"], 1);
}

#[test]
fn resume_replays_earlier_fits_and_continues_the_killed_one() {
    let s = setup(TWO_FITS);
    let (a, b) = (s.root.join("a"), s.root.join("b"));
    // 15 000 steps an epoch: long enough that a poller descheduled on a loaded machine still
    // freezes the run inside the epoch after the checkpoint
    let args = ["--seed", "9", "--set", "n=300000"];
    ok(run_args(&s, &a, &args).output().unwrap());
    // killed in the third epoch of `gan`, during its second fit
    let ck = b.join("checkpoints");
    let (per_epoch, past) = kill_mid_epoch(
        run_args(&s, &b, &args),
        || has_checkpoint(&ck, 15000),
        || has_checkpoint(&ck, 30000),
        || metrics_lines(&b, "metrics.jsonl") > 2 || ck.join("ckpt-0000045000").exists(),
    );
    assert!(
        past >= per_epoch / 3 && per_epoch > 0,
        "{past} of {per_epoch}"
    );
    assert_eq!(metrics(&b, "metrics.jsonl").len(), 2, "killed in epoch 3");
    assert!(!b.join("final.json").exists());
    assert!(!b.join("metrics_other.jsonl").exists());

    let out = ok(gan().arg("resume").arg(&b).output().unwrap());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("ckpt-0000030000 (epoch 2, step 30000)"),
        "{stdout}"
    );
    assert!(stdout.contains("`other` has no checkpoint"), "{stdout}");

    for file in ["metrics.jsonl", "metrics_other.jsonl"] {
        assert_eq!(metrics(&a, file), metrics(&b, file), "{file}");
    }
    assert_eq!(metrics(&a, "metrics.jsonl").len(), 3);
    for file in [
        "weights.safetensors",
        "weights_other.safetensors",
        "between.json",
        "final.json",
    ] {
        assert!(
            fs::read(a.join(file)).unwrap() == fs::read(b.join(file)).unwrap(),
            "{file} differs"
        );
    }
}

/// `gan resume RUN --set epochs=3` takes a finished 1-epoch run on to epoch 3 and ends bit for
/// bit where a 3-epoch run ends; a later plain resume keeps the new value; asking for fewer
/// epochs than the checkpoint has is refused.
#[test]
fn resume_with_set_extends_a_finished_run_exactly() {
    let s = setup(ONE_FIT);
    let (a, b) = (s.root.join("a"), s.root.join("b"));
    let args = |epochs: &'static str| ["--seed", "5", "--set", "n=20000", "--set", epochs];
    ok(run_args(&s, &a, &args("epochs=3")).output().unwrap());
    ok(run_args(&s, &b, &args("epochs=1")).output().unwrap());
    assert_eq!(metrics(&b, "metrics.jsonl").len(), 1);

    let out = ok(gan()
        .arg("resume")
        .arg(&b)
        .args(["--set", "epochs=3"])
        .output()
        .unwrap());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("--set epochs=3 --set n=20000")
            && stdout.contains("changed: --set epochs=3 (the run had epochs=1)")
            && stdout.contains("ckpt-0000001000 (epoch 1, step 1000)"),
        "{stdout}"
    );
    assert_same_end(&a, &b, 3);
    let config = |d: &Path| -> Value {
        serde_json::from_slice(&fs::read(d.join("config.json")).unwrap()).unwrap()
    };
    let (ca, cb) = (config(&a), config(&b));
    assert_eq!(cb["invocation"]["set"]["epochs"], "3");
    assert_eq!(ca["gans"], cb["gans"]);
    assert_eq!(ca["params"], cb["params"]);

    // the new value is what a later resume reads: nothing left to train
    let out = ok(gan().arg("resume").arg(&b).output().unwrap());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("--set epochs=3") && !stdout.contains("changed:"),
        "{stdout}"
    );
    assert_eq!(metrics(&b, "metrics.jsonl").len(), 3);

    // fewer epochs than the checkpoint holds
    let out = gan()
        .arg("resume")
        .arg(&b)
        .args(["--set", "epochs=2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("is at epoch 3, past this fit's last epoch 2"),
        "{stderr}"
    );
    // a malformed value is named
    let out = gan()
        .arg("resume")
        .arg(&b)
        .args(["--set", "epochs"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("--set epochs: expected NAME=VALUE"),
        "{stderr}"
    );
}

#[test]
fn a_changed_recipe_that_no_longer_fits_the_checkpoint_is_refused() {
    let s = setup(ONE_FIT);
    let run = s.root.join("r");
    ok(run_args(&s, &run, &["--set", "n=2000"]).output().unwrap());
    // lose the end of the run, then change D in the run's recipe copy
    fs::remove_dir_all(run.join("checkpoints/ckpt-0000000200")).unwrap();
    let text = fs::read_to_string(run.join("recipe.rhai")).unwrap();
    fs::write(
        run.join("recipe.rhai"),
        text.replace(
            "stack(1).dropout(0.9).dense(128, 0.5)",
            "stack(1).dropout(0.9).dense(64, 0.5)",
        ),
    )
    .unwrap();
    let out = gan().arg("resume").arg(&run).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("recipe.rhai was changed since the run started"),
        "{stderr}"
    );
    assert!(
        stderr.contains("recipe.rhai:8:3:")
            && stderr.contains("ckpt-0000000100 does not fit the recipe's GAN `gan`")
            && stderr.contains("the recipe's D is stack(1).dropout(0.9).dense(64)")
            && stderr.contains("the checkpoint's is stack(1).dropout(0.9).dense(128)"),
        "{stderr}"
    );
}

#[test]
fn resume_needs_a_run_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let out = gan()
        .arg("resume")
        .arg(tmp.path().join("nope"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("nope: no such run directory"), "{stderr}");
    let out = gan().arg("resume").arg(tmp.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no recipe.rhai here"), "{stderr}");
    fs::write(tmp.path().join("recipe.rhai"), "print(1);").unwrap();
    let out = gan().arg("resume").arg(tmp.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("config.json"), "{stderr}");
}

#[test]
fn checkpoint_every_flag_sets_fits_default_interval() {
    let s = setup(ONE_FIT);
    let run = s.root.join("r");
    ok(run_args(
        &s,
        &run,
        &[
            "--set",
            "n=2000",
            "--set",
            "epochs=5",
            "--checkpoint-every",
            "2",
        ],
    )
    .output()
    .unwrap());
    let mut names: Vec<String> = fs::read_dir(run.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // epochs 2 and 4 (100 steps each); keep_checkpoints defaults to 2
    assert_eq!(names, ["ckpt-0000000200", "ckpt-0000000400"]);
    // a resumed run keeps the interval: it continues from epoch 4 and saves no other checkpoint
    fs::remove_file(run.join("weights.safetensors")).unwrap();
    let out = ok(gan().arg("resume").arg(&run).output().unwrap());
    assert!(String::from_utf8_lossy(&out.stdout).contains("(epoch 4, step 400)"));
    assert_eq!(fs::read_dir(run.join("checkpoints")).unwrap().count(), 2);
    assert_eq!(metrics(&run, "metrics.jsonl").len(), 5);
    assert!(run.join("weights.safetensors").exists());
}

/// A run stopped by `--timeout` saves its state at the step it stopped at (mid-epoch), and
/// `gan resume` finishes it exactly.
#[test]
fn a_run_stopped_by_its_timeout_resumes_exactly() {
    let s = setup(ONE_FIT);
    let (a, b) = (s.root.join("a"), s.root.join("b"));
    let args = ["--set", "n=300000"];
    ok(run_args(&s, &a, &args).output().unwrap());
    let out = run_args(&s, &b, &["--set", "n=300000", "--timeout", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(124), "{stderr}");
    assert!(
        stderr.contains("timed out: the run passed its --timeout of 1 s at step")
            && stderr.contains("its state is saved in")
            && stderr.contains("`gan resume "),
        "{stderr}"
    );
    assert!(!b.join("weights.safetensors").exists());
    let out = ok(gan().arg("resume").arg(&b).output().unwrap());
    assert!(String::from_utf8_lossy(&out.stdout).contains("resuming `gan` from"));
    assert_same_end(&a, &b, 2);
}

/// `gan run` into a directory that holds a run is refused (it would append to that run's
/// metrics.jsonl) and leaves it as it was; `--force` deletes the old run first, and never
/// deletes a directory that holds something other than a run.
#[test]
fn a_run_into_a_directory_holding_a_run_is_refused() {
    let s = setup(ONE_FIT);
    let run = s.root.join("r");
    let args = ["--set", "n=2000", "--set", "epochs=1"];
    ok(run_args(&s, &run, &args).output().unwrap());
    let metrics_before = fs::read(run.join("metrics.jsonl")).unwrap();
    let config_before = fs::read(run.join("config.json")).unwrap();

    let out = run_args(&s, &run, &args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let d = run.display();
    assert!(
        stderr.contains(&format!(
            "--out {d}: the directory already holds a run (config.json, recipe.rhai, metrics.jsonl, \
             checkpoints); `gan resume {d}` continues it, or give a new or empty directory, or pass \
             --force to delete that run first"
        )),
        "{stderr}"
    );
    assert_eq!(fs::read(run.join("metrics.jsonl")).unwrap(), metrics_before);
    assert_eq!(fs::read(run.join("config.json")).unwrap(), config_before);

    // --force: the old run is gone (a file only it had too), the new one has its own one line
    fs::write(run.join("old-notes.txt"), "from the first run").unwrap();
    ok(run_args(&s, &run, &[&args[..], &["--force"]].concat())
        .output()
        .unwrap());
    assert!(!run.join("old-notes.txt").exists());
    assert_eq!(metrics(&run, "metrics.jsonl").len(), 1);

    // a directory of other files: refused, even with --force, and left alone
    let other = s.root.join("notes");
    fs::create_dir(&other).unwrap();
    fs::write(other.join("a.txt"), "mine").unwrap();
    for extra in [&[][..], &["--force"][..]] {
        let out = run_args(&s, &other, &[&args[..], extra].concat())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "--out {}: the directory is not empty and holds no run (a.txt)",
                other.display()
            )),
            "{stderr}"
        );
        assert_eq!(fs::read_dir(&other).unwrap().count(), 1);
    }
    // an empty directory is a fine place to start
    let empty = s.root.join("empty");
    fs::create_dir(&empty).unwrap();
    ok(run_args(&s, &empty, &args).output().unwrap());
    assert_eq!(metrics(&empty, "metrics.jsonl").len(), 1);
}

#[test]
fn without_out_a_second_run_goes_to_the_next_free_directory() {
    let s = setup(ONE_FIT);
    let run = |extra: &[&str]| {
        let mut c = gan();
        c.current_dir(&s.root)
            .arg("run")
            .arg(&s.recipe)
            .args(["--set", "n=2000", "--set", "epochs=1"])
            .args(extra);
        ok(c.output().unwrap())
    };
    let runs = s.root.join("runs");
    let first = run(&[]);
    assert!(String::from_utf8_lossy(&first.stdout).contains("runs/toy"));
    let metrics_before = fs::read(runs.join("toy/metrics.jsonl")).unwrap();
    run(&[]);
    run(&[]);
    // the earlier run is untouched; the later ones each have their own directory and one epoch
    assert_eq!(
        fs::read(runs.join("toy/metrics.jsonl")).unwrap(),
        metrics_before
    );
    for d in ["toy-2", "toy-3"] {
        assert_eq!(metrics(&runs.join(d), "metrics.jsonl").len(), 1, "{d}");
    }
    assert!(!runs.join("toy-4").exists());
    // --force without --out reuses runs/toy itself
    run(&["--force"]);
    assert_eq!(metrics(&runs.join("toy"), "metrics.jsonl").len(), 1);
    assert!(!runs.join("toy-4").exists());
}

/// SIGTERM (what `kill`, Slurm's cancel, preemption and time limit send) and SIGUSR1 (Slurm's
/// warning before the time limit) stop a run as Ctrl-C does: at a step boundary, with a
/// checkpoint, exiting with 128 + the signal's number; `gan resume` then ends where the
/// uninterrupted run ends.
#[test]
fn sigterm_and_sigusr1_checkpoint_and_resume_exactly() {
    let s = setup(ONE_FIT);
    let a = s.root.join("a");
    let args = ["--set", "n=300000", "--checkpoint-every", "1"];
    ok(run_args(&s, &a, &args).output().unwrap());
    for (sig, status) in [("-TERM", 143), ("-USR1", 138)] {
        let b = s.root.join(format!("b{sig}"));
        let mut child = Reaped(
            run_args(&s, &b, &args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        // after epoch 1's checkpoint, so that the stop lands in epoch 2 (15 000 steps)
        let started = Instant::now();
        while !has_checkpoint(&b.join("checkpoints"), 15000) {
            assert!(child.0.try_wait().unwrap().is_none(), "ended before {sig}");
            assert!(started.elapsed() < Duration::from_secs(600), "timed out");
            std::thread::sleep(Duration::from_millis(5));
        }
        signal(child.0.id(), sig);
        let mut stderr = String::new();
        use std::io::Read;
        child
            .0
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let st = child.0.wait().unwrap();
        assert_eq!(st.code(), Some(status), "{sig}: {stderr}");
        assert!(
            stderr.contains("stopping at the next step boundary")
                && stderr.contains("its state is saved in"),
            "{stderr}"
        );
        assert!(
            !b.join("weights.safetensors").exists(),
            "stopped before the end"
        );
        assert_eq!(metrics_lines(&b, "metrics.jsonl"), 1, "stopped in epoch 2");
        // the stop's own checkpoint, mid-epoch 2, beside epoch 1's
        let newest = fs::read_dir(b.join("checkpoints"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .max()
            .unwrap();
        assert!(newest.as_str() > "ckpt-0000015000", "{newest}");
        ok(gan().arg("resume").arg(&b).output().unwrap());
        assert_same_end(&a, &b, 2);
    }
}

#[test]
fn a_run_that_fails_before_training_leaves_no_directory_behind() {
    let s = setup("let data = mnist(\"train\");\nlet x = 1;");
    let run = || {
        gan()
            .current_dir(&s.root)
            .arg("run")
            .arg(&s.recipe)
            .args(["--data-dir", "no-such-dir"])
            .output()
            .unwrap()
    };
    let out = run();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("runs/toy: the recipe failed before writing anything else"),
        "{stderr}"
    );
    assert!(!s.root.join("runs/toy").exists());
    // so the next try lands in runs/toy again, not runs/toy-2
    run();
    assert!(!s.root.join("runs/toy-2").exists());
    // a directory the recipe wrote into is kept
    fs::write(
        &s.recipe,
        "write_json(\"early.json\", #{ a: 1 });\nlet data = mnist(\"train\");",
    )
    .unwrap();
    assert!(!run().status.success());
    assert!(s.root.join("runs/toy/early.json").is_file());
    assert!(s.root.join("runs/toy/recipe.rhai").is_file());
}
