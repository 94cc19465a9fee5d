//! Picking a run up from its checkpoints: `gan resume RUN_DIR` runs the run's recipe copy again
//! and each GAN's `fit` continues from the newest checkpoint it finds; `resume(gan)` in a script
//! does the same for one GAN, on demand.
//!
//! Each checkpoint `fit` saves records (in its manifest's `extra`) which call of `fit` on that
//! GAN it was taken in (`fit_index`) and how many lines the GAN's metrics file had then
//! (`metrics_lines`). On resume, a GAN's fits before the checkpoint's are replayed quietly
//! (training is deterministic, so the script between fits sees exactly what it saw the first
//! time; metrics lines and checkpoints, already on disk, are not written again), the fit the
//! checkpoint belongs to loads it, truncates the metrics file to the recorded length and goes on.

use std::collections::HashMap;
use std::fs;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use rhai::{Engine, INT};

use super::host::Host;
use super::options::{err, RhaiResult};
use super::values::{GanCell, GanHandle};
use crate::checkpoint::{latest_checked, remove_stale_temps, Checkpoint, Manifest};
use crate::engine::{EpochMetrics, GanSpec};

/// `checkpoints/` for the first GAN, `checkpoints_<name>/` for the others.
pub fn checkpoint_dir_name(gan: &str) -> String {
    if gan == "gan" {
        "checkpoints".to_string()
    } else {
        format!("checkpoints_{gan}")
    }
}

/// What a GAN's checkpoint says about where the original run was.
#[derive(Clone, Debug)]
pub struct Found {
    pub path: PathBuf,
    /// The call of `fit` (1-based) the checkpoint was taken in; 1 for checkpoints without it.
    pub fit_index: u64,
    pub epoch: u64,
    pub step: u64,
}

/// How one GAN's fits behave in a resumed run.
#[derive(Clone, Debug)]
enum Plan {
    /// No checkpoint (or already loaded): fits run normally.
    Normal,
    /// Fits before `found.fit_index` replay quietly; that fit loads the checkpoint.
    Continue(Found),
}

/// Per-GAN resume plans of a `gan resume` session, made at each GAN's first fit.
#[derive(Debug, Default)]
pub struct ResumeState {
    plans: HashMap<String, Plan>,
}

/// What one call of `fit` does in a resumed run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FitMode {
    /// Train and write outputs as usual.
    Normal,
    /// Train without appending metrics lines or saving checkpoints: the original run did.
    Replay,
    /// Load this checkpoint first, then train as usual.
    Load(PathBuf),
}

/// Decides what call `fit_index` of `fit` on GAN `name` does. Outside `gan resume`, always
/// [`FitMode::Normal`]. The first call for a GAN looks for its checkpoints; with none, its
/// metrics file (lines from the interrupted run) is emptied, as the GAN starts over.
pub fn fit_mode(host: &Host, name: &str, fit_index: u64) -> Result<FitMode> {
    let mut guard = host.resume.lock().unwrap();
    let Some(state) = guard.as_mut() else {
        return Ok(FitMode::Normal);
    };
    if !state.plans.contains_key(name) {
        let plan = match find(host, name)? {
            Some(f) => {
                host.sink.text(&format!(
                    "resuming `{name}` from {} (epoch {}, step {})",
                    f.path.display(),
                    f.epoch,
                    f.step
                ));
                Plan::Continue(f)
            }
            None => {
                if let Some(run) = &host.run {
                    let metrics = run.resolve(&Host::per_gan(name, "metrics", "jsonl"))?;
                    if metrics.exists() {
                        truncate_lines(&metrics, 0)?;
                    }
                }
                host.sink.text(&format!(
                    "`{name}` has no checkpoint: training it from the start"
                ));
                Plan::Normal
            }
        };
        state.plans.insert(name.to_string(), plan);
    }
    let plan = state.plans.get_mut(name).expect("inserted above");
    Ok(match plan {
        Plan::Normal => FitMode::Normal,
        Plan::Continue(f) if fit_index < f.fit_index => FitMode::Replay,
        Plan::Continue(f) => {
            if fit_index > f.fit_index {
                // Cannot happen with the same recipe: the checkpoint's fit was skipped.
                bail!(
                    "resume: {} was taken in call {} of fit on `{name}`, but the recipe went past it (call {fit_index})",
                    f.path.display(),
                    f.fit_index
                );
            }
            let path = f.path.clone();
            *plan = Plan::Normal;
            FitMode::Load(path)
        }
    })
}

/// Marks GAN `name` as resumed (a script's `resume(gan)` did it): its later fits run normally.
fn mark_loaded(host: &Host, name: &str) {
    if let Some(state) = host.resume.lock().unwrap().as_mut() {
        state.plans.insert(name.to_string(), Plan::Normal);
    }
}

/// The newest complete checkpoint of GAN `name` in the run directory, if any. Temporary
/// directories a killed run left behind are deleted first.
pub fn find(host: &Host, name: &str) -> Result<Option<Found>> {
    let Some(run) = &host.run else {
        return Ok(None);
    };
    let dir = run.resolve(&checkpoint_dir_name(name))?;
    if !dir.exists() {
        return Ok(None);
    }
    remove_stale_temps(&dir)?;
    let Some(path) = latest_checked(&dir)? else {
        return Ok(None);
    };
    let m = Checkpoint::verify(&path)?;
    Ok(Some(Found {
        fit_index: m
            .extra
            .get("fit_index")
            .and_then(|v| v.as_u64())
            .unwrap_or(1),
        epoch: m.epoch,
        step: m.step,
        path,
    }))
}

/// Loads the checkpoint at `path` into `cell`: the recorded spec and seed must be the GAN's own.
/// The GAN's metrics file is cut back to the lines it had when the checkpoint was taken and its
/// history is rebuilt from them.
pub fn load_into(host: &Host, cell: &mut GanCell, path: &Path) -> Result<Manifest> {
    let (mut gan, m) = Checkpoint::load(path)?;
    gan.path = cell.gan.path;
    if let Some(what) = spec_difference(&cell.gan.spec, &m.gan_spec) {
        bail!(
            "{} does not fit the recipe's GAN `{}`: {what}. The recipe changed since the checkpoint was saved; \
             restore it, or start a new run",
            path.display(),
            cell.name
        );
    }
    if gan.seed != cell.gan.seed {
        bail!(
            "{} was saved with seed {}, but the recipe's GAN `{}` has seed {}; resume with the run's seed (`gan resume` records it)",
            path.display(),
            gan.seed,
            cell.name,
            cell.gan.seed
        );
    }
    let mut history = Vec::new();
    if let Some(run) = &host.run {
        let file = run.resolve(&Host::per_gan(&cell.name, "metrics", "jsonl"))?;
        let keep = m
            .extra
            .get("metrics_lines")
            .and_then(|v| v.as_u64())
            .unwrap_or(m.epoch) as usize;
        if file.exists() {
            let have = truncate_lines(&file, keep)?;
            if have < keep {
                host.sink.text(&format!(
                    "note: {} has {have} lines, the checkpoint recorded {keep}",
                    file.display()
                ));
            }
            history = read_history(&file)?;
        }
    }
    cell.gan = gan;
    cell.history = history;
    Ok(m)
}

/// The first difference between a recipe's spec and a checkpoint's, in words.
fn spec_difference(recipe: &GanSpec, saved: &GanSpec) -> Option<String> {
    let d = super::api_stack::describe;
    if recipe.g != saved.g {
        return Some(format!(
            "the recipe's G is {}, the checkpoint's is {}",
            d(&recipe.g),
            d(&saved.g)
        ));
    }
    if recipe.d != saved.d {
        return Some(format!(
            "the recipe's D is {}, the checkpoint's is {}",
            d(&recipe.d),
            d(&saved.d)
        ));
    }
    if recipe.loss != saved.loss {
        return Some(format!(
            "the recipe's loss is {}, the checkpoint's is {}",
            recipe.loss.name(),
            saved.loss.name()
        ));
    }
    if recipe.scheme != saved.scheme {
        return Some(format!(
            "the recipe's update scheme is {:?}, the checkpoint's is {:?}",
            recipe.scheme, saved.scheme
        ));
    }
    if recipe.noise != saved.noise {
        return Some(format!(
            "the recipe's noise is {:?}, the checkpoint's is {:?}",
            recipe.noise, saved.noise
        ));
    }
    if recipe != saved {
        return Some("the recipe's init_bias_from_marginals differs from the checkpoint's".into());
    }
    None
}

/// The most a run's metrics file may hold when read back (a line is ~300 bytes: millions of
/// epochs fit). A received run directory may hold anything under that name: it is read as a
/// bounded regular file, never through a symlink and never blocking on a FIFO.
const MAX_METRICS_BYTES: u64 = 1 << 30;

fn open_metrics(path: &Path) -> Result<fs::File> {
    let (f, len) = crate::safe_fs::open_regular(path)?;
    if len > MAX_METRICS_BYTES {
        bail!(
            "{}: {len} bytes, more than the {MAX_METRICS_BYTES} a metrics file may have",
            path.display()
        );
    }
    Ok(f)
}

fn read_metrics(path: &Path) -> Result<Vec<u8>> {
    crate::safe_fs::read_regular(path, MAX_METRICS_BYTES)
}

/// Keeps the first `n` lines of `path` (atomically); returns how many lines it had, up to `n`.
pub fn truncate_lines(path: &Path, n: usize) -> Result<usize> {
    let f = open_metrics(path)?;
    let mut kept = Vec::new();
    let mut count = 0;
    let mut reader = std::io::BufReader::new(f);
    let mut line = Vec::new();
    while count < n {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("reading {}", path.display()))?;
        if read == 0 {
            break;
        }
        if !line.ends_with(b"\n") {
            break; // a line cut short by a crash is not a line
        }
        kept.extend_from_slice(&line);
        count += 1;
    }
    crate::safe_fs::write_atomic(path, &kept)?;
    Ok(count)
}

/// Every line of a metrics file as epoch metrics.
fn read_history(path: &Path) -> Result<Vec<EpochMetrics>> {
    let text = String::from_utf8(read_metrics(path)?)
        .map_err(|_| anyhow!("{}: not UTF-8 text", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| anyhow!("{}:{}: not a metrics line: {e}", path.display(), i + 1))
        })
        .collect()
}

/// Number of complete lines in `path` (0 if it does not exist).
pub fn count_lines(path: &Path) -> Result<u64> {
    if !path.exists() {
        return Ok(0);
    }
    let bytes = read_metrics(path)?;
    Ok(bytes.iter().filter(|&&b| b == b'\n').count() as u64)
}

/// `resume(gan)` / `gan.resume()`: loads the GAN's newest checkpoint from the run directory
/// (its metrics file and history are cut back to match) and returns the epochs it has
/// completed; 0 when there is no checkpoint (nothing changes then).
fn resume_gan(host: &Host, gan: &GanHandle) -> RhaiResult<INT> {
    let mut c = gan.lock();
    let name = c.name.clone();
    if host.run.is_none() {
        return err("resume(): this session has no run directory to find checkpoints in");
    }
    let found = find(host, &name).or_else(|e| err(format!("resume(): {e:#}")))?;
    let Some(f) = found else {
        return Ok(0);
    };
    load_into(host, &mut c, &f.path).or_else(|e| err(format!("resume(): {e:#}")))?;
    mark_loaded(host, &name);
    host.sink.text(&format!(
        "resumed `{name}` from {} (epoch {}, step {})",
        f.path.display(),
        f.epoch,
        f.step
    ));
    Ok(c.gan.epoch as INT)
}

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    let h = host.clone();
    engine.register_fn("resume", move |gan: GanHandle| resume_gan(&h, &gan));
}
