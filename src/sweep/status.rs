//! `status.json` in each task's run directory: what happened to the task, written by `gan sweep
//! task` and read by `gan sweep status`, `gan sweep resume` and `gan report` (never `sacct`,
//! which needs Slurm's accounting storage). Read as hostile input: a missing file is a task
//! not started; a symlink, a huge file or edited JSON is an error naming the file.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::safe_fs::{read_regular, write_atomic};

pub const FILE: &str = "status.json";

/// Where a task stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Not started (no status file).
    Pending,
    /// A `gan sweep task` holds it (or was killed without a word: SIGKILL, a lost node).
    Running,
    /// Stopped by a signal or its `--timeout` after saving a checkpoint: resumable.
    Stopped,
    /// Trained, and evaluated as the sweep asked.
    Done,
    /// The recipe or an evaluation failed (see `exit_code` and the task's log).
    Failed,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Running => "running",
            State::Stopped => "stopped",
            State::Done => "done",
            State::Failed => "failed",
        }
    }
}

/// The content of `status.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Status {
    pub state: State,
    /// The exit status of the last `gan run`/`gan resume`/`gan eval` (None while running).
    pub exit_code: Option<i32>,
    /// How many times a task started on this run.
    pub attempts: u32,
    pub host: String,
    /// `SLURM_ARRAY_JOB_ID_SLURM_ARRAY_TASK_ID` (or `SLURM_JOB_ID`) under Slurm.
    pub job_id: Option<String>,
    /// What went wrong, when something did.
    pub message: Option<String>,
}

impl Status {
    pub fn pending() -> Status {
        Status {
            state: State::Pending,
            exit_code: None,
            attempts: 0,
            host: String::new(),
            job_id: None,
            message: None,
        }
    }

    /// The task's status; [`Status::pending`] when the run directory holds none.
    pub fn read(run_dir: &Path) -> Result<Status> {
        let path = run_dir.join(FILE);
        if std::fs::symlink_metadata(&path).is_err() {
            return Ok(Status::pending());
        }
        let bytes = read_regular(&path, 1 << 16)?;
        serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: not a valid task status", path.display()))
    }

    pub fn write(&self, run_dir: &Path) -> Result<()> {
        write_atomic(
            &run_dir.join(FILE),
            serde_json::to_string_pretty(self)?.as_bytes(),
        )
    }
}

/// This machine's name (for `status.json`).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_edited_or_linked_files() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(Status::read(tmp.path()).unwrap(), Status::pending());
        let s = Status {
            state: State::Stopped,
            exit_code: Some(143),
            attempts: 2,
            host: "n1".into(),
            job_id: Some("7_1".into()),
            message: None,
        };
        s.write(tmp.path()).unwrap();
        assert_eq!(Status::read(tmp.path()).unwrap(), s);
        let path = tmp.path().join(FILE);
        std::fs::write(&path, r#"{"state":"finished"}"#).unwrap();
        let e = format!("{:#}", Status::read(tmp.path()).unwrap_err());
        assert!(
            e.contains("status.json: not a valid task status") && e.contains("finished"),
            "{e}"
        );
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", &path).unwrap();
        assert!(format!("{:#}", Status::read(tmp.path()).unwrap_err()).contains("symbolic link"));
    }
}
