//! Max pooling (square window, stride ≤ window, argmax-routing backward) and average pooling
//! (non-overlapping k × k), one image plane per task.
//!
//! The paper's CIFAR-10 discriminator pools with pylearn2's `max_pool_c01b` (cuda-convnet's
//! `MaxPool`, start 0): `ceil((size − k) / stride) + 1` outputs per axis, the last windows allowed
//! to fall off the image's far edge (they take the max of the part inside), stride ≤ k, k ≤ size.
//! That is [`PoolRounding::Ceil`]; [`PoolRounding::Exact`] refuses windows that do not tile.

use super::geom::Image;
use crate::engine::ShapeError;
use rayon::prelude::*;

/// How the windows' count per axis is found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolRounding {
    /// `(size − k)` must be a multiple of the stride: every window lies inside the image.
    Exact,
    /// pylearn2 / cuda-convnet: `ceil((size − k) / stride) + 1` windows, the last ones clipped.
    Ceil,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool {
    pub input: Image,
    pub k: usize,
    pub stride: usize,
    pub out_h: usize,
    pub out_w: usize,
}

impl MaxPool {
    pub fn try_new(
        input: Image,
        k: usize,
        stride: usize,
        rounding: PoolRounding,
    ) -> Result<Self, ShapeError> {
        let input = input.try_nonempty("max_pool")?;
        let what = format!("max_pool {k}x{k}, stride {stride}");
        if k == 0 || stride == 0 || stride > k {
            return Err(ShapeError::stack(format!(
                "{what}: needs 1 ≤ stride ≤ window (overlapping or touching windows)"
            )));
        }
        let mut out = [0; 2];
        for (d, (size, name)) in [(input.h, "height"), (input.w, "width")]
            .into_iter()
            .enumerate()
        {
            if k > size {
                return Err(ShapeError::stack(format!(
                    "{what}: the window is larger than input {input} (its {name} is {size})"
                )));
            }
            let span = size - k;
            out[d] = match rounding {
                PoolRounding::Ceil => span.div_ceil(stride) + 1,
                PoolRounding::Exact if span.is_multiple_of(stride) => span / stride + 1,
                PoolRounding::Exact => {
                    return Err(ShapeError::stack(format!(
                        "{what} does not tile input {input}: along the {name}, {size} − {k} = {span} is not a multiple of the stride {stride}"
                    )))
                }
            };
        }
        Ok(MaxPool {
            input,
            k,
            stride,
            out_h: out[0],
            out_w: out[1],
        })
    }

    pub fn output(&self) -> Image {
        Image::new(self.input.c, self.out_h, self.out_w)
    }

    /// `y` = the max of each window; `argmax` = its position in the input plane (the first
    /// maximum in row-major order, as PyTorch picks).
    pub fn forward(&self, n: usize, x: &[f32], y: &mut [f32], argmax: &mut [u32]) {
        let (inp, out) = (self.input, self.output());
        assert!(
            x.len() == n * inp.len() && y.len() == n * out.len() && argmax.len() == y.len(),
            "max_pool buffers"
        );
        if y.is_empty() {
            return;
        }
        y.par_chunks_mut(out.plane())
            .zip(argmax.par_chunks_mut(out.plane()))
            .enumerate()
            .for_each(|(q, (yp, ap))| {
                let xp = &x[q * inp.plane()..][..inp.plane()];
                for oy in 0..self.out_h {
                    let rows = oy * self.stride..(oy * self.stride + self.k).min(inp.h);
                    for ox in 0..self.out_w {
                        let cols = ox * self.stride..(ox * self.stride + self.k).min(inp.w);
                        let mut best = rows.start * inp.w + cols.start;
                        for r in rows.clone() {
                            for c in cols.clone() {
                                if xp[r * inp.w + c] > xp[best] {
                                    best = r * inp.w + c;
                                }
                            }
                        }
                        yp[oy * self.out_w + ox] = xp[best];
                        ap[oy * self.out_w + ox] = best as u32;
                    }
                }
            });
    }

    /// `dx` (overwritten): each window's gradient added to its argmax; overlapping windows add up
    /// in output order within the plane's one task.
    pub fn backward(&self, n: usize, dy: &[f32], argmax: &[u32], dx: &mut [f32]) {
        let (inp, out) = (self.input, self.output());
        assert!(
            dx.len() == n * inp.len() && dy.len() == n * out.len() && argmax.len() == dy.len(),
            "max_pool backward buffers"
        );
        if dx.is_empty() {
            return;
        }
        dx.par_chunks_mut(inp.plane())
            .enumerate()
            .for_each(|(q, dp)| {
                dp.fill(0.0);
                let span = q * out.plane()..(q + 1) * out.plane();
                for (&g, &a) in dy[span.clone()].iter().zip(&argmax[span]) {
                    dp[a as usize] += g;
                }
            });
    }
}

/// Average over non-overlapping `k × k` windows, which must tile the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvgPool {
    pub input: Image,
    pub k: usize,
}

impl AvgPool {
    pub fn try_new(input: Image, k: usize) -> Result<Self, ShapeError> {
        let input = input.try_nonempty("avg_pool")?;
        if k == 0 || input.h % k != 0 || input.w % k != 0 {
            return Err(ShapeError::stack(format!(
                "avg_pool {k}x{k} does not tile input {input}: height and width must be multiples of {k}"
            )));
        }
        Ok(AvgPool { input, k })
    }

    pub fn output(&self) -> Image {
        Image::new(self.input.c, self.input.h / self.k, self.input.w / self.k)
    }

    pub fn forward(&self, n: usize, x: &[f32], y: &mut [f32]) {
        let (inp, out, k) = (self.input, self.output(), self.k);
        assert!(
            x.len() == n * inp.len() && y.len() == n * out.len(),
            "avg_pool buffers"
        );
        let scale = 1.0 / (k * k) as f32;
        y.par_chunks_mut(out.plane())
            .enumerate()
            .for_each(|(q, yp)| {
                let xp = &x[q * inp.plane()..][..inp.plane()];
                for (oy, yr) in yp.chunks_exact_mut(out.w).enumerate() {
                    for (ox, o) in yr.iter_mut().enumerate() {
                        let mut s = 0f32;
                        for r in oy * k..(oy + 1) * k {
                            s += xp[r * inp.w + ox * k..][..k].iter().sum::<f32>();
                        }
                        *o = s * scale;
                    }
                }
            });
    }

    pub fn backward(&self, n: usize, dy: &[f32], dx: &mut [f32]) {
        let (inp, out, k) = (self.input, self.output(), self.k);
        assert!(
            dx.len() == n * inp.len() && dy.len() == n * out.len(),
            "avg_pool backward buffers"
        );
        let scale = 1.0 / (k * k) as f32;
        dx.par_chunks_mut(inp.plane())
            .enumerate()
            .for_each(|(q, dp)| {
                let gp = &dy[q * out.plane()..][..out.plane()];
                for (r, dr) in dp.chunks_exact_mut(inp.w).enumerate() {
                    for (c, d) in dr.iter_mut().enumerate() {
                        *d = gp[(r / k) * out.w + c / k] * scale;
                    }
                }
            });
    }
}
