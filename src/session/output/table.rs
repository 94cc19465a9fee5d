//! Epoch metrics as an HTML table (and a plain-text one), long runs elided in the middle.

use std::fmt::Write as _;

use super::{html_escape, print_evcxr, MimeBundle};
use crate::engine::EpochMetrics;

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
