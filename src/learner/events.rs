//! What a run shows as it goes: front ends implement [`Sink`] to render text, images, progress
//! and epoch metrics (a terminal, a notebook cell, a Jupyter client, nothing at all).

use std::path::Path;

use crate::engine::EpochMetrics;

/// Training progress within an epoch, sent a few times a second.
#[derive(Clone, Debug)]
pub struct Progress {
    pub gan: String,
    pub epoch: u64,
    pub epochs: u64,
    pub done: u64,
    pub total: u64,
    pub d_loss: f64,
    pub g_loss: f64,
}

/// Receives a run's outputs as they happen. Every method has a do-nothing default.
pub trait Sink: Send + Sync {
    /// A line of text (`print`, notices).
    fn text(&self, _s: &str) {}
    /// An image to show; `saved` is where it was written, if anywhere.
    fn image(&self, _caption: &str, _png: &[u8], _saved: Option<&Path>) {}
    /// A table or other rich text.
    fn html(&self, _html: &str, _plain: &str) {}
    fn progress(&self, _p: &Progress) {}
    /// An epoch finished (after its metrics line is written).
    fn epoch(&self, _gan: &str, _m: &EpochMetrics) {}
    /// Training of one fit ended (progress displays can close).
    fn fit_end(&self, _gan: &str) {}
}

/// A sink that keeps nothing.
pub struct NullSink;
impl Sink for NullSink {}
