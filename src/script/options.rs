//! The errors of object-map options (`#{ lr: 0.1, … }`), naming the key and the call, and the
//! value helpers they share; [`super::option_struct`] reads the maps into typed structs.

use rhai::{Dynamic, EvalAltResult, Position, FLOAT};

pub type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// A runtime error with no position: Rhai fills in the position of the call that raised it.
pub fn err<T>(msg: impl Into<String>) -> RhaiResult<T> {
    Err(EvalAltResult::ErrorRuntime(Dynamic::from(msg.into()), Position::NONE).into())
}

/// The Rhai name of a value's type, as a user would write it.
pub fn type_name(v: &Dynamic) -> String {
    if v.is_int() {
        "integer".into()
    } else if v.is_float() {
        "number".into()
    } else if v.is_string() {
        "string".into()
    } else if v.is_bool() {
        "bool".into()
    } else if v.is_map() {
        "object map".into()
    } else if v.is_array() {
        "array".into()
    } else if v.is_unit() {
        "()".into()
    } else {
        let n = v.type_name();
        n.rsplit("::").next().unwrap_or(n).to_string()
    }
}

/// The error for a key `call` does not accept, with a "did you mean" hint when one is close.
pub fn unknown_option<T>(key: &str, call: &str, allowed: &[&str]) -> RhaiResult<T> {
    let mut hint = String::new();
    if let Some(close) = allowed.iter().find(|a| similar(a, key)) {
        hint = format!(" (did you mean `{close}`?)");
    }
    err(format!(
        "unknown option `{key}` in {call}{hint}; it accepts: {}",
        allowed.join(", ")
    ))
}

/// The value of option `key` of `call` as a registered custom type `T`, if given.
pub fn custom<T: Clone + 'static>(
    v: Option<&Dynamic>,
    key: &str,
    call: &str,
    want: &str,
) -> RhaiResult<Option<T>> {
    match v {
        None => Ok(None),
        Some(v) => match v.clone().try_cast::<T>() {
            Some(t) => Ok(Some(t)),
            None => wrong_type(key, call, want, v),
        },
    }
}

/// The error for option `key` of `call` given `v` where it needs `want` (e.g. "a number").
pub fn wrong_type<T>(key: &str, call: &str, want: &str, v: &Dynamic) -> RhaiResult<T> {
    err(format!(
        "option `{key}` of {call} must be {want}, got {} `{v}`",
        type_name(v)
    ))
}

/// An integer or float as f64.
pub fn number(v: &Dynamic) -> Option<f64> {
    if let Ok(i) = v.as_int() {
        Some(i as f64)
    } else {
        v.as_float().ok().map(|f: FLOAT| f)
    }
}

/// A cheap "did you mean": same length ±1 and at most two differing characters, or a prefix.
fn similar(a: &str, b: &str) -> bool {
    if a.starts_with(b) || b.starts_with(a) {
        return true;
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let diff = a.iter().zip(&b).filter(|(x, y)| x != y).count() + a.len().abs_diff(b.len());
    diff <= 2 && a.len() > 2
}
