//! Proposition 1 measured: D against D* = p_data / (p_data + p_g) for p_data = N(mean, std²),
//! p_g computed exactly by change of variables (1-D games only).

use anyhow::Result;

use super::grid::{argmin_max, linspace};
use super::probe::d_at;
use crate::engine::{theory, Gan, Noise};
use crate::stats::{normal_interval, normal_pdf};

/// Options of [`density_ratio_check`]; each field's default is in `Default`.
#[derive(Clone, Debug, PartialEq)]
pub struct DensityRatioOptions {
    /// Mass of p_data the checked region holds (when `range` is not given), in (0, 1).
    pub mass: f64,
    /// Grid points on the region.
    pub points: usize,
    /// z grid points of the change of variables.
    pub z_points: usize,
    /// The region, instead of p_data's central `mass`.
    pub range: Option<(f64, f64)>,
}

impl Default for DensityRatioOptions {
    fn default() -> Self {
        DensityRatioOptions {
            mass: 0.99,
            points: 401,
            z_points: 20_001,
            range: None,
        }
    }
}

/// What [`density_ratio_check`] found on the region [lo, hi].
#[derive(Clone, Debug, PartialEq)]
pub struct DensityRatio {
    pub max_abs_dev: f64,
    pub mean_abs_dev: f64,
    /// Where |D − D*| is largest, and D and D* there.
    pub at: f64,
    pub d_at: f64,
    pub dstar_at: f64,
    pub d_min: f64,
    pub d_max: f64,
    pub dstar_min: f64,
    pub dstar_max: f64,
    pub lo: f64,
    pub hi: f64,
    pub mass: f64,
    pub points: usize,
    /// Support [min G, max G] of p_g's interpolant.
    pub pg_support: (f64, f64),
    /// How p_g was computed, in words.
    pub pg_method: String,
}

impl DensityRatio {
    /// Outside p_g's support D* is 1: a region reaching past it holds a jump no smooth D follows.
    pub fn region_in_pg_support(&self) -> bool {
        self.pg_support.0 <= self.lo && self.hi <= self.pg_support.1
    }
}

/// D of a 1-D game against Proposition 1's D* on a grid over the region. The caller checks that
/// the game is 1-D and the options are in range.
pub fn density_ratio_check(
    gan: &Gan,
    mean: f64,
    std: f64,
    o: &DensityRatioOptions,
) -> Result<DensityRatio> {
    let (lo, hi) = o
        .range
        .unwrap_or_else(|| normal_interval(mean, std, o.mass));
    let xs = linspace(lo, hi, o.points);
    let d = d_at(gan, &xs);
    let (pg, pg_support) = theory::pg_density_1d(gan, &xs, o.z_points)?;
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
    let zp = o.z_points;
    let pg_method = match gan.spec.noise {
        Noise::Uniform { .. } => format!(
            "change of variables on a {zp}-point z grid over the uniform prior's support (sum over preimages)"
        ),
        Noise::Gaussian { .. } => format!(
            "change of variables on a {zp}-point z grid over ±8 std of the Gaussian prior (sum over preimages)"
        ),
    };
    Ok(DensityRatio {
        max_abs_dev: dev[imax],
        mean_abs_dev: dev.iter().sum::<f64>() / dev.len() as f64,
        at: xs[imax],
        d_at: d[imax],
        dstar_at: dstar[imax],
        d_min: d[dmin],
        d_max: d[dmax],
        dstar_min: dstar[smin],
        dstar_max: dstar[smax],
        lo,
        hi,
        mass: o.mass,
        points: o.points,
        pg_support,
        pg_method,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paper::testing::affine_gan;

    #[test]
    fn d_star_matches_the_closed_form_for_an_affine_generator() {
        // G(z) = 2z + 3 with z ~ N(0, 1): p_g = N(3, 2²); D ≡ ½ (zero weights).
        let gan = affine_gan((2.0, 3.0), (0.0, 0.0));
        let o = DensityRatioOptions {
            points: 5,
            range: Some((-2.0, 2.0)),
            ..DensityRatioOptions::default()
        };
        let r = density_ratio_check(&gan, 0.0, 1.0, &o).unwrap();
        let dstar = |x: f64| {
            let p = normal_pdf(x, 0.0, 1.0);
            p / (p + normal_pdf(x, 3.0, 2.0))
        };
        // On the grid −2, −1, 0, 1, 2, D* peaks at −1 (≈ 0.90: p_data high, p_g low) and is
        // smallest at 2 (≈ 0.23); |½ − D*| is largest at the peak.
        assert!(dstar(-1.0) > dstar(-2.0) && dstar(-1.0) > dstar(0.0));
        assert!((r.dstar_max - dstar(-1.0)).abs() < 1e-3, "{r:?}");
        assert!((r.dstar_min - dstar(2.0)).abs() < 1e-3, "{r:?}");
        assert_eq!((r.d_min, r.d_max), (0.5, 0.5));
        assert_eq!(r.at, -1.0);
        assert!((r.max_abs_dev - (dstar(-1.0) - 0.5)).abs() < 1e-3);
        let mean: f64 = [-2.0, -1.0, 0.0, 1.0, 2.0]
            .iter()
            .map(|&x| (dstar(x) - 0.5).abs())
            .sum::<f64>()
            / 5.0;
        assert!((r.mean_abs_dev - mean).abs() < 1e-3);
        assert_eq!((r.lo, r.hi, r.points), (-2.0, 2.0, 5));
        assert!(r.region_in_pg_support());
        assert!(r.pg_method.contains("Gaussian prior"), "{}", r.pg_method);
        // Without a range: the central 99% of N(0, 1).
        let r = density_ratio_check(&gan, 0.0, 1.0, &DensityRatioOptions::default()).unwrap();
        assert!((r.hi - 2.575_829_303_548_901).abs() < 1e-9 && r.lo == -r.hi);
    }
}
