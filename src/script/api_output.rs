//! Outputs: sample batches, grids, plots and JSON files, written inside the run directory and
//! shown through the host's sink.

use std::sync::Arc;

use rhai::{Dynamic, Engine, Map, FLOAT, INT};

use super::host::Host;
use super::options::{err, RhaiResult};
use super::values::{DataHandle, GanHandle, Samples};
use crate::data::ImageShape;
use crate::engine::trainer::{check_rows_held, stack_values};
use crate::eval::ModeStats;
use crate::viz;

/// A PNG grid of rows shaped as images, `cols` per line, each pixel drawn 2×2.
pub fn grid_png(x: &[f32], shape: ImageShape, cols: usize) -> anyhow::Result<Vec<u8>> {
    viz::encode_png(&viz::sample_grid(x, shape, cols, 1, 2)?)
}

/// Writes `bytes` to `file` in the run directory (if any) and shows the image.
pub fn emit_png(host: &Host, file: &str, png: &[u8]) -> RhaiResult<()> {
    let saved = match &host.run {
        Some(run) => Some(
            run.write_output(file, png)
                .or_else(|e| err(format!("{e:#}")))?,
        ),
        None => None,
    };
    host.sink.image(file, png, saved.as_deref());
    Ok(())
}

fn image_of(s: &Samples, what: &str) -> RhaiResult<ImageShape> {
    s.image.ok_or(()).or_else(|_| {
        err(format!(
            "{what}: these rows are not images ({} features each); use plots for toy data",
            s.dim
        ))
    })
}

fn check_cols(cols: INT) -> RhaiResult<usize> {
    if !(1..=1000).contains(&cols) {
        return err(format!("cols must be between 1 and 1000, got {cols}"));
    }
    Ok(cols as usize)
}

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    engine.register_type_with_name::<Samples>("Samples");
    engine.register_get("rows", |s: &mut Samples| s.rows() as INT);
    engine.register_get("dim", |s: &mut Samples| s.dim as INT);
    engine.register_fn("mean", |s: &mut Samples| s.mean());
    engine.register_fn("std", |s: &mut Samples| s.std());
    engine.register_fn("min", |s: &mut Samples| {
        s.x.iter().fold(f32::INFINITY, |a, &b| a.min(b)) as FLOAT
    });
    engine.register_fn("max", |s: &mut Samples| {
        s.x.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as FLOAT
    });
    engine.register_fn("to_array", |s: &mut Samples| -> RhaiResult<rhai::Array> {
        if s.x.len() > 1_000_000 {
            return err(format!(
                "to_array(): {} values is too many for a script array",
                s.x.len()
            ));
        }
        Ok(s.x.iter().map(|&v| Dynamic::from(v as FLOAT)).collect())
    });
    engine.register_fn("to_string", |s: &mut Samples| s.summary());
    engine.register_fn("to_debug", |s: &mut Samples| {
        format!("Samples({} rows × {})", s.rows(), s.dim)
    });

    let h = host.clone();
    engine.register_fn(
        "save_grid",
        move |s: Samples, file: &str| -> RhaiResult<()> {
            let shape = image_of(&s, "save_grid()")?;
            emit_png(
                &h,
                file,
                &grid_png(&s.x, shape, 10).or_else(|e| err(format!("{e:#}")))?,
            )
        },
    );
    let h = host.clone();
    engine.register_fn(
        "save_grid",
        move |s: Samples, file: &str, cols: INT| -> RhaiResult<()> {
            let shape = image_of(&s, "save_grid()")?;
            emit_png(
                &h,
                file,
                &grid_png(&s.x, shape, check_cols(cols)?).or_else(|e| err(format!("{e:#}")))?,
            )
        },
    );
    let h = host.clone();
    engine.register_fn("show", move |s: Samples| -> RhaiResult<()> {
        let shape = image_of(&s, "show()")?;
        let png = grid_png(&s.x, shape, 10).or_else(|e| err(format!("{e:#}")))?;
        h.sink.image("samples", &png, None);
        Ok(())
    });
    let h = host.clone();
    engine.register_fn(
        "plot_history",
        move |gan: GanHandle, file: &str| -> RhaiResult<()> {
            let png = history_png(&gan).or_else(|e| err(format!("{e:#}")))?;
            emit_png(&h, file, &png)
        },
    );
    let h = host.clone();
    engine.register_fn(
        "scatter",
        move |gan: GanHandle, data: DataHandle, file: &str| -> RhaiResult<()> {
            let png = scatter_png(&gan, &data).or_else(|e| err(format!("scatter(): {e:#}")))?;
            emit_png(&h, file, &png)
        },
    );
    engine.register_fn(
        "mode_stats",
        |gan: GanHandle, data: DataHandle| -> RhaiResult<Map> {
            let s =
                mode_stats(&gan, &data, 2500).or_else(|e| err(format!("mode_stats(): {e:#}")))?;
            let mut m = Map::new();
            m.insert("modes".into(), Dynamic::from(s.modes as INT));
            m.insert("modes_covered".into(), Dynamic::from(s.covered as INT));
            m.insert("high_quality".into(), Dynamic::from(s.high_quality));
            m.insert("samples".into(), Dynamic::from(s.samples as INT));
            Ok(m)
        },
    );
    let h = host.clone();
    engine.register_fn(
        "write_json",
        move |file: &str, value: Map| -> RhaiResult<()> {
            let Some(run) = &h.run else {
                return err("write_json(): this session has no run directory");
            };
            let v: serde_json::Value = rhai::serde::from_dynamic(&Dynamic::from_map(value))?;
            let text =
                serde_json::to_string_pretty(&v).or_else(|e| err(format!("write_json(): {e}")))?;
            run.write_output(file, text.as_bytes())
                .or_else(|e| err(format!("write_json(): {e:#}")))?;
            Ok(())
        },
    );
}

/// D and G losses and D's outputs per epoch, two panels.
pub fn history_png(gan: &GanHandle) -> anyhow::Result<Vec<u8>> {
    let c = gan.lock();
    let xs: Vec<f64> = c.history.iter().map(|m| m.epoch as f64).collect();
    let s = |name: &str, f: &dyn Fn(&crate::engine::EpochMetrics) -> f64| viz::Series {
        name: name.into(),
        xs: xs.clone(),
        ys: c.history.iter().map(f).collect(),
    };
    let img = viz::line_plots(
        &[
            (
                "losses",
                "loss",
                vec![s("D loss", &|m| m.d_loss), s("G loss", &|m| m.g_loss)],
            ),
            (
                "discriminator outputs",
                "mean D",
                vec![s("D(x)", &|m| m.d_real), s("D(G(z))", &|m| m.d_fake)],
            ),
        ],
        "epoch",
        720,
        560,
    )?;
    viz::encode_png(&img)
}

/// Real (blue) and generated (red) points of 2-D data, 2,000 of each.
pub fn scatter_png(gan: &GanHandle, data: &DataHandle) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(
        data.0.dim == 2,
        "scatter needs 2-D data, this has {} features",
        data.0.dim
    );
    let fake = {
        let mut c = gan.lock();
        check_rows_held(2000, stack_values(&c.gan.spec.g))?;
        c.gan.sample(2000)
    };
    let pts = |v: &[f32]| v.chunks_exact(2).map(|p| [p[0], p[1]]).collect::<Vec<_>>();
    let n = data.0.rows().min(2000);
    let img = viz::scatter_2d(
        "real (blue) and generated (red)",
        &pts(&data.0.x[..n * 2]),
        &pts(&fake),
        560,
        560,
    )?;
    viz::encode_png(&img)
}

/// Mode coverage of `n` samples of `gan` on the labelled 2-D mixture `data` (see
/// [`crate::eval::modes`]).
pub fn mode_stats(gan: &GanHandle, data: &DataHandle, n: usize) -> anyhow::Result<ModeStats> {
    let (centres, sigma) = crate::eval::modes::mode_centres(&data.0)?;
    let fake = {
        let mut c = gan.lock();
        check_rows_held(n, stack_values(&c.gan.spec.g))?;
        c.gan.sample(n)
    };
    Ok(crate::eval::modes::mode_stats_of(&fake, &centres, sigma))
}
