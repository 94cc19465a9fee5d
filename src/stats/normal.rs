//! The normal distribution N(mean, std²): density, CDF, quantile and central intervals, for the
//! toy data, the paper's theory checks, the Parzen estimate's normaliser and the figures.

use std::f64::consts::PI;

/// Density of the normal distribution `N(mean, std²)` at `x`.
pub fn normal_pdf(x: f64, mean: f64, std: f64) -> f64 {
    let z = (x - mean) / std;
    (-0.5 * z * z).exp() / (std * (2.0 * PI).sqrt())
}

/// log of the normaliser of an isotropic Gaussian kernel in `dim` dimensions with scale `sigma`:
/// `dim · log(σ √(2π))`.
pub fn log_normaliser(dim: usize, sigma: f64) -> f64 {
    dim as f64 * (sigma * (2.0 * PI).sqrt()).ln()
}

/// The central interval holding `mass` (in (0, 1)) of N(mean, std²).
pub fn normal_interval(mean: f64, std: f64, mass: f64) -> (f64, f64) {
    let k = normal_quantile(0.5 + mass / 2.0);
    (mean - k * std, mean + k * std)
}

/// Φ⁻¹(p), the standard normal quantile (Acklam's rational approximation refined by one Halley
/// step; absolute error below 1e-12 on (0, 1)).
pub fn normal_quantile(p: f64) -> f64 {
    assert!(
        p > 0.0 && p < 1.0,
        "normal_quantile: p must be in (0, 1), got {p}"
    );
    const A: [f64; 6] = [
        -3.969683028665376e+01,
        2.209460984245205e+02,
        -2.759285104469687e+02,
        1.383_577_518_672_69e2,
        -3.066479806614716e+01,
        2.506628277459239e+00,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e+01,
        1.615858368580409e+02,
        -1.556989798598866e+02,
        6.680131188771972e+01,
        -1.328068155288572e+01,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e+00,
        -2.549732539343734e+00,
        4.374664141464968e+00,
        2.938163982698783e+00,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-03,
        3.224671290700398e-01,
        2.445134137142996e+00,
        3.754408661907416e+00,
    ];
    let pl = 0.02425;
    let x = if p < pl {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - pl {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // One Halley step on Φ(x) − p.
    let e = normal_cdf(x) - p;
    let u = e * (2.0 * PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// Φ(x), the standard normal CDF, via [`erfc`] (absolute error below 1e-14; checked against
/// tabulated values in the tests).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// erfc(x) by the continued fraction for large |x| and the Taylor series of erf for small |x|.
fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 2.5 {
        // erf(x) = 2/√π Σ (−1)ⁿ x^(2n+1) / (n! (2n+1))
        let mut sum = 0.0;
        let mut term = x;
        let mut n = 0.0;
        loop {
            let add = term / (2.0 * n + 1.0);
            sum += add;
            if add.abs() < 1e-17 * sum.abs() {
                break;
            }
            n += 1.0;
            term *= -x * x / n;
            if n > 200.0 {
                break;
            }
        }
        1.0 - 2.0 / PI.sqrt() * sum
    } else {
        // Lentz's continued fraction: erfc(x) = e^(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …))))
        let mut f = x;
        let tiny = 1e-300;
        let (mut c, mut d) = (x, 0.0);
        for k in 1..300 {
            let a = k as f64 / 2.0;
            d = x + a * d;
            d = if d.abs() < tiny { tiny } else { d };
            c = x + a / c;
            c = if c.abs() < tiny { tiny } else { c };
            d = 1.0 / d;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (-x * x).exp() / PI.sqrt() / f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile_and_cdf_agree_with_tables() {
        assert!((normal_quantile(0.995) - 2.575_829_303_548_901).abs() < 1e-9);
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-9);
        assert!((normal_quantile(0.001) + 3.090_232_306_167_813).abs() < 1e-9);
        assert!((normal_cdf(1.0) - 0.841_344_746_068_543).abs() < 1e-12);
        assert!((normal_cdf(-3.0) - 0.001_349_898_031_630_095).abs() < 1e-13);
        assert!((normal_cdf(4.0) - 0.999_968_328_758_166_9).abs() < 1e-13);
        for p in [1e-6, 0.01, 0.3, 0.5, 0.77, 0.99, 0.999_999] {
            assert!((normal_cdf(normal_quantile(p)) - p).abs() < 1e-12, "{p}");
        }
    }

    #[test]
    fn pdf_and_interval_match_closed_forms() {
        // 1/√(2π) at the mode; e^(−1/2)/(2√(2π)) one std (2) from it
        assert!((normal_pdf(0.0, 0.0, 1.0) - 0.398_942_280_401_432_7).abs() < 1e-15);
        assert!((normal_pdf(5.0, 3.0, 2.0) - 0.120_985_362_259_571_8).abs() < 1e-15);
        let (lo, hi) = normal_interval(1.0, 2.0, 0.95);
        assert!((lo - (1.0 - 2.0 * 1.959_963_984_540_054)).abs() < 1e-9);
        assert!((hi - (1.0 + 2.0 * 1.959_963_984_540_054)).abs() < 1e-9);
        // two dimensions of scale 1: log 2π
        assert!((log_normaliser(2, 1.0) - 1.837_877_066_409_345_4).abs() < 1e-15);
    }
}
