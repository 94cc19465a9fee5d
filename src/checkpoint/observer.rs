//! A training observer that checkpoints every N epochs and keeps the last K.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::Value;

use super::listing::{keep_last, remove_stale_temps};
use super::Checkpoint;
use crate::engine::{Control, EpochMetrics, FitObserver, Gan, StepMetrics};

/// Wraps another observer: forwards every call to it, then, after each epoch whose number is a
/// multiple of `every` (and after any epoch where the inner observer asks to stop), saves a
/// checkpoint into `dir` and deletes all but the newest `keep`.
///
/// It saves after the inner observer's `on_epoch`, so what that does (draw samples, append to
/// a metrics file) is part of the saved state and can be described by the `extra` data.
/// A stop in the middle of an epoch cannot be saved from `on_step` (which only sees `&Gan`);
/// call [`CheckpointObserver::save_now`] once `Trainer::fit` has returned.
pub struct CheckpointObserver<O> {
    inner: O,
    dir: PathBuf,
    every: u64,
    keep: usize,
    extra: Box<dyn FnMut(&Gan) -> Value>,
    last_saved: Option<PathBuf>,
    cleaned: bool,
}

impl<O: FitObserver> CheckpointObserver<O> {
    /// Checkpoints into `dir` every `every` epochs (at least 1), keeping the newest `keep`
    /// (at least 1). The manifests' `extra` is `null` unless [`Self::with_extra`] is used.
    pub fn new(inner: O, dir: impl Into<PathBuf>, every: u64, keep: usize) -> Self {
        CheckpointObserver {
            inner,
            dir: dir.into(),
            every: every.max(1),
            keep: keep.max(1),
            extra: Box::new(|_| Value::Null),
            last_saved: None,
            cleaned: false,
        }
    }

    /// Sets the function computing each checkpoint's `extra` data at save time (it runs after
    /// the inner observer's `on_epoch`, so e.g. a metrics file's length is current).
    pub fn with_extra(mut self, f: impl FnMut(&Gan) -> Value + 'static) -> Self {
        self.extra = Box::new(f);
        self
    }

    /// Saves a checkpoint of `gan` now and prunes old ones; returns its path. The first save
    /// also deletes temporary directories a crashed earlier run left in `dir`.
    pub fn save_now(&mut self, gan: &mut Gan) -> Result<PathBuf> {
        if !self.cleaned {
            remove_stale_temps(&self.dir)?;
            self.cleaned = true;
        }
        let extra = (self.extra)(gan);
        let path = Checkpoint::save(&self.dir, gan, extra)?;
        keep_last(&self.dir, self.keep)?;
        self.last_saved = Some(path.clone());
        Ok(path)
    }

    /// The checkpoint most recently saved by this observer.
    pub fn last_saved(&self) -> Option<&Path> {
        self.last_saved.as_deref()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn inner(&self) -> &O {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut O {
        &mut self.inner
    }

    pub fn into_inner(self) -> O {
        self.inner
    }
}

impl<O: FitObserver> FitObserver for CheckpointObserver<O> {
    fn on_step(&mut self, gan: &Gan, m: &StepMetrics, done: u64, total: u64) -> Control {
        self.inner.on_step(gan, m, done, total)
    }

    fn on_epoch(&mut self, gan: &mut Gan, m: &EpochMetrics) -> Result<Control> {
        let wish = self.inner.on_epoch(gan, m)?;
        if gan.epoch.is_multiple_of(self.every) || wish == Control::Stop {
            self.save_now(gan)?;
        }
        Ok(wish)
    }
}
