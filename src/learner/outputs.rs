//! What a learner writes as training goes: after each epoch the metrics line, the warnings and
//! a sample grid; checkpoints at its cadence (keeping the newest few); the final weights.

use anyhow::Result;

use super::run::{checkpoint_dir_name, per_gan, Run};
use super::watch;
use crate::data::Dataset;
use crate::engine::{EpochMetrics, FitSpec, Gan};

/// Per-epoch outputs of GAN `name`: diagnostics added to `m`, the metrics line (unless
/// replaying), the history, warnings and a sample grid from the fixed noise.
pub(super) fn after_epoch(
    run: &Run,
    name: &str,
    (gan, history): (&mut Gan, &mut Vec<EpochMetrics>),
    mut m: EpochMetrics,
    data: &Dataset,
    samples_every: u64,
    write_metrics: bool,
) -> Result<EpochMetrics> {
    watch::observe(gan, data, &mut m);
    m.warnings = watch::diagnose(history, &m, gan.spec.loss);
    history.push(m.clone());
    if let (Some(dir), true) = (&run.dir, write_metrics) {
        dir.append_line(
            &per_gan(name, "metrics", "jsonl"),
            &serde_json::to_string(&m)?,
        )?;
    }
    run.sink.epoch(name, &m);
    for w in &m.warnings {
        let who = if name == "gan" {
            String::new()
        } else {
            format!(" [{name}]")
        };
        run.sink
            .text(&format!("warning{who} (epoch {}): {}", m.epoch, w.message));
    }
    if samples_every > 0 && m.epoch.is_multiple_of(samples_every) {
        if let Some(shape) = data.image {
            let x = gan.sample_fixed(100);
            let png = crate::viz::encode_png(&crate::viz::sample_grid(&x, shape, 10, 1, 2)?)?;
            let file = if name == "gan" {
                format!("samples_epoch_{}.png", m.epoch)
            } else {
                format!("samples_{name}_epoch_{}.png", m.epoch)
            };
            let saved = match &run.dir {
                Some(dir) => Some(dir.write(&file, &png)?),
                None => None,
            };
            run.sink.image(&file, &png, saved.as_deref());
        }
    }
    Ok(m)
}

/// Saves a checkpoint of GAN `name` into `checkpoints/` (`checkpoints_<name>/` for further
/// GANs), keeping the last `keep`. Its manifest records what `gan resume` needs: the fit it
/// belongs to and the metrics file's length.
pub(super) fn checkpoint(
    run: &Run,
    gan: &mut Gan,
    name: &str,
    keep: usize,
    fit_index: u64,
    fit_spec: &FitSpec,
) -> Result<()> {
    let Some(dir) = &run.dir else { return Ok(()) };
    let ckpt_dir = dir.resolve(&checkpoint_dir_name(name))?;
    let metrics_file = per_gan(name, "metrics", "jsonl");
    let extra = serde_json::json!({
        "gan_name": name,
        "recipe": run.recipe_name,
        "metrics_file": metrics_file,
        // `gan resume` cuts the metrics file back to this many lines.
        "metrics_lines": super::metrics_file::count_lines(&dir.resolve(&metrics_file)?)?,
        // Which call of `fit` on this GAN took the checkpoint, and that fit's settings.
        "fit_index": fit_index,
        "fit": fit_spec,
    });
    crate::checkpoint::Checkpoint::save(&ckpt_dir, gan, extra)?;
    crate::checkpoint::keep_last(&ckpt_dir, keep)?;
    Ok(())
}

/// Writes GAN `name`'s weights to `weights.safetensors` (`weights_<name>.safetensors`).
pub(super) fn final_weights(run: &Run, name: &str, gan: &Gan) -> Result<()> {
    if let Some(file) = run.resolve(&per_gan(name, "weights", "safetensors"))? {
        crate::checkpoint::save_weights(&file, gan)?;
    }
    Ok(())
}
