//! One task of a sweep (`gan sweep task DIR I`): finished → nothing; a run already started →
//! `gan resume` (it continues from the checkpoint); else `gan run`; then the evaluations the
//! sweep asks for, each written as `eval_<name>.json` into the run directory. `status.json`
//! records each step.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use super::children;
use super::plan::Sweep;
use super::status::{host_name, State, Status};
use crate::rundir::RunDir;

/// Exit statuses of a run that stopped with a checkpoint: `--timeout` (124), Ctrl-C (130),
/// SIGUSR1 (138), SIGTERM (143).
pub const STOPPED_CODES: [i32; 4] = [124, 130, 138, 143];

/// The job a task runs in under Slurm (`ARRAYJOB_TASK`), for `status.json`.
pub fn slurm_job_id() -> Option<String> {
    let var = |k| std::env::var(k).ok().filter(|v: &String| !v.is_empty());
    match (var("SLURM_ARRAY_JOB_ID"), var("SLURM_ARRAY_TASK_ID")) {
        (Some(j), Some(t)) => Some(format!("{j}_{t}")),
        _ => var("SLURM_JOB_ID"),
    }
}

/// Runs task `i` of `sweep` with the `gan` binary `exe`; returns the task's exit status (0:
/// done; one of [`STOPPED_CODES`]: stopped with a checkpoint; else failed).
pub fn run_task(sweep: &Sweep, i: usize, exe: &Path) -> Result<i32> {
    let task = sweep.task(i)?;
    let dir = sweep.run_dir(task);
    if let Ok(m) = std::fs::symlink_metadata(&dir) {
        if !m.is_dir() {
            bail!("{}: not a directory (a symlink?)", dir.display());
        }
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut status = Status::read(&dir)?;
    if status.state == State::Done {
        println!("task {i} ({}): done already", task.name);
        return Ok(0);
    }
    status.state = State::Running;
    status.attempts += 1;
    status.exit_code = None;
    status.host = host_name();
    status.job_id = slurm_job_id();
    status.message = None;
    status.write(&dir)?;

    let mut cmd = Command::new(exe);
    // config.json is written before the recipe's first statement: a run started here before.
    if dir.join("config.json").exists() {
        cmd.arg("resume").arg(&dir);
    } else {
        cmd.arg("run")
            .arg(sweep.recipe_path())
            .arg("--out")
            .arg(&dir)
            .arg("--seed")
            .arg(task.seed.to_string());
        for (k, v) in &task.set {
            cmd.arg("--set").arg(format!("{k}={v}"));
        }
    }
    let code = wait(&mut cmd)?;
    let (state, message) = if code == 0 {
        match evaluate(sweep, &dir, exe) {
            Ok(()) => (State::Done, None),
            Err((code, m)) => return finish(&dir, status, State::from_code(code), code, Some(m)),
        }
    } else {
        (State::from_code(code), None)
    };
    finish(&dir, status, state, code, message)
}

impl State {
    /// The state a task's exit status leaves it in.
    fn from_code(code: i32) -> State {
        match code {
            0 => State::Done,
            c if STOPPED_CODES.contains(&c) => State::Stopped,
            _ => State::Failed,
        }
    }
}

fn finish(
    dir: &Path,
    mut status: Status,
    state: State,
    code: i32,
    message: Option<String>,
) -> Result<i32> {
    status.state = state;
    status.exit_code = Some(code);
    status.message = message;
    status.write(dir)?;
    Ok(code)
}

/// Runs `cmd` as a child the stop signals reach; its exit status.
fn wait(cmd: &mut Command) -> Result<i32> {
    let mut child = children::spawn(cmd)?;
    let st = child.wait();
    children::forget(&child);
    Ok(children::exit_code(st?))
}

/// `gan eval NAME DIR --json` for each evaluation the sweep asks for, into `eval_NAME.json`.
fn evaluate(sweep: &Sweep, dir: &Path, exe: &Path) -> std::result::Result<(), (i32, String)> {
    let run = RunDir::create(dir).map_err(|e| (1, format!("{e:#}")))?;
    for name in &sweep.plan.eval {
        let mut cmd = Command::new(exe);
        cmd.args(["eval", name])
            .arg(dir)
            .arg("--json")
            .stdout(Stdio::piped());
        let mut child = children::spawn(&mut cmd).map_err(|e| (1, format!("{e:#}")))?;
        let mut out = Vec::new();
        use std::io::Read;
        let read = child.stdout.take().map(|mut s| s.read_to_end(&mut out));
        let st = child.wait();
        children::forget(&child);
        let code = st.map(children::exit_code).unwrap_or(-1);
        if code != 0 || !matches!(read, Some(Ok(_))) {
            return Err((code, format!("gan eval {name} failed (exit status {code})")));
        }
        run.write(&format!("eval_{name}.json"), &out)
            .map_err(|e| (1, format!("{e:#}")))?;
    }
    Ok(())
}
