//! Line editing: Tab completion of DSL names, `:` commands and the session's own names, and the
//! Ctrl-C probe that tells an empty prompt from a line being typed.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rustyline::completion::Completer;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Cmd, ConditionalEventHandler, Context, Event, EventContext, Helper, RepeatCount};

use gan::session;

/// Names the completer offers besides the DSL's, refreshed after each cell.
#[derive(Default)]
pub(super) struct Names {
    pub(super) vars: Vec<String>,
    pub(super) fns: Vec<String>,
}

pub(super) struct ReplHelper {
    pub(super) names: Arc<Mutex<Names>>,
}

impl Completer for ReplHelper {
    type Candidate = String;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        if line.trim_start().starts_with(':') {
            return Ok(complete_command(line, pos));
        }
        let n = self.names.lock().unwrap_or_else(|e| e.into_inner());
        Ok(session::complete_with(line, pos, &n.vars, &n.fns))
    }
}

/// `:he` → `:help`; after `:help `, DSL names.
pub(super) fn complete_command(line: &str, pos: usize) -> (usize, Vec<String>) {
    let head = &line[..pos];
    if let Some(rest) = head.trim_start().strip_prefix(":help ") {
        let start = pos - rest.trim_start().len();
        let word = rest.trim_start();
        let mut v: Vec<String> = gan::script::docs::DOCS
            .iter()
            .map(|d| d.name.to_string())
            .filter(|n| n.starts_with(word))
            .collect();
        v.dedup();
        return (start, v);
    }
    let start = head.len() - head.trim_start().len();
    let word = head.trim_start();
    let v = [":help", ":load", ":vars", ":out", ":quit"]
        .iter()
        .filter(|c| c.starts_with(word))
        .map(|c| c.to_string())
        .collect();
    (start, v)
}

impl Hinter for ReplHelper {
    type Hint = String;
}
impl Highlighter for ReplHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        Cow::Borrowed(prompt)
    }
}
impl Validator for ReplHelper {}
impl Helper for ReplHelper {}

/// Records whether the line was empty when Ctrl-C was pressed (then lets rustyline interrupt).
pub(super) struct CtrlCProbe {
    pub(super) line_empty: Arc<AtomicBool>,
}

impl ConditionalEventHandler for CtrlCProbe {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext) -> Option<Cmd> {
        self.line_empty
            .store(ctx.line().is_empty(), Ordering::Relaxed);
        None
    }
}
