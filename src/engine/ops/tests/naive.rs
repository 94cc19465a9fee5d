//! Plain-loop references in f64, written from the definitions (PyTorch's documented semantics),
//! sharing no code with the kernels.

use crate::engine::ops::Image;

pub struct ConvCase {
    pub n: usize,
    pub input: Image,
    pub out_c: usize,
    pub k: [usize; 2],
    pub stride: [usize; 2],
    pub pad: [usize; 2],
}

/// Direct convolution: `y[n,o,oy,ox] = b[o] + Σ_{c,i,j} w[o,c,i,j]·x[n,c,oy·s+i−p,ox·s+j−p]`.
pub fn conv2d(
    cs: &ConvCase,
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    oh: usize,
    ow: usize,
) -> Vec<f64> {
    let Image { c: ci, h, w: wd } = cs.input;
    let [kh, kw] = cs.k;
    let mut y = vec![0f64; cs.n * cs.out_c * oh * ow];
    for n in 0..cs.n {
        for o in 0..cs.out_c {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut s = b.map_or(0.0, |b| b[o] as f64);
                    for c in 0..ci {
                        for i in 0..kh {
                            for j in 0..kw {
                                let iy = (oy * cs.stride[0] + i) as isize - cs.pad[0] as isize;
                                let ix = (ox * cs.stride[1] + j) as isize - cs.pad[1] as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                    continue;
                                }
                                let xv = x[((n * ci + c) * h + iy as usize) * wd + ix as usize];
                                let wv = w[((o * ci + c) * kh + i) * kw + j];
                                s += xv as f64 * wv as f64;
                            }
                        }
                    }
                    y[((n * cs.out_c + o) * oh + oy) * ow + ox] = s;
                }
            }
        }
    }
    y
}

/// Direct transposed convolution as a scatter: each input pixel adds `x·w[c,o,i,j]` at
/// `(iy·s + i − p, ix·s + j − p)` of the `oh × ow` output, plus the bias.
pub fn conv_transpose2d(
    cs: &ConvCase,
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    oh: usize,
    ow: usize,
) -> Vec<f64> {
    let Image { c: ci, h, w: wd } = cs.input;
    let [kh, kw] = cs.k;
    let co = cs.out_c;
    let mut y = vec![0f64; cs.n * co * oh * ow];
    for n in 0..cs.n {
        for o in 0..co {
            for v in &mut y[(n * co + o) * oh * ow..][..oh * ow] {
                *v = b.map_or(0.0, |b| b[o] as f64);
            }
        }
        for c in 0..ci {
            for iy in 0..h {
                for ix in 0..wd {
                    let xv = x[((n * ci + c) * h + iy) * wd + ix] as f64;
                    for o in 0..co {
                        for i in 0..kh {
                            for j in 0..kw {
                                let y0 = (iy * cs.stride[0] + i) as isize - cs.pad[0] as isize;
                                let x0 = (ix * cs.stride[1] + j) as isize - cs.pad[1] as isize;
                                if y0 < 0 || x0 < 0 || y0 >= oh as isize || x0 >= ow as isize {
                                    continue;
                                }
                                let wv = w[((c * co + o) * kh + i) * kw + j] as f64;
                                y[((n * co + o) * oh + y0 as usize) * ow + x0 as usize] += xv * wv;
                            }
                        }
                    }
                }
            }
        }
    }
    y
}

/// Max over `k × k` windows at `stride`, clipped at the far edges, `oh × ow` of them.
pub fn max_pool(
    n: usize,
    img: Image,
    x: &[f32],
    k: usize,
    stride: usize,
    oh: usize,
    ow: usize,
) -> Vec<f64> {
    let mut y = Vec::new();
    for q in 0..n * img.c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut m = f64::NEG_INFINITY;
                for r in oy * stride..(oy * stride + k).min(img.h) {
                    for c in ox * stride..(ox * stride + k).min(img.w) {
                        m = m.max(x[(q * img.h + r) * img.w + c] as f64);
                    }
                }
                y.push(m);
            }
        }
    }
    y
}

/// Batch-normalised `x` with batch statistics (biased variance) and those statistics.
pub fn batch_norm(
    n: usize,
    c: usize,
    s: usize,
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    eps: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (mut means, mut vars) = (vec![0f64; c], vec![0f64; c]);
    for ch in 0..c {
        let vals: Vec<f64> = (0..n)
            .flat_map(|b| (0..s).map(move |i| (b, i)))
            .map(|(b, i)| x[(b * c + ch) * s + i] as f64)
            .collect();
        let m = vals.iter().sum::<f64>() / vals.len() as f64;
        means[ch] = m;
        vars[ch] = vals.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / vals.len() as f64;
    }
    let mut y = vec![0f64; x.len()];
    for (idx, v) in y.iter_mut().enumerate() {
        let ch = (idx / s) % c;
        *v = (x[idx] as f64 - means[ch]) / (vars[ch] + eps).sqrt() * gamma[ch] as f64
            + beta[ch] as f64;
    }
    (y, means, vars)
}
