//! What `gan resume` decided for each GAN of a run: the checkpoint it continues from, which of
//! its fits replay quietly and which one loads the checkpoint.

use std::collections::HashMap;
use std::path::PathBuf;

/// What a GAN's checkpoint says about where the original run was.
#[derive(Clone, Debug)]
pub struct Found {
    pub path: PathBuf,
    /// The call of `fit` (1-based) the checkpoint was taken in; 1 for checkpoints without it.
    pub fit_index: u64,
    pub epoch: u64,
    pub step: u64,
}

/// How one GAN's fits behave in a resumed run.
#[derive(Clone, Debug)]
pub(super) enum Plan {
    /// No checkpoint (or already loaded): fits run normally.
    Normal,
    /// Fits before `found.fit_index` replay quietly; that fit loads the checkpoint.
    Continue(Found),
}

/// Per-GAN resume plans of a `gan resume` session, made at each GAN's first fit.
#[derive(Debug, Default)]
pub struct ResumeState {
    pub(super) plans: HashMap<String, Plan>,
}

/// What one call of `fit` does in a resumed run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FitMode {
    /// Train and write outputs as usual.
    Normal,
    /// Train without appending metrics lines or saving checkpoints: the original run did.
    Replay,
    /// Load this checkpoint first, then train as usual.
    Load(PathBuf),
}
