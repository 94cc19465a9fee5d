//! 2-D convolution (cross-correlation, PyTorch's `conv2d`) over a whole NCHW batch: im2col, then
//! ONE GEMM for the batch; the weight gradient as one GEMM; the input gradient at output
//! resolution (one GEMM, then col2im's scatter-add), so a stride-2 layer does no wasted work.
//!
//! Weights are `[out_c, in_c, kh, kw]` (PyTorch's layout), i.e. a row-major `[out_c × K]` matrix.

use super::geom::{ConvGeom, Image};
use super::im2col::{col2im, im2col, row_sums, swap_outer};
use crate::engine::ShapeError;
use crate::linalg::gemm::{matmul, MatRef};
use crate::linalg::transposed::matmul_via_transpose;

/// A convolution layer's shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2d {
    pub geom: ConvGeom,
    pub out_c: usize,
    pub bias: bool,
}

/// Buffers kept between a forward pass and its backward pass (reused across steps).
#[derive(Default, Debug, Clone)]
pub struct ConvWork {
    /// The forward's im2col matrix (`[K × P]`), then the backward's column gradient.
    pub cols: Vec<f32>,
    /// The GEMM side of the output: `[out_c × P]` (channel-major).
    pub t: Vec<f32>,
    /// The weight gradient's transpose (see [`matmul_via_transpose`]).
    pub dwt: Vec<f32>,
    /// The input (address and length) the last forward left its buffers for, until a backward
    /// consumes them: a backward over the same rows reuses them instead of recomputing.
    src: Option<(usize, usize)>,
}

impl ConvWork {
    /// The first `len` values of `buf`, grown (never shrunk) to hold them. Callers overwrite
    /// every value they use, so the buffer keeps whatever a larger call left past `len`: a layer
    /// that alternates between batch sizes (D over 128 rows, then 64) would otherwise refill the
    /// difference with zeros on every growth.
    pub(crate) fn sized(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
        if buf.len() < len {
            buf.resize(len, 0.0);
        }
        &mut buf[..len]
    }

    /// Records that the buffers now hold the forward's values for input `x`.
    pub(crate) fn hold(&mut self, x: &[f32]) {
        self.src = Some((x.as_ptr() as usize, x.len()));
    }

    /// Whether the buffers hold the forward's values for exactly the slice `x` (same rows of the
    /// same buffer: the fast path writes a tape's rows only in the forward that precedes their
    /// backward).
    pub fn holds(&self, x: &[f32]) -> bool {
        self.src == Some((x.as_ptr() as usize, x.len()))
    }

    /// The buffers no longer hold a forward's values (a backward overwrote them).
    pub fn forget(&mut self) {
        self.src = None;
    }
}

impl Conv2d {
    /// Checks the shapes: the windows must tile the input exactly (see [`ConvGeom::try_conv`]).
    pub fn try_new(
        input: Image,
        out_c: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
        pad: [usize; 2],
        bias: bool,
    ) -> Result<Self, ShapeError> {
        if out_c == 0 {
            return Err(ShapeError::stack(format!(
                "conv2d on input {input}: it needs at least 1 output channel"
            )));
        }
        let geom = ConvGeom::try_conv("conv2d", input, kernel, stride, pad)?;
        Ok(Conv2d { geom, out_c, bias })
    }

    pub fn input(&self) -> Image {
        self.geom.img
    }

    pub fn output(&self) -> Image {
        Image::new(self.out_c, self.geom.rows.out, self.geom.cols.out)
    }

    /// Weight values: `out_c · in_c · kh · kw`.
    pub fn weight_len(&self) -> usize {
        self.out_c * self.geom.k()
    }

    /// `y = conv(x, w) + b` for `n` images; keeps the im2col matrix in `work` for the backward.
    pub fn forward(
        &self,
        n: usize,
        x: &[f32],
        w: &[f32],
        b: Option<&[f32]>,
        y: &mut [f32],
        work: &mut ConvWork,
    ) {
        let (k, p) = (self.geom.k(), n * self.geom.positions());
        self.check(n, w, y.len());
        assert_eq!(b.is_some(), self.bias, "conv2d bias");
        if let Some(b) = b {
            assert_eq!(b.len(), self.out_c, "conv2d bias");
        }
        assert_eq!(x.len(), n * self.input().len(), "conv2d input");
        let cols = ConvWork::sized(&mut work.cols, k * p);
        im2col(&self.geom, n, x, cols);
        let t = ConvWork::sized(&mut work.t, self.out_c * p);
        matmul(
            t,
            p,
            MatRef::new(w, self.out_c, k),
            MatRef::new(cols, k, p),
            None,
        );
        let plane = self.geom.positions();
        swap_outer(t, self.out_c, n, plane, b, y);
        work.hold(x);
    }

    /// Gradients from `dy` after [`forward`](Self::forward) ran with the same `work`: `dw` and
    /// `db` (overwritten, where given: without `dw` the forward's im2col matrix is not read, so
    /// a backward that only carries the input gradient needs no forward buffers) and `dx`
    /// (overwritten; `None` for a first layer, whose input needs no gradient). `work.cols` is
    /// consumed.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        n: usize,
        dy: &[f32],
        w: &[f32],
        work: &mut ConvWork,
        dw: Option<&mut [f32]>,
        db: Option<&mut [f32]>,
        dx: Option<&mut [f32]>,
    ) {
        let (k, p) = (self.geom.k(), n * self.geom.positions());
        // a bias gradient where the layer has a bias, and only then (none wanted: `None`)
        assert!(db.is_none() || self.bias, "conv2d bias");
        self.check(n, w, dy.len());
        work.forget();
        let dt = ConvWork::sized(&mut work.t, self.out_c * p);
        swap_outer(dy, n, self.out_c, self.geom.positions(), None, dt);
        if let Some(db) = db {
            assert_eq!(db.len(), self.out_c, "conv2d bias");
            row_sums(dt, db);
        }
        let dt = &work.t[..self.out_c * p];
        if let Some(dw) = dw {
            assert!(
                dw.len() == w.len() && work.cols.len() >= k * p,
                "conv2d backward buffers"
            );
            matmul_via_transpose(
                dw,
                MatRef::new(dt, self.out_c, p),
                MatRef::new(&work.cols, k, p).t(),
                &mut work.dwt,
            );
        }
        if let Some(dx) = dx {
            assert_eq!(dx.len(), n * self.input().len(), "conv2d input gradient");
            let dcols = ConvWork::sized(&mut work.cols, k * p);
            matmul(
                dcols,
                p,
                MatRef::new(w, self.out_c, k).t(),
                MatRef::new(dt, self.out_c, p),
                None,
            );
            col2im(&self.geom, n, dcols, None, dx);
        }
    }

    fn check(&self, n: usize, w: &[f32], y_len: usize) {
        assert_eq!(w.len(), self.weight_len(), "conv2d weight");
        assert_eq!(y_len, n * self.output().len(), "conv2d output");
    }
}
