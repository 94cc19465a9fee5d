//! Products whose right operand is stored transposed, computed through the transpose of the
//! output so that `gemm` packs the smaller operand (see [`matmul_via_transpose`]).

use super::gemm::{matmul_on, MatRef};

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
/// those of [`matmul`](super::gemm::matmul): tested below on every such product DCGAN's and the
/// paper's layers run.
pub fn matmul_via_transpose(c: &mut [f32], a: MatRef, b: MatRef, scratch: &mut Vec<f32>) {
    matmul_via_transpose_on(c, a, b, scratch, rayon::current_num_threads());
}

/// [`matmul_via_transpose`] on `threads` of rayon's threads, as [`matmul_on`] takes them.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::gemm::tests::{naive, values};

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
            // one single-threaded gemm call over the whole output
            let mut direct = vec![0f32; m * n];
            matmul_on(&mut direct, n, av, bv, None, 1);
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
}
