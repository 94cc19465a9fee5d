//! Reading object-map options (`#{ lr: 0.1, … }`) with errors that name the key and the call.

use rhai::{Dynamic, EvalAltResult, Map, Position, FLOAT, INT};

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

/// Options of one call, checked against the keys it accepts.
pub struct Opts<'a> {
    map: &'a Map,
    call: &'static str,
}

impl<'a> Opts<'a> {
    /// Refuses keys not in `allowed`, naming the key and listing the accepted ones.
    pub fn new(map: &'a Map, call: &'static str, allowed: &[&str]) -> RhaiResult<Self> {
        for k in map.keys() {
            if !allowed.contains(&k.as_str()) {
                return unknown_option(k, call, allowed);
            }
        }
        Ok(Opts { map, call })
    }

    pub fn get(&self, key: &str) -> Option<&'a Dynamic> {
        self.map.get(key)
    }

    fn wrong<T>(&self, key: &str, want: &str, v: &Dynamic) -> RhaiResult<T> {
        wrong_type(key, self.call, want, v)
    }

    pub fn opt_f64(&self, key: &str) -> RhaiResult<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match number(v) {
                Some(x) => Ok(Some(x)),
                None => self.wrong(key, "a number", v),
            },
        }
    }

    pub fn f64(&self, key: &str, default: f64) -> RhaiResult<f64> {
        Ok(self.opt_f64(key)?.unwrap_or(default))
    }

    /// A whole number ≥ `min`.
    pub fn count(&self, key: &str, default: u64, min: u64) -> RhaiResult<u64> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => match v.as_int() {
                Ok(i) if i >= min as INT => Ok(i as u64),
                Ok(i) => err(format!(
                    "option `{key}` of {} must be ≥ {min}, got {i}",
                    self.call
                )),
                Err(_) => self.wrong(key, "an integer", v),
            },
        }
    }

    /// A whole number in `min..=max`, as the type the caller allocates or loops with: a value
    /// past `max` is refused rather than truncated (`width: 4294967304` once became 8).
    pub fn count_in<T: TryFrom<u64>>(
        &self,
        key: &str,
        default: u64,
        min: u64,
        max: u64,
    ) -> RhaiResult<T> {
        let n = self.count(key, default, min)?;
        if n > max {
            return err(format!(
                "option `{key}` of {} must be at most {max}, got {n}",
                self.call
            ));
        }
        T::try_from(n).or_else(|_| {
            err(format!(
                "option `{key}` of {} is too large for this machine: {n}",
                self.call
            ))
        })
    }

    /// Any whole number (the caller checks its range, with its own message).
    pub fn int(&self, key: &str, default: INT) -> RhaiResult<INT> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => match v.as_int() {
                Ok(i) => Ok(i),
                Err(_) => self.wrong(key, "an integer", v),
            },
        }
    }

    pub fn opt_count(&self, key: &str, min: u64) -> RhaiResult<Option<u64>> {
        if self.get(key).is_none() {
            return Ok(None);
        }
        self.count(key, 0, min).map(Some)
    }

    pub fn bool(&self, key: &str, default: bool) -> RhaiResult<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => match v.as_bool() {
                Ok(b) => Ok(b),
                Err(_) => self.wrong(key, "true or false", v),
            },
        }
    }

    pub fn string(&self, key: &str, default: &str) -> RhaiResult<String> {
        match self.get(key) {
            None => Ok(default.into()),
            Some(v) if v.is_string() => Ok(v.clone().into_string().unwrap()),
            Some(v) => self.wrong(key, "a string", v),
        }
    }

    /// A value of a registered custom type.
    pub fn custom<T: Clone + 'static>(&self, key: &str, want: &str) -> RhaiResult<Option<T>> {
        custom(self.get(key), key, self.call, want)
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
