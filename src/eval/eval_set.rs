//! Which real data set a GAN's samples are scored against, and what their values mean.
//!
//! The metrics compare samples with real images in `[0, 1]` (what the loaders produce), through a
//! classifier trained on that very data set: scoring Fashion-MNIST samples with the MNIST
//! classifier would measure nothing. A run records both facts for each GAN in `config.json`
//! (`gans.<name>.data.name`, e.g. `fashion-mnist-train`, and `gans.<name>.data.image.range`), so
//! evaluation reads them there rather than trusting the user to repeat them.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use crate::data::mnist::load_idx_set;
use crate::data::{Dataset, IdxSet, MnistSplit, PixelRange, FASHION_MNIST, MNIST};
use crate::engine::classifier::ClassifierSpec;

/// A data set with its own evaluation classifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EvalSet {
    Mnist,
    FashionMnist,
}

impl EvalSet {
    pub const ALL: [EvalSet; 2] = [EvalSet::Mnist, EvalSet::FashionMnist];

    pub fn idx_set(self) -> &'static IdxSet {
        match self {
            EvalSet::Mnist => &MNIST,
            EvalSet::FashionMnist => &FASHION_MNIST,
        }
    }

    /// `mnist` or `fashion-mnist`: the data set's key, as `gan data fetch` and data names use it.
    pub fn key(self) -> &'static str {
        self.idx_set().key
    }

    /// The set whose key is `key`.
    pub fn from_key(key: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.key() == key)
            .ok_or_else(|| anyhow!("no evaluation classifier for the data set {key:?}; there is one for \"mnist\" and one for \"fashion-mnist\""))
    }

    /// The set a data set named `<key>-<split>` (a slice or subset keeps the prefix) came from.
    /// The longest key that prefixes the name wins (`fashion-mnist-…` is not MNIST).
    pub fn of_data_name(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .filter(|s| name.starts_with(&format!("{}-", s.key())) || name == s.key())
            .max_by_key(|s| s.key().len())
            .ok_or_else(|| anyhow!("no evaluation classifier for the data set {name:?}: classifier metrics and Parzen estimates are defined for MNIST and Fashion-MNIST runs"))
    }

    /// Where this set's files are, for the MNIST directory `data_dir`.
    pub fn dir(self, data_dir: &Path) -> PathBuf {
        self.idx_set().locate(data_dir)
    }

    /// One split, pixels in `[0, 1]`.
    pub fn load(self, data_dir: &Path, split: MnistSplit) -> Result<Dataset> {
        load_idx_set(self.idx_set(), &self.dir(data_dir), split)
    }

    /// The classifier trained for this set: the same network and schedule for both (an MLP with
    /// dropout reaches about 90% on Fashion-MNIST, where convolutional nets reach 93%: enough to
    /// tell garments apart for the score and to give meaningful features); its own seed.
    pub fn classifier_spec(self) -> ClassifierSpec {
        let mnist = ClassifierSpec::mnist();
        match self {
            EvalSet::Mnist => mnist,
            EvalSet::FashionMnist => ClassifierSpec {
                seed: 2017,
                ..mnist
            },
        }
    }

    /// Stem of the cached classifier's files: `mnist_classifier`, `fashion-mnist_classifier`.
    pub fn cache_stem(self) -> String {
        format!("{}_classifier", self.key())
    }

    /// Where the classifier is cached, in order: a `classifier/` folder beside the set's files,
    /// unless those are a system package's (never written into), then the fallback root's.
    pub fn cache_locations(self, data_dir: &Path) -> Vec<PathBuf> {
        let dir = self.dir(data_dir);
        let system = self.idx_set().system_dir.map(Path::new);
        let beside = (Some(dir.as_path()) != system).then(|| dir.join("classifier"));
        beside
            .into_iter()
            .chain(super::classifier_cache::fallback_root().map(|r| r.join("classifier")))
            .collect()
    }
}

/// What evaluation needs to know about the data one GAN was trained on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainedOn {
    pub set: EvalSet,
    pub range: PixelRange,
}

impl TrainedOn {
    /// Reads the `data` object of one GAN's entry in `config.json` (`where_` names it in errors,
    /// e.g. `run/config.json, gans.gan.data`).
    pub fn from_data_entry(data: &Value, where_: &str) -> Result<Self> {
        let name = data
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("{where_}: no data set \"name\""))?;
        let set = EvalSet::of_data_name(name).with_context(|| format!("{where_}.name"))?;
        let image = data
            .get("image")
            .filter(|v| !v.is_null())
            .ok_or_else(|| anyhow!("{where_}: the data set {name:?} records no \"image\" shape, so its pixel range is unknown"))?;
        let range = match image.get("range") {
            None => bail!("{where_}.image: no pixel \"range\" (\"unit\" or \"symmetric\") recorded"),
            Some(Value::String(s)) => s
                .parse::<PixelRange>()
                .with_context(|| format!("{where_}.image.range"))?,
            Some(other) => bail!("{where_}.image.range: {other} is not a string; valid ranges are \"unit\" and \"symmetric\""),
        };
        Ok(TrainedOn { set, range })
    }

    /// The entry of the GAN named `gan` in a run's `config.json` bytes (`file` names it).
    pub fn from_config(bytes: &[u8], gan: &str, file: &Path) -> Result<Self> {
        let config: Value = serde_json::from_slice(bytes)
            .with_context(|| format!("{} is not JSON", file.display()))?;
        let data = config
            .get("gans")
            .and_then(|g| g.get(gan))
            .and_then(|g| g.get("data"))
            .ok_or_else(|| {
                anyhow!(
                    "{}: no gans.{gan}.data entry (what the GAN `{gan}` was trained on)",
                    file.display()
                )
            })?;
        Self::from_data_entry(data, &format!("{}, gans.{gan}.data", file.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn data_names_pick_the_set() {
        assert_eq!(
            EvalSet::of_data_name("mnist-train").unwrap(),
            EvalSet::Mnist
        );
        assert_eq!(
            EvalSet::of_data_name("fashion-mnist-test").unwrap(),
            EvalSet::FashionMnist
        );
        let e = EvalSet::of_data_name("cifar10-train")
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"cifar10-train\""), "{e}");
        assert!(EvalSet::of_data_name("mnistish").is_err());
    }

    #[test]
    fn config_entries_and_their_errors() {
        let file = Path::new("run/config.json");
        let config = |image: Value| {
            serde_json::to_vec(&json!({"gans": {"gan": {"data": {"name": "fashion-mnist-train", "image": image}}}}))
                .unwrap()
        };
        let ok = config(json!({"height": 28, "width": 28, "channels": 1, "range": "symmetric"}));
        assert_eq!(
            TrainedOn::from_config(&ok, "gan", file).unwrap(),
            TrainedOn {
                set: EvalSet::FashionMnist,
                range: PixelRange::Symmetric
            }
        );
        let err = |bytes: &[u8], gan: &str| {
            format!(
                "{:#}",
                TrainedOn::from_config(bytes, gan, file).unwrap_err()
            )
        };
        let e = err(&ok, "other");
        assert!(e.contains("run/config.json: no gans.other.data"), "{e}");
        let e = err(
            &config(json!({"height": 28, "width": 28, "channels": 1})),
            "gan",
        );
        assert!(
            e.contains("run/config.json, gans.gan.data.image: no pixel \"range\""),
            "{e}"
        );
        let e = err(&config(json!({"range": "tanh"})), "gan");
        assert!(
            e.contains("gans.gan.data.image.range") && e.contains("\"tanh\""),
            "{e}"
        );
        let e = err(&config(json!({"range": 1})), "gan");
        assert!(e.contains("1 is not a string"), "{e}");
        let e = err(&config(Value::Null), "gan");
        assert!(e.contains("records no \"image\" shape"), "{e}");
        let e = err(b"{ truncated", "gan");
        assert!(e.contains("run/config.json is not JSON"), "{e}");
    }

    #[test]
    fn a_system_directory_is_never_a_cache_location() {
        let tmp = tempfile::tempdir().unwrap();
        let mnist = tmp.path().join("mnist");
        assert_eq!(
            EvalSet::Mnist.cache_locations(&mnist)[0],
            mnist.join("classifier")
        );
        // no fashion-mnist folder beside it: the files are looked for in the system directory
        for dir in EvalSet::FashionMnist.cache_locations(&mnist) {
            assert!(
                !dir.starts_with(crate::data::DEBIAN_FASHION_MNIST_DIR),
                "{dir:?}"
            );
        }
    }
}
