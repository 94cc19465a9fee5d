//! Reading input as it is typed: whether it is complete, the word under the cursor, and what
//! to complete there.

use std::sync::OnceLock;

use rhai::{Engine, ParseErrorType};

use super::{function_names, member_names, KEYWORDS};

/// Whether a piece of input is ready to run (Jupyter's `is_complete`; the REPL's continuation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completeness {
    /// Parses (or fails in a way more input cannot fix): run it.
    Complete,
    /// Ends inside a block, call, string or expression: read another line.
    Incomplete,
    /// A syntax error that more input cannot fix.
    Invalid,
}

fn parse_engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut e = Engine::new_raw();
        e.set_max_expr_depths(
            crate::script::limits::EXPR_DEPTH,
            crate::script::limits::FN_EXPR_DEPTH,
        );
        e
    })
}

/// Decides with Rhai's own parser whether `text` is complete: input that fails to parse only
/// because it ended too early (an open `{`, `(`, `[`, string or an operator waiting for its
/// operand) is [`Completeness::Incomplete`].
pub fn is_complete(text: &str) -> Completeness {
    if text.trim().is_empty() {
        return Completeness::Complete;
    }
    let engine = parse_engine();
    let err = match engine.compile(text) {
        // Rhai accepts an unterminated block comment at the end of input
        Ok(_) if open_delimiters(text) > 0 => return Completeness::Incomplete,
        Ok(_) => return Completeness::Complete,
        Err(e) => e,
    };
    if ends_early(&err, text) {
        return Completeness::Incomplete;
    }
    // An unfinished string or block comment, or a trailing binary operator / comma: the
    // parser reports those at the end of input too, but some as other errors; retry with a
    // closing sentinel appended to tell "needs more" from "wrong".
    if open_delimiters(text) > 0 {
        return Completeness::Incomplete;
    }
    let trimmed = text.trim_end();
    if trimmed.ends_with([
        '+', '-', '*', '/', '%', '=', '<', '>', '&', '|', '^', ',', '.', '!', '\\',
    ]) && !trimmed.ends_with("++")
        && !trimmed.ends_with("--")
    {
        return Completeness::Incomplete;
    }
    Completeness::Invalid
}

/// The parse error sits at the very end of the input (or has no position), and says that
/// something was missing rather than wrong.
fn ends_early(err: &rhai::ParseError, text: &str) -> bool {
    let at_end = match (err.position().line(), err.position().position()) {
        (None, _) => true,
        (Some(line), col) => {
            let lines: Vec<&str> = text.lines().collect();
            let last = lines.len().max(1);
            let trailing_nl = text.ends_with('\n');
            if line > last {
                true
            } else if line == last {
                let len = lines.last().map(|l| l.chars().count()).unwrap_or(0);
                trailing_nl || col.is_none_or(|c| c > len)
            } else {
                // Errors on an earlier line can still be end-of-input if only blank lines follow.
                lines[line..].iter().all(|l| l.trim().is_empty())
                    && col.is_none_or(|c| c > lines[line - 1].chars().count())
            }
        }
    };
    match err.err_type() {
        ParseErrorType::UnexpectedEOF => true,
        ParseErrorType::MissingToken(..) | ParseErrorType::MissingSymbol(..) => at_end,
        ParseErrorType::BadInput(lex) => {
            let s = lex.to_string().to_lowercase();
            s.contains("unterminated") || s.contains("open") && at_end
        }
        _ => at_end && open_delimiters(text) > 0,
    }
}

/// `({[` opened and not closed, outside strings and comments (a count; negative when closed
/// too often).
fn open_delimiters(text: &str) -> i64 {
    let mut depth = 0i64;
    let mut chars = text.chars().peekable();
    let mut in_str: Option<char> = None;
    while let Some(c) = chars.next() {
        if let Some(q) = in_str {
            if c == '\\' {
                chars.next();
            } else if c == q {
                in_str = None;
            }
            continue;
        }
        match c {
            '"' | '`' | '\'' => in_str = Some(c),
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                let mut closed = false;
                for c in chars.by_ref() {
                    if prev == '*' && c == '/' {
                        closed = true;
                        break;
                    }
                    prev = c;
                }
                if !closed {
                    return depth + 1;
                }
            }
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth -= 1,
            _ => {}
        }
    }
    if in_str.is_some() {
        depth + 1
    } else {
        depth
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The identifier under (or just before) the cursor, as a byte range of `text`. `cursor` is a
/// byte offset (clamped to `text`, moved back to a char boundary).
pub fn word_at(text: &str, cursor: usize) -> Option<(usize, usize, &str)> {
    let mut cursor = cursor.min(text.len());
    while !text.is_char_boundary(cursor) {
        cursor -= 1;
    }
    let start = text[..cursor]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_ident_char(*c))
        .last()
        .map_or(cursor, |(i, _)| i);
    let end = text[cursor..]
        .char_indices()
        .find(|(_, c)| !is_ident_char(*c))
        .map_or(text.len(), |(i, _)| cursor + i);
    if start == end {
        // cursor right after `name(`: document the function being called
        let before = text[..cursor].trim_end();
        if let Some(b) = before.strip_suffix('(') {
            let b = b.trim_end();
            let s = b
                .char_indices()
                .rev()
                .take_while(|(_, c)| is_ident_char(*c))
                .last()
                .map(|(i, _)| i)?;
            return Some((s, b.len(), &text[s..b.len()]));
        }
        return None;
    }
    Some((start, end, &text[start..end]))
}

/// Completion at a cursor (byte offset): the start of the word being completed and the
/// candidates, sorted, without duplicates. After a `.`, methods and properties; otherwise DSL
/// functions, `variables` in scope, `functions` the user defined, and Rhai keywords.
pub fn complete(
    text: &str,
    cursor: usize,
    variables: &[String],
    functions: &[String],
) -> (usize, Vec<String>) {
    let mut cursor = cursor.min(text.len());
    while !text.is_char_boundary(cursor) {
        cursor -= 1;
    }
    let start = text[..cursor]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_ident_char(*c))
        .last()
        .map_or(cursor, |(i, _)| i);
    let prefix = &text[start..cursor];
    // inside a string or comment: nothing to complete
    if in_string_or_comment(&text[..start]) {
        return (start, vec![]);
    }
    let after_dot =
        text[..start].trim_end().ends_with('.') && !text[..start].trim_end().ends_with("..");
    let mut out: Vec<String> = if after_dot {
        member_names()
            .into_iter()
            .filter(|n| n.starts_with(prefix))
            .map(str::to_string)
            .collect()
    } else {
        let mut v: Vec<String> = variables
            .iter()
            .chain(functions.iter())
            .filter(|n| n.starts_with(prefix))
            .cloned()
            .collect();
        v.extend(
            function_names()
                .into_iter()
                .chain(KEYWORDS.iter().copied())
                .filter(|n| n.starts_with(prefix))
                .map(str::to_string),
        );
        v
    };
    out.sort();
    out.dedup();
    if prefix.is_empty() && !after_dot {
        // an empty prefix outside a member access would list everything: offer nothing
        // unless there are few names (a blank line then Tab in the REPL indents instead)
        out.retain(|n| variables.contains(n));
    }
    (start, out)
}

fn in_string_or_comment(before: &str) -> bool {
    let mut in_str: Option<char> = None;
    let mut chars = before.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(q) = in_str {
            if c == '\\' {
                chars.next();
            } else if c == q {
                in_str = None;
            }
            continue;
        }
        match c {
            '"' | '`' => in_str = Some(c),
            '/' if chars.peek() == Some(&'/') && !chars.by_ref().any(|c| c == '\n') => {
                return true;
            }
            _ => {}
        }
    }
    in_str.is_some()
}
