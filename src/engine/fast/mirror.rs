//! The networks mirrored into plain buffers, the forward pass over them and what it keeps for
//! the backward pass ([`Tape`]), and evaluation.

use dfdx::prelude::*;
use rand_chacha::ChaCha8Rng;

use crate::engine::layers::{FastLayer, ForwardPass, Param, Pass};
use crate::engine::network::Network;
use crate::engine::Mat;

/// A network's layers with their parameters in plain buffers.
#[derive(Clone, Debug)]
pub struct NetMirror {
    pub input: usize,
    pub layers: Vec<Box<dyn FastLayer>>,
    /// Output width of each layer.
    pub widths: Vec<usize>,
}

impl NetMirror {
    /// Copies `net`'s structure and parameters.
    pub fn new(net: &Network) -> Self {
        NetMirror {
            input: net.input_dim(),
            layers: net.layers.iter().map(|l| l.mirror()).collect(),
            widths: net
                .spec
                .try_shapes()
                .expect("a built network has a valid spec"),
        }
    }

    pub fn output_dim(&self) -> usize {
        self.widths.last().copied().unwrap_or(self.input)
    }

    pub(super) fn width_in(&self, i: usize) -> usize {
        if i == 0 {
            self.input
        } else {
            self.widths[i - 1]
        }
    }

    /// Random words one training pass over `rows` rows draws (dropout masks).
    pub fn dropout_words(&self, rows: usize) -> u128 {
        (0..self.layers.len())
            .map(|i| self.layers[i].random_words(rows, self.width_in(i)))
            .sum()
    }

    /// Writes the parameters into `net`'s tensors (one task per tensor on rayon's pool).
    pub fn store(&self, net: &mut Network) {
        rayon::scope(|s| {
            for (l, fl) in net.layers.iter_mut().zip(&self.layers) {
                for ((_, p), v) in l.params_mut().into_iter().zip(fl.params()) {
                    match p {
                        Param::Matrix(w) => s.spawn(move |_| w.copy_from(v)),
                        Param::Vector(b) => b.copy_from(v),
                    }
                }
            }
        });
    }

    /// Index of the lowest layer with parameters: no gradient is needed below it for updates.
    pub(super) fn lowest_with_params(&self) -> Option<usize> {
        self.layers.iter().position(|l| !l.params().is_empty())
    }
}

/// What one forward pass keeps for its backward pass.
#[derive(Default, Debug)]
pub(super) struct Tape {
    pub rows: usize,
    /// `acts[i]`: layer i's input (`acts[0]` the network's input, the last one its output).
    pub acts: Vec<Vec<f32>>,
    /// What each layer saved for its backward (maxout's pre-activations, dropout's masks).
    pub saved: Vec<Vec<f32>>,
}

impl Tape {
    /// Sizes the buffers for `rows` rows of `net` (keeping allocations across calls).
    pub fn ensure(&mut self, net: &NetMirror, rows: usize) {
        let n = net.layers.len();
        self.rows = rows;
        self.acts.resize_with(n + 1, Vec::new);
        self.saved.resize_with(n, Vec::new);
        self.acts[0].resize(rows * net.input, 0.0);
        for (i, l) in net.layers.iter().enumerate() {
            self.acts[i + 1].resize(rows * net.widths[i], 0.0);
            self.saved[i].resize(rows * l.saved_width(net.width_in(i)), 0.0);
        }
    }

    pub fn input_mut(&mut self) -> &mut [f32] {
        &mut self.acts[0]
    }

    pub fn output(&self) -> &[f32] {
        self.acts.last().expect("sized")
    }
}

/// Runs `net` over `tape.acts[0]` (`tape.rows` rows, already written): in training with `draw`
/// (the step's stream and the reference's passes the rows belong to), else in evaluation.
pub(super) fn forward(net: &NetMirror, tape: &mut Tape, draw: Option<(&ChaCha8Rng, &[Pass])>) {
    let rows = tape.rows;
    let mut drawn = vec![0u128; draw.map_or(0, |(_, p)| p.len())];
    for (i, layer) in net.layers.iter().enumerate() {
        let (win, wout) = (net.width_in(i), net.widths[i]);
        let (before, after) = tape.acts.split_at_mut(i + 1);
        layer.forward(ForwardPass {
            rows,
            win,
            wout,
            x: &before[i][..rows * win],
            y: &mut after[0][..rows * wout],
            saved: &mut tape.saved[i],
            draw,
            drawn: &mut drawn,
        });
    }
}

/// `net` in evaluation mode (no dropout) on `x` (`rows × input`), in blocks of rows.
pub fn eval_rows(net: &NetMirror, x: &[f32]) -> Vec<f32> {
    const BLOCK: usize = 256;
    let rows = x.len() / net.input.max(1);
    let out_w = net.output_dim();
    let mut out = vec![0f32; rows * out_w];
    let mut tape = Tape::default();
    let mut r = 0;
    while r < rows {
        let n = BLOCK.min(rows - r);
        tape.ensure(net, n);
        tape.input_mut()
            .copy_from_slice(&x[r * net.input..(r + n) * net.input]);
        forward(net, &mut tape, None);
        out[r * out_w..(r + n) * out_w].copy_from_slice(tape.output());
        r += n;
    }
    out
}

/// `net` in evaluation mode on the fast path: a mirror of the weights, then [`eval_rows`].
pub fn eval(net: &Network, x: &Mat) -> Mat {
    let (rows, cols) = *x.shape();
    assert_eq!(cols, net.input_dim(), "input width");
    let mirror = NetMirror::new(net);
    let out = eval_rows(&mirror, &x.as_vec());
    x.device().tensor_from_vec(out, (rows, mirror.output_dim()))
}
