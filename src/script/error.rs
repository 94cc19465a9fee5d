//! Script errors with positions, rendered with the source line and a caret.

use rhai::{EvalAltResult, ParseError, Position};

use super::host::{Host, Stop};
use super::site::{located_of, LocatedError};
use crate::error::TrainError;

/// The token Rhai's progress hook returns to stop a script: why, and the message to show.
#[derive(Clone, Debug)]
pub struct StopToken {
    pub stop: Stop,
    pub message: String,
}

/// An error from a script: message, where (1-based line and column, if known), and the source line.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ScriptError {
    pub message: String,
    /// Name of the script (file name or `cell[3]`).
    pub source_name: String,
    pub line: Option<usize>,
    pub col: Option<usize>,
    pub source_line: Option<String>,
    /// The script was stopped by an interrupt (Ctrl-C, Jupyter interrupt).
    pub interrupted: bool,
    /// The host stopped the script (interrupt, `--timeout`, memory limit), rather than the
    /// script failing by itself.
    pub stop: Option<Stop>,
    /// gan itself failed (a panic below the session, caught there): a bug, not the script's fault.
    pub internal: bool,
}

impl ScriptError {
    pub fn from_eval(e: &EvalAltResult, source_name: &str, text: &str) -> Self {
        let stop = token_of(e).map(|t| t.stop);
        let interrupted = stop == Some(Stop::Interrupt)
            || matches!(e, EvalAltResult::ErrorRuntime(d, _)
                if d.clone().try_cast::<TrainError>().is_some_and(|t| t.is_interrupt()));
        let mut s = match located_of(e) {
            Some(l) => Self::located(&l, e, source_name),
            None => Self::at(message_of(e), e.position(), source_name, text, interrupted),
        };
        s.stop = stop;
        s
    }

    /// An error reported where the fault is (`l.site`, possibly in an earlier cell), naming the
    /// call that found it.
    fn located(l: &LocatedError, e: &EvalAltResult, source_name: &str) -> Self {
        let found_by = match (e.position().line(), e.position().position()) {
            (Some(line), Some(col)) => {
                format!(" (found by the call at {source_name}:{line}:{col})")
            }
            _ => String::new(),
        };
        let (line, col) = match l.site.line_col() {
            Some((line, col)) => (Some(line), Some(col)),
            None => (None, None),
        };
        ScriptError {
            message: format!("{}{found_by}", message_of(e)),
            source_name: l.site.source.name.clone(),
            line,
            col,
            source_line: l.site.source_line(),
            interrupted: false,
            stop: None,
            internal: false,
        }
    }

    /// Records why `host` stopped the script, when it did: a training loop stopped by the
    /// `--timeout` returns an ordinary error, whose cause only the host knows.
    pub fn stopped_by(mut self, host: &Host) -> Self {
        if self.stop.is_none() {
            self.stop = host.stop_cause();
        }
        self.interrupted |= self.stop == Some(Stop::Interrupt);
        self
    }

    /// A panic caught at the session boundary while running `source_name`.
    pub fn internal(panic: &str, source_name: &str) -> Self {
        let mut s = Self::at(
            format!(
                "internal error in gan (a bug; please report it): {panic}. The session goes on; \
                 the variables this cell defined are gone"
            ),
            Position::NONE,
            source_name,
            "",
            false,
        );
        s.internal = true;
        s
    }

    pub fn from_parse(e: &ParseError, source_name: &str, text: &str) -> Self {
        use rhai::ParseErrorType as P;
        // Strict variables make Rhai report these while parsing, but the text is well formed:
        // calling them syntax errors sent users looking for a typo in the grammar.
        let message = match e.err_type() {
            P::VariableUndefined(v) => format!("undefined variable `{v}`"),
            P::ModuleUndefined(m) => format!("undefined module `{m}`"),
            other => format!("syntax error: {other}"),
        };
        Self::at(message, e.position(), source_name, text, false)
    }

    fn at(
        message: String,
        pos: Position,
        source_name: &str,
        text: &str,
        interrupted: bool,
    ) -> Self {
        let (line, col) = (pos.line(), pos.position());
        let source_line = line
            .and_then(|l| text.lines().nth(l - 1))
            .map(str::to_string);
        ScriptError {
            message,
            source_name: source_name.into(),
            line,
            col,
            source_line,
            interrupted,
            stop: None,
            internal: false,
        }
    }

    /// `recipe.rhai:12:5: message` then the line and a caret under the column.
    pub fn render(&self) -> String {
        let mut s = match (self.line, self.col) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}: {}", self.source_name, self.message),
            (Some(l), None) => format!("{}:{l}: {}", self.source_name, self.message),
            _ => format!("{}: {}", self.source_name, self.message),
        };
        if let (Some(src), Some(l)) = (&self.source_line, self.line) {
            let gutter = format!("{l:>4} | ");
            s.push_str(&format!("\n{gutter}{src}"));
            if let Some(c) = self.col {
                let pad: String = src
                    .chars()
                    .take(c.saturating_sub(1))
                    .map(|ch| if ch == '\t' { '\t' } else { ' ' })
                    .collect();
                s.push_str(&format!("\n{}{pad}^", " ".repeat(gutter.len())));
            }
        }
        s
    }
}

/// The stop token of a script the host stopped, looking inside function-call layers.
fn token_of(e: &EvalAltResult) -> Option<StopToken> {
    match e {
        EvalAltResult::ErrorTerminated(token, _) => token.clone().try_cast::<StopToken>(),
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => token_of(inner),
        EvalAltResult::ErrorInModule(_, inner, _) => token_of(inner),
        _ => None,
    }
}

/// The innermost message: Rhai wraps errors from functions in "in call to function …" layers.
fn message_of(e: &EvalAltResult) -> String {
    match e {
        EvalAltResult::ErrorInFunctionCall(name, _, inner, _) => {
            // where inside the function it failed (the outer position is the call site)
            let at = match (inner.position().line(), inner.position().position()) {
                (Some(l), Some(c)) => format!(" at {l}:{c}"),
                _ => String::new(),
            };
            if name.starts_with("anon$") {
                format!("in a closure: {}{at}", message_of(inner))
            } else {
                format!("in function `{name}`: {}{at}", message_of(inner))
            }
        }
        EvalAltResult::ErrorRuntime(d, _) => {
            if let Some(l) = d.clone().try_cast::<LocatedError>() {
                l.message
            } else if let Some(t) = d.clone().try_cast::<TrainError>() {
                t.to_string()
            } else {
                d.to_string()
            }
        }
        EvalAltResult::ErrorTerminated(token, _) => match token.clone().try_cast::<StopToken>() {
            Some(t) => t.message,
            None => "interrupted".into(),
        },
        EvalAltResult::ErrorDataRace(what, _) => format!(
            "a value is used while it is being called on ({what}): a closure passed to `x.method(…)` must not capture `x`. \
             Inside fit's on_epoch, use `this` for the GAN being trained, or call `fit(gan, data, #{{…}})` as a function"
        ),
        other => {
            // Rhai appends " (line L, position C)"; we print positions ourselves.
            let s = other.to_string();
            match s.rfind(" (line ") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}
