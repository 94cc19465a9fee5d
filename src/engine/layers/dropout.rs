//! Dropout on a layer's input: each value kept with probability `keep` and scaled by `1/keep` in
//! training (inverted dropout), the identity in evaluation. Also the pass context every layer's
//! reference forward gets ([`Masks`]): whether this pass trains, and the random draws it makes.

use dfdx::prelude::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{BackwardPass, FastLayer, ForwardPass, Layer, LayerKind, Shape};
use crate::engine::{Dev, Mat, Tp};
use crate::linalg::par::{par_flat, zip_into};

/// How the layers of one reference forward pass behave: evaluation, or training with random
/// draws that can be recorded and replayed.
pub enum Masks<'a> {
    /// Evaluation: dropout is the identity.
    Off,
    /// Training: draw a fresh mask per dropout layer from `rng`, recording each so the same pass
    /// can be replayed (the simultaneous update needs D's pass over G(z) twice with one mask).
    Draw {
        rng: &'a mut ChaCha8Rng,
        record: &'a mut Vec<Mat>,
    },
    /// Replay masks recorded by an earlier `Draw`, in order.
    Replay { masks: &'a [Mat], next: usize },
}

impl Masks<'_> {
    /// The mask for a dropout layer: 0 or `1/keep` per entry, or `None` when dropout is off.
    fn next(&mut self, dev: &Dev, shape: (usize, usize), keep: f32) -> Option<Mat> {
        match self {
            Masks::Off => None,
            Masks::Draw { rng, record } => {
                let scale = 1.0 / keep;
                let n = shape.0 * shape.1;
                let v: Vec<f32> = (0..n)
                    .map(|_| if rng.gen::<f32>() < keep { scale } else { 0.0 })
                    .collect();
                let m = dev.tensor_from_vec(v, shape);
                record.push(m.clone());
                Some(m)
            }
            Masks::Replay { masks, next } => {
                let m = masks
                    .get(*next)
                    .expect("replayed pass has more dropout layers than recorded");
                assert_eq!(m.shape(), &shape, "replayed dropout mask shape");
                *next += 1;
                Some(m.clone())
            }
        }
    }
}

/// The spec: the keep probability as the spec writes it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DropoutKind {
    pub keep: f64,
}

/// The built layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    pub keep: f32,
}

impl LayerKind for DropoutKind {
    fn name(&self) -> String {
        format!("dropout({})", self.keep)
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, String> {
        let keep = self.keep;
        if !(keep > 0.0 && keep <= 1.0) {
            return Err(format!(
                "dropout takes the keep probability, which must be in (0, 1], got {keep}"
            ));
        }
        Ok(input)
    }

    fn build(&self, _: Shape, _: f64, _: &Dev, _: &mut ChaCha8Rng) -> Box<dyn Layer> {
        Box::new(Dropout {
            keep: self.keep as f32,
        })
    }
}

impl Dropout {
    fn apply<T: Tape<f32, Dev>>(&self, x: Mat<T>, masks: &mut Masks) -> Mat<T> {
        if self.keep >= 1.0 {
            return x;
        }
        let shape = *x.shape();
        match masks.next(x.device(), shape, self.keep) {
            Some(mask) => x * mask,
            None => x,
        }
    }

    /// Whether a training pass draws a mask (`keep = 1` keeps everything and draws nothing).
    fn draws(&self) -> bool {
        self.keep < 1.0
    }
}

impl Layer for Dropout {
    fn forward(&self, x: Mat, masks: &mut Masks) -> Mat {
        self.apply(x, masks)
    }
    fn forward_traced(&self, x: Mat<Tp>, masks: &mut Masks) -> Mat<Tp> {
        self.apply(x, masks)
    }
    fn mirror(&self) -> Box<dyn FastLayer> {
        Box::new(*self)
    }
}

/// Fills `out` with a dropout mask (`1/keep` kept, `0` dropped) exactly as the reference path
/// draws it: value `i` compares `rng.gen::<f32>()` (the `i`-th 32-bit word of the stream from
/// word `pos` on, `(word >> 8) · 2⁻²⁴`) with `keep`. The stream is split into chunks that are
/// generated in parallel from their own word positions (ChaCha is a counter-mode generator).
pub fn fill_mask(rng: &ChaCha8Rng, pos: u128, keep: f32, out: &mut [f32]) {
    let scale = (1.0 / keep).to_bits();
    let thr = keep_threshold(keep);
    par_flat(out, |at, dst| {
        // Locals, not captured references, so that nothing is reloaded inside the loop.
        let (scale, thr) = (scale, thr);
        let mut g = rng.clone();
        g.set_word_pos(pos + at as u128);
        let mut words = [0u32; 256];
        for chunk in dst.chunks_mut(256) {
            let w = &mut words[..chunk.len()];
            g.fill(w);
            // The kept value's bits under an all-ones mask, or +0.0: no branch, so it vectorises.
            for (m, &u) in chunk.iter_mut().zip(w.iter()) {
                *m = f32::from_bits(scale & (((u >> 8) < thr) as u32).wrapping_neg());
            }
        }
    });
}

/// The count of 24-bit draws `n` that keep a value: rand 0.8's `Standard` f32 is `n · 2⁻²⁴` with
/// `n = word >> 8`, both factors exact, so `n · 2⁻²⁴ < keep` ⇔ `n < keep · 2²⁴` (an exact f32
/// product for keep in (0, 1]) ⇔ `n < ⌈keep · 2²⁴⌉`.
fn keep_threshold(keep: f32) -> u32 {
    (keep * (1u32 << 24) as f32).ceil() as u32
}

impl FastLayer for Dropout {
    fn saved_width(&self, win: usize) -> usize {
        if self.draws() {
            win
        } else {
            0
        }
    }

    fn random_words(&self, rows: usize, win: usize) -> u128 {
        if self.draws() {
            (rows * win) as u128
        } else {
            0
        }
    }

    fn forward(&self, f: ForwardPass<'_>) {
        match f.draw {
            Some((rng, passes)) if self.draws() => {
                let (win, m) = (f.win, f.saved);
                for (p, d) in passes.iter().zip(f.drawn.iter_mut()) {
                    let block = &mut m[p.first_row * win..(p.first_row + p.rows) * win];
                    fill_mask(rng, p.pos + *d, self.keep, block);
                    *d += (p.rows * win) as u128;
                }
                zip_into(f.y, f.x, m, |a, b| a * b);
            }
            _ => f.y.copy_from_slice(f.x),
        }
    }

    fn backward(&mut self, b: BackwardPass<'_, '_>) {
        if self.draws() {
            let m = b.saved;
            b.elementwise(|o, dy, t| zip_into(o, dy, &m[t], |a, b| a * b));
        } else {
            b.elementwise(|o, dy, _| o.copy_from_slice(dy));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::layers::testing::check_paths;
    use crate::engine::spec::LayerSpec;
    use crate::engine::{device, rng};

    fn mat(dev: &Dev, rows: usize, cols: usize, v: Vec<f32>) -> Mat {
        dev.tensor_from_vec(v, (rows, cols))
    }

    /// Both paths draw the same masks from the same stream position, and backpropagate through them.
    #[test]
    fn fast_path_matches_dfdx_in_training_and_evaluation() {
        for keep in [0.5, 0.8, 1.0] {
            check_paths(&LayerSpec::Dropout { keep }, 9);
        }
    }

    #[test]
    fn dropout_scales_kept_values_in_training_and_is_identity_in_eval() {
        let dev = device();
        let layer = Dropout { keep: 0.8 };
        let x = mat(&dev, 100, 100, vec![1.0; 10_000]);
        assert_eq!(
            Layer::forward(&layer, x.clone(), &mut Masks::Off).as_vec(),
            vec![1.0; 10_000]
        );
        let mut r = rng::stream(3, rng::Purpose::Step, 0);
        let mut rec = Vec::new();
        let y = Layer::forward(
            &layer,
            x.clone(),
            &mut Masks::Draw {
                rng: &mut r,
                record: &mut rec,
            },
        )
        .as_vec();
        assert!(
            y.iter().all(|&v| v == 0.0 || v == 1.25),
            "kept values are scaled by 1/keep"
        );
        let kept = y.iter().filter(|&&v| v > 0.0).count() as f64 / 1e4;
        assert!((kept - 0.8).abs() < 0.02, "kept fraction {kept}");
        let mean = y.iter().map(|&v| v as f64).sum::<f64>() / 1e4;
        assert!(
            (mean - 1.0).abs() < 0.03,
            "inverted scaling keeps the mean: {mean}"
        );
        // replay gives the same mask
        let z = Layer::forward(
            &layer,
            x,
            &mut Masks::Replay {
                masks: &rec,
                next: 0,
            },
        )
        .as_vec();
        assert_eq!(y, z);
    }

    #[test]
    fn keep_outside_the_unit_interval_is_refused() {
        for keep in [0.0, -0.5, 1.5, f64::NAN] {
            let e = DropoutKind { keep }
                .output_shape(Shape::Flat(4))
                .unwrap_err();
            assert!(e.contains(&format!("got {keep}")), "{e}");
        }
    }

    /// The integer threshold keeps exactly the draws the float compare keeps, for every one of
    /// the 2²⁴ values a draw can take.
    #[test]
    fn keep_threshold_matches_the_float_compare_for_every_draw() {
        let mut r = rng::stream(5, rng::Purpose::Step, 0);
        let mut keeps = vec![0.8f32, 0.5, 0.3, 1.0, 0.1, 0.9, 1e-7, f32::EPSILON];
        keeps.extend((0..8).map(|_| r.gen_range(1e-6f32..1.0)));
        for keep in keeps {
            let thr = keep_threshold(keep);
            let unit = 1.0 / (1u32 << 24) as f32;
            let bad = (0u32..1 << 24).find(|&n| (unit * (n as f32) < keep) != (n < thr));
            assert_eq!(bad, None, "keep {keep}, threshold {thr}");
        }
    }

    #[test]
    fn dropout_masks_are_the_reference_draws() {
        let dev = device();
        for (skip, n, keep) in [
            (0usize, 5000usize, 0.8f32),
            (37, 3001, 0.5),
            (1, 70_000, 0.3),
        ] {
            let mut r = rng::stream(4, rng::Purpose::Step, 9);
            for _ in 0..skip {
                r.gen::<u32>();
            }
            let pos = r.get_word_pos();
            let mut rec = Vec::new();
            let x: Mat = dev.ones_like(&(1, n));
            Layer::forward(
                &Dropout { keep },
                x,
                &mut Masks::Draw {
                    rng: &mut r,
                    record: &mut rec,
                },
            );
            let mut fast = vec![0f32; n];
            fill_mask(&rng::stream(4, rng::Purpose::Step, 9), pos, keep, &mut fast);
            assert_eq!(fast, rec[0].as_vec(), "skip {skip}, n {n}");
        }
    }
}
