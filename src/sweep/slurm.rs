//! The Slurm executor: the tasks go to one job array (`--array=0-K%P`, `--requeue`,
//! `--signal=B:USR1@120`), each array task `gan sweep task DIR I`. Arrays larger than the
//! cluster's `MaxArraySize` are split into several, each given its offset. A task stopped by
//! USR1 or SIGTERM checkpoints; after USR1 it requeues itself ([`requeue_self`]). State is read
//! from the run directories, never from `sacct`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::plan::Sweep;
use crate::safe_fs::write_atomic;

/// The batch script each array task runs, in the sweep folder.
pub const SCRIPT: &str = "slurm.sh";

/// Output of a Slurm command that must succeed.
fn slurm(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("running {:?} (is Slurm installed?)", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "{:?} failed ({}): {}",
            cmd.get_program(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether a Slurm controller answers here.
pub fn available() -> bool {
    Command::new("sinfo")
        .arg("-h")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The cluster's `MaxArraySize` (array indices must stay below it); Slurm's default 1001.
pub fn max_array_size() -> Result<usize> {
    let config = slurm(Command::new("scontrol").args(["show", "config"]))?;
    Ok(config
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "MaxArraySize").then(|| v.trim().parse().ok())?
        })
        .unwrap_or(1001))
}

/// `s` quoted for a POSIX shell.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Splits the task indices into arrays whose indices (task index − offset) stay below `max`:
/// (offset, indices − offset) per array.
pub fn split(indices: &[usize], max: usize) -> Vec<(usize, Vec<usize>)> {
    let mut out: Vec<(usize, Vec<usize>)> = Vec::new();
    for &i in indices {
        let offset = i / max * max;
        match out.last_mut() {
            Some((o, list)) if *o == offset => list.push(i - offset),
            _ => out.push((offset, vec![i - offset])),
        }
    }
    out
}

/// Submits the tasks `indices` as job arrays, at most `parallel` running at once per array;
/// `extra` are further `sbatch` options (`--slurm-args`). Returns the job ids.
pub fn submit(
    sweep: &Sweep,
    indices: &[usize],
    parallel: Option<usize>,
    extra: &[String],
    exe: &Path,
) -> Result<Vec<String>> {
    let dir = sweep
        .dir
        .canonicalize()
        .with_context(|| format!("opening {}", sweep.dir.display()))?;
    let script = format!(
        "#!/bin/sh\n# gan sweep's Slurm task: array index + offset ($1) is the task index; the\n\
         # engine uses the CPUs Slurm gave the task. exec: gan itself receives --signal's USR1.\n\
         export RAYON_NUM_THREADS=\"${{SLURM_CPUS_PER_TASK:-1}}\"\n\
         exec {} sweep task {} \"$((SLURM_ARRAY_TASK_ID + $1))\"\n",
        quote(&exe.display().to_string()),
        quote(&dir.display().to_string())
    );
    write_atomic(&dir.join(SCRIPT), script.as_bytes())?;
    std::fs::create_dir_all(dir.join("logs"))?;
    let mut ids = Vec::new();
    for (offset, list) in split(indices, max_array_size()?) {
        let mut array = list
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        if let Some(p) = parallel {
            array += &format!("%{p}");
        }
        let out = slurm(
            Command::new("sbatch")
                .arg("--parsable")
                .arg(format!("--array={array}"))
                .args(["--requeue", "--signal=B:USR1@120", "--job-name=gan-sweep"])
                // a requeued task adds to its log instead of replacing the earlier attempts
                .arg("--open-mode=append")
                .arg(format!("--output={}/logs/slurm-%A_%a.log", dir.display()))
                .arg(format!("--chdir={}", dir.display()))
                .args(extra)
                .arg(dir.join(SCRIPT))
                .arg(offset.to_string()),
        )?;
        ids.push(out.trim().split(';').next().unwrap_or("").to_string());
    }
    Ok(ids)
}

/// Waits until none of the jobs `ids` is queued or running any more.
pub fn wait(ids: &[String]) -> Result<()> {
    loop {
        let out = slurm(Command::new("squeue").args(["-h", "-o", "%i", "-j", &ids.join(",")]));
        // squeue refuses ids it no longer knows: they are finished
        match out {
            Ok(s) if !s.trim().is_empty() => std::thread::sleep(Duration::from_millis(500)),
            _ => return Ok(()),
        }
    }
}

/// Under Slurm, a task stopped with a checkpoint by USR1 (`--signal=B:USR1@120`: its time
/// limit is near) puts its job back in the queue, so that it resumes from there. SIGTERM does not
/// requeue: `scancel` sends it too, and a cancelled job must stay cancelled (the job's state
/// reads COMPLETING alike in both cases); on preemption and `scontrol requeue` Slurm requeues
/// the job itself, and a time limit is preceded by the USR1.
pub fn requeue_self() -> Result<Option<String>> {
    let Ok(job) = std::env::var("SLURM_JOB_ID") else {
        return Ok(None);
    };
    slurm(Command::new("scontrol").args(["requeue", &job]))?;
    Ok(Some(job))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_stay_below_max_array_size() {
        assert_eq!(split(&[0, 1, 2], 1001), [(0, vec![0, 1, 2])]);
        assert_eq!(
            split(&[1, 4, 5, 9, 10], 5),
            [(0, vec![1, 4]), (5, vec![0, 4]), (10, vec![0])]
        );
        assert_eq!(quote("a'b c"), r"'a'\''b c'");
    }
}
