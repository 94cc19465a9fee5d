//! `gan bench --dcgan`: how fast the engine trains DCGAN at CIFAR-10 size, batch 64.
//!
//! D = conv 64 (4×4, stride 2, padding 1) → leaky ReLU 0.2 → conv 128 → batch norm → leaky ReLU
//! → conv 256 → batch norm → leaky ReLU → dense 1; G = dense 256·4·4 → reshape → batch norm →
//! ReLU → conv_transpose 128 → batch norm → ReLU → conv_transpose 64 → batch norm → ReLU →
//! conv_transpose 3 → tanh; convolutions without bias (DCGAN's), non-saturating loss, one D step
//! and one G step per iteration (alternating, k = 1), Adam 2e-4, β1 0.5. The stacks are declared
//! in the DSL and trained by `gan.fit` in a script session, as `gan run` would; the data are
//! random 3×32×32 images in [−1, 1] (CIFAR-10 is not on every machine, and the step's time does
//! not depend on the pixel values). `bench/torch_dcgan.py` is the same iteration in PyTorch;
//! `bench/run` compares them.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use rand::{Rng, SeedableRng};
use serde::Serialize;

use gan::data::{Dataset, ImageShape, PixelRange};
use gan::engine::EnginePath;
use gan::script::values::DataHandle;
use gan::script::{HostConfig, NullSink};
use gan::session::Session;

use super::bench::{cpu_secs, BenchArgs};

const BATCH: usize = 64;

/// The benchmark's game, in the DSL.
const SETUP: &str = r#"
let g = stack(100)
    .dense(256 * 4 * 4).reshape(256, 4, 4).batch_norm().relu()
    .conv_transpose(128, 4, #{ stride: 2, padding: 1, bias: false }).batch_norm().relu()
    .conv_transpose(64, 4, #{ stride: 2, padding: 1, bias: false }).batch_norm().relu()
    .conv_transpose(3, 4, #{ stride: 2, padding: 1, bias: false }).tanh();
let d = stack([3, 32, 32])
    .conv(64, 4, #{ stride: 2, padding: 1, bias: false }).leaky_relu(0.2)
    .conv(128, 4, #{ stride: 2, padding: 1, bias: false }).batch_norm().leaky_relu(0.2)
    .conv(256, 4, #{ stride: 2, padding: 1, bias: false }).batch_norm().leaky_relu(0.2)
    .dense(1);
let gan = gan(g, d, #{ loss: "non_saturating", scheme: "alternating", k: 1, noise: "gaussian" });
let opt = adam(#{ lr: 0.0002, beta1: 0.5 });
"#;

#[derive(Debug, Serialize)]
struct Report {
    engine: &'static str,
    bench: &'static str,
    threads: usize,
    batch: usize,
    warmup: u64,
    iters: u64,
    /// Training iterations (one D step + one G step) per second, wall clock of the timed fit.
    it_per_s: f64,
    /// 1 / the fastest timed step.
    best_step_it_per_s: f64,
    /// CPU seconds (all threads) per timed iteration, where /proc tells them.
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu_secs_per_iter: Option<f64>,
    /// Analytic FLOPs of one iteration's convolutions and dense layers, in GFLOP.
    gflop_per_iter: f64,
    cpu: String,
    cpu_flags: String,
}

/// The engine's rate on the DCGAN iteration; prints one JSON line (and a human line unless
/// `--json`).
pub fn main(args: &BenchArgs) -> anyhow::Result<()> {
    super::bench::set_up(args)?;
    let threads = rayon::current_num_threads();
    let per_epoch = args.per_epoch.min(args.iters).max(1);
    let rows = per_epoch as usize * BATCH;
    let dim = 3 * 32 * 32;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1234);
    let x: Vec<f32> = (0..rows * dim).map(|_| rng.gen_range(-1.0..=1.0)).collect();
    let image = ImageShape::new(3, 32, 32).with_range(PixelRange::Symmetric);
    let data = Dataset::try_new("bench-random-32x32", x, dim, None, Some(image))?;

    let config = HostConfig {
        seed: Some(1234),
        recipe_name: "bench_dcgan".into(),
        ..Default::default()
    };
    let mut s = Session::new(config, Arc::new(NullSink))?;
    s.host.set_engine_path(EnginePath::Fast);
    s.set_var("data", DataHandle(Arc::new(data)));
    let run = |s: &mut Session, text: &str| {
        s.eval(text)
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("the DCGAN benchmark's script")
    };
    run(&mut s, SETUP)?;
    let fit = |epochs: u64, steps: u64| {
        format!(
            "gan.fit(data, #{{ epochs: {epochs}, batch: {BATCH}, steps_per_epoch: {steps}, d_opt: opt, g_opt: opt }});"
        )
    };
    if args.warmup > 0 {
        run(&mut s, &fit(1, args.warmup.min(per_epoch)))?;
    }
    let epochs = args.iters.div_ceil(per_epoch);
    let (steps0, _) = gan::engine::perf::steps();
    gan::engine::perf::take_fastest_step();
    let cpu0 = cpu_secs();
    let t = Instant::now();
    run(&mut s, &fit(epochs, per_epoch))?;
    let wall = t.elapsed().as_secs_f64();
    let cpu = cpu0.zip(cpu_secs()).map(|(a, b)| b - a);
    let n = gan::engine::perf::steps().0 - steps0;
    if n != epochs * per_epoch {
        bail!(
            "the timed fit ran {n} steps, expected {}",
            epochs * per_epoch
        );
    }
    let fastest = gan::engine::perf::take_fastest_step().unwrap_or(f64::NAN);
    let (cpu_name, cpu_flags) = cpu_info();
    let r = Report {
        engine: "gan",
        bench: "dcgan",
        threads,
        batch: BATCH,
        warmup: args.warmup,
        iters: n,
        it_per_s: n as f64 / wall,
        best_step_it_per_s: 1.0 / fastest,
        cpu_secs_per_iter: cpu.map(|c| c / n as f64),
        gflop_per_iter: iteration_flops() * 1e-9,
        cpu: cpu_name,
        cpu_flags,
    };
    if !args.json {
        eprintln!(
            "gan bench --dcgan: DCGAN at 3×32×32, batch {BATCH}, {threads} thread(s): {:.2} it/s, fastest step {:.1} ms, {:.2} GFLOP per iteration; {}",
            r.it_per_s,
            1e3 / r.best_step_it_per_s,
            r.gflop_per_iter,
            r.cpu
        );
    }
    println!("{}", serde_json::to_string(&r)?);
    Ok(())
}

/// The CPU's model name and its SIMD flags (the ones that decide which kernels run), from
/// /proc/cpuinfo.
pub fn cpu_info() -> (String, String) {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        info.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split(':').nth(1))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let flags = field("flags")
        .split_whitespace()
        .filter(|f| f.starts_with("avx") || f.starts_with("amx") || *f == "fma")
        .collect::<Vec<_>>()
        .join(" ");
    (field("model name"), flags)
}

/// Multiply-adds of one iteration (each counted as 2 FLOPs): D's step runs G forward (64 rows),
/// D forward over 128 rows, D's weight gradients over 128 rows and the input gradients of D's
/// layers above the first; G's step runs G forward, D forward over 64 rows, D's input gradients
/// (all layers) and G's weight gradients and input gradients above its first layer.
/// Convolutions count `out_c·out_h·out_w·in_c·k·k` per image, transposed ones the same with
/// input and output swapped.
fn iteration_flops() -> f64 {
    // per-image MACs of D's layers, first to last
    let d = [
        64.0 * 16.0 * 16.0 * 3.0 * 16.0,
        128.0 * 8.0 * 8.0 * 64.0 * 16.0,
        256.0 * 4.0 * 4.0 * 128.0 * 16.0,
        4096.0,
    ];
    // G's: dense, then convT 256→128 (8×8 out), 128→64 (16×16), 64→3 (32×32)
    let g = [
        100.0 * 4096.0,
        256.0 * 4.0 * 4.0 * 128.0 * 16.0,
        128.0 * 8.0 * 8.0 * 64.0 * 16.0,
        64.0 * 16.0 * 16.0 * 3.0 * 16.0,
    ];
    let (fd, fg): (f64, f64) = (d.iter().sum(), g.iter().sum());
    let b = BATCH as f64;
    let d_step = b * fg + 2.0 * b * fd + 2.0 * b * fd + 2.0 * b * (fd - d[0]);
    let g_step = b * fg + b * fd + b * fd + b * fg + b * (fg - g[0]);
    2.0 * (d_step + g_step)
}
