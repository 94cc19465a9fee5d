//! `manifest.json`: everything about a checkpoint that is not a tensor.
//!
//! The manifest is the checkpoint's seal. It is written after the tensor files and lists their
//! SHA-256 digests, so a directory with no manifest, or whose files do not match it, is not a
//! checkpoint. Its floats come back bit for bit (learning rates after decay included): serde_json
//! prints the shortest digits that round-trip, and its `float_roundtrip` feature (on in
//! Cargo.toml) parses them exactly; without that feature about one float in seven came back one
//! ULP off, and a run resumed from it diverged from the one never stopped.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::{Gan, GanSpec};
use crate::safe_fs::{read_regular, write_atomic};

/// The manifest layout this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// File name of the manifest inside a checkpoint directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Key of the exact float bits that manifests written before `float_roundtrip` carry (ignored).
const LEGACY_FLOAT_BITS_KEY: &str = "float_bits";

/// Where the run's random streams stand. Training randomness is counter-based (streams keyed
/// by `(seed, purpose, step | epoch | draw)`, see [`crate::engine::rng`]), so there is no
/// generator state: these counters are all there is, recorded here so that is explicit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngPosition {
    /// How the streams are derived; always `"counter"` for this engine.
    pub kind: String,
    pub seed: u64,
    /// Keys the per-iteration stream (noise and dropout masks).
    pub step: u64,
    /// Keys the shuffle of the next epoch (`epoch + 1`).
    pub epoch: u64,
    /// Position inside the current epoch's shuffled order.
    pub batch_in_epoch: u64,
    /// Keys the next [`Gan::sample`] draw.
    pub samples_drawn: u64,
}

/// A checkpoint's metadata: the run's position, the optimizers' scalars, the spec, the caller's
/// extra data and the digests of the tensor files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    /// Completed epochs.
    pub epoch: u64,
    /// Iterations done.
    pub step: u64,
    /// Batches of the current, incomplete epoch already consumed.
    pub batch_in_epoch: u64,
    pub samples_drawn: u64,
    pub marginals_applied: bool,
    /// Metrics of the incomplete epoch so far (so its line, once finished, covers all its steps).
    #[serde(default)]
    pub epoch_acc: crate::engine::metrics::MetricsAccumulator,
    pub seed: u64,
    /// Updates applied by G's optimizer, and the learning rate of its last update.
    pub g_opt_t: u64,
    pub g_prev_lr: f64,
    pub d_opt_t: u64,
    pub d_prev_lr: f64,
    pub rng: RngPosition,
    pub gan_spec: GanSpec,
    /// The caller's own data (resolved config, recipe hash, metrics-file length, …).
    pub extra: Value,
    /// SHA-256 (lower-case hex) of each file of the checkpoint, by file name.
    pub files: BTreeMap<String, String>,
    /// Size in bytes of each file, by file name (absent in manifests from before it existed).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sizes: BTreeMap<String, u64>,
    /// SHA-256 of the manifest's own content without this field ([`Manifest::seal_of`]): an
    /// edited field (epoch, step, a digest, …) no longer matches it. It detects edits and
    /// corruption, not a forger who recomputes it; absent in manifests from before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<String>,
}

/// Why a checkpoint is refused as edited rather than skipped as incomplete: a crash cannot
/// produce it (the manifest is written whole, last), so resuming from an older checkpoint
/// instead would hide the edit.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Tampered(pub String);

/// The largest manifest.json `gan` reads (its `extra` holds the run's resolved config).
pub const MAX_MANIFEST_BYTES: u64 = 64 << 20;

impl Manifest {
    /// The manifest of `gan`'s current state, for tensor files with the given digests.
    pub fn of(
        gan: &Gan,
        extra: Value,
        files: BTreeMap<String, String>,
        sizes: BTreeMap<String, u64>,
    ) -> Self {
        let mut m = Manifest {
            format_version: FORMAT_VERSION,
            epoch: gan.epoch,
            step: gan.step,
            batch_in_epoch: gan.batch_in_epoch,
            samples_drawn: gan.samples_drawn,
            marginals_applied: gan.marginals_applied,
            epoch_acc: gan.epoch_acc.clone(),
            seed: gan.seed,
            g_opt_t: gan.g_state.t,
            g_prev_lr: gan.g_state.prev_lr,
            d_opt_t: gan.d_state.t,
            d_prev_lr: gan.d_state.prev_lr,
            rng: RngPosition {
                kind: "counter".into(),
                seed: gan.seed,
                step: gan.step,
                epoch: gan.epoch,
                batch_in_epoch: gan.batch_in_epoch,
                samples_drawn: gan.samples_drawn,
            },
            gan_spec: gan.spec.clone(),
            extra,
            files,
            sizes,
            seal: None,
        };
        m.seal = Some(m.seal_of());
        m
    }

    /// The seal of this manifest: SHA-256 of its compact JSON with `seal` left out. Floats print
    /// the same after a read (serde_json round-trips them exactly), so a re-read manifest seals
    /// to the same value.
    pub fn seal_of(&self) -> String {
        let unsealed = Manifest {
            seal: None,
            ..self.clone()
        };
        let text = serde_json::to_string(&unsealed).expect("a manifest serialises");
        sha256_hex(text.as_bytes())
    }

    /// Sets `gan`'s run position (not its tensors or optimizer scalars) from the manifest.
    pub fn apply_position(&self, gan: &mut Gan) {
        gan.seed = self.seed;
        gan.step = self.step;
        gan.epoch = self.epoch;
        gan.batch_in_epoch = self.batch_in_epoch;
        gan.samples_drawn = self.samples_drawn;
        gan.marginals_applied = self.marginals_applied;
        gan.epoch_acc = self.epoch_acc.clone();
    }

    /// The manifest as pretty JSON.
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self).context("serialising the manifest")? + "\n")
    }

    /// Parses [`Manifest::to_json`]'s output and checks it is self-consistent.
    pub fn from_json(text: &str) -> Result<Self> {
        let mut value: Value = serde_json::from_str(text).context("not JSON")?;
        match &mut value {
            Value::Object(o) => o.remove(LEGACY_FLOAT_BITS_KEY),
            _ => bail!("not a JSON object"),
        };
        let m: Manifest = serde_json::from_value(value).context("not a checkpoint manifest")?;
        if m.format_version != FORMAT_VERSION {
            bail!(
                "format_version {} is not supported (this build reads {FORMAT_VERSION})",
                m.format_version
            );
        }
        for name in m.files.keys().chain(m.sizes.keys()) {
            if !is_plain_name(name) {
                return Err(Tampered(format!(
                    "`files`: `{name}` is not a plain file name inside the checkpoint directory"
                ))
                .into());
            }
        }
        let r = &m.rng;
        for (field, own, rng) in [
            ("seed", m.seed, r.seed),
            ("step", m.step, r.step),
            ("epoch", m.epoch, r.epoch),
            ("batch_in_epoch", m.batch_in_epoch, r.batch_in_epoch),
            ("samples_drawn", m.samples_drawn, r.samples_drawn),
        ] {
            if own != rng {
                return Err(Tampered(format!(
                    "`{field}` is {own} but `rng.{field}` is {rng}: the manifest was edited"
                ))
                .into());
            }
        }
        Ok(m)
    }

    /// Checks the manifest's [`seal`](Manifest::seal) (read from `path`, named in the error).
    /// Checked after the fields that can name what was edited (see `Checkpoint::verify`).
    pub fn check_seal(&self, path: &Path) -> Result<()> {
        match &self.seal {
            Some(seal) if *seal != self.seal_of() => Err(Tampered(format!(
                "{}: its `seal` does not match its content: a field was edited after the checkpoint was written",
                path.display()
            ))
            .into()),
            _ => Ok(()),
        }
    }

    /// Writes the manifest to `path` atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomic(path, self.to_json()?.as_bytes())
    }

    /// Reads and checks the manifest at `path` (a regular file of at most
    /// [`MAX_MANIFEST_BYTES`]); errors name the file.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = read_regular(path, MAX_MANIFEST_BYTES)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", path.display()))?;
        Self::from_json(&text)
            .with_context(|| format!("{} is not a valid manifest", path.display()))
    }

    /// Checks `bytes`, read from the file `name` of the checkpoint, against the recorded digest.
    pub fn check_file(&self, name: &str, bytes: &[u8], path: &Path) -> Result<()> {
        let want = self
            .files
            .get(name)
            .with_context(|| format!("{}: the manifest lists no `{name}`", path.display()))?;
        let got = sha256_hex(bytes);
        if &got != want {
            bail!(
                "{}: SHA-256 is {got}, the manifest records {want} (the file is corrupt or was replaced)",
                path.display()
            );
        }
        Ok(())
    }
}

/// A name that stays inside the directory it is joined to: not empty, no separator, not `.`
/// or `..`.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

pub use crate::digest::sha256_hex;
