//! The paper's figures and theory checks as DSL functions (Goodfellow et al. 2014). The
//! computations live in [`crate::paper`]; these files turn Rhai values into its options, check
//! them (errors carry the call's line:col) and its results back into maps:
//!
//! - [`super::api_theory`]: Proposition 1 and Theorem 1 — `density_ratio_check(gan, mean, std,
//!   #{…})`, `gan.value(data, n)`, `gan.d_range(lo, hi)`, and the helpers `linspace`,
//!   `normal_interval`, `normal_pdf`, `gan.d_on(xs)`, `gan.pg_density(xs)`, `gan.noise(n)`.
//! - [`super::api_study`]: `gan.train_d(data, #{…})` (D alone, G frozen), `gan.train_steps(data,
//!   #{…})` (every step of the game recorded) and `gan.g_grad_norm(#{…})` (the saturation remark
//!   of §3).
//! - [`super::api_figures`]: Figures 1–3 — `figure1_panel`, `figure1`, `figure2`,
//!   `interpolate`, `figure3`.
//! - [`super::api_plot`]: `plot_lines(file, panels, #{…})` draws any per-step series.
//! - here: `load_weights(gan, "file")`, weights from the run or data directory, and the
//!   argument checks the topic files share.

use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, Map, FLOAT, INT};

use super::host::Host;
use super::options::{err, number, type_name, Opts, RhaiResult};
use super::values::{DataHandle, GanCell, GanHandle};
use crate::engine::Gan;
use crate::viz;

/// Most rows one call may draw or evaluate at once.
pub(super) const MAX_ROWS: usize = 1_000_000;

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    super::api_figures::register(engine, host);
    super::api_theory::register(engine);
    super::api_study::register(engine, host);
    super::api_plot::register(engine, host);
    let h = host.clone();
    engine.register_fn(
        "load_weights",
        move |gan: GanHandle, path: &str| -> RhaiResult<()> {
            let mut roots = Vec::new();
            if let Some(run) = &h.run {
                roots.push(run.path().to_path_buf());
            }
            roots.push(h.config.data_dir.clone());
            let file = crate::paper::resolve_weights(path, &roots)
                .or_else(|e| err(format!("load_weights(): {e}")))?;
            let mut c = gan.lock();
            crate::checkpoint::load_weights(&file, &mut c.gan)
                .or_else(|e| anyhow_err("load_weights()", e))?;
            h.sink.text(&format!(
                "loaded weights into `{}` from {}",
                c.name,
                file.display()
            ));
            Ok(())
        },
    );
}

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
pub(super) fn range_opt(o: &Opts, call: &str) -> RhaiResult<Option<(f64, f64)>> {
    let Some(v) = o.get("range") else {
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
