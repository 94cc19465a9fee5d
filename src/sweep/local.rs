//! The local executor: up to `jobs` `gan sweep task` processes at once, the machine's cores
//! split between them (`RAYON_NUM_THREADS`), each task's output in `logs/task-<I>.log`. A stop
//! signal forwarded to the tasks makes each running one checkpoint, and starts no new one:
//! `gan sweep resume` finishes what is left.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::children;
use super::plan::Sweep;
use super::status::{State, Status};

/// How many tasks ended in each state.
#[derive(Debug, Default, PartialEq)]
pub struct Tally {
    pub done: usize,
    pub stopped: usize,
    pub failed: usize,
    /// Not started because the sweep was stopped.
    pub not_started: usize,
}

/// Threads each of `jobs` concurrent tasks gets: the cores split evenly, at least one.
pub fn threads_per_job(jobs: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / jobs.max(1)).max(1)
}

/// Runs the tasks `indices` of `sweep`, `jobs` at a time, with the `gan` binary `exe`;
/// `report` receives a line as each task ends.
pub fn run_local(
    sweep: &Sweep,
    indices: &[usize],
    jobs: usize,
    exe: &Path,
    report: &mut dyn FnMut(&str),
) -> Result<Tally> {
    let logs = sweep.dir.join("logs");
    fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let threads = threads_per_job(jobs).to_string();
    let mut queue = indices.iter().copied();
    let mut running: Vec<(usize, Child, Instant)> = Vec::new();
    let mut tally = Tally::default();
    let total = indices.len();
    let mut ended = 0;
    loop {
        while running.len() < jobs.max(1) && children::stopping().is_none() {
            let Some(i) = queue.next() else { break };
            let log = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(logs.join(format!("task-{i}.log")))
                .context("opening the task's log")?;
            let mut cmd = Command::new(exe);
            cmd.arg("sweep")
                .arg("task")
                .arg(&sweep.dir)
                .arg(i.to_string())
                .env("RAYON_NUM_THREADS", &threads)
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log);
            running.push((i, children::spawn(&mut cmd)?, Instant::now()));
        }
        if running.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        let mut k = 0;
        while k < running.len() {
            let Some(st) = running[k].1.try_wait()? else {
                k += 1;
                continue;
            };
            let (i, child, started) = running.swap_remove(k);
            children::forget(&child);
            ended += 1;
            let task = sweep.task(i)?;
            let state = Status::read(&sweep.run_dir(task))
                .map(|s| s.state)
                .unwrap_or(State::Failed);
            match state {
                State::Done => tally.done += 1,
                State::Stopped => tally.stopped += 1,
                _ => tally.failed += 1,
            }
            report(&format!(
                "[{ended}/{total}] task {i} {}: {} (exit status {}, {:.1} s)",
                task.name,
                state.name(),
                children::exit_code(st),
                started.elapsed().as_secs_f64()
            ));
        }
    }
    tally.not_started = queue.count();
    Ok(tally)
}
