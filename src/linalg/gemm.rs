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

/// `c ← a·b` (`c` row-major `m × n`, contiguous) computed as `cᵀ ← bᵀ·aᵀ` into `scratch` (grown
/// as needed), then transposed into `c`.
///
/// `gemm` vectorises along the contiguous dimension of its output and packs its left operand
/// along that dimension. For a row-major `c` that is `n`, so the left operand is `b`; when `b` is
/// stored transposed (`n × k`: the column matrix in a convolution's weight gradient
/// `dw = dy·colsᵀ`, a dense layer's weights in its input gradient `δ·Wᵀ`) that packing is a
/// strided gather over all of `b`. Written into `cᵀ`, the product vectorises along `m` and
/// gathers `a` instead: the output gradient's `out_c × P` rather than the `K × P` column matrix
/// (4–16 times smaller in DCGAN's layers), or the batch's `δ` rather than `W`. Each element is
/// still one `gemm` sum over `k` in the same depth blocks and order (outside `gemm`'s own paths
/// for tiny and thin products, which may differ between the two orientations), so the bits are
/// those of [`matmul`]: tested below on every such product DCGAN's and the paper's layers run.
pub fn matmul_via_transpose(c: &mut [f32], a: MatRef, b: MatRef, scratch: &mut Vec<f32>) {
    matmul_via_transpose_on(c, a, b, scratch, rayon::current_num_threads());
}

/// [`matmul_via_transpose`] on `threads` of rayon's threads, as [`matmul_on`].
pub fn matmul_via_transpose_on(
    c: &mut [f32],
    a: MatRef,
    b: MatRef,
    scratch: &mut Vec<f32>,
    threads: usize,
) {
    let (m, n) = (a.shape().0, b.shape().1);
    assert!(c.len() >= m * n, "output buffer");
    if scratch.len() < m * n {
        scratch.resize(m * n, 0.0);
    }
    let ct = &mut scratch[..m * n];
    matmul_on(ct, m, b.t(), a.t(), None, threads);
    transpose_into(ct, n, m, &mut c[..m * n]);
}

/// `dst` (`cols × rows`, row-major) ← the transpose of `src` (`rows × cols`, row-major), by
/// 8 × 8 blocks: eight contiguous rows in, eight contiguous columns out, which the compiler turns
/// into vector shuffles.
fn transpose_into(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    const B: usize = 8;
    let (rb, cb) = (rows / B * B, cols / B * B);
    for r0 in (0..rb).step_by(B) {
        for c0 in (0..cb).step_by(B) {
            let mut block = [[0f32; B]; B];
            for (i, row) in block.iter_mut().enumerate() {
                row.copy_from_slice(&src[(r0 + i) * cols + c0..][..B]);
            }
            for j in 0..B {
                let out = &mut dst[(c0 + j) * rows + r0..][..B];
                for (o, row) in out.iter_mut().zip(&block) {
                    *o = row[j];
                }
            }
        }
    }
    // the right-hand strip of the block rows, then the last rows whole
    for r in 0..rows {
        let from = if r < rb { cb } else { 0 };
        for c in from..cols {
            dst[c * rows + r] = src[r * cols + c];
        }
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

    /// Products `c [m × n] = a [m × k] · bᵀ` with `b` stored `n × k`, `(m, k, n)`: the weight
    /// gradients of DCGAN's convolutions (`dw = δ · colsᵀ`; CIFAR's D layers and G's first
    /// transposed convolution at batch 128 / 64, MNIST's first D layer at batch 64; `k` spans
    /// one to several of `gemm`'s depth blocks), then the input gradients `δ · Wᵀ` of the paper
    /// model's layers, its 1-wide output layer's among them.
    const TRANSPOSED_B_SHAPES: [(usize, usize, usize); 9] = [
        (64, 32768, 48),
        (128, 8192, 1024),
        (256, 2048, 2048),
        (256, 1024, 2048),
        (32, 12544, 16),
        (100, 784, 1200),
        (300, 1200, 240),
        (100, 1200, 784),
        (300, 1, 240),
    ];

    /// Through `cᵀ`, every such product gives the bits of the direct product, on 1, 2 and 3
    /// threads, and a scratch left larger by a bigger product does not matter.
    #[test]
    fn products_through_the_transpose_give_the_bits_of_the_direct_ones() {
        let mut scratch = vec![f32::NAN; 300 * 2048];
        for (m, p, n) in TRANSPOSED_B_SHAPES {
            let a = values(m * p, 8);
            let b = values(n * p, 9);
            let (av, bv) = (MatRef::new(&a, m, p), MatRef::new(&b, n, p).t());
            let mut direct = vec![0f32; m * n];
            unsafe {
                block(
                    SendPtr(direct.as_mut_ptr()),
                    n,
                    av,
                    bv,
                    None,
                    0..m,
                    0..n,
                    gemm::Parallelism::None,
                )
            };
            for t in [1, 2, 3] {
                let mut c = vec![f32::NAN; m * n];
                rayon::ThreadPoolBuilder::new()
                    .num_threads(t)
                    .build()
                    .unwrap()
                    .install(|| matmul_via_transpose(&mut c, av, bv, &mut scratch));
                assert!(c == direct, "{m}×{p}×{n} on {t} threads");
            }
        }
        // and the values are the product's: a small case against the naive sum
        let (m, p, n) = (5, 40, 9);
        let (a, b) = (values(m * p, 10), values(n * p, 11));
        let bt: Vec<f32> = (0..p * n).map(|i| b[(i % n) * p + i / n]).collect();
        let want = naive(&a, &bt, m, p, n);
        let mut c = vec![f32::NAN; m * n];
        matmul_via_transpose(
            &mut c,
            MatRef::new(&a, m, p),
            MatRef::new(&b, n, p).t(),
            &mut scratch,
        );
        for (x, y) in c.iter().zip(&want) {
            assert!((*x as f64 - y).abs() < 1e-4, "{x} vs {y}");
        }
    }

    #[test]
    fn transposes_match_an_element_by_element_one() {
        for (rows, cols) in [
            (1, 1),
            (1, 9),
            (9, 1),
            (8, 8),
            (13, 21),
            (16, 40),
            (100, 1200),
        ] {
            let src = values(rows * cols, 12);
            let mut dst = vec![f32::NAN; rows * cols];
            transpose_into(&src, rows, cols, &mut dst);
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(
                        dst[c * rows + r],
                        src[r * cols + c],
                        "{rows}×{cols} at {r},{c}"
                    );
                }
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
