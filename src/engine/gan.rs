//! A GAN: both built networks, their optimizer states and the run's position.

use dfdx::prelude::*;

use super::ema::GEma;
use super::metrics::MetricsAccumulator;
use super::network::{Network, Role};
use super::optim::OptimizerState;
use super::rng::{stream, Purpose};
use super::spec::{GanShapeError, GanSpec};
use super::{device, Dev, EnginePath, Mat};

/// Generator, discriminator and everything needed to continue training them.
#[derive(Debug)]
pub struct Gan {
    pub spec: GanSpec,
    pub g: Network,
    pub d: Network,
    pub seed: u64,
    /// Iterations done (each: one G update).
    pub step: u64,
    /// Completed epochs.
    pub epoch: u64,
    /// Batches of the current (incomplete) epoch already consumed.
    pub batch_in_epoch: u64,
    pub g_state: OptimizerState,
    pub d_state: OptimizerState,
    /// Draws made by [`Gan::sample`], so each call gets fresh noise yet the run stays reproducible.
    pub samples_drawn: u64,
    /// Whether G's output bias has been set from the data marginals (done once, on first fit).
    pub marginals_applied: bool,
    /// Metrics of the current (incomplete) epoch so far.
    pub epoch_acc: MetricsAccumulator,
    /// The moving average of G's weights, when a fit asked for one (`g_ema`): what sampling and
    /// evaluation use ([`Gan::sampler`]); `g` stays the trained, live G.
    pub g_ema: Option<GEma>,
    pub dev: Dev,
    /// Which implementation trains and evaluates it (not part of its state: a checkpoint does not
    /// record it, and either path continues a run).
    pub path: EnginePath,
}

impl Gan {
    /// Chooses the path this GAN trains and evaluates on, refusing the reference path for a stack
    /// holding a layer only the fast path implements (a convolution, batch norm, pooling).
    pub fn try_set_path(&mut self, path: EnginePath) -> Result<(), GanShapeError> {
        if path.effective() == EnginePath::Reference {
            self.spec.g.try_reference().map_err(GanShapeError::G)?;
            self.spec.d.try_reference().map_err(GanShapeError::D)?;
        }
        self.path = path;
        Ok(())
    }

    /// Checks the two stacks against each other and builds them from `seed`.
    pub fn try_new(spec: GanSpec, seed: u64) -> Result<Self, GanShapeError> {
        spec.try_check(None)?;
        let dev = device();
        let g = Network::try_build(
            &spec.g,
            Role::Generator,
            &dev,
            &mut stream(seed, Purpose::InitG, 0),
        )
        .map_err(GanShapeError::G)?;
        let d = Network::try_build(
            &spec.d,
            Role::Discriminator,
            &dev,
            &mut stream(seed, Purpose::InitD, 0),
        )
        .map_err(GanShapeError::D)?;
        Ok(Gan {
            spec,
            g,
            d,
            seed,
            step: 0,
            epoch: 0,
            batch_in_epoch: 0,
            g_state: OptimizerState::default(),
            d_state: OptimizerState::default(),
            samples_drawn: 0,
            marginals_applied: false,
            epoch_acc: MetricsAccumulator::default(),
            g_ema: None,
            dev,
            path: EnginePath::default(),
        })
    }

    pub fn data_dim(&self) -> usize {
        self.g.output_dim()
    }

    pub fn noise_dim(&self) -> usize {
        self.spec.noise.dim()
    }

    /// The generator that samples: the averaged G when there is one, else G.
    pub fn sampler(&self) -> &Network {
        self.g_ema.as_ref().map_or(&self.g, |e| &e.net)
    }

    /// Which generator samples ([`Gan::sampler`]): `"ema"` or `"live"`.
    pub fn sampler_name(&self) -> &'static str {
        if self.g_ema.is_some() {
            "ema"
        } else {
            "live"
        }
    }

    /// [`Gan::sampler`] in evaluation mode for rows of noise `z` (`n × noise_dim`), as
    /// `n × data_dim` values.
    /// Panics when `z` is not whole rows; [`Gan::try_generate`] returns the error instead.
    pub fn generate(&self, z: &[f32]) -> Vec<f32> {
        self.try_generate(z).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Gan::generate`], or an error naming the expected and the given sizes.
    pub fn try_generate(&self, z: &[f32]) -> Result<Vec<f32>, InputError> {
        self.try_generate_by(z, false)
    }

    /// [`Gan::try_generate`] by the live G (`live`) or by [`Gan::sampler`].
    pub fn try_generate_by(&self, z: &[f32], live: bool) -> Result<Vec<f32>, InputError> {
        let n = InputError::rows("generate", "noise", z.len(), self.noise_dim())?;
        if n == 0 {
            // no rows: nothing to run (dfdx's ops refuse an empty batch)
            return Ok(Vec::new());
        }
        let z: Mat = self.dev.tensor_from_vec(z.to_vec(), (n, self.noise_dim()));
        let net = if live { &self.g } else { self.sampler() };
        Ok(self.path.eval(net, z).as_vec())
    }

    /// `n` fresh samples (a new noise draw each call).
    pub fn sample(&mut self, n: usize) -> Vec<f32> {
        self.sample_by(n, false)
    }

    /// [`Gan::sample`] by the live G (`live`) or by [`Gan::sampler`].
    pub fn sample_by(&mut self, n: usize, live: bool) -> Vec<f32> {
        let z = self.spec.noise.sample_vec(
            n,
            &mut stream(self.seed, Purpose::Sample, self.samples_drawn),
        );
        self.samples_drawn += 1;
        self.try_generate_by(&z, live)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The fixed noise batch of this seed (the same rows every call, for comparable grids).
    pub fn fixed_noise(&self, n: usize) -> Vec<f32> {
        self.spec
            .noise
            .sample_vec(n, &mut stream(self.seed, Purpose::FixedNoise, 0))
    }

    /// G applied to the fixed noise batch.
    pub fn sample_fixed(&self, n: usize) -> Vec<f32> {
        self.sample_fixed_by(n, false)
    }

    /// [`Gan::sample_fixed`] by the live G (`live`) or by [`Gan::sampler`].
    pub fn sample_fixed_by(&self, n: usize, live: bool) -> Vec<f32> {
        self.try_generate_by(&self.fixed_noise(n), live)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// D(x) as probabilities (evaluation mode: no dropout) for rows `x` (`n × data_dim`).
    /// Panics when `x` is not whole rows; [`Gan::try_discriminate`] returns the error instead.
    pub fn discriminate(&self, x: &[f32]) -> Vec<f32> {
        self.try_discriminate(x).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Gan::discriminate`], or an error naming the expected and the given sizes.
    pub fn try_discriminate(&self, x: &[f32]) -> Result<Vec<f32>, InputError> {
        let logits = self.try_d_logits(x).map_err(|e| e.from("discriminate"))?;
        Ok(logits
            .into_iter()
            .map(|l| super::loss::sigmoid(l as f64) as f32)
            .collect())
    }

    /// D's logits in evaluation mode. Panics when `x` is not whole rows; [`Gan::try_d_logits`]
    /// returns the error instead.
    pub fn d_logits(&self, x: &[f32]) -> Vec<f32> {
        self.try_d_logits(x).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Gan::d_logits`], or an error naming the expected and the given sizes.
    pub fn try_d_logits(&self, x: &[f32]) -> Result<Vec<f32>, InputError> {
        let n = InputError::rows("d_logits", "data", x.len(), self.data_dim())?;
        if n == 0 {
            return Ok(Vec::new());
        }
        let x: Mat = self.dev.tensor_from_vec(x.to_vec(), (n, self.data_dim()));
        Ok(self.path.eval(&self.d, x).as_vec())
    }

    /// pylearn2's `init_sigmoid_bias_from_marginals`: G's output bias ← logit of each feature's
    /// mean over `data` (`rows × data_dim`), means clipped to [1e-3, 1 − 1e-3]. Panics when
    /// `data` is not whole rows; [`Gan::try_init_g_bias_from_marginals`] returns the error instead.
    pub fn init_g_bias_from_marginals(&mut self, data: &[f32]) {
        self.try_init_g_bias_from_marginals(data)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Gan::init_g_bias_from_marginals`], or an error naming the expected and the given sizes.
    pub fn try_init_g_bias_from_marginals(&mut self, data: &[f32]) -> Result<(), InputError> {
        let dim = self.data_dim();
        let rows = InputError::rows("init_g_bias_from_marginals", "data", data.len(), dim)?;
        let mut mean = vec![0f64; dim];
        for r in data.chunks_exact(dim) {
            for (m, &v) in mean.iter_mut().zip(r) {
                *m += v as f64;
            }
        }
        let bias: Vec<f32> = mean
            .iter()
            .map(|&s| {
                let p = (s / rows.max(1) as f64).clamp(1e-3, 1.0 - 1e-3);
                (p / (1.0 - p)).ln() as f32
            })
            .collect();
        if let Some(b) = self.g.last_bias_mut() {
            if b.shape().0 == dim {
                b.copy_from(&bias);
            }
        }
        self.marginals_applied = true;
        Ok(())
    }
}

/// Rows handed to a [`Gan`] method that are not whole rows of the size it takes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{method}: {what} must be whole rows of {width} values (a multiple of {width}), got {got} values"
)]
pub struct InputError {
    pub method: &'static str,
    /// What the rows are (`"noise"`, `"data"`).
    pub what: &'static str,
    /// Values per row expected.
    pub width: usize,
    /// Values given.
    pub got: usize,
}

impl InputError {
    /// The number of rows of `width` in `got` values, or the error.
    fn rows(
        method: &'static str,
        what: &'static str,
        got: usize,
        width: usize,
    ) -> Result<usize, Self> {
        if width > 0 && got.is_multiple_of(width) {
            Ok(got / width)
        } else {
            Err(InputError {
                method,
                what,
                width,
                got,
            })
        }
    }

    /// The same error reported for the public method `method` that called the failing one.
    fn from(self, method: &'static str) -> Self {
        InputError { method, ..self }
    }
}
