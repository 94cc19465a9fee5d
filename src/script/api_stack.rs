//! `stack(n).dense(…).relu()…`: declaring layer stacks.

use std::sync::Arc;

use rhai::{Engine, NativeCallContext, FLOAT, INT};

use super::host::Host;

use super::options::{err, RhaiResult};
use super::values::StackBuilder;
use crate::engine::spec::{check_irange, MAX_PARAMS};
use crate::engine::{LayerSpec, StackSpec};

pub(super) fn size(what: &str, v: INT) -> RhaiResult<usize> {
    if v <= 0 {
        return err(format!("{what} must be a positive integer, got {v}"));
    }
    // A layer wider than a whole stack's parameter budget cannot be built: refusing it here
    // names the call, instead of the arithmetic on it overflowing later.
    if v as u64 > MAX_PARAMS as u64 {
        return err(format!("{what} is too large: {v} (at most {MAX_PARAMS})"));
    }
    usize::try_from(v).or_else(|_| err(format!("{what} is too large: {v}")))
}

fn irange_arg(r: FLOAT) -> RhaiResult<Option<f64>> {
    check_irange(r).or_else(err)?;
    Ok(Some(r))
}

pub(super) fn push(
    h: &Host,
    ctx: &NativeCallContext,
    s: &mut StackBuilder,
    l: LayerSpec,
) -> StackBuilder {
    let mut out = s.clone();
    out.spec.layers.push(l);
    out.positions.push(h.site(ctx.call_position()));
    out
}

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    engine.register_type_with_name::<StackBuilder>("Stack");
    let h = host.clone();
    engine.register_fn(
        "stack",
        move |ctx: NativeCallContext, input: INT| -> RhaiResult<StackBuilder> {
            Ok(StackBuilder {
                spec: StackSpec::new(size("stack input size", input)?),
                positions: vec![],
                origin: h.site(ctx.call_position()),
            })
        },
    );
    let h = host.clone();
    engine.register_fn(
        "dense",
        move |ctx: NativeCallContext, s: &mut StackBuilder, n: INT| -> RhaiResult<StackBuilder> {
            Ok(push(
                &h,
                &ctx,
                s,
                LayerSpec::Dense {
                    units: size("dense units", n)?,
                    irange: None,
                },
            ))
        },
    );
    let h = host.clone();
    engine.register_fn(
        "dense",
        move |ctx: NativeCallContext,
              s: &mut StackBuilder,
              n: INT,
              irange: FLOAT|
              -> RhaiResult<StackBuilder> {
            Ok(push(
                &h,
                &ctx,
                s,
                LayerSpec::Dense {
                    units: size("dense units", n)?,
                    irange: irange_arg(irange)?,
                },
            ))
        },
    );
    let h = host.clone();
    engine.register_fn(
        "maxout",
        move |ctx: NativeCallContext,
              s: &mut StackBuilder,
              u: INT,
              k: INT|
              -> RhaiResult<StackBuilder> {
            Ok(push(
                &h,
                &ctx,
                s,
                LayerSpec::Maxout {
                    units: size("maxout units", u)?,
                    pieces: size("maxout pieces", k)?,
                    irange: None,
                },
            ))
        },
    );
    let h = host.clone();
    engine.register_fn(
        "maxout",
        move |ctx: NativeCallContext,
              s: &mut StackBuilder,
              u: INT,
              k: INT,
              irange: FLOAT|
              -> RhaiResult<StackBuilder> {
            Ok(push(
                &h,
                &ctx,
                s,
                LayerSpec::Maxout {
                    units: size("maxout units", u)?,
                    pieces: size("maxout pieces", k)?,
                    irange: irange_arg(irange)?,
                },
            ))
        },
    );
    for (name, layer) in [
        ("relu", LayerSpec::Relu),
        ("sigmoid", LayerSpec::Sigmoid),
        ("tanh", LayerSpec::Tanh),
    ] {
        let h = host.clone();
        engine.register_fn(name, move |ctx: NativeCallContext, s: &mut StackBuilder| {
            push(&h, &ctx, s, layer.clone())
        });
    }
    let h = host.clone();
    engine.register_fn(
        "leaky_relu",
        move |ctx: NativeCallContext, s: &mut StackBuilder, a: FLOAT| {
            push(&h, &ctx, s, LayerSpec::LeakyRelu { slope: a })
        },
    );
    let h = host.clone();
    engine.register_fn(
        "dropout",
        move |ctx: NativeCallContext,
              s: &mut StackBuilder,
              keep: FLOAT|
              -> RhaiResult<StackBuilder> {
            if !(keep > 0.0 && keep <= 1.0) {
                return err(format!(
                    "dropout takes the keep probability, which must be in (0, 1], got {keep}"
                ));
            }
            Ok(push(&h, &ctx, s, LayerSpec::Dropout { keep }))
        },
    );
    engine.register_get("input", |s: &mut StackBuilder| s.spec.input as INT);
    engine.register_get("layers", |s: &mut StackBuilder| s.spec.layers.len() as INT);
    engine.register_fn("output_size", |s: &mut StackBuilder| -> RhaiResult<INT> {
        s.spec
            .try_output()
            .map(|o| o as INT)
            .or_else(|e| err(e.to_string()))
    });
    engine.register_fn("params", |s: &mut StackBuilder| -> RhaiResult<INT> {
        s.spec.try_shapes().or_else(|e| err(e.to_string()))?;
        Ok(s.spec.param_count() as INT)
    });
    engine.register_fn("to_string", |s: &mut StackBuilder| describe(&s.spec));
    engine.register_fn("to_debug", |s: &mut StackBuilder| describe(&s.spec));
}

/// `stack(784).dropout(0.8).maxout(240, 5)…  [… params]`
pub use crate::learner::describe_stack as describe;
