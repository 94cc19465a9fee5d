//! [`OutputSink`]: a script's [`Sink`] events as [`Output`]s, as they happen.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::{html_escape, png_bundle, MetricsTable, MimeBundle, Output};
use crate::engine::EpochMetrics;
use crate::script::{Progress, Sink};

struct FitState {
    gan: String,
    id: String,
    rows: Vec<EpochMetrics>,
    last: Option<Progress>,
}

/// A [`Sink`] that turns events into [`Output`]s for `emit`: text lines as stream output,
/// images and tables as displays, training progress as one display updated in place, and a
/// metrics table when a fit ends.
pub struct OutputSink {
    emit: Box<dyn Fn(Output) + Send + Sync>,
    fit: Mutex<Option<FitState>>,
    displays: AtomicU64,
}

impl OutputSink {
    pub fn new(emit: impl Fn(Output) + Send + Sync + 'static) -> Self {
        OutputSink {
            emit: Box::new(emit),
            fit: Mutex::new(None),
            displays: AtomicU64::new(0),
        }
    }

    fn progress_bundle(f: &FitState, done: bool) -> MimeBundle {
        let mut text = String::new();
        let mut html = String::from("<div class=\"gan-progress\">");
        let who = if f.gan == "gan" {
            String::new()
        } else {
            format!("[{}] ", f.gan)
        };
        if let Some(p) = &f.last {
            if !done {
                let frac = p.done as f64 / p.total.max(1) as f64;
                let filled = (frac * 30.0).round() as usize;
                let _ = writeln!(
                    text,
                    "{who}epoch {}/{} [{}{}] {}/{}  d {:.3}  g {:.3}",
                    p.epoch,
                    p.epochs,
                    "=".repeat(filled),
                    " ".repeat(30 - filled.min(30)),
                    p.done,
                    p.total,
                    p.d_loss,
                    p.g_loss
                );
                let _ = write!(
                    html,
                    "<div><code>{}epoch {}/{}</code> <progress value=\"{}\" max=\"{}\"></progress> <code>{}/{} d {:.3} g {:.3}</code></div>",
                    html_escape(&who),
                    p.epoch,
                    p.epochs,
                    p.done,
                    p.total,
                    p.done,
                    p.total,
                    p.d_loss,
                    p.g_loss
                );
            }
        }
        if let Some(m) = f.rows.last() {
            let line = crate_epoch_line(&f.gan, m);
            let _ = writeln!(text, "{line}");
            let _ = write!(html, "<div><code>{}</code></div>", html_escape(&line));
        }
        if done {
            let line = match (f.rows.first(), f.rows.last()) {
                (Some(a), Some(b)) if a.epoch != b.epoch => format!(
                    "{who}trained epochs {}–{} (step {})",
                    a.epoch, b.epoch, b.step
                ),
                (Some(a), _) => format!("{who}trained epoch {} (step {})", a.epoch, a.step),
                _ => format!("{who}no epoch completed"),
            };
            let _ = writeln!(text, "{line}");
            let _ = write!(html, "<div><b>{}</b></div>", html_escape(&line));
        }
        html.push_str("</div>");
        let mut b = MimeBundle::new();
        b.insert("text/plain".into(), text.trim_end().to_string());
        b.insert("text/html".into(), html);
        b
    }

    fn new_id(&self) -> String {
        format!(
            "gan-progress-{}-{}",
            std::process::id(),
            self.displays.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// One epoch as a line (the same as the terminal's).
fn crate_epoch_line(gan: &str, m: &EpochMetrics) -> String {
    let who = if gan == "gan" {
        String::new()
    } else {
        format!("[{gan}] ")
    };
    format!(
        "{who}epoch {}  step {}  d_loss {:.4}  g_loss {:.4}  D(x) {:.3}  D(G(z)) {:.3}  {:.1} it/s",
        m.epoch, m.step, m.d_loss, m.g_loss, m.d_real, m.d_fake, m.it_per_s
    )
}

impl Sink for OutputSink {
    fn text(&self, s: &str) {
        let mut s = s.to_string();
        if !s.ends_with('\n') {
            s.push('\n');
        }
        (self.emit)(Output::Stream(s));
    }

    fn image(&self, caption: &str, png: &[u8], saved: Option<&Path>) {
        let text = match saved {
            Some(p) => format!("<image {caption}: {}>", p.display()),
            None => format!("<image {caption}>"),
        };
        (self.emit)(Output::Display {
            data: png_bundle(png, &text),
            id: None,
        });
    }

    fn html(&self, html: &str, plain: &str) {
        let mut b = MimeBundle::new();
        b.insert("text/html".into(), html.into());
        b.insert("text/plain".into(), plain.into());
        (self.emit)(Output::Display { data: b, id: None });
    }

    fn progress(&self, p: &Progress) {
        let mut slot = self.fit.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = !matches!(&*slot, Some(f) if f.gan == p.gan);
        if fresh {
            *slot = Some(FitState {
                gan: p.gan.clone(),
                id: self.new_id(),
                rows: Vec::new(),
                last: Some(p.clone()),
            });
            let f = slot.as_ref().unwrap();
            (self.emit)(Output::Display {
                data: Self::progress_bundle(f, false),
                id: Some(f.id.clone()),
            });
        } else if let Some(f) = slot.as_mut() {
            f.last = Some(p.clone());
            (self.emit)(Output::Update {
                data: Self::progress_bundle(f, false),
                id: f.id.clone(),
            });
        }
    }

    fn epoch(&self, gan: &str, m: &EpochMetrics) {
        let mut slot = self.fit.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = !matches!(&*slot, Some(f) if f.gan == gan);
        if fresh {
            // an epoch without progress before it (a tiny epoch): open the display now
            *slot = Some(FitState {
                gan: gan.to_string(),
                id: self.new_id(),
                rows: vec![m.clone()],
                last: None,
            });
            let f = slot.as_ref().unwrap();
            (self.emit)(Output::Display {
                data: Self::progress_bundle(f, false),
                id: Some(f.id.clone()),
            });
        } else if let Some(f) = slot.as_mut() {
            f.rows.push(m.clone());
            f.last = None;
            (self.emit)(Output::Update {
                data: Self::progress_bundle(f, false),
                id: f.id.clone(),
            });
        }
    }

    fn fit_end(&self, gan: &str) {
        let Some(f) = self
            .fit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .filter(|f| f.gan == gan)
        else {
            return;
        };
        (self.emit)(Output::Update {
            data: Self::progress_bundle(&f, true),
            id: f.id.clone(),
        });
        if !f.rows.is_empty() {
            let title = if gan == "gan" {
                "training metrics".to_string()
            } else {
                format!("training metrics of `{gan}`")
            };
            (self.emit)(Output::Display {
                data: MetricsTable::new(title, f.rows).bundle(),
                id: None,
            });
        }
    }
}
