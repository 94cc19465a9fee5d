//! Option maps as typed structs: a call's options and their defaults are declared once, as a
//! serde struct with `#[serde(deny_unknown_fields, default)]`, and read with Rhai's serde support.
//! The errors are those of [`super::options`]: the unknown key with a "did you mean" hint
//! and the accepted keys, or the key, what it must be and what it got. Their position is the
//! call's (Rhai fills it in, as for every runtime error without one).
//!
//! Leaf types: `bool`, `String` and `Option<…>` deserialize as usual; [`Number`] takes an integer
//! or a float (Rhai's own `f64` refuses `1`); [`Count`] a whole number within bounds; a
//! [`Dynamic`] field takes any script value (functions, optimizers, schedules), which the caller
//! then checks with its own message.

use std::fmt;

use rhai::serde::DynamicDeserializer;
use rhai::{Dynamic, EvalAltResult, LexError, Map, ParseErrorType};
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

pub use super::options::custom;
use super::options::{err, unknown_option, wrong_type, RhaiResult};

/// Reads `map` as the options `T` of `call` (e.g. `"fit()"`).
pub fn parse<T: DeserializeOwned>(map: &Map, call: &str) -> RhaiResult<T> {
    let value = Dynamic::from_map(map.clone());
    let e = match serde_path_to_error::deserialize(DynamicDeserializer::new(&value)) {
        Ok(t) => return Ok(t),
        Err(e) => e,
    };
    let key = e.path().to_string();
    let text = match &**e.inner() {
        EvalAltResult::ErrorParsing(
            ParseErrorType::BadInput(LexError::ImproperSymbol(_, m)),
            _,
        ) => m.clone(),
        EvalAltResult::ErrorMismatchOutputType(want, _, _) => {
            format!("invalid type: _, expected {}", rhai_want(want))
        }
        other => other.to_string(),
    };
    if let Some(rest) = text.strip_prefix("unknown field ") {
        // serde: "unknown field `k`, expected one of `a`, `b`" (or "expected `a` or `b`")
        let mut quoted = rest.split('`').skip(1).step_by(2);
        let k = quoted.next().unwrap_or_default();
        let allowed: Vec<&str> = quoted.collect();
        return unknown_option(k, call, &allowed);
    }
    match (text.split_once(", expected "), map.get(key.as_str())) {
        (Some((head, want)), Some(v)) if head.starts_with("invalid ") => {
            wrong_type(&key, call, want, v)
        }
        _ => err(format!("option `{key}` of {call} {text}")),
    }
}

/// What a value must be, for the Rust type Rhai's deserializer names in a mismatch.
fn rhai_want(rust: &str) -> String {
    match rust {
        "bool" => "true or false",
        "string" | "String" | "&str" | "char" => "a string",
        "f32" | "f64" | "float" => "a number",
        "int" | "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64"
        | "u128" | "usize" => "an integer",
        "map" | "Map" => "an object map",
        "array" | "Array" => "an array",
        other => return format!("of type {other}"),
    }
    .into()
}

/// A number: an integer or a float.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Number(pub f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0)
    }
}

/// A whole number in `MIN..=MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Count<const MIN: u64, const MAX: u64 = { u64::MAX }>(pub u64);

impl<'de, const MIN: u64, const MAX: u64> Deserialize<'de> for Count<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const MIN: u64, const MAX: u64>;
        impl<const MIN: u64, const MAX: u64> Visitor<'_> for V<MIN, MAX> {
            type Value = Count<MIN, MAX>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                match u64::try_from(v) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!("must be ≥ {MIN}, got {v}"))),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                if v < MIN {
                    return Err(E::custom(format!("must be ≥ {MIN}, got {v}")));
                }
                if v > MAX {
                    return Err(E::custom(format!("must be at most {MAX}, got {v}")));
                }
                Ok(Count(v))
            }
        }
        d.deserialize_any(V::<MIN, MAX>)
    }
}

impl<const MIN: u64, const MAX: u64> Serialize for Count<MIN, MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<const MIN: u64, const MAX: u64> Count<MIN, MAX> {
    /// The count as the type the caller allocates or loops with, refused rather than truncated
    /// where that type is narrower than `MAX` (`width: 4294967304` once became 8).
    pub fn try_get<T: TryFrom<u64>>(self, key: &str, call: &str) -> RhaiResult<T> {
        T::try_from(self.0).or_else(|_| {
            err(format!(
                "option `{key}` of {call} is too large for this machine: {}",
                self.0
            ))
        })
    }
}

/// A call's options with their defaults, for the reference (`gan docs`), read from the same
/// declaration [`parse`] fills in: `(key, default)` in key order; an optional option without a
/// fixed default shows `—` (its function's doc says what leaving it out means).
pub fn defaults<T: Default + Serialize>() -> Vec<(String, String)> {
    use serde_json::Value;
    let Ok(Value::Object(map)) = serde_json::to_value(T::default()) else {
        unreachable!("option structs serialize to a map")
    };
    map.into_iter()
        .map(|(k, v)| {
            let shown = match v {
                Value::Null => "—".into(),
                Value::String(s) => format!("\"{s}\""),
                other => other.to_string(),
            };
            (k, shown)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rhai::INT;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Demo {
        rate: Number,
        count: Count<1>,
        flag: bool,
        label: String,
        callback: Option<Dynamic>,
    }

    impl Default for Demo {
        fn default() -> Self {
            Demo {
                rate: Number(0.5),
                count: Count(3),
                flag: false,
                label: "x".into(),
                callback: None,
            }
        }
    }

    fn map(entries: &[(&str, Dynamic)]) -> Map {
        entries
            .iter()
            .map(|(k, v)| ((*k).into(), v.clone()))
            .collect()
    }

    fn message(m: &Map) -> String {
        let e = parse::<Demo>(m, "demo()").unwrap_err();
        match *e {
            EvalAltResult::ErrorRuntime(v, pos) => {
                assert!(pos.is_none(), "the call's position is filled in by Rhai");
                v.into_string().unwrap()
            }
            other => panic!("not a runtime error: {other:?}"),
        }
    }

    #[test]
    fn defaults_fill_what_the_map_leaves_out_and_integers_are_numbers() {
        let d = parse::<Demo>(&Map::new(), "demo()").unwrap();
        assert_eq!(
            (d.rate, d.count, d.flag, d.label.as_str()),
            (Number(0.5), Count(3), false, "x")
        );
        assert!(d.callback.is_none());
        let m = map(&[
            ("rate", Dynamic::from(2 as INT)),
            ("count", Dynamic::from(7 as INT)),
            ("flag", Dynamic::TRUE),
        ]);
        let d = parse::<Demo>(&m, "demo()").unwrap();
        assert_eq!((d.rate, d.count, d.flag), (Number(2.0), Count(7), true));
    }

    #[test]
    fn defaults_list_every_option_in_key_order() {
        #[derive(Serialize)]
        struct Listed {
            zeta: Number,
            alpha: Count<1>,
            name: String,
            maybe: Option<Number>,
            on: bool,
        }
        impl Default for Listed {
            fn default() -> Self {
                Listed {
                    zeta: Number(1e-8),
                    alpha: Count(3),
                    name: "uniform".into(),
                    maybe: None,
                    on: true,
                }
            }
        }
        let want = [
            ("alpha", "3"),
            ("maybe", "—"),
            ("name", "\"uniform\""),
            ("on", "true"),
            ("zeta", "1e-8"),
        ];
        let got = defaults::<Listed>();
        let got: Vec<(&str, &str)> = got.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_dynamic_field_keeps_a_custom_value() {
        #[derive(Clone, Debug, PartialEq)]
        struct Opaque(u8);
        let m = map(&[("callback", Dynamic::from(Opaque(9)))]);
        let d = parse::<Demo>(&m, "demo()").unwrap();
        let got = custom::<Opaque>(d.callback.as_ref(), "callback", "demo()", "an opaque").unwrap();
        assert_eq!(got, Some(Opaque(9)));
        let wrong = custom::<String>(d.callback.as_ref(), "callback", "demo()", "a string");
        assert!(wrong.is_err());
    }

    #[test]
    fn unknown_key_is_named_with_a_hint_and_the_accepted_keys() {
        let m = map(&[("cuont", Dynamic::from(1 as INT))]);
        assert_eq!(
            message(&m),
            "unknown option `cuont` in demo() (did you mean `count`?); \
             it accepts: rate, count, flag, label, callback"
        );
        let m = map(&[("zzz", Dynamic::UNIT)]);
        assert_eq!(
            message(&m),
            "unknown option `zzz` in demo(); it accepts: rate, count, flag, label, callback"
        );
    }

    #[test]
    fn wrong_types_name_the_key_the_type_wanted_and_the_value() {
        let cases = [
            (
                "rate",
                Dynamic::from("fast"),
                "option `rate` of demo() must be a number, got string `fast`",
            ),
            (
                "count",
                Dynamic::from(1.5),
                "option `count` of demo() must be an integer, got number `1.5`",
            ),
            (
                "flag",
                Dynamic::from(1 as INT),
                "option `flag` of demo() must be true or false, got integer `1`",
            ),
            (
                "label",
                Dynamic::from(2 as INT),
                "option `label` of demo() must be a string, got integer `2`",
            ),
        ];
        for (k, v, want) in cases {
            assert_eq!(message(&map(&[(k, v)])), want);
        }
    }

    #[test]
    fn an_upper_bound_is_checked_and_a_narrow_type_refused() {
        let m = map(&[("n", Dynamic::from(9 as INT))]);
        #[derive(Debug, Deserialize)]
        struct Small {
            n: Count<0, 8>,
        }
        let ok = parse::<Small>(&map(&[("n", Dynamic::from(8 as INT))]), "small()").unwrap();
        assert_eq!(ok.n, Count(8));
        let e = parse::<Small>(&m, "small()").unwrap_err();
        assert!(
            e.to_string()
                .contains("option `n` of small() must be at most 8, got 9"),
            "{e}"
        );
        let big = Count::<0>(300);
        assert_eq!(big.try_get::<u16>("n", "small()").unwrap(), 300);
        let e = big.try_get::<u8>("n", "small()").unwrap_err();
        assert!(
            e.to_string()
                .contains("option `n` of small() is too large for this machine: 300"),
            "{e}"
        );
    }

    #[test]
    fn a_lower_bound_is_checked_with_the_value() {
        assert_eq!(
            message(&map(&[("count", Dynamic::from(0 as INT))])),
            "option `count` of demo() must be ≥ 1, got 0"
        );
        assert_eq!(
            message(&map(&[("count", Dynamic::from(-4 as INT))])),
            "option `count` of demo() must be ≥ 1, got -4"
        );
    }
}
