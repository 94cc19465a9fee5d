//! Micro-benchmark of the convolution kernels (`gan::engine::ops`): forward + backward of DCGAN's
//! discriminator body at CIFAR-10 size, batch 64 — conv 3→64 (4×4, stride 2, padding 1) → leaky
//! ReLU 0.2 → conv 64→128 → batch norm → leaky ReLU → conv 128→256 → batch norm → leaky ReLU —
//! convolutions without bias (batch norm follows them, as in DCGAN), no input gradient for the
//! first layer. `bench/torch_conv.py` times the same in PyTorch; `bench/conv` runs both.
//!
//! `RAYON_NUM_THREADS=2 cargo run --release --example bench_conv -- [iters]`
//!
//! Prints the CPU, the median and best time of one forward + backward, then one JSON line.

use gan::engine::ops::{BatchNorm, BatchNormCache, Conv2d, ConvWork, Image};
use gan::linalg::par::{map_into, zip_into};
use std::time::Instant;

const N: usize = 64;
const SLOPE: f32 = 0.2;

struct Layer {
    conv: Conv2d,
    w: Vec<f32>,
    dw: Vec<f32>,
    work: ConvWork,
    bn: Option<(BatchNorm, BatchNormCache, [Vec<f32>; 6])>,
    /// conv output, normalised output, activation
    z: Vec<f32>,
    h: Vec<f32>,
    a: Vec<f32>,
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn main() -> anyhow::Result<()> {
    let iters: usize = std::env::args().nth(1).map_or(Ok(20), |s| s.parse())?;
    let mut img = Image::new(3, 32, 32);
    let mut layers = Vec::new();
    for (i, out_c) in [64, 128, 256].into_iter().enumerate() {
        let conv = Conv2d::try_new(img, out_c, [4, 4], [2, 2], [1, 1], false)?;
        let len = N * conv.output().len();
        let fan_in = conv.geom.k() as f32;
        // deterministic weights of PyTorch's default scale; the timing does not depend on them
        let w = (0..conv.weight_len())
            .map(|j| ((j * 7919 % 1000) as f32 / 500.0 - 1.0) / fan_in.sqrt())
            .collect::<Vec<_>>();
        let bn = (i > 0).then(|| {
            let c = out_c;
            let s = conv.output().plane();
            (
                BatchNorm::new(c, s),
                BatchNormCache::default(),
                [
                    vec![1.0; c],
                    vec![0.0; c],
                    vec![0.0; c],
                    vec![1.0; c],
                    vec![0.0; c],
                    vec![0.0; c],
                ],
            )
        });
        img = conv.output();
        layers.push(Layer {
            conv,
            dw: vec![0.0; w.len()],
            w,
            work: ConvWork::default(),
            bn,
            z: vec![0.0; len],
            h: vec![0.0; len],
            a: vec![0.0; len],
        });
    }
    let x: Vec<f32> = (0..N * 3 * 32 * 32)
        .map(|j| (j * 104729 % 2000) as f32 / 1000.0 - 1.0)
        .collect();
    let dy_top: Vec<f32> = (0..N * img.len())
        .map(|j| (j * 31 % 100) as f32 / 5000.0 - 0.01)
        .collect();

    let step = |layers: &mut Vec<Layer>| -> anyhow::Result<()> {
        for i in 0..layers.len() {
            let (before, rest) = layers.split_at_mut(i);
            let l = &mut rest[0];
            let input = before.last().map_or(&x[..], |p| &p.a[..]);
            l.conv.forward(N, input, &l.w, None, &mut l.z, &mut l.work);
            match &mut l.bn {
                Some((bn, cache, [g, b, rm, rv, ..])) => {
                    bn.try_forward_train(N, &l.z, g, b, rm, rv, &mut l.h, cache)?;
                }
                None => l.h.copy_from_slice(&l.z),
            }
            leaky_relu(&mut l.a, &l.h, SLOPE);
        }
        let mut dy = dy_top.clone();
        for i in (0..layers.len()).rev() {
            let l = &mut layers[i];
            let mut dh = vec![0.0; dy.len()];
            leaky_relu_backward(&mut dh, &l.h, &dy, SLOPE);
            let dz = match &mut l.bn {
                Some((bn, cache, [g, _, _, _, dg, db])) => {
                    let mut dz = vec![0.0; dh.len()];
                    bn.backward_train(N, &l.z, &dh, g, cache, dg, db, Some(&mut dz));
                    dz
                }
                None => dh,
            };
            let mut dx = (i > 0).then(|| vec![0.0; N * l.conv.input().len()]);
            l.conv.backward(
                N,
                &dz,
                &l.w,
                &mut l.work,
                Some(&mut l.dw),
                None,
                dx.as_deref_mut(),
            );
            dy = dx.unwrap_or_default();
        }
        Ok(())
    };

    for _ in 0..3 {
        step(&mut layers)?;
    }
    let mut times = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        step(&mut layers)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let threads = rayon::current_num_threads();
    let cpu = cpu_name();
    println!("DCGAN D body, CIFAR-10 size, batch {N}, forward + backward: median {median:.2} ms, best {:.2} ms over {iters} iterations, {threads} thread(s), {cpu}", times[0]);
    println!(
        "{{\"engine\":\"gan\",\"threads\":{threads},\"iters\":{iters},\"median_ms\":{median:.4},\"best_ms\":{:.4},\"cpu\":{:?}}}",
        times[0], cpu
    );
    Ok(())
}

/// Leaky ReLU as the engine's fast path computes it (element-wise, split over threads).
fn leaky_relu(y: &mut [f32], x: &[f32], a: f32) {
    map_into(y, x, |v| v.max(0.0) + a * v.min(0.0));
}

fn leaky_relu_backward(dx: &mut [f32], x: &[f32], dy: &[f32], a: f32) {
    zip_into(dx, x, dy, |v, g| if v > 0.0 { g } else { a * g });
}
