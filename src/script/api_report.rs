//! `report(dir)`: a sweep's results table in the DSL (REPL, notebooks): what `gan report DIR`
//! prints, as a map `#{ table, by, metrics, groups, runs }`.

use rhai::{Array, Dynamic, Engine, Map};
use serde_json::Value;

use super::options::{err, RhaiResult};
use crate::sweep::{render, report};

pub fn register(engine: &mut Engine) {
    engine.register_fn("report", |dir: &str| -> RhaiResult<Map> {
        let r = report::report(&[std::path::Path::new(dir)], None)
            .or_else(|e| err(format!("report({dir:?}): {e:#}")))?;
        let json = serde_json::to_value(&r).or_else(|e| err(format!("report(): {e}")))?;
        let mut m = match from_json(json).try_cast::<Map>() {
            Some(m) => m,
            None => return err("report(): not a map".to_string()),
        };
        m.insert("table".into(), render::markdown(&r).into());
        Ok(m)
    });
}

/// A JSON value as the script's values (numbers as floats, `null` as `()`).
fn from_json(v: Value) -> Dynamic {
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => b.into(),
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN).into(),
        Value::String(s) => s.into(),
        Value::Array(a) => a.into_iter().map(from_json).collect::<Array>().into(),
        Value::Object(o) => o
            .into_iter()
            .map(|(k, v)| (k.into(), from_json(v)))
            .collect::<Map>()
            .into(),
    }
}
