//! Maxout over channel groups after a convolution (pylearn2's `MaxoutConvC01B`): output channel
//! `u` is the element-wise max of input channels `u·pieces .. (u + 1)·pieces`. The backward routes
//! each gradient to the first maximal piece (recomputed from the input, so nothing is stored).

use super::geom::Image;
use crate::engine::ShapeError;
use rayon::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelMaxout {
    pub input: Image,
    pub pieces: usize,
}

impl ChannelMaxout {
    pub fn try_new(input: Image, pieces: usize) -> Result<Self, ShapeError> {
        let input = input.try_nonempty("maxout")?;
        if pieces == 0 || input.c % pieces != 0 {
            return Err(ShapeError::stack(format!(
                "maxout of {pieces} pieces on input {input}: the {} channels are not a multiple of {pieces}",
                input.c
            )));
        }
        Ok(ChannelMaxout { input, pieces })
    }

    pub fn output(&self) -> Image {
        Image::new(self.input.c / self.pieces, self.input.h, self.input.w)
    }

    /// The input group of output plane `q` (example-major), one plane per piece.
    fn group<'a>(&self, q: usize, x: &'a [f32]) -> impl Iterator<Item = &'a [f32]> + 'a {
        let plane = self.input.plane();
        x[q * self.pieces * plane..][..self.pieces * plane].chunks_exact(plane)
    }

    pub fn forward(&self, n: usize, x: &[f32], y: &mut [f32]) {
        let out = self.output();
        assert!(
            x.len() == n * self.input.len() && y.len() == n * out.len(),
            "maxout buffers"
        );
        y.par_chunks_mut(out.plane())
            .enumerate()
            .for_each(|(q, yp)| {
                let mut pieces = self.group(q, x);
                yp.copy_from_slice(pieces.next().expect("pieces ≥ 1"));
                for p in pieces {
                    for (o, &v) in yp.iter_mut().zip(p) {
                        if v > *o {
                            *o = v;
                        }
                    }
                }
            });
    }

    /// `dx` (overwritten): `dy` at each position's first maximal piece, zero elsewhere.
    pub fn backward(&self, n: usize, x: &[f32], dy: &[f32], dx: &mut [f32]) {
        let out = self.output();
        let plane = out.plane();
        assert!(
            x.len() == n * self.input.len() && dy.len() == n * out.len() && dx.len() == x.len(),
            "maxout backward buffers"
        );
        dx.par_chunks_mut(self.pieces * plane)
            .enumerate()
            .for_each(|(q, dg)| {
                dg.fill(0.0);
                let xs: Vec<&[f32]> = self.group(q, x).collect();
                let gp = &dy[q * plane..][..plane];
                for (i, &g) in gp.iter().enumerate() {
                    let mut best = 0;
                    for (p, xp) in xs.iter().enumerate().skip(1) {
                        if xp[i] > xs[best][i] {
                            best = p;
                        }
                    }
                    dg[best * plane + i] = g;
                }
            });
    }
}
