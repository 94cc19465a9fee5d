//! `gan bench`: how fast the engine runs the paper's MNIST GAN, measured in one process.
//!
//! 1. Training iterations/s: the recipe of scripts/mnist_paper.rhai (same stacks, init, noise,
//!    simultaneous scheme, SGD with momentum, batch 100, dropout) run through a script session
//!    exactly as `gan run` runs it: a warm-up fit, then a timed fit whose per-epoch work (metrics,
//!    the script's `on_epoch` callback) runs every `--per-epoch` iterations.
//! 2. Samples/s of G at batch 1,000 (evaluation mode), and the time for 10,000 samples.
//! 3. The Parzen-window protocol's time on MNIST-sized random data.
//! 4. The share of each training iteration spent outside the engine's training step (data
//!    batching, metrics, observers, script callbacks): 1 − (time inside the step ÷ wall time from
//!    the first timed step's start to the last one's end).
//!
//! Also the analytic FLOPs of one iteration, the GFLOP/s they imply, the machine's peak, and the
//! CPU the numbers come from (model, AVX2 / AVX-512F / FMA, the GEMM kernel `gemm` runs on it).
//! `--reference` times the dfdx-autograd step (the engine before its fast path) in the same run.
//! `bench/run` compares the training rate with PyTorch's (bench/README.md).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;

use gan::engine::{EnginePath, GanSpec, LayerSpec, StackSpec};
use gan::linalg::cpu::{cpu_info, CpuInfo};
use gan::script::{HostConfig, NullSink};
use gan::session::Session;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Threads for the engine (rayon's pool, which its GEMMs share); default: RAYON_NUM_THREADS,
    /// else one per core.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Training iterations run before timing starts.
    #[arg(long, default_value_t = 30)]
    pub warmup: u64,
    /// Timed training iterations.
    #[arg(long, default_value_t = 300)]
    pub iters: u64,
    /// Iterations per epoch of the timed fit (per-epoch work runs this often; the paper's epochs
    /// are 500 iterations).
    #[arg(long, default_value_t = 100)]
    pub per_epoch: u64,
    /// Also time the dfdx-autograd reference path (`GAN_ENGINE=reference`) in this process.
    #[arg(long)]
    pub reference: bool,
    /// Only the training rate (no sampling, Parzen or peak measurements).
    #[arg(long)]
    pub train_only: bool,
    /// MNIST directory (default: GAN_DATA_DIR, else ./data/mnist).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Print only one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Time DCGAN at CIFAR-10 size instead (src/cli/bench_dcgan.rs; bench/run compares it with
    /// PyTorch). Uses --threads, --warmup, --iters, --per-epoch and --json.
    #[arg(long)]
    pub dcgan: bool,
}

#[derive(Debug, Default, Serialize)]
struct Report {
    engine: &'static str,
    threads: usize,
    /// The CPU model, the extensions that pick the GEMM kernel, and the kernel `gemm` runs.
    cpu: Option<CpuInfo>,
    warmup: u64,
    iters: u64,
    /// Training iterations per second (wall clock of the timed fit).
    it_per_s: f64,
    /// Share of the timed fit's wall time spent outside the training step, in percent.
    overhead_pct: f64,
    /// 1 / the fastest timed step: what the machine does when no other process interferes.
    best_step_it_per_s: f64,
    /// CPU seconds (all threads, user + system) per timed iteration, where /proc tells them:
    /// less sensitive than wall time to other processes taking the cores.
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu_secs_per_iter: Option<f64>,
    /// Analytic FLOPs of one iteration (the work the simultaneous step needs), in GFLOP.
    gflop_per_iter: f64,
    /// `gflop_per_iter × it_per_s`.
    gflops: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference_it_per_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference_overhead_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference_best_step_it_per_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference_cpu_secs_per_iter: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    samples_per_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secs_10k_samples: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference_samples_per_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parzen_secs: Option<f64>,
    /// Of which in its matrix products (dfdx's matmul).
    #[serde(skip_serializing_if = "Option::is_none")]
    parzen_gemm_secs: Option<f64>,
    /// FMA throughput of this machine measured now (all `threads` threads), GFLOP/s.
    #[serde(skip_serializing_if = "Option::is_none")]
    peak_gflops: Option<f64>,
    /// cores × 32 FLOP/cycle (two 8-wide FMA pipes) × the clock /proc/cpuinfo reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    nominal_peak_gflops: Option<f64>,
}

/// The paper's MNIST recipe without its data loading and evaluation (scripts/mnist_paper.rhai).
const SETUP: &str = r#"
let data = mnist("train");
let g = stack(100).dense(1200).relu().dense(1200).relu().dense(784).sigmoid();
let d = stack(784).dropout(0.8).maxout(240, 5).dropout(0.5).maxout(240, 5).dropout(0.5).dense(1);
let gan = gan(g, d, #{
    loss: "non_saturating",
    scheme: "simultaneous",
    noise: "uniform",
    init_bias_from_marginals: true,
});
let opt = sgd(#{ lr: exp_decay(0.1, 1.000004, 1e-6), momentum: ramp(0.5, 0.7, 1, 250) });
"#;

/// FLOPs (multiply and add counted apart) of one row through each affine layer of a stack.
fn affine_flops(s: &StackSpec) -> Vec<f64> {
    let mut width = s.input;
    let mut out = Vec::new();
    for l in &s.layers {
        match l {
            LayerSpec::Dense { units, .. } => out.push(2.0 * (width * units) as f64),
            LayerSpec::Maxout { units, pieces, .. } => {
                out.push(2.0 * (width * units * pieces) as f64)
            }
            _ => {}
        }
        width = l.output_size(width).unwrap_or(width);
    }
    out
}

/// The matrix-product work one simultaneous iteration needs, for batch `b`: G forward; D forward
/// over the real and fake rows; D's weight gradients over both, with the input gradients of all
/// but D's first layer to reach them; G's loss backpropagated through D to G(z) (input gradients
/// only); G's weight gradients and the input gradients of all but its first layer.
/// Element-wise work (≈1% of it) is not counted.
pub fn iteration_flops(spec: &GanSpec, b: usize) -> f64 {
    let (g, d) = (affine_flops(&spec.g), affine_flops(&spec.d));
    let (fg, fd): (f64, f64) = (g.iter().sum(), d.iter().sum());
    let (g_first, d_first) = (
        g.first().copied().unwrap_or(0.0),
        d.first().copied().unwrap_or(0.0),
    );
    let b = b as f64;
    let g_work = b * fg + b * fg + b * (fg - g_first);
    let d_work = 2.0 * b * fd + 2.0 * b * fd + 2.0 * b * (fd - d_first) + b * fd;
    g_work + d_work
}

/// The thread pool and the checks both benchmarks share (`--dcgan` runs src/cli/bench_dcgan.rs,
/// which main.rs dispatches to so that the two files do not import each other).
pub(super) fn set_up(args: &BenchArgs) -> anyhow::Result<()> {
    if let Some(n) = args.threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("setting up the thread pool")?;
    }
    if args.iters == 0 || args.per_epoch == 0 {
        bail!("--iters and --per-epoch must be at least 1");
    }
    Ok(())
}

pub fn main(args: BenchArgs) -> anyhow::Result<()> {
    set_up(&args)?;
    let threads = rayon::current_num_threads();
    let data_dir = super::data_dir(args.data_dir.clone());
    let spec = GanSpec::paper_mnist();
    let cpu = cpu_info();
    let mut r = Report {
        engine: "gan",
        threads,
        cpu: Some(cpu.clone()),
        warmup: args.warmup,
        iters: args.iters,
        gflop_per_iter: iteration_flops(&spec, 100) * 1e-9,
        ..Default::default()
    };
    let say = |s: String| {
        if !args.json {
            eprintln!("{s}");
        }
    };
    say(format!(
        "gan bench: the paper's MNIST GAN, batch 100, {threads} thread(s); {:.3} GFLOP per iteration",
        r.gflop_per_iter
    ));
    say(format!(
        "CPU: {} (avx2 {}, avx512f {}, fma {}); gemm kernel: {}",
        cpu.model, cpu.avx2, cpu.avx512f, cpu.fma, cpu.gemm_kernel
    ));

    // The fast path, whatever the process default (GAN_ENGINE) is.
    let (its, over, best, cpu) = train_rate(&data_dir, &args, false)?;
    r.cpu_secs_per_iter = cpu;
    r.it_per_s = its;
    r.overhead_pct = over;
    r.best_step_it_per_s = best;
    r.gflops = r.gflop_per_iter * its;
    say(format!(
        "training: {its:.2} it/s ({:.1} GFLOP/s), {over:.2}% of the time outside the step; fastest step {:.1} ms",
        r.gflops,
        1e3 / best
    ));
    if args.reference {
        let (its, over, best, cpu) = train_rate(&data_dir, &args, true)?;
        r.reference_cpu_secs_per_iter = cpu;
        r.reference_it_per_s = Some(its);
        r.reference_overhead_pct = Some(over);
        r.reference_best_step_it_per_s = Some(best);
        say(format!(
            "training, dfdx reference path: {its:.2} it/s ({:.1} GFLOP/s), {over:.2}% outside the step; fastest step {:.1} ms",
            r.gflop_per_iter * its,
            1e3 / best
        ));
    }
    if !args.train_only {
        let (sps, secs) = sample_rate(&spec, EnginePath::Fast)?;
        r.samples_per_s = Some(sps);
        r.secs_10k_samples = Some(secs);
        say(format!(
            "sampling: {sps:.0} samples/s at batch 1,000; 10,000 samples in {secs:.3} s"
        ));
        if args.reference {
            let (sps, _) = sample_rate(&spec, EnginePath::Reference)?;
            r.reference_samples_per_s = Some(sps);
            say(format!("sampling, dfdx reference path: {sps:.0} samples/s"));
        }
        let (p, t) = gan::eval::parzen::bench_parzen_random_timed(1);
        r.parzen_secs = Some(p.secs);
        r.parzen_gemm_secs = Some(t.gemm_secs);
        say(format!(
            "Parzen protocol (10,000 samples, 1,000 validation + 10,000 test rows, d = 784): {:.3} s ({:.3} s in its GEMMs)",
            p.secs, t.gemm_secs
        ));
        let peak = peak_gflops();
        r.peak_gflops = Some(peak);
        r.nominal_peak_gflops = nominal_peak(threads);
        say(format!(
            "peak: {peak:.0} GFLOP/s measured (FMA loop on {threads} thread(s)){}",
            r.nominal_peak_gflops
                .map(|p| format!(", {p:.0} nominal"))
                .unwrap_or_default()
        ));
    }
    println!("{}", serde_json::to_string(&r)?);
    Ok(())
}

/// Iterations/s of the paper's recipe through a script session, the percentage of the timed
/// fit's wall time spent outside the training step, and 1 / the fastest step.
fn train_rate(
    data_dir: &std::path::Path,
    args: &BenchArgs,
    reference: bool,
) -> anyhow::Result<(f64, f64, f64, Option<f64>)> {
    let config = HostConfig {
        data_dir: data_dir.to_path_buf(),
        seed: Some(1234),
        recipe_name: "bench".into(),
        ..Default::default()
    };
    let mut s = Session::new(config, Arc::new(NullSink))?;
    s.host.set_engine_path(if reference {
        EnginePath::Reference
    } else {
        EnginePath::Fast
    });
    let run = |s: &mut Session, text: &str| {
        s.eval(text)
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| {
                format!(
                    "the benchmark needs MNIST in {} (`gan data fetch mnist`, or --data-dir)",
                    data_dir.display()
                )
            })
    };
    run(&mut s, SETUP)?;
    if args.warmup > 0 {
        run(
            &mut s,
            &format!(
                "gan.fit(data, #{{ epochs: 1, batch: 100, steps_per_epoch: {}, d_opt: opt, g_opt: opt }});",
                args.warmup
            ),
        )?;
    }
    let epochs = args.iters.div_ceil(args.per_epoch);
    let timed = format!(
        "gan.fit(data, #{{ epochs: {}, batch: 100, steps_per_epoch: {}, d_opt: opt, g_opt: opt,
            on_epoch: |epoch, m| m.d_loss < 100.0 }});",
        epochs, args.per_epoch
    );
    let (steps0, secs0) = gan::engine::perf::steps();
    gan::engine::perf::take_fastest_step();
    gan::engine::perf::take_step_window();
    let cpu0 = cpu_secs();
    let t = Instant::now();
    run(&mut s, &timed)?;
    let wall = t.elapsed().as_secs_f64();
    let cpu = cpu0.zip(cpu_secs()).map(|(a, b)| b - a);
    let (steps1, secs1) = gan::engine::perf::steps();
    let n = steps1 - steps0;
    if n != epochs * args.per_epoch {
        bail!(
            "the timed fit ran {n} steps, expected {} ({})",
            epochs * args.per_epoch,
            if reference { "reference" } else { "fast" }
        );
    }
    let inside = secs1 - secs0;
    let fastest = gan::engine::perf::take_fastest_step().unwrap_or(f64::NAN);
    // Overhead in steady state: from the first timed step's start to the last one's end (what
    // one fit call does once before its first step, e.g. checking the data, is not per iteration).
    let window = gan::engine::perf::take_step_window().unwrap_or(wall);
    Ok((
        n as f64 / wall,
        100.0 * (1.0 - inside / window).max(0.0),
        1.0 / fastest,
        cpu.map(|c| c / n as f64),
    ))
}

/// User + system CPU seconds of this process so far (Linux /proc; None elsewhere).
pub(super) fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // fields after the command name (which is in parentheses and may hold spaces)
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let (utime, stime): (f64, f64) = (f.get(11)?.parse().ok()?, f.get(12)?.parse().ok()?);
    // the kernel reports clock ticks; USER_HZ is 100 on every Linux build that matters here
    Some((utime + stime) / 100.0)
}

/// Samples/s of G at batch 1,000 (the best of five rounds of 10 batches) and the time of the
/// 10,000 samples of the best round.
fn sample_rate(spec: &GanSpec, path: EnginePath) -> anyhow::Result<(f64, f64)> {
    let mut gan = gan::engine::Gan::try_new(spec.clone(), 7)?;
    gan.path = path;
    let z: Vec<Vec<f32>> = (0..10u64)
        .map(|i| {
            let mut rng = gan::engine::rng::stream(7, gan::engine::rng::Purpose::Sample, i);
            spec.noise.sample_vec(1000, &mut rng)
        })
        .collect();
    std::hint::black_box(gan.generate(&z[0]));
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        for zi in &z {
            std::hint::black_box(gan.generate(zi));
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok((10_000.0 / best, best))
}

/// FMA throughput: every pool thread runs independent FMA chains as wide as the vectors of the
/// `gemm` kernel that runs here (16 lanes with AVX-512, 8 with AVX2), GFLOP/s summed. The width
/// matters: a core with full-width AVX-512 units (Zen 5, Intel's server parts) does twice the
/// FLOPs of 8-wide FMAs, so an 8-wide loop there reads below what the GEMMs reach.
fn peak_gflops() -> f64 {
    use rayon::prelude::*;
    const ITERS: u64 = 20_000_000;
    let threads = rayon::current_num_threads();
    let run = || {
        let per_thread: Vec<f64> = (0..threads)
            .into_par_iter()
            .map(|i| {
                let t = Instant::now();
                let flops = fma_loop(ITERS, i as f32);
                flops / t.elapsed().as_secs_f64()
            })
            .collect();
        per_thread.iter().sum::<f64>() * 1e-9
    };
    (0..3).map(|_| run()).fold(0.0, f64::max)
}

/// `iters` rounds of 12 independent FMA chains on 16 or 8 lanes; returns the FLOPs done.
fn fma_loop(iters: u64, seed: f32) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: the feature was just detected.
            return unsafe { fma_loop_avx512(iters, seed) };
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the features were just detected.
            return unsafe { fma_loop_avx2(iters, seed) };
        }
    }
    // Portable fallback: scalar mul_add chains (the compiler may or may not fuse them).
    let mut acc = [seed; 8];
    for _ in 0..iters {
        for a in acc.iter_mut() {
            *a = a.mul_add(0.999_999, 1e-7);
        }
    }
    std::hint::black_box(acc);
    iters as f64 * 8.0 * 2.0
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fma_loop_avx2(iters: u64, seed: f32) -> f64 {
    use std::arch::x86_64::*;
    let m = _mm256_set1_ps(0.999_999);
    let c = _mm256_set1_ps(1e-7);
    let mut acc = [_mm256_set1_ps(seed); 12];
    for _ in 0..iters {
        for a in acc.iter_mut() {
            *a = _mm256_fmadd_ps(*a, m, c);
        }
    }
    std::hint::black_box(acc);
    iters as f64 * 12.0 * 8.0 * 2.0
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn fma_loop_avx512(iters: u64, seed: f32) -> f64 {
    use std::arch::x86_64::*;
    let m = _mm512_set1_ps(0.999_999);
    let c = _mm512_set1_ps(1e-7);
    let mut acc = [_mm512_set1_ps(seed); 12];
    for _ in 0..iters {
        for a in acc.iter_mut() {
            *a = _mm512_fmadd_ps(*a, m, c);
        }
    }
    std::hint::black_box(acc);
    iters as f64 * 12.0 * 16.0 * 2.0
}

/// `threads` cores × two FMA pipes as wide as the `gemm` kernel's vectors (64 FLOP/cycle with
/// AVX-512, 32 with AVX2) × the clock in /proc/cpuinfo (None where it is not readable). A
/// nominal figure: Zen 4 runs AVX-512 on 256-bit pipes (half this), and a VM's /proc/cpuinfo
/// gives the base clock, not the boost.
fn nominal_peak(threads: usize) -> Option<f64> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let mhz: f64 = info
        .lines()
        .find(|l| l.starts_with("cpu MHz"))?
        .split(':')
        .nth(1)?
        .trim()
        .parse()
        .ok()?;
    let cores = threads.min(std::thread::available_parallelism().map_or(1, |n| n.get()));
    let flop_per_cycle = if gan::linalg::cpu::cpu_info().avx512f {
        64.0
    } else {
        32.0
    };
    Some(cores as f64 * flop_per_cycle * mhz * 1e-3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analytic_flops_of_the_paper_iteration() {
        // G: 100·1200 + 1200·1200 + 1200·784 weights; D: 784·1200 + 240·1200 + 240·1.
        let gf = iteration_flops(&GanSpec::paper_mnist(), 100);
        assert!((gf * 1e-9 - 2.8208).abs() < 1e-3, "{gf}");
    }
}
