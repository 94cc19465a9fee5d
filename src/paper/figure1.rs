//! Figure 1's panels: a 1-D game's data, G's samples, D on a grid and the z → x mapping.

use super::grid::linspace;
use super::probe::{d_at, draw_noise};
use crate::data::Dataset;
use crate::engine::{theory, Gan, Noise};
use crate::stats::normal_pdf;
use crate::viz::Figure1Panel;

/// Options of [`figure1_panel`]; each field's default is in `Default`.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure1PanelOptions {
    pub label: String,
    /// The exact p_data = N(mean, std²), drawn as a curve and centring the default range.
    pub exact: Option<(f64, f64)>,
    /// The x range; default ±4 std around p_data's mean (the data's, without `exact`).
    pub range: Option<(f64, f64)>,
    /// Grid points for D (and p_data).
    pub points: usize,
    /// Samples of G for its histogram.
    pub samples: usize,
    /// z values whose arrows z → G(z) are drawn.
    pub arrows: usize,
}

impl Default for Figure1PanelOptions {
    fn default() -> Self {
        Figure1PanelOptions {
            label: String::new(),
            exact: None,
            range: None,
            points: 400,
            samples: 20_000,
            arrows: 24,
        }
    }
}

/// Most data rows a panel keeps for its histogram.
const DATA_ROWS: usize = 20_000;

/// A snapshot of a 1-D game (1-D data, 1-D noise: the caller checks). Draws `samples` noise rows
/// from the GAN's sample stream.
pub fn figure1_panel(gan: &mut Gan, data: &Dataset, o: &Figure1PanelOptions) -> Figure1Panel {
    let (lo, hi) = o.range.unwrap_or_else(|| {
        let (m, s) = o.exact.unwrap_or((data.mean(), data.std().max(1e-6)));
        (m - 4.0 * s, m + 4.0 * s)
    });
    let grid = linspace(lo, hi, o.points);
    let d_on_grid = d_at(gan, &grid);
    let z_noise = draw_noise(gan, o.samples);
    let gen_x: Vec<f64> = theory::generate_chunked(gan, &z_noise)
        .into_iter()
        .map(|v| v as f64)
        .collect();
    // the arrows span the prior's bulk: all of a uniform's support, ±2.5 std of a Gaussian
    let (z0, z1) = match gan.spec.noise {
        Noise::Uniform { half_width, .. } => (-half_width, half_width),
        Noise::Gaussian { std, .. } => (-2.5 * std, 2.5 * std),
    };
    let z = linspace(z0, z1, o.arrows);
    let zf: Vec<f32> = z.iter().map(|&v| v as f32).collect();
    let g_of_z = gan.generate(&zf).into_iter().map(|v| v as f64).collect();
    let data_x = data.x.iter().take(DATA_ROWS).map(|&v| v as f64).collect();
    let data_pdf_on_grid = o
        .exact
        .map(|(m, s)| grid.iter().map(|&x| normal_pdf(x, m, s)).collect());
    Figure1Panel {
        label: o.label.clone(),
        data_x,
        gen_x,
        grid,
        d_on_grid,
        z,
        g_of_z,
        data_pdf_on_grid,
    }
}
