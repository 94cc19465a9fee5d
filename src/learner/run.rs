//! The run a learner writes into: its directory (if any), where its outputs are shown, when it
//! must stop, and what `gan resume` knows about it. Several GANs (and several fits of each) share
//! one run; the file names below keep their outputs apart.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Result;

use super::events::{NullSink, Sink};
use super::plans::ResumeState;
use super::stop::StopFlag;
use crate::rundir::RunDir;

/// File name for a per-GAN output: `base.ext` for the first GAN (`gan`), `base_<name>.ext` otherwise.
pub fn per_gan(name: &str, base: &str, ext: &str) -> String {
    if name == "gan" {
        format!("{base}.{ext}")
    } else {
        format!("{base}_{name}.{ext}")
    }
}

/// `checkpoints/` for the first GAN, `checkpoints_<name>/` for the others.
pub fn checkpoint_dir_name(gan: &str) -> String {
    if gan == "gan" {
        "checkpoints".to_string()
    } else {
        format!("checkpoints_{gan}")
    }
}

/// The run's shared state: one per recipe run, notebook or library user.
pub struct Run {
    /// Where outputs go; `None`: nothing is written (images still reach the sink).
    pub dir: Option<RunDir>,
    pub sink: Arc<dyn Sink>,
    pub stop: StopFlag,
    /// Recorded in each checkpoint's manifest (the recipe's file stem, or the program's name).
    pub recipe_name: String,
    /// Calls of `fit` so far, per GAN name (checkpoints record which call they belong to).
    fit_calls: Mutex<HashMap<String, u64>>,
    /// `gan resume`: how each GAN's fits pick up from its checkpoints.
    pub(super) resume: Mutex<Option<ResumeState>>,
    /// `--checkpoint-every`: the checkpoint interval of fits that name none.
    checkpoint_every: Mutex<Option<u64>>,
}

impl Run {
    /// A run writing into `dir` (created and locked; see [`RunDir::create`]), or nowhere.
    pub fn new(dir: Option<&Path>, recipe_name: &str, sink: Arc<dyn Sink>) -> Result<Self> {
        let dir = match dir {
            Some(d) => Some(RunDir::create(d)?),
            None => None,
        };
        Ok(Self::with_dir(dir, recipe_name, sink))
    }

    /// A run over an already opened run directory.
    pub fn with_dir(dir: Option<RunDir>, recipe_name: &str, sink: Arc<dyn Sink>) -> Self {
        Run {
            dir,
            sink,
            stop: StopFlag::default(),
            recipe_name: recipe_name.to_string(),
            fit_calls: Mutex::default(),
            resume: Mutex::default(),
            checkpoint_every: Mutex::default(),
        }
    }

    /// A run that writes nothing and shows nothing.
    pub fn quiet() -> Self {
        Self::with_dir(None, "", Arc::new(NullSink))
    }

    /// Counts a call of `fit` on GAN `name`; returns its number (1 for the first).
    pub fn next_fit_index(&self, name: &str) -> u64 {
        let mut calls = self.fit_calls.lock().unwrap();
        let n = calls.entry(name.to_string()).or_insert(0);
        *n += 1;
        *n
    }

    /// Makes each GAN's first fit continue from its latest checkpoint in the run directory
    /// (`gan resume`): fits the checkpoint's run had finished are replayed without writing.
    pub fn enable_resume(&self) {
        *self.resume.lock().unwrap() = Some(ResumeState::default());
    }

    pub fn resuming(&self) -> bool {
        self.resume.lock().unwrap().is_some()
    }

    /// `--checkpoint-every N`: the interval of fits that name none.
    pub fn set_default_checkpoint_every(&self, n: u64) {
        *self.checkpoint_every.lock().unwrap() = Some(n);
    }

    pub fn default_checkpoint_every(&self) -> Option<u64> {
        *self.checkpoint_every.lock().unwrap()
    }

    /// The path of `rel` in the run directory (checked by [`RunDir::resolve`]); None without one.
    pub fn resolve(&self, rel: &str) -> Result<Option<std::path::PathBuf>> {
        self.dir.as_ref().map(|d| d.resolve(rel)).transpose()
    }
}
