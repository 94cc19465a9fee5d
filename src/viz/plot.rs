//! Line plots (training curves) and 2-D scatter plots (real vs generated
//! points), rendered with plotters into an [`RgbImage`].

use image::RgbImage;
use plotters::prelude::*;

use super::canvas::{padded_range, plot_err, render, text_style, tick_label, Area, Chart, PALETTE};
use super::font::text_available;

/// One named curve: `ys[i]` at `xs[i]`. Points with a non-finite coordinate
/// are skipped when drawn.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// Legend entry; series with an empty name get none.
    pub name: String,
    /// Horizontal coordinates, one per point.
    pub xs: Vec<f64>,
    /// Vertical coordinates, as many as `xs`.
    pub ys: Vec<f64>,
}

impl Series {
    /// A series from explicit coordinates.
    pub fn new(name: impl Into<String>, xs: Vec<f64>, ys: Vec<f64>) -> Self {
        Self {
            name: name.into(),
            xs,
            ys,
        }
    }

    /// A series whose x coordinates are `0, 1, 2, …` (e.g. one value per step).
    pub fn from_ys(name: impl Into<String>, ys: Vec<f64>) -> Self {
        let xs = (0..ys.len()).map(|i| i as f64).collect();
        Self::new(name, xs, ys)
    }

    fn points(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.xs
            .iter()
            .zip(&self.ys)
            .map(|(&x, &y)| (x, y))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    }

    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.xs.len() == self.ys.len(),
            "series {:?} has {} x values but {} y values",
            self.name,
            self.xs.len(),
            self.ys.len()
        );
        Ok(())
    }
}

/// Colours of [`scatter_2d`]: real points.
pub const REAL_COLOR: RGBColor = RGBColor(31, 119, 180);
/// Colours of [`scatter_2d`]: generated points.
pub const FAKE_COLOR: RGBColor = RGBColor(214, 39, 40);

/// One line chart of `width x height` pixels with a title, axis labels and a
/// legend (series colours follow a fixed palette, in order). Text is left
/// out when no font is available (see [`super::text_available`]).
pub fn line_plot(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    width: u32,
    height: u32,
) -> anyhow::Result<RgbImage> {
    draw_line_panels(
        &[(title, y_label, series)],
        x_label,
        width,
        height,
        text_available(),
    )
}

/// Several line charts stacked top to bottom in equal heights, sharing one x
/// range (so steps line up), e.g. "G loss per step" over "mean D(G(z)) per
/// step". Each panel is `(title, y label, series)`; `x_label` is written
/// under the bottom panel.
pub fn line_plots(
    panels: &[(&str, &str, Vec<Series>)],
    x_label: &str,
    width: u32,
    height: u32,
) -> anyhow::Result<RgbImage> {
    let panels: Vec<_> = panels
        .iter()
        .map(|(t, y, s)| (*t, *y, s.as_slice()))
        .collect();
    draw_line_panels(&panels, x_label, width, height, text_available())
}

/// Does the work of [`line_plots`]; `text` says whether to draw any text.
fn draw_line_panels(
    panels: &[(&str, &str, &[Series])],
    x_label: &str,
    width: u32,
    height: u32,
    text: bool,
) -> anyhow::Result<RgbImage> {
    anyhow::ensure!(!panels.is_empty(), "a plot needs at least one panel");
    for (_, _, series) in panels {
        series.iter().try_for_each(Series::check)?;
    }
    let all_x = panels
        .iter()
        .flat_map(|(_, _, s)| s.iter())
        .flat_map(|s| s.points().map(|p| p.0));
    let x_range = padded_range(all_x, 0.02);
    render(width, height, |root| {
        let areas = root.split_evenly((panels.len(), 1));
        for (k, ((title, y_label, series), area)) in panels.iter().zip(&areas).enumerate() {
            let x_desc = (k + 1 == panels.len()).then_some(x_label);
            draw_line_panel(area, title, y_label, x_desc, series, x_range, text)?;
        }
        Ok(())
    })
}

fn draw_line_panel(
    area: &Area,
    title: &str,
    y_label: &str,
    x_desc: Option<&str>,
    series: &[Series],
    (x0, x1): (f64, f64),
    text: bool,
) -> anyhow::Result<()> {
    let (y0, y1) = padded_range(series.iter().flat_map(|s| s.points().map(|p| p.1)), 0.05);
    let mut builder = ChartBuilder::on(area);
    builder.margin(10);
    if text {
        if !title.is_empty() {
            builder.caption(title, text_style(18.0));
        }
        builder
            .x_label_area_size(if x_desc.is_some() { 40 } else { 25 })
            .y_label_area_size(65);
    }
    let mut chart = builder
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(plot_err)?;

    let mut mesh = chart.configure_mesh();
    mesh.label_style(text_style(12.0))
        .axis_desc_style(text_style(14.0))
        .x_label_formatter(&tick_label)
        .y_label_formatter(&tick_label);
    if !y_label.is_empty() {
        mesh.y_desc(y_label);
    }
    if let Some(desc) = x_desc.filter(|d| !d.is_empty()) {
        mesh.x_desc(desc);
    }
    mesh.draw().map_err(plot_err)?;
    if !text {
        // Without label areas plotters draws no axes; frame the data instead.
        frame(&mut chart, (x0, x1), (y0, y1))?;
    }

    for (i, s) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let drawn = chart
            .draw_series(LineSeries::new(s.points(), color.stroke_width(2)))
            .map_err(plot_err)?;
        if !s.name.is_empty() {
            drawn.label(s.name.as_str()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        }
    }
    if text && series.iter().any(|s| !s.name.is_empty()) {
        legend(&mut chart)?;
    }
    Ok(())
}

/// A scatter plot of real points (blue, [`REAL_COLOR`]) and generated points
/// (red, [`FAKE_COLOR`], drawn on top) in a common range, with a legend.
pub fn scatter_2d(
    title: &str,
    real: &[[f32; 2]],
    fake: &[[f32; 2]],
    width: u32,
    height: u32,
) -> anyhow::Result<RgbImage> {
    draw_scatter(title, real, fake, width, height, text_available())
}

fn draw_scatter(
    title: &str,
    real: &[[f32; 2]],
    fake: &[[f32; 2]],
    width: u32,
    height: u32,
    text: bool,
) -> anyhow::Result<RgbImage> {
    let finite = |p: &&[f32; 2]| p[0].is_finite() && p[1].is_finite();
    let both = || real.iter().chain(fake).filter(finite);
    let (x0, x1) = padded_range(both().map(|p| p[0] as f64), 0.05);
    let (y0, y1) = padded_range(both().map(|p| p[1] as f64), 0.05);
    render(width, height, |root| {
        let mut builder = ChartBuilder::on(root);
        builder.margin(10);
        if text {
            if !title.is_empty() {
                builder.caption(title, text_style(18.0));
            }
            builder.x_label_area_size(30).y_label_area_size(50);
        }
        let mut chart = builder
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .label_style(text_style(12.0))
            .x_label_formatter(&tick_label)
            .y_label_formatter(&tick_label)
            .draw()
            .map_err(plot_err)?;
        if !text {
            frame(&mut chart, (x0, x1), (y0, y1))?;
        }
        for (name, points, color) in [("real", real, REAL_COLOR), ("generated", fake, FAKE_COLOR)] {
            let dots = points
                .iter()
                .filter(finite)
                .map(|p| Circle::new((p[0] as f64, p[1] as f64), 2, color.filled()));
            chart
                .draw_series(dots)
                .map_err(plot_err)?
                .label(name)
                .legend(move |(x, y)| Circle::new((x + 10, y), 3, color.filled()));
        }
        if text {
            legend(&mut chart)?;
        }
        Ok(())
    })
}

/// A black frame along the edges of the data range.
fn frame(chart: &mut Chart, (x0, x1): (f64, f64), (y0, y1): (f64, f64)) -> anyhow::Result<()> {
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(x0, y0), (x1, y1)],
            BLACK.stroke_width(1),
        )))
        .map_err(plot_err)?;
    Ok(())
}

/// The series legend, top right on a translucent white box.
fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>) -> anyhow::Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(text_style(13.0))
        .draw()
        .map_err(plot_err)
}

#[cfg(test)]
mod tests {
    use super::super::canvas::testing::{count_in, non_white, rgb};
    use super::*;

    fn two_levels() -> Vec<Series> {
        let xs: Vec<f64> = (0..=50).map(f64::from).collect();
        vec![
            Series::new("low", xs.clone(), vec![0.0; 51]),
            Series::new("high", xs, vec![10.0; 51]),
        ]
    }

    #[test]
    fn line_plot_has_requested_size_and_is_not_blank() {
        let img = line_plot("losses", "step", "loss", &two_levels(), 640, 400).unwrap();
        assert_eq!(img.dimensions(), (640, 400));
        assert!(non_white(&img, (0, 640), (0, 400)) > 1000);
    }

    #[test]
    fn line_plot_series_land_where_their_values_are() {
        // Without text the data fill the image, so "low" must be near the
        // bottom and "high" near the top.
        for text in [false, text_available()] {
            let (w, h) = (400, 300);
            let img = draw_line_panels(&[("t", "y", &two_levels())], "x", w, h, text).unwrap();
            let low = |p: &image::Rgb<u8>| *p == rgb(PALETTE[0]);
            let high = |p: &image::Rgb<u8>| *p == rgb(PALETTE[1]);
            let (top, bottom) = ((0, h / 2), (h / 2, h));
            // The middle columns avoid the legend in the top right corner.
            let mid = (w / 5, w / 2);
            assert!(count_in(&img, mid, bottom, low) > 100, "text={text}");
            assert_eq!(count_in(&img, mid, top, low), 0, "text={text}");
            assert!(count_in(&img, mid, top, high) > 100, "text={text}");
            assert_eq!(count_in(&img, mid, bottom, high), 0, "text={text}");
        }
    }

    #[test]
    fn stacked_panels_each_show_their_series() {
        let loss = vec![Series::from_ys("G loss", vec![3.0, 2.0, 1.5, 1.2, 1.0])];
        let d = vec![Series::from_ys("", vec![0.1, 0.3, 0.4, 0.5, 0.5])];
        let (w, h) = (500, 600);
        let img = line_plots(
            &[("G loss", "loss", loss), ("D(G(z))", "mean", d)],
            "step",
            w,
            h,
        )
        .unwrap();
        assert_eq!(img.dimensions(), (w, h));
        let series = |p: &image::Rgb<u8>| *p == rgb(PALETTE[0]);
        assert!(count_in(&img, (0, w), (0, h / 2), series) > 50);
        assert!(count_in(&img, (0, w), (h / 2, h), series) > 50);
    }

    #[test]
    fn mismatched_series_is_an_error() {
        let bad = Series::new("bad", vec![1.0, 2.0], vec![1.0]);
        let err = line_plot("t", "x", "y", &[bad], 100, 100)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad") && err.contains('2') && err.contains('1'),
            "{err}"
        );
        assert!(line_plots(&[], "x", 100, 100).is_err());
    }

    #[test]
    fn plots_survive_empty_and_non_finite_series() {
        let odd = Series::new(
            "odd",
            vec![0.0, 1.0, f64::NAN],
            vec![f64::INFINITY, 2.0, 3.0],
        );
        let img = line_plot("", "", "", &[Series::default(), odd], 200, 150).unwrap();
        assert_eq!(img.dimensions(), (200, 150));
    }

    #[test]
    fn scatter_separates_real_and_generated() {
        let real: Vec<[f32; 2]> = (0..50).map(|i| [-1.0, i as f32 / 50.0]).collect();
        let fake: Vec<[f32; 2]> = (0..50).map(|i| [1.0, i as f32 / 50.0]).collect();
        for text in [false, text_available()] {
            let (w, h) = (300, 300);
            let img = draw_scatter("toy", &real, &fake, w, h, text).unwrap();
            assert_eq!(img.dimensions(), (w, h));
            let is_real = |p: &image::Rgb<u8>| *p == rgb(REAL_COLOR);
            let is_fake = |p: &image::Rgb<u8>| *p == rgb(FAKE_COLOR);
            let (left, right) = ((0, w / 2), (w / 2, w));
            let lower = (h / 3, h);
            assert!(count_in(&img, left, lower, is_real) > 100, "text={text}");
            assert_eq!(count_in(&img, right, lower, is_real), 0, "text={text}");
            assert!(count_in(&img, right, lower, is_fake) > 100, "text={text}");
            assert_eq!(count_in(&img, left, lower, is_fake), 0, "text={text}");
        }
        // Also fine with nothing to show.
        assert!(scatter_2d("empty", &[], &[], 100, 100).is_ok());
    }
}
