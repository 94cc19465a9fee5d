//! What interactive front ends ask a session besides running cells: is this input complete,
//! what completes the word at the cursor, what is this name (help / Jupyter inspect), and how
//! to show a cell's value (text, or a rich MIME bundle). The Rhai-specific parts live in
//! [`crate::script::docs`]; this is the session's face to them.

use rhai::{Dynamic, Scope};

use super::output::{png_bundle, text_bundle, MetricsTable, MimeBundle};
use super::Session;
use crate::script::docs;
use crate::script::values::Samples;

pub use crate::script::docs::Completeness;

impl Session {
    /// Whether `text` can run as it is, or needs more lines (parsed with Rhai's parser).
    pub fn is_complete(&self, text: &str) -> Completeness {
        docs::is_complete(text)
    }

    /// Completion candidates at byte offset `cursor` of `text`: the start of the word being
    /// completed and the names that fit (DSL functions, methods after a `.`, variables in
    /// scope, functions defined in earlier cells, keywords).
    pub fn complete(&self, text: &str, cursor: usize) -> (usize, Vec<String>) {
        docs::complete(text, cursor, &self.var_names(), &self.function_names())
    }

    /// Names of the variables in scope.
    pub fn var_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.scope.iter().map(|(n, _, _)| n.to_string()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// Names of the functions defined by earlier cells.
    pub fn function_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .functions
            .iter_functions()
            .map(|f| f.name.to_string())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Help for a name: a DSL function's signatures and docs, a user function's signature and
    /// doc comments, or a variable's type and value. `None` for an unknown name.
    pub fn help(&self, name: &str) -> Option<String> {
        let name = name.trim();
        if let Some(h) = docs::help(name) {
            return Some(h);
        }
        let user: Vec<String> = self
            .functions
            .iter_functions()
            .filter(|f| f.name == name)
            .map(|f| {
                let mut s = format!("fn {}({})", f.name, f.params.join(", "));
                for c in f.comments.iter() {
                    s.push_str("\n    ");
                    s.push_str(
                        c.trim_start_matches("///")
                            .trim_start_matches("/**")
                            .trim_end_matches("*/")
                            .trim(),
                    );
                }
                s
            })
            .collect();
        if !user.is_empty() {
            return Some(user.join("\n") + "\n    (defined in this session)\n");
        }
        let v = self.scope.get_value::<Dynamic>(name)?;
        Some(format!(
            "{name}: {}\n    {}\n",
            short_type(v.type_name()),
            self.display(&v)
        ))
    }

    /// Help for the name at byte offset `cursor` (Jupyter's inspect, Shift-Tab).
    pub fn inspect(&self, text: &str, cursor: usize) -> Option<String> {
        let (_, _, word) = docs::word_at(text, cursor)?;
        self.help(word)
    }

    /// A value as text: DSL values through their `to_string` (`GAN `gan`: G stack(…)…`),
    /// everything else as Rhai shows it.
    pub fn display(&self, v: &Dynamic) -> String {
        if v.is_unit() {
            return String::new();
        }
        if v.is_string() || v.is_int() || v.is_float() || v.is_bool() || v.is_char() {
            return v.to_string();
        }
        let mut scope = Scope::new();
        scope.push_dynamic("__v", v.clone());
        match self
            .engine
            .eval_with_scope::<String>(&mut scope, "to_string(__v)")
        {
            Ok(s) if !s.starts_with("gan::") => s,
            _ => super::render(v),
        }
    }

    /// How a notebook shows a cell's value: `None` for `()`; image rows as a PNG grid; an
    /// array of epoch-metrics maps (`gan.history`) as a table; text otherwise.
    pub fn value_bundle(&self, v: &Dynamic) -> Option<MimeBundle> {
        if v.is_unit() {
            return None;
        }
        let text = self.display(v);
        if let Some(s) = v.clone().try_cast::<Samples>() {
            if let Some(png) = s.grid_png() {
                return Some(png_bundle(&png, &text));
            }
        }
        if let Some(rows) = history_rows(v) {
            let t = MetricsTable::new("", rows);
            let mut b = t.bundle();
            b.insert("text/plain".into(), text);
            return Some(b);
        }
        Some(text_bundle(&text))
    }
}

/// `gan.history` (an array of metrics maps) back as metrics rows.
fn history_rows(v: &Dynamic) -> Option<Vec<crate::engine::EpochMetrics>> {
    let arr = v.read_lock::<rhai::Array>()?;
    if arr.is_empty() || arr.len() > 100_000 {
        return None;
    }
    arr.iter()
        .map(|e| {
            let m = e.read_lock::<rhai::Map>()?;
            if !m.contains_key("d_loss") || !m.contains_key("epoch") {
                return None;
            }
            let json: serde_json::Value = rhai::serde::from_dynamic(e).ok()?;
            serde_json::from_value(json).ok()
        })
        .collect()
}

fn short_type(t: &str) -> &str {
    match t {
        "gan::script::values::GanHandle" => "Gan",
        "gan::script::values::StackBuilder" => "Stack",
        "gan::script::values::DataHandle" => "Dataset",
        "gan::script::values::Samples" => "Samples",
        "gan::script::values::SchedVal" => "Schedule",
        "gan::script::values::OptVal" => "Optimizer",
        other => other.rsplit("::").next().unwrap_or(other),
    }
}

/// [`Session::is_complete`] without a session (the input's syntax is all that matters), for
/// line editors that check input while the session is busy elsewhere.
pub fn is_complete(text: &str) -> Completeness {
    docs::is_complete(text)
}

/// [`Session::complete`] from a snapshot of the session's names (see [`Session::var_names`],
/// [`Session::function_names`]), for line editors that cannot borrow the session.
pub fn complete_with(
    text: &str,
    cursor: usize,
    variables: &[String],
    functions: &[String],
) -> (usize, Vec<String>) {
    docs::complete(text, cursor, variables, functions)
}

/// `:help` without a name: every DSL name by topic.
pub fn overview() -> String {
    docs::overview()
}

impl Session {
    /// Each variable in scope: name, type and the value as [`Session::display`] shows it.
    pub fn var_details(&self) -> Vec<(String, String, String)> {
        let mut seen = std::collections::BTreeSet::new();
        let mut out: Vec<(String, String, String)> = Vec::new();
        // later entries shadow earlier ones: walk backwards, keep the first of each name
        let all: Vec<(String, Dynamic)> = self
            .scope
            .iter()
            .map(|(n, _, v)| (n.to_string(), v))
            .collect();
        for (n, v) in all.into_iter().rev() {
            if seen.insert(n.clone()) {
                out.push((n, short_type(v.type_name()).to_string(), self.display(&v)));
            }
        }
        out.reverse();
        out
    }
}

impl Session {
    /// A variable of the session as a Rust value (`Samples`, `GanHandle`, `i64`, …), if it
    /// exists and has that type: how Rust front ends (evcxr cells) pick up what a script made.
    pub fn var<T: Clone + Send + Sync + 'static>(&self, name: &str) -> Option<T> {
        self.scope.get_value::<T>(name)
    }

    /// Puts a Rust value into the session as the variable `name` (replacing one of that name),
    /// for the cells that follow.
    pub fn set_var<T: Clone + Send + Sync + 'static>(&mut self, name: &str, value: T) {
        self.scope.set_value(name.to_string(), value);
    }

    /// Hands a GAN built in Rust (e.g. a compile-time-shaped [`crate::engine::typed::TypedGan`]'s
    /// `gan`) to the scripts as the variable `name`, a `Gan` they can `fit`, `sample` and plot
    /// like one made by `gan(…)`. Its files are named `name`, so the name follows the DSL's
    /// rule for GAN names.
    pub fn adopt_gan(
        &mut self,
        name: &str,
        gan: crate::engine::Gan,
    ) -> Result<crate::script::values::GanHandle, String> {
        use crate::script::values::{GanCell, GanHandle};
        let name = self.host.claim_gan_name(Some(name))?;
        let handle = GanHandle(std::sync::Arc::new(std::sync::Mutex::new(GanCell {
            name: name.clone(),
            gan,
            // No script declared its layers, so shape errors have no positions to point at.
            g_positions: Vec::new(),
            d_positions: Vec::new(),
            history: Vec::new(),
            image: None,
            last_opts: None,
        })));
        self.set_var(&name, handle.clone());
        Ok(handle)
    }
}
