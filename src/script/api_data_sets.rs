//! The file-backed data sets: `mnist(split)`, `fashion_mnist(split)`, `cifar10(split)`, each
//! optionally with `#{range: "unit" | "symmetric"}`. A split is read from disk once per session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rhai::{Engine, Map};

use super::api_data::in_range;
use super::host::Host;
use serde::{Deserialize, Serialize};

use super::option_struct;
use super::options::{err, RhaiResult};
use super::values::DataHandle;
use crate::data::cifar10::{self, CifarSplit};
use crate::data::mnist::{declared_set_pixels, load_idx_set};
use crate::data::{Dataset, MnistSplit, PixelRange, FASHION_MNIST};

/// Loaded splits by `<set>/<split>`, shared by every call of one engine.
type Cache = Arc<Mutex<HashMap<String, Arc<Dataset>>>>;

/// The options of the data set loaders.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct SetOptions {
    /// Pixel values in "unit" [0, 1] or "symmetric" [-1, 1] (see [`PixelRange`]).
    range: String,
}

impl Default for SetOptions {
    fn default() -> Self {
        SetOptions {
            range: "unit".into(),
        }
    }
}

/// The pixel range an options map asks for.
fn range_of(opts: &Map, call: &'static str) -> RhaiResult<PixelRange> {
    let o: SetOptions = option_struct::parse(opts, call)?;
    o.range
        .parse()
        .or_else(|e| err(format!("option `range` of {call}: {e:#}")))
}

/// `key`'s dataset from the cache, or `load`ed (after reserving `bytes`) and cached.
fn cached(
    cache: &Cache,
    key: String,
    bytes: u128,
    what: &str,
    load: impl FnOnce() -> anyhow::Result<Dataset>,
) -> RhaiResult<Arc<Dataset>> {
    if let Some(d) = cache.lock().unwrap().get(&key) {
        return Ok(d.clone());
    }
    super::budget::reserve(bytes, what)?;
    let d = Arc::new(load().or_else(|e| err(format!("{e:#}")))?);
    cache.lock().unwrap().insert(key, d.clone());
    Ok(d)
}

fn fashion(h: &Host, cache: &Cache, split: &str) -> RhaiResult<Arc<Dataset>> {
    let s: MnistSplit = split
        .parse()
        .or_else(|e| err(format!("fashion_mnist(): {e}")))?;
    let dir = FASHION_MNIST.locate(&h.config.data_dir);
    // The inflated bytes and each pixel as an f32; an unreadable header is left to the loader.
    let pixels = declared_set_pixels(&FASHION_MNIST, &dir, s).map_or(0, |(_, n)| n);
    let what = format!("fashion_mnist(\"{split}\") ({})", dir.display());
    cached(
        cache,
        format!("fashion-mnist/{s}"),
        pixels as u128 * 5,
        &what,
        || load_idx_set(&FASHION_MNIST, &dir, s),
    )
}

fn cifar(h: &Host, cache: &Cache, split: &str) -> RhaiResult<Arc<Dataset>> {
    let s: CifarSplit = split
        .parse()
        .or_else(|e| err(format!("cifar10(): {e:#}")))?;
    let dir = cifar10::cifar10_dir(&h.config.data_dir);
    // Each byte becomes an f32; one file's bytes are held while it is converted.
    let bytes = cifar10::declared_bytes(&dir, s) as u128 * 4 + cifar10::FILE_BYTES as u128;
    let what = format!("cifar10(\"{split}\") ({})", dir.display());
    cached(cache, format!("cifar10/{s}"), bytes, &what, || {
        cifar10::load_cifar10(&dir, s)
    })
}

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    let h = host.clone();
    engine.register_fn("mnist", move |split: &str| -> RhaiResult<DataHandle> {
        h.mnist(split)
            .map(DataHandle)
            .or_else(|e| err(format!("{e:#}")))
    });
    let h = host.clone();
    engine.register_fn(
        "mnist",
        move |split: &str, opts: Map| -> RhaiResult<DataHandle> {
            let range = range_of(&opts, "mnist()")?;
            let d = h.mnist(split).or_else(|e| err(format!("{e:#}")))?;
            in_range(d, range, "mnist()")
        },
    );
    let cache: Cache = Cache::default();
    let (h, c) = (host.clone(), cache.clone());
    engine.register_fn("fashion_mnist", move |split: &str| {
        fashion(&h, &c, split).map(DataHandle)
    });
    let (h, c) = (host.clone(), cache.clone());
    engine.register_fn(
        "fashion_mnist",
        move |split: &str, opts: Map| -> RhaiResult<DataHandle> {
            let range = range_of(&opts, "fashion_mnist()")?;
            in_range(fashion(&h, &c, split)?, range, "fashion_mnist()")
        },
    );
    let (h, c) = (host.clone(), cache.clone());
    engine.register_fn("cifar10", move |split: &str| {
        cifar(&h, &c, split).map(DataHandle)
    });
    let (h, c) = (host.clone(), cache);
    engine.register_fn(
        "cifar10",
        move |split: &str, opts: Map| -> RhaiResult<DataHandle> {
            let range = range_of(&opts, "cifar10()")?;
            in_range(cifar(&h, &c, split)?, range, "cifar10()")
        },
    );
}
