//! `plot_lines(file, panels, #{…})`: line charts of any per-step series (e.g. what
//! `gan.train_steps` records), stacked top to bottom and sharing the x axis.

use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, Map, INT};
use serde::{Deserialize, Serialize};

use super::api_output::emit_png;
use super::host::Host;
use super::option_struct::{self, Count};
use super::options::{err, number, type_name, RhaiResult};
use super::paper_args::{anyhow_err, map_of, png_of};
use crate::viz;

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
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
}

/// `plot_lines(file, panels, #{…})`'s options.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct PlotLinesOptions {
    /// The shared x axis' label.
    x_label: String,
    /// Pixels.
    width: Count<100>,
    /// Pixels; left out, 280 per panel.
    height: Option<Count<100>>,
}

impl Default for PlotLinesOptions {
    fn default() -> Self {
        PlotLinesOptions {
            x_label: "step".into(),
            width: Count(800),
            height: None,
        }
    }
}

/// One panel of `plot_lines`: `series` is required, and checked with the panel's index.
#[derive(Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct PanelOptions {
    title: String,
    y_label: String,
    series: Option<Dynamic>,
}

/// One series of a `plot_lines` panel: `ys` is required; `xs` default to 0, 1, 2, ….
#[derive(Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct SeriesOptions {
    name: String,
    ys: Option<Dynamic>,
    xs: Option<Dynamic>,
}

/// `plot_lines(file, [#{ title, y_label, series: [#{ name, ys, xs }] }, …], #{ x_label, width, height })`:
/// line charts stacked top to bottom, sharing the x axis (xs default to 0, 1, 2, …).
fn plot_lines(host: &Host, file: &str, panels: &Array, opts: &Map) -> RhaiResult<Map> {
    let call = "plot_lines()";
    let o: PlotLinesOptions = option_struct::parse(opts, call)?;
    let x_label = o.x_label;
    if panels.is_empty() || panels.len() > 12 {
        return err(format!(
            "{call}: needs 1 to 12 panels, got {}",
            panels.len()
        ));
    }
    let width = o.width.0;
    let height = o.height.map_or(280 * panels.len() as u64, |h| h.0);
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
        let po: PanelOptions = option_struct::parse(&pm, "a plot_lines() panel")?;
        let (title, y_label) = (po.title, po.y_label);
        let series = match &po.series {
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
            let so: SeriesOptions = option_struct::parse(&sm, "a plot_lines() series")?;
            let arr = |key: &str, v: &Option<Dynamic>| -> RhaiResult<Option<Vec<f64>>> {
                match v {
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
            let Some(ys) = arr("ys", &so.ys)? else {
                return err(format!("{call}: series {j} of panel {i} needs `ys`"));
            };
            let name = so.name;
            let s = match arr("xs", &so.xs)? {
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
    Ok(map_of([
        ("file", Dynamic::from(file.to_string())),
        ("width", Dynamic::from(img.width() as INT)),
        ("height", Dynamic::from(img.height() as INT)),
    ]))
}
