//! The exponential pass: log-sum-exps of one block of squared distances, rows split over
//! threads, with a branch-free f32 exponential the compiler vectorises (AVX2/AVX-512 chosen at
//! run time).

/// Threads for the exponential pass: `RAYON_NUM_THREADS` when set (the GEMM's
/// thread pool obeys it too), else the available parallelism.
pub(super) fn worker_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&t| t > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |t| t.get()))
}

/// Turns a block of GEMM output into log-sum-exps, splitting rows over threads.
///
/// `dist`: (B, n), holds `G_ij = x_i·μ'_j` on entry and the clamped squared
/// distances `D_ij = max(x_terms_i + mu_terms_j − 2 G_ij, 0)` on exit.
/// `lse`: (B, S) receives `log Σ_j exp(−D_ij c_s)` with `c_s = 1/(2σ_s²)`.
#[allow(clippy::too_many_arguments)]
pub(super) fn block_kernel(
    dist: &mut [f32],
    n: usize,
    x_terms: &[f32],
    mu_terms: &[f32],
    scales: &[f32],
    inv_two_var: &[f64],
    lse: &mut [f64],
    threads: usize,
) {
    let rows = x_terms.len();
    let s = scales.len();
    let per_thread = rows.div_ceil(threads.max(1));
    std::thread::scope(|scope| {
        let mut jobs = dist
            .chunks_mut(per_thread * n)
            .zip(lse.chunks_mut(per_thread * s))
            .zip(x_terms.chunks(per_thread));
        // The calling thread takes the first chunk itself.
        let first = jobs.next();
        for ((dc, lc), xc) in jobs {
            scope.spawn(move || rows_kernel(dc, n, xc, mu_terms, scales, inv_two_var, lc));
        }
        if let Some(((dc, lc), xc)) = first {
            rows_kernel(dc, n, xc, mu_terms, scales, inv_two_var, lc);
        }
    });
}

/// Dispatches to the widest vector unit this CPU has; all variants run the
/// same code ([`rows_kernel_body`]), only compiled for different instruction
/// sets (with or without fused multiply-add).
pub(super) fn rows_kernel(
    dist: &mut [f32],
    n: usize,
    x_terms: &[f32],
    mu_terms: &[f32],
    scales: &[f32],
    inv_two_var: &[f64],
    lse: &mut [f64],
) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("fma") {
            // SAFETY: the CPU supports AVX-512F and FMA, checked just above.
            return unsafe {
                rows_kernel_avx512(dist, n, x_terms, mu_terms, scales, inv_two_var, lse)
            };
        }
        if has!("avx2") && has!("fma") {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            return unsafe {
                rows_kernel_avx2(dist, n, x_terms, mu_terms, scales, inv_two_var, lse)
            };
        }
    }
    rows_kernel_body::<false>(dist, n, x_terms, mu_terms, scales, inv_two_var, lse)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
pub(super) unsafe fn rows_kernel_avx512(
    dist: &mut [f32],
    n: usize,
    x_terms: &[f32],
    mu_terms: &[f32],
    scales: &[f32],
    inv_two_var: &[f64],
    lse: &mut [f64],
) {
    rows_kernel_body::<true>(dist, n, x_terms, mu_terms, scales, inv_two_var, lse)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn rows_kernel_avx2(
    dist: &mut [f32],
    n: usize,
    x_terms: &[f32],
    mu_terms: &[f32],
    scales: &[f32],
    inv_two_var: &[f64],
    lse: &mut [f64],
) {
    rows_kernel_body::<true>(dist, n, x_terms, mu_terms, scales, inv_two_var, lse)
}

/// Independent accumulators per loop: wide enough to fill an AVX-512 register
/// of f32 and to hide the latency of the f64 additions.
pub(super) const LANES: usize = 16;

/// For each row i of `dist` ((rows, n), GEMM output): forms
/// `D_ij = max(x_terms_i + mu_terms_j − 2 G_ij, 0)` in place, then for each σ
/// writes `log Σ_j exp(−D_ij c_s)` to `lse[i·S + s]`, computed as
/// `−D_min c_s + log Σ_j exp(−(D_ij − D_min) c_s)` so that no term exceeds 1
/// and the largest is exactly 1 (no overflow, no total underflow).
#[inline(always)]
pub(super) fn rows_kernel_body<const FMA: bool>(
    dist: &mut [f32],
    n: usize,
    x_terms: &[f32],
    mu_terms: &[f32],
    scales: &[f32],
    inv_two_var: &[f64],
    lse: &mut [f64],
) {
    let s_count = scales.len();
    for ((row, &xt), row_lse) in dist
        .chunks_exact_mut(n)
        .zip(x_terms)
        .zip(lse.chunks_exact_mut(s_count))
    {
        // Pass 1: distances and their minimum (comparisons instead of
        // f32::min/max, whose NaN rules cost extra instructions per lane).
        let mut mins = [f32::INFINITY; LANES];
        let mut row_chunks = row.chunks_exact_mut(LANES);
        let mut mu_chunks = mu_terms.chunks_exact(LANES);
        for (rc, mc) in (&mut row_chunks).zip(&mut mu_chunks) {
            for l in 0..LANES {
                let d = madd::<FMA>(-2.0, rc[l], xt + mc[l]);
                let d = if d < 0.0 { 0.0 } else { d };
                rc[l] = d;
                mins[l] = if d < mins[l] { d } else { mins[l] };
            }
        }
        let mut dmin = mins
            .iter()
            .fold(f32::INFINITY, |a, &b| if b < a { b } else { a });
        for (r, &mt) in row_chunks
            .into_remainder()
            .iter_mut()
            .zip(mu_chunks.remainder())
        {
            let d = madd::<FMA>(-2.0, *r, xt + mt);
            let d = if d < 0.0 { 0.0 } else { d };
            *r = d;
            dmin = if d < dmin { d } else { dmin };
        }

        // Pass 2, per σ, over the same (cache-resident) row. Terms are in (0, 1]
        // and there are n of them: an f32 sum would lose about log2(n) of its 24
        // bits, so each lane converts to f64 before adding.
        for ((&c, &c64), out) in scales.iter().zip(inv_two_var).zip(row_lse.iter_mut()) {
            // −(D − D_min)·c = D_min·c − D·c, one multiply-add per element.
            let offset = dmin * c;
            let mut acc = [0f64; LANES];
            let chunks = row.chunks_exact(LANES);
            let tail = chunks.remainder();
            for rc in chunks {
                for l in 0..LANES {
                    acc[l] += exp_f32::<FMA>(madd::<FMA>(-rc[l], c, offset)) as f64;
                }
            }
            let mut sum: f64 = acc.iter().sum();
            for &d in tail {
                sum += exp_f32::<FMA>(madd::<FMA>(-d, c, offset)) as f64;
            }
            *out = sum.ln() - dmin as f64 * c64;
        }
    }
}

/// `a·b + c`, fused when the caller is compiled for FMA hardware. (Without
/// it, `mul_add` becomes a slow library call, hence the switch.)
#[inline(always)]
pub(super) fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// e^t for t ≤ 0 (larger t saturates at e^88), to about 2e-7 relative error.
/// Values below −87 are clamped there: e^−87 ≈ 1.6e-38 is negligible next to
/// the leading term 1 of every log-sum-exp in this module.
///
/// Branch-free so it vectorises: t = k·ln2 + f with k = round(t/ln2) and
/// |f| ≤ ln2/2; e^f from its degree-7 Taylor polynomial (truncation error
/// ≤ (ln2/2)^8 / 8! ≈ 5e-9); 2^k assembled directly in the exponent bits.
#[inline(always)]
pub(super) fn exp_f32<const FMA: bool>(t: f32) -> f32 {
    // 1.5·2^23: adding it puts round(y) in the low mantissa bits, for |y| < 2^22.
    const ROUND: f32 = 12_582_912.0;
    // ln 2 split in a short head (exact when multiplied by |k| < 2^9) and a
    // tail, so that t − k·ln2 loses no precision (Cody–Waite reduction).
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let t = if t < -87.0 { -87.0 } else { t };
    let t = if t > 88.0 { 88.0 } else { t };
    let y = madd::<FMA>(t, std::f32::consts::LOG2_E, ROUND);
    let k = y - ROUND;
    let ki = (y.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let f = madd::<FMA>(-k, LN2_LO, madd::<FMA>(-k, LN2_HI, t));
    // Horner, highest degree first: 1/7!, 1/6!, …, 1/1!, 1/0!.
    let mut p = 1.0 / 5040.0;
    for coef in [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = madd::<FMA>(p, f, coef);
    }
    // 2^k: biased exponent k + 127 in bits 23..31 (k ∈ [-126, 127] after the clamp).
    let two_k = f32::from_bits(((ki + 127) as u32) << 23);
    p * two_k
}
