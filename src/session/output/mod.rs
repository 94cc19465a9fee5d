//! Outputs as notebook front ends want them: text plus MIME bundles (`text/plain`, `image/png`,
//! `text/html`), the evcxr pattern. [`OutputSink`] turns a script's [`Sink`] events into
//! [`Output`]s as they happen (a Jupyter kernel publishes each at once); [`Collector`] gathers
//! the outputs of one cell. Training progress becomes one display that is updated in place, and
//! each `fit` ends with its metrics as an HTML table ([`MetricsTable`]).

mod sink;
mod table;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;

pub use sink::OutputSink;
pub use table::MetricsTable;

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
