//! The paper's Figure 1 on a 1-D toy problem: panels side by side, each
//! showing the data density (black dots), the generator's density (green,
//! solid), the discriminator D(x) (blue, dashed) and, below, how the
//! generator maps a uniform grid of z values onto x.

use image::RgbImage;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::canvas::{plot_err, render, text_style, Area, Chart};
use super::density::{evenly_spaced, interpolate, kde, quantiles};
use super::font::text_available;

/// Colour of the generator density p_g.
pub const GEN_COLOR: RGBColor = RGBColor(0, 150, 0);
/// Colour of the discriminator output D(x).
pub const D_COLOR: RGBColor = RGBColor(30, 60, 220);
/// Colour of the data density, its samples, the axes and the z→x mapping.
pub const DATA_COLOR: RGBColor = BLACK;

/// Vertical layout in chart units: densities and D live in `[0, Y_TOP]`
/// above the x line at 0; the z line sits below it.
const Y_TOP: f64 = 1.1;
const X_LINE: f64 = 0.0;
const Z_LINE: f64 = -0.5;
const Y_BOTTOM: f64 = -0.6;
/// Height the data density's peak is scaled to (D's scale is its own, 0..1).
const DENSITY_PEAK: f64 = 0.8;
/// Highest any density is drawn, just under the top of the panel.
const DENSITY_TOP: f64 = 1.05;
/// Drawing more than this many data dots or z→x arrows only makes a smear.
const MAX_DOTS: usize = 120;
const MAX_ARROWS: usize = 24;
/// Pixel height reserved under each panel for its label.
const LABEL_HEIGHT: u32 = 28;

/// One panel of [`figure1`], typically one moment of training.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figure1Panel {
    /// Caption under the panel, e.g. `"(a) step 0"`.
    pub label: String,
    /// Real samples, drawn as black dots along the data density p_data.
    pub data_x: Vec<f64>,
    /// Generator samples; their kernel density estimate is p_g (green, solid).
    pub gen_x: Vec<f64>,
    /// Increasing x positions at which the curves are drawn; sets the x range.
    pub grid: Vec<f64>,
    /// D(x) at each grid point (blue, dashed); may be empty to omit D.
    pub d_on_grid: Vec<f64>,
    /// Latent values, drawn evenly spread along the lower "z" line.
    pub z: Vec<f64>,
    /// G(z) for each z: an arrow goes from z up to G(z) on the "x" line.
    pub g_of_z: Vec<f64>,
    /// The exact p_data at each grid point, when known (black, dotted);
    /// otherwise p_data is estimated from `data_x`.
    pub data_pdf_on_grid: Option<Vec<f64>>,
}

impl Figure1Panel {
    fn check(&self) -> anyhow::Result<()> {
        let name = &self.label;
        anyhow::ensure!(
            self.grid.len() >= 2,
            "figure 1 panel {name:?}: the grid needs at least 2 points, got {}",
            self.grid.len()
        );
        anyhow::ensure!(
            self.grid.iter().all(|v| v.is_finite()) && self.grid.windows(2).all(|w| w[0] < w[1]),
            "figure 1 panel {name:?}: grid values must be finite and increasing"
        );
        anyhow::ensure!(
            self.d_on_grid.is_empty() || self.d_on_grid.len() == self.grid.len(),
            "figure 1 panel {name:?}: {} D values for {} grid points",
            self.d_on_grid.len(),
            self.grid.len()
        );
        anyhow::ensure!(
            self.z.len() == self.g_of_z.len(),
            "figure 1 panel {name:?}: {} z values but {} G(z) values",
            self.z.len(),
            self.g_of_z.len()
        );
        if let Some(pdf) = &self.data_pdf_on_grid {
            anyhow::ensure!(
                pdf.len() == self.grid.len(),
                "figure 1 panel {name:?}: {} p_data values for {} grid points",
                pdf.len(),
                self.grid.len()
            );
        }
        Ok(())
    }
}

/// Draws the panels side by side in a `width x height` image, like the
/// paper's Figure 1 (a)–(d). Densities are scaled so that p_data peaks at the
/// same height in every panel, making p_g comparable across panels (unless
/// p_g is so peaked that it would not fit; then both shrink together); D is
/// drawn on its own 0..1 scale, so D = 1/2 sits a little above mid-height.
/// Panel labels are left out when no font is available.
pub fn figure1(panels: &[Figure1Panel], width: u32, height: u32) -> anyhow::Result<RgbImage> {
    draw_figure1(panels, width, height, text_available())
}

fn draw_figure1(
    panels: &[Figure1Panel],
    width: u32,
    height: u32,
    text: bool,
) -> anyhow::Result<RgbImage> {
    anyhow::ensure!(!panels.is_empty(), "figure 1 needs at least one panel");
    panels.iter().try_for_each(Figure1Panel::check)?;
    render(width, height, |root| {
        for (panel, area) in panels.iter().zip(root.split_evenly((1, panels.len()))) {
            draw_panel(&area, panel, text)?;
        }
        Ok(())
    })
}

fn draw_panel(area: &Area, p: &Figure1Panel, text: bool) -> anyhow::Result<()> {
    let (w, h) = area.dim_in_pixel();
    let plot_area = if text && h > 2 * LABEL_HEIGHT {
        let (upper, lower) = area.split_vertically(h - LABEL_HEIGHT);
        let style = text_style(16.0).pos(Pos::new(HPos::Center, VPos::Center));
        lower
            .draw_text(
                &p.label,
                &style,
                ((w / 2) as i32, (LABEL_HEIGHT / 2) as i32),
            )
            .map_err(plot_err)?;
        upper
    } else {
        area.clone()
    };

    let (gx0, gx1) = (p.grid[0], p.grid[p.grid.len() - 1]);
    let span = gx1 - gx0;
    // Room left of the axes for the "x" and "z" names.
    let left = gx0 - 0.08 * span;
    let mut chart = ChartBuilder::on(&plot_area)
        .margin(8)
        .build_cartesian_2d(left..gx1, Y_BOTTOM..Y_TOP)
        .map_err(plot_err)?;

    // Densities on the grid, scaled so p_data peaks at DENSITY_PEAK.
    let bandwidth_floor = span / 200.0;
    let pdata = match &p.data_pdf_on_grid {
        Some(pdf) => Some(pdf.clone()),
        None if !p.data_x.is_empty() => Some(kde(&p.data_x, &p.grid, bandwidth_floor)),
        None => None,
    };
    let pg = (!p.gen_x.is_empty()).then(|| kde(&p.gen_x, &p.grid, bandwidth_floor));
    let peak = |v: &Option<Vec<f64>>| {
        v.iter()
            .flatten()
            .copied()
            .filter(|x| x.is_finite())
            .fold(0.0, f64::max)
    };
    // p_data keeps the same height from panel to panel, unless a sharply
    // peaked p_g (e.g. a collapsed generator) would then overflow the panel:
    // both shrink together instead, since a clipped peak reads as a plateau.
    let scale = [(peak(&pdata), DENSITY_PEAK), (peak(&pg), DENSITY_TOP)]
        .iter()
        .filter(|(p, _)| *p > 0.0)
        .map(|(p, h)| h / p)
        .fold(f64::INFINITY, f64::min);
    let scale = if scale.is_finite() { scale } else { 1.0 };
    let curve = |ys: &[f64], s: f64| -> Vec<(f64, f64)> {
        p.grid
            .iter()
            .zip(ys)
            .filter(|(_, y)| y.is_finite())
            .map(|(&x, &y)| (x, (y * s).clamp(0.0, Y_TOP)))
            .collect()
    };

    // The two horizontal axes.
    for y in [X_LINE, Z_LINE] {
        chart
            .draw_series(LineSeries::new(
                [(gx0, y), (gx1, y)],
                DATA_COLOR.stroke_width(1),
            ))
            .map_err(plot_err)?;
    }
    if text {
        let style = text_style(15.0).pos(Pos::new(HPos::Center, VPos::Center));
        for (name, y) in [("x", X_LINE), ("z", Z_LINE)] {
            let at = (gx0 - 0.04 * span, y);
            chart
                .draw_series(std::iter::once(Text::new(name, at, style.clone())))
                .map_err(plot_err)?;
        }
    }

    draw_mapping(&mut chart, p, (gx0, gx1))?;

    if !p.d_on_grid.is_empty() {
        chart
            .draw_series(DashedLineSeries::new(
                curve(&p.d_on_grid, 1.0),
                8,
                5,
                D_COLOR.stroke_width(2),
            ))
            .map_err(plot_err)?;
    }
    if let Some(pg) = &pg {
        chart
            .draw_series(LineSeries::new(curve(pg, scale), GEN_COLOR.stroke_width(2)))
            .map_err(plot_err)?;
    }
    if let Some(pdf) = &p.data_pdf_on_grid {
        chart
            .draw_series(DottedLineSeries::new(curve(pdf, scale), 0, 6, |c| {
                Circle::new(c, 1, DATA_COLOR.filled())
            }))
            .map_err(plot_err)?;
    }

    // Real samples as dots on the data density, at evenly spaced quantiles so
    // that they crowd where the data do.
    let dots = quantiles(&p.data_x, MAX_DOTS);
    let heights = match &p.data_pdf_on_grid {
        Some(pdf) => dots.iter().map(|&x| interpolate(&p.grid, pdf, x)).collect(),
        None => kde(&p.data_x, &dots, bandwidth_floor),
    };
    chart
        .draw_series(
            dots.iter()
                .zip(heights)
                .filter(|(&x, y)| (gx0..=gx1).contains(&x) && y.is_finite())
                .map(|(&x, y)| {
                    Circle::new((x, (y * scale).clamp(0.0, Y_TOP)), 2, DATA_COLOR.filled())
                }),
        )
        .map_err(plot_err)?;
    Ok(())
}

/// Arrows from evenly spread z positions on the lower line to G(z) on the
/// upper line; where they bunch up, p_g is dense.
fn draw_mapping(chart: &mut Chart, p: &Figure1Panel, (gx0, gx1): (f64, f64)) -> anyhow::Result<()> {
    let mut pairs: Vec<(f64, f64)> =
        p.z.iter()
            .zip(&p.g_of_z)
            .map(|(&z, &g)| (z, g))
            .filter(|(z, g)| z.is_finite() && g.is_finite())
            .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let picked = evenly_spaced(&pairs, MAX_ARROWS);
    let (Some(first), Some(last)) = (picked.first(), picked.last()) else {
        return Ok(());
    };
    let (z0, z1) = (first.0, last.0);
    let span = gx1 - gx0;
    let pixels = chart.plotting_area().strip_coord_spec();
    let base = pixels.get_base_pixel();
    for &(z, g) in &picked {
        let t = if z1 > z0 { (z - z0) / (z1 - z0) } else { 0.5 };
        let from = (gx0 + (0.05 + 0.9 * t) * span, Z_LINE);
        let to = (g.clamp(gx0, gx1), X_LINE);
        let (a, b) = (chart.backend_coord(&from), chart.backend_coord(&to));
        let (a, b) = ((a.0 - base.0, a.1 - base.1), (b.0 - base.0, b.1 - base.1));
        pixels
            .draw(&PathElement::new(vec![a, b], DATA_COLOR.stroke_width(1)))
            .map_err(plot_err)?;
        pixels
            .draw(&Polygon::new(
                arrow_head(a, b, 7.0, 3.0),
                DATA_COLOR.filled(),
            ))
            .map_err(plot_err)?;
    }
    Ok(())
}

/// Triangle with its tip at `tip`, pointing away from `from`.
fn arrow_head(from: (i32, i32), tip: (i32, i32), length: f64, half_width: f64) -> Vec<(i32, i32)> {
    let (dx, dy) = ((tip.0 - from.0) as f64, (tip.1 - from.1) as f64);
    let norm = dx.hypot(dy).max(1e-9);
    let (ux, uy) = (dx / norm, dy / norm);
    let back = (tip.0 as f64 - ux * length, tip.1 as f64 - uy * length);
    let side = (-uy * half_width, ux * half_width);
    vec![
        tip,
        (
            (back.0 + side.0).round() as i32,
            (back.1 + side.1).round() as i32,
        ),
        (
            (back.0 - side.0).round() as i32,
            (back.1 - side.1).round() as i32,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::canvas::testing::{count_in, non_white, rgb};
    use super::*;
    use crate::stats::normal_pdf;

    /// A panel like the paper's: data N(1, 0.5), generator G(z) = a z + b.
    fn panel(label: &str, a: f64, b: f64, d: impl Fn(f64) -> f64) -> Figure1Panel {
        let grid: Vec<f64> = (0..=200).map(|i| -2.0 + 5.0 * i as f64 / 200.0).collect();
        let u: Vec<f64> = (0..500).map(|i| (i as f64 + 0.5) / 500.0).collect();
        // Deterministic "samples": normal quantiles via a cheap inverse.
        let data_x: Vec<f64> = u.iter().map(|&q| 1.0 + 0.5 * probit(q)).collect();
        let z: Vec<f64> = u.iter().map(|&q| 2.0 * q - 1.0).collect();
        let g_of_z: Vec<f64> = z.iter().map(|&z| a * z + b).collect();
        Figure1Panel {
            label: label.into(),
            data_x,
            gen_x: g_of_z.clone(),
            d_on_grid: grid.iter().map(|&x| d(x)).collect(),
            data_pdf_on_grid: Some(grid.iter().map(|&x| normal_pdf(x, 1.0, 0.5)).collect()),
            grid,
            z,
            g_of_z,
        }
    }

    /// Logit-based approximation of the standard normal quantile; plenty for
    /// test data.
    fn probit(q: f64) -> f64 {
        (q / (1.0 - q)).ln() / 1.702
    }

    fn four_panels() -> Vec<Figure1Panel> {
        vec![
            panel("(a) step 0", 0.6, -0.8, |x| {
                1.0 / (1.0 + (-2.0 * (x - 0.3)).exp())
            }),
            panel("(b) step 100", 0.6, -0.6, |x| {
                1.0 / (1.0 + (-3.0 * (x - 0.4)).exp())
            }),
            panel("(c) step 1000", 0.8, 0.5, |x| {
                1.0 / (1.0 + (-1.5 * (x - 0.8)).exp())
            }),
            panel("(d) step 5000", 0.85, 1.0, |_| 0.5),
        ]
    }

    #[test]
    fn four_panels_fill_the_requested_size() {
        let (w, h) = (1200, 320);
        let img = figure1(&four_panels(), w, h).unwrap();
        assert_eq!(img.dimensions(), (w, h));
        for k in 0..4 {
            let xs = (k * w / 4, (k + 1) * w / 4);
            assert!(non_white(&img, xs, (0, h)) > 500, "panel {k} is blank");
            let green = |p: &image::Rgb<u8>| *p == rgb(GEN_COLOR);
            let blue = |p: &image::Rgb<u8>| *p == rgb(D_COLOR);
            assert!(
                count_in(&img, xs, (0, h), green) > 50,
                "panel {k} has no p_g"
            );
            assert!(count_in(&img, xs, (0, h), blue) > 50, "panel {k} has no D");
        }
    }

    #[test]
    fn labels_are_written_under_panels_when_a_font_exists() {
        if !text_available() {
            return;
        }
        let (w, h) = (800, 300);
        let img = figure1(&four_panels(), w, h).unwrap();
        for k in 0..4 {
            let xs = (k * w / 4, (k + 1) * w / 4);
            let dark = |p: &image::Rgb<u8>| p.0.iter().all(|&c| c < 100);
            let label = count_in(&img, xs, (h - LABEL_HEIGHT, h), dark);
            assert!(label > 20, "panel {k} has no label");
        }
    }

    #[test]
    fn half_d_is_a_flat_line_above_the_axis_and_arrows_below() {
        let mut p = four_panels().pop().unwrap();
        p.gen_x.clear(); // keep only D in colour
        let (w, h) = (400, 300);
        let img = draw_figure1(&[p], w, h, false).unwrap();
        let blue_rows: Vec<u32> = (0..h)
            .filter(|&y| (0..w).any(|x| *img.get_pixel(x, y) == rgb(D_COLOR)))
            .collect();
        let (top, bottom) = (blue_rows[0], *blue_rows.last().unwrap());
        assert!(
            bottom - top <= 3,
            "D = 1/2 should be flat, spans rows {top}..{bottom}"
        );
        // Chart y runs from -0.6 (bottom) to 1.1 (top); D = 0.5 is at 35% from
        // the top, the x line at 65%, the z line at about 94%.
        let expect = |v: f64| (8.0 + (Y_TOP - v) / (Y_TOP - Y_BOTTOM) * (h as f64 - 16.0)) as u32;
        assert!(
            top.abs_diff(expect(0.5)) <= 3,
            "D row {top}, expected {}",
            expect(0.5)
        );
        // The z→x arrows darken the band between the two lines.
        let band = (expect(X_LINE) + 5, expect(Z_LINE) - 5);
        let black = |px: &image::Rgb<u8>| px.0 == [0, 0, 0];
        assert!(count_in(&img, (0, w), band, black) > 200);
    }

    #[test]
    fn bad_panels_are_errors_naming_the_panel() {
        let mut p = four_panels().remove(0);
        p.d_on_grid.pop();
        let err = figure1(&[p], 400, 300).unwrap_err().to_string();
        assert!(
            err.contains("(a) step 0") && err.contains("200") && err.contains("201"),
            "{err}"
        );
        let mut p = four_panels().remove(0);
        p.grid.swap(3, 4);
        assert!(figure1(&[p], 400, 300).is_err());
        let mut p = four_panels().remove(0);
        p.g_of_z.pop();
        assert!(figure1(&[p], 400, 300).is_err());
        assert!(figure1(&[], 400, 300).is_err());
    }

    #[test]
    fn estimated_density_and_collapse_still_draw() {
        let mut p = four_panels().remove(0);
        p.data_pdf_on_grid = None;
        p.gen_x = vec![0.7; 300]; // mode collapse: a spike
        p.d_on_grid.clear();
        let (w, h) = (300, 250);
        let img = draw_figure1(&[p.clone()], w, h, false).unwrap();
        let green = |px: &image::Rgb<u8>| *px == rgb(GEN_COLOR);
        assert!(count_in(&img, (0, w), (0, h), green) > 20);
        // The spike is scaled to fit, not clipped into a plateau: its top
        // is a few pixels wide, just under the top of the panel.
        let top = (0..h)
            .find(|&y| count_in(&img, (0, w), (y, y + 1), green) > 0)
            .unwrap();
        let expect = 8.0 + (Y_TOP - DENSITY_TOP) / (Y_TOP - Y_BOTTOM) * (h as f64 - 16.0);
        assert!(
            (top as f64 - expect).abs() <= 3.0,
            "spike top at row {top}, expected {expect}"
        );
        assert!(count_in(&img, (0, w), (top, top + 1), green) < 8);
        assert!(figure1(&[p], w, h).is_ok());
    }
}
