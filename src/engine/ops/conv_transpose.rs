//! Transposed 2-D convolution (PyTorch's `conv_transpose2d`), the adjoint of [`Conv2d`]'s input
//! map: its forward is conv2d's data gradient (one GEMM, then col2im's scatter-add), its input
//! gradient is conv2d's forward (im2col, one GEMM), its weight gradient one GEMM.
//!
//! Weights are `[in_c, out_c, kh, kw]` (PyTorch's layout), a row-major `[in_c × K]` matrix with
//! K = out_c·kh·kw.
//!
//! [`Conv2d`]: super::Conv2d

use super::conv::ConvWork;
use super::geom::{ConvGeom, Image};
use super::im2col::{col2im, im2col, swap_outer};
use crate::engine::ShapeError;
use crate::linalg::gemm::{matmul, MatRef};
use crate::linalg::transposed::matmul_via_transpose;

/// A transposed convolution's shapes; `geom.img` is its output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvTranspose2d {
    pub geom: ConvGeom,
    pub in_c: usize,
    pub bias: bool,
}

impl ConvTranspose2d {
    /// Output size per axis `(in − 1)·stride − 2·pad + k + output_padding` (see
    /// [`ConvGeom::try_transpose`]).
    pub fn try_new(
        input: Image,
        out_c: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
        pad: [usize; 2],
        output_padding: [usize; 2],
        bias: bool,
    ) -> Result<Self, ShapeError> {
        let geom = ConvGeom::try_transpose(
            "conv_transpose2d",
            input,
            out_c,
            kernel,
            stride,
            pad,
            output_padding,
        )?;
        Ok(ConvTranspose2d {
            geom,
            in_c: input.c,
            bias,
        })
    }

    pub fn input(&self) -> Image {
        Image::new(self.in_c, self.geom.rows.out, self.geom.cols.out)
    }

    pub fn output(&self) -> Image {
        self.geom.img
    }

    pub fn weight_len(&self) -> usize {
        self.in_c * self.geom.k()
    }

    /// `y = conv_transpose(x, w) + b` for `n` images; keeps `x` channel-major in `work.t` for the
    /// weight gradient.
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
        self.check(n, w, b, x.len(), y.len());
        assert_eq!(b.is_some(), self.bias, "conv_transpose2d bias");
        let xt = ConvWork::sized(&mut work.t, self.in_c * p);
        swap_outer(x, n, self.in_c, self.geom.positions(), None, xt);
        let cols = ConvWork::sized(&mut work.cols, k * p);
        matmul(
            cols,
            p,
            MatRef::new(w, self.in_c, k).t(),
            MatRef::new(&work.t, self.in_c, p),
            None,
        );
        col2im(&self.geom, n, cols, b, y);
        work.hold(x);
    }

    /// Gradients from `dy` after [`forward`](Self::forward) with the same `work`: `dw`, `db` and
    /// `dx`, each overwritten where given (without `dw` the forward's buffers are not read;
    /// `dx: None` skips the input gradient).
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
        self.check(n, w, None, n * self.input().len(), dy.len());
        assert!(db.is_none() || self.bias, "conv_transpose2d bias");
        work.forget();
        if let Some(db) = db {
            let out = self.output();
            assert_eq!(db.len(), out.c, "conv_transpose2d bias");
            let mut sums = vec![0f64; out.c];
            for img in dy.chunks_exact(out.len()) {
                for (s, plane) in sums.iter_mut().zip(img.chunks_exact(out.plane())) {
                    *s += plane.iter().map(|&v| v as f64).sum::<f64>();
                }
            }
            db.iter_mut().zip(&sums).for_each(|(d, &s)| *d = s as f32);
        }
        let cols = ConvWork::sized(&mut work.cols, k * p);
        im2col(&self.geom, n, dy, cols);
        if let Some(dw) = dw {
            assert!(
                dw.len() == w.len() && work.t.len() >= self.in_c * p,
                "conv_transpose2d backward buffers"
            );
            matmul_via_transpose(
                dw,
                MatRef::new(&work.t, self.in_c, p),
                MatRef::new(&work.cols, k, p).t(),
                &mut work.dwt,
            );
        }
        if let Some(dx) = dx {
            let dxt = ConvWork::sized(&mut work.t, self.in_c * p);
            matmul(
                dxt,
                p,
                MatRef::new(w, self.in_c, k),
                MatRef::new(&work.cols, k, p),
                None,
            );
            swap_outer(dxt, self.in_c, n, self.geom.positions(), None, dx);
        }
    }

    fn check(&self, n: usize, w: &[f32], b: Option<&[f32]>, x_len: usize, y_len: usize) {
        assert_eq!(w.len(), self.weight_len(), "conv_transpose2d weight");
        // the forward passes its bias; the backward checks its own (`None` here)
        assert!(
            b.is_some() == self.bias || b.is_none(),
            "conv_transpose2d bias"
        );
        if let Some(b) = b {
            assert_eq!(b.len(), self.output().c, "conv_transpose2d bias");
        }
        assert_eq!(x_len, n * self.input().len(), "conv_transpose2d input");
        assert_eq!(y_len, n * self.output().len(), "conv_transpose2d output");
    }
}
