//! Image stacks: `stack([c, h, w])` and the image layers `conv`, `conv_transpose`, `batch_norm`,
//! `reshape`, `flatten`, `upsample`, `avg_pool`, `max_pool`, `channel_maxout`, and `summary()` (layer, output shape, parameters). Each image layer's
//! output shape is computed as it is declared, so a misfit is an error at that layer's call.

use std::sync::Arc;

use rhai::{Array, Engine, Map, NativeCallContext, INT};
use serde::{Deserialize, Serialize};

use super::api_stack::{push, size};
use super::host::Host;
use super::option_struct::{self, Count, Number};
use super::options::{err, RhaiResult};
use super::values::StackBuilder;
use crate::engine::layers::{Shape, MAX_SIDE};
use crate::engine::spec::ConvSpec;
use crate::engine::{LayerSpec, StackSpec};

/// Pushes `l` and computes its output shape now: a misfit fails at this call.
fn push_checked(
    h: &Host,
    ctx: &NativeCallContext,
    s: &mut StackBuilder,
    l: LayerSpec,
) -> RhaiResult<StackBuilder> {
    let out = push(h, ctx, s, l);
    match out.spec.try_layer_shapes() {
        Err(e) if e.layer == Some(out.spec.layers.len() - 1) => err(e.to_string()),
        _ => Ok(out),
    }
}

fn side(what: &str, v: INT) -> RhaiResult<usize> {
    let n = size(what, v)?;
    if n > MAX_SIDE {
        return err(format!("{what} must be at most {MAX_SIDE}, got {v}"));
    }
    Ok(n)
}

/// `stack([c, h, w])`: rows of `c·h·w` values seen as images (a leading `reshape`).
fn image_stack(h: &Host, ctx: &NativeCallContext, dims: Array) -> RhaiResult<StackBuilder> {
    let d: Vec<INT> = dims.iter().filter_map(|v| v.as_int().ok()).collect();
    if d.len() != 3 || dims.len() != 3 {
        return err(format!(
            "stack() takes a feature count or an image shape [channels, height, width], got an array of {} value(s)",
            dims.len()
        ));
    }
    let (c, hh, w) = (
        side("stack channels", d[0])?,
        side("stack height", d[1])?,
        side("stack width", d[2])?,
    );
    let n = c
        .checked_mul(hh)
        .and_then(|v| v.checked_mul(w))
        .filter(|&n| n as u64 <= crate::engine::spec::MAX_PARAMS as u64)
        .map_or_else(
            || err(format!("stack image [{c}, {hh}, {w}] is too large")),
            Ok,
        )?;
    let origin = h.site(ctx.call_position());
    Ok(StackBuilder {
        spec: StackSpec {
            input: n,
            layers: vec![LayerSpec::Reshape { c, h: hh, w }],
        },
        positions: vec![origin.clone()],
        origin,
    })
}

/// `conv(out, k, #{…})`'s options.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ConvOptions {
    stride: Count<1, MAX_SIDE_U64>,
    /// Zeros added on each side.
    padding: Count<0, MAX_SIDE_U64>,
    bias: bool,
    /// Weights uniform on ±irange (pylearn2's init) instead of `N(0, 0.02²)`.
    irange: Option<Number>,
    /// One bias per output value (pylearn2's `tied_b: 0`) instead of one per channel.
    untied_bias: bool,
}

impl Default for ConvOptions {
    fn default() -> Self {
        ConvOptions {
            stride: Count(1),
            padding: Count(0),
            bias: true,
            irange: None,
            untied_bias: false,
        }
    }
}

/// `conv_transpose(out, k, #{…})`'s options.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ConvTransposeOptions {
    stride: Count<1, MAX_SIDE_U64>,
    padding: Count<0, MAX_SIDE_U64>,
    /// Extra rows and columns on one side of the output (below the stride).
    output_padding: Count<0, MAX_SIDE_U64>,
    bias: bool,
    /// As [`ConvOptions::irange`].
    irange: Option<Number>,
    /// As [`ConvOptions::untied_bias`].
    untied_bias: bool,
}

impl Default for ConvTransposeOptions {
    fn default() -> Self {
        ConvTransposeOptions {
            stride: Count(1),
            padding: Count(0),
            output_padding: Count(0),
            bias: true,
            irange: None,
            untied_bias: false,
        }
    }
}

/// `max_pool(k, s, #{…})`'s options.
#[derive(Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct MaxPoolOptions {
    /// Round the output side up, as pylearn2's cuda-convnet pooling does (the last window may
    /// hang over the edge); the default rounds down, as PyTorch does.
    ceil: bool,
}

const MAX_SIDE_U64: u64 = MAX_SIDE as u64;

fn conv_spec(
    call: &'static str,
    out: INT,
    k: INT,
    opts: &Map,
    transpose: bool,
) -> RhaiResult<ConvSpec> {
    let (stride, padding, output_padding, bias, irange, untied_bias) = if transpose {
        let o: ConvTransposeOptions = option_struct::parse(opts, call)?;
        (
            o.stride,
            o.padding,
            o.output_padding,
            o.bias,
            o.irange,
            o.untied_bias,
        )
    } else {
        let o: ConvOptions = option_struct::parse(opts, call)?;
        (
            o.stride,
            o.padding,
            Count(0),
            o.bias,
            o.irange,
            o.untied_bias,
        )
    };
    Ok(ConvSpec {
        out_channels: side(&format!("{call} output channels"), out)?,
        kernel: side(&format!("{call} kernel"), k)?,
        stride: stride.try_get("stride", call)?,
        padding: padding.try_get("padding", call)?,
        output_padding: output_padding.try_get("output_padding", call)?,
        bias,
        irange: irange.map(|r| r.0),
        untied_bias,
    })
}

/// `batch_norm(#{…})`'s options (PyTorch's conventions).
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct BatchNormOptions {
    /// The new batch's weight in the running statistics.
    momentum: Number,
    eps: Number,
}

impl Default for BatchNormOptions {
    fn default() -> Self {
        BatchNormOptions {
            momentum: Number(0.1),
            eps: Number(1e-5),
        }
    }
}

/// The table `summary()` returns: one line per layer with its output shape and parameters.
pub fn summary(s: &StackSpec) -> String {
    let mut rows = vec![(
        "input".to_string(),
        Shape::Flat(s.input).to_string(),
        String::new(),
    )];
    let mut shape = Shape::Flat(s.input);
    let mut total = 0usize;
    for (i, l) in s.layers.iter().enumerate() {
        let kind = l.kind();
        let (out, params) = match kind.output_shape(shape) {
            Ok(o) => {
                let p = kind.param_count(shape).unwrap_or(usize::MAX);
                total = total.saturating_add(p);
                (o.to_string(), p.to_string())
            }
            Err(e) => (format!("error: {e}"), "?".into()),
        };
        rows.push((format!("{} {}", i + 1, kind.name()), out.clone(), params));
        match kind.output_shape(shape) {
            Ok(o) => shape = o,
            Err(_) => break,
        }
    }
    let w0 = rows
        .iter()
        .map(|r| r.0.chars().count())
        .max()
        .unwrap_or(0)
        .max(5);
    let w1 = rows
        .iter()
        .map(|r| r.1.chars().count())
        .max()
        .unwrap_or(0)
        .max(12);
    let mut out = format!("{:<w0$}  {:<w1$}  parameters\n", "layer", "output shape");
    for (a, b, c) in &rows {
        out.push_str(format!("{a:<w0$}  {b:<w1$}  {c}").trim_end());
        out.push('\n');
    }
    out.push_str(&format!("total parameters: {total}"));
    out
}

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    let h = host.clone();
    engine.register_fn("stack", move |ctx: NativeCallContext, dims: Array| {
        image_stack(&h, &ctx, dims)
    });
    for transpose in [false, true] {
        let name = if transpose { "conv_transpose" } else { "conv" };
        let call = if transpose {
            "conv_transpose()"
        } else {
            "conv()"
        };
        let make = move |out: INT, k: INT, opts: &Map| -> RhaiResult<LayerSpec> {
            let c = conv_spec(call, out, k, opts, transpose)?;
            Ok(if transpose {
                LayerSpec::ConvTranspose(c)
            } else {
                LayerSpec::Conv(c)
            })
        };
        let h = host.clone();
        engine.register_fn(
            name,
            move |ctx: NativeCallContext, s: &mut StackBuilder, out: INT, k: INT, opts: Map| {
                push_checked(&h, &ctx, s, make(out, k, &opts)?)
            },
        );
        let h = host.clone();
        engine.register_fn(
            name,
            move |ctx: NativeCallContext, s: &mut StackBuilder, out: INT, k: INT| {
                push_checked(&h, &ctx, s, make(out, k, &Map::new())?)
            },
        );
    }
    let bn = |opts: &Map| -> RhaiResult<LayerSpec> {
        let o: BatchNormOptions = option_struct::parse(opts, "batch_norm()")?;
        Ok(LayerSpec::BatchNorm {
            momentum: o.momentum.0,
            eps: o.eps.0,
        })
    };
    let h = host.clone();
    engine.register_fn(
        "batch_norm",
        move |ctx: NativeCallContext, s: &mut StackBuilder, opts: Map| {
            push_checked(&h, &ctx, s, bn(&opts)?)
        },
    );
    let h = host.clone();
    engine.register_fn(
        "batch_norm",
        move |ctx: NativeCallContext, s: &mut StackBuilder| {
            push_checked(&h, &ctx, s, bn(&Map::new())?)
        },
    );
    let h = host.clone();
    engine.register_fn(
        "reshape",
        move |ctx: NativeCallContext, s: &mut StackBuilder, c: INT, hh: INT, w: INT| {
            let l = LayerSpec::Reshape {
                c: side("reshape channels", c)?,
                h: side("reshape height", hh)?,
                w: side("reshape width", w)?,
            };
            push_checked(&h, &ctx, s, l)
        },
    );
    let h = host.clone();
    engine.register_fn(
        "flatten",
        move |ctx: NativeCallContext, s: &mut StackBuilder| {
            push_checked(&h, &ctx, s, LayerSpec::Flatten)
        },
    );
    type Make = fn(usize, usize) -> LayerSpec;
    let one: [(&str, &str, Make); 3] = [
        ("upsample", "upsample scale", |a, _| LayerSpec::Upsample {
            scale: a,
        }),
        ("avg_pool", "avg_pool window", |a, _| LayerSpec::AvgPool {
            k: a,
        }),
        ("channel_maxout", "channel_maxout pieces", |a, _| {
            LayerSpec::ChannelMaxout { pieces: a }
        }),
    ];
    for (name, what, make) in one {
        let h = host.clone();
        engine.register_fn(
            name,
            move |ctx: NativeCallContext, s: &mut StackBuilder, a: INT| {
                push_checked(&h, &ctx, s, make(side(what, a)?, 0))
            },
        );
    }
    let max_pool = |k: INT, stride: INT, opts: &Map| -> RhaiResult<LayerSpec> {
        let o: MaxPoolOptions = option_struct::parse(opts, "max_pool()")?;
        Ok(LayerSpec::MaxPool {
            k: side("max_pool window", k)?,
            stride: side("max_pool stride", stride)?,
            ceil: o.ceil,
        })
    };
    let h = host.clone();
    engine.register_fn(
        "max_pool",
        move |ctx: NativeCallContext, s: &mut StackBuilder, k: INT, stride: INT| {
            push_checked(&h, &ctx, s, max_pool(k, stride, &Map::new())?)
        },
    );
    let h = host.clone();
    engine.register_fn(
        "max_pool",
        move |ctx: NativeCallContext, s: &mut StackBuilder, k: INT, stride: INT, opts: Map| {
            push_checked(&h, &ctx, s, max_pool(k, stride, &opts)?)
        },
    );
    engine.register_fn("summary", |s: &mut StackBuilder| summary(&s.spec));
}
