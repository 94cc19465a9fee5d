//! `gan eval parzen RUN_DIR`: the paper's Parzen-window log-likelihood of a trained generator.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use gan::data::{load_mnist, MnistSplit};

#[derive(Subcommand, Debug)]
pub enum EvalCommand {
    /// Parzen-window log-likelihood on the MNIST test set (σ chosen on train[50000:51000]).
    Parzen {
        /// A run directory (reads weights.safetensors) or a .safetensors weights file.
        run: PathBuf,
        /// Generator samples in the window.
        #[arg(long, default_value_t = 10_000)]
        samples: usize,
        /// Use this σ instead of choosing one on the validation images.
        #[arg(long)]
        sigma: Option<f64>,
        /// Print one JSON object: {"ll", "se", "sigma", "n_samples", "n_test", "secs"}.
        #[arg(long)]
        json: bool,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

pub fn main(cmd: EvalCommand) -> anyhow::Result<()> {
    match cmd {
        EvalCommand::Parzen {
            run,
            samples,
            sigma,
            json,
            data_dir,
        } => {
            let weights = weights_of(&run)?;
            let mut model = gan::checkpoint::read_gan(&weights)
                .with_context(|| format!("loading the generator from {}", weights.display()))?;
            let dir = super::data_dir(data_dir);
            let valid = load_mnist(&dir, MnistSplit::Valid)?;
            let test = load_mnist(&dir, MnistSplit::Test)?;
            let r = gan::eval::gan_parzen(&mut model, &valid, &test, samples, sigma)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"ll": r.ll, "se": r.se, "sigma": r.sigma, "n_samples": r.n_samples, "n_test": r.n_test, "secs": r.secs})
                );
            } else {
                println!(
                    "Parzen log-likelihood: {:.1} ± {:.1} (σ = {:.4}, {} samples, {} test images, {:.2} s)",
                    r.ll, r.se, r.sigma, r.n_samples, r.n_test, r.secs
                );
                println!(
                    "paper (Table 1): GAN 225 ± 2; real MNIST train[0:10000] as samples: ≈ 241 ± 2"
                );
            }
            Ok(())
        }
    }
}

/// The weights a run left: `weights.safetensors` once training finished, else the model of the
/// newest complete checkpoint (a run still going, or stopped).
fn weights_of(run: &std::path::Path) -> anyhow::Result<PathBuf> {
    if !run.is_dir() {
        return Ok(run.to_path_buf());
    }
    let final_weights = run.join("weights.safetensors");
    if final_weights.exists() {
        return Ok(final_weights);
    }
    match gan::checkpoint::latest(&run.join("checkpoints")) {
        Some(ckpt) => Ok(ckpt.join(gan::checkpoint::MODEL_FILE)),
        None => anyhow::bail!(
            "{}: no weights.safetensors and no complete checkpoint in checkpoints/",
            run.display()
        ),
    }
}
