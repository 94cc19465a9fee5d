//! The DSL's reference: name, signature and a one-paragraph doc of every function, method and
//! property a recipe can call, plus the Rhai-specific helpers interactive front ends need:
//! whether input is complete ([`is_complete`]), what to complete at a cursor ([`complete`]) and
//! the word under a cursor ([`word_at`]). `:help` in the REPL, tab completion and Jupyter's
//! inspect/complete all read from here (through the session).
//!
//! A unit test checks that every function registered on the DSL engine has an entry: a new DSL
//! function needs a line in [`DOCS`] (`table.rs`).

mod input;
mod table;
#[cfg(test)]
mod tests;

pub use input::{complete, is_complete, word_at, Completeness};
pub use table::{FnDoc, Kind, DOCS, KEYWORDS};

/// Entries for `name` (several for overloads; methods and functions alike).
pub fn lookup(name: &str) -> Vec<&'static FnDoc> {
    DOCS.iter().filter(|d| d.name == name).collect()
}

/// `signature` lines then the docs, for `:help name` and Jupyter's inspect. `None` when the name
/// is not a DSL name.
pub fn help(name: &str) -> Option<String> {
    let entries = lookup(name);
    if entries.is_empty() {
        return None;
    }
    let mut out = String::new();
    for (i, d) in entries.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(d.signature);
        out.push_str("\n    ");
        out.push_str(d.doc);
        out.push('\n');
    }
    Some(out)
}

/// The topics of [`DOCS`] in the order they are shown, with a title for the generated reference.
pub const TOPICS: &[(&str, &str)] = &[
    ("stacks", "Stacks"),
    ("data", "Data"),
    ("training", "Games, optimizers and training"),
    ("output", "Outputs"),
    ("paper", "The paper's experiments and diagnostics"),
    ("misc", "Any value"),
];

/// Every DSL name by topic, for `:help` without an argument.
pub fn overview() -> String {
    let mut out = String::new();
    for &(topic, _) in TOPICS {
        let mut names: Vec<String> = Vec::new();
        for d in DOCS.iter().filter(|d| d.topic == topic) {
            let n = match d.kind {
                Kind::Function => format!("{}()", d.name),
                Kind::Method => format!(".{}()", d.name),
                Kind::Property => format!(".{}", d.name),
            };
            if !names.contains(&n) {
                names.push(n);
            }
        }
        out.push_str(&format!("{topic:>9}: "));
        let mut width = 11;
        for (i, n) in names.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
                width += 2;
            }
            if width + n.len() > 96 {
                out.push_str("\n           ");
                width = 11;
            }
            out.push_str(n);
            width += n.len();
        }
        out.push('\n');
    }
    out
}

/// Every distinct DSL name callable as a function: plain functions and methods (in Rhai,
/// `g.sample(10)` is also `sample(g, 10)`); not properties.
pub fn function_names() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = DOCS
        .iter()
        .filter(|d| d.kind != Kind::Property)
        .map(|d| d.name)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Every distinct method and property name (what may follow a `.`).
pub fn member_names() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = DOCS
        .iter()
        .filter(|d| d.kind != Kind::Function)
        .map(|d| d.name)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}
