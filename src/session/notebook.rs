//! A session whose cells return their outputs instead of printing them: what a notebook front
//! end without a live channel wants (evcxr_jupyter cells, tests). Each [`Notebook::run`] gives
//! a [`Cell`]: the outputs in order, the value as a MIME bundle and the error, if any.
//!
//! ```no_run
//! let mut nb = gan::session::Notebook::new(None).unwrap();
//! let cell = nb.run("let x = 6 * 7; x");
//! assert_eq!(cell.text(), "42");
//! ```

use std::path::PathBuf;
use std::sync::Arc;

use rhai::Dynamic;

use super::output::{fold_updates, html_escape, print_evcxr, Collector, MimeBundle, Output};
use super::Session;
use crate::engine::Gan;
use crate::script::values::GanHandle;
use crate::script::{HostConfig, ScriptError};

/// One executed cell.
#[derive(Clone, Debug, Default)]
pub struct Cell {
    pub outputs: Vec<Output>,
    /// The value of the cell's last expression (`None` for `()` or after an error).
    pub value: Option<MimeBundle>,
    pub error: Option<ScriptError>,
}

impl Cell {
    /// The value's plain text (empty when there is none).
    pub fn text(&self) -> String {
        self.value
            .as_ref()
            .and_then(|b| b.get("text/plain").cloned())
            .unwrap_or_default()
    }

    /// Everything printed, as one string.
    pub fn stdout(&self) -> String {
        self.outputs
            .iter()
            .filter_map(|o| match o {
                Output::Stream(s) => Some(s.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The PNG images shown, decoded.
    pub fn images(&self) -> Vec<Vec<u8>> {
        self.outputs
            .iter()
            .filter_map(Output::data)
            .chain(self.value.iter())
            .filter_map(|b| b.get("image/png"))
            .filter_map(|s| super::output::unbase64(s))
            .collect()
    }

    /// Inline display in evcxr_jupyter: the printed text on stdout, then [`Cell::evcxr_bundle`].
    pub fn evcxr_display(&self) {
        print!("{}", self.stdout());
        for (mime, content) in self.evcxr_bundle() {
            print_evcxr(&mime, &content);
        }
    }

    /// What evcxr_jupyter shows for the cell, as one bundle. evcxr collects the content blocks a
    /// cell prints into a single `execute_result` keyed by MIME type (a second block of a type
    /// replaces the first) and shows nothing mid-cell, so the displays, the value and the error
    /// are folded together: an HTML page holding all of them in order (images inline), the last
    /// PNG again as `image/png` (for clients without HTML, and tests), and their text as
    /// `text/plain`. Only `text/plain` when nothing richer was shown; empty when nothing was.
    pub fn evcxr_bundle(&self) -> MimeBundle {
        let mut html = String::new();
        let mut plain: Vec<String> = Vec::new();
        let mut png: Option<&String> = None;
        let mut rich = false;
        let shown = self.outputs.iter().filter_map(Output::data);
        for b in shown.chain(self.value.iter()) {
            let text = b.get("text/plain");
            if let Some(p) = b.get("image/png") {
                html.push_str(&format!("<img src=\"data:image/png;base64,{p}\"/>\n"));
                png = Some(p);
                rich = true;
            } else if let Some(h) = b.get("text/html") {
                html.push_str(h);
                html.push('\n');
                rich = true;
            } else if let Some(t) = text {
                html.push_str(&format!("<pre>{}</pre>\n", html_escape(t)));
            }
            plain.extend(text.cloned());
        }
        if let Some(e) = &self.error {
            let t = e.render();
            html.push_str(&format!(
                "<pre style=\"color:#b00\">{}</pre>\n",
                html_escape(&t)
            ));
            plain.push(t);
            rich = true;
        }
        let mut out = MimeBundle::new();
        if !plain.is_empty() {
            out.insert("text/plain".into(), plain.join("\n"));
        }
        if rich {
            out.insert("text/html".into(), html);
        }
        if let Some(p) = png {
            out.insert("image/png".into(), p.clone());
        }
        out
    }
}

/// A [`Session`] with a collecting sink, for notebooks.
///
/// The session sits behind a trait object, and every call that touches it goes through that
/// object, on purpose. evcxr_jupyter links each cell's crate statically with its own copy of gan
/// and Rhai, so a later cell calling `nb.run(…)` would otherwise run *its* copy's code on the
/// session an earlier cell's copy built. That is not harmless: Rhai's `thin-vec` tells an empty
/// vector by the address of a `static`, which differs between copies, so one copy can free the
/// other's static (the kernel segfaulted in `free()` in the first `nb.run` cell). A vtable is filled
/// in by the copy that builds the object, so calls through it run that copy's code from any
/// cell. What crosses the boundary is plain data: text, MIME bundles, Rhai values, a [`Gan`].
pub struct Notebook {
    core: Box<dyn NotebookCore>,
}

/// What a [`Notebook`] asks of its session (see there why this is a trait object).
trait NotebookCore: Send {
    fn run(&mut self, code: &str) -> Cell;
    fn var(&self, name: &str) -> Option<Dynamic>;
    fn set_var(&mut self, name: &str, value: Dynamic);
    fn adopt_gan(&mut self, name: &str, gan: Gan) -> Result<GanHandle, String>;
    fn help(&self, name: &str) -> Option<String>;
    fn var_names(&self) -> Vec<String>;
}

struct CollectingSession {
    session: Session,
    collector: Arc<Collector>,
}

impl NotebookCore for CollectingSession {
    fn run(&mut self, code: &str) -> Cell {
        let r = self.session.eval(code);
        let outputs = fold_updates(self.collector.take());
        match r {
            Ok(v) => Cell {
                outputs,
                value: self.session.value_bundle(&v),
                error: None,
            },
            Err(e) => Cell {
                outputs,
                value: None,
                error: Some(e),
            },
        }
    }

    fn var(&self, name: &str) -> Option<Dynamic> {
        self.session.var::<Dynamic>(name)
    }

    fn set_var(&mut self, name: &str, value: Dynamic) {
        self.session.set_var(name, value);
    }

    fn adopt_gan(&mut self, name: &str, gan: Gan) -> Result<GanHandle, String> {
        self.session.adopt_gan(name, gan)
    }

    fn help(&self, name: &str) -> Option<String> {
        self.session.help(name)
    }

    fn var_names(&self) -> Vec<String> {
        self.session.var_names()
    }
}

impl Notebook {
    /// A notebook session writing files into `run_dir` (or nowhere), reading MNIST from
    /// `GAN_DATA_DIR` (else `./data/mnist`).
    pub fn new(run_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let config = HostConfig {
            run_dir,
            data_dir: crate::data::resolve_data_dir(None),
            recipe_name: "notebook".into(),
            ..Default::default()
        };
        Self::with_config(config)
    }

    pub fn with_config(config: HostConfig) -> anyhow::Result<Self> {
        let collector = Collector::new();
        let session = Session::new(config, collector.sink())?;
        Ok(Notebook {
            core: Box::new(CollectingSession { session, collector }),
        })
    }

    /// Runs a cell and returns what it showed.
    pub fn run(&mut self, code: &str) -> Cell {
        self.core.run(code)
    }

    /// The script variable `name` as a Rust value of type `T` (`None` when there is no such
    /// variable or it holds another type), e.g. a [`Samples`](crate::script::values::Samples)
    /// or a [`GanHandle`].
    pub fn var<T: Clone + Send + Sync + 'static>(&self, name: &str) -> Option<T> {
        self.core.var(name)?.try_cast::<T>()
    }

    /// Puts a Rust value into the session as the variable `name`, for the cells that follow.
    pub fn set_var<T: Clone + Send + Sync + 'static>(&mut self, name: &str, value: T) {
        self.core.set_var(name, Dynamic::from(value));
    }

    /// Hands a GAN built in Rust (e.g. a compile-time-shaped
    /// [`TypedGan`](crate::engine::typed::TypedGan)'s `gan`) to the scripts as the variable
    /// `name` (see [`Session::adopt_gan`]).
    pub fn adopt_gan(&mut self, name: &str, gan: Gan) -> Result<GanHandle, String> {
        self.core.adopt_gan(name, gan)
    }

    /// Help on a DSL function or a variable (what `:help` shows in the REPL).
    pub fn help(&self, name: &str) -> Option<String> {
        self.core.help(name)
    }

    /// Names of the variables in scope.
    pub fn var_names(&self) -> Vec<String> {
        self.core.var_names()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::values::{GanHandle, Samples};
    use crate::session::MetricsTable;

    #[test]
    fn cells_return_outputs_values_and_errors() {
        let mut nb = Notebook::new(None).unwrap();
        let c = nb.run("print(\"hi\"); 6 * 7");
        assert_eq!(c.stdout(), "hi\n");
        assert_eq!(c.text(), "42");
        assert!(c.error.is_none());

        let c = nb.run(
            "seed(3);\nlet data = gaussian_1d(4.0, 0.5, 1000);\n\
             let toy = gan(stack(1).dense(8).tanh().dense(1), stack(1).dense(8).relu().dense(1));\n\
             toy.fit(data, #{ epochs: 2, batch: 100 });\nlet z = toy.sample(5);",
        );
        assert!(c.error.is_none(), "{:?}", c.error);
        // one progress display folded to its last state, then the metrics table
        let displays: Vec<_> = c.outputs.iter().filter_map(Output::data).collect();
        assert_eq!(displays.len(), 2, "{:#?}", c.outputs);
        assert!(displays[0]["text/plain"].contains("trained epochs 1–2"));
        assert!(displays[1]["text/html"].contains("<table"));

        let s: Samples = nb.var("z").unwrap();
        assert_eq!(s.rows(), 5);
        assert!(s.grid_png().is_none(), "toy rows are not images");
        let g: GanHandle = nb.var("toy").unwrap();
        let t = MetricsTable::new("toy", g.lock().history.clone());
        assert_eq!(t.rows.len(), 2);
        assert!(nb.var::<Samples>("toy").is_none());

        let c = nb.run("let a = 1;\nlet b = stack(0);");
        let e = c.error.unwrap();
        assert_eq!((e.line, e.col), (Some(2), Some(9)));
        assert!(nb.help("stack").unwrap().contains("stack(inputs: int)"));
        assert!(nb.help("toy").unwrap().starts_with("toy: Gan"));

        // a Rust value in, for the cells that follow
        nb.set_var("k", 21_i64);
        assert_eq!(nb.run("k * 2").text(), "42");
        assert!(nb.var_names().iter().any(|n| n == "k"));
        assert_eq!(nb.var::<i64>("k"), Some(21));
    }
}
