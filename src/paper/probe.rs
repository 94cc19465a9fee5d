//! D and G evaluated where the theory checks look: D(x) on a 1-D grid, fresh noise rows.

use crate::engine::loss::sigmoid;
use crate::engine::rng::{stream, Purpose};
use crate::engine::theory;
use crate::engine::Gan;

/// D(x) in evaluation mode at each x of a 1-D game.
pub fn d_at(gan: &Gan, xs: &[f64]) -> Vec<f64> {
    let x: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
    theory::d_logits_chunked(gan, &x)
        .into_iter()
        .map(|l| sigmoid(l as f64))
        .collect()
}

/// `n` fresh noise rows from the GAN's sample stream (the stream `Gan::sample` draws from), so
/// a recipe that draws noise and then samples sees the same sequence as one that only samples.
pub fn draw_noise(gan: &mut Gan, n: usize) -> Vec<f32> {
    let z = gan
        .spec
        .noise
        .sample_vec(n, &mut stream(gan.seed, Purpose::Sample, gan.samples_drawn));
    gan.samples_drawn += 1;
    z
}
