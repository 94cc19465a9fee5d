//! Where in which cell a script called something, so that an error found later (a shape
//! checked by `gan(…)`, possibly in a later REPL or notebook cell) can point back at it.

use std::sync::Arc;

use rhai::{Dynamic, EvalAltResult, Position};

use super::options::RhaiResult;

/// One evaluated text: a recipe file or a REPL/notebook cell.
#[derive(Debug, PartialEq)]
pub struct Source {
    /// `recipe.rhai`, `cell[3]`, …
    pub name: String,
    pub text: String,
}

/// A position inside one [`Source`].
#[derive(Clone, Debug)]
pub struct Site {
    pub source: Arc<Source>,
    pub pos: Position,
}

impl Site {
    pub fn line_col(&self) -> Option<(usize, usize)> {
        Some((self.pos.line()?, self.pos.position().unwrap_or(1)))
    }

    /// `4:6` inside the current source, `cell[2]:4:6` inside another one.
    pub fn describe(&self, current: &str) -> String {
        let lc = match self.line_col() {
            Some((l, c)) => format!("{l}:{c}"),
            None => return self.source.name.clone(),
        };
        if self.source.name == current {
            lc
        } else {
            format!("{}:{lc}", self.source.name)
        }
    }

    /// The text of the line this site is on.
    pub fn source_line(&self) -> Option<String> {
        let l = self.pos.line()?;
        self.source.text.lines().nth(l - 1).map(str::to_string)
    }
}

/// An error that belongs at `site` rather than at the call that found it. Raised as a Rhai
/// runtime error carrying this value; [`super::ScriptError::from_eval`] reports it at `site`.
#[derive(Clone, Debug)]
pub struct LocatedError {
    pub message: String,
    pub site: Site,
}

impl std::fmt::Display for LocatedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Fails with `message`, to be reported at `site`.
pub fn err_at<T>(message: impl Into<String>, site: &Site) -> RhaiResult<T> {
    let e = LocatedError {
        message: message.into(),
        site: site.clone(),
    };
    Err(EvalAltResult::ErrorRuntime(Dynamic::from(e), Position::NONE).into())
}

/// The located error inside `e`, looking through Rhai's function-call layers.
pub fn located_of(e: &EvalAltResult) -> Option<LocatedError> {
    match e {
        EvalAltResult::ErrorRuntime(d, _) => d.clone().try_cast::<LocatedError>(),
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => located_of(inner),
        EvalAltResult::ErrorInModule(_, inner, _) => located_of(inner),
        _ => None,
    }
}
