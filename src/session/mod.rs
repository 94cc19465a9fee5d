//! A session: one Rhai engine, a persistent scope and the functions defined so far. Front ends
//! (the `gan run` command, the REPL, Jupyter kernels) feed it text and render what it returns
//! through their [`Sink`]: text plus images, the same outputs everywhere.

use std::path::Path;
use std::sync::Arc;

use rhai::{Dynamic, Engine, Scope, AST};

use crate::script::{self, Host, HostConfig, ScriptError, Sink};

pub mod clock;
pub mod interactive;
pub mod notebook;
pub mod output;
pub mod panic_guard;

pub use interactive::{complete_with, is_complete, overview, Completeness};
pub use notebook::{Cell, Notebook};
pub use output::{Collector, MetricsTable, MimeBundle, Output, OutputSink};
pub use panic_guard::contain;

/// An interactive or batch session over the DSL.
pub struct Session {
    pub host: Arc<Host>,
    engine: Engine,
    scope: Scope<'static>,
    /// Functions defined by earlier cells.
    functions: AST,
    cells: usize,
}

impl Session {
    pub fn new(config: HostConfig, sink: Arc<dyn Sink>) -> anyhow::Result<Self> {
        let host = Host::new(config, sink)?;
        host.set_engine_path(engine_path_from_env());
        let engine = script::build_engine(&host);
        Ok(Session {
            host,
            engine,
            scope: Scope::new(),
            functions: AST::empty(),
            cells: 0,
        })
    }

    /// Evaluates one cell; variables and functions persist for the next. Returns the value of
    /// the cell's last expression.
    pub fn eval(&mut self, text: &str) -> Result<Dynamic, ScriptError> {
        self.cells += 1;
        let name = format!("cell[{}]", self.cells);
        self.eval_named(&name, text)
    }

    /// Like [`Session::eval`], with errors naming `source_name` (a file name).
    pub fn eval_named(&mut self, source_name: &str, text: &str) -> Result<Dynamic, ScriptError> {
        self.host.clear_stop();
        let ast = script::compile(&self.engine, &self.scope, source_name, text)?;
        // Earlier cells' functions are callable; this cell's functions are kept for later ones.
        let merged = self.functions.merge(&ast);
        let before = self.scope.len();
        let _budget = script::budget::enter(&self.host);
        self.host.set_source(source_name, text);
        let (engine, scope) = (&self.engine, &mut self.scope);
        let result = match contain(|| engine.eval_ast_with_scope::<Dynamic>(scope, &merged)) {
            Ok(r) => r,
            Err(panic) => {
                // A panic may have left the cell's blocks half unwound in the scope: keep only
                // what earlier cells defined. Their values are whole (a GAN's lock recovers
                // from poisoning), and the functions of this cell are not kept.
                self.scope.rewind(before);
                return Err(ScriptError::internal(&panic, source_name));
            }
        };
        let mut defs = ast;
        defs.clear_statements();
        self.functions = self.functions.merge(&defs);
        result.map_err(|e| ScriptError::from_eval(&e, source_name, text).stopped_by(&self.host))
    }

    /// Runs a recipe file as one cell named after the file.
    pub fn run_file(&mut self, path: &Path) -> anyhow::Result<Dynamic> {
        let text = read_recipe(path)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let out = self.eval_named(&name, &text)?;
        for p in self.host.unused_params() {
            self.host.sink.text(&format!(
                "warning: --set {p}=… was not used: the recipe has no param(\"{p}\", …)"
            ));
        }
        Ok(out)
    }

    /// Names of the variables in scope with a short rendering of each value.
    pub fn vars(&self) -> Vec<(String, String)> {
        self.scope
            .iter()
            .map(|(n, _, v)| (n.to_string(), render(&v)))
            .collect()
    }

    /// Asks a running cell to stop at the next step boundary (or script operation).
    pub fn interrupt_handle(&self) -> Arc<std::sync::atomic::AtomicBool> {
        self.host.run_state.stop.flag()
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// The engine path a user chose for this process: `GAN_ENGINE=reference` selects dfdx's autograd
/// (the engine's reference), anything else the fast path. Read here, once per session, and handed
/// down as a value; the engine itself never reads the environment.
pub fn engine_path_from_env() -> crate::engine::EnginePath {
    crate::engine::EnginePath::from_setting(std::env::var("GAN_ENGINE").ok().as_deref())
}

/// Reads a recipe, refusing non-UTF-8 text with the byte offset of the first bad byte.
pub fn read_recipe(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("reading recipe {}: {e}", path.display()))?;
    recipe_text(path, bytes)
}

/// The recipe `path` from a run directory (`gan resume`): as [`read_recipe`], but only a regular
/// file of at most [`MAX_RECIPE_BYTES`] (a planted FIFO or device would hang or exhaust it).
pub fn read_run_recipe(path: &Path) -> anyhow::Result<String> {
    recipe_text(path, crate::safe_fs::read_regular(path, MAX_RECIPE_BYTES)?)
}

/// The largest recipe a run directory may hold.
pub const MAX_RECIPE_BYTES: u64 = 16 << 20;

/// `bytes` read from `path` as recipe text; an error names the line of the first bad byte.
fn recipe_text(path: &Path, bytes: Vec<u8>) -> anyhow::Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        anyhow::anyhow!(
            "{}:{line}: the recipe is not valid UTF-8 (bad byte at offset {at})",
            path.display()
        )
    })
}

/// A value as a user wants to see it (Rhai's own `Display` of custom types prints Rust paths).
pub fn render(v: &Dynamic) -> String {
    let t = v.type_name();
    if t.starts_with("gan::") || t.contains("::values::") {
        // our types register `to_string`; but Dynamic's Display cannot call it: describe by type
        return match t.rsplit("::").next() {
            Some(short) => format!("<{short}>"),
            None => t.to_string(),
        };
    }
    v.to_string()
}
