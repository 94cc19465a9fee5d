//! Picking a run up from its checkpoints: `gan resume RUN_DIR` runs the run's recipe copy again
//! and each GAN's first fit continues from the newest checkpoint it finds.
//!
//! Each checkpoint a fit saves records (in its manifest's `extra`) which call of `fit` on that
//! GAN it was taken in (`fit_index`) and how many lines the GAN's metrics file had then
//! (`metrics_lines`). On resume, a GAN's fits before the checkpoint's are replayed quietly
//! (training is deterministic, so the code between fits sees exactly what it saw the first
//! time; metrics lines and checkpoints, already on disk, are not written again), the fit the
//! checkpoint belongs to loads it, truncates the metrics file to the recorded length and goes on.

use std::path::Path;

use anyhow::{bail, Result};

use super::metrics_file::{read_history, truncate_lines};
use super::plans::{FitMode, Found, Plan};
use super::run::{checkpoint_dir_name, per_gan, Run};
use crate::checkpoint::{latest_checked, remove_stale_temps, Checkpoint, Manifest};
use crate::engine::{EpochMetrics, Gan, GanSpec, StackSpec};

/// Decides what call `fit_index` of `fit` on GAN `name` does. Outside a resumed run, always
/// [`FitMode::Normal`]. The first call for a GAN looks for its checkpoints; with none, its
/// metrics file (lines from the interrupted run) is emptied, as the GAN starts over.
pub fn fit_mode(run: &Run, name: &str, fit_index: u64) -> Result<FitMode> {
    let mut guard = run.resume.lock().unwrap();
    let Some(state) = guard.as_mut() else {
        return Ok(FitMode::Normal);
    };
    if !state.plans.contains_key(name) {
        let plan = match find(run, name)? {
            Some(f) => {
                run.sink.text(&format!(
                    "resuming `{name}` from {} (epoch {}, step {})",
                    f.path.display(),
                    f.epoch,
                    f.step
                ));
                Plan::Continue(f)
            }
            None => {
                if let Some(metrics) = run.resolve(&per_gan(name, "metrics", "jsonl"))? {
                    if metrics.exists() {
                        truncate_lines(&metrics, 0)?;
                    }
                }
                run.sink.text(&format!(
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

/// Marks GAN `name` as resumed (loaded on demand): its later fits run normally.
pub fn mark_loaded(run: &Run, name: &str) {
    if let Some(state) = run.resume.lock().unwrap().as_mut() {
        state.plans.insert(name.to_string(), Plan::Normal);
    }
}

/// The newest complete checkpoint of GAN `name` in the run directory, if any. Temporary
/// directories a killed run left behind are deleted first.
pub fn find(run: &Run, name: &str) -> Result<Option<Found>> {
    let Some(dir) = run.resolve(&checkpoint_dir_name(name))? else {
        return Ok(None);
    };
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

/// Loads the checkpoint at `path` into GAN `name` (`gan`, `history`): the recorded spec and seed
/// must be the GAN's own. The GAN's metrics file is cut back to the lines it had when the
/// checkpoint was taken and its history is rebuilt from them.
pub fn load_into(
    run: &Run,
    name: &str,
    gan: &mut Gan,
    history: &mut Vec<EpochMetrics>,
    path: &Path,
) -> Result<Manifest> {
    let (mut loaded, m) = Checkpoint::load(path)?;
    // The engine path is the session's choice, not the checkpoint's.
    loaded.path = gan.path;
    if let Some(what) = spec_difference(&gan.spec, &m.gan_spec) {
        bail!(
            "{} does not fit the recipe's GAN `{name}`: {what}. The recipe changed since the checkpoint was saved; \
             restore it, or start a new run",
            path.display(),
        );
    }
    if loaded.seed != gan.seed {
        bail!(
            "{} was saved with seed {}, but the recipe's GAN `{name}` has seed {}; resume with the run's seed (`gan resume` records it)",
            path.display(),
            loaded.seed,
            gan.seed
        );
    }
    let mut read = Vec::new();
    if let Some(file) = run.resolve(&per_gan(name, "metrics", "jsonl"))? {
        let keep = m
            .extra
            .get("metrics_lines")
            .and_then(|v| v.as_u64())
            .unwrap_or(m.epoch) as usize;
        if file.exists() {
            let have = truncate_lines(&file, keep)?;
            if have < keep {
                run.sink.text(&format!(
                    "note: {} has {have} lines, the checkpoint recorded {keep}",
                    file.display()
                ));
            }
            read = read_history(&file)?;
        }
    }
    *gan = loaded;
    *history = read;
    Ok(m)
}

/// A stack in one line: `stack(784).dropout(0.8).maxout(240, 5)…  → 10 outputs, … parameters`.
pub fn describe_stack(s: &StackSpec) -> String {
    let mut out = format!("stack({})", s.input);
    for l in &s.layers {
        out.push('.');
        out.push_str(&l.name());
    }
    match s.try_output() {
        Ok(o) => out.push_str(&format!("  → {o} outputs, {} parameters", s.param_count())),
        Err(_) => out.push_str("  → ? outputs, ? parameters"),
    }
    out
}

/// The first difference between a recipe's spec and a checkpoint's, in words.
fn spec_difference(recipe: &GanSpec, saved: &GanSpec) -> Option<String> {
    let d = describe_stack;
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
