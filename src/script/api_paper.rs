//! The paper's figures and theory checks as DSL functions (Goodfellow et al. 2014):
//!
//! - Proposition 1 (optimal D): `gan.train_d(data, #{…})` trains D alone with G frozen;
//!   `density_ratio_check(gan, mean, std, #{…})` compares D with D* = p_data / (p_data + p_g).
//! - Theorem 1 (global optimum): `gan.value(data, n)` is V(D, G); `gan.d_range(lo, hi)` is D's range.
//! - Figure 1: `figure1_panel(gan, data, #{…})` snapshots a 1-D game, `figure1([…], #{…})` draws.
//! - Figure 2: `figure2(gan, data, #{…})`: samples with each row's nearest training image.
//! - Figure 3: `gan.noise(n)`, `interpolate(gan, z0, z1, steps)`, `figure3(gan, #{…})`.
//! - The saturation remark of §3: `gan.train_steps(data, #{…})` records every step of the game,
//!   `gan.g_grad_norm(#{…})` probes the size of G's gradient under either G loss, and
//!   `plot_lines(file, panels, #{…})` draws any per-step series.
//! - `load_weights(gan, "file")`: weights from the run or data directory.
//! - Helpers: `linspace`, `normal_interval`, `normal_pdf`, `gan.d_on(xs)`, `gan.pg_density(xs)`,
//!   `gan.noise(n)`.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, Map, FLOAT, INT};

use super::api_output::emit_png;
use super::api_train::{held, optimizer_opt, Through};
use super::host::{Host, Progress};
use super::options::{err, number, type_name, Opts, RhaiResult};
use super::values::{DataHandle, GanCell, GanHandle, Samples};
use crate::data::{normal_pdf, ImageShape};
use crate::engine::rng::{stream, Purpose};
use crate::engine::schedule::Schedule;
use crate::engine::theory;
use crate::engine::trainer::{Control, FitObserver};
use crate::engine::Trainer;
use crate::engine::{FitSpec, Gan, GanLoss, Noise, OptimizerSpec, OptimizerState, StepMetrics};
use crate::viz::{self, Figure1Panel};

/// Most rows one call may draw or evaluate at once.
const MAX_ROWS: usize = 1_000_000;

fn rows_arg(n: INT, what: &str) -> RhaiResult<usize> {
    if n <= 0 {
        return err(format!("{what} must be ≥ 1, got {n}"));
    }
    if n as u64 > MAX_ROWS as u64 {
        return err(format!("{what} = {n} is more than {MAX_ROWS} rows at once"));
    }
    Ok(n as usize)
}

fn anyhow_err<T>(what: &str, e: anyhow::Error) -> RhaiResult<T> {
    err(format!("{what}: {e:#}"))
}

/// Requires a 1-D game (data of one feature), naming the call.
fn one_d(gan: &Gan, what: &str) -> RhaiResult<()> {
    if gan.data_dim() != 1 {
        return err(format!(
            "{what} works on 1-D games (data with one feature); this GAN's data has {} features",
            gan.data_dim()
        ));
    }
    Ok(())
}

/// Numbers from an array of numbers, naming the call and position of a bad element.
fn numbers(a: &Array, what: &str) -> RhaiResult<Vec<f64>> {
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

fn floats(v: &[f64]) -> Array {
    v.iter().map(|&x| Dynamic::from(x as FLOAT)).collect()
}

fn ints(v: &[usize]) -> Array {
    v.iter().map(|&x| Dynamic::from(x as INT)).collect()
}

/// `#{ range: [lo, hi] }`, checked.
fn range_opt(o: &Opts, call: &str) -> RhaiResult<Option<(f64, f64)>> {
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

/// `mass` in (0, 1).
fn mass_opt(o: &Opts, call: &str) -> RhaiResult<f64> {
    let m = o.f64("mass", 0.99)?;
    if !(m > 0.0 && m < 1.0) {
        return err(format!(
            "option `mass` of {call} must be in (0, 1) (e.g. 0.99), got {m}"
        ));
    }
    Ok(m)
}

fn check_normal(mean: f64, std: f64, what: &str) -> RhaiResult<()> {
    if !(mean.is_finite() && std > 0.0 && std.is_finite()) {
        return err(format!(
            "{what}: needs a finite mean and a positive std, got mean {mean}, std {std}"
        ));
    }
    Ok(())
}

/// The central interval holding `mass` of N(mean, std²).
fn normal_interval(mean: f64, std: f64, mass: f64) -> (f64, f64) {
    let k = theory::normal_quantile(0.5 + mass / 2.0);
    (mean - k * std, mean + k * std)
}

fn linspace(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![lo];
    }
    (0..n)
        .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
        .collect()
}

/// D(x) in evaluation mode at each x of a 1-D game.
fn d_at(gan: &Gan, xs: &[f64]) -> Vec<f64> {
    let x: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
    theory::d_logits_chunked(gan, &x)
        .into_iter()
        .map(|l| crate::engine::loss::sigmoid(l as f64))
        .collect()
}

/// Fresh noise rows from the GAN's sample stream (the same stream `gan.sample(n)` draws from).
fn draw_noise(gan: &mut Gan, n: usize) -> Vec<f32> {
    let z = gan
        .spec
        .noise
        .sample_vec(n, &mut stream(gan.seed, Purpose::Sample, gan.samples_drawn));
    gan.samples_drawn += 1;
    z
}

fn image_shape(c: &GanCell, like: Option<&DataHandle>, what: &str) -> RhaiResult<ImageShape> {
    if let Some(d) = like {
        return d.0.image.ok_or(()).or_else(|_| {
            err(format!(
                "{what}: option `like` must be an image dataset, `{}` is not",
                d.0.name
            ))
        });
    }
    c.image.ok_or(()).or_else(|_| {
        err(format!(
            "{what}: `{}` has not been fitted on images, so its samples have no image shape; \
             fit it on image data first or pass `like: mnist(\"train\")`",
            c.name
        ))
    })
}

fn png_of(img: &image::RgbImage, what: &str) -> RhaiResult<Vec<u8>> {
    viz::encode_png(img).or_else(|e| anyhow_err(what, e))
}

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    engine.register_type_with_name::<Figure1Panel>("Figure1Panel");
    engine.register_get("label", |p: &mut Figure1Panel| p.label.clone());
    engine.register_fn("to_string", |p: &mut Figure1Panel| {
        format!("Figure1Panel({:?}, {} grid points)", p.label, p.grid.len())
    });
    engine.register_fn("to_debug", |p: &mut Figure1Panel| {
        format!("Figure1Panel({:?})", p.label)
    });

    // ---- small numeric helpers -------------------------------------------------------------
    engine.register_fn(
        "linspace",
        |lo: FLOAT, hi: FLOAT, n: INT| -> RhaiResult<Samples> {
            let n = rows_arg(n, "linspace(lo, hi, n): n")?;
            if !(lo.is_finite() && hi.is_finite()) || (n > 1 && lo >= hi) {
                return err(format!(
                    "linspace(lo, hi, n): needs finite lo < hi, got lo {lo}, hi {hi}"
                ));
            }
            Ok(Samples {
                x: Arc::new(linspace(lo, hi, n).into_iter().map(|v| v as f32).collect()),
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

    // ---- D, p_g and the value of the game ------------------------------------------------
    engine.register_fn("d_on", |gan: GanHandle, xs: Array| -> RhaiResult<Array> {
        let c = gan.lock();
        one_d(&c.gan, "d_on(xs)")?;
        let xs = numbers(&xs, "d_on(xs)")?;
        Ok(floats(&d_at(&c.gan, &xs)))
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
        let z = draw_noise(&mut c.gan, n);
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

    // ---- training pieces --------------------------------------------------------------------
    let h = host.clone();
    engine.register_fn(
        "train_d",
        move |gan: GanHandle, data: DataHandle, opts: Map| train_d(&h, &gan, &data, &opts),
    );
    let h = host.clone();
    engine.register_fn(
        "train_steps",
        move |gan: GanHandle, data: DataHandle, opts: Map| train_steps(&h, &gan, &data, &opts),
    );
    engine.register_fn("g_grad_norm", |gan: GanHandle| {
        g_grad_norm(&gan, &Map::new())
    });
    engine.register_fn("g_grad_norm", |gan: GanHandle, opts: Map| {
        g_grad_norm(&gan, &opts)
    });

    // ---- figures ------------------------------------------------------------------------------
    engine.register_fn(
        "figure1_panel",
        |gan: GanHandle, data: DataHandle, opts: Map| figure1_panel(&gan, &data, &opts),
    );
    let h = host.clone();
    engine.register_fn(
        "figure1",
        move |panels: Array, opts: Map| -> RhaiResult<Map> { figure1(&h, &panels, &opts) },
    );
    let h = host.clone();
    engine.register_fn(
        "figure1",
        move |panels: Array, file: &str| -> RhaiResult<Map> {
            let mut o = Map::new();
            o.insert("file".into(), Dynamic::from(file.to_string()));
            figure1(&h, &panels, &o)
        },
    );
    let h = host.clone();
    engine.register_fn(
        "figure2",
        move |gan: GanHandle, data: DataHandle, opts: Map| figure2(&h, &gan, &data, &opts),
    );
    engine.register_fn(
        "interpolate",
        |gan: GanHandle, z0: Samples, z1: Samples, steps: INT| -> RhaiResult<Samples> {
            let c = gan.lock();
            let steps = steps_arg(steps, "interpolate(gan, z0, z1, steps)")?;
            interpolate(
                &c,
                &z0,
                &z1,
                steps,
                c.image,
                "interpolate(gan, z0, z1, steps)",
            )
        },
    );
    let h = host.clone();
    engine.register_fn("figure3", move |gan: GanHandle, opts: Map| {
        figure3(&h, &gan, &opts)
    });
    let h = host.clone();
    engine.register_fn(
        "plot_lines",
        move |file: &str, panels: Array, opts: Map| -> RhaiResult<Map> {
            plot_lines(&h, file, &panels, &opts)
        },
    );
    let h = host.clone();
    engine.register_fn(
        "plot_lines",
        move |file: &str, panels: Array| -> RhaiResult<Map> {
            plot_lines(&h, file, &panels, &Map::new())
        },
    );
    let h = host.clone();
    engine.register_fn(
        "load_weights",
        move |gan: GanHandle, path: &str| -> RhaiResult<()> {
            let file = weights_path(&h, path)?;
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

fn steps_arg(steps: INT, what: &str) -> RhaiResult<usize> {
    if !(2..=1000).contains(&steps) {
        return err(format!(
            "{what}: steps must be between 2 and 1000 (both ends are included), got {steps}"
        ));
    }
    Ok(steps as usize)
}

/// `gan.pg_density(xs, #{ z_points })`: p_g at each x by change of variables.
fn pg_density(gan: &GanHandle, xs: &Array, opts: &Map) -> RhaiResult<Array> {
    let o = Opts::new(opts, "pg_density()", &["z_points"])?;
    let zp = o.count("z_points", 20_001, 2)? as usize;
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

/// `gan.value(data, n)`: V(D, G) on n real rows (all rows when n ≥ rows, else a random subset)
/// and n fresh samples of G, everything in evaluation mode.
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
    let rows = d.rows();
    let n = n.unwrap_or(rows).max(1);
    // real rows, noise and G's images are held whole; G and D run on them in chunks
    let width = 2 * c.gan.data_dim() + c.gan.noise_dim();
    held(&c.gan, n, Through::Output(width), what)?;
    let real: Vec<f32> = if n >= rows {
        d.x.clone()
    } else {
        let mut rng = stream(c.gan.seed, Purpose::Data, 1 << 40 | c.gan.samples_drawn);
        let idx = rand::seq::index::sample(&mut rng, rows, n).into_vec();
        d.gather(&idx)
    };
    let z = draw_noise(&mut c.gan, n);
    let v = theory::value(&c.gan, &real, &z);
    let mut m = Map::new();
    m.insert("v".into(), Dynamic::from(v.v));
    m.insert("v_plus_log4".into(), Dynamic::from(v.v + 4f64.ln()));
    m.insert("minus_log4".into(), Dynamic::from(-(4f64.ln())));
    m.insert("e_log_d_real".into(), Dynamic::from(v.e_log_d_real));
    m.insert(
        "e_log_one_minus_d_fake".into(),
        Dynamic::from(v.e_log_one_minus_d_fake),
    );
    m.insert("se".into(), Dynamic::from(v.se));
    m.insert("n_real".into(), Dynamic::from(v.n_real as INT));
    m.insert("n_fake".into(), Dynamic::from(v.n_fake as INT));
    Ok(m)
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
    let xs = linspace(lo, hi, points.max(2));
    let d = d_at(&c.gan, &xs);
    let (imin, imax) = argmin_max(&d);
    let mut m = Map::new();
    m.insert("min".into(), Dynamic::from(d[imin]));
    m.insert("max".into(), Dynamic::from(d[imax]));
    m.insert("at_min".into(), Dynamic::from(xs[imin]));
    m.insert("at_max".into(), Dynamic::from(xs[imax]));
    m.insert(
        "mean".into(),
        Dynamic::from(d.iter().sum::<f64>() / d.len() as f64),
    );
    m.insert("lo".into(), Dynamic::from(lo));
    m.insert("hi".into(), Dynamic::from(hi));
    m.insert("points".into(), Dynamic::from(xs.len() as INT));
    Ok(m)
}

fn argmin_max(v: &[f64]) -> (usize, usize) {
    let mut mn = 0;
    let mut mx = 0;
    for (i, &x) in v.iter().enumerate() {
        if x < v[mn] {
            mn = i;
        }
        if x > v[mx] {
            mx = i;
        }
    }
    (mn, mx)
}

/// `density_ratio_check(gan, mean, std, #{ mass, points, z_points, range })`: Proposition 1.
fn density_ratio_check(gan: &GanHandle, mean: f64, std: f64, opts: &Map) -> RhaiResult<Map> {
    let call = "density_ratio_check()";
    let o = Opts::new(opts, call, &["mass", "points", "z_points", "range"])?;
    check_normal(mean, std, "density_ratio_check(gan, mean, std)")?;
    let mass = mass_opt(&o, call)?;
    let points = o.count("points", 401, 2)? as usize;
    let zp = o.count("z_points", 20_001, 2)? as usize;
    if points > MAX_ROWS || zp > MAX_ROWS {
        return err(format!(
            "options `points` and `z_points` of {call} are at most {MAX_ROWS}"
        ));
    }
    let (lo, hi) = match range_opt(&o, call)? {
        Some(r) => r,
        None => normal_interval(mean, std, mass),
    };
    let c = gan.lock();
    one_d(&c.gan, call)?;
    let xs = linspace(lo, hi, points);
    let d = d_at(&c.gan, &xs);
    let (pg, (s_lo, s_hi)) =
        theory::pg_density_1d(&c.gan, &xs, zp).or_else(|e| anyhow_err(call, e))?;
    let dstar: Vec<f64> = xs
        .iter()
        .zip(&pg)
        .map(|(&x, &g)| {
            let p = normal_pdf(x, mean, std);
            p / (p + g)
        })
        .collect();
    let dev: Vec<f64> = d.iter().zip(&dstar).map(|(a, b)| (a - b).abs()).collect();
    let (_, imax) = argmin_max(&dev);
    let (dmin, dmax) = argmin_max(&d);
    let (smin, smax) = argmin_max(&dstar);
    let method = match c.gan.spec.noise {
        Noise::Uniform { .. } => format!(
            "change of variables on a {zp}-point z grid over the uniform prior's support (sum over preimages)"
        ),
        Noise::Gaussian { .. } => format!(
            "change of variables on a {zp}-point z grid over ±8 std of the Gaussian prior (sum over preimages)"
        ),
    };
    let mut m = Map::new();
    m.insert("max_abs_dev".into(), Dynamic::from(dev[imax]));
    m.insert(
        "mean_abs_dev".into(),
        Dynamic::from(dev.iter().sum::<f64>() / dev.len() as f64),
    );
    m.insert("at".into(), Dynamic::from(xs[imax]));
    m.insert("d_at".into(), Dynamic::from(d[imax]));
    m.insert("dstar_at".into(), Dynamic::from(dstar[imax]));
    m.insert("d_min".into(), Dynamic::from(d[dmin]));
    m.insert("d_max".into(), Dynamic::from(d[dmax]));
    m.insert("dstar_min".into(), Dynamic::from(dstar[smin]));
    m.insert("dstar_max".into(), Dynamic::from(dstar[smax]));
    m.insert("lo".into(), Dynamic::from(lo));
    m.insert("hi".into(), Dynamic::from(hi));
    m.insert("mass".into(), Dynamic::from(mass));
    m.insert("points".into(), Dynamic::from(points as INT));
    m.insert("pg_support_lo".into(), Dynamic::from(s_lo));
    m.insert("pg_support_hi".into(), Dynamic::from(s_hi));
    // Outside p_g's support D* is 1: a region reaching past it holds a jump no smooth D follows.
    m.insert(
        "region_in_pg_support".into(),
        Dynamic::from(s_lo <= lo && hi <= s_hi),
    );
    m.insert("pg_method".into(), Dynamic::from(method));
    Ok(m)
}

fn optimizers(o: &Opts, default: OptimizerSpec) -> RhaiResult<(OptimizerSpec, OptimizerSpec)> {
    let both = optimizer_opt(o, "opt")?;
    let d = optimizer_opt(o, "d_opt")?
        .or_else(|| both.clone())
        .unwrap_or_else(|| default.clone());
    let g = optimizer_opt(o, "g_opt")?.or(both).unwrap_or(default);
    Ok((d, g))
}

fn default_adam() -> OptimizerSpec {
    OptimizerSpec::Adam {
        lr: Schedule::constant(1e-3),
        beta1: 0.5,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
    }
}

fn check_data(c: &GanCell, data: &DataHandle, what: &str) -> RhaiResult<()> {
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

/// Mean of the last tenth (at least one, at most 100) of a trace.
fn tail_mean(v: &[f64]) -> f64 {
    let k = (v.len() / 10).clamp(1, 100).min(v.len().max(1));
    let t = &v[v.len().saturating_sub(k)..];
    t.iter().sum::<f64>() / t.len().max(1) as f64
}

/// `gan.train_d(data, #{ steps, batch, opt, record })`: D alone, G frozen.
fn train_d(host: &Host, gan: &GanHandle, data: &DataHandle, opts: &Map) -> RhaiResult<Map> {
    let call = "train_d()";
    let o = Opts::new(opts, call, &["steps", "batch", "opt", "record"])?;
    let steps = o.count("steps", 1000, 1)?;
    let batch = o.count("batch", 100, 1)? as usize;
    let opt = optimizer_opt(&o, "opt")?.unwrap_or_else(default_adam);
    let record = o.bool("record", false)?;
    let mut c = gan.lock();
    check_data(&c, data, call)?;
    let mut state = OptimizerState::default();
    let r = theory::train_d(
        &mut c.gan,
        &data.0.x,
        data.0.dim,
        steps,
        batch,
        &opt,
        &mut state,
        &mut || host.interrupted(),
    )
    .or_else(|e| anyhow_err(call, e))?;
    if r.steps < steps {
        return err(format!(
            "{call}: {} after {} of {steps} steps; D keeps the state of the last full step",
            host.stopped_how(),
            r.steps
        ));
    }
    let mut m = Map::new();
    m.insert("steps".into(), Dynamic::from(r.steps as INT));
    m.insert("d_loss_first".into(), Dynamic::from(r.d_loss[0]));
    m.insert("d_loss".into(), Dynamic::from(tail_mean(&r.d_loss)));
    m.insert("d_real".into(), Dynamic::from(tail_mean(&r.d_real)));
    m.insert("d_fake".into(), Dynamic::from(tail_mean(&r.d_fake)));
    if record {
        let mut t = Map::new();
        t.insert("d_loss".into(), Dynamic::from_array(floats(&r.d_loss)));
        t.insert("d_real".into(), Dynamic::from_array(floats(&r.d_real)));
        t.insert("d_fake".into(), Dynamic::from_array(floats(&r.d_fake)));
        m.insert("trace".into(), Dynamic::from_map(t));
    }
    Ok(m)
}

fn loss_opt(o: &Opts, key: &str, default: GanLoss, call: &str) -> RhaiResult<GanLoss> {
    let name = o.string(key, default.name())?;
    GanLoss::parse(&name).ok_or(()).or_else(|_| {
        err(format!(
            "option `{key}` of {call}: unknown loss \"{name}\"; use one of {}",
            GanLoss::NAMES.map(|n| format!("\"{n}\"")).join(", ")
        ))
    })
}

/// `gan.g_grad_norm(#{ n, loss, z })`: ‖∇θ_G L_G‖ on G's images of `n` fixed noise rows (or the
/// rows `z`), D in evaluation mode: `norm` for `loss` (default: the GAN's own), and always
/// `saturating` and `non_saturating` for the two cross-entropy G losses at the same state.
fn g_grad_norm(gan: &GanHandle, opts: &Map) -> RhaiResult<Map> {
    let call = "g_grad_norm()";
    let o = Opts::new(opts, call, &["n", "loss", "z"])?;
    let c = gan.lock();
    let loss = loss_opt(&o, "loss", c.gan.spec.loss, call)?;
    let n = o.opt_count("n", 1)?;
    let z: Vec<f32> = match o.custom::<Samples>("z", "noise rows (Samples from gan.noise(n))")? {
        Some(z) => {
            if z.dim != c.gan.noise_dim() {
                return err(format!(
                    "option `z` of {call}: rows have {} values, G takes {}",
                    z.dim,
                    c.gan.noise_dim()
                ));
            }
            if n.is_some() {
                return err(format!("{call}: give `n` or `z`, not both"));
            }
            z.x.to_vec()
        }
        None => {
            let n = n.unwrap_or(100) as usize;
            if n > 100_000 {
                return err(format!("option `n` of {call} is at most 100000, got {n}"));
            }
            c.gan.fixed_noise(n)
        }
    };
    held(&c.gan, z.len() / c.gan.noise_dim(), Through::GradGD, call)?;
    let (sat, d) = theory::g_grad_norm(&c.gan, GanLoss::Saturating, &z);
    let (ns, _) = theory::g_grad_norm(&c.gan, GanLoss::NonSaturating, &z);
    let norm = match loss {
        GanLoss::Saturating => sat,
        GanLoss::NonSaturating => ns,
        other => theory::g_grad_norm(&c.gan, other, &z).0,
    };
    let mut m = Map::new();
    m.insert("norm".into(), Dynamic::from(norm));
    m.insert("saturating".into(), Dynamic::from(sat));
    m.insert("non_saturating".into(), Dynamic::from(ns));
    m.insert("d_fake".into(), Dynamic::from(d));
    m.insert("loss".into(), Dynamic::from(loss.name().to_string()));
    m.insert(
        "n".into(),
        Dynamic::from((z.len() / c.gan.noise_dim()) as INT),
    );
    Ok(m)
}

/// A gradient probe: the game's step, ‖∇ saturating‖, ‖∇ non-saturating‖, mean D(G(z)).
type Probe = (u64, f64, f64, f64);

/// Records every step of `train_steps` and probes G's gradient now and then.
struct Recorder<'a> {
    host: &'a Host,
    name: String,
    want: u64,
    steps: Vec<(u64, StepMetrics)>,
    probe_every: u64,
    probe_z: Vec<f32>,
    probes: Vec<Probe>,
}

impl Recorder<'_> {
    fn probe(&mut self, gan: &Gan) {
        if self.probe_every == 0 {
            return;
        }
        let (sat, d) = theory::g_grad_norm(gan, GanLoss::Saturating, &self.probe_z);
        let (ns, _) = theory::g_grad_norm(gan, GanLoss::NonSaturating, &self.probe_z);
        self.probes.push((gan.step, sat, ns, d));
    }
}

impl FitObserver for Recorder<'_> {
    fn on_step(&mut self, gan: &Gan, m: &StepMetrics, done: u64, total: u64) -> Control {
        self.steps.push((gan.step, *m));
        let n = self.steps.len() as u64;
        if self.probe_every > 0 && (n.is_multiple_of(self.probe_every) || n == self.want) {
            self.probe(gan);
        }
        if n.is_multiple_of(20) || n == self.want {
            self.host.sink.progress(&Progress {
                gan: self.name.clone(),
                epoch: gan.epoch + 1,
                epochs: gan.epoch + 1,
                done,
                total,
                d_loss: m.d_loss,
                g_loss: m.g_loss,
            });
        }
        if n >= self.want || self.host.interrupted() {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}

/// `gan.train_steps(data, #{ steps, batch, opt, d_opt, g_opt, probe_every, probe_n })`: exactly
/// `steps` iterations of the game as `fit` runs them (same minibatch order, same update; epochs
/// roll over and are added to the history), returning every step's metrics, and every
/// `probe_every` steps (and before the first) the gradient norms of both G losses on `probe_n`
/// fixed noise rows. A study tool: it writes no metrics file, checkpoint or weights.
fn train_steps(host: &Host, gan: &GanHandle, data: &DataHandle, opts: &Map) -> RhaiResult<Map> {
    let call = "train_steps()";
    let o = Opts::new(
        opts,
        call,
        &[
            "steps",
            "batch",
            "opt",
            "d_opt",
            "g_opt",
            "probe_every",
            "probe_n",
        ],
    )?;
    let steps = o.count("steps", 100, 1)?;
    let batch = o.count("batch", 100, 1)? as usize;
    let (d_opt, g_opt) = optimizers(&o, OptimizerSpec::paper_sgd())?;
    let probe_every = o.count("probe_every", 0, 0)?;
    let probe_n = o.count("probe_n", 100, 1)? as usize;
    if probe_n > 100_000 {
        return err(format!(
            "option `probe_n` of {call} is at most 100000, got {probe_n}"
        ));
    }
    let mut c = gan.lock();
    check_data(&c, data, call)?;
    let d = data.0.clone();
    let fit = FitSpec {
        epochs: u64::MAX,
        batch,
        d_opt,
        g_opt,
        steps_per_epoch: None,
    };
    Trainer::try_check(&c.gan, &d.x, d.dim, &fit).or_else(|e| anyhow_err(call, e))?;
    c.image = d.image.or(c.image);
    let mut rec = Recorder {
        host,
        name: c.name.clone(),
        want: steps,
        steps: Vec::with_capacity(steps as usize),
        probe_every,
        probe_z: c.gan.fixed_noise(probe_n),
        probes: Vec::new(),
    };
    if probe_every > 0 {
        rec.probe(&c.gan);
    }
    while (rec.steps.len() as u64) < steps {
        let (m, _) = Trainer::run_epoch(&mut c.gan, &d.x, d.dim, &fit, &mut rec)
            .or_else(|e| anyhow_err(call, e))?;
        if let Some(m) = m {
            c.history.push(m.clone());
            host.sink.epoch(&c.name, &m);
        }
        if host.interrupted() {
            host.sink.fit_end(&c.name);
            return err(format!(
                "{call}: {} after {} of {steps} steps; `{}` keeps the state of the last full step",
                host.stopped_how(),
                rec.steps.len(),
                c.name
            ));
        }
    }
    host.sink.fit_end(&c.name);
    let col = |f: &dyn Fn(&StepMetrics) -> f64| -> Dynamic {
        Dynamic::from_array(rec.steps.iter().map(|(_, m)| Dynamic::from(f(m))).collect())
    };
    let mut m = Map::new();
    m.insert(
        "step".into(),
        Dynamic::from_array(
            rec.steps
                .iter()
                .map(|(s, _)| Dynamic::from(*s as INT))
                .collect(),
        ),
    );
    m.insert("d_loss".into(), col(&|m| m.d_loss));
    m.insert("g_loss".into(), col(&|m| m.g_loss));
    m.insert("d_real".into(), col(&|m| m.d_real));
    m.insert("d_fake".into(), col(&|m| m.d_fake));
    if probe_every > 0 {
        let mut p = Map::new();
        let pc = |f: &dyn Fn(&Probe) -> Dynamic| -> Dynamic {
            Dynamic::from_array(rec.probes.iter().map(f).collect())
        };
        p.insert("step".into(), pc(&|t| Dynamic::from(t.0 as INT)));
        p.insert("saturating".into(), pc(&|t| Dynamic::from(t.1)));
        p.insert("non_saturating".into(), pc(&|t| Dynamic::from(t.2)));
        p.insert("d_fake".into(), pc(&|t| Dynamic::from(t.3)));
        m.insert("grad_norms".into(), Dynamic::from_map(p));
    }
    Ok(m)
}

/// `figure1_panel(gan, data, #{ label, mean, std, range, points, samples, arrows })`.
fn figure1_panel(gan: &GanHandle, data: &DataHandle, opts: &Map) -> RhaiResult<Figure1Panel> {
    let call = "figure1_panel()";
    let o = Opts::new(
        opts,
        call,
        &[
            "label", "mean", "std", "range", "points", "samples", "arrows",
        ],
    )?;
    let label = o.string("label", "")?;
    let mean = o.opt_f64("mean")?;
    let std = o.opt_f64("std")?;
    let exact = match (mean, std) {
        (Some(m), Some(s)) => {
            check_normal(m, s, call)?;
            Some((m, s))
        }
        (None, None) => None,
        _ => {
            return err(format!(
                "{call}: give both `mean` and `std` (the exact p_data), or neither"
            ))
        }
    };
    let points = o.count("points", 400, 2)? as usize;
    let samples = o.count("samples", 20_000, 1)? as usize;
    let arrows = o.count("arrows", 24, 1)? as usize;
    if points > 100_000 || samples > MAX_ROWS || arrows > 10_000 {
        return err(format!(
            "{call}: at most 100000 `points`, {MAX_ROWS} `samples` and 10000 `arrows`"
        ));
    }
    let mut c = gan.lock();
    one_d(&c.gan, call)?;
    check_data(&c, data, call)?;
    if c.gan.noise_dim() != 1 {
        return err(format!(
            "{call}: the z→x mapping is drawn for 1-D noise; this GAN's noise has {} dimensions",
            c.gan.noise_dim()
        ));
    }
    let (lo, hi) = match range_opt(&o, call)? {
        Some(r) => r,
        None => {
            let (m, s) = exact.unwrap_or((data.0.mean(), data.0.std().max(1e-6)));
            (m - 4.0 * s, m + 4.0 * s)
        }
    };
    let grid = linspace(lo, hi, points);
    let d_on_grid = d_at(&c.gan, &grid);
    let z_noise = draw_noise(&mut c.gan, samples);
    let gen_x: Vec<f64> = theory::generate_chunked(&c.gan, &z_noise)
        .into_iter()
        .map(|v| v as f64)
        .collect();
    let (z0, z1) = match c.gan.spec.noise {
        Noise::Uniform { half_width, .. } => (-half_width, half_width),
        Noise::Gaussian { std, .. } => (-2.5 * std, 2.5 * std),
    };
    let z = linspace(z0, z1, arrows);
    let zf: Vec<f32> = z.iter().map(|&v| v as f32).collect();
    let g_of_z = c.gan.generate(&zf).into_iter().map(|v| v as f64).collect();
    let data_x = data.0.x.iter().take(20_000).map(|&v| v as f64).collect();
    let data_pdf_on_grid = exact.map(|(m, s)| grid.iter().map(|&x| normal_pdf(x, m, s)).collect());
    Ok(Figure1Panel {
        label,
        data_x,
        gen_x,
        grid,
        d_on_grid,
        z,
        g_of_z,
        data_pdf_on_grid,
    })
}

/// `figure1([panels…], #{ file, width, height })`.
fn figure1(host: &Host, panels: &Array, opts: &Map) -> RhaiResult<Map> {
    let call = "figure1()";
    let o = Opts::new(opts, call, &["file", "width", "height"])?;
    let file = o.string("file", "figure1.png")?;
    let ps: Vec<Figure1Panel> = panels
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.clone().try_cast::<Figure1Panel>().ok_or(()).or_else(|_| {
                err(format!(
                    "{call}: element {i} of the panel array must be a Figure1Panel (from figure1_panel(…)), got {} `{v}`",
                    type_name(v)
                ))
            })
        })
        .collect::<RhaiResult<_>>()?;
    if ps.is_empty() {
        return err(format!("{call}: needs at least one panel"));
    }
    let width = o.count("width", 300 * ps.len() as u64, 50)?;
    let height = o.count("height", 340, 50)?;
    if width > 8000 || height > 8000 {
        return err(format!(
            "{call}: width and height are at most 8000 pixels, got {width}×{height}"
        ));
    }
    let img = viz::figure1(&ps, width as u32, height as u32).or_else(|e| anyhow_err(call, e))?;
    emit_png(host, &file, &png_of(&img, call)?)?;
    let mut m = Map::new();
    m.insert("file".into(), Dynamic::from(file));
    m.insert("width".into(), Dynamic::from(img.width() as INT));
    m.insert("height".into(), Dynamic::from(img.height() as INT));
    m.insert("panels".into(), Dynamic::from(ps.len() as INT));
    Ok(m)
}

/// `figure2(gan, data, #{ rows, cols, file, scale, samples })`.
fn figure2(host: &Host, gan: &GanHandle, data: &DataHandle, opts: &Map) -> RhaiResult<Map> {
    let call = "figure2()";
    let o = Opts::new(opts, call, &["rows", "cols", "file", "scale", "samples"])?;
    let rows: usize = o.count_in("rows", 6, 1, 100)?;
    let cols: usize = o.count_in("cols", 6, 2, 100)?;
    let scale: u32 = o.count_in("scale", 2, 1, 16)?;
    let file = o.string("file", "figure2.png")?;
    // read now: every option's type is checked before anything else can fail
    let samples = o.custom::<Samples>("samples", "Samples (e.g. gan.sample(n))")?;
    if rows > 100 || cols > 100 || scale > 16 {
        return err(format!(
            "{call}: at most 100 `rows`, 100 `cols` and `scale` 16, got {rows}, {cols}, {scale}"
        ));
    }
    let d = &data.0;
    let shape = d.image.ok_or(()).or_else(|_| {
        err(format!(
            "{call}: `{}` is not an image dataset; figure 2 shows images next to their nearest training image",
            d.name
        ))
    })?;
    let need = rows * (cols - 1);
    let mut c = gan.lock();
    check_data(&c, data, call)?;
    let x: Vec<f32> = match samples {
        Some(s) => {
            if s.dim != d.dim || s.rows() < need {
                return err(format!(
                    "option `samples` of {call}: needs at least {need} rows of {} values ({rows} rows × {} samples), got {} rows of {}",
                    d.dim,
                    cols - 1,
                    s.rows(),
                    s.dim
                ));
            }
            s.x[..need * d.dim].to_vec()
        }
        None => {
            held(&c.gan, need, Through::G, call)?;
            c.gan.sample(need)
        }
    };
    drop(c);
    let (img, nearest) =
        viz::figure2_grid(&x, &d.x, shape, rows, cols, scale).or_else(|e| anyhow_err(call, e))?;
    let dist: Vec<f64> = nearest
        .iter()
        .enumerate()
        .map(|(r, &t)| {
            let q = &x[(r * (cols - 1) + cols - 2) * d.dim..][..d.dim];
            let b = d.row(t);
            q.iter()
                .zip(b)
                .map(|(a, b)| ((a - b) as f64).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    emit_png(host, &file, &png_of(&img, call)?)?;
    let mut m = Map::new();
    m.insert("file".into(), Dynamic::from(file));
    m.insert("nearest".into(), Dynamic::from_array(ints(&nearest)));
    m.insert("distances".into(), Dynamic::from_array(floats(&dist)));
    m.insert(
        "samples".into(),
        Dynamic::from(Samples {
            x: Arc::new(x),
            dim: d.dim,
            image: Some(shape),
        }),
    );
    m.insert("rows".into(), Dynamic::from(rows as INT));
    m.insert("cols".into(), Dynamic::from(cols as INT));
    m.insert("width".into(), Dynamic::from(img.width() as INT));
    m.insert("height".into(), Dynamic::from(img.height() as INT));
    Ok(m)
}

/// G's images along straight lines from each row of `z0` to the same row of `z1`.
fn interpolate(
    c: &GanCell,
    z0: &Samples,
    z1: &Samples,
    steps: usize,
    image: Option<ImageShape>,
    what: &str,
) -> RhaiResult<Samples> {
    let nd = c.gan.noise_dim();
    for (name, z) in [("z0", z0), ("z1", z1)] {
        if z.dim != nd {
            return err(format!(
                "{what}: {name} rows have {} values, G takes {nd} (draw them with gan.noise(n))",
                z.dim
            ));
        }
    }
    if z0.rows() != z1.rows() || z0.rows() == 0 {
        return err(format!(
            "{what}: z0 and z1 need the same number of rows (≥ 1), got {} and {}",
            z0.rows(),
            z1.rows()
        ));
    }
    if z0.rows() * steps > MAX_ROWS {
        return err(format!(
            "{what}: {} rows × {steps} steps is more than {MAX_ROWS} images",
            z0.rows()
        ));
    }
    held(
        &c.gan,
        z0.rows() * steps,
        Through::Output(c.gan.data_dim() + nd),
        what,
    )?;
    let z = theory::lerp_rows(&z0.x, &z1.x, nd, steps);
    Ok(Samples {
        x: Arc::new(theory::generate_chunked(&c.gan, &z)),
        dim: c.gan.data_dim(),
        image,
    })
}

/// `figure3(gan, #{ rows, steps, file, scale, z0, z1, like })`.
fn figure3(host: &Host, gan: &GanHandle, opts: &Map) -> RhaiResult<Map> {
    let call = "figure3()";
    let o = Opts::new(
        opts,
        call,
        &["rows", "steps", "file", "scale", "z0", "z1", "like"],
    )?;
    let steps = steps_arg(o.count("steps", 10, 0)? as INT, call)?;
    let scale: u32 = o.count_in("scale", 2, 1, 16)?;
    let file = o.string("file", "figure3.png")?;
    let like = o.custom::<DataHandle>("like", "an image dataset, e.g. mnist(\"train\")")?;
    let z0 = o.custom::<Samples>("z0", "noise rows (Samples from gan.noise(n))")?;
    let z1 = o.custom::<Samples>("z1", "noise rows (Samples from gan.noise(n))")?;
    let rows = o.opt_count("rows", 1)?.map(|r| r as usize);
    let mut c = gan.lock();
    let shape = image_shape(&c, like.as_ref(), call)?;
    if shape.len() != c.gan.data_dim() {
        return err(format!(
            "{call}: images of {}×{}×{} have {} values, G makes {}",
            shape.height,
            shape.width,
            shape.channels,
            shape.len(),
            c.gan.data_dim()
        ));
    }
    let (z0, z1) = match (z0, z1) {
        (Some(a), Some(b)) => {
            if let Some(r) = rows.filter(|&r| r != a.rows()) {
                return err(format!(
                    "{call}: `rows` is {r} but z0 has {} rows",
                    a.rows()
                ));
            }
            (a, b)
        }
        (None, None) => {
            let rows = rows.unwrap_or(6);
            if rows > 100 {
                return err(format!(
                    "option `rows` of {call} is at most 100, got {rows}"
                ));
            }
            let nd = c.gan.noise_dim();
            let mk = |x: Vec<f32>| Samples {
                x: Arc::new(x),
                dim: nd,
                image: None,
            };
            let a = mk(draw_noise(&mut c.gan, rows));
            let b = mk(draw_noise(&mut c.gan, rows));
            (a, b)
        }
        _ => return err(format!("{call}: give both `z0` and `z1`, or neither")),
    };
    let imgs = interpolate(&c, &z0, &z1, steps, Some(shape), call)?;
    drop(c);
    let img =
        viz::interpolation_grid(&imgs.x, shape, steps, scale).or_else(|e| anyhow_err(call, e))?;
    emit_png(host, &file, &png_of(&img, call)?)?;
    let mut m = Map::new();
    m.insert("file".into(), Dynamic::from(file));
    m.insert("rows".into(), Dynamic::from(z0.rows() as INT));
    m.insert("steps".into(), Dynamic::from(steps as INT));
    m.insert("width".into(), Dynamic::from(img.width() as INT));
    m.insert("height".into(), Dynamic::from(img.height() as INT));
    m.insert("z0".into(), Dynamic::from(z0));
    m.insert("z1".into(), Dynamic::from(z1));
    m.insert("images".into(), Dynamic::from(imgs));
    Ok(m)
}

/// `plot_lines(file, [#{ title, y_label, series: [#{ name, ys, xs }] }, …], #{ x_label, width, height })`:
/// line charts stacked top to bottom, sharing the x axis (xs default to 0, 1, 2, …).
fn plot_lines(host: &Host, file: &str, panels: &Array, opts: &Map) -> RhaiResult<Map> {
    let call = "plot_lines()";
    let o = Opts::new(opts, call, &["x_label", "width", "height"])?;
    let x_label = o.string("x_label", "step")?;
    if panels.is_empty() || panels.len() > 12 {
        return err(format!(
            "{call}: needs 1 to 12 panels, got {}",
            panels.len()
        ));
    }
    let width = o.count("width", 800, 100)?;
    let height = o.count("height", 280 * panels.len() as u64, 100)?;
    if width > 8000 || height > 8000 {
        return err(format!(
            "{call}: width and height are at most 8000 pixels, got {width}×{height}"
        ));
    }
    let mut built = Vec::new();
    for (i, p) in panels.iter().enumerate() {
        let Some(pm) = p.clone().try_cast::<Map>() else {
            return err(format!(
                "{call}: panel {i} must be an object map #{{ title, y_label, series }}, got {} `{p}`",
                type_name(p)
            ));
        };
        let po = Opts::new(&pm, "a plot_lines() panel", &["title", "y_label", "series"])?;
        let title = po.string("title", "")?;
        let y_label = po.string("y_label", "")?;
        let series = match po.get("series") {
            None => {
                return err(format!(
                    "{call}: panel {i} needs `series`, an array of #{{ name, ys }} maps"
                ))
            }
            Some(v) => match v.clone().try_cast::<Array>() {
                Some(a) => a,
                None => {
                    return err(format!(
                        "{call}: `series` of panel {i} must be an array of #{{ name, ys }} maps, got {} `{v}`",
                        type_name(v)
                    ))
                }
            },
        };
        let mut out = Vec::new();
        for (j, sv) in series.iter().enumerate() {
            let Some(sm) = sv.clone().try_cast::<Map>() else {
                return err(format!(
                    "{call}: series {j} of panel {i} must be an object map #{{ name, ys, xs }}, got {} `{sv}`",
                    type_name(sv)
                ));
            };
            let so = Opts::new(&sm, "a plot_lines() series", &["name", "ys", "xs"])?;
            let name = so.string("name", "")?;
            let arr = |key: &str| -> RhaiResult<Option<Vec<f64>>> {
                match so.get(key) {
                    None => Ok(None),
                    Some(v) => match v.clone().try_cast::<Array>() {
                        Some(a) => a
                            .iter()
                            .enumerate()
                            .map(|(k, x)| {
                                number(x).ok_or(()).or_else(|_| {
                                    err(format!(
                                        "{call}: `{key}` of series {j} of panel {i}: element {k} must be a number, got {} `{x}`",
                                        type_name(x)
                                    ))
                                })
                            })
                            .collect::<RhaiResult<Vec<f64>>>()
                            .map(Some),
                        None => err(format!(
                            "{call}: `{key}` of series {j} of panel {i} must be an array of numbers, got {} `{v}`",
                            type_name(v)
                        )),
                    },
                }
            };
            let Some(ys) = arr("ys")? else {
                return err(format!("{call}: series {j} of panel {i} needs `ys`"));
            };
            let s = match arr("xs")? {
                Some(xs) => {
                    if xs.len() != ys.len() {
                        return err(format!(
                            "{call}: series {j} of panel {i} has {} xs but {} ys",
                            xs.len(),
                            ys.len()
                        ));
                    }
                    viz::Series::new(name, xs, ys)
                }
                None => viz::Series::from_ys(name, ys),
            };
            out.push(s);
        }
        built.push((title, y_label, out));
    }
    let refs: Vec<(&str, &str, Vec<viz::Series>)> = built
        .iter()
        .map(|(t, y, s)| (t.as_str(), y.as_str(), s.clone()))
        .collect();
    let img = viz::line_plots(&refs, &x_label, width as u32, height as u32)
        .or_else(|e| anyhow_err(call, e))?;
    emit_png(host, file, &png_of(&img, call)?)?;
    let mut m = Map::new();
    m.insert("file".into(), Dynamic::from(file.to_string()));
    m.insert("width".into(), Dynamic::from(img.width() as INT));
    m.insert("height".into(), Dynamic::from(img.height() as INT));
    Ok(m)
}

/// A weights file a recipe may read: relative, inside the run directory (first) or the data
/// directory; no absolute paths, no `..`, no symlinks leading out.
fn weights_path(host: &Host, rel: &str) -> RhaiResult<PathBuf> {
    let p = Path::new(rel);
    if rel.is_empty()
        || p.components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return err(format!(
            "load_weights(): `{rel}`: recipes read weights only from inside the run directory or the data directory (a relative path, no `..`)"
        ));
    }
    let mut tried = Vec::new();
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Some(run) = &host.run {
        roots.push(run.path().to_path_buf());
    }
    roots.push(host.config.data_dir.clone());
    for root in roots {
        let full = root.join(p);
        if let (Ok(real), Ok(base)) = (full.canonicalize(), root.canonicalize()) {
            if !real.starts_with(&base) {
                return err(format!(
                    "load_weights(): `{rel}` leads outside {} (through a symlink)",
                    base.display()
                ));
            }
            if real.is_file() {
                return Ok(real);
            }
        }
        tried.push(full.display().to_string());
    }
    err(format!(
        "load_weights(): no file `{rel}` (looked for {})",
        tried.join(" and ")
    ))
}
