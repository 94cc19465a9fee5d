//! Argument checks and conversions the paper's DSL files ([`super::api_paper`] and its topic
//! files) share: row counts, 1-D games, data widths, number arrays, `range` options.

use rhai::{Array, Dynamic, Map, FLOAT, INT};

use super::options::{err, number, type_name, RhaiResult};
use super::values::{DataHandle, GanCell};
use crate::engine::Gan;
use crate::viz;

/// Most rows one call may draw or evaluate at once.
pub(super) const MAX_ROWS: usize = 1_000_000;

/// A count of rows in 1..=[`MAX_ROWS`].
pub(super) fn rows_arg(n: INT, what: &str) -> RhaiResult<usize> {
    if n <= 0 {
        return err(format!("{what} must be ≥ 1, got {n}"));
    }
    if n as u64 > MAX_ROWS as u64 {
        return err(format!("{what} = {n} is more than {MAX_ROWS} rows at once"));
    }
    Ok(n as usize)
}

pub(super) fn anyhow_err<T>(what: &str, e: anyhow::Error) -> RhaiResult<T> {
    err(format!("{what}: {e:#}"))
}

/// Requires a 1-D game (data of one feature), naming the call.
pub(super) fn one_d(gan: &Gan, what: &str) -> RhaiResult<()> {
    if gan.data_dim() != 1 {
        return err(format!(
            "{what} works on 1-D games (data with one feature); this GAN's data has {} features",
            gan.data_dim()
        ));
    }
    Ok(())
}

/// Requires data as wide as D's input, naming the call.
pub(super) fn check_data(c: &GanCell, data: &DataHandle, what: &str) -> RhaiResult<()> {
    if data.0.dim != c.gan.data_dim() {
        return err(format!(
            "{what}: `{}` has {} features per row, the GAN's data have {}",
            data.0.name,
            data.0.dim,
            c.gan.data_dim()
        ));
    }
    Ok(())
}

/// Numbers from an array of numbers, naming the call and position of a bad element.
pub(super) fn numbers(a: &Array, what: &str) -> RhaiResult<Vec<f64>> {
    a.iter()
        .enumerate()
        .map(|(i, v)| match number(v) {
            Some(x) if x.is_finite() => Ok(x),
            _ => err(format!(
                "{what}: element {i} must be a finite number, got {} `{v}`",
                type_name(v)
            )),
        })
        .collect()
}

pub(super) fn floats(v: &[f64]) -> Array {
    v.iter().map(|&x| Dynamic::from(x as FLOAT)).collect()
}

pub(super) fn ints(v: &[usize]) -> Array {
    v.iter().map(|&x| Dynamic::from(x as INT)).collect()
}

/// `#{ range: [lo, hi] }`, checked.
pub(super) fn range_opt(v: Option<&Dynamic>, call: &str) -> RhaiResult<Option<(f64, f64)>> {
    let Some(v) = v else {
        return Ok(None);
    };
    let bad = || {
        err(format!(
            "option `range` of {call} must be an array [lo, hi] of two numbers with lo < hi, got {} `{v}`",
            type_name(v)
        ))
    };
    let Some(a) = v.clone().try_cast::<Array>() else {
        return bad();
    };
    match (
        a.first().and_then(number),
        a.get(1).and_then(number),
        a.len(),
    ) {
        (Some(lo), Some(hi), 2) if lo < hi && lo.is_finite() && hi.is_finite() => {
            Ok(Some((lo, hi)))
        }
        _ => bad(),
    }
}

/// A finite mean and a positive, finite std.
pub(super) fn check_normal(mean: f64, std: f64, what: &str) -> RhaiResult<()> {
    if !(mean.is_finite() && std > 0.0 && std.is_finite()) {
        return err(format!(
            "{what}: needs a finite mean and a positive std, got mean {mean}, std {std}"
        ));
    }
    Ok(())
}

pub(super) fn png_of(img: &image::RgbImage, what: &str) -> RhaiResult<Vec<u8>> {
    viz::encode_png(img).or_else(|e| anyhow_err(what, e))
}

/// `(key, value)` pairs as an object map.
pub(super) fn map_of(entries: impl IntoIterator<Item = (&'static str, Dynamic)>) -> Map {
    entries.into_iter().map(|(k, v)| (k.into(), v)).collect()
}
