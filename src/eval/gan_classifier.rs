//! Classifier-based metrics of a generator on MNIST or Fashion-MNIST, beside the Parzen estimate
//! (which Theis et al. 2016 showed to be unreliable): the Fréchet distance between the Gaussians
//! of the data set's own classifier's penultimate features over generator samples and over the
//! 10,000 test images, and the classifier score `exp(E KL(p(y|x) ‖ p(y)))` of the samples.
//!
//! References to read them against: the test set's own score (what perfect samples would get)
//! and the Fréchet distance of real training images train[0:10000] to the test set (a floor:
//! two samples of the true distribution).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{ensure, Result};
use serde::Serialize;

use super::class_score::{classifier_score, softmax_rows};
use super::classifier_cache::{load_or_train, CacheManifest, ClassifierData};
use super::eval_set::EvalSet;
use super::frechet::{frechet_distance, Gaussian};
use super::unit_samples::{draw_unit_samples, to_unit};
use crate::data::{MnistSplit, PixelRange};
use crate::engine::classifier::Classifier;
use crate::engine::Gan;

/// Rows of real training images in the Fréchet reference (as many as the test set).
pub const REFERENCE_TRAIN_ROWS: usize = 10_000;

/// The classifier of one data set and everything about its real data the metrics compare against.
pub struct Evaluator {
    pub set: EvalSet,
    pub classifier: Classifier,
    pub manifest: CacheManifest,
    /// Directory the classifier was loaded from or written to.
    pub cache_dir: std::path::PathBuf,
    pub trained: bool,
    test_features: Gaussian,
    /// Accuracy on the 10,000 test images.
    pub test_accuracy: f64,
    /// Classifier score of the test images.
    pub test_score: f64,
    /// Fréchet distance of train[0:10000] to the test images.
    pub train_fd: f64,
}

/// What one evaluation reports (the `--json` object of `gan eval classifier`).
#[derive(Clone, Debug, Serialize)]
pub struct ClassifierMetrics {
    pub fd: f64,
    pub score: f64,
    pub n_samples: usize,
    /// The test set's own classifier score.
    pub ref_test_score: f64,
    /// Fréchet distance of real train[0:10000] to the test set.
    pub ref_train_fd: f64,
    /// Classifier accuracy on the test set.
    pub accuracy: f64,
    /// Seconds for sampling, features, Gaussian fit and the Fréchet eigenproblems.
    pub secs: f64,
}

impl Evaluator {
    /// Loads `set` for the MNIST directory `data_dir`, loads or trains its classifier in the
    /// usual cache locations ([`EvalSet::cache_locations`]), and computes the real-data
    /// references.
    pub fn open(set: EvalSet, data_dir: &Path, log: &mut dyn FnMut(&str)) -> Result<Self> {
        Self::open_with_cache(set, data_dir, &set.cache_locations(data_dir), log)
    }

    /// [`Self::open`] with the cache directories given, in order of preference.
    pub fn open_with_cache(
        set: EvalSet,
        data_dir: &Path,
        cache_dirs: &[std::path::PathBuf],
        log: &mut dyn FnMut(&str),
    ) -> Result<Self> {
        let train = set.load(data_dir, MnistSplit::Train)?;
        let valid = set.load(data_dir, MnistSplit::Valid)?;
        let test = set.load(data_dir, MnistSplit::Test)?;
        let labels = |d: &crate::data::Dataset| d.labels.clone().unwrap_or_default();
        let (ly, lv, lt) = (labels(&train), labels(&valid), labels(&test));
        let data = ClassifierData {
            train: (&train.x, &ly),
            valid: (&valid.x, &lv),
            test: (&test.x, &lt),
        };
        let (spec, stem) = (set.classifier_spec(), set.cache_stem());
        let cached = load_or_train(cache_dirs, &stem, &spec, &data, log)?;
        let c = cached.classifier;
        let test_features = Gaussian::fit(&c.features(&test.x), c.feature_dim())?;
        let test_score = score_of(&c, &test.x)?;
        let head = &train.x[..REFERENCE_TRAIN_ROWS.min(train.rows()) * train.dim];
        let train_fd = frechet_distance(
            &Gaussian::fit(&c.features(head), c.feature_dim())?,
            &test_features,
        )?;
        Ok(Evaluator {
            set,
            test_accuracy: c.accuracy(&test.x, &lt),
            classifier: c,
            manifest: cached.manifest,
            cache_dir: cached.dir,
            trained: cached.trained,
            test_features,
            test_score,
            train_fd,
        })
    }

    /// The evaluator of `set` for `data_dir`, opened once per process and shared (training or
    /// even loading the classifier and featurising the references is too slow to repeat per
    /// call).
    pub fn shared(set: EvalSet, data_dir: &Path, log: &mut dyn FnMut(&str)) -> Result<Arc<Self>> {
        Self::shared_with_cache(set, data_dir, &set.cache_locations(data_dir), log)
    }

    /// [`Self::shared`] with the cache directories given; they only matter for the first call
    /// for `set` and `data_dir` in this process (later calls get the evaluator it opened).
    /// Concurrent first calls for one set and directory wait for the first to open it rather
    /// than train twice; calls for different sets open side by side (one classifier's training
    /// leaves part of a 2-core machine idle: ≈ 1.4 cores busy on average, measured).
    pub fn shared_with_cache(
        set: EvalSet,
        data_dir: &Path,
        cache_dirs: &[std::path::PathBuf],
        log: &mut dyn FnMut(&str),
    ) -> Result<Arc<Self>> {
        let key = (set, data_dir.to_path_buf());
        #[cfg(not(feature = "cuda"))]
        {
            use std::sync::Mutex;
            type Slot = Arc<Mutex<Option<Arc<Evaluator>>>>;
            // The list's lock is held only to find the key's slot; the slot's lock while opening.
            static SLOTS: Mutex<Vec<((EvalSet, std::path::PathBuf), Slot)>> =
                Mutex::new(Vec::new());
            let slot = {
                let mut slots = SLOTS.lock().unwrap_or_else(|e| e.into_inner());
                match slots.iter().find(|(k, _)| *k == key) {
                    Some((_, slot)) => slot.clone(),
                    None => {
                        let slot = Slot::default();
                        slots.push((key, slot.clone()));
                        slot
                    }
                }
            };
            let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(e) = slot.as_ref() {
                return Ok(e.clone());
            }
            let e = Arc::new(Self::open_with_cache(set, data_dir, cache_dirs, log)?);
            *slot = Some(e.clone());
            Ok(e)
        }
        // dfdx's CUDA device is not Send, so neither is an evaluator holding it: one per thread.
        #[cfg(feature = "cuda")]
        {
            type Opened = Vec<((EvalSet, std::path::PathBuf), Arc<Evaluator>)>;
            thread_local!(static OPENED: std::cell::RefCell<Opened> = const { std::cell::RefCell::new(Vec::new()) });
            OPENED.with_borrow_mut(|opened| {
                if let Some((_, e)) = opened.iter().find(|(k, _)| *k == key) {
                    return Ok(e.clone());
                }
                #[allow(clippy::arc_with_non_send_sync)]
                let e = Arc::new(Self::open_with_cache(set, data_dir, cache_dirs, log)?);
                opened.push((key, e.clone()));
                Ok(e)
            })
        }
    }

    /// [`Self::evaluate_samples`] of samples whose values mean `range`.
    pub fn evaluate_in_range(
        &self,
        samples: &[f32],
        range: PixelRange,
    ) -> Result<ClassifierMetrics> {
        self.evaluate_samples(&to_unit(samples, range)?)
    }

    /// Fréchet distance and classifier score of row-major `samples` in `[0, 1]`, shaped as the
    /// set's images.
    pub fn evaluate_samples(&self, samples: &[f32]) -> Result<ClassifierMetrics> {
        let started = Instant::now();
        let d = self.classifier.net.input_dim();
        ensure!(
            !samples.is_empty() && samples.len().is_multiple_of(d),
            "{} sample values are not rows of {d} pixels",
            samples.len()
        );
        let n = samples.len() / d;
        ensure!(
            n >= 2,
            "the Fréchet distance needs at least 2 samples, got {n}"
        );
        let g = Gaussian::fit(
            &self.classifier.features(samples),
            self.classifier.feature_dim(),
        )?;
        Ok(ClassifierMetrics {
            fd: frechet_distance(&g, &self.test_features)?,
            score: score_of(&self.classifier, samples)?,
            n_samples: n,
            ref_test_score: self.test_score,
            ref_train_fd: self.train_fd,
            accuracy: self.test_accuracy,
            secs: started.elapsed().as_secs_f64(),
        })
    }

    /// Draws `n` samples from `gan`, whose values mean `range`, and evaluates them.
    pub fn evaluate_gan(
        &self,
        gan: &mut Gan,
        n: usize,
        range: PixelRange,
    ) -> Result<ClassifierMetrics> {
        let d = self.classifier.net.input_dim();
        ensure!(
            gan.data_dim() == d,
            "the GAN generates {} features, the {} classifier takes {d}",
            gan.data_dim(),
            self.set.idx_set().label
        );
        let started = Instant::now();
        let samples = draw_unit_samples(gan, n, range)?;
        let mut m = self.evaluate_samples(&samples)?;
        m.secs = started.elapsed().as_secs_f64();
        Ok(m)
    }
}

/// The classifier score of `x` under `c`.
fn score_of(c: &Classifier, x: &[f32]) -> Result<f64> {
    classifier_score(&softmax_rows(&c.logits(x), c.classes()), c.classes())
}
