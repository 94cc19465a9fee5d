//! Shared plumbing for plots: rendering a plotters drawing into an
//! [`RgbImage`], the colour palette, text styles and axis ranges.

use anyhow::Context;
use image::RgbImage;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::font::FAMILY;

/// A plotters drawing area over an in-memory RGB buffer.
pub(super) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// A 2-D chart with `f64` axes drawn on an in-memory buffer.
pub(super) type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Largest plot side, in pixels; larger requests are almost surely mistakes.
const MAX_SIDE: u32 = 1 << 14;

/// Line colours for successive series (matplotlib's "tab10", which stays
/// distinguishable for most colour-blind readers).
pub(super) const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// Background of every plot.
pub(super) const BACKGROUND: RGBColor = WHITE;

/// Renders `width x height` pixels: the area handed to `draw` starts white.
pub(super) fn render(
    width: u32,
    height: u32,
    draw: impl FnOnce(&Area) -> anyhow::Result<()>,
) -> anyhow::Result<RgbImage> {
    anyhow::ensure!(
        (1..=MAX_SIDE).contains(&width) && (1..=MAX_SIDE).contains(&height),
        "plot size {width}x{height} is outside 1..={MAX_SIDE} pixels per side"
    );
    let mut buf = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        root.fill(&BACKGROUND).map_err(plot_err)?;
        draw(&root)?;
        root.present().map_err(plot_err)?;
    }
    RgbImage::from_raw(width, height, buf).context("plot buffer has the wrong size")
}

/// plotters' errors borrow nothing but are generic over the backend; turning
/// them into text keeps every call site a one-liner.
pub(super) fn plot_err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("drawing plot: {e}")
}

/// Text in the plot font, `size` pixels high.
pub(super) fn text_style(size: f64) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&BLACK)
}

/// Axis tick text: short and free of float noise (`200`, not `200.0`;
/// `0.3`, not `0.30000000000000004`), scientific for very large or small.
pub(super) fn tick_label(v: &f64) -> String {
    let v = *v;
    if v == 0.0 {
        return "0".into();
    }
    if !(1e-3..1e6).contains(&v.abs()) {
        return format!("{v:.1e}");
    }
    let fixed = format!("{v:.4}");
    let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
    if trimmed == "-0" {
        "0".into()
    } else {
        trimmed.into()
    }
}

/// `(min, max)` of the finite values, widened by `margin` of the span on each
/// side; a degenerate or empty set still gives a usable, non-empty range.
pub(super) fn padded_range(values: impl IntoIterator<Item = f64>, margin: f64) -> (f64, f64) {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return (0.0, 1.0);
    }
    if lo == hi {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - d, hi + d);
    }
    let pad = (hi - lo) * margin;
    (lo - pad, hi + pad)
}

#[cfg(test)]
pub(super) mod testing {
    //! Pixel counting for plot tests.
    use image::{Rgb, RgbImage};
    use plotters::style::RGBColor;

    pub fn rgb(c: RGBColor) -> Rgb<u8> {
        Rgb([c.0, c.1, c.2])
    }

    /// Pixels inside `[x0, x1) x [y0, y1)` for which `pred` holds.
    pub fn count_in(
        img: &RgbImage,
        (x0, x1): (u32, u32),
        (y0, y1): (u32, u32),
        pred: impl Fn(&Rgb<u8>) -> bool,
    ) -> usize {
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| pred(img.get_pixel(x, y)))
            .count()
    }

    /// Pixels that differ from the white background.
    pub fn non_white(img: &RgbImage, xs: (u32, u32), ys: (u32, u32)) -> usize {
        count_in(img, xs, ys, |p| p.0 != [255, 255, 255])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_pad_and_survive_degenerate_input() {
        assert_eq!(padded_range([0.0, 10.0, f64::NAN], 0.1), (-1.0, 11.0));
        assert_eq!(padded_range([2.0, 2.0], 0.1), (1.8, 2.2));
        assert_eq!(padded_range([0.0], 0.1), (-1.0, 1.0));
        assert_eq!(padded_range([f64::INFINITY], 0.1), (0.0, 1.0));
    }

    #[test]
    fn tick_labels_are_short() {
        let labels: Vec<String> = [200.0, 0.30000000000000004, -1.5, 0.0, 2.5e7, 1e-5, 0.00012]
            .iter()
            .map(tick_label)
            .collect();
        assert_eq!(
            labels,
            ["200", "0.3", "-1.5", "0", "2.5e7", "1.0e-5", "1.2e-4"]
        );
    }

    #[test]
    fn render_checks_size_and_starts_white() {
        assert!(render(0, 10, |_| Ok(())).is_err());
        assert!(render(10, 100_000, |_| Ok(())).is_err());
        let img = render(4, 3, |_| Ok(())).unwrap();
        assert_eq!(img.dimensions(), (4, 3));
        assert!(img.pixels().all(|p| p.0 == [255, 255, 255]));
    }
}
