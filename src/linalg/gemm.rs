//! Row-major matrix products on the `gemm` crate (AVX-512 or AVX2+FMA kernels picked at run time),
//! threaded on rayon's pool.
//!
//! `gemm` splits the output into tiles across threads but never splits the inner dimension, so
//! every output element is summed in the same order whatever the thread count: results do not
//! depend on how many threads run (a resumed run on another machine reproduces the same bits).

/// A read-only row-major matrix view: `rows × cols`, row `i` starting at `i * ld`, or its
/// transpose when `t` is set (then the view is `cols × rows` of the stored data).
#[derive(Clone, Copy)]
pub struct MatRef<'a> {
    pub data: &'a [f32],
    /// Stored rows and columns (before any transpose).
    pub rows: usize,
    pub cols: usize,
    pub ld: usize,
    pub t: bool,
}

impl<'a> MatRef<'a> {
    /// The first `rows` rows of a contiguous row-major `? × cols` buffer.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert!(data.len() >= rows * cols, "matrix buffer too short");
        MatRef {
            data,
            rows,
            cols,
            ld: cols,
            t: false,
        }
    }

    /// Rows `start..start + rows` of a contiguous row-major `? × cols` buffer.
    pub fn rows(data: &'a [f32], start: usize, rows: usize, cols: usize) -> Self {
        Self::new(&data[start * cols..(start + rows) * cols], rows, cols)
    }

    pub fn t(self) -> Self {
        MatRef { t: !self.t, ..self }
    }

    /// (rows, cols) of the view.
    fn shape(&self) -> (usize, usize) {
        if self.t {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }

    /// (column stride, row stride) of the view, as `gemm` takes them.
    fn strides(&self) -> (isize, isize) {
        if self.t {
            (self.ld as isize, 1)
        } else {
            (1, self.ld as isize)
        }
    }
}

/// How threads are used: all of rayon's pool when it has more than one thread.
fn parallelism() -> gemm::Parallelism {
    let n = rayon::current_num_threads();
    if n > 1 {
        gemm::Parallelism::Rayon(n)
    } else {
        gemm::Parallelism::None
    }
}

/// `c ← a·b` (`acc: None`) or `c ← acc·c + a·b` (`acc: Some(alpha)`), `c` row-major with `ldc`.
pub fn matmul(c: &mut [f32], ldc: usize, a: MatRef, b: MatRef, acc: Option<f32>) {
    let (m, k) = a.shape();
    let (k2, n) = b.shape();
    assert_eq!(k, k2, "inner dimensions");
    if m == 0 || n == 0 {
        return;
    }
    assert!(ldc >= n && c.len() >= (m - 1) * ldc + n, "output buffer");
    // The views' last elements must lie inside their slices.
    for v in [&a, &b] {
        if v.rows > 0 && v.cols > 0 {
            assert!(
                (v.rows - 1) * v.ld + v.cols <= v.data.len(),
                "operand buffer"
            );
        }
    }
    if k == 0 {
        match acc {
            None => c.chunks_mut(ldc).take(m).for_each(|r| r[..n].fill(0.0)),
            Some(alpha) => c
                .chunks_mut(ldc)
                .take(m)
                .for_each(|r| r[..n].iter_mut().for_each(|v| *v *= alpha)),
        }
        return;
    }
    let (a_cs, a_rs) = a.strides();
    let (b_cs, b_rs) = b.strides();
    // SAFETY: every index gemm touches is inside the slices (checked above): dst (m × n with row
    // stride ldc), lhs (m × k) and rhs (k × n) through their strides; `c` is borrowed mutably,
    // so it cannot alias the operands.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            ldc as isize,
            acc.is_some(),
            a.data.as_ptr(),
            a_cs,
            a_rs,
            b.data.as_ptr(),
            b_cs,
            b_rs,
            acc.unwrap_or(0.0),
            1.0,
            false,
            false,
            false,
            parallelism(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut c = vec![0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    c[i * n + j] += a[i * k + p] as f64 * b[p * n + j] as f64;
                }
            }
        }
        c
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn products_and_transposes_match_a_naive_product() {
        let (m, k, n) = (7, 13, 5);
        let a = values(m * k, 1);
        let b = values(k * n, 2);
        let want = naive(&a, &b, m, k, n);
        let close = |c: &[f32]| {
            c.iter()
                .zip(&want)
                .all(|(&x, &y)| (x as f64 - y).abs() < 1e-4)
        };
        let mut c = vec![0f32; m * n];
        matmul(
            &mut c,
            n,
            MatRef::new(&a, m, k),
            MatRef::new(&b, k, n),
            None,
        );
        assert!(close(&c));
        // the same product from transposed storage: aᵀ stored as k × m, bᵀ as n × k
        let at: Vec<f32> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
        let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        let mut c2 = vec![0f32; m * n];
        matmul(
            &mut c2,
            n,
            MatRef::new(&at, k, m).t(),
            MatRef::new(&bt, n, k).t(),
            None,
        );
        assert!(close(&c2));
        // accumulate: c ← 0.5 c + a·b
        let mut c3 = c.clone();
        matmul(
            &mut c3,
            n,
            MatRef::new(&a, m, k),
            MatRef::new(&b, k, n),
            Some(0.5),
        );
        for (x, y) in c3.iter().zip(&want) {
            assert!((*x as f64 - 1.5 * y).abs() < 1e-4);
        }
    }
}
