//! Training pieces for the paper's studies as DSL functions: `gan.train_d(data, #{…})` (D alone,
//! G frozen: Proposition 1), `gan.train_steps(data, #{…})` (every step of the game recorded) and
//! `gan.g_grad_norm(#{…})` (G's gradient under either G loss: the saturation remark of §3).

use std::sync::Arc;

use rhai::{Dynamic, Engine, Map, INT};
use serde::{Deserialize, Serialize};

use super::api_train::{held, optimizer_opt, Through};
use super::host::{Host, Progress};
use super::option_struct::{self, Count};
use super::options::{err, RhaiResult};
use super::paper_args::{anyhow_err, check_data, floats, map_of};
use super::values::{DataHandle, GanCell, GanHandle, Samples};
use crate::engine::{EpochMetrics, Gan, GanLoss, StepMetrics};
use crate::paper::{self, Probe, StepHooks, TrainDOptions, TrainStepsOptions};

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    let h = host.clone();
    engine.register_fn(
        "train_d",
        move |gan: GanHandle, data: DataHandle, opts: Map| train_d(&h, &gan, &data, &opts),
    );
    let h = host.clone();
    engine.register_fn(
        "train_steps",
        move |gan: GanHandle, data: DataHandle, opts: Map| train_steps(&h, &gan, &data, &opts),
    );
    engine.register_fn("g_grad_norm", |gan: GanHandle| {
        g_grad_norm(&gan, &Map::new())
    });
    engine.register_fn("g_grad_norm", |gan: GanHandle, opts: Map| {
        g_grad_norm(&gan, &opts)
    });
}

/// `gan.train_d(data, #{…})`'s options; the defaults are the library's.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct TrainDOpts {
    steps: Count<1>,
    batch: Count<1>,
    /// D's optimizer; left out, the library's SGD.
    opt: Option<Dynamic>,
    /// Return D's loss and outputs at every step as `trace`.
    record: bool,
}

impl Default for TrainDOpts {
    fn default() -> Self {
        let d = TrainDOptions::default();
        TrainDOpts {
            steps: Count(d.steps),
            batch: Count(d.batch as u64),
            opt: None,
            record: d.record,
        }
    }
}

/// `gan.g_grad_norm(#{…})`'s options: `n` fixed noise rows (100 when neither is given) or the
/// rows `z`; `loss` defaults to the GAN's own.
#[derive(Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct GradNormOpts {
    n: Option<Count<1>>,
    loss: Option<String>,
    z: Option<Dynamic>,
}

/// `gan.train_steps(data, #{…})`'s options: `opt` sets both players' optimizer, `d_opt` and
/// `g_opt` one each; the defaults are the library's.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct TrainStepsOpts {
    steps: Count<1>,
    batch: Count<1>,
    opt: Option<Dynamic>,
    d_opt: Option<Dynamic>,
    g_opt: Option<Dynamic>,
    /// Probe both G losses' gradient norms every this many steps (0: never).
    probe_every: Count<0>,
    /// Fixed noise rows per probe.
    probe_n: Count<1>,
}

impl Default for TrainStepsOpts {
    fn default() -> Self {
        let d = TrainStepsOptions::default();
        TrainStepsOpts {
            steps: Count(d.steps),
            batch: Count(d.batch as u64),
            opt: None,
            d_opt: None,
            g_opt: None,
            probe_every: Count(d.probe_every),
            probe_n: Count(d.probe_n as u64),
        }
    }
}

/// `gan.train_d(data, #{ steps, batch, opt, record })`: D alone, G frozen.
fn train_d(host: &Host, gan: &GanHandle, data: &DataHandle, opts: &Map) -> RhaiResult<Map> {
    let call = "train_d()";
    let o: TrainDOpts = option_struct::parse(opts, call)?;
    let def = TrainDOptions::default();
    let opts = TrainDOptions {
        steps: o.steps.0,
        batch: o.batch.try_get("batch", call)?,
        opt: optimizer_opt(&o.opt, "opt", call)?.unwrap_or(def.opt),
        record: o.record,
    };
    let mut c = gan.lock();
    check_data(&c, data, call)?;
    let r = paper::train_d(&mut c.gan, &data.0, &opts, &mut || host.interrupted())
        .or_else(|e| anyhow_err(call, e))?;
    if r.steps < opts.steps {
        return err(format!(
            "{call}: {} after {} of {} steps; D keeps the state of the last full step",
            host.stopped_how(),
            r.steps,
            opts.steps
        ));
    }
    let mut m = map_of([
        ("steps", Dynamic::from(r.steps as INT)),
        ("d_loss_first", Dynamic::from(r.d_loss_first)),
        ("d_loss", Dynamic::from(r.d_loss)),
        ("d_real", Dynamic::from(r.d_real)),
        ("d_fake", Dynamic::from(r.d_fake)),
    ]);
    if let Some(t) = r.trace {
        let t = map_of([
            ("d_loss", Dynamic::from_array(floats(&t.d_loss))),
            ("d_real", Dynamic::from_array(floats(&t.d_real))),
            ("d_fake", Dynamic::from_array(floats(&t.d_fake))),
        ]);
        m.insert("trace".into(), Dynamic::from_map(t));
    }
    Ok(m)
}

fn loss_opt(name: Option<&str>, key: &str, default: GanLoss, call: &str) -> RhaiResult<GanLoss> {
    let name = name.unwrap_or(default.name());
    GanLoss::parse(name).ok_or(()).or_else(|_| {
        err(format!(
            "option `{key}` of {call}: unknown loss \"{name}\"; use one of {}",
            GanLoss::NAMES.map(|n| format!("\"{n}\"")).join(", ")
        ))
    })
}

/// `gan.g_grad_norm(#{ n, loss, z })`: ‖∇θ_G L_G‖ on G's images of `n` fixed noise rows (or the
/// rows `z`), D in evaluation mode: `norm` for `loss` (default: the GAN's own), and always
/// `saturating` and `non_saturating` for the two cross-entropy G losses at the same state.
fn g_grad_norm(gan: &GanHandle, opts: &Map) -> RhaiResult<Map> {
    let call = "g_grad_norm()";
    let o: GradNormOpts = option_struct::parse(opts, call)?;
    let c = gan.lock();
    let loss = loss_opt(o.loss.as_deref(), "loss", c.gan.spec.loss, call)?;
    let n = o.n.map(|n| n.0);
    let z = option_struct::custom::<Samples>(
        o.z.as_ref(),
        "z",
        call,
        "noise rows (Samples from gan.noise(n))",
    )?;
    let z: Vec<f32> = match z {
        Some(z) => {
            if z.dim != c.gan.noise_dim() {
                return err(format!(
                    "option `z` of {call}: rows have {} values, G takes {}",
                    z.dim,
                    c.gan.noise_dim()
                ));
            }
            if n.is_some() {
                return err(format!("{call}: give `n` or `z`, not both"));
            }
            z.x.to_vec()
        }
        None => {
            let n = n.unwrap_or(100) as usize;
            if n > 100_000 {
                return err(format!("option `n` of {call} is at most 100000, got {n}"));
            }
            c.gan.fixed_noise(n)
        }
    };
    held(&c.gan, z.len() / c.gan.noise_dim(), Through::GradGD, call)?;
    let g = paper::grad_norms(&c.gan, loss, &z);
    Ok(map_of([
        ("norm", Dynamic::from(g.norm)),
        ("saturating", Dynamic::from(g.saturating)),
        ("non_saturating", Dynamic::from(g.non_saturating)),
        ("d_fake", Dynamic::from(g.d_fake)),
        ("loss", Dynamic::from(g.loss.name().to_string())),
        ("n", Dynamic::from(g.rows as INT)),
    ]))
}

/// The options of `train_steps`, checked.
fn train_steps_options(o: &TrainStepsOpts, call: &str) -> RhaiResult<TrainStepsOptions> {
    let def = TrainStepsOptions::default();
    let steps = o.steps.0;
    let batch: usize = o.batch.try_get("batch", call)?;
    let both = optimizer_opt(&o.opt, "opt", call)?;
    let d_opt = optimizer_opt(&o.d_opt, "d_opt", call)?
        .or_else(|| both.clone())
        .unwrap_or(def.d_opt);
    let g_opt = optimizer_opt(&o.g_opt, "g_opt", call)?
        .or(both)
        .unwrap_or(def.g_opt);
    let probe_every = o.probe_every.0;
    let probe_n: usize = o.probe_n.try_get("probe_n", call)?;
    if probe_n > 100_000 {
        return err(format!(
            "option `probe_n` of {call} is at most 100000, got {probe_n}"
        ));
    }
    Ok(TrainStepsOptions {
        steps,
        batch,
        d_opt,
        g_opt,
        probe_every,
        probe_n,
    })
}

/// The host's side of `train_steps`: progress and epochs to the sink, epochs into the GAN's
/// history, the image shape of the data it trains on, interrupts.
struct Hooks<'a> {
    host: &'a Host,
    name: &'a str,
    history: &'a mut Vec<EpochMetrics>,
    image: &'a mut Option<crate::data::ImageShape>,
    data_image: Option<crate::data::ImageShape>,
}

impl StepHooks for Hooks<'_> {
    fn started(&mut self) {
        *self.image = self.data_image.or(*self.image);
    }

    fn progress(&mut self, gan: &Gan, m: &StepMetrics, done: u64, total: u64) {
        self.host.sink.progress(&Progress {
            gan: self.name.to_string(),
            epoch: gan.epoch + 1,
            epochs: gan.epoch + 1,
            done,
            total,
            d_loss: m.d_loss,
            g_loss: m.g_loss,
        });
    }

    fn epoch(&mut self, m: &EpochMetrics) {
        self.history.push(m.clone());
        self.host.sink.epoch(self.name, m);
    }

    fn interrupted(&self) -> bool {
        self.host.interrupted()
    }
}

/// `gan.train_steps(data, #{ steps, batch, opt, d_opt, g_opt, probe_every, probe_n })`: exactly
/// `steps` iterations of the game as `fit` runs them, returning every step's metrics, and every
/// `probe_every` steps (and before the first) the gradient norms of both G losses on `probe_n`
/// fixed noise rows.
fn train_steps(host: &Host, gan: &GanHandle, data: &DataHandle, opts: &Map) -> RhaiResult<Map> {
    let call = "train_steps()";
    let o: TrainStepsOpts = option_struct::parse(opts, call)?;
    let opts = train_steps_options(&o, call)?;
    let mut guard = gan.lock();
    check_data(&guard, data, call)?;
    let c: &mut GanCell = &mut guard;
    let mut hooks = Hooks {
        host,
        name: &c.name,
        history: &mut c.history,
        image: &mut c.image,
        data_image: data.0.image,
    };
    let rec = paper::train_steps(&mut c.gan, &data.0, &opts, &mut hooks)
        .or_else(|e| anyhow_err(call, e))?;
    host.sink.fit_end(&c.name);
    if rec.interrupted {
        return err(format!(
            "{call}: {} after {} of {} steps; `{}` keeps the state of the last full step",
            host.stopped_how(),
            rec.steps.len(),
            opts.steps,
            c.name
        ));
    }
    let col = |f: &dyn Fn(&StepMetrics) -> f64| -> Dynamic {
        Dynamic::from_array(rec.steps.iter().map(|(_, m)| Dynamic::from(f(m))).collect())
    };
    let step = rec.steps.iter().map(|(s, _)| Dynamic::from(*s as INT));
    let mut m = map_of([
        ("step", Dynamic::from_array(step.collect())),
        ("d_loss", col(&|m| m.d_loss)),
        ("g_loss", col(&|m| m.g_loss)),
        ("d_real", col(&|m| m.d_real)),
        ("d_fake", col(&|m| m.d_fake)),
    ]);
    if opts.probe_every > 0 {
        let pc = |f: &dyn Fn(&Probe) -> Dynamic| -> Dynamic {
            Dynamic::from_array(rec.probes.iter().map(f).collect())
        };
        let p = map_of([
            ("step", pc(&|t| Dynamic::from(t.0 as INT))),
            ("saturating", pc(&|t| Dynamic::from(t.1))),
            ("non_saturating", pc(&|t| Dynamic::from(t.2))),
            ("d_fake", pc(&|t| Dynamic::from(t.3))),
        ]);
        m.insert("grad_norms".into(), Dynamic::from_map(p));
    }
    Ok(m)
}
