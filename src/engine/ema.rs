//! An exponential moving average of G's weights (Yazıcı et al. 2019, "The Unusual Effectiveness
//! of Averaging in GAN Training"; StyleGAN, BigGAN and StudioGAN all sample such a copy).
//!
//! After each G update `t` (counted from 0 when the average was started) every parameter `a` of
//! the averaged copy moves towards G's `θ`: `a ← β·a + (1 − β)·θ` with
//! `β = min(decay, (1 + t) / (10 + t))`. The warm-up keeps the first updates from being
//! dominated by G's random init (a plain β = 0.999 would still weigh the init by 0.999^1000 ≈
//! 0.37 after a thousand updates).
//!
//! Batch norm's running statistics are averaged with the same β: the running statistics of the
//! live G describe the live weights' activations, not the averaged weights'. Averaging them is
//! a first-order estimate of the averaged weights' statistics (exact where the activations'
//! moments are linear in the weights, which they are not in general); recomputing them from fresh
//! noise through the averaged G after each epoch is the more exact choice and was not measured.
//!
//! During a fit the averaged values live in [`EmaBuffers`] (plain buffers, updated from the fast
//! path's parameter mirrors or from the reference path's tensors after each step) and are written
//! into [`GEma::net`] when the step workspace syncs, as G's own tensors are.

use super::network::Network;

/// The averaged generator and where its average stands.
#[derive(Clone, Debug)]
pub struct GEma {
    /// β's ceiling (the warm-up starts lower).
    pub decay: f64,
    /// G updates averaged in so far (`t` of the next update).
    pub updates: u64,
    /// G's architecture with the averaged parameters and batch-norm running statistics.
    pub net: Network,
}

impl GEma {
    /// Starts an average at G's current weights.
    pub fn start(g: &Network, decay: f64) -> Self {
        GEma {
            decay,
            updates: 0,
            // a clone shares the tensors' storage until one side writes (copy on write), and
            // owns its batch-norm running statistics
            net: g.clone(),
        }
    }

    /// β of update `t` (0-based): `min(decay, (1 + t) / (10 + t))`, rounded to f32 once.
    pub fn rate(decay: f64, t: u64) -> f32 {
        let t = t as f64;
        decay.min((1.0 + t) / (10.0 + t)) as f32
    }

    /// Checks a decay option: a finite number in [0, 1) (0 means off).
    pub fn try_decay(decay: f64, option: &str) -> Result<f64, String> {
        if decay.is_finite() && (0.0..1.0).contains(&decay) {
            Ok(decay)
        } else {
            Err(format!(
                "option `{option}` must be a number in [0, 1) (the average's decay per G update; 0 or absent: off), got {decay}"
            ))
        }
    }
}

/// Sets the averaging a fit asks for: `decay` None or 0 drops any average, otherwise an average
/// already held continues under the new ceiling, or one starts at G's current weights.
pub fn configure(gan: &mut super::Gan, decay: Option<f64>) {
    match decay.filter(|&d| d > 0.0) {
        None => gan.g_ema = None,
        Some(d) => match gan.g_ema.as_mut() {
            Some(e) => e.decay = d,
            None => gan.g_ema = Some(GEma::start(&gan.g, d)),
        },
    }
}

/// `a ← β·a + (1 − β)·θ` over one buffer (β as in [`GEma::rate`]).
pub fn blend(avg: &mut [f32], live: &[f32], beta: f32) {
    let keep = 1.0 - beta;
    for (a, &x) in avg.iter_mut().zip(live) {
        *a = beta * *a + keep * x;
    }
}

/// The averaged values while a fit runs: every parameter of the averaged G in [`Network::params`]
/// order, then every layer's non-trained state (batch norm's running statistics).
#[derive(Debug)]
pub struct EmaBuffers {
    params: Vec<Vec<f32>>,
    /// (layer index, state name, values).
    state: Vec<(usize, &'static str, Vec<f32>)>,
    /// Whether [`GEma::net`] lags behind the buffers.
    stale: bool,
}

impl EmaBuffers {
    /// The buffers of `ema`'s current values.
    pub fn new(ema: &GEma) -> Self {
        let params = ema
            .net
            .layers
            .iter()
            .flat_map(|l| l.params().into_iter().map(|(_, p)| p.values()))
            .collect();
        EmaBuffers {
            params,
            state: layer_state(&ema.net),
            stale: false,
        }
    }

    /// Folds in one G update: `live` are G's parameters in [`Network::params`] order, `g` the live
    /// G (its layers' state, shared with the fast path's mirrors, is current during a fit).
    pub fn update<'a>(
        &mut self,
        ema: &mut GEma,
        live: impl IntoIterator<Item = &'a [f32]>,
        g: &Network,
    ) {
        let beta = GEma::rate(ema.decay, ema.updates);
        let mut n = 0;
        for (a, x) in self.params.iter_mut().zip(live) {
            assert_eq!(a.len(), x.len(), "averaged G has G's shapes");
            blend(a, x, beta);
            n += 1;
        }
        assert_eq!(n, self.params.len(), "averaged G has G's parameters");
        for ((i, name, a), (j, live_name, x)) in self.state.iter_mut().zip(layer_state(g)) {
            assert_eq!((*i, *name), (j, live_name), "averaged G has G's layers");
            blend(a, &x, beta);
        }
        ema.updates += 1;
        self.stale = true;
    }

    /// Writes the buffers into `ema`'s network if an update changed them since the last store.
    pub fn store(&mut self, ema: &mut GEma) {
        if !std::mem::take(&mut self.stale) {
            return;
        }
        let mut values = self.params.iter();
        for (_, p) in ema.net.params_mut() {
            let v = values.next().expect("one buffer per parameter");
            match p {
                super::layers::Param::Matrix(m) => m.copy_from(v),
                super::layers::Param::Vector(b) => b.copy_from(v),
            }
        }
        for (i, name, v) in &self.state {
            ema.net.layers[*i].set_state(name, v);
        }
    }
}

/// Every layer's non-trained state, with its layer index.
fn layer_state(net: &Network) -> Vec<(usize, &'static str, Vec<f32>)> {
    net.layers
        .iter()
        .enumerate()
        .flat_map(|(i, l)| l.state().into_iter().map(move |(n, v)| (i, n, v)))
        .collect()
}
