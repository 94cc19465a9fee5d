//! Datasets: `mnist("train")`, `fashion_mnist("train")`, `cifar10("train")`, `gaussian_1d(…)`,
//! `ring(8)`, `grid(25)`, `image_folder(…)`; their labels, shapes and pixel ranges.

use std::path::{Component, Path};
use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, Map, FLOAT, INT};

use serde::{Deserialize, Serialize};

use super::host::Host;
use super::option_struct::{self, Count, Number};
use super::options::{err, RhaiResult};
use super::values::{DataHandle, Samples};
use crate::data::image_folder::MAX_IMAGE_SIDE;
use crate::data::{self, ColorMode, Dataset, Gcn, PixelRange, MAX_MODES, MAX_TOY_ROWS};
use crate::engine::rng::{stream, Purpose};
use rand::Rng;

/// Seeds toy data from the script's seed, so `seed(…)` decides the data too.
fn toy_seed(host: &Host, salt: u64) -> u64 {
    stream(host.seed(), Purpose::Data, salt).gen()
}

fn count(what: &str, n: INT) -> RhaiResult<usize> {
    if n <= 0 {
        return err(format!("{what} must be a positive integer, got {n}"));
    }
    Ok(n as usize)
}

/// A row count of a toy generator, refused above [`MAX_TOY_ROWS`] before anything is
/// allocated (a typo like `1000000000000` would otherwise abort the process). `arg` says how
/// the user gave it: `n` (an argument) or ``option `n` `` (a key of the options map).
fn toy_rows(call: &str, arg: &str, n: INT) -> RhaiResult<usize> {
    if n <= 0 {
        return err(format!("{call}: {arg} must be a positive integer, got {n}"));
    }
    if n as u64 > MAX_TOY_ROWS as u64 {
        return err(format!(
            "{call}: {arg} = {n} rows is more than the limit of {MAX_TOY_ROWS}; refusing to allocate"
        ));
    }
    // at most 2 features and a label per row, as f32
    super::budget::reserve(n as u128 * 12, call)?;
    Ok(n as usize)
}

/// A mixture's number of modes, at most [`MAX_MODES`] (labels are bytes).
fn modes_arg(call: &str, modes: INT) -> RhaiResult<usize> {
    let m = count("modes", modes)?;
    if m > MAX_MODES {
        return err(format!(
            "{call}: modes = {m} is more than the limit of {MAX_MODES}"
        ));
    }
    Ok(m)
}

fn handle(r: anyhow::Result<Dataset>) -> RhaiResult<DataHandle> {
    r.map(|d| DataHandle(Arc::new(d)))
        .or_else(|e| err(format!("{e:#}")))
}

/// `ring(modes, #{…})`'s options: the paper-style toy mixture's geometry and size.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RingOptions {
    radius: Number,
    /// Each mode's standard deviation.
    std: Number,
    /// Rows.
    n: INT,
}

impl Default for RingOptions {
    fn default() -> Self {
        RingOptions {
            radius: Number(2.0),
            std: Number(0.02),
            n: 10_000,
        }
    }
}

/// `grid(modes, #{…})`'s options.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct GridOptions {
    /// Distance between neighbouring modes.
    spacing: Number,
    std: Number,
    n: INT,
}

impl Default for GridOptions {
    fn default() -> Self {
        GridOptions {
            spacing: Number(2.0),
            std: Number(0.02),
            n: 10_000,
        }
    }
}

const MAX_SIDE: u64 = MAX_IMAGE_SIDE as u64;

/// `image_folder(path, #{…})`'s options: every image is resized to width × height.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ImageFolderOptions {
    width: Count<1, MAX_SIDE>,
    /// Absent: the width.
    height: Option<Count<1, MAX_SIDE>>,
    /// "gray" (or "grey") or "rgb", any case.
    color: String,
}

impl Default for ImageFolderOptions {
    fn default() -> Self {
        ImageFolderOptions {
            width: Count(28),
            height: None,
            color: "gray".into(),
        }
    }
}

/// `gcn(#{…})`'s options, defaulting to [`Gcn::default`] (pylearn2's).
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct GcnOptions {
    scale: Number,
    subtract_mean: bool,
    use_std: bool,
    sqrt_bias: Number,
    min_divisor: Number,
}

impl Default for GcnOptions {
    fn default() -> Self {
        let p = Gcn::default();
        GcnOptions {
            scale: Number(p.scale),
            subtract_mean: p.subtract_mean,
            use_std: p.use_std,
            sqrt_bias: Number(p.sqrt_bias),
            min_divisor: Number(p.min_divisor),
        }
    }
}

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    engine.register_type_with_name::<DataHandle>("Dataset");
    let h = host.clone();
    engine.register_fn("gaussian_1d", move |mean: FLOAT, std: FLOAT| {
        handle(data::try_gaussian_1d(mean, std, 10_000, toy_seed(&h, 1)))
    });
    let h = host.clone();
    engine.register_fn("gaussian_1d", move |mean: FLOAT, std: FLOAT, n: INT| {
        handle(data::try_gaussian_1d(
            mean,
            std,
            toy_rows("gaussian_1d()", "n", n)?,
            toy_seed(&h, 1),
        ))
    });
    let h = host.clone();
    engine.register_fn("ring", move |modes: INT| {
        handle(data::try_ring_2d(
            modes_arg("ring(modes)", modes)?,
            2.0,
            0.02,
            10_000,
            toy_seed(&h, 2),
        ))
    });
    let h = host.clone();
    engine.register_fn(
        "ring",
        move |modes: INT, opts: Map| -> RhaiResult<DataHandle> {
            let o: RingOptions = option_struct::parse(&opts, "ring()")?;
            let n = toy_rows("ring()", "option `n`", o.n)?;
            handle(data::try_ring_2d(
                modes_arg("ring(modes)", modes)?,
                o.radius.0,
                o.std.0,
                n,
                toy_seed(&h, 2),
            ))
        },
    );
    let grid = |modes: INT| -> RhaiResult<usize> {
        let side = (modes as f64).sqrt().round() as INT;
        if modes <= 0 || side.checked_mul(side) != Some(modes) {
            return err(format!(
                "grid(modes) needs a square number of modes (e.g. 25), got {modes}"
            ));
        }
        modes_arg("grid(modes)", modes)?;
        Ok(side as usize)
    };
    let h = host.clone();
    engine.register_fn("grid", move |modes: INT| {
        handle(data::try_grid_2d(
            grid(modes)?,
            2.0,
            0.02,
            10_000,
            toy_seed(&h, 3),
        ))
    });
    let h = host.clone();
    engine.register_fn(
        "grid",
        move |modes: INT, opts: Map| -> RhaiResult<DataHandle> {
            let o: GridOptions = option_struct::parse(&opts, "grid()")?;
            let n = toy_rows("grid()", "option `n`", o.n)?;
            handle(data::try_grid_2d(
                grid(modes)?,
                o.spacing.0,
                o.std.0,
                n,
                toy_seed(&h, 3),
            ))
        },
    );
    let h = host.clone();
    engine.register_fn(
        "image_folder",
        move |path: &str, opts: Map| -> RhaiResult<DataHandle> {
            let o: ImageFolderOptions = option_struct::parse(&opts, "image_folder()")?;
            let w: u32 = o.width.try_get("width", "image_folder()")?;
            let hgt: u32 = match o.height {
                Some(h) => h.try_get("height", "image_folder()")?,
                None => w,
            };
            let color: ColorMode = o
                .color
                .parse()
                .or_else(|e| err(format!("option `color` of image_folder(): {e}")))?;
            let (root, from) = image_root(&h.config.data_dir);
            let dir = inside(&root, path)?;
            let files = data::image_folder::list_image_files(&dir).map_or(0, |f| f.len()) as u128;
            let per_image = w as u128 * hgt as u128 * color.channels() as u128;
            super::budget::reserve(files * per_image * 4, "image_folder()")?;
            handle(data::load_image_folder(&dir, w, hgt, color).map_err(|e| {
                e.context(format!(
                    "image_folder(\"{path}\"): looked in {} ({from})",
                    dir.display()
                ))
            }))
        },
    );

    engine.register_get("rows", |d: &mut DataHandle| d.0.rows() as INT);
    engine.register_get("dim", |d: &mut DataHandle| d.0.dim as INT);
    engine.register_get("name", |d: &mut DataHandle| d.0.name.clone());
    engine.register_get("labels", |d: &mut DataHandle| -> Dynamic {
        match d.0.labels() {
            Some(l) => l
                .iter()
                .map(|&v| Dynamic::from(v as INT))
                .collect::<Array>()
                .into(),
            None => Dynamic::UNIT,
        }
    });
    engine.register_get("shape", |d: &mut DataHandle| -> Array {
        match d.0.image_chw() {
            Some(chw) => chw.iter().map(|&v| Dynamic::from(v as INT)).collect(),
            None => vec![Dynamic::from(d.0.dim as INT)],
        }
    });
    engine.register_get("range", |d: &mut DataHandle| -> Dynamic {
        d.0.image.map_or(Dynamic::UNIT, |s| s.range.name().into())
    });
    engine.register_fn(
        "gcn",
        |d: &mut DataHandle, scale: FLOAT| -> RhaiResult<DataHandle> {
            gcn(
                &d.0,
                Gcn {
                    scale,
                    ..Gcn::default()
                },
            )
        },
    );
    engine.register_fn(
        "gcn",
        |d: &mut DataHandle, scale: INT| -> RhaiResult<DataHandle> {
            gcn(
                &d.0,
                Gcn {
                    scale: scale as f64,
                    ..Gcn::default()
                },
            )
        },
    );
    engine.register_fn(
        "gcn",
        |d: &mut DataHandle, opts: Map| -> RhaiResult<DataHandle> {
            let o: GcnOptions = option_struct::parse(&opts, "gcn()")?;
            gcn(
                &d.0,
                Gcn {
                    scale: o.scale.0,
                    subtract_mean: o.subtract_mean,
                    use_std: o.use_std,
                    sqrt_bias: o.sqrt_bias.0,
                    min_divisor: o.min_divisor.0,
                },
            )
        },
    );
    engine.register_fn("mean", |d: &mut DataHandle| d.0.mean());
    engine.register_fn("std", |d: &mut DataHandle| d.0.std());
    engine.register_fn(
        "slice",
        |d: &mut DataHandle, a: INT, b: INT| -> RhaiResult<DataHandle> {
            if a < 0 || b < a {
                return err(format!("slice({a}, {b}): need 0 ≤ start ≤ end"));
            }
            super::budget::reserve(copied(&d.0, a, b), "slice()")?;
            d.0.try_slice(a as usize..b as usize)
                .map(|s| DataHandle(Arc::new(s)))
                .or_else(|e| err(format!("{e:#}")))
        },
    );
    engine.register_fn(
        "rows_of",
        |d: &mut DataHandle, a: INT, b: INT| -> RhaiResult<Samples> {
            if a < 0 || b < a {
                return err(format!("rows_of({a}, {b}): need 0 ≤ start ≤ end"));
            }
            super::budget::reserve(copied(&d.0, a, b), "rows_of()")?;
            let s =
                d.0.try_slice(a as usize..b as usize)
                    .or_else(|e| err(format!("{e:#}")))?;
            Ok(Samples {
                x: Arc::new(s.x),
                dim: s.dim,
                image: s.image,
            })
        },
    );
    engine.register_fn("to_string", |d: &mut DataHandle| describe(&d.0));
    engine.register_fn("to_debug", |d: &mut DataHandle| describe(&d.0));
}

/// `d`, globally contrast-normalised (a copy, reserved against the memory limit first).
fn gcn(d: &Dataset, p: Gcn) -> RhaiResult<DataHandle> {
    super::budget::reserve(d.x.len() as u128 * 4, "gcn()")?;
    handle(d.try_gcn(&p))
}

/// `d` with its pixels in `range` (the same data when they already are).
pub(super) fn in_range(d: Arc<Dataset>, range: PixelRange, call: &str) -> RhaiResult<DataHandle> {
    if d.image.map(|s| s.range) == Some(range) {
        return Ok(DataHandle(d));
    }
    super::budget::reserve(d.x.len() as u128 * 4, call)?;
    handle(d.try_with_range(range))
}

/// Bytes a copy of rows `a..b` of `d` takes (rows past the end are not copied).
fn copied(d: &Dataset, a: INT, b: INT) -> u128 {
    let rows = (b.min(d.rows() as INT) - a).max(0) as u128;
    rows * d.dim as u128 * 4
}

fn describe(d: &Dataset) -> String {
    match d.image {
        Some(i) => format!(
            "{}: {} images {}×{}×{} (channels × height × width), {}",
            d.name,
            d.rows(),
            i.channels,
            i.height,
            i.width,
            i.range
        ),
        None => format!("{}: {} rows × {} features", d.name, d.rows(), d.dim),
    }
}

/// Resolves `rel` inside `root`: recipes read only from the data directory.
/// Where `image_folder` paths start, and why there: `$GAN_IMAGES_DIR` gives image data sets a
/// root of their own; without it they are read from the data directory, as MNIST is.
fn image_root(data_dir: &Path) -> (std::path::PathBuf, String) {
    match std::env::var_os("GAN_IMAGES_DIR").filter(|v| !v.is_empty()) {
        Some(d) => (d.into(), "the image root GAN_IMAGES_DIR".into()),
        None => (
            data_dir.to_path_buf(),
            format!(
                "inside the data directory {}; set GAN_IMAGES_DIR to give image folders their own root",
                data_dir.display()
            ),
        ),
    }
}

fn inside(root: &Path, rel: &str) -> RhaiResult<std::path::PathBuf> {
    let p = Path::new(rel);
    if p.components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return err(format!(
            "`{rel}`: recipes read only inside the data directory (no absolute paths or `..`)"
        ));
    }
    let full = root.join(p);
    if let (Ok(real), Ok(base)) = (full.canonicalize(), root.canonicalize()) {
        if !real.starts_with(&base) {
            return err(format!("`{rel}` leads outside the data directory"));
        }
    }
    Ok(full)
}
