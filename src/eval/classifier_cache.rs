//! Where the evaluation classifier's weights live, and when they are retrained.
//!
//! Files: `<stem>.safetensors` (the network's parameters) and `<stem>.json`, the stem naming the
//! data set (`mnist_classifier`, `fashion-mnist_classifier`: two sets can share one cache folder)
//! (a [`CacheManifest`]: architecture, seed, epochs, accuracies, training time, and the SHA-256 of
//! the training spec, of the training data and of the weights file). Both are written atomically
//! (temporary file + rename), weights first, so a manifest never describes missing weights.
//!
//! Location: `<data dir>/classifier/` when it can be written (or already holds a valid cache;
//! never a system package's folder, see [`super::EvalSet::cache_locations`]); else `$GAN_CACHE_DIR/classifier/`, else `$XDG_CACHE_HOME/gan/classifier/`, else
//! `~/.cache/gan/classifier/`. The classifier is retrained when the manifest is absent, when its
//! spec or data hash differs from the present ones, and, with a warning naming the file, when a
//! file is unreadable or corrupt (a cache is disposable: a broken one must not block evaluation).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::checkpoint::weights::{encode, TensorFile};
use crate::digest::sha256_hex;
use crate::engine::classifier::{train_classifier, Classifier, ClassifierSpec, EpochReport};
use crate::safe_fs::write_atomic;

/// The weights and manifest files of the cache named `stem`.
pub fn cache_files(dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{stem}.safetensors")),
        dir.join(format!("{stem}.json")),
    )
}
/// Bumped when the training code changes in a way the spec does not show; part of the spec hash.
const TRAINING_CODE_VERSION: u32 = 1;

/// What the manifest records about a cached classifier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CacheManifest {
    pub architecture: String,
    pub spec: ClassifierSpec,
    pub seed: u64,
    pub epochs: u64,
    pub test_accuracy: f64,
    pub valid_accuracy: f64,
    pub train_secs: f64,
    pub spec_sha256: String,
    pub data_sha256: String,
    pub weights_sha256: String,
}

/// The images and labels a classifier is trained, validated and tested on.
pub struct ClassifierData<'a> {
    pub train: (&'a [f32], &'a [u8]),
    pub valid: (&'a [f32], &'a [u8]),
    pub test: (&'a [f32], &'a [u8]),
}

/// A loaded or freshly trained classifier, and where its files are.
pub struct CachedClassifier {
    pub classifier: Classifier,
    pub manifest: CacheManifest,
    pub dir: PathBuf,
    /// True when it was trained by this call.
    pub trained: bool,
}

/// SHA-256 of the spec's JSON and the training-code version.
pub fn spec_hash(spec: &ClassifierSpec) -> String {
    let json = serde_json::to_string(spec).expect("a spec serialises");
    sha256_hex(format!("v{TRAINING_CODE_VERSION}:{json}").as_bytes())
}

/// SHA-256 of the training images (f32 little-endian) and labels.
pub fn data_hash(x: &[f32], labels: &[u8]) -> String {
    let mut h = Sha256::new();
    for chunk in x.chunks(1 << 16) {
        let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
        h.update(&bytes);
    }
    h.update(labels);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// `dir` exists (or can be made) and a file can be created in it. A directory without any write
/// permission bit counts as read-only even where the file system would let us write (as root):
/// a read-only data directory is meant to stay untouched.
fn writable(dir: &Path) -> bool {
    let marked_read_only =
        |d: &Path| std::fs::metadata(d).is_ok_and(|m| m.permissions().readonly());
    let existing = dir.ancestors().find(|d| d.exists());
    if existing.is_some_and(marked_read_only) || std::fs::create_dir_all(dir).is_err() {
        return false;
    }
    let probe = dir.join(crate::safe_fs::temp_name("probe"));
    let ok = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

/// The fallback cache root: `$GAN_CACHE_DIR`, else `$XDG_CACHE_HOME/gan`, else `~/.cache/gan`.
pub fn fallback_root() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("GAN_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("gan")))
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("gan")))
}

/// Reads and checks the cache in `dir` against the present spec and data hashes. `Ok(None)`:
/// no cache there, or one made for another spec or data (retrain, silently).
fn read_cache(
    dir: &Path,
    stem: &str,
    spec_sha: &str,
    data_sha: &str,
) -> Result<Option<(Classifier, CacheManifest)>> {
    let (wpath, mpath) = cache_files(dir, stem);
    if !mpath.exists() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(&mpath).with_context(|| format!("reading {}", mpath.display()))?;
    let m: CacheManifest = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a classifier manifest", mpath.display()))?;
    if m.spec_sha256 != spec_sha || m.data_sha256 != data_sha {
        return Ok(None);
    }
    let bytes = std::fs::read(&wpath).with_context(|| format!("reading {}", wpath.display()))?;
    ensure!(
        sha256_hex(&bytes) == m.weights_sha256,
        "{} does not match the SHA-256 in {} (corrupt or replaced)",
        wpath.display(),
        mpath.display()
    );
    let file = TensorFile::decode(&bytes, &wpath)?;
    let values: Vec<_> = file.tensors.into_values().collect();
    let mut c = Classifier::init(&m.spec).map_err(|e| anyhow!("{}: {e}", mpath.display()))?;
    c.net
        .try_import(&values)
        .map_err(|e| anyhow!("{}: {e}", wpath.display()))?;
    Ok(Some((Classifier::new(c.net), m)))
}

/// Loads the classifier of `spec` from the first of `candidates` holding a valid cache named
/// `stem` for it, or trains it on `data` and writes it to the first writable one (see
/// [`super::EvalSet::cache_locations`]). `log` gets one line per event (which directory,
/// warnings, training progress).
pub fn load_or_train(
    candidates: &[PathBuf],
    stem: &str,
    spec: &ClassifierSpec,
    data: &ClassifierData,
    log: &mut dyn FnMut(&str),
) -> Result<CachedClassifier> {
    let spec_sha = spec_hash(spec);
    let data_sha = data_hash(data.train.0, data.train.1);
    for dir in candidates {
        match read_cache(dir, stem, &spec_sha, &data_sha) {
            Ok(Some((classifier, manifest))) => {
                log(&format!("classifier: loaded from {}", dir.display()));
                return Ok(CachedClassifier {
                    classifier,
                    manifest,
                    dir: dir.clone(),
                    trained: false,
                });
            }
            Ok(None) => {}
            Err(e) => log(&format!(
                "warning: ignoring the cached classifier: {e:#}; retraining"
            )),
        }
    }
    let Some(dir) = candidates.iter().find(|d| writable(d)) else {
        bail!(
            "no writable directory for the classifier cache: tried {} (set GAN_CACHE_DIR)",
            candidates
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    log(&format!(
        "classifier: training {} epochs, cache in {}",
        spec.epochs,
        dir.display()
    ));
    let started = Instant::now();
    let mut report = |r: &EpochReport| {
        log(&format!(
            "classifier epoch {}: loss {:.4}, valid accuracy {:.4} ({:.1} s)",
            r.epoch,
            r.loss,
            r.valid_accuracy.unwrap_or(f64::NAN),
            r.secs
        ))
    };
    let mut classifier = train_classifier(
        spec,
        data.train.0,
        data.train.1,
        Some(data.valid),
        &mut report,
    )
    .map_err(|e| anyhow!("training the classifier: {e}"))?;
    let train_secs = started.elapsed().as_secs_f64();
    let weights = encode(classifier.net.export(), HashMap::new())?;
    let manifest = CacheManifest {
        architecture: architecture(spec),
        spec: spec.clone(),
        seed: spec.seed,
        epochs: spec.epochs,
        test_accuracy: classifier.accuracy(data.test.0, data.test.1),
        valid_accuracy: classifier.accuracy(data.valid.0, data.valid.1),
        train_secs,
        spec_sha256: spec_sha,
        data_sha256: data_sha,
        weights_sha256: sha256_hex(&weights),
    };
    let (wpath, mpath) = cache_files(dir, stem);
    write_atomic(&wpath, &weights)?;
    write_atomic(&mpath, serde_json::to_string_pretty(&manifest)?.as_bytes())?;
    log(&format!(
        "classifier: trained in {train_secs:.1} s, test accuracy {:.4}, written to {}",
        manifest.test_accuracy,
        dir.display()
    ));
    Ok(CachedClassifier {
        classifier,
        manifest,
        dir: dir.clone(),
        trained: true,
    })
}

/// `784-1200-256-10 relu, dropout 0.5`-style summary of a spec.
fn architecture(spec: &ClassifierSpec) -> String {
    let layers: Vec<String> = spec.stack.layers.iter().map(|l| l.name()).collect();
    format!("{} → {}", spec.stack.input, layers.join(" → "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::schedule::Schedule;
    use crate::engine::spec::{LayerSpec, StackSpec};
    use crate::engine::OptimizerSpec;

    const STEM: &str = "tiny_classifier";

    /// A 2×2-pixel, 2-class problem that trains in milliseconds.
    fn tiny() -> (ClassifierSpec, Vec<f32>, Vec<u8>) {
        let mut spec = ClassifierSpec::mnist();
        spec.stack = StackSpec {
            input: 4,
            layers: vec![
                LayerSpec::Dense {
                    units: 3,
                    irange: Some(0.5),
                },
                LayerSpec::Relu,
                LayerSpec::Dense {
                    units: 2,
                    irange: Some(0.5),
                },
            ],
        };
        spec.optimizer = OptimizerSpec::Adam {
            lr: Schedule::constant(0.02),
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        };
        (
            spec.image,
            spec.classes,
            spec.max_shift,
            spec.epochs,
            spec.batch,
        ) = ((2, 2), 2, 0, 3, 4);
        let labels: Vec<u8> = (0..40).map(|i| (i % 2) as u8).collect();
        let x = labels
            .iter()
            .flat_map(|&y| [y as f32, 1.0 - y as f32, 0.5, y as f32])
            .collect();
        (spec, x, labels)
    }

    fn run(
        dirs: &[PathBuf],
        spec: &ClassifierSpec,
        x: &[f32],
        y: &[u8],
    ) -> (CachedClassifier, Vec<String>) {
        let data = ClassifierData {
            train: (x, y),
            valid: (x, y),
            test: (x, y),
        };
        let mut lines = Vec::new();
        let c = load_or_train(dirs, STEM, spec, &data, &mut |l| lines.push(l.to_string())).unwrap();
        (c, lines)
    }

    #[test]
    fn trains_once_then_loads_and_retrains_when_spec_or_data_change() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = [tmp.path().join("classifier")];
        let (spec, x, y) = tiny();
        let (mut a, _) = run(&dirs, &spec, &x, &y);
        assert!(a.trained);
        let (wpath, mpath) = cache_files(&dirs[0], STEM);
        assert!(wpath.is_file() && mpath.is_file());
        assert_eq!(a.manifest.spec_sha256, spec_hash(&spec));
        let (mut b, lines) = run(&dirs, &spec, &x, &y);
        assert!(!b.trained, "{lines:?}");
        assert_eq!(b.classifier.net.export(), a.classifier.net.export());
        assert_eq!(b.manifest, a.manifest);
        // another seed is another spec: retrained, and the cache now holds the new one
        let mut other = spec.clone();
        other.seed += 1;
        assert!(run(&dirs, &other, &x, &y).0.trained);
        assert!(!run(&dirs, &other, &x, &y).0.trained);
        // other training data: retrained
        let mut x2 = x.clone();
        x2[0] = 0.25;
        assert!(run(&dirs, &other, &x2, &y).0.trained);
    }

    /// Two data sets' classifiers share one folder under their own names, neither evicting the
    /// other.
    #[test]
    fn two_stems_share_a_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = [tmp.path().join("classifier")];
        let (spec, x, y) = tiny();
        let mut x2 = x.clone();
        x2[0] = 0.25;
        let data = |x| ClassifierData {
            train: (x, &y),
            valid: (x, &y),
            test: (x, &y),
        };
        let go = |stem, x| load_or_train(&dirs, stem, &spec, &data(x), &mut |_| {}).unwrap();
        assert!(go("a_classifier", &x).trained);
        assert!(go("b_classifier", &x2).trained);
        assert!(!go("a_classifier", &x).trained);
        assert!(!go("b_classifier", &x2).trained);
        assert!(cache_files(&dirs[0], "b_classifier").1.is_file());
    }

    #[test]
    fn corrupt_files_are_named_in_a_warning_and_retrained() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = [tmp.path().join("classifier")];
        let (spec, x, y) = tiny();
        let (mut first, _) = run(&dirs, &spec, &x, &y);
        let (weights, manifest) = cache_files(&dirs[0], STEM);
        std::fs::write(&weights, b"not safetensors").unwrap();
        let (mut c, lines) = run(&dirs, &spec, &x, &y);
        assert!(c.trained);
        let warning = lines
            .iter()
            .find(|l| l.starts_with("warning:"))
            .expect("a warning");
        assert!(
            warning.contains(&weights.display().to_string()),
            "{warning}"
        );
        // deterministic: the retrained weights equal the first ones
        assert_eq!(c.classifier.net.export(), first.classifier.net.export());
        std::fs::write(&manifest, b"{ truncated").unwrap();
        let (c, lines) = run(&dirs, &spec, &x, &y);
        assert!(c.trained);
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&manifest.display().to_string())),
            "{lines:?}"
        );
    }

    /// A data directory without write permission is skipped for the next location, and a cache
    /// found there later is used from there.
    #[test]
    fn read_only_data_dir_falls_back() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o555)).unwrap();
        let dirs = [
            data.join("classifier"),
            tmp.path().join("cache").join("classifier"),
        ];
        let (spec, x, y) = tiny();
        let (c, lines) = run(&dirs, &spec, &x, &y);
        assert!(c.trained);
        assert_eq!(c.dir, dirs[1]);
        assert!(!dirs[0].exists());
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&dirs[1].display().to_string())),
            "{lines:?}"
        );
        let (c, _) = run(&dirs, &spec, &x, &y);
        assert!(!c.trained && c.dir == dirs[1]);
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = load_or_train(
            &[],
            STEM,
            &spec,
            &ClassifierData {
                train: (&x, &y),
                valid: (&x, &y),
                test: (&x, &y),
            },
            &mut |_| {},
        );
        assert!(err.is_err());
    }
}
