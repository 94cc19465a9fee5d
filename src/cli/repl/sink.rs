//! The REPL's sink: the terminal's rendering, images saved into the run directory.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use gan::engine::EpochMetrics;
use gan::script::{Progress, Sink};

use crate::cli::sink::TerminalSink;

/// The terminal renderer, saving images that were not written anywhere into the run directory.
pub(super) struct ReplSink {
    pub(super) inner: TerminalSink,
    pub(super) out: PathBuf,
    pub(super) count: AtomicU64,
}

impl ReplSink {
    fn save(&self, caption: &str, png: &[u8]) -> Option<PathBuf> {
        let stem: String = caption
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let stem = stem.trim_end_matches(".png").trim_end_matches("_png");
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        let path = self.out.join(format!("{stem}-{n}.png"));
        match gan::safe_fs::write_atomic(&path, png) {
            Ok(()) => Some(path),
            Err(e) => {
                self.inner
                    .text(&format!("could not save image {caption}: {e:#}"));
                None
            }
        }
    }
}

impl Sink for ReplSink {
    fn text(&self, s: &str) {
        self.inner.text(s)
    }
    fn image(&self, caption: &str, png: &[u8], saved: Option<&Path>) {
        match saved {
            Some(p) => self.inner.image(caption, png, Some(p)),
            None => {
                let p = self.save(caption, png);
                self.inner.image(caption, png, p.as_deref())
            }
        }
    }
    fn html(&self, html: &str, plain: &str) {
        self.inner.html(html, plain)
    }
    fn progress(&self, p: &Progress) {
        self.inner.progress(p)
    }
    fn epoch(&self, gan: &str, m: &EpochMetrics) {
        self.inner.epoch(gan, m)
    }
    fn fit_end(&self, gan: &str) {
        self.inner.fit_end(gan)
    }
}
