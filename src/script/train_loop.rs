//! `gan.fit(data, #{…})`: the epoch loop as seen from a script. The hot loop runs in the engine;
//! the script is called back at most once per epoch, with the GAN unlocked so callbacks can use it.

use std::sync::Arc;
use std::time::Instant;

use rhai::{Dynamic, FnPtr, Map, NativeCallContext, INT};

use super::api_train::optimizer_opt;
use super::host::{Host, Progress};
use super::options::{err, Opts, RhaiResult};
use super::resume::{self, FitMode};
use super::values::{DataHandle, GanHandle};
use super::watch;
use crate::data::Dataset;
use crate::engine::trainer::{Control, FitObserver};
use crate::engine::{EpochMetrics, FitSpec, Gan, OptimizerSpec, StepMetrics, Trainer};

/// Epoch metrics as a script map.
pub fn metrics_map(m: &EpochMetrics) -> Map {
    let mut map = Map::new();
    let v = serde_json::to_value(m).expect("metrics serialise");
    for (k, v) in v.as_object().expect("an object") {
        let d = if let Some(i) = v.as_u64() {
            Dynamic::from(i as INT)
        } else if let Some(warnings) = v.as_array() {
            // `warnings`: `[#{ kind, message }, …]`
            let text = |w: &serde_json::Value, k: &str| {
                Dynamic::from(w[k].as_str().unwrap_or("").to_string())
            };
            Dynamic::from_array(
                warnings
                    .iter()
                    .map(|w| {
                        let mut one = Map::new();
                        one.insert("kind".into(), text(w, "kind"));
                        one.insert("message".into(), text(w, "message"));
                        Dynamic::from_map(one)
                    })
                    .collect(),
            )
        } else {
            Dynamic::from(v.as_f64().unwrap_or(f64::NAN))
        };
        map.insert(k.as_str().into(), d);
    }
    map
}

/// Reports progress a few times a second and stops at a step boundary when interrupted.
struct StepObserver<'a> {
    host: &'a Host,
    name: String,
    epochs: u64,
    last: Instant,
}

impl FitObserver for StepObserver<'_> {
    fn on_step(&mut self, gan: &Gan, m: &StepMetrics, done: u64, total: u64) -> Control {
        if self.host.interrupted() {
            return Control::Stop;
        }
        if self.last.elapsed().as_millis() >= 100 || done == total {
            self.last = Instant::now();
            self.host.sink.progress(&Progress {
                gan: self.name.clone(),
                epoch: gan.epoch + 1,
                epochs: self.epochs,
                done,
                total,
                d_loss: m.d_loss,
                g_loss: m.g_loss,
            });
        }
        Control::Continue
    }
}

pub fn fit(
    ctx: &NativeCallContext,
    host: &Arc<Host>,
    handle: &mut GanHandle,
    data: &DataHandle,
    opts: &Map,
) -> RhaiResult<Map> {
    let o = Opts::new(
        opts,
        "fit()",
        &[
            "epochs",
            "batch",
            "opt",
            "d_opt",
            "g_opt",
            "steps_per_epoch",
            "on_epoch",
            "every",
            "samples_every",
            "checkpoint_every",
            "keep_checkpoints",
            "max_minutes",
        ],
    )?;
    let more = o.count("epochs", 1, 0)?;
    let batch = o.count("batch", 100, 1)? as usize;
    let both = optimizer_opt(&o, "opt")?;
    let d_given = optimizer_opt(&o, "d_opt")?.or_else(|| both.clone());
    let g_given = optimizer_opt(&o, "g_opt")?.or(both);
    let steps_per_epoch = o.opt_count("steps_per_epoch", 1)?;
    let callback = o.custom::<FnPtr>("on_epoch", "a function, e.g. |epoch, metrics| { … }")?;
    let every = o.count("every", 1, 1)?;
    let samples_every = o.count(
        "samples_every",
        if data.0.image.is_some() { 1 } else { 0 },
        0,
    )?;
    let checkpoint_every = o.count(
        "checkpoint_every",
        host.default_checkpoint_every().unwrap_or(1),
        0,
    )?;
    let keep = o.count("keep_checkpoints", 2, 1)? as usize;
    let max_secs = match o.opt_f64("max_minutes")? {
        // NaN would never stop the loop, and 0 or less would stop it before it starts.
        Some(m) if !(m.is_finite() && m > 0.0) => {
            return err(format!(
                "option `max_minutes` of fit() must be a finite number > 0, got {m}"
            ))
        }
        m => m.map(|m| m * 60.0),
    };
    let d = data.0.clone();

    let (name, fit_spec, fit_index, mode) = {
        let mut c = handle.lock();
        let fit_index = host.next_fit_index(&c.name);
        let mode = resume::fit_mode(host, &c.name, fit_index).or_else(|e| err(format!("{e:#}")))?;
        // `epochs` counts from here; an interrupted epoch in progress is the first of them.
        let target = c.gan.epoch + more;
        if let FitMode::Load(path) = &mode {
            // `gan resume`: this is the fit the checkpoint was taken in.
            let m = resume::load_into(host, &mut c, path).or_else(|e| err(format!("{e:#}")))?;
            if m.epoch > target {
                return err(format!(
                    "resume: {} is at epoch {}, past this fit's last epoch {target}",
                    path.display(),
                    m.epoch
                ));
            }
        }
        // Without optimizers, the previous fit's go on (the paper's SGD on the first fit).
        let (d_prev, g_prev) = c.last_opts.clone().unzip();
        let fit_spec = FitSpec {
            epochs: target,
            batch,
            d_opt: d_given.or(d_prev).unwrap_or_else(OptimizerSpec::paper_sgd),
            g_opt: g_given.or(g_prev).unwrap_or_else(OptimizerSpec::paper_sgd),
            steps_per_epoch,
        };
        Trainer::try_check(&c.gan, &d.x, d.dim, &fit_spec)
            .or_else(|e| err(format!("fit(): {e:#}")))?;
        let acts = crate::engine::trainer::activation_values(&c.gan.spec, fit_spec.batch);
        super::budget::reserve(acts.saturating_mul(4), "fit()")?;
        c.last_opts = Some((fit_spec.d_opt.clone(), fit_spec.g_opt.clone()));
        c.image = d.image;
        let entry = serde_json::json!({
            "gan": c.gan.spec,
            "fit": fit_spec,
            "seed": c.gan.seed,
            "data": { "name": d.name, "rows": d.rows(), "dim": d.dim, "image": d.image },
            "g_params": c.gan.g.param_count(),
            "d_params": c.gan.d.param_count(),
        });
        host.config_json
            .lock()
            .unwrap()
            .insert(c.name.clone(), entry);
        (c.name.clone(), fit_spec, fit_index, mode)
    };
    // Replaying a fit the interrupted run finished: its metrics lines and checkpoints exist.
    let replay = mode == FitMode::Replay;
    host.write_config().or_else(|e| err(format!("{e:#}")))?;

    let mut last = Map::new();
    let mut obs = StepObserver {
        host,
        name: name.clone(),
        epochs: fit_spec.epochs,
        last: Instant::now(),
    };
    let started = Instant::now();
    let mut last_epoch_secs = 0.0;
    loop {
        if let Some(limit) = max_secs {
            // Stop before an epoch that would end past the time budget.
            if started.elapsed().as_secs_f64() + last_epoch_secs > limit {
                host.sink.text(&format!(
                    "max_minutes reached: stopping `{name}` after {:.1} min",
                    started.elapsed().as_secs_f64() / 60.0
                ));
                break;
            }
        }
        let epoch_started = Instant::now();
        let (m, wish) = {
            let mut c = handle.lock();
            if c.gan.epoch >= fit_spec.epochs {
                break;
            }
            match Trainer::run_epoch(&mut c.gan, &d.x, d.dim, &fit_spec, &mut obs) {
                Ok(r) => r,
                Err(e) => {
                    drop(c);
                    host.sink.fit_end(&name);
                    return err(diverged_message(host, &name, &format!("{e:#}")));
                }
            }
        };
        let Some(m) = m else {
            host.sink.fit_end(&name);
            // Stopped at a step boundary (Ctrl-C, --timeout): a consistent state, saved so that
            // `gan resume` loses nothing.
            let saved = if !replay && checkpoint_every > 0 && host.run.is_some() {
                checkpoint(host, handle, &name, keep, fit_index, &fit_spec)
                    .or_else(|e| err(format!("{e:#}")))?;
                resume::find(host, &name).ok().flatten().map(|f| {
                    format!(
                        "; its state is saved in {}: `gan resume {}` continues from there",
                        f.path.display(),
                        host.run
                            .as_ref()
                            .map(|r| r.path().display().to_string())
                            .unwrap_or_default()
                    )
                })
            } else {
                None
            };
            let c = handle.lock();
            if host.timed_out() {
                return err(format!(
                    "timed out: the run passed its --timeout of {} s at step {} (epoch {}, batch {}) of `{}`{}",
                    host.timeout_secs().unwrap_or_default(),
                    c.gan.step,
                    c.gan.epoch + 1,
                    c.gan.batch_in_epoch,
                    c.name,
                    saved.unwrap_or_default()
                ));
            }
            return err(format!(
                "interrupted at step {} (epoch {}, batch {}); `{}` keeps its state and optimizers: fit again continues \
                 (`epochs` more, the interrupted one first; without optimizers it keeps this fit's){}",
                c.gan.step,
                c.gan.epoch + 1,
                c.gan.batch_in_epoch,
                c.name,
                saved.unwrap_or_default()
            ));
        };
        let m = after_epoch(host, handle, &name, m, &d, samples_every, !replay)
            .or_else(|e| err(format!("{e:#}")))?;
        if !replay && checkpoint_every > 0 && m.epoch % checkpoint_every == 0 {
            checkpoint(host, handle, &name, keep, fit_index, &fit_spec)
                .or_else(|e| err(format!("{e:#}")))?;
        }
        last_epoch_secs = epoch_started.elapsed().as_secs_f64();
        last = metrics_map(&m);
        if let Some(cb) = &callback {
            if m.epoch % every == 0 {
                // `this` inside the callback is the GAN being trained (no capture needed).
                let mut this = Dynamic::from(handle.clone());
                let r = cb.call_raw(
                    ctx,
                    Some(&mut this),
                    [
                        Dynamic::from(m.epoch as INT),
                        Dynamic::from_map(last.clone()),
                    ],
                )?;
                if r.as_bool() == Ok(false) {
                    host.sink.text(&format!(
                        "on_epoch returned false: stopping `{name}` after epoch {}",
                        m.epoch
                    ));
                    break;
                }
            }
        }
        if wish == Control::Stop {
            break;
        }
    }
    host.sink.fit_end(&name);
    if let Some(run) = &host.run {
        let file = run
            .resolve(&Host::per_gan(&name, "weights", "safetensors"))
            .or_else(|e| err(format!("{e:#}")))?;
        crate::checkpoint::save_weights(&file, &handle.lock().gan)
            .or_else(|e| err(format!("{e:#}")))?;
    }
    Ok(last)
}

/// A divergence (non-finite loss or parameter) as the script sees it: what went wrong where,
/// and the checkpoint to go back to. Other training errors pass through unchanged.
fn diverged_message(host: &Host, name: &str, e: &str) -> String {
    if !e.starts_with("training diverged") {
        return e.to_string();
    }
    let who = if name == "gan" {
        String::new()
    } else {
        format!(" of `{name}`")
    };
    let hint = match resume::find(host, name) {
        Ok(Some(f)) => {
            let run = host
                .run
                .as_ref()
                .map(|r| r.path().display().to_string())
                .unwrap_or_default();
            format!(
                "nothing of the diverged epoch was saved; the last good checkpoint is {} (epoch {}, step {}): \
                 `gan resume {run}` continues from it (lower the learning rate in {run}/recipe.rhai first)",
                f.path.display(),
                f.epoch,
                f.step
            )
        }
        _ if host.run.is_some() => {
            "nothing of the diverged epoch was saved, and no checkpoint was saved before it".into()
        }
        _ => "nothing was saved (this session has no run directory)".into(),
    };
    format!("{}{who}; {hint}", e.trim_end_matches('.'))
}

/// Saves a checkpoint into `checkpoints/` (`checkpoints_<name>/` for further GANs), keeping the last `keep`.
fn checkpoint(
    host: &Host,
    handle: &GanHandle,
    name: &str,
    keep: usize,
    fit_index: u64,
    fit_spec: &FitSpec,
) -> anyhow::Result<()> {
    let Some(run) = &host.run else { return Ok(()) };
    let dir = run.resolve(&resume::checkpoint_dir_name(name))?;
    let metrics_file = Host::per_gan(name, "metrics", "jsonl");
    let extra = serde_json::json!({
        "gan_name": name,
        "recipe": host.config.recipe_name,
        "metrics_file": metrics_file,
        // `gan resume` cuts the metrics file back to this many lines.
        "metrics_lines": resume::count_lines(&run.resolve(&metrics_file)?)?,
        // Which call of `fit` on this GAN took the checkpoint, and that fit's settings.
        "fit_index": fit_index,
        "fit": fit_spec,
    });
    crate::checkpoint::Checkpoint::save(&dir, &mut handle.lock().gan, extra)?;
    crate::checkpoint::keep_last(&dir, keep)?;
    Ok(())
}

/// Per-epoch outputs: the metrics line, history, and a sample grid from the fixed noise.
fn after_epoch(
    host: &Host,
    handle: &GanHandle,
    name: &str,
    mut m: EpochMetrics,
    data: &Dataset,
    samples_every: u64,
    write_metrics: bool,
) -> anyhow::Result<EpochMetrics> {
    let mut c = handle.lock();
    watch::observe(&mut c.gan, data, &mut m);
    m.warnings = watch::diagnose(&c.history, &m, c.gan.spec.loss);
    c.history.push(m.clone());
    if let (Some(run), true) = (&host.run, write_metrics) {
        run.append_line(
            &Host::per_gan(name, "metrics", "jsonl"),
            &serde_json::to_string(&m)?,
        )?;
    }
    host.sink.epoch(name, &m);
    for w in &m.warnings {
        let who = if name == "gan" {
            String::new()
        } else {
            format!(" [{name}]")
        };
        host.sink
            .text(&format!("warning{who} (epoch {}): {}", m.epoch, w.message));
    }
    if samples_every > 0 && m.epoch.is_multiple_of(samples_every) {
        if let Some(shape) = c.image {
            let x = c.gan.sample_fixed(100);
            let png = super::api_output::grid_png(&x, shape, 10)?;
            let file = if name == "gan" {
                format!("samples_epoch_{}.png", m.epoch)
            } else {
                format!("samples_{name}_epoch_{}.png", m.epoch)
            };
            let saved = match &host.run {
                Some(run) => Some(run.write(&file, &png)?),
                None => None,
            };
            host.sink.image(&file, &png, saved.as_deref());
        }
    }
    Ok(m)
}
