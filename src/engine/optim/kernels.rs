//! The optimizers' element-wise updates on plain buffers, for the fast path: dfdx's SGD and Adam
//! kernels element for element (same formula, same order of f32 operations), so an update fed the
//! same inputs as dfdx gives the same bits. Split over threads by [`crate::linalg::par`], so no
//! result depends on the thread count.

use crate::linalg::par::{par_flat, par_flat2, par_flat3};

/// What dfdx's SGD kernel does to one parameter (`SgdConfig` unpacked into f32 values).
#[derive(Clone, Copy, Debug)]
pub struct SgdStep {
    pub lr: f32,
    /// `Some((u, nesterov))`.
    pub momentum: Option<(f32, bool)>,
    /// L2 weight decay added to the gradient.
    pub l2: Option<f32>,
    /// Decoupled weight decay, already multiplied by the learning rate.
    pub decoupled: Option<f32>,
}

pub fn sgd(p: &mut [f32], v: &mut [f32], g: &[f32], s: SgdStep) {
    assert!(p.len() == v.len() && p.len() == g.len());
    par_flat2(p, v, |at, p, v| {
        let g = &g[at..at + p.len()];
        match s {
            // The paper's case, without branches in the loop so that it vectorises.
            SgdStep {
                momentum: Some((u, false)),
                l2: None,
                decoupled: None,
                lr,
            } => {
                for ((p, v), &g) in p.iter_mut().zip(v.iter_mut()).zip(g) {
                    *v = g + u * *v;
                    *p -= *v * lr;
                }
            }
            _ => {
                for ((p, v), &g) in p.iter_mut().zip(v.iter_mut()).zip(g) {
                    let mut g = g;
                    if let Some(wd) = s.l2 {
                        g += wd * *p;
                    }
                    match s.momentum {
                        Some((u, false)) => {
                            *v = g + u * *v;
                            g = *v * s.lr;
                        }
                        Some((u, true)) => {
                            *v = g + u * *v;
                            g = (g + u * *v) * s.lr;
                        }
                        None => g *= s.lr,
                    }
                    if let Some(wd) = s.decoupled {
                        g += wd * *p;
                    }
                    *p -= g;
                }
            }
        }
    });
}

/// `θ ← θ − u·lr` after a GEMM put the new velocity in `u` (the fused SGD of the fast path; dfdx
/// computes `g = u·lr; θ −= g`).
pub fn sgd_fused(p: &mut [f32], v: &[f32], lr: f32) {
    assert_eq!(p.len(), v.len());
    par_flat(p, |at, p| {
        let n = p.len();
        for (p, &v) in p.iter_mut().zip(&v[at..at + n]) {
            *p -= v * lr;
        }
    });
}

/// What dfdx's Adam kernel does to one parameter.
#[derive(Clone, Copy, Debug)]
pub struct AdamStep {
    pub lr: f32,
    pub betas: [f32; 2],
    pub eps: f32,
    /// `1 / (1 − βᵢᵗ)`, as dfdx computes them.
    pub corr: [f32; 2],
    pub l2: Option<f32>,
    pub decoupled: Option<f32>,
}

pub fn adam(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], s: AdamStep) {
    assert!(p.len() == m.len() && p.len() == v.len() && p.len() == g.len());
    par_flat3(p, m, v, |at, p, m, v| {
        let g = &g[at..at + p.len()];
        for (((p, m), v), &g) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
            let mut g = g;
            if let Some(wd) = s.l2 {
                g += wd * *p;
            }
            *m = *m * s.betas[0] + g * (1.0 - s.betas[0]);
            *v = *v * s.betas[1] + g.powi(2) * (1.0 - s.betas[1]);
            let m_hat = *m * s.corr[0];
            let v_hat = *v * s.corr[1];
            g = s.lr * m_hat / (v_hat.sqrt() + s.eps);
            if let Some(wd) = s.decoupled {
                g += wd * *p;
            }
            *p -= g;
        }
    });
}
