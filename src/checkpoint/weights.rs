//! Weights files: both networks' parameters in one safetensors file, with the game's spec in
//! the file's metadata so the file alone is enough to rebuild the model.
//!
//! Tensors are named `g.<param>` and `d.<param>` after [`Network::export`]'s names (`g.0.w`,
//! `d.3.b`, …), stored as little-endian f32 with the parameter's shape. The metadata holds
//! `gan_spec` (the [`GanSpec`] as JSON; serde_json's `float_roundtrip` feature reads its floats
//! back bit for bit), `seed`, `step`, `epoch` and `format`. Files from before that feature was on
//! also hold `gan_spec_float_bits`, which is now ignored.
//!
//! A GAN that keeps an averaged G ([`crate::engine::ema`]) adds its tensors as `g_ema.<param>`
//! (G's names and shapes) and the metadata `g_ema_decay` and `g_ema_updates`; a file without
//! them (every file from before the average existed) loads as a GAN without one.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use safetensors::tensor::{Dtype, SafeTensors, View};

use crate::engine::ema::GEma;
use crate::engine::network::NamedValues;
use crate::engine::{Gan, GanSpec, Network};
use crate::safe_fs::write_atomic;

/// Metadata key of the JSON [`GanSpec`].
pub const GAN_SPEC_KEY: &str = "gan_spec";
/// Prefix of the averaged G's tensors (`g_ema.0.w`, …), present only when the GAN has one.
pub const EMA_PREFIX: &str = "g_ema";
/// Metadata keys of the average's decay and of the G updates averaged so far.
pub const EMA_DECAY_KEY: &str = "g_ema_decay";
pub const EMA_UPDATES_KEY: &str = "g_ema_updates";
/// Value of the `format` metadata key.
pub const WEIGHTS_FORMAT: &str = "gan-weights/1";

/// Writes both networks' weights and the spec to `path`, atomically.
pub fn save_weights(path: &Path, gan: &Gan) -> Result<()> {
    let bytes = encode_weights(gan)?;
    write_atomic(path, &bytes).with_context(|| format!("saving weights to {}", path.display()))
}

/// Loads weights saved for the same architecture into `gan`. Every tensor's name and shape is
/// checked before anything is copied, so on error `gan` is unchanged; the error names the file
/// and the first offending tensor (`d.1.w: file has [784, 1200], model expects [784, 1000]`).
pub fn load_weights(path: &Path, gan: &mut Gan) -> Result<()> {
    let bytes = read_weights_file(path)?;
    let file = TensorFile::decode(&bytes, path)?;
    let ema = read_ema(&file, &gan.g)
        .with_context(|| format!("loading weights from {}", path.display()))?;
    import_weights(&file, &mut gan.g, &mut gan.d)
        .with_context(|| format!("loading weights from {}", path.display()))?;
    gan.g_ema = ema;
    Ok(())
}

/// Rebuilds a [`Gan`] from a weights file alone: the spec and seed from its metadata, then
/// the weights. Its optimizer states are fresh and its position (step, epoch) is zero: this
/// is a model to sample from or fine-tune, not a run to resume (use a checkpoint for that).
pub fn read_gan(path: &Path) -> Result<Gan> {
    let bytes = read_weights_file(path)?;
    let file = TensorFile::decode(&bytes, path)?;
    let spec = file
        .spec()
        .with_context(|| format!("reading the model spec of {}", path.display()))?;
    let seed = match file.metadata.get("seed") {
        Some(s) => s
            .parse()
            .with_context(|| format!("{}: bad seed `{s}` in metadata", path.display()))?,
        None => 0,
    };
    let mut gan = Gan::try_new(spec, seed).map_err(|e| {
        anyhow!(
            "{}: the spec in its metadata is invalid: {e}",
            path.display()
        )
    })?;
    import_weights(&file, &mut gan.g, &mut gan.d)
        .with_context(|| format!("loading weights from {}", path.display()))?;
    gan.g_ema = read_ema(&file, &gan.g)
        .with_context(|| format!("loading weights from {}", path.display()))?;
    Ok(gan)
}

/// The largest weights file `gan` reads (far above the paper's models, about 10 MB).
pub const MAX_WEIGHTS_BYTES: u64 = 4 << 30;

/// The bytes of a weights file: a regular file (never a FIFO or device, not through a symlink)
/// of at most [`MAX_WEIGHTS_BYTES`].
fn read_weights_file(path: &Path) -> Result<Vec<u8>> {
    crate::safe_fs::read_regular(path, MAX_WEIGHTS_BYTES)
}

/// The step and epoch a weights file's metadata records (None when it records none).
pub(crate) fn saved_position(bytes: &[u8]) -> Option<(u64, u64)> {
    let (_, header) = SafeTensors::read_metadata(bytes).ok()?;
    let meta = header.metadata().as_ref()?;
    let num = |k: &str| meta.get(k)?.parse().ok();
    Some((num("step")?, num("epoch")?))
}

/// The safetensors bytes of [`save_weights`].
pub(crate) fn encode_weights(gan: &Gan) -> Result<Vec<u8>> {
    // `export` wants `&mut` (it walks the parameters mutably); a clone shares the tensors'
    // storage, so this copies no weights beyond the export itself.
    let (mut g, mut d) = (gan.g.clone(), gan.d.clone());
    let mut tensors = prefixed("g", g.export());
    tensors.extend(prefixed("d", d.export()));
    if let Some(e) = &gan.g_ema {
        tensors.extend(prefixed(EMA_PREFIX, e.net.clone().export()));
    }
    let spec = serde_json::to_value(&gan.spec).context("serialising the gan spec")?;
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), WEIGHTS_FORMAT.to_string());
    meta.insert(GAN_SPEC_KEY.to_string(), spec.to_string());
    meta.insert("seed".to_string(), gan.seed.to_string());
    meta.insert("step".to_string(), gan.step.to_string());
    meta.insert("epoch".to_string(), gan.epoch.to_string());
    if let Some(e) = &gan.g_ema {
        meta.insert(EMA_DECAY_KEY.to_string(), e.decay.to_string());
        meta.insert(EMA_UPDATES_KEY.to_string(), e.updates.to_string());
    }
    encode(tensors, meta)
}

/// `name` → `prefix.name`.
pub(crate) fn prefixed(prefix: &str, values: Vec<NamedValues>) -> Vec<NamedValues> {
    values
        .into_iter()
        .map(|v| NamedValues {
            name: format!("{prefix}.{}", v.name),
            ..v
        })
        .collect()
}

/// One f32 tensor, as safetensors wants to see it.
struct F32View<'a>(&'a NamedValues);

impl View for F32View<'_> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        &self.0.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.0.values.iter().flat_map(|v| v.to_le_bytes()).collect())
    }
    fn data_len(&self) -> usize {
        self.0.values.len() * 4
    }
}

/// Serialises named f32 tensors and string metadata to safetensors bytes.
pub(crate) fn encode(tensors: Vec<NamedValues>, meta: HashMap<String, String>) -> Result<Vec<u8>> {
    let views = tensors.iter().map(|t| (t.name.clone(), F32View(t)));
    let bytes = safetensors::serialize(views, &Some(meta)).context("encoding safetensors")?;
    canonical_header(bytes)
}

/// Rewrites the JSON header with sorted keys: safetensors writes the metadata map in hash
/// order, which differs between processes, and the same model must give the same bytes.
fn canonical_header(bytes: Vec<u8>) -> Result<Vec<u8>> {
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    // serde_json's Map is ordered by key (no `preserve_order`), so this sorts every object.
    let header: serde_json::Value =
        serde_json::from_slice(&bytes[8..8 + n]).context("re-reading the safetensors header")?;
    let mut json = serde_json::to_vec(&header)?;
    while json.len() % 8 != 0 {
        json.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + bytes.len() - 8 - n);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}

/// A decoded safetensors file: its f32 tensors by name and its metadata.
pub(crate) struct TensorFile {
    pub tensors: BTreeMap<String, NamedValues>,
    pub metadata: HashMap<String, String>,
}

impl TensorFile {
    /// Parses safetensors bytes read from `path` (named in errors). Only f32 tensors are accepted.
    pub fn decode(bytes: &[u8], path: &Path) -> Result<Self> {
        let st = SafeTensors::deserialize(bytes).map_err(|e| {
            anyhow!(
                "{} is not a valid safetensors file (truncated or corrupt?): {e}",
                path.display()
            )
        })?;
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| anyhow!("{}: bad safetensors header: {e}", path.display()))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let mut tensors = BTreeMap::new();
        for (name, view) in st.tensors() {
            if view.dtype() != Dtype::F32 {
                bail!(
                    "{}: tensor `{name}` is {:?}, expected F32",
                    path.display(),
                    view.dtype()
                );
            }
            let values = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let shape = view.shape().to_vec();
            tensors.insert(
                name.clone(),
                NamedValues {
                    name,
                    shape,
                    values,
                },
            );
        }
        Ok(TensorFile { tensors, metadata })
    }

    /// The [`GanSpec`] in the metadata.
    pub fn spec(&self) -> Result<GanSpec> {
        let text = self
            .metadata
            .get(GAN_SPEC_KEY)
            .with_context(|| format!("no `{GAN_SPEC_KEY}` in the file's metadata"))?;
        let value: serde_json::Value =
            serde_json::from_str(text).with_context(|| format!("`{GAN_SPEC_KEY}` is not JSON"))?;
        serde_json::from_value(value).with_context(|| format!("`{GAN_SPEC_KEY}` is not a gan spec"))
    }

    /// The tensors under `prefix.`, with the prefix removed.
    fn under(&self, prefix: &str) -> BTreeMap<&str, &NamedValues> {
        let p = format!("{prefix}.");
        self.tensors
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(&p).map(|rest| (rest, v)))
            .collect()
    }
}

/// The file's tensors for one network (`prefix` `g` or `d`), checked against `want` (the
/// names and shapes the network expects): every name present with the same shape and no
/// `prefix.` tensor the network lacks. Returned with the prefix removed, in `want`'s order.
pub(crate) fn pick(
    file: &TensorFile,
    prefix: &str,
    want: &[NamedValues],
) -> Result<Vec<NamedValues>> {
    let have = file.under(prefix);
    let mut picked = Vec::with_capacity(want.len());
    for w in want {
        let full = format!("{prefix}.{}", w.name);
        let got = have
            .get(w.name.as_str())
            .with_context(|| format!("{full}: missing from the file"))?;
        if got.shape != w.shape {
            bail!(
                "{full}: file has {:?}, model expects {:?}",
                got.shape,
                w.shape
            );
        }
        picked.push(NamedValues {
            name: w.name.clone(),
            ..(*got).clone()
        });
    }
    if let Some(extra) = have.keys().find(|k| !want.iter().any(|w| w.name == **k)) {
        bail!("{prefix}.{extra}: in the file but not in the model");
    }
    Ok(picked)
}

/// Loads a file's `g.`/`d.` tensors into both networks, checking both before changing either.
pub(crate) fn import_weights(file: &TensorFile, g: &mut Network, d: &mut Network) -> Result<()> {
    let gv = pick(file, "g", &g.export())?;
    let dv = pick(file, "d", &d.export())?;
    // Cannot fail after the checks above; an error is still reported rather than unwrapped.
    g.try_import(&gv).map_err(|e| anyhow!("g: {e}"))?;
    d.try_import(&dv).map_err(|e| anyhow!("d: {e}"))?;
    Ok(())
}

/// The averaged G a file holds (None for a file without one, as every file from before the
/// feature): its `g_ema.` tensors checked against G's names and shapes and for finite values,
/// and its decay and update count from the metadata. `g` is the architecture to fill.
pub(crate) fn read_ema(file: &TensorFile, g: &Network) -> Result<Option<GEma>> {
    let has_tensors = !file.under(EMA_PREFIX).is_empty();
    let has_meta = [EMA_DECAY_KEY, EMA_UPDATES_KEY]
        .iter()
        .any(|k| file.metadata.contains_key(*k));
    if !has_tensors && !has_meta {
        return Ok(None);
    }
    let meta = |key: &str| {
        file.metadata.get(key).with_context(|| {
            format!("the file holds an averaged G but its metadata has no `{key}`")
        })
    };
    let decay: f64 = meta(EMA_DECAY_KEY)?
        .parse()
        .ok()
        .and_then(|d| GEma::try_decay(d, EMA_DECAY_KEY).ok())
        .with_context(|| {
            format!(
                "metadata `{EMA_DECAY_KEY}` is `{}`, not a number in [0, 1)",
                file.metadata[EMA_DECAY_KEY]
            )
        })?;
    let updates: u64 = meta(EMA_UPDATES_KEY)?.parse().with_context(|| {
        format!(
            "metadata `{EMA_UPDATES_KEY}` is `{}`, not a count",
            file.metadata[EMA_UPDATES_KEY]
        )
    })?;
    let mut ema = GEma::start(g, decay);
    ema.updates = updates;
    let values = pick(file, EMA_PREFIX, &ema.net.export())?;
    for v in &values {
        if let Some(bad) = v.values.iter().find(|x| !x.is_finite()) {
            bail!("{EMA_PREFIX}.{}: holds the non-finite value {bad}", v.name);
        }
    }
    ema.net
        .try_import(&values)
        .map_err(|e| anyhow!("{EMA_PREFIX}: {e}"))?;
    Ok(Some(ema))
}
