//! JSON whose floating-point numbers survive a write and read bit for bit.
//!
//! serde_json prints every `f64` exactly (shortest round-tripping digits), but without its
//! `float_roundtrip` feature (not enabled in this crate) it parses long decimals with a fast
//! method that is one ULP off for roughly one number in seven (e.g. `0.09999880000959997`, a
//! learning rate after three decay steps). A checkpoint whose learning rate or noise width is
//! one ULP off does not resume exactly. So next to the readable JSON we record the bits of
//! every float, in document order, and put them back after parsing.

use anyhow::{bail, Context, Result};
use serde_json::{Number, Value};

/// The bits of every float in `value` (depth first, object keys in map order), as 16 hex digits.
pub fn float_bits(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(value, &mut |_, x| out.push(format!("{:016x}", x.to_bits())));
    out
}

/// Replaces each float of `value` (parsed from text written alongside `bits`) by its recorded
/// bits. Errors if the document and the bits disagree in number, or if a value differs from
/// its bits by more than rounding (the JSON was edited by hand without updating the bits).
pub fn restore_floats(value: &mut Value, bits: &[String]) -> Result<()> {
    let mut exact = Vec::with_capacity(bits.len());
    for b in bits {
        let v = u64::from_str_radix(b, 16).with_context(|| format!("bad float bits `{b}`"))?;
        exact.push(f64::from_bits(v));
    }
    let mut i = 0;
    let mut problem = None;
    walk_mut(value, "", &mut |path, x| {
        let Some(&e) = exact.get(i) else {
            problem.get_or_insert_with(|| format!("more floats than recorded bits (at {path})"));
            return;
        };
        i += 1;
        // Parsing is at most a few ULPs off; anything more means the text was changed.
        let tolerance = e.abs() * 1e-12;
        if (*x - e).abs() > tolerance {
            problem.get_or_insert_with(|| {
                format!("{path} is {x} but its recorded bits say {e} (edited by hand?)")
            });
            return;
        }
        *x = e;
    });
    if let Some(p) = problem {
        bail!(p);
    }
    if i != exact.len() {
        bail!("{} floats recorded but the document has {i}", exact.len());
    }
    Ok(())
}

fn walk(value: &Value, f: &mut impl FnMut(&str, f64)) {
    match value {
        Value::Number(n) if n.is_f64() => f("", n.as_f64().expect("an f64 number")),
        Value::Array(a) => a.iter().for_each(|v| walk(v, f)),
        Value::Object(o) => o.values().for_each(|v| walk(v, f)),
        _ => {}
    }
}

fn walk_mut(value: &mut Value, path: &str, f: &mut impl FnMut(&str, &mut f64)) {
    match value {
        Value::Number(n) if n.is_f64() => {
            let mut x = n.as_f64().expect("an f64 number");
            f(path, &mut x);
            // Finite by construction: JSON has no NaN or infinity.
            if let Some(m) = Number::from_f64(x) {
                *n = m;
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter_mut().enumerate() {
                walk_mut(v, &format!("{path}/{i}"), f);
            }
        }
        Value::Object(o) => {
            for (k, v) in o.iter_mut() {
                walk_mut(v, &format!("{path}/{k}"), f);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(x: f64) -> f64 {
        let v = serde_json::json!({ "a": [1, { "lr": x }], "b": 0.5 });
        let bits = float_bits(&v);
        let mut back: Value = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        restore_floats(&mut back, &bits).unwrap();
        back["a"][1]["lr"].as_f64().unwrap()
    }

    #[test]
    fn floats_come_back_bit_exact() {
        // A value serde_json's default parser reads one ULP off.
        let x = 0.1 / 1.000004f64.powf(3.0);
        assert_eq!(round_trip(x).to_bits(), x.to_bits());
        for k in 0..2000 {
            let x = (k as f64 * 0.7311).sin() * 10f64.powi(k % 7 - 4);
            assert_eq!(round_trip(x).to_bits(), x.to_bits(), "{x}");
        }
    }

    #[test]
    fn hand_edits_and_count_mismatches_are_errors() {
        let v = serde_json::json!({ "lr": 0.25, "m": 0.5 });
        let bits = float_bits(&v);
        let mut edited = serde_json::json!({ "lr": 0.3, "m": 0.5 });
        let e = restore_floats(&mut edited, &bits).unwrap_err().to_string();
        assert!(e.contains("/lr is 0.3"), "{e}");
        let mut fewer = serde_json::json!({ "lr": 0.25 });
        assert!(restore_floats(&mut fewer, &bits).is_err());
    }
}
