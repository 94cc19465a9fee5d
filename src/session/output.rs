//! Outputs as notebook front ends want them: text plus MIME bundles (`text/plain`, `image/png`,
//! `text/html`), the evcxr pattern. [`OutputSink`] turns a script's [`Sink`] events into
//! [`Output`]s as they happen (a Jupyter kernel publishes each at once); [`Collector`] gathers
//! the outputs of one cell. Training progress becomes one display that is updated in place, and
//! each `fit` ends with its metrics as an HTML table ([`MetricsTable`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;

use crate::engine::EpochMetrics;
use crate::script::{Progress, Sink};

/// MIME type → data: a string for text types, base64 for binary ones (as Jupyter sends them).
pub type MimeBundle = BTreeMap<String, String>;

/// One output of a cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Text for stdout (a whole line, ending in `\n`).
    Stream(String),
    /// A rich display; with an id, later [`Output::Update`]s replace it in place.
    Display {
        data: MimeBundle,
        id: Option<String>,
    },
    /// New content for the display with this id.
    Update { data: MimeBundle, id: String },
}

impl Output {
    /// The bundle of a display or update.
    pub fn data(&self) -> Option<&MimeBundle> {
        match self {
            Output::Stream(_) => None,
            Output::Display { data, .. } | Output::Update { data, .. } => Some(data),
        }
    }
}

pub fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn unbase64(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
}

/// A bundle showing a PNG, with `text` as its plain-text form.
pub fn png_bundle(png: &[u8], text: &str) -> MimeBundle {
    let mut b = MimeBundle::new();
    b.insert("image/png".into(), base64(png));
    b.insert("text/plain".into(), text.into());
    b
}

/// A bundle of plain text only.
pub fn text_bundle(text: &str) -> MimeBundle {
    let mut b = MimeBundle::new();
    b.insert("text/plain".into(), text.into());
    b
}

pub fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            _ => o.push(c),
        }
    }
    o
}

/// Epoch metrics of one or more fits, as an HTML table (and a plain-text one).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricsTable {
    pub title: String,
    pub rows: Vec<EpochMetrics>,
}

/// Rows shown before eliding the middle of a long table.
const TABLE_HEAD: usize = 5;
const TABLE_TAIL: usize = 10;

impl MetricsTable {
    pub fn new(title: impl Into<String>, rows: Vec<EpochMetrics>) -> Self {
        MetricsTable {
            title: title.into(),
            rows,
        }
    }

    /// The rows to show: all of a short table; the first and last ones of a long one (`None`
    /// marks the elided middle).
    fn shown(&self) -> Vec<Option<&EpochMetrics>> {
        if self.rows.len() <= TABLE_HEAD + TABLE_TAIL + 1 {
            return self.rows.iter().map(Some).collect();
        }
        let n = self.rows.len();
        let mut v: Vec<Option<&EpochMetrics>> = self.rows[..TABLE_HEAD].iter().map(Some).collect();
        v.push(None);
        v.extend(self.rows[n - TABLE_TAIL..].iter().map(Some));
        v
    }

    const HEAD: [&'static str; 9] = [
        "epoch", "step", "d_loss", "g_loss", "D(x)", "D(G(z))", "lr", "momentum", "it/s",
    ];

    fn cells(m: &EpochMetrics) -> [String; 9] {
        [
            m.epoch.to_string(),
            m.step.to_string(),
            format!("{:.4}", m.d_loss),
            format!("{:.4}", m.g_loss),
            format!("{:.3}", m.d_real),
            format!("{:.3}", m.d_fake),
            format!("{:.3e}", m.lr),
            format!("{:.3}", m.momentum),
            format!("{:.1}", m.it_per_s),
        ]
    }

    pub fn to_html(&self) -> String {
        let mut h = String::from("<table class=\"gan-metrics\">");
        if !self.title.is_empty() {
            let _ = write!(h, "<caption>{}</caption>", html_escape(&self.title));
        }
        h.push_str("<thead><tr>");
        for c in Self::HEAD {
            let _ = write!(h, "<th>{}</th>", html_escape(c));
        }
        h.push_str("</tr></thead><tbody>");
        for r in self.shown() {
            match r {
                Some(m) => {
                    h.push_str("<tr>");
                    for c in Self::cells(m) {
                        let _ = write!(h, "<td>{c}</td>");
                    }
                    h.push_str("</tr>");
                }
                None => {
                    let _ = write!(
                        h,
                        "<tr><td colspan=\"9\">… {} more epochs …</td></tr>",
                        self.rows.len() - TABLE_HEAD - TABLE_TAIL
                    );
                }
            }
        }
        h.push_str("</tbody></table>");
        h
    }

    pub fn to_text(&self) -> String {
        let mut t = String::new();
        if !self.title.is_empty() {
            t.push_str(&self.title);
            t.push('\n');
        }
        let widths = [5, 8, 8, 8, 6, 7, 9, 8, 8];
        for (c, w) in Self::HEAD.iter().zip(widths) {
            let _ = write!(t, "{c:>w$} ");
        }
        t.push('\n');
        for r in self.shown() {
            match r {
                Some(m) => {
                    for (c, w) in Self::cells(m).iter().zip(widths) {
                        let _ = write!(t, "{c:>w$} ");
                    }
                    t.push('\n');
                }
                None => {
                    let _ = writeln!(
                        t,
                        "  … {} more epochs …",
                        self.rows.len() - TABLE_HEAD - TABLE_TAIL
                    );
                }
            }
        }
        t
    }

    pub fn bundle(&self) -> MimeBundle {
        let mut b = MimeBundle::new();
        b.insert("text/html".into(), self.to_html());
        b.insert("text/plain".into(), self.to_text());
        b
    }

    /// Inline display in evcxr_jupyter (`EVCXR_BEGIN_CONTENT text/html …`), with the text
    /// table for clients without HTML.
    pub fn evcxr_display(&self) {
        print_evcxr("text/plain", &self.to_text());
        print_evcxr("text/html", &self.to_html());
    }
}

/// Prints one evcxr content block on stdout (what evcxr_jupyter turns into a display).
pub fn print_evcxr(mime: &str, content: &str) {
    println!("EVCXR_BEGIN_CONTENT {mime}\n{content}\nEVCXR_END_CONTENT");
}

impl crate::script::values::Samples {
    /// Image rows as a PNG grid (10 columns), or `None` when the rows are not images.
    pub fn grid_png(&self) -> Option<Vec<u8>> {
        let shape = self.image?;
        crate::script::api_output::grid_png(&self.x, shape, 10).ok()
    }

    /// Inline display in evcxr_jupyter: image rows as a PNG grid (with the summary as its
    /// text), other rows as the summary alone.
    pub fn evcxr_display(&self) {
        print_evcxr("text/plain", &self.summary());
        if let Some(png) = self.grid_png() {
            print_evcxr("image/png", &base64(&png));
        }
    }
}

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

/// Gathers the outputs of a cell (for front ends that show a cell's outputs together).
#[derive(Default)]
pub struct Collector {
    items: Mutex<Vec<Output>>,
}

impl Collector {
    pub fn new() -> Arc<Self> {
        Arc::new(Collector::default())
    }

    /// A sink feeding this collector.
    pub fn sink(self: &Arc<Self>) -> Arc<OutputSink> {
        let me = self.clone();
        Arc::new(OutputSink::new(move |o| me.push(o)))
    }

    pub fn push(&self, o: Output) {
        self.items.lock().unwrap_or_else(|e| e.into_inner()).push(o);
    }

    /// The outputs so far, leaving the collector empty. Updates of a display collected in the
    /// same call are folded into it (a finished cell shows each display's last state).
    pub fn take(&self) -> Vec<Output> {
        let items = std::mem::take(&mut *self.items.lock().unwrap_or_else(|e| e.into_inner()));
        fold_updates(items)
    }
}

/// Applies each update to the display it names, when that display is in `items`.
pub fn fold_updates(items: Vec<Output>) -> Vec<Output> {
    let mut out: Vec<Output> = Vec::with_capacity(items.len());
    for o in items {
        if let Output::Update { data, id } = &o {
            if let Some(Output::Display { data: d, .. }) = out
                .iter_mut()
                .rev()
                .find(|x| matches!(x, Output::Display { id: Some(i), .. } if i == id))
            {
                *d = data.clone();
                continue;
            }
        }
        out.push(o);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(epoch: u64) -> EpochMetrics {
        EpochMetrics {
            epoch,
            step: epoch * 10,
            d_loss: 1.3,
            g_loss: 0.7,
            d_real: 0.5,
            d_fake: 0.5,
            lr: 0.1,
            lr_g: 0.1,
            momentum: 0.5,
            steps: 10,
            secs: 0.1,
            it_per_s: 100.0,
            ..Default::default()
        }
    }

    #[test]
    fn progress_is_one_display_then_a_table() {
        let c = Collector::new();
        let s = c.sink();
        s.text("hello");
        for e in 1..=3u64 {
            for done in [5, 10] {
                s.progress(&Progress {
                    gan: "gan".into(),
                    epoch: e,
                    epochs: 3,
                    done,
                    total: 10,
                    d_loss: 1.0,
                    g_loss: 1.0,
                });
            }
            s.epoch("gan", &metrics(e));
        }
        s.fit_end("gan");
        s.image("x.png", &[1, 2, 3], None);
        let out = c.take();
        assert_eq!(out.len(), 4, "{out:#?}");
        assert_eq!(out[0], Output::Stream("hello\n".into()));
        let prog = out[1].data().unwrap();
        assert!(
            prog["text/plain"].contains("trained epochs 1–3"),
            "{prog:?}"
        );
        let table = out[2].data().unwrap();
        assert!(table["text/html"].contains("<table"));
        assert_eq!(table["text/html"].matches("<tr>").count(), 4);
        assert_eq!(
            unbase64(&out[3].data().unwrap()["image/png"]).unwrap(),
            vec![1, 2, 3]
        );
    }

    #[test]
    fn long_tables_elide_the_middle() {
        let t = MetricsTable::new("", (1..=100).map(metrics).collect());
        let h = t.to_html();
        assert!(h.contains("… 85 more epochs …"));
        assert!(h.contains("<td>100</td>") && h.contains("<td>1</td>"));
        assert!(t.to_text().contains("… 85 more epochs …"));
    }
}
