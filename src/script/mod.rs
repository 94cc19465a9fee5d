//! The Rhai DSL: the only module that knows Rhai. A script declares stacks, games, optimizers and
//! schedules and trains them; outputs go through a [`Host`] the front end provides.

pub mod api_data;
pub mod api_data_sets;
pub mod api_eval;
pub mod api_figures;
pub mod api_image;
pub mod api_output;
pub mod api_paper;
pub mod api_plot;
pub mod api_report;
pub mod api_stack;
pub mod api_study;
pub mod api_theory;
pub mod api_train;
pub mod budget;
pub mod docs;
pub mod error;
pub mod figure_options;
pub mod host;
pub mod option_struct;
pub mod options;
pub mod paper_args;
pub mod params;
pub mod reference;
pub mod resume;
pub mod sandbox;
pub mod site;
pub mod train_loop;
pub mod train_options;
pub mod values;

use std::sync::Arc;

use rhai::{Dynamic, Engine, Scope, AST};

pub use error::{ScriptError, StopToken};
pub use host::{Host, HostConfig, NullSink, Progress, Sink, Stop};

/// Limits that keep a stranger's recipe from exhausting the machine (set explicitly: debug
/// builds of Rhai would otherwise use much lower ones).
pub mod limits {
    pub const CALL_LEVELS: usize = 64;
    pub const EXPR_DEPTH: usize = 128;
    pub const FN_EXPR_DEPTH: usize = 64;
    pub const STRING_SIZE: usize = 1 << 20;
    pub const ARRAY_SIZE: usize = 1_000_000;
    pub const MAP_SIZE: usize = 10_000;
    pub const MODULES: usize = 16;
}

/// A Rhai engine with the whole DSL registered, its limits set, prints routed to the sink and
/// interruption wired to the host's flag.
pub fn build_engine(host: &Arc<Host>) -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_call_levels(limits::CALL_LEVELS)
        .set_max_expr_depths(limits::EXPR_DEPTH, limits::FN_EXPR_DEPTH)
        .set_max_string_size(limits::STRING_SIZE)
        .set_max_array_size(limits::ARRAY_SIZE)
        .set_max_map_size(limits::MAP_SIZE)
        .set_max_modules(limits::MODULES)
        .set_strict_variables(true);
    // `eval` would run text that was never checked as part of the recipe.
    engine.disable_symbol("eval");
    // `import` reads only from the recipe's own folder.
    engine.set_module_resolver(sandbox::SandboxResolver::new(host.clone()));
    let h = host.clone();
    engine.on_print(move |s| h.sink.text(s));
    let h = host.clone();
    engine.on_debug(move |s, _, pos| h.sink.text(&format!("[{pos}] {s}")));
    // A stop is raised where the script reads a variable when it can be: Rhai gives that error
    // the variable's position, whereas `on_progress` errors raised inside an index operation
    // (`m[k] = v`) carry none. `on_progress` finds the stop and, if no variable is read within
    // STOP_GRACE_OPS operations (`loop {}`), raises it itself. `seen_at`: the operation count
    // at which this evaluation first saw the stop (0: not yet).
    let seen_at = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (h, seen) = (host.clone(), seen_at.clone());
    // `on_var` is marked deprecated only as "volatile"; it is the one hook that sees a position.
    #[allow(deprecated)]
    engine.on_var(move |_, _, _| match h.pending_stop() {
        Some(stop) => {
            seen.store(0, std::sync::atomic::Ordering::Relaxed);
            Err(stop_error(&h, stop))
        }
        None => Ok(None),
    });
    let h = host.clone();
    engine.on_progress(move |ops| {
        use std::sync::atomic::Ordering::Relaxed;
        // The interrupt flag is cheap to read; the clock (for `--timeout`) is read every 256
        // operations, the process's memory every 65536 (a map grown by `m[k] = v` escapes
        // Rhai's own size limits). Both set flags that `pending_stop` reads.
        if ops % 256 == 0 {
            h.timed_out();
        }
        if ops % 65536 == 0 {
            h.memory_exceeded();
        }
        let stop = h.pending_stop()?;
        let first = seen_at.load(Relaxed);
        // a smaller count than the one recorded is a new evaluation
        if first == 0 || first > ops {
            seen_at.store(ops, Relaxed);
            return None;
        }
        if ops - first < STOP_GRACE_OPS {
            return None;
        }
        seen_at.store(0, Relaxed);
        Some(stop_token(&h, stop))
    });
    api_stack::register(&mut engine, host);
    api_image::register(&mut engine, host);
    api_data::register(&mut engine, host);
    api_data_sets::register(&mut engine, host);
    api_train::register(&mut engine, host);
    train_loop::register(&mut engine, host);
    api_output::register(&mut engine, host);
    api_paper::register(&mut engine, host);
    api_eval::register(&mut engine, host);
    api_report::register(&mut engine);
    resume::register(&mut engine, host);
    // The front ends' tests need a cell that panics, and no real input should: only they set
    // this variable. The function is not documented and never registered otherwise.
    if std::env::var_os("GAN_TEST_PANIC").is_some() {
        engine.register_fn("test_panic", |m: &str| -> () { panic!("{m}") });
    }
    engine
}

/// Operations `on_progress` waits, once it has found a stop, for a variable read to raise it
/// with a position (microseconds of script).
const STOP_GRACE_OPS: u64 = 256;

/// The token a stopped script's error carries: which limit stopped it, and the message.
fn stop_token(host: &Host, stop: Stop) -> Dynamic {
    Dynamic::from(StopToken {
        stop,
        message: host.stop_message(stop),
    })
}

/// The error that stops a script; Rhai fills in the position where it is raised.
fn stop_error(host: &Host, stop: Stop) -> Box<rhai::EvalAltResult> {
    rhai::EvalAltResult::ErrorTerminated(stop_token(host, stop), rhai::Position::NONE).into()
}

/// Compiles `text` (named `source_name` in errors) against the variables in `scope`.
pub fn compile(
    engine: &Engine,
    scope: &Scope,
    source_name: &str,
    text: &str,
) -> Result<AST, ScriptError> {
    engine
        .compile_with_scope(scope, text)
        .map_err(|e| ScriptError::from_parse(&e, source_name, text))
}

/// Runs a whole recipe.
pub fn run(host: &Arc<Host>, source_name: &str, text: &str) -> Result<Dynamic, ScriptError> {
    let engine = build_engine(host);
    let mut scope = Scope::new();
    let ast = compile(&engine, &scope, source_name, text)?;
    let _budget = budget::enter(host);
    host.set_source(source_name, text);
    let out = engine
        .eval_ast_with_scope::<Dynamic>(&mut scope, &ast)
        .map_err(|e| ScriptError::from_eval(&e, source_name, text).stopped_by(host))?;
    for p in host.unused_params() {
        host.sink.text(&format!(
            "warning: --set {p}=… was not used: the recipe has no param(\"{p}\", …)"
        ));
    }
    Ok(out)
}
