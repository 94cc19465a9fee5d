//! The size of G's gradient under either G loss (the saturation remark of §3).

use crate::engine::theory;
use crate::engine::{Gan, GanLoss};

/// ‖∇θ_G L_G‖ on G's images of fixed noise rows, D in evaluation mode.
#[derive(Clone, Debug, PartialEq)]
pub struct GradNorms {
    /// For the loss asked for.
    pub norm: f64,
    /// For the two cross-entropy G losses at the same state.
    pub saturating: f64,
    pub non_saturating: f64,
    /// Mean D(G(z)) on the rows.
    pub d_fake: f64,
    pub loss: GanLoss,
    pub rows: usize,
}

/// The gradient norms of `loss` and both cross-entropy G losses on the noise rows `z`.
pub fn grad_norms(gan: &Gan, loss: GanLoss, z: &[f32]) -> GradNorms {
    let (sat, d) = theory::g_grad_norm(gan, GanLoss::Saturating, z);
    let (ns, _) = theory::g_grad_norm(gan, GanLoss::NonSaturating, z);
    let norm = match loss {
        GanLoss::Saturating => sat,
        GanLoss::NonSaturating => ns,
        other => theory::g_grad_norm(gan, other, z).0,
    };
    GradNorms {
        norm,
        saturating: sat,
        non_saturating: ns,
        d_fake: d,
        loss,
        rows: z.len() / gan.noise_dim(),
    }
}
