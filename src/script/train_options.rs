//! The option maps of the game and its training: `gan(g, d, #{…})`, `sgd(#{…})`, `adam(#{…})` and
//! `gan.fit(data, #{…})`, each option and its default declared once (see [`super::option_struct`]).

use rhai::Dynamic;
use serde::de::{self, Deserializer, Unexpected};
use serde::{Deserialize, Serialize, Serializer};

use super::option_struct::{Count, Number};
use super::options::{err, number, RhaiResult};
use super::values::SchedVal;
use crate::engine::Schedule;

/// A schedule option: a number (a constant schedule) or a schedule value.
#[derive(Clone, Debug)]
pub struct Sched(pub Schedule);

impl<'de> Deserialize<'de> for Sched {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Dynamic::deserialize(d)?;
        match number(&v) {
            Some(x) => Ok(Sched(Schedule::constant(x))),
            None => v.try_cast::<SchedVal>().map(|s| Sched(s.0)).ok_or_else(|| {
                de::Error::invalid_type(
                    Unexpected::Other("value"),
                    &"a number or a schedule (exp_decay, ramp, step_decay)",
                )
            }),
        }
    }
}

/// In the reference's defaults, a constant schedule is its number.
impl Serialize for Sched {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Schedule::Constant { value } => s.serialize_f64(value),
            ref other => other.serialize(s),
        }
    }
}

impl Sched {
    /// The schedule, refused with `key` and `call` named when its values are out of range.
    pub fn checked(self, key: &str, call: &str) -> RhaiResult<Schedule> {
        self.0
            .check()
            .or_else(|e| err(format!("option `{key}` of {call}: {e}")))?;
        Ok(self.0)
    }
}

/// `sgd(#{…})`'s options (PyTorch's defaults but for the learning rate).
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct SgdOptions {
    pub lr: Sched,
    pub momentum: Sched,
    pub nesterov: bool,
    /// L2 penalty added to the gradient.
    pub weight_decay: Number,
}

impl Default for SgdOptions {
    fn default() -> Self {
        SgdOptions {
            lr: Sched(Schedule::constant(0.01)),
            momentum: Sched(Schedule::constant(0.0)),
            nesterov: false,
            weight_decay: Number(0.0),
        }
    }
}

/// `adam(#{…})`'s options (Kingma & Ba's defaults).
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct AdamOptions {
    pub lr: Sched,
    pub beta1: Number,
    pub beta2: Number,
    pub eps: Number,
    /// Decoupled weight decay (AdamW).
    pub weight_decay: Number,
}

impl Default for AdamOptions {
    fn default() -> Self {
        AdamOptions {
            lr: Sched(Schedule::constant(1e-3)),
            beta1: Number(0.9),
            beta2: Number(0.999),
            eps: Number(1e-8),
            weight_decay: Number(0.0),
        }
    }
}

/// `gan(g, d, #{…})`'s options.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct GanOptions {
    /// One of [`GanLoss::NAMES`].
    pub loss: String,
    /// "simultaneous" or "alternating".
    pub scheme: String,
    /// D steps per G step (alternating scheme).
    pub k: Count<1>,
    /// The prior: "uniform" or "gaussian".
    pub noise: String,
    /// Absent: √3 for uniform noise (half-width; unit variance), 1 for gaussian (std).
    pub noise_scale: Option<Number>,
    pub init_bias_from_marginals: bool,
    /// Empty: `gan`, `gan2`, …
    pub name: String,
}

impl Default for GanOptions {
    fn default() -> Self {
        GanOptions {
            loss: "non_saturating".into(),
            scheme: "simultaneous".into(),
            k: Count(1),
            noise: "uniform".into(),
            noise_scale: None,
            init_bias_from_marginals: false,
            name: String::new(),
        }
    }
}

/// `fit`'s options. `()` for an optional one is the same as leaving it out.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct FitOptions {
    /// Epochs to train (more).
    pub epochs: Count<0>,
    pub batch: Count<1>,
    /// Optimizer for both players; `d_opt` / `g_opt` override it for one.
    pub opt: Option<Dynamic>,
    pub d_opt: Option<Dynamic>,
    pub g_opt: Option<Dynamic>,
    /// Steps per epoch; absent: one pass over the data.
    pub steps_per_epoch: Option<Count<1>>,
    /// `|epoch, metrics| …`, called every `every` epochs; returning false stops.
    pub on_epoch: Option<Dynamic>,
    pub every: Count<1>,
    /// Absent: every epoch for image data, never otherwise.
    pub samples_every: Option<Count<0>>,
    /// Absent: the run's default (`gan run --checkpoint-every`), else every epoch.
    pub checkpoint_every: Option<Count<0>>,
    pub keep_checkpoints: Count<1>,
    pub max_minutes: Option<Number>,
    /// Decay per G update of the averaged G that samples; absent or 0: none.
    pub g_ema: Option<Number>,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            epochs: Count(1),
            batch: Count(100),
            opt: None,
            d_opt: None,
            g_opt: None,
            steps_per_epoch: None,
            on_epoch: None,
            every: Count(1),
            samples_every: None,
            checkpoint_every: None,
            keep_checkpoints: Count(2),
            max_minutes: None,
            g_ema: None,
        }
    }
}

/// `sample(n, #{…})`'s and `sample_fixed(n, #{…})`'s options.
#[derive(Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct SampleOptions {
    /// "ema" or "live"; absent: the averaged G when the GAN has one.
    pub weights: Option<String>,
}
