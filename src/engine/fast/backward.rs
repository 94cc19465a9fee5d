//! The backward sweep through a mirrored network: each layer's own backward
//! ([`crate::engine::layers::FastLayer::backward`]), top down, over rows laid out in segments.

use super::mirror::{NetMirror, Tape};
use crate::engine::layers::{BackwardPass, Seg, Sink};

/// Gradient buffers of one backward sweep.
#[derive(Default, Debug)]
pub(super) struct Back {
    pub cur: Vec<f32>,
    nxt: Vec<f32>,
    scratch: Vec<f32>,
    gb: Vec<f32>,
}

/// Backpropagates `tape`'s pass. `back.cur` holds the gradient w.r.t. the output for every
/// segment row (`total × output width`). The weight segments' parameter gradients go to `sink`
/// layer by layer, top down, each layer handed over as soon as the sweep is past it; on return
/// `back.cur` holds the input gradient of the input segments (rows from the first input segment's
/// `delta` on, `input` wide).
pub(super) fn backward(
    net: &mut NetMirror,
    tape: &Tape,
    segs: &[Seg],
    total: usize,
    back: &mut Back,
    mut sink: Option<&mut dyn Sink>,
) {
    let first_input = segs.iter().find(|s| !s.weights).map_or(total, |s| s.delta);
    debug_assert!(segs.iter().all(|s| s.weights == (s.delta < first_input)));
    let has_weight_rows = first_input > 0;
    let lowest = net.lowest_with_params();
    // δ w.r.t. layer i's output is needed from this row on.
    let out_from = |i: usize| {
        if lowest.is_some_and(|l| i >= l) && has_weight_rows {
            0
        } else {
            first_input
        }
    };
    let widths: Vec<usize> = (0..net.layers.len()).map(|i| net.width_in(i)).collect();
    let max_w = net
        .widths
        .iter()
        .copied()
        .chain([net.input])
        .max()
        .unwrap_or(0);
    for i in (0..net.layers.len()).rev() {
        if back.nxt.len() < total * max_w {
            back.nxt.resize(total * max_w, 0.0);
        }
        let Back {
            cur,
            nxt,
            scratch,
            gb,
        } = &mut *back;
        net.layers[i].backward(BackwardPass {
            layer: i,
            segs,
            total,
            lo_in: if i == 0 { first_input } else { out_from(i - 1) },
            lo_out: out_from(i),
            win: widths[i],
            wout: net.widths[i],
            x: &tape.acts[i],
            y: &tape.acts[i + 1],
            saved: &tape.saved[i],
            cur,
            nxt,
            scratch,
            gb,
            sink: if has_weight_rows {
                sink.as_deref_mut()
            } else {
                None
            },
        });
        std::mem::swap(&mut back.cur, &mut back.nxt);
    }
}
