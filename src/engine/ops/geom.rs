//! Output-size rules: how a sliding window (kernel, stride, padding) maps an image axis onto the
//! positions of its outputs, checked so that a misfit is a [`ShapeError`] naming both shapes.

use crate::engine::ShapeError;
use std::fmt;

/// One image: channels × height × width (the per-example part of an NCHW batch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Image {
    pub c: usize,
    pub h: usize,
    pub w: usize,
}

impl Image {
    pub fn new(c: usize, h: usize, w: usize) -> Self {
        Image { c, h, w }
    }

    /// Values per image.
    pub fn len(&self) -> usize {
        self.c * self.h * self.w
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values per channel plane.
    pub fn plane(&self) -> usize {
        self.h * self.w
    }

    /// Refuses an image with a zero-sized axis (`what` names the operation in the message).
    pub fn try_nonempty(self, what: &str) -> Result<Self, ShapeError> {
        if self.is_empty() {
            return Err(ShapeError::stack(format!(
                "{what}: input {self} has an empty axis"
            )));
        }
        Ok(self)
    }
}

impl fmt::Display for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}, {}]", self.c, self.h, self.w)
    }
}

/// A window sliding along one axis: input `size`, kernel `k`, `stride`, zero `pad` on both ends,
/// `out` window positions. Position `o` covers inputs `o·stride − pad .. o·stride − pad + k`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Axis {
    pub size: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
    pub out: usize,
}

impl Axis {
    /// The window positions `o` (a range) whose tap `i` (0 ≤ i < k) falls inside the input, i.e.
    /// `0 ≤ o·stride + i − pad < size`.
    pub fn valid(&self, i: usize) -> std::ops::Range<usize> {
        let (s, i, p) = (self.stride, i, self.pad);
        let lo = if p > i { (p - i).div_ceil(s) } else { 0 };
        let hi = if self.size + p > i {
            ((self.size + p - i - 1) / s + 1).min(self.out)
        } else {
            0
        };
        lo.min(hi)..hi
    }
}

/// The geometry of a convolution: an image (`img`, the side with padding) and the window
/// positions over it (`rows`, `cols`): the same relation serves conv2d (image = input) and
/// conv_transpose2d (image = output).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    pub img: Image,
    pub rows: Axis,
    pub cols: Axis,
}

impl ConvGeom {
    /// Rows of the im2col matrix: one per (channel, kernel row, kernel column).
    pub fn k(&self) -> usize {
        self.img.c * self.rows.k * self.cols.k
    }

    /// Window positions per image.
    pub fn positions(&self) -> usize {
        self.rows.out * self.cols.out
    }

    /// A convolution over `img` whose windows must tile it exactly: `size + 2·pad − k` must be a
    /// non-negative multiple of the stride on both axes (PyTorch would silently drop the last rows).
    pub fn try_conv(
        what: &str,
        img: Image,
        kernel: [usize; 2],
        stride: [usize; 2],
        pad: [usize; 2],
    ) -> Result<Self, ShapeError> {
        let img = img.try_nonempty(what)?;
        let mut axes = [None, None];
        for (d, (size, name)) in [(img.h, "height"), (img.w, "width")]
            .into_iter()
            .enumerate()
        {
            let (k, s, p) = (kernel[d], stride[d], pad[d]);
            let shape = format!(
                "kernel {}x{}, stride {}x{}, padding {}x{}",
                kernel[0], kernel[1], stride[0], stride[1], pad[0], pad[1]
            );
            if k == 0 || s == 0 {
                return Err(ShapeError::stack(format!(
                    "{what}: {shape}: kernel and stride must be at least 1"
                )));
            }
            if size + 2 * p < k {
                return Err(ShapeError::stack(format!(
                    "{what}: {shape} does not fit input {img}: the padded {name} {} is smaller than the kernel {k}",
                    size + 2 * p
                )));
            }
            let span = size + 2 * p - k;
            if span % s != 0 {
                return Err(ShapeError::stack(format!(
                    "{what}: {shape} does not tile input {img}: along the {name}, {size} + 2·{p} − {k} = {span} is not a multiple of the stride {s} ({} input rows would be left out)",
                    span % s
                )));
            }
            axes[d] = Some(Axis {
                size,
                k,
                stride: s,
                pad: p,
                out: span / s + 1,
            });
        }
        Ok(ConvGeom {
            img,
            rows: axes[0].unwrap(),
            cols: axes[1].unwrap(),
        })
    }

    /// A transposed convolution from `h × w` window positions to the image it spreads them over:
    /// `size = (in − 1)·stride − 2·pad + k + output_padding` per axis, `output_padding < stride`
    /// (PyTorch's rule: a larger one would add rows no window reaches).
    #[allow(clippy::too_many_arguments)]
    pub fn try_transpose(
        what: &str,
        input: Image,
        out_c: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
        pad: [usize; 2],
        output_padding: [usize; 2],
    ) -> Result<Self, ShapeError> {
        let input = input.try_nonempty(what)?;
        let shape = format!(
            "kernel {}x{}, stride {}x{}, padding {}x{}, output padding {}x{}",
            kernel[0],
            kernel[1],
            stride[0],
            stride[1],
            pad[0],
            pad[1],
            output_padding[0],
            output_padding[1]
        );
        let mut axes = [None, None];
        for (d, (n_in, name)) in [(input.h, "height"), (input.w, "width")]
            .into_iter()
            .enumerate()
        {
            let (k, s, p, op) = (kernel[d], stride[d], pad[d], output_padding[d]);
            if k == 0 || s == 0 || out_c == 0 {
                return Err(ShapeError::stack(format!(
                    "{what}: {shape}, {out_c} channels: kernel, stride and channels must be at least 1"
                )));
            }
            if op >= s {
                return Err(ShapeError::stack(format!(
                    "{what}: {shape}: the output padding {op} must be smaller than the stride {s}"
                )));
            }
            let full = (n_in - 1) * s + k + op;
            if full <= 2 * p {
                return Err(ShapeError::stack(format!(
                    "{what}: {shape} on input {input}: the padding {p} removes the whole {name} ({full} before padding)"
                )));
            }
            axes[d] = Some(Axis {
                size: full - 2 * p,
                k,
                stride: s,
                pad: p,
                out: n_in,
            });
        }
        let (rows, cols) = (axes[0].unwrap(), axes[1].unwrap());
        Ok(ConvGeom {
            img: Image::new(out_c, rows.size, cols.size),
            rows,
            cols,
        })
    }
}
