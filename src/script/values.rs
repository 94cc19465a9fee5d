//! Values scripts hold: stack builders, datasets, schedules, optimizers, GANs and sample batches.

use std::sync::{Arc, Mutex, MutexGuard};

use rhai::{Dynamic, Map, INT};

use super::site::Site;

use crate::data::{Dataset, ImageShape};
use crate::engine::{EpochMetrics, Gan, OptimizerSpec, Schedule, StackSpec};

/// A stack being declared, with the script position of each layer call (for shape errors).
#[derive(Clone, Debug)]
pub struct StackBuilder {
    pub spec: StackSpec,
    /// Where each layer was declared.
    pub positions: Vec<Site>,
    /// Where `stack(…)` was called.
    pub origin: Site,
}

/// A dataset (shared, read-only).
#[derive(Clone, Debug)]
pub struct DataHandle(pub Arc<Dataset>);

/// A schedule for a learning rate or momentum.
#[derive(Clone, Debug)]
pub struct SchedVal(pub Schedule);

/// An optimizer declaration.
#[derive(Clone, Debug)]
pub struct OptVal(pub OptimizerSpec);

/// A batch of rows (generated samples, D outputs, …).
#[derive(Clone, Debug)]
pub struct Samples {
    pub x: Arc<Vec<f32>>,
    pub dim: usize,
    pub image: Option<ImageShape>,
}

impl Samples {
    pub fn rows(&self) -> usize {
        self.x.len() / self.dim.max(1)
    }
    pub fn mean(&self) -> f64 {
        self.x.iter().map(|&v| v as f64).sum::<f64>() / self.x.len().max(1) as f64
    }
    pub fn std(&self) -> f64 {
        let m = self.mean();
        (self.x.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / self.x.len().max(1) as f64)
            .sqrt()
    }

    /// One line about the rows (how many, their width, mean and spread): what scripts print.
    pub fn summary(&self) -> String {
        format!(
            "Samples({} rows × {}, mean {:.4}, std {:.4})",
            self.rows(),
            self.dim,
            self.mean(),
            self.std()
        )
    }
}

/// A GAN and what the script layer knows about it.
pub struct GanCell {
    pub name: String,
    pub gan: Gan,
    pub g_positions: Vec<Site>,
    pub d_positions: Vec<Site>,
    pub history: Vec<EpochMetrics>,
    /// Image geometry of the data it was trained on (for grids).
    pub image: Option<ImageShape>,
    /// D's and G's optimizers of the last `fit`: a later `fit` without optimizers goes on with
    /// them (and the state they built up) rather than switching to the paper's SGD.
    pub last_opts: Option<(OptimizerSpec, OptimizerSpec)>,
}

/// A shared handle: scripts may keep several names for one GAN, and callbacks can use it
/// between epochs (the training loop releases it then).
#[derive(Clone)]
pub struct GanHandle(pub Arc<Mutex<GanCell>>);

impl GanHandle {
    pub fn lock(&self) -> MutexGuard<'_, GanCell> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Epoch metrics as a script map.
pub fn metrics_map(m: &EpochMetrics) -> Map {
    let mut map = Map::new();
    let v = serde_json::to_value(m).expect("metrics serialise");
    for (k, v) in v.as_object().expect("an object") {
        let d = if let Some(i) = v.as_u64() {
            Dynamic::from(i as INT)
        } else if let Some(warnings) = v.as_array() {
            // `warnings`: `[#{ kind, message }, …]`
            let text = |w: &serde_json::Value, k: &str| {
                Dynamic::from(w[k].as_str().unwrap_or("").to_string())
            };
            Dynamic::from_array(
                warnings
                    .iter()
                    .map(|w| {
                        let mut one = Map::new();
                        one.insert("kind".into(), text(w, "kind"));
                        one.insert("message".into(), text(w, "message"));
                        Dynamic::from_map(one)
                    })
                    .collect(),
            )
        } else {
            Dynamic::from(v.as_f64().unwrap_or(f64::NAN))
        };
        map.insert(k.as_str().into(), d);
    }
    map
}
