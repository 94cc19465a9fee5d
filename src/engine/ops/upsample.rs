//! Nearest-neighbour upsampling by an integer factor (each pixel repeated `scale × scale` times)
//! and its backward (the sum over each block), one image plane per task.

use super::geom::Image;
use crate::engine::ShapeError;
use rayon::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Upsample {
    pub input: Image,
    pub scale: usize,
}

impl Upsample {
    pub fn try_new(input: Image, scale: usize) -> Result<Self, ShapeError> {
        let input = input.try_nonempty("upsample")?;
        if scale == 0 {
            return Err(ShapeError::stack(format!(
                "upsample of input {input}: the scale must be at least 1"
            )));
        }
        Ok(Upsample { input, scale })
    }

    pub fn output(&self) -> Image {
        Image::new(
            self.input.c,
            self.input.h * self.scale,
            self.input.w * self.scale,
        )
    }

    pub fn forward(&self, n: usize, x: &[f32], y: &mut [f32]) {
        let (inp, out, s) = (self.input, self.output(), self.scale);
        assert!(
            x.len() == n * inp.len() && y.len() == n * out.len(),
            "upsample buffers"
        );
        y.par_chunks_mut(out.plane())
            .enumerate()
            .for_each(|(q, yp)| {
                let xp = &x[q * inp.plane()..][..inp.plane()];
                for (r, yr) in yp.chunks_exact_mut(out.w).enumerate() {
                    let xr = &xp[(r / s) * inp.w..][..inp.w];
                    for (block, &v) in yr.chunks_exact_mut(s).zip(xr) {
                        block.fill(v);
                    }
                }
            });
    }

    /// `dx` (overwritten) = the sum of `dy` over each `scale × scale` block, rows then columns.
    pub fn backward(&self, n: usize, dy: &[f32], dx: &mut [f32]) {
        let (inp, out, s) = (self.input, self.output(), self.scale);
        assert!(
            dx.len() == n * inp.len() && dy.len() == n * out.len(),
            "upsample backward buffers"
        );
        dx.par_chunks_mut(inp.plane())
            .enumerate()
            .for_each(|(q, dp)| {
                let gp = &dy[q * out.plane()..][..out.plane()];
                for (r, dr) in dp.chunks_exact_mut(inp.w).enumerate() {
                    for (c, d) in dr.iter_mut().enumerate() {
                        let mut sum = 0f32;
                        for gr in gp[r * s * out.w..][..s * out.w].chunks_exact(out.w) {
                            sum += gr[c * s..][..s].iter().sum::<f32>();
                        }
                        *d = sum;
                    }
                }
            });
    }
}
