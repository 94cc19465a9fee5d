//! The paper's figures and theory checks as DSL functions (Goodfellow et al. 2014). The
//! computations live in [`crate::paper`]; these files turn Rhai values into its options, check
//! them (errors carry the call's line:col) and its results back into maps:
//!
//! - [`super::api_theory`]: Proposition 1 and Theorem 1 — `density_ratio_check(gan, mean, std,
//!   #{…})`, `gan.value(data, n)`, `gan.d_range(lo, hi)`, and the helpers `linspace`,
//!   `normal_interval`, `normal_pdf`, `gan.d_on(xs)`, `gan.pg_density(xs)`, `gan.noise(n)`.
//! - [`super::api_study`]: `gan.train_d(data, #{…})` (D alone, G frozen), `gan.train_steps(data,
//!   #{…})` (every step of the game recorded) and `gan.g_grad_norm(#{…})` (the saturation remark
//!   of §3).
//! - [`super::api_figures`]: Figures 1–3 — `figure1_panel`, `figure1`, `figure2`,
//!   `interpolate`, `figure3`.
//! - [`super::api_plot`]: `plot_lines(file, panels, #{…})` draws any per-step series.
//! - here: `load_weights(gan, "file")`, weights from the run or data directory; the argument
//!   checks the topic files share are in [`super::paper_args`].

use std::sync::Arc;

use rhai::Engine;

use super::host::Host;
use super::options::{err, RhaiResult};
use super::paper_args::anyhow_err;
use super::values::GanHandle;

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    super::api_figures::register(engine, host);
    super::api_theory::register(engine);
    super::api_study::register(engine, host);
    super::api_plot::register(engine, host);
    let h = host.clone();
    engine.register_fn(
        "load_weights",
        move |gan: GanHandle, path: &str| -> RhaiResult<()> {
            let mut roots = Vec::new();
            if let Some(run) = &h.run {
                roots.push(run.path().to_path_buf());
            }
            roots.push(h.config.data_dir.clone());
            let file = crate::paper::resolve_weights(path, &roots)
                .or_else(|e| err(format!("load_weights(): {e}")))?;
            let mut c = gan.lock();
            crate::checkpoint::load_weights(&file, &mut c.gan)
                .or_else(|e| anyhow_err("load_weights()", e))?;
            h.sink.text(&format!(
                "loaded weights into `{}` from {}",
                c.name,
                file.display()
            ));
            Ok(())
        },
    );
}
