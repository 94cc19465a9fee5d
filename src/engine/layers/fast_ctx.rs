//! What the fast path hands a layer for one forward or backward pass: plain row-major buffers
//! and the bookkeeping of which rows need what (see [`super::super::fast`] for the driver).

use std::ops::Range;

use rand_chacha::ChaCha8Rng;

/// A group of rows drawn by one `Masks::Draw` pass of the reference path: its random draws
/// (dropout masks) come from the step's stream starting at word `pos`.
#[derive(Clone, Copy, Debug)]
pub struct Pass {
    pub first_row: usize,
    pub rows: usize,
    pub pos: u128,
}

/// One layer's forward over `rows` rows.
pub struct ForwardPass<'a> {
    pub rows: usize,
    /// Input and output width.
    pub win: usize,
    pub wout: usize,
    /// `rows × win` and `rows × wout`.
    pub x: &'a [f32],
    pub y: &'a mut [f32],
    /// `rows × saved_width(win)`: what the backward pass needs besides `x` and `y`.
    pub saved: &'a mut [f32],
    /// Training: the step's stream and the passes the rows belong to; `None`: evaluation.
    pub draw: Option<(&'a ChaCha8Rng, &'a [Pass])>,
    /// Words each pass has drawn so far (layer by layer, in the reference's order); a layer
    /// that draws adds its own.
    pub drawn: &'a mut [u128],
}

/// Rows of the backward sweep: `rows` rows starting at `delta` in the gradient buffers, which
/// belong to tape rows starting at `tape`. A `weights` segment feeds the weight gradients (and
/// needs no gradient below the lowest layer with parameters); the others carry an input gradient
/// down to the network's input. Weight segments come first.
#[derive(Clone, Copy, Debug)]
pub struct Seg {
    pub delta: usize,
    pub tape: usize,
    pub rows: usize,
    pub weights: bool,
}

/// Receives a layer's parameter gradients during a backward sweep.
pub trait Sink {
    /// Where layer `layer`'s weight gradient (`len` values) goes, and the factor its content is
    /// scaled by before the gradient is added (`None`: overwritten).
    fn weight_target(&mut self, layer: usize, len: usize) -> (&mut [f32], Option<f32>);
    /// Layer `layer`'s gradients are complete (`gb` its bias gradient) and the sweep no longer
    /// needs its parameters `w`, `b`: they may change now.
    fn done(&mut self, layer: usize, w: &mut [f32], b: &mut [f32], gb: &[f32]);
}

/// One layer's part of a backward sweep over `total` gradient rows.
pub struct BackwardPass<'a, 's> {
    pub layer: usize,
    pub segs: &'a [Seg],
    pub total: usize,
    /// The input gradient is needed from this row on (`total`: not at all).
    pub lo_in: usize,
    /// The gradient w.r.t. the output is valid from this row on.
    pub lo_out: usize,
    pub win: usize,
    pub wout: usize,
    /// The forward pass's input, output and saved values (tape rows).
    pub x: &'a [f32],
    pub y: &'a [f32],
    pub saved: &'a [f32],
    /// ∂/∂output (`total × wout`) and ∂/∂input to write (`total × win`, rows ≥ `lo_in`).
    pub cur: &'a [f32],
    pub nxt: &'a mut [f32],
    /// Scratch buffers the sweep keeps between layers.
    pub scratch: &'a mut Vec<f32>,
    pub gb: &'a mut Vec<f32>,
    /// Where parameter gradients go; `None`: none are wanted.
    pub sink: Option<&'a mut (dyn Sink + 's)>,
}

impl BackwardPass<'_, '_> {
    /// Runs an element-wise backward segment by segment for rows ≥ `lo_in`:
    /// `f(∂input rows, ∂output rows, tape range)` (input and output have one width).
    pub fn elementwise(self, f: impl Fn(&mut [f32], &[f32], Range<usize>)) {
        let win = self.win;
        for s in self.segs.iter().filter(|s| s.delta >= self.lo_in) {
            let d = s.delta * win..(s.delta + s.rows) * win;
            let t = s.tape * win..(s.tape + s.rows) * win;
            f(&mut self.nxt[d.clone()], &self.cur[d], t);
        }
    }
}
