//! `gan eval parzen RUN_DIR`: the paper's Parzen-window log-likelihood of a trained generator;
//! `gan eval classifier RUN_DIR`: Fréchet distance and classifier score on an MNIST classifier.

use std::path::{Path, PathBuf};

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
        /// MNIST directory (default: the one the run used, else GAN_DATA_DIR, else ./data/mnist).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Fréchet distance (penultimate features of an MNIST classifier the engine trains and caches)
    /// and classifier score of generator samples, with the real data's own values as references.
    Classifier {
        /// A run directory (reads weights.safetensors) or a .safetensors weights file.
        run: PathBuf,
        /// Generator samples to evaluate.
        #[arg(long, default_value_t = 10_000)]
        samples: usize,
        /// Print one JSON object: {"fd", "score", "n_samples", "ref_test_score", "ref_train_fd",
        /// "accuracy", "secs", "classifier_dir", "classifier_trained"}.
        #[arg(long)]
        json: bool,
        /// MNIST directory (default: the one the run used, else GAN_DATA_DIR, else ./data/mnist).
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
            gan::eval::check_sample_count(samples, model.data_dim())
                .with_context(|| format!("--samples {samples}"))?;
            let dir = data_dir_for(&run, data_dir);
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
        EvalCommand::Classifier {
            run,
            samples,
            json,
            data_dir,
        } => classifier(&run, samples, json, data_dir),
    }
}

/// The MNIST directory to evaluate a run against ([`super::run_data_dir`]): `--data-dir`, else
/// the default; the one the run recorded in its `config.json` is only named in a note.
fn data_dir_for(run: &Path, flag: Option<PathBuf>) -> PathBuf {
    let recorded = || {
        let bytes = super::resume::read_config(&run.join("config.json")).ok()?;
        let config = serde_json::from_slice::<serde_json::Value>(&bytes).ok()?;
        super::resume::invocation(&config).ok()?.data_dir
    };
    super::run_data_dir(flag.clone(), flag.is_none().then(recorded).flatten())
}

fn classifier(
    run: &Path,
    samples: usize,
    json: bool,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        samples >= 2,
        "--samples must be at least 2 (a covariance needs 2 rows), got {samples}"
    );
    let weights = weights_of(run)?;
    let mut model = gan::checkpoint::read_gan(&weights)
        .with_context(|| format!("loading the generator from {}", weights.display()))?;
    gan::eval::check_sample_count(samples, model.data_dim())
        .with_context(|| format!("--samples {samples}"))?;
    let dir = data_dir_for(run, data_dir);
    // Progress and cache messages go to stderr so that --json output stays one object.
    let ev = gan::eval::MnistEvaluator::open(&dir, &mut |line| eprintln!("{line}"))?;
    let r = ev.evaluate_gan(&mut model, samples)?;
    if json {
        let mut v = serde_json::to_value(&r)?;
        v["classifier_dir"] = ev.cache_dir.display().to_string().into();
        v["classifier_trained"] = ev.trained.into();
        println!("{v}");
    } else {
        println!(
            "Fréchet distance: {:.3} (real train[0:10000] vs test: {:.3})",
            r.fd, r.ref_train_fd
        );
        println!(
            "classifier score: {:.3} (real test images: {:.3}; at most 10)",
            r.score, r.ref_test_score
        );
        println!(
            "{} samples, {:.2} s; classifier test accuracy {:.4} ({})",
            r.n_samples,
            r.secs,
            r.accuracy,
            ev.cache_dir.display()
        );
    }
    Ok(())
}

/// The weights a run left: `weights.safetensors` once training finished, else the model of the
/// newest complete checkpoint (a run still going, or stopped).
fn weights_of(run: &Path) -> anyhow::Result<PathBuf> {
    if !run.is_dir() {
        // A weights file named on the command line is the user's own choice: a symlink there is
        // followed here (a symlink inside a run directory is not: the read refuses it).
        return Ok(run.canonicalize().unwrap_or_else(|_| run.to_path_buf()));
    }
    let final_weights = run.join("weights.safetensors");
    if final_weights.exists() {
        return Ok(final_weights);
    }
    match gan::checkpoint::latest_checked(run.join("checkpoints"))? {
        Some(ckpt) => Ok(ckpt.join(gan::checkpoint::MODEL_FILE)),
        None => anyhow::bail!(
            "{}: no weights.safetensors and no complete checkpoint in checkpoints/",
            run.display()
        ),
    }
}
