//! `gan.fit(data, #{…})`: parses a script's options into a [`LearnerConfig`] and hands the GAN to
//! the [`Learner`], which runs the epochs and writes the run's outputs. The script is called back
//! at most once per epoch, with the GAN unlocked so callbacks can use it.

use std::sync::Arc;

use rhai::{Dynamic, Engine, EvalAltResult, FnPtr, Map, NativeCallContext, INT};

use super::api_train::optimizer_opt;
use super::host::Host;
use super::option_struct;
use super::options::{err, RhaiResult};
use super::train_options::FitOptions;
use super::values::{metrics_map, DataHandle, GanHandle};
use crate::engine::{Control, EpochMetrics, Gan};
use crate::learner::{Learner, LearnerConfig, TrainError, Trainee};

impl Trainee for GanHandle {
    fn with<R>(&self, f: impl FnOnce(&mut Gan, &mut Vec<EpochMetrics>) -> R) -> R {
        let mut c = self.lock();
        let c = &mut *c;
        f(&mut c.gan, &mut c.history)
    }
}

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    let h = host.clone();
    engine.register_fn(
        "fit",
        move |ctx: NativeCallContext,
              gan: GanHandle,
              data: DataHandle,
              opts: Map|
              -> RhaiResult<Map> { fit(&ctx, &h, &gan, &data, &opts) },
    );
    // A stopped or diverged fit raises its `TrainError` as the error value (what `catch` sees).
    engine.register_fn("to_string", |e: &mut TrainError| e.to_string());
    engine.register_fn("to_debug", |e: &mut TrainError| e.to_string());
}

/// A learner error as the script sees it: a script callback's own error unchanged, a
/// [`TrainError`] as a typed value (so the session can tell an interrupt by its type), anything
/// else as its message.
fn script_error<T>(e: anyhow::Error) -> RhaiResult<T> {
    let e = match e.downcast::<EvalAltResult>() {
        Ok(callback) => return Err(callback.into()),
        Err(e) => e,
    };
    match e.downcast::<TrainError>() {
        Ok(t) => Err(EvalAltResult::ErrorRuntime(Dynamic::from(t), rhai::Position::NONE).into()),
        Err(e) => err(format!("{e:#}")),
    }
}

fn fit(
    ctx: &NativeCallContext,
    host: &Arc<Host>,
    handle: &GanHandle,
    data: &DataHandle,
    opts: &Map,
) -> RhaiResult<Map> {
    let o: FitOptions = option_struct::parse(opts, "fit()")?;
    let opt = |v: &Option<Dynamic>, key: &str| optimizer_opt(v, key, "fit()");
    let both = opt(&o.opt, "opt")?;
    let d_given = opt(&o.d_opt, "d_opt")?.or_else(|| both.clone());
    let g_given = opt(&o.g_opt, "g_opt")?.or(both);
    let callback = option_struct::custom::<FnPtr>(
        o.on_epoch.as_ref(),
        "on_epoch",
        "fit()",
        "a function, e.g. |epoch, metrics| { … }",
    )?;
    let every = o.every.0;
    let image = data.0.image.is_some();
    let samples_every = o.samples_every.map_or(u64::from(image), |n| n.0);
    let run = &host.run_state;
    let checkpoint_every = o
        .checkpoint_every
        .map_or(run.default_checkpoint_every().unwrap_or(1), |n| n.0);
    let d = data.0.clone();
    let name = handle.lock().name.clone();
    // Without optimizers, the previous fit's go on (the paper's SGD on the first fit).
    let (d_prev, g_prev) = handle.lock().last_opts.clone().unzip();
    let config = LearnerConfig {
        epochs: o.epochs.0,
        batch: o.batch.0 as usize,
        d_opt: d_given.or(d_prev),
        g_opt: g_given.or(g_prev),
        steps_per_epoch: o.steps_per_epoch.map(|n| n.0),
        samples_every,
        checkpoint_every,
        keep_checkpoints: o.keep_checkpoints.0 as usize,
        max_minutes: o.max_minutes.map(|m| m.0),
        g_ema: o.g_ema.map(|d| d.0),
    };
    config.try_check().or_else(|e| err(format!("{e:#}")))?;
    let learner = Learner::new(run.clone(), &name).with_config(config);
    let prepared = learner.prepare(handle, &d).or_else(script_error)?;
    {
        let mut c = handle.lock();
        let fit_spec = &prepared.fit_spec;
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
        host.config_json.lock().unwrap().insert(name.clone(), entry);
    }
    host.write_config().or_else(|e| err(format!("{e:#}")))?;

    let mut on_epoch = |run: &crate::learner::Run, m: &EpochMetrics| -> anyhow::Result<Control> {
        let Some(cb) = &callback else {
            return Ok(Control::Continue);
        };
        if !m.epoch.is_multiple_of(every) {
            return Ok(Control::Continue);
        }
        // `this` inside the callback is the GAN being trained (no capture needed).
        let mut this = Dynamic::from(handle.clone());
        let r = cb
            .call_raw(
                ctx,
                Some(&mut this),
                [
                    Dynamic::from(m.epoch as INT),
                    Dynamic::from_map(metrics_map(m)),
                ],
            )
            .map_err(|e| anyhow::Error::new(*e))?;
        if r.as_bool() == Ok(false) {
            run.sink.text(&format!(
                "on_epoch returned false: stopping `{name}` after epoch {}",
                m.epoch
            ));
            return Ok(Control::Stop);
        }
        Ok(Control::Continue)
    };
    let last = learner
        .train(&prepared, handle, &d, &mut on_epoch)
        .or_else(script_error)?;
    Ok(last.as_ref().map(metrics_map).unwrap_or_default())
}
