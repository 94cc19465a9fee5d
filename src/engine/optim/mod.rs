//! Optimizers over a [`Network`]'s parameter list: SGD with momentum (pylearn2 semantics) and Adam.
//! Each parameter is updated by dfdx's own kernels (`SgdConfig::try_update`, `AdamConfig::try_update`).

use dfdx::optim::{AdamConfig, Momentum, SgdConfig, WeightDecay};
use dfdx::prelude::*;
use serde::{Deserialize, Serialize};

pub mod kernels;
use super::host_copy;
use super::network::{NamedValues, Network, Param};
use super::schedule::Schedule;
use super::Dev;

/// An optimizer and its hyper-parameter schedules, as plain data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OptimizerSpec {
    /// pylearn2 `Momentum`: `v ← μ v − lr g; θ ← θ + v` (the velocity keeps the learning rate it
    /// was made with, which matters while lr decays). `nesterov` uses the look-ahead form.
    Sgd {
        lr: Schedule,
        momentum: Schedule,
        nesterov: bool,
        weight_decay: f64,
    },
    Adam {
        lr: Schedule,
        beta1: f64,
        beta2: f64,
        eps: f64,
        weight_decay: f64,
    },
}

impl OptimizerSpec {
    /// The paper's MNIST optimizer: lr 0.1 ÷ 1.000004 per step (floor 1e-6), momentum 0.5 → 0.7
    /// over epochs 1–250.
    pub fn paper_sgd() -> Self {
        OptimizerSpec::Sgd {
            lr: Schedule::ExpDecay {
                start: 0.1,
                factor: 1.000004,
                floor: 1e-6,
            },
            momentum: Schedule::Ramp {
                start: 0.5,
                end: 0.7,
                from: 1,
                to: 250,
            },
            nesterov: false,
            weight_decay: 0.0,
        }
    }

    pub fn lr(&self) -> &Schedule {
        match self {
            OptimizerSpec::Sgd { lr, .. } | OptimizerSpec::Adam { lr, .. } => lr,
        }
    }

    /// Momentum (SGD) or β1 (Adam) at this point, for metrics.
    pub fn momentum_at(&self, step: u64, epoch: u64) -> f64 {
        match self {
            OptimizerSpec::Sgd { momentum, .. } => momentum.value(step, epoch),
            OptimizerSpec::Adam { beta1, .. } => *beta1,
        }
    }

    pub fn check(&self) -> Result<(), String> {
        match self {
            OptimizerSpec::Sgd {
                lr,
                momentum,
                weight_decay,
                ..
            } => {
                lr.check().map_err(|e| format!("lr: {e}"))?;
                momentum.check().map_err(|e| format!("momentum: {e}"))?;
                if !weight_decay.is_finite() {
                    return Err(format!("weight_decay must be finite, got {weight_decay}"));
                }
                Ok(())
            }
            OptimizerSpec::Adam {
                lr,
                beta1,
                beta2,
                eps,
                ..
            } => {
                lr.check().map_err(|e| format!("lr: {e}"))?;
                for (n, b) in [("beta1", beta1), ("beta2", beta2)] {
                    if !(0.0..1.0).contains(b) {
                        return Err(format!("{n} must be in [0, 1), got {b}"));
                    }
                }
                // written so that NaN is refused too
                #[allow(clippy::neg_cmp_op_on_partial_ord)]
                if !(*eps > 0.0) {
                    return Err(format!("eps must be > 0, got {eps}"));
                }
                Ok(())
            }
        }
    }
}

/// Per-parameter optimizer state (velocities or Adam moments), keyed by parameter.
pub struct OptimizerState {
    /// SGD velocity in dfdx's form `u` (θ ← θ − lr·u), or Adam's first moment.
    first: Gradients<f32, Dev>,
    /// Adam's second moment.
    second: Gradients<f32, Dev>,
    /// Updates applied so far.
    pub t: u64,
    /// The learning rate of the previous update (pylearn2 momentum keeps it inside the velocity).
    pub prev_lr: f64,
}

impl Default for OptimizerState {
    fn default() -> Self {
        OptimizerState {
            first: Gradients::leaky(),
            second: Gradients::leaky(),
            t: 0,
            prev_lr: 0.0,
        }
    }
}

impl std::fmt::Debug for OptimizerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "OptimizerState {{ t: {}, prev_lr: {} }}",
            self.t, self.prev_lr
        )
    }
}

/// The values an update used, for metrics.
#[derive(Clone, Copy, Debug, Default)]
pub struct Applied {
    pub lr: f64,
    pub momentum: f64,
}

impl OptimizerState {
    /// Applies one update to every parameter of `net` from `grads`, at `step` (0-based) of `epoch` (1-based).
    pub fn update(
        &mut self,
        spec: &OptimizerSpec,
        net: &mut Network,
        grads: &mut Gradients<f32, Dev>,
        step: u64,
        epoch: u64,
    ) -> Applied {
        let lr = spec.lr().value(step, epoch);
        let applied = match spec {
            OptimizerSpec::Sgd {
                momentum,
                nesterov,
                weight_decay,
                ..
            } => {
                let mu = momentum.value(step, epoch);
                let mu_eff = self.dfdx_momentum(mu, lr);
                let m = if mu == 0.0 {
                    None
                } else if *nesterov {
                    Some(Momentum::Nesterov(mu_eff))
                } else {
                    Some(Momentum::Classic(mu_eff))
                };
                let cfg = SgdConfig {
                    lr,
                    momentum: m,
                    weight_decay: (*weight_decay != 0.0).then_some(WeightDecay::L2(*weight_decay)),
                };
                for (_, p) in net.params_mut() {
                    match p {
                        Param::Matrix(t) => sgd_one(&cfg, t, &mut self.first, grads),
                        Param::Vector(t) => sgd_one(&cfg, t, &mut self.first, grads),
                    }
                }
                Applied { lr, momentum: mu }
            }
            OptimizerSpec::Adam {
                beta1,
                beta2,
                eps,
                weight_decay,
                ..
            } => {
                let cfg = AdamConfig {
                    lr,
                    betas: [*beta1, *beta2],
                    eps: *eps,
                    weight_decay: (*weight_decay != 0.0)
                        .then_some(WeightDecay::Decoupled(*weight_decay)),
                };
                let t = (self.t + 1).min(i32::MAX as u64) as i32;
                for (_, p) in net.params_mut() {
                    match p {
                        Param::Matrix(x) => {
                            adam_one(&cfg, t, x, &mut self.first, &mut self.second, grads)
                        }
                        Param::Vector(x) => {
                            adam_one(&cfg, t, x, &mut self.first, &mut self.second, grads)
                        }
                    }
                }
                Applied {
                    lr,
                    momentum: *beta1,
                }
            }
        };
        self.t += 1;
        self.prev_lr = lr;
        applied
    }

    /// dfdx keeps u with θ ← θ − lr·u, u ← g + μ'u. pylearn2 keeps v = −lr_prev·u_prev,
    /// v ← μ v − lr g. They agree when μ' = μ · lr_prev / lr.
    fn dfdx_momentum(&self, mu: f64, lr: f64) -> f64 {
        if self.t == 0 || lr == 0.0 {
            mu
        } else {
            mu * self.prev_lr / lr
        }
    }

    /// The update [`OptimizerState::update`] would apply now, as the fast path's kernels take it
    /// (the same f32 values dfdx's kernels use). Apply it to every parameter, then [`Self::advance`].
    #[cfg(not(feature = "cuda"))]
    pub(crate) fn plan(&self, spec: &OptimizerSpec, step: u64, epoch: u64) -> UpdatePlan {
        let lr = spec.lr().value(step, epoch);
        match spec {
            OptimizerSpec::Sgd {
                momentum,
                nesterov,
                weight_decay,
                ..
            } => {
                let mu = momentum.value(step, epoch);
                let mu_eff = self.dfdx_momentum(mu, lr);
                UpdatePlan {
                    applied: Applied { lr, momentum: mu },
                    step: StepKind::Sgd(kernels::SgdStep {
                        lr: lr as f32,
                        momentum: (mu != 0.0).then_some((mu_eff as f32, *nesterov)),
                        l2: (*weight_decay != 0.0).then_some(*weight_decay as f32),
                        decoupled: None,
                    }),
                }
            }
            OptimizerSpec::Adam {
                beta1,
                beta2,
                eps,
                weight_decay,
                ..
            } => {
                let t = (self.t + 1).min(i32::MAX as u64) as i32;
                let betas = [*beta1 as f32, *beta2 as f32];
                UpdatePlan {
                    applied: Applied {
                        lr,
                        momentum: *beta1,
                    },
                    step: StepKind::Adam(kernels::AdamStep {
                        lr: lr as f32,
                        betas,
                        eps: *eps as f32,
                        corr: betas.map(|b| (1.0 - b.powi(t)).recip()),
                        l2: None,
                        decoupled: (*weight_decay != 0.0).then_some((*weight_decay * lr) as f32),
                    }),
                }
            }
        }
    }

    /// Counts an update planned by [`Self::plan`] as applied.
    #[cfg(not(feature = "cuda"))]
    pub(crate) fn advance(&mut self, plan: &UpdatePlan) {
        self.t += 1;
        self.prev_lr = plan.applied.lr;
    }

    /// The first state buffer of `t` (SGD velocity, Adam's first moment), allocated (zeros) if new.
    #[cfg(not(feature = "cuda"))]
    pub(crate) fn first_mut<S: Shape>(&mut self, t: &Tensor<S, f32, Dev>) -> &mut [f32] {
        self.first
            .get_or_alloc_mut(t)
            .expect("allocating optimizer state")
    }

    /// Both state buffers of `t`.
    #[cfg(not(feature = "cuda"))]
    pub(crate) fn moments_mut<S: Shape>(
        &mut self,
        t: &Tensor<S, f32, Dev>,
    ) -> (&mut [f32], &mut [f32]) {
        (
            self.first
                .get_or_alloc_mut(t)
                .expect("allocating optimizer state"),
            self.second
                .get_or_alloc_mut(t)
                .expect("allocating optimizer state"),
        )
    }

    /// State tensors by parameter name (`"<param>.m1"`, `"<param>.m2"`), for checkpoints.
    pub fn export(&mut self, net: &mut Network) -> Vec<NamedValues> {
        let mut out = Vec::new();
        for (name, p) in net.params_mut() {
            for (suffix, store) in [("m1", &mut self.first), ("m2", &mut self.second)] {
                let (shape, values) = match &p {
                    Param::Matrix(t) => (
                        vec![t.shape().0, t.shape().1],
                        host_copy::to_host(store.get_or_alloc_mut(*t).unwrap()),
                    ),
                    Param::Vector(t) => (
                        vec![t.shape().0],
                        host_copy::to_host(store.get_or_alloc_mut(*t).unwrap()),
                    ),
                };
                out.push(NamedValues {
                    name: format!("{name}.{suffix}"),
                    shape,
                    values,
                });
            }
        }
        out
    }

    /// Restores state exported by [`OptimizerState::export`] for the same architecture.
    pub fn try_import(
        &mut self,
        net: &mut Network,
        values: &[NamedValues],
        t: u64,
        prev_lr: f64,
    ) -> Result<(), String> {
        for (name, p) in net.params_mut() {
            for (suffix, store) in [("m1", &mut self.first), ("m2", &mut self.second)] {
                let key = format!("{name}.{suffix}");
                let v = values
                    .iter()
                    .find(|v| v.name == key)
                    .ok_or_else(|| format!("optimizer state `{key}` is missing"))?;
                let dst = match &p {
                    Param::Matrix(t) => store.get_or_alloc_mut(*t).unwrap(),
                    Param::Vector(t) => store.get_or_alloc_mut(*t).unwrap(),
                };
                host_copy::try_from_host(dst, &v.values).map_err(|len| {
                    format!(
                        "optimizer state `{key}` has {} values, expected {len}",
                        v.values.len()
                    )
                })?;
            }
        }
        self.t = t;
        self.prev_lr = prev_lr;
        Ok(())
    }
}

/// One optimizer update as the fast path applies it.
#[cfg(not(feature = "cuda"))]
#[derive(Clone, Copy, Debug)]
pub(crate) struct UpdatePlan {
    /// What the update reports (metrics).
    pub applied: Applied,
    pub step: StepKind,
}

#[cfg(not(feature = "cuda"))]
#[derive(Clone, Copy, Debug)]
pub(crate) enum StepKind {
    Sgd(kernels::SgdStep),
    Adam(kernels::AdamStep),
}

fn sgd_one<S: Shape>(
    cfg: &SgdConfig,
    t: &mut Tensor<S, f32, Dev>,
    vel: &mut Gradients<f32, Dev>,
    grads: &mut Gradients<f32, Dev>,
) {
    let g = grads.get_or_alloc_mut(t).expect("allocating a gradient");
    let v = vel.get_or_alloc_mut(t).expect("allocating a velocity");
    cfg.try_update(t, v, g).expect("sgd update");
}

fn adam_one<S: Shape>(
    cfg: &AdamConfig,
    step: i32,
    t: &mut Tensor<S, f32, Dev>,
    m1: &mut Gradients<f32, Dev>,
    m2: &mut Gradients<f32, Dev>,
    grads: &mut Gradients<f32, Dev>,
) {
    let g = grads.get_or_alloc_mut(t).expect("allocating a gradient");
    let a = m1.get_or_alloc_mut(t).expect("allocating a moment");
    let b = m2.get_or_alloc_mut(t).expect("allocating a moment");
    cfg.try_update(step, t, a, b, g).expect("adam update");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::{LayerSpec, StackSpec};
    use crate::engine::{device, network::Role, rng};

    /// pylearn2's momentum rule by hand, on one scalar parameter, with a decaying lr.
    #[test]
    fn sgd_matches_pylearn2_momentum_with_decaying_lr() {
        let dev = device();
        let spec = StackSpec {
            input: 1,
            layers: vec![LayerSpec::Dense {
                units: 1,
                irange: Some(0.5),
            }],
        };
        let mut net = Network::try_build(
            &spec,
            Role::Generator,
            &dev,
            &mut rng::stream(1, rng::Purpose::InitG, 0),
        )
        .unwrap();
        let opt = OptimizerSpec::Sgd {
            lr: Schedule::ExpDecay {
                start: 0.1,
                factor: 1.5,
                floor: 0.01,
            },
            momentum: Schedule::Constant { value: 0.5 },
            nesterov: false,
            weight_decay: 0.0,
        };
        let mut state = OptimizerState::default();
        let w0 = net.export()[0].values[0] as f64;
        let (mut w, mut v) = (w0, 0.0f64);
        let gvals = [1.0f64, -2.0, 0.5, 3.0, 1.0, 1.0, -1.0];
        for (step, &g) in gvals.iter().enumerate() {
            // gradient of g·w w.r.t. w is g
            let x = dev.tensor_from_vec(vec![g as f32], (1, 1)).leaky_traced();
            let mut grads = net
                .forward(x, &mut crate::engine::layers::Masks::Off)
                .sum()
                .backward();
            state.update(&opt, &mut net, &mut grads, step as u64, 1);
            let lr = opt.lr().value(step as u64, 1);
            v = 0.5 * v - lr * g;
            w += v;
            let got = net.export()[0].values[0] as f64;
            assert!((got - w).abs() < 1e-6, "step {step}: {got} vs {w}");
        }
    }
}
