//! Weights files and checkpoints that resume training exactly.
//!
//! - A **weights file** ([`save_weights`], [`load_weights`], [`read_gan`]) is one safetensors
//!   file with G's and D's parameters and the game's spec: enough to rebuild and sample a model.
//! - A **checkpoint** ([`Checkpoint`]) is a directory `ckpt-<step, 10 digits>/` holding
//!   `model.safetensors` (a weights file), `optim.safetensors` (both optimizer states) and
//!   `manifest.json` (position, optimizer scalars, spec, the caller's extra data and the
//!   SHA-256 of the two tensor files). Loading one gives back a [`Gan`] that continues training
//!   bit for bit as if it had never stopped: all randomness is counter-based (see
//!   [`crate::engine::rng`]), so the position counters are the whole random state.
//!
//! Crash safety: each file is written atomically ([`crate::safe_fs`]), the manifest last, inside a
//! directory under a temporary name (`.ckpt-….tmp`) that is renamed into place only when
//! complete. A crash at any moment leaves the previous checkpoints intact and either no new
//! one or a complete one; [`latest`] only returns checkpoints whose manifest is present and
//! whose files match their recorded digests.

mod listing;
pub mod manifest;
pub mod weights;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use crate::engine::Gan;
use crate::safe_fs::open_regular;
use crate::safe_fs::read::read_all;
use crate::safe_fs::{create_dir_durable, create_temp_dir, sync_dir, temp_name, write_atomic};
use weights::{
    encode, encode_weights, import_weights, pick, prefixed, read_ema, saved_position, TensorFile,
    MAX_WEIGHTS_BYTES,
};

pub use listing::{keep_last, latest, latest_checked, list, remove_stale_temps};
pub use manifest::{sha256_hex, Manifest, RngPosition, Tampered, FORMAT_VERSION, MANIFEST_FILE};
pub use weights::{load_weights, read_gan, save_weights};

/// File name of the weights inside a checkpoint directory.
pub const MODEL_FILE: &str = "model.safetensors";
/// File name of the optimizer states inside a checkpoint directory.
pub const OPTIM_FILE: &str = "optim.safetensors";
/// Prefix of checkpoint directory names.
pub const DIR_PREFIX: &str = "ckpt-";

/// Saving and loading checkpoint directories.
pub struct Checkpoint;

impl Checkpoint {
    /// The directory name of the checkpoint taken at `step`: `ckpt-0000001234`.
    pub fn dir_name(step: u64) -> String {
        format!("{DIR_PREFIX}{step:010}")
    }

    /// Saves `gan` (weights, optimizer states, position) with the caller's `extra` data as
    /// `dir/ckpt-<step>/` and returns that path. A checkpoint already there for the same step
    /// is replaced. `gan` is `&mut` only because exporting optimizer state needs it; its
    /// values are not changed.
    pub fn save(dir: impl AsRef<Path>, gan: &mut Gan, extra: Value) -> Result<PathBuf> {
        let dir = dir.as_ref();
        create_dir_durable(dir)?;
        let name = Self::dir_name(gan.step);
        // Built under a temporary name: until the final rename nothing named `ckpt-*` exists,
        // so a crash mid-way leaves only a `.tmp` directory that readers ignore.
        let tmp = create_temp_dir(dir, &name)?;
        if let Err(e) = Self::write_contents(&tmp, gan, extra) {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e.context(format!("saving checkpoint {}", dir.join(&name).display())));
        }
        let target = dir.join(&name);
        if target.exists() {
            // A directory cannot be renamed over a non-empty one: move the old one aside
            // first. A crash between the two renames loses only this step's older copy.
            let old = dir.join(temp_name(&format!("{name}.replaced")));
            fs::rename(&target, &old)
                .with_context(|| format!("moving aside {}", target.display()))?;
            fs::rename(&tmp, &target)
                .with_context(|| format!("renaming {} into place", tmp.display()))?;
            sync_dir(dir)?;
            let _ = fs::remove_dir_all(&old);
        } else {
            fs::rename(&tmp, &target)
                .with_context(|| format!("renaming {} into place", tmp.display()))?;
        }
        // The rename is what publishes the checkpoint; it is durable once the parent is synced.
        sync_dir(dir)?;
        Ok(target)
    }

    /// Writes the three files into the (temporary) checkpoint directory `tmp`.
    fn write_contents(tmp: &Path, gan: &mut Gan, extra: Value) -> Result<()> {
        let model = encode_weights(gan)?;
        let mut states = prefixed("g", gan.g_state.export(&mut gan.g));
        states.extend(prefixed("d", gan.d_state.export(&mut gan.d)));
        let meta = HashMap::from([("format".to_string(), "gan-optim/1".to_string())]);
        let optim = encode(states, meta)?;
        write_atomic(&tmp.join(MODEL_FILE), &model)?;
        write_atomic(&tmp.join(OPTIM_FILE), &optim)?;
        let files = BTreeMap::from([
            (MODEL_FILE.to_string(), sha256_hex(&model)),
            (OPTIM_FILE.to_string(), sha256_hex(&optim)),
        ]);
        let sizes = BTreeMap::from([
            (MODEL_FILE.to_string(), model.len() as u64),
            (OPTIM_FILE.to_string(), optim.len() as u64),
        ]);
        // Last: the manifest vouches for the files above, so it must not exist before they do.
        Manifest::of(gan, extra, files, sizes).write(&tmp.join(MANIFEST_FILE))
    }

    /// Checks that `path` is a complete checkpoint (manifest readable and sealed, exactly the
    /// two tensor files, each matching its size and digest, the weights saved at the manifest's
    /// step and epoch) and returns its manifest. A checkpoint that was edited rather than left
    /// incomplete fails with a [`Tampered`] error.
    pub fn verify(path: impl AsRef<Path>) -> Result<Manifest> {
        let path = path.as_ref();
        let m = Manifest::read(&path.join(MANIFEST_FILE))?;
        let model = read_listed(path, &m, MODEL_FILE)?;
        read_listed(path, &m, OPTIM_FILE)?;
        check_position(&m, &model, &path.join(MODEL_FILE))?;
        m.check_seal(&path.join(MANIFEST_FILE))?;
        Ok(m)
    }

    /// Restores the checkpoint at `path` into a new [`Gan`]: spec, weights, optimizer states
    /// and position. Training it with the same data and fit continues exactly where the saved
    /// run was. Errors name the offending file.
    pub fn load(path: impl AsRef<Path>) -> Result<(Gan, Manifest)> {
        let path = path.as_ref();
        let m = Manifest::read(&path.join(MANIFEST_FILE))?;
        // Read each file once and check the very bytes that are decoded.
        let (model_path, model_bytes) = (path.join(MODEL_FILE), read_listed(path, &m, MODEL_FILE)?);
        let (optim_path, optim_bytes) = (path.join(OPTIM_FILE), read_listed(path, &m, OPTIM_FILE)?);
        check_position(&m, &model_bytes, &model_path)?;
        m.check_seal(&path.join(MANIFEST_FILE))?;

        let mut gan = Gan::try_new(m.gan_spec.clone(), m.seed)
            .map_err(|e| anyhow!("{}: the recorded spec is invalid: {e}", path.display()))?;
        let model = TensorFile::decode(&model_bytes, &model_path)?;
        import_weights(&model, &mut gan.g, &mut gan.d)
            .with_context(|| format!("loading weights from {}", model_path.display()))?;
        gan.g_ema = read_ema(&model, &gan.g)
            .with_context(|| format!("loading weights from {}", model_path.display()))?;

        let optim = TensorFile::decode(&optim_bytes, &optim_path)?;
        let ctx = || format!("loading optimizer state from {}", optim_path.display());
        // The fresh states' exports give the names and shapes to expect (all zeros).
        let g_vals = pick(&optim, "g", &gan.g_state.export(&mut gan.g)).with_context(ctx)?;
        let d_vals = pick(&optim, "d", &gan.d_state.export(&mut gan.d)).with_context(ctx)?;
        gan.g_state
            .try_import(&mut gan.g, &g_vals, m.g_opt_t, m.g_prev_lr)
            .map_err(|e| anyhow!("g: {e}"))
            .with_context(ctx)?;
        gan.d_state
            .try_import(&mut gan.d, &d_vals, m.d_opt_t, m.d_prev_lr)
            .map_err(|e| anyhow!("d: {e}"))
            .with_context(ctx)?;

        m.apply_position(&mut gan);
        Ok((gan, m))
    }
}

/// Reads the checkpoint file `name` that the manifest `m` lists: exactly the two tensor files,
/// each a regular file in `dir` (no symlink, FIFO or device) whose size is the one the manifest
/// declares, at most [`MAX_WEIGHTS_BYTES`], and whose bytes match the recorded digest.
fn read_listed(dir: &Path, m: &Manifest, name: &str) -> Result<Vec<u8>> {
    let listed: Vec<&String> = m.files.keys().collect();
    if listed != [MODEL_FILE, OPTIM_FILE] {
        return Err(Tampered(format!(
            "{}: `files` lists {listed:?}; a checkpoint holds exactly {MODEL_FILE} and {OPTIM_FILE}",
            dir.join(MANIFEST_FILE).display()
        ))
        .into());
    }
    let p = dir.join(name);
    let (f, len) = open_regular(&p).map_err(|e| {
        // gan never makes anything but regular files here: a link, FIFO or device was planted
        let planted = fs::symlink_metadata(&p).is_ok_and(|m| !m.is_file());
        if planted {
            Tampered(format!("{e:#}")).into()
        } else {
            e
        }
    })?;
    match m.sizes.get(name) {
        Some(&want) if want != len => bail!(
            "{}: {len} bytes, the manifest records {want} (the file is incomplete or was replaced)",
            p.display()
        ),
        // a manifest may declare any size: the bound holds for every file
        _ if len > MAX_WEIGHTS_BYTES => bail!(
            "{}: {len} bytes, more than a checkpoint file may have ({MAX_WEIGHTS_BYTES})",
            p.display()
        ),
        _ => {}
    }
    let bytes = read_all(f, len, &p)?;
    m.check_file(name, &bytes, &p)?;
    Ok(bytes)
}

/// The weights file records the step and epoch it was saved at, and the manifest records the
/// weights' digest: a manifest whose `step` or `epoch` disagrees with them was edited.
fn check_position(m: &Manifest, model: &[u8], model_path: &Path) -> Result<()> {
    let Some((step, epoch)) = saved_position(model) else {
        return Ok(());
    };
    for (field, recorded, saved) in [("step", m.step, step), ("epoch", m.epoch, epoch)] {
        if recorded != saved {
            return Err(Tampered(format!(
                "{}: `{field}` is {recorded}, but {} (whose digest it records) was saved at {field} {saved}: the manifest was edited",
                model_path.with_file_name(MANIFEST_FILE).display(),
                model_path.display()
            ))
            .into());
        }
    }
    Ok(())
}
