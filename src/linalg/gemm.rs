//! Row-major matrix products on the `gemm` crate (AVX-512 or AVX2+FMA kernels picked at run time),
//! threaded on rayon's pool.
//!
//! With several threads, a product is cut into one block of output columns (or, for narrow
//! outputs, rows) per thread, and each block is one single-threaded `gemm` call: one fork and one
//! join per product, where `gemm`'s own threading forks and joins for every depth block it packs,
//! and each thread packs only its share of the operand it owns.
//!
//! Neither split touches the inner dimension, so every output element is summed in the same order
//! whatever the thread count: `gemm` blocks the inner dimension by a depth that depends only on
//! `k` and the kernel (outside its small-matrix path, which a block is never cut small enough to
//! enter), and a kernel sums each element over its depth block in order. Results therefore do not
//! depend on how many threads run (tests below check blocks against whole products bit for bit).

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
    pub fn shape(&self) -> (usize, usize) {
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

/// How threads are used for a product that is not split into blocks: all of rayon's pool when it
/// has more than one thread.
fn parallelism(threads: usize) -> gemm::Parallelism {
    if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    }
}

/// Fewest output columns (rows) a block gets: well above 64, since `gemm` takes another path,
/// with another depth blocking, for products of at most 64 × 64.
const MIN_BLOCK: usize = 128;

/// How an `m × n` output is cut over `threads` threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Split {
    /// One `gemm` call with its own threading.
    Whole,
    /// `parts` blocks of whole columns (each ≥ [`MIN_BLOCK`] wide).
    Cols(usize),
    /// `parts` blocks of whole rows; only where `n` > 64, so that no block is a small product.
    Rows(usize),
}

fn split(m: usize, n: usize, k: usize, threads: usize) -> Split {
    // `gemm` takes matrix-vector and outer-product paths for thin operands; leave those whole.
    if threads <= 1 || k <= 2 || m <= 1 || n <= 1 {
        return Split::Whole;
    }
    if n >= 2 * MIN_BLOCK && m >= 16 {
        Split::Cols((n / MIN_BLOCK).min(threads))
    } else if n > 64 && m >= 2 * MIN_BLOCK {
        Split::Rows((m / MIN_BLOCK).min(threads))
    } else {
        Split::Whole
    }
}

/// The start of block `i` of `parts` over `len`, on a multiple of 16 (one AVX-512 vector of f32).
fn block_start(len: usize, parts: usize, i: usize) -> usize {
    if i >= parts {
        len
    } else {
        (len * i / parts) / 16 * 16
    }
}

/// A pointer that may cross to another thread: each block writes only its own output elements.
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: the blocks of one product write disjoint elements of `c` (see `matmul`), and the
// product waits for all of them before `c`'s borrow ends.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

/// `c ← a·b` (`acc: None`) or `c ← acc·c + a·b` (`acc: Some(alpha)`), `c` row-major with `ldc`.
pub fn matmul(c: &mut [f32], ldc: usize, a: MatRef, b: MatRef, acc: Option<f32>) {
    matmul_on(c, ldc, a, b, acc, rayon::current_num_threads());
}

/// [`matmul`] on `threads` of rayon's threads (1: one `gemm` call on the calling thread, for
/// products that run beside another one). Same bits whatever `threads` is.
pub fn matmul_on(
    c: &mut [f32],
    ldc: usize,
    a: MatRef,
    b: MatRef,
    acc: Option<f32>,
    threads: usize,
) {
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
    let dst = SendPtr(c.as_mut_ptr());
    // SAFETY (of each `block` call below): every index gemm touches is inside the slices
    // (checked above): dst (m × n with row stride ldc), lhs (m × k) and rhs (k × n) through their
    // strides, and a block's rows / columns are a sub-range of those; `c` is borrowed mutably, so
    // it cannot alias the operands; blocks run at the same time write disjoint rows or columns.
    match split(m, n, k, threads) {
        Split::Whole => unsafe {
            block(dst, ldc, a, b, acc, 0..m, 0..n, parallelism(threads));
        },
        Split::Cols(parts) => rayon::scope(|s| {
            for i in 0..parts {
                let cols = block_start(n, parts, i)..block_start(n, parts, i + 1);
                s.spawn(move |_| unsafe {
                    block(dst, ldc, a, b, acc, 0..m, cols, gemm::Parallelism::None)
                });
            }
        }),
        Split::Rows(parts) => rayon::scope(|s| {
            for i in 0..parts {
                let rows = block_start(m, parts, i)..block_start(m, parts, i + 1);
                s.spawn(move |_| unsafe {
                    block(dst, ldc, a, b, acc, rows, 0..n, gemm::Parallelism::None)
                });
            }
        }),
    }
}

/// `c[rows, cols] ← (acc·c +) a[rows, ..]·b[.., cols]` as one `gemm` call.
///
/// # Safety
/// `c` must hold the `m × n` output with row stride `ldc` that `a`, `b` (checked views) make, the
/// ranges must lie inside it, and no other thread may touch these output elements meanwhile.
#[allow(clippy::too_many_arguments)]
unsafe fn block(
    c: SendPtr,
    ldc: usize,
    a: MatRef,
    b: MatRef,
    acc: Option<f32>,
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
    par: gemm::Parallelism,
) {
    let (a_cs, a_rs) = a.strides();
    let (b_cs, b_rs) = b.strides();
    let k = a.shape().1;
    gemm::gemm(
        rows.len(),
        cols.len(),
        k,
        c.0.add(rows.start * ldc + cols.start),
        1,
        ldc as isize,
        acc.is_some(),
        a.data.as_ptr().offset(rows.start as isize * a_rs),
        a_cs,
        a_rs,
        b.data.as_ptr().offset(cols.start as isize * b_cs),
        b_cs,
        b_rs,
        acc.unwrap_or(0.0),
        1.0,
        false,
        false,
        false,
        par,
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
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

    pub(crate) fn values(n: usize, seed: u32) -> Vec<f32> {
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

    /// The products of one paper-model iteration (forward, weight gradient with accumulation,
    /// input gradient), `(m, k, n, a transposed, b transposed, acc)`.
    const PAPER_SHAPES: [(usize, usize, usize, bool, bool, Option<f32>); 12] = [
        (100, 100, 1200, false, false, None),
        (100, 1200, 1200, false, false, None),
        (100, 1200, 784, false, false, None),
        (200, 784, 1200, false, false, None),
        (200, 240, 1200, false, false, None),
        (1200, 100, 784, true, false, Some(0.7)),
        (784, 200, 1200, true, false, Some(0.5)),
        (240, 200, 1200, true, false, Some(0.5)),
        (100, 784, 1200, false, true, None),
        (300, 1200, 240, false, true, None),
        (100, 1200, 784, false, true, None),
        (300, 240, 1, false, false, None),
    ];

    /// One product of a paper shape: in a pool of `threads` threads, or (`None`) as one
    /// single-threaded `gemm` call over the whole output.
    fn product(
        shape: (usize, usize, usize, bool, bool, Option<f32>),
        threads: Option<usize>,
    ) -> Vec<f32> {
        let (m, k, n, ta, tb, acc) = shape;
        let a = values(m * k, 3);
        let b = values(k * n, 4);
        let av = if ta {
            MatRef::new(&a, k, m).t()
        } else {
            MatRef::new(&a, m, k)
        };
        let bv = if tb {
            MatRef::new(&b, n, k).t()
        } else {
            MatRef::new(&b, k, n)
        };
        let mut c = values(m * n, 5);
        match threads {
            None => unsafe {
                block(
                    SendPtr(c.as_mut_ptr()),
                    n,
                    av,
                    bv,
                    acc,
                    0..m,
                    0..n,
                    gemm::Parallelism::None,
                )
            },
            Some(t) => rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap()
                .install(|| matmul(&mut c, n, av, bv, acc)),
        }
        c
    }

    /// Cut into blocks over 2 or 3 threads, every product of the paper iteration gives the bits
    /// of one single-threaded call over the whole output.
    #[test]
    fn blocks_give_the_bits_of_the_whole_product() {
        for shape in PAPER_SHAPES {
            let whole = product(shape, None);
            for t in [2, 3] {
                let (m, k, n, ..) = shape;
                assert!(
                    product(shape, Some(t)) == whole,
                    "{m}×{k}×{n} on {t} threads ({:?})",
                    split(m, n, k, t)
                );
            }
        }
    }

    /// Blocks cover the output: a split product equals the naive one to rounding.
    #[test]
    fn split_products_match_a_naive_product() {
        let (m, k, n) = (300, 70, 260);
        let a = values(m * k, 6);
        let b = values(k * n, 7);
        let want = naive(&a, &b, m, k, n);
        for (mm, nn) in [(m, n), (n, 100)] {
            assert_ne!(split(mm, nn, k, 2), Split::Whole);
        }
        let mut c = vec![f32::NAN; m * n];
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap()
            .install(|| {
                matmul(
                    &mut c,
                    n,
                    MatRef::new(&a, m, k),
                    MatRef::new(&b, k, n),
                    None,
                )
            });
        for (x, y) in c.iter().zip(&want) {
            assert!((*x as f64 - y).abs() < 1e-3, "{x} vs {y}");
        }
    }

    #[test]
    fn splits_keep_blocks_out_of_gemms_small_and_thin_paths() {
        assert_eq!(split(100, 1200, 1200, 1), Split::Whole);
        assert_eq!(split(100, 1200, 1200, 2), Split::Cols(2));
        assert_eq!(split(100, 240, 1200, 2), Split::Whole);
        assert_eq!(split(300, 240, 1200, 2), Split::Rows(2));
        assert_eq!(split(300, 1, 240, 2), Split::Whole);
        assert_eq!(split(300, 1200, 1, 2), Split::Whole);
        for (len, parts) in [(1200, 2), (784, 3), (256, 2), (300, 2)] {
            let starts: Vec<usize> = (0..=parts).map(|i| block_start(len, parts, i)).collect();
            assert_eq!((starts[0], starts[parts]), (0, len));
            assert!(
                starts.windows(2).all(|w| w[1] - w[0] > 64),
                "{len}/{parts}: {starts:?}"
            );
        }
    }
}
