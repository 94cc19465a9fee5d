//! Games and training: `seed`, `param`, schedules, optimizers, `gan(g, d, #{…})`, `gan.fit(data, #{…})`.

use std::sync::{Arc, Mutex};

use rhai::{Dynamic, Engine, Map, FLOAT, INT};

use super::host::Host;
use super::option_struct;
use super::options::{err, type_name, RhaiResult};
use super::site::err_at;
use super::train_options::{AdamOptions, GanOptions, SampleOptions, SgdOptions};
use super::values::{GanCell, GanHandle, OptVal, Samples, SchedVal, StackBuilder};
use crate::engine::spec::{check_k, GanShapeError};
use crate::engine::{Gan, GanLoss, GanSpec, Noise, OptimizerSpec, Schedule, UpdateScheme};

/// What an optimizer option must be, as errors say it.
pub const OPTIMIZER: &str = "an optimizer (sgd(…) or adam(…))";

/// The optimizer given as option `key` of `call`, if any.
pub fn optimizer_opt(
    v: &Option<Dynamic>,
    key: &str,
    call: &str,
) -> RhaiResult<Option<OptimizerSpec>> {
    Ok(option_struct::custom::<OptVal>(v.as_ref(), key, call, OPTIMIZER)?.map(|v| v.0))
}

/// A shape error, reported at the layer at fault: the layer that fails; for G's output not
/// fitting D's input, G's last layer (it fixes G's width; D's `stack(…)` is named too); for D's
/// output, D's last layer.
fn shape_error<T>(e: GanShapeError, g: &StackBuilder, d: &StackBuilder) -> RhaiResult<T> {
    let layer = |s: &StackBuilder, i: Option<usize>| {
        i.and_then(|i| s.positions.get(i))
            .unwrap_or(&s.origin)
            .clone()
    };
    let last = |s: &StackBuilder| s.positions.last().unwrap_or(&s.origin).clone();
    match &e {
        GanShapeError::G(s) => err_at(e.to_string(), &layer(g, s.layer)),
        GanShapeError::D(s) => err_at(e.to_string(), &layer(d, s.layer)),
        GanShapeError::Mismatch { .. } => {
            let site = last(g);
            let d_at = d.origin.describe(&site.source.name);
            err_at(format!("{e} (D's stack is declared at {d_at})"), &site)
        }
        GanShapeError::DOutput(_) => err_at(e.to_string(), &last(d)),
        GanShapeError::Game(_) => err(e.to_string()),
    }
}

fn noise_opt(o: &GanOptions, dim: usize) -> RhaiResult<Noise> {
    let noise = match o.noise.as_str() {
        "uniform" => Noise::Uniform {
            dim,
            half_width: o.noise_scale.map_or(3f64.sqrt(), |n| n.0),
        },
        "gaussian" => Noise::Gaussian {
            dim,
            std: o.noise_scale.map_or(1.0, |n| n.0),
        },
        other => {
            return err(format!(
            "option `noise` of gan(): unknown prior \"{other}\"; use \"uniform\" or \"gaussian\""
        ))
        }
    };
    noise
        .try_check()
        .or_else(|e| err(format!("option `noise_scale` of gan(): {e}")))?;
    Ok(noise)
}

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    engine.register_type_with_name::<SchedVal>("Schedule");
    engine.register_type_with_name::<OptVal>("Optimizer");
    engine.register_type_with_name::<GanHandle>("Gan");

    let h = host.clone();
    engine.register_fn("seed", move |s: INT| -> RhaiResult<()> {
        if s < 0 {
            return err(format!("seed must be ≥ 0, got {s}"));
        }
        h.set_seed(s as u64);
        Ok(())
    });
    let h = host.clone();
    engine.register_fn("get_seed", move || h.seed() as INT);

    let h = host.clone();
    engine.register_fn(
        "param",
        move |name: &str, default: Dynamic| -> RhaiResult<Dynamic> {
            let v = match h.param_text(name) {
                None => default,
                Some(text) => parse_param(name, &text, &default)?,
            };
            let json = if let Ok(i) = v.as_int() {
                serde_json::json!(i)
            } else if let Ok(f) = v.as_float() {
                serde_json::json!(f)
            } else if let Ok(b) = v.as_bool() {
                serde_json::json!(b)
            } else {
                serde_json::json!(v.to_string())
            };
            h.record_param(name, json);
            Ok(v)
        },
    );

    // Schedules
    engine.register_fn("constant", |v: FLOAT| -> RhaiResult<SchedVal> {
        let s = Schedule::constant(v);
        s.check().or_else(|e| err(format!("constant: {e}")))?;
        Ok(SchedVal(s))
    });
    engine.register_fn(
        "exp_decay",
        |start: FLOAT, factor: FLOAT, floor: FLOAT| -> RhaiResult<SchedVal> {
            let s = Schedule::ExpDecay {
                start,
                factor,
                floor,
            };
            s.check().or_else(|e| err(format!("exp_decay: {e}")))?;
            Ok(SchedVal(s))
        },
    );
    engine.register_fn(
        "ramp",
        |start: FLOAT, end: FLOAT, from: INT, to: INT| -> RhaiResult<SchedVal> {
            if from < 0 || to < from {
                return err(format!(
                    "ramp: epochs must satisfy 0 ≤ from ≤ to, got from {from}, to {to}"
                ));
            }
            let s = Schedule::Ramp {
                start,
                end,
                from: from as u64,
                to: to as u64,
            };
            s.check().or_else(|e| err(format!("ramp: {e}")))?;
            Ok(SchedVal(s))
        },
    );
    engine.register_fn(
        "step_decay",
        |start: FLOAT, factor: FLOAT, every: INT| -> RhaiResult<SchedVal> {
            if every < 1 {
                return err(format!(
                    "step_decay: `every` must be ≥ 1 epoch, got {every}"
                ));
            }
            let s = Schedule::StepDecay {
                start,
                factor,
                every: every as u64,
            };
            s.check().or_else(|e| err(format!("step_decay: {e}")))?;
            Ok(SchedVal(s))
        },
    );
    engine.register_fn("value_at", |s: &mut SchedVal, step: INT, epoch: INT| {
        s.0.value(step.max(0) as u64, epoch.max(0) as u64)
    });

    // Optimizers
    engine.register_fn("sgd", |opts: Map| -> RhaiResult<OptVal> {
        let o: SgdOptions = option_struct::parse(&opts, "sgd()")?;
        Ok(OptVal(OptimizerSpec::Sgd {
            lr: o.lr.checked("lr", "sgd()")?,
            momentum: o.momentum.checked("momentum", "sgd()")?,
            nesterov: o.nesterov,
            weight_decay: o.weight_decay.0,
        }))
    });
    engine.register_fn("adam", |opts: Map| -> RhaiResult<OptVal> {
        let o: AdamOptions = option_struct::parse(&opts, "adam()")?;
        let spec = OptimizerSpec::Adam {
            lr: o.lr.checked("lr", "adam()")?,
            beta1: o.beta1.0,
            beta2: o.beta2.0,
            eps: o.eps.0,
            weight_decay: o.weight_decay.0,
        };
        spec.check().or_else(|e| err(format!("adam(): {e}")))?;
        Ok(OptVal(spec))
    });
    engine.register_fn("paper_sgd", || OptVal(OptimizerSpec::paper_sgd()));

    // The game
    let h = host.clone();
    engine.register_fn("gan", move |g: StackBuilder, d: StackBuilder, opts: Map| {
        make_gan(&h, g, d, opts)
    });
    let h = host.clone();
    engine.register_fn("gan", move |g: StackBuilder, d: StackBuilder| {
        make_gan(&h, g, d, Map::new())
    });

    engine.register_fn("sample", |gan: GanHandle, n: INT| {
        sample_rows(gan, n, &Map::new(), Draw::Fresh, "sample(n)")
    });
    engine.register_fn("sample_fixed", |gan: GanHandle, n: INT| {
        sample_rows(gan, n, &Map::new(), Draw::Fixed, "sample_fixed(n)")
    });
    engine.register_fn("sample", |gan: GanHandle, n: INT, opts: Map| {
        sample_rows(gan, n, &opts, Draw::Fresh, "sample(n, opts)")
    });
    engine.register_fn("sample_fixed", |gan: GanHandle, n: INT, opts: Map| {
        sample_rows(gan, n, &opts, Draw::Fixed, "sample_fixed(n, opts)")
    });
    engine.register_fn(
        "discriminate",
        |gan: GanHandle, s: Samples| -> RhaiResult<Samples> {
            let c = gan.lock();
            if s.dim != c.gan.data_dim() {
                return err(format!(
                    "discriminate(): rows have {} features, D takes {}",
                    s.dim,
                    c.gan.data_dim()
                ));
            }
            held(&c.gan, s.rows(), Through::D, "discriminate()")?;
            Ok(Samples {
                x: Arc::new(c.gan.discriminate(&s.x)),
                dim: 1,
                image: None,
            })
        },
    );
    engine.register_fn(
        "generate",
        |gan: GanHandle, z: Samples| -> RhaiResult<Samples> {
            let c = gan.lock();
            if z.dim != c.gan.noise_dim() {
                return err(format!(
                    "generate(): noise rows have {} values, G takes {}",
                    z.dim,
                    c.gan.noise_dim()
                ));
            }
            held(&c.gan, z.rows(), Through::G, "generate()")?;
            Ok(Samples {
                x: Arc::new(c.gan.generate(&z.x)),
                dim: c.gan.data_dim(),
                image: c.image,
            })
        },
    );
    engine.register_get("step", |gan: &mut GanHandle| gan.lock().gan.step as INT);
    engine.register_get("epoch", |gan: &mut GanHandle| gan.lock().gan.epoch as INT);
    engine.register_get("name", |gan: &mut GanHandle| gan.lock().name.clone());
    engine.register_get("history", |gan: &mut GanHandle| -> Dynamic {
        let c = gan.lock();
        let v: rhai::Array = c
            .history
            .iter()
            .map(|m| Dynamic::from_map(super::values::metrics_map(m)))
            .collect();
        Dynamic::from_array(v)
    });
    engine.register_fn("to_string", |gan: &mut GanHandle| describe(&gan.lock()));
    engine.register_fn("to_debug", |gan: &mut GanHandle| describe(&gan.lock()));
}

/// `gan(g, d, #{…})`: checks both stacks against each other and builds them from the current seed.
fn make_gan(h: &Host, g: StackBuilder, d: StackBuilder, opts: Map) -> RhaiResult<GanHandle> {
    let o: GanOptions = option_struct::parse(&opts, "gan()")?;
    let loss_name = &o.loss;
    let loss = GanLoss::parse(loss_name).map_or_else(
        || {
            let hint = if loss_name == "vanilla" || loss_name == "minimax" {
                " (\"vanilla\" is ambiguous: the minimax loss is \"saturating\", the −log D(G(z)) heuristic is \"non_saturating\")"
            } else {
                ""
            };
            err(format!("option `loss` of gan(): unknown loss \"{loss_name}\"{hint}; use one of {}", GanLoss::NAMES.map(|n| format!("\"{n}\"")).join(", ")))
        },
        Ok,
    )?;
    let k = o.k.0;
    let k32 = check_k(k).or_else(|e| err(format!("option `k` of gan(): {e}")))?;
    let scheme = match o.scheme.as_str() {
        "simultaneous" => {
            if k != 1 {
                return err(format!("option `k` of gan(): k = {k} D-steps per G-step needs scheme \"alternating\" (the simultaneous scheme updates both from one pass)"));
            }
            UpdateScheme::Simultaneous
        }
        "alternating" => UpdateScheme::Alternating { k: k32 },
        other => return err(format!("option `scheme` of gan(): unknown scheme \"{other}\"; use \"simultaneous\" or \"alternating\"")),
    };
    let spec = GanSpec {
        noise: noise_opt(&o, g.spec.input)?,
        g: g.spec.clone(),
        d: d.spec.clone(),
        loss,
        scheme,
        init_g_bias_from_marginals: o.init_bias_from_marginals,
    };
    spec.try_check(None).or_else(|e| shape_error(e, &g, &d))?;
    let params = spec.g.param_count() as u128 + spec.d.param_count() as u128;
    // weights, their gradients and an optimizer's two moments, as f32
    super::budget::reserve(params * 16, "gan()")?;
    let mut gan = Gan::try_new(spec, h.seed()).or_else(|e| shape_error(e, &g, &d))?;
    gan.path = h.engine_path();
    if gan.path.effective() == crate::engine::EnginePath::Reference {
        let (gs, ds) = (&gan.spec.g, &gan.spec.d);
        gs.try_reference()
            .or_else(|e| shape_error(GanShapeError::G(e), &g, &d))?;
        ds.try_reference()
            .or_else(|e| shape_error(GanShapeError::D(e), &g, &d))?;
    }
    let name = h
        .claim_gan_name(Some(o.name.as_str()).filter(|s| !s.is_empty()))
        .or_else(err)?;
    Ok(GanHandle(Arc::new(Mutex::new(GanCell {
        name,
        gan,
        g_positions: g.positions,
        d_positions: d.positions,
        history: Vec::new(),
        image: None,
        last_opts: None,
    }))))
}

/// What `rows` rows cost through G, D or both at once (see [`check_rows_held`]).
#[derive(Clone, Copy)]
pub enum Through {
    /// Noise rows only.
    Noise,
    G,
    D,
    /// G's outputs into D (and D twice more for a gradient).
    GradGD,
    /// The rows handed back, `width` values each, all held; G and D run on chunks of at most
    /// [`CHUNK_ROWS`] rows, whose layers are held one chunk at a time.
    Output(usize),
}

/// Refuses a call that would hold `rows` rows × their width through `nets` past the engine's
/// memory limit, naming the call: the row cap alone lets through few rows of huge width.
pub fn held(gan: &Gan, rows: usize, nets: Through, what: &str) -> RhaiResult<()> {
    use crate::engine::trainer::{check_rows_held, stack_values};
    let per_row = match nets {
        Through::Noise => gan.noise_dim() as u128,
        Through::G => stack_values(&gan.spec.g),
        Through::D => stack_values(&gan.spec.d),
        Through::GradGD => stack_values(&gan.spec.g) + 2 * stack_values(&gan.spec.d),
        Through::Output(w) => w as u128,
    };
    check_rows_held(rows, per_row).or_else(|e| err(format!("{what}: {e}")))?;
    super::budget::reserve(
        (rows as u128).saturating_mul(per_row).saturating_mul(4),
        what,
    )?;
    if let Through::Output(_) = nets {
        // a chunk through wide hidden layers can cost more than the narrow rows it returns
        let both = stack_values(&gan.spec.g) + stack_values(&gan.spec.d);
        check_rows_held(rows.min(CHUNK_ROWS), both).or_else(|e| err(format!("{what}: {e}")))?;
    }
    Ok(())
}

/// The most rows the chunked evaluations (`theory::generate_chunked`, `d_logits_chunked`) run at once.
const CHUNK_ROWS: usize = 4096;

/// Which noise a sampling call draws: fresh (`sample`) or the GAN's fixed batch (`sample_fixed`).
#[derive(Clone, Copy)]
enum Draw {
    Fresh,
    Fixed,
}

/// `sample` / `sample_fixed`: `n` rows of G (the averaged G unless `opts.weights` says `"live"`).
fn sample_rows(gan: GanHandle, n: INT, opts: &Map, draw: Draw, call: &str) -> RhaiResult<Samples> {
    let n = positive(n, call)?;
    let mut c = gan.lock();
    let live = live_weights(&c.gan, opts, call)?;
    held(&c.gan, n, Through::G, call)?;
    let x = match draw {
        Draw::Fresh => c.gan.sample_by(n, live),
        Draw::Fixed => c.gan.sample_fixed_by(n, live),
    };
    Ok(Samples {
        dim: c.gan.data_dim(),
        x: Arc::new(x),
        image: c.image,
    })
}

/// `#{ weights }` of a sampling call: `"live"` (the trained G) or `"ema"` (the averaged G, an
/// error when the GAN has none); absent: the averaged G when there is one.
fn live_weights(gan: &Gan, opts: &Map, call: &str) -> RhaiResult<bool> {
    let o: SampleOptions = option_struct::parse(opts, call)?;
    match o.weights.as_deref() {
        None => Ok(false),
        Some("live") => Ok(true),
        Some("ema") if gan.g_ema.is_some() => Ok(false),
        Some("ema") => err(format!(
            "{call}: `weights: \"ema\"` but this GAN has no averaged G (fit with `g_ema` to keep one)"
        )),
        Some(w) => err(format!(
            "{call}: option `weights` must be \"ema\" or \"live\", got \"{w}\""
        )),
    }
}

fn positive(n: INT, what: &str) -> RhaiResult<usize> {
    if n <= 0 {
        return err(format!("{what}: n must be ≥ 1, got {n}"));
    }
    if n > 1_000_000 {
        return err(format!(
            "{what}: n = {n} is more than 1,000,000 rows at once"
        ));
    }
    Ok(n as usize)
}

fn describe(c: &GanCell) -> String {
    format!(
        "GAN `{}`: G {}; D {}; loss {}, {:?}; step {}, epoch {}",
        c.name,
        super::api_stack::describe(&c.gan.spec.g),
        super::api_stack::describe(&c.gan.spec.d),
        c.gan.spec.loss.name(),
        c.gan.spec.scheme,
        c.gan.step,
        c.gan.epoch
    )
}

/// Parses a `--set` value as the type of the recipe's default.
fn parse_param(name: &str, text: &str, default: &Dynamic) -> RhaiResult<Dynamic> {
    let bad = |want: &str| {
        err(format!(
            "--set {name}={text}: the recipe's default is {} so this must be {want}",
            type_name(default)
        ))
    };
    if default.is_int() {
        text.trim()
            .parse::<INT>()
            .map(Dynamic::from)
            .or_else(|_| bad("an integer"))
    } else if default.is_float() {
        text.trim()
            .parse::<FLOAT>()
            .map(Dynamic::from)
            .or_else(|_| bad("a number"))
    } else if default.is_bool() {
        text.trim()
            .parse::<bool>()
            .map(Dynamic::from)
            .or_else(|_| bad("true or false"))
    } else {
        Ok(Dynamic::from(text.to_string()))
    }
}
