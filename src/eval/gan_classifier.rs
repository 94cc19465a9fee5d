//! Classifier-based metrics of a generator on MNIST, beside the Parzen estimate (which Theis et
//! al. 2016 showed to be unreliable): the Fréchet distance between the Gaussians of our MNIST
//! classifier's penultimate features over generator samples and over the 10,000 test images,
//! and the classifier score `exp(E KL(p(y|x) ‖ p(y)))` of the samples.
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
use super::classifier_cache::{cache_locations, load_or_train, CacheManifest, ClassifierData};
use super::frechet::{frechet_distance, Gaussian};
use crate::data::{load_mnist, MnistSplit};
use crate::engine::classifier::{Classifier, ClassifierSpec};
use crate::engine::Gan;

/// Rows of real training images in the Fréchet reference (as many as the test set).
pub const REFERENCE_TRAIN_ROWS: usize = 10_000;

/// The classifier and everything about the real data the metrics compare against.
pub struct MnistEvaluator {
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

impl MnistEvaluator {
    /// Loads MNIST from `data_dir`, loads or trains the classifier in the usual cache locations
    /// (see [`super::classifier_cache`]), and computes the real-data references.
    pub fn open(data_dir: &Path, log: &mut dyn FnMut(&str)) -> Result<Self> {
        Self::open_with_cache(data_dir, &cache_locations(data_dir), log)
    }

    /// [`Self::open`] with the cache directories given, in order of preference.
    pub fn open_with_cache(
        data_dir: &Path,
        cache_dirs: &[std::path::PathBuf],
        log: &mut dyn FnMut(&str),
    ) -> Result<Self> {
        let train = load_mnist(data_dir, MnistSplit::Train)?;
        let valid = load_mnist(data_dir, MnistSplit::Valid)?;
        let test = load_mnist(data_dir, MnistSplit::Test)?;
        let labels = |d: &crate::data::Dataset| d.labels.clone().unwrap_or_default();
        let (ly, lv, lt) = (labels(&train), labels(&valid), labels(&test));
        let data = ClassifierData {
            train: (&train.x, &ly),
            valid: (&valid.x, &lv),
            test: (&test.x, &lt),
        };
        let cached = load_or_train(cache_dirs, &ClassifierSpec::mnist(), &data, log)?;
        let c = cached.classifier;
        let test_features = Gaussian::fit(&c.features(&test.x), c.feature_dim())?;
        let test_score = score_of(&c, &test.x)?;
        let head = &train.x[..REFERENCE_TRAIN_ROWS.min(train.rows()) * train.dim];
        let train_fd = frechet_distance(
            &Gaussian::fit(&c.features(head), c.feature_dim())?,
            &test_features,
        )?;
        Ok(MnistEvaluator {
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

    /// The evaluator for `data_dir`, opened once per process and shared (training or even
    /// loading the classifier and featurising the references is too slow to repeat per call).
    pub fn shared(data_dir: &Path, log: &mut dyn FnMut(&str)) -> Result<Arc<Self>> {
        Self::shared_with_cache(data_dir, &cache_locations(data_dir), log)
    }

    /// [`Self::shared`] with the cache directories given; they only matter for the first call
    /// for `data_dir` in this process (later calls get the evaluator it opened). Holding the
    /// lock while opening makes concurrent first calls wait rather than train twice.
    pub fn shared_with_cache(
        data_dir: &Path,
        cache_dirs: &[std::path::PathBuf],
        log: &mut dyn FnMut(&str),
    ) -> Result<Arc<Self>> {
        type Opened = Vec<(std::path::PathBuf, Arc<MnistEvaluator>)>;
        let open = |opened: &mut Opened, log: &mut dyn FnMut(&str)| {
            if let Some((_, e)) = opened.iter().find(|(d, _)| d == data_dir) {
                return Ok(e.clone());
            }
            // One signature for both builds: CUDA builds share the evaluator within a thread only.
            #[cfg_attr(feature = "cuda", allow(clippy::arc_with_non_send_sync))]
            let e = Arc::new(Self::open_with_cache(data_dir, cache_dirs, log)?);
            opened.push((data_dir.to_path_buf(), e.clone()));
            Ok(e)
        };
        #[cfg(not(feature = "cuda"))]
        {
            static OPENED: std::sync::Mutex<Opened> = std::sync::Mutex::new(Vec::new());
            open(&mut OPENED.lock().unwrap_or_else(|e| e.into_inner()), log)
        }
        // dfdx's CUDA device is not Send, so neither is an evaluator holding it: one per thread.
        #[cfg(feature = "cuda")]
        {
            thread_local!(static OPENED: std::cell::RefCell<Opened> = const { std::cell::RefCell::new(Vec::new()) });
            OPENED.with_borrow_mut(|opened| open(opened, log))
        }
    }

    /// Fréchet distance and classifier score of row-major MNIST-shaped `samples`.
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

    /// Draws `n` samples from `gan` (in chunks of 1,000) and evaluates them.
    pub fn evaluate_gan(&self, gan: &mut Gan, n: usize) -> Result<ClassifierMetrics> {
        let d = self.classifier.net.input_dim();
        ensure!(
            gan.data_dim() == d,
            "the GAN generates {} features, the MNIST classifier takes {d}",
            gan.data_dim()
        );
        super::check_sample_count(n, d)?;
        let started = Instant::now();
        let mut samples = Vec::with_capacity(n * d);
        let mut left = n;
        while left > 0 {
            let k = left.min(1000);
            samples.extend(gan.sample(k));
            left -= k;
        }
        let mut m = self.evaluate_samples(&samples)?;
        m.secs = started.elapsed().as_secs_f64();
        Ok(m)
    }
}

/// The classifier score of `x` under `c`.
fn score_of(c: &Classifier, x: &[f32]) -> Result<f64> {
    classifier_score(&softmax_rows(&c.logits(x), c.classes()), c.classes())
}
