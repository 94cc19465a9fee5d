//! Proposition 1 and Theorem 1 as DSL functions, with the numeric helpers the theory recipes use:
//! `linspace`, `normal_interval`, `normal_pdf`, `gan.d_on(xs)`, `gan.pg_density(xs, #{…})`,
//! `gan.noise(n)`, `gan.value(data, n)`, `gan.d_range(lo, hi, points)` and
//! `density_ratio_check(gan, mean, std, #{…})`.

use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, Map, FLOAT, INT};
use serde::{Deserialize, Serialize};

use super::api_train::{held, Through};
use super::option_struct::{self, Count, Number};
use super::options::{err, RhaiResult};
use super::paper_args::{
    anyhow_err, check_normal, floats, map_of, numbers, one_d, range_opt, rows_arg, MAX_ROWS,
};
use super::values::{DataHandle, GanHandle, Samples};
use crate::engine::theory;
use crate::paper::{self, DensityRatioOptions};
use crate::stats::{normal_interval, normal_pdf};

pub fn register(engine: &mut Engine) {
    engine.register_fn(
        "linspace",
        |lo: FLOAT, hi: FLOAT, n: INT| -> RhaiResult<Samples> {
            let n = rows_arg(n, "linspace(lo, hi, n): n")?;
            if !(lo.is_finite() && hi.is_finite()) || (n > 1 && lo >= hi) {
                return err(format!(
                    "linspace(lo, hi, n): needs finite lo < hi, got lo {lo}, hi {hi}"
                ));
            }
            let x = paper::linspace(lo, hi, n).into_iter().map(|v| v as f32);
            Ok(Samples {
                x: Arc::new(x.collect()),
                dim: 1,
                image: None,
            })
        },
    );
    engine.register_fn(
        "normal_interval",
        |mean: FLOAT, std: FLOAT, mass: FLOAT| -> RhaiResult<Array> {
            check_normal(mean, std, "normal_interval(mean, std, mass)")?;
            if !(mass > 0.0 && mass < 1.0) {
                return err(format!(
                    "normal_interval(mean, std, mass): mass must be in (0, 1), got {mass}"
                ));
            }
            let (lo, hi) = normal_interval(mean, std, mass);
            Ok(floats(&[lo, hi]))
        },
    );
    engine.register_fn(
        "normal_pdf",
        |x: FLOAT, mean: FLOAT, std: FLOAT| -> RhaiResult<FLOAT> {
            check_normal(mean, std, "normal_pdf(x, mean, std)")?;
            Ok(normal_pdf(x, mean, std))
        },
    );
    engine.register_fn("d_on", |gan: GanHandle, xs: Array| -> RhaiResult<Array> {
        let c = gan.lock();
        one_d(&c.gan, "d_on(xs)")?;
        let xs = numbers(&xs, "d_on(xs)")?;
        Ok(floats(&paper::d_at(&c.gan, &xs)))
    });
    engine.register_fn("pg_density", |gan: GanHandle, xs: Array| {
        pg_density(&gan, &xs, &Map::new())
    });
    engine.register_fn("pg_density", |gan: GanHandle, xs: Array, opts: Map| {
        pg_density(&gan, &xs, &opts)
    });
    engine.register_fn("noise", |gan: GanHandle, n: INT| -> RhaiResult<Samples> {
        let n = rows_arg(n, "noise(n): n")?;
        let mut c = gan.lock();
        held(&c.gan, n, Through::Noise, "noise(n)")?;
        let z = paper::draw_noise(&mut c.gan, n);
        Ok(Samples {
            dim: c.gan.noise_dim(),
            x: Arc::new(z),
            image: None,
        })
    });
    engine.register_fn("value", |gan: GanHandle, data: DataHandle| {
        value(&gan, &data, None)
    });
    engine.register_fn(
        "value",
        |gan: GanHandle, data: DataHandle, n: INT| -> RhaiResult<Map> {
            let n = rows_arg(n, "value(data, n): n")?;
            value(&gan, &data, Some(n))
        },
    );
    engine.register_fn("d_range", |gan: GanHandle, lo: FLOAT, hi: FLOAT| {
        d_range(&gan, lo, hi, 401)
    });
    engine.register_fn(
        "d_range",
        |gan: GanHandle, lo: FLOAT, hi: FLOAT, points: INT| -> RhaiResult<Map> {
            let p = rows_arg(points, "d_range(lo, hi, points): points")?;
            d_range(&gan, lo, hi, p)
        },
    );
    engine.register_fn(
        "density_ratio_check",
        |gan: GanHandle, mean: FLOAT, std: FLOAT| density_ratio_check(&gan, mean, std, &Map::new()),
    );
    engine.register_fn(
        "density_ratio_check",
        |gan: GanHandle, mean: FLOAT, std: FLOAT, opts: Map| {
            density_ratio_check(&gan, mean, std, &opts)
        },
    );
}

/// `gan.pg_density(xs, #{ z_points })`: p_g at each x by change of variables.
fn pg_density(gan: &GanHandle, xs: &Array, opts: &Map) -> RhaiResult<Array> {
    let o: PgDensityOptions = option_struct::parse(opts, "pg_density()")?;
    let zp: usize = o.z_points.try_get("z_points", "pg_density()")?;
    if zp > MAX_ROWS {
        return err(format!(
            "option `z_points` of pg_density() is at most {MAX_ROWS}, got {zp}"
        ));
    }
    let xs = numbers(xs, "pg_density(xs)")?;
    let c = gan.lock();
    let (p, _) =
        theory::pg_density_1d(&c.gan, &xs, zp).or_else(|e| anyhow_err("pg_density()", e))?;
    Ok(floats(&p))
}

/// `gan.value(data, n)`: V(D, G) on n real rows and n fresh samples of G.
fn value(gan: &GanHandle, data: &DataHandle, n: Option<usize>) -> RhaiResult<Map> {
    let mut c = gan.lock();
    let what = "value(data, n)";
    let d = &data.0;
    if d.dim != c.gan.data_dim() {
        return err(format!(
            "{what}: `{}` has {} features per row, D takes {}",
            d.name,
            d.dim,
            c.gan.data_dim()
        ));
    }
    let n = n.unwrap_or(d.rows()).max(1);
    // real rows, noise and G's images are held whole; G and D run on them in chunks
    let width = 2 * c.gan.data_dim() + c.gan.noise_dim();
    held(&c.gan, n, Through::Output(width), what)?;
    let v = paper::value_on(&mut c.gan, d, n);
    Ok(map_of([
        ("v", Dynamic::from(v.v)),
        ("v_plus_log4", Dynamic::from(v.v + 4f64.ln())),
        ("minus_log4", Dynamic::from(-(4f64.ln()))),
        ("e_log_d_real", Dynamic::from(v.e_log_d_real)),
        (
            "e_log_one_minus_d_fake",
            Dynamic::from(v.e_log_one_minus_d_fake),
        ),
        ("se", Dynamic::from(v.se)),
        ("n_real", Dynamic::from(v.n_real as INT)),
        ("n_fake", Dynamic::from(v.n_fake as INT)),
    ]))
}

/// `gan.d_range(lo, hi, points)`: D's smallest, largest and mean value on an even grid.
fn d_range(gan: &GanHandle, lo: f64, hi: f64, points: usize) -> RhaiResult<Map> {
    let c = gan.lock();
    one_d(&c.gan, "d_range(lo, hi)")?;
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return err(format!(
            "d_range(lo, hi): needs finite lo < hi, got lo {lo}, hi {hi}"
        ));
    }
    let r = paper::d_range(&c.gan, lo, hi, points);
    Ok(map_of([
        ("min", Dynamic::from(r.min)),
        ("max", Dynamic::from(r.max)),
        ("at_min", Dynamic::from(r.at_min)),
        ("at_max", Dynamic::from(r.at_max)),
        ("mean", Dynamic::from(r.mean)),
        ("lo", Dynamic::from(r.lo)),
        ("hi", Dynamic::from(r.hi)),
        ("points", Dynamic::from(r.points as INT)),
    ]))
}

/// `gan.pg_density(xs, #{…})`'s options.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct PgDensityOptions {
    /// Grid points over z for the change of variables.
    z_points: Count<2>,
}

impl Default for PgDensityOptions {
    fn default() -> Self {
        PgDensityOptions {
            z_points: Count(DensityRatioOptions::default().z_points as u64),
        }
    }
}

/// `density_ratio_check(gan, mean, std, #{…})`'s options; the defaults are the library's.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct DensityRatioCheckOptions {
    /// The probability mass of p_data the checked region covers.
    mass: Number,
    /// Grid points over the region.
    points: Count<2>,
    /// Grid points over z for p_g's change of variables.
    z_points: Count<2>,
    /// `[lo, hi]`, the region checked instead of the one `mass` gives.
    range: Option<Dynamic>,
}

impl Default for DensityRatioCheckOptions {
    fn default() -> Self {
        let d = DensityRatioOptions::default();
        DensityRatioCheckOptions {
            mass: Number(d.mass),
            points: Count(d.points as u64),
            z_points: Count(d.z_points as u64),
            range: None,
        }
    }
}

/// The options of `density_ratio_check`, checked.
fn density_ratio_options(
    o: &DensityRatioCheckOptions,
    call: &str,
) -> RhaiResult<DensityRatioOptions> {
    let mass = o.mass.0;
    if !(mass > 0.0 && mass < 1.0) {
        return err(format!(
            "option `mass` of {call} must be in (0, 1) (e.g. 0.99), got {mass}"
        ));
    }
    let points: usize = o.points.try_get("points", call)?;
    let z_points: usize = o.z_points.try_get("z_points", call)?;
    if points > MAX_ROWS || z_points > MAX_ROWS {
        return err(format!(
            "options `points` and `z_points` of {call} are at most {MAX_ROWS}"
        ));
    }
    Ok(DensityRatioOptions {
        mass,
        points,
        z_points,
        range: range_opt(o.range.as_ref(), call)?,
    })
}

/// `density_ratio_check(gan, mean, std, #{ mass, points, z_points, range })`: Proposition 1.
fn density_ratio_check(gan: &GanHandle, mean: f64, std: f64, opts: &Map) -> RhaiResult<Map> {
    let call = "density_ratio_check()";
    let o: DensityRatioCheckOptions = option_struct::parse(opts, call)?;
    check_normal(mean, std, "density_ratio_check(gan, mean, std)")?;
    let opts = density_ratio_options(&o, call)?;
    let c = gan.lock();
    one_d(&c.gan, call)?;
    let r =
        paper::density_ratio_check(&c.gan, mean, std, &opts).or_else(|e| anyhow_err(call, e))?;
    Ok(map_of([
        ("max_abs_dev", Dynamic::from(r.max_abs_dev)),
        ("mean_abs_dev", Dynamic::from(r.mean_abs_dev)),
        ("at", Dynamic::from(r.at)),
        ("d_at", Dynamic::from(r.d_at)),
        ("dstar_at", Dynamic::from(r.dstar_at)),
        ("d_min", Dynamic::from(r.d_min)),
        ("d_max", Dynamic::from(r.d_max)),
        ("dstar_min", Dynamic::from(r.dstar_min)),
        ("dstar_max", Dynamic::from(r.dstar_max)),
        ("lo", Dynamic::from(r.lo)),
        ("hi", Dynamic::from(r.hi)),
        ("mass", Dynamic::from(r.mass)),
        ("points", Dynamic::from(r.points as INT)),
        ("pg_support_lo", Dynamic::from(r.pg_support.0)),
        ("pg_support_hi", Dynamic::from(r.pg_support.1)),
        (
            "region_in_pg_support",
            Dynamic::from(r.region_in_pg_support()),
        ),
        ("pg_method", Dynamic::from(r.pg_method)),
    ]))
}
