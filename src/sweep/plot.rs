//! `gan report --plot FILE`: a metric against the swept value (mean and mean ± std over the
//! seeds), above each group's mean learning curve of that metric when it is a per-epoch one.

use anyhow::{bail, Result};
use image::RgbImage;

use super::report::{mean_std, Report};
use crate::viz::{line_plots, Series};

/// The figure for `metric` against the numeric values of the report's first grouping name.
pub fn plot(r: &Report, metric: &str) -> Result<RgbImage> {
    if !r.metrics.iter().any(|m| m == metric) {
        bail!(
            "--metric {metric}: no run has it (the runs have: {})",
            r.metrics.join(", ")
        );
    }
    let Some(by) = r.by.first() else {
        bail!("--plot needs a swept name besides the seed to put on the x axis");
    };
    let mut points: Vec<(f64, f64, f64)> = Vec::new();
    for g in &r.groups {
        let Ok(x) = g.values[by].parse::<f64>() else {
            bail!(
                "--plot: the value `{}` of {by} is not a number",
                g.values[by]
            );
        };
        if let Some(s) = g.stats.get(metric) {
            points.push((x, s.mean, if s.std.is_finite() { s.std } else { 0.0 }));
        }
    }
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let xs: Vec<f64> = points.iter().map(|p| p.0).collect();
    let line = |name: &str, f: &dyn Fn(&(f64, f64, f64)) -> f64| {
        Series::new(name, xs.clone(), points.iter().map(f).collect())
    };
    let top = vec![
        line("mean", &|p| p.1),
        line("mean − std", &|p| p.1 - p.2),
        line("mean + std", &|p| p.1 + p.2),
    ];
    let title = format!("{metric} against {by} (over the seeds)");
    let mut panels = vec![(title.as_str(), metric, top)];
    // mean learning curves, epoch by epoch over the finished runs of each group
    let mut curves = Vec::new();
    for g in &r.groups {
        let runs: Vec<&Vec<f64>> = r
            .runs
            .iter()
            .filter(|row| row.state == super::State::Done)
            .filter(|row| g.values.iter().all(|(k, v)| row.values.get(k) == Some(v)))
            .filter_map(|row| row.curves.get(metric))
            .collect();
        let epochs = runs.iter().map(|c| c.len()).min().unwrap_or(0);
        if epochs == 0 {
            continue;
        }
        let ys = (0..epochs)
            .map(|e| mean_std(&runs.iter().map(|c| c[e]).collect::<Vec<_>>()).mean)
            .collect();
        let xs = (1..=epochs).map(|e| e as f64).collect();
        let label: Vec<String> = g.values.iter().map(|(k, v)| format!("{k}={v}")).collect();
        curves.push(Series::new(label.join(","), xs, ys));
    }
    let curve_title = format!("mean learning curve of {metric}");
    if !curves.is_empty() {
        panels.push((curve_title.as_str(), metric, curves));
    }
    let height = 360 * panels.len() as u32;
    // line_plots shares one x axis between panels; the two have different ones, so draw each
    let images = panels
        .into_iter()
        .map(|(t, y, s)| {
            line_plots(
                &[(t, y, s)],
                if t == title { by } else { "epoch" },
                720,
                360,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let mut out = RgbImage::new(720, height);
    for (i, img) in images.iter().enumerate() {
        image::imageops::replace(&mut out, img, 0, 360 * i as i64);
    }
    Ok(out)
}
