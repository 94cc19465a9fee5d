//! The paper's Figures 1–3 as DSL functions: `figure1_panel(gan, data, #{…})` snapshots a 1-D
//! game and `figure1([…], #{…})` draws the panels; `figure2(gan, data, #{…})` shows samples with
//! each row's nearest training image; `interpolate(gan, z0, z1, steps)` and `figure3(gan, #{…})`
//! walk straight lines in z-space.

use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, Map, INT};

use super::api_output::emit_png;
use super::api_train::{held, Through};
use super::figure_options::{Figure1Opts, Figure1PanelOpts, Figure2Opts, Figure3Opts};
use super::host::Host;
use super::option_struct::{self, custom};
use super::options::{err, type_name, RhaiResult};
use super::paper_args::{
    anyhow_err, check_data, check_normal, floats, ints, map_of, one_d, png_of, range_opt, MAX_ROWS,
};
use super::values::{DataHandle, GanCell, GanHandle, Samples};
use crate::data::ImageShape;
use crate::paper::{self, Figure1PanelOptions};
use crate::viz::{self, Figure1Panel};

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    engine.register_type_with_name::<Figure1Panel>("Figure1Panel");
    engine.register_get("label", |p: &mut Figure1Panel| p.label.clone());
    engine.register_fn("to_string", |p: &mut Figure1Panel| {
        format!("Figure1Panel({:?}, {} grid points)", p.label, p.grid.len())
    });
    engine.register_fn("to_debug", |p: &mut Figure1Panel| {
        format!("Figure1Panel({:?})", p.label)
    });
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
}

fn steps_arg(steps: INT, what: &str) -> RhaiResult<usize> {
    if !(2..=1000).contains(&steps) {
        return err(format!(
            "{what}: steps must be between 2 and 1000 (both ends are included), got {steps}"
        ));
    }
    Ok(steps as usize)
}

/// The options of `figure1_panel`, checked.
fn figure1_panel_options(o: &Figure1PanelOpts, call: &str) -> RhaiResult<Figure1PanelOptions> {
    let def = Figure1PanelOptions::default();
    let label = o.label.clone();
    let exact = match (o.mean.map(|m| m.0), o.std.map(|s| s.0)) {
        (Some(m), Some(s)) => {
            check_normal(m, s, call)?;
            Some((m, s))
        }
        (None, None) => def.exact,
        _ => {
            return err(format!(
                "{call}: give both `mean` and `std` (the exact p_data), or neither"
            ))
        }
    };
    let points: usize = o.points.try_get("points", call)?;
    let samples: usize = o.samples.try_get("samples", call)?;
    let arrows: usize = o.arrows.try_get("arrows", call)?;
    if points > 100_000 || samples > MAX_ROWS || arrows > 10_000 {
        return err(format!(
            "{call}: at most 100000 `points`, {MAX_ROWS} `samples` and 10000 `arrows`"
        ));
    }
    Ok(Figure1PanelOptions {
        label,
        exact,
        range: None,
        points,
        samples,
        arrows,
    })
}

/// `figure1_panel(gan, data, #{ label, mean, std, range, points, samples, arrows })`.
fn figure1_panel(gan: &GanHandle, data: &DataHandle, opts: &Map) -> RhaiResult<Figure1Panel> {
    let call = "figure1_panel()";
    let o: Figure1PanelOpts = option_struct::parse(opts, call)?;
    let mut opts = figure1_panel_options(&o, call)?;
    let mut c = gan.lock();
    one_d(&c.gan, call)?;
    check_data(&c, data, call)?;
    if c.gan.noise_dim() != 1 {
        return err(format!(
            "{call}: the z→x mapping is drawn for 1-D noise; this GAN's noise has {} dimensions",
            c.gan.noise_dim()
        ));
    }
    opts.range = range_opt(o.range.as_ref(), call)?;
    Ok(paper::figure1_panel(&mut c.gan, &data.0, &opts))
}

/// `figure1([panels…], #{ file, width, height })`.
fn figure1(host: &Host, panels: &Array, opts: &Map) -> RhaiResult<Map> {
    let call = "figure1()";
    let o: Figure1Opts = option_struct::parse(opts, call)?;
    let file = o.file;
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
    let width = o.width.map_or(300 * ps.len() as u64, |w| w.0);
    let height = o.height.0;
    if width > 8000 || height > 8000 {
        return err(format!(
            "{call}: width and height are at most 8000 pixels, got {width}×{height}"
        ));
    }
    let img = viz::figure1(&ps, width as u32, height as u32).or_else(|e| anyhow_err(call, e))?;
    emit_png(host, &file, &png_of(&img, call)?)?;
    Ok(map_of([
        ("file", Dynamic::from(file)),
        ("width", Dynamic::from(img.width() as INT)),
        ("height", Dynamic::from(img.height() as INT)),
        ("panels", Dynamic::from(ps.len() as INT)),
    ]))
}

/// `figure2(gan, data, #{ rows, cols, file, scale, samples })`.
fn figure2(host: &Host, gan: &GanHandle, data: &DataHandle, opts: &Map) -> RhaiResult<Map> {
    let call = "figure2()";
    let o: Figure2Opts = option_struct::parse(opts, call)?;
    let rows: usize = o.rows.try_get("rows", call)?;
    let cols: usize = o.cols.try_get("cols", call)?;
    let scale: u32 = o.scale.try_get("scale", call)?;
    let file = o.file;
    // read now: every option's type is checked before anything else can fail
    let samples = custom::<Samples>(
        o.samples.as_ref(),
        "samples",
        call,
        "Samples (e.g. gan.sample(n))",
    )?;
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
    let dist = paper::nearest_distances(&x, d, &nearest, cols);
    emit_png(host, &file, &png_of(&img, call)?)?;
    let samples = Samples {
        x: Arc::new(x),
        dim: d.dim,
        image: Some(shape),
    };
    Ok(map_of([
        ("file", Dynamic::from(file)),
        ("nearest", Dynamic::from_array(ints(&nearest))),
        ("distances", Dynamic::from_array(floats(&dist))),
        ("samples", Dynamic::from(samples)),
        ("rows", Dynamic::from(rows as INT)),
        ("cols", Dynamic::from(cols as INT)),
        ("width", Dynamic::from(img.width() as INT)),
        ("height", Dynamic::from(img.height() as INT)),
    ]))
}

/// G's images along straight lines from each row of `z0` to the same row of `z1`, checked.
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
    Ok(Samples {
        x: Arc::new(paper::interpolate(&c.gan, &z0.x, &z1.x, steps)),
        dim: c.gan.data_dim(),
        image,
    })
}

/// The image shape of G's samples: `like`'s, else the one the GAN was fitted on.
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

/// `figure3(gan, #{ rows, steps, file, scale, z0, z1, like })`.
fn figure3(host: &Host, gan: &GanHandle, opts: &Map) -> RhaiResult<Map> {
    let call = "figure3()";
    let o: Figure3Opts = option_struct::parse(opts, call)?;
    let steps = steps_arg(o.steps.0 as INT, call)?;
    let scale: u32 = o.scale.try_get("scale", call)?;
    let file = o.file;
    let like = custom::<DataHandle>(
        o.like.as_ref(),
        "like",
        call,
        "an image dataset, e.g. mnist(\"train\")",
    )?;
    let noise = "noise rows (Samples from gan.noise(n))";
    let z0 = custom::<Samples>(o.z0.as_ref(), "z0", call, noise)?;
    let z1 = custom::<Samples>(o.z1.as_ref(), "z1", call, noise)?;
    let rows = o
        .rows
        .map(|r| r.try_get::<usize>("rows", call))
        .transpose()?;
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
            let a = mk(paper::draw_noise(&mut c.gan, rows));
            let b = mk(paper::draw_noise(&mut c.gan, rows));
            (a, b)
        }
        _ => return err(format!("{call}: give both `z0` and `z1`, or neither")),
    };
    let imgs = interpolate(&c, &z0, &z1, steps, Some(shape), call)?;
    drop(c);
    let img =
        viz::interpolation_grid(&imgs.x, shape, steps, scale).or_else(|e| anyhow_err(call, e))?;
    emit_png(host, &file, &png_of(&img, call)?)?;
    Ok(map_of([
        ("file", Dynamic::from(file)),
        ("rows", Dynamic::from(z0.rows() as INT)),
        ("steps", Dynamic::from(steps as INT)),
        ("width", Dynamic::from(img.width() as INT)),
        ("height", Dynamic::from(img.height() as INT)),
        ("z0", Dynamic::from(z0)),
        ("z1", Dynamic::from(z1)),
        ("images", Dynamic::from(imgs)),
    ]))
}
