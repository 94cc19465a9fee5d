//! Even grids on an interval and the positions of a series' extremes.

/// `n` evenly spaced points from `lo` to `hi`, both included (`[lo]` when `n` is 1).
pub fn linspace(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![lo];
    }
    (0..n)
        .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
        .collect()
}

/// Indices of the first smallest and the first largest value (0, 0 for an empty slice).
pub fn argmin_max(v: &[f64]) -> (usize, usize) {
    let mut mn = 0;
    let mut mx = 0;
    for (i, &x) in v.iter().enumerate() {
        if x < v[mn] {
            mn = i;
        }
        if x > v[mx] {
            mx = i;
        }
    }
    (mn, mx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linspace_includes_both_ends() {
        assert_eq!(linspace(-1.0, 1.0, 5), vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
        assert_eq!(linspace(3.0, 4.0, 1), vec![3.0]);
    }

    #[test]
    fn argmin_max_takes_the_first_of_ties() {
        assert_eq!(argmin_max(&[2.0, 1.0, 5.0, 1.0, 5.0]), (1, 2));
        assert_eq!(argmin_max(&[]), (0, 0));
    }
}
