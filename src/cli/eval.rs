//! `gan eval parzen RUN_DIR`: the paper's Parzen-window log-likelihood of a trained generator;
//! `gan eval classifier RUN_DIR`: Fréchet distance and classifier score on the classifier of the
//! data set the GAN was trained on (MNIST or Fashion-MNIST). Both read the data set and its pixel
//! range from the run's `config.json` and map samples onto the real images' `[0, 1]`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;

use gan::data::{MnistSplit, PixelRange};
use gan::eval::{EvalSet, TrainedOn};
use gan::learner::{checkpoint_dir_name, per_gan};

/// What a weights file (or a run, overriding its `config.json`) was trained on.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct DataFlags {
    /// Pixel range of the generator's samples: unit ([0, 1], sigmoid) or symmetric ([-1, 1],
    /// tanh). Default: what the run's config.json records; unit for a bare weights file.
    #[arg(long, value_parser = parse_range)]
    range: Option<PixelRange>,
    /// Data set to evaluate against, with its own classifier: mnist or fashion-mnist. Default:
    /// what the run's config.json records; mnist for a bare weights file.
    #[arg(long = "data-set", value_parser = parse_set)]
    data_set: Option<EvalSet>,
    /// Which generator samples: ema (the moving average of G a fit with `g_ema` keeps; an error
    /// for a file without one) or live (the trained G). Default: ema when the file holds it.
    #[arg(long, value_enum)]
    weights: Option<WeightsFlag>,
}

/// `--weights`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightsFlag {
    Ema,
    Live,
}

/// Keeps the generator `--weights` names as the one `model` samples with.
fn choose_weights(
    model: &mut gan::engine::Gan,
    flag: Option<WeightsFlag>,
    file: &Path,
) -> anyhow::Result<()> {
    match flag {
        None => {}
        Some(WeightsFlag::Live) => model.g_ema = None,
        Some(WeightsFlag::Ema) => anyhow::ensure!(
            model.g_ema.is_some(),
            "--weights ema: {} holds no averaged generator (train with fit's `g_ema` option)",
            file.display()
        ),
    }
    Ok(())
}

fn parse_range(s: &str) -> Result<PixelRange, String> {
    s.parse().map_err(|e| format!("{e:#}"))
}

fn parse_set(s: &str) -> Result<EvalSet, String> {
    EvalSet::from_key(s).map_err(|e| format!("{e:#}"))
}

#[derive(Subcommand, Debug)]
pub enum EvalCommand {
    /// Parzen-window log-likelihood on the test set of the run's data set, MNIST or Fashion-MNIST
    /// (σ chosen on train[50000:51000]).
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
        /// Which GAN of the run: its weights_<NAME>.safetensors (default: weights.safetensors,
        /// the GAN named `gan`).
        #[arg(long, value_name = "NAME")]
        gan: Option<String>,
        #[command(flatten)]
        data: DataFlags,
    },
    /// Fréchet distance (penultimate features of a classifier of the run's data set, MNIST or
    /// Fashion-MNIST, that the engine trains and caches) and classifier score of generator
    /// samples, with the real data's own values as references.
    Classifier {
        /// A run directory (reads weights.safetensors) or a .safetensors weights file.
        #[arg(required_unless_present = "samples_file")]
        run: Option<PathBuf>,
        /// Score these samples instead of a generator's: a safetensors file with one F32 tensor
        /// `samples`, shape [n, 784] or [n, 1, 28, 28] (another implementation's generator, e.g.
        /// bench/quality/torch_dcgan_mnist.py). Its range and data set come from --range and
        /// --data-set (defaults: unit, mnist).
        #[arg(long, value_name = "FILE", conflicts_with_all = ["run", "gan", "samples"])]
        samples_file: Option<PathBuf>,
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
        /// Which GAN of the run: its weights_<NAME>.safetensors (default: weights.safetensors,
        /// the GAN named `gan`).
        #[arg(long, value_name = "NAME")]
        gan: Option<String>,
        #[command(flatten)]
        data: DataFlags,
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
            gan,
            data,
        } => {
            let weights = weights_of(&run, gan.as_deref())?;
            let on = trained_on(&run, gan.as_deref(), data)?;
            let mut model = gan::checkpoint::read_gan(&weights)
                .with_context(|| format!("loading the generator from {}", weights.display()))?;
            choose_weights(&mut model, data.weights, &weights)?;
            model
                .try_set_path(gan::session::engine_path_from_env())
                .with_context(|| format!("{} on GAN_ENGINE=reference", weights.display()))?;
            gan::eval::check_sample_count(samples, model.data_dim())
                .with_context(|| format!("--samples {samples}"))?;
            let dir = data_dir_for(&run, data_dir);
            let valid = on.set.load(&dir, MnistSplit::Valid)?;
            let test = on.set.load(&dir, MnistSplit::Test)?;
            let r = gan::eval::gan_parzen(&mut model, on.range, &valid, &test, samples, sigma)?;
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
                if on.set == EvalSet::Mnist {
                    println!(
                        "paper (Table 1): GAN 225 ± 2; real MNIST train[0:10000] as samples: ≈ 241 ± 2"
                    );
                }
            }
            Ok(())
        }
        EvalCommand::Classifier {
            run,
            samples_file,
            samples,
            json,
            data_dir,
            gan,
            data,
        } => match (run, samples_file) {
            (_, Some(file)) => classifier_of_file(&file, json, data_dir, data),
            (Some(run), None) => classifier(&run, samples, json, data_dir, gan.as_deref(), data),
            (None, None) => unreachable!("clap requires RUN or --samples-file"),
        },
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

/// `gan eval classifier --samples-file FILE`: the metrics of samples another program made.
fn classifier_of_file(
    file: &Path,
    json: bool,
    data_dir: Option<PathBuf>,
    data: DataFlags,
) -> anyhow::Result<()> {
    let on = TrainedOn {
        set: data.data_set.unwrap_or(EvalSet::Mnist),
        range: data.range.unwrap_or(PixelRange::Unit),
    };
    anyhow::ensure!(
        data.weights.is_none(),
        "--weights chooses a generator's weights; --samples-file has samples, not a generator"
    );
    let dir = super::run_data_dir(data_dir, None);
    let ev = gan::eval::Evaluator::open(on.set, &dir, &mut |line| eprintln!("{line}"))?;
    let samples = gan::eval::read_samples_file(file, ev.classifier.net.input_dim())?;
    let r = ev
        .evaluate_in_range(&samples, on.range)
        .with_context(|| format!("evaluating {}", file.display()))?;
    report(&r, &ev, on, json, None)
}

fn classifier(
    run: &Path,
    samples: usize,
    json: bool,
    data_dir: Option<PathBuf>,
    gan: Option<&str>,
    data: DataFlags,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        samples >= 2,
        "--samples must be at least 2 (a covariance needs 2 rows), got {samples}"
    );
    let weights = weights_of(run, gan)?;
    let on = trained_on(run, gan, data)?;
    let mut model = gan::checkpoint::read_gan(&weights)
        .with_context(|| format!("loading the generator from {}", weights.display()))?;
    choose_weights(&mut model, data.weights, &weights)?;
    model
        .try_set_path(gan::session::engine_path_from_env())
        .with_context(|| format!("{} on GAN_ENGINE=reference", weights.display()))?;
    gan::eval::check_sample_count(samples, model.data_dim())
        .with_context(|| format!("--samples {samples}"))?;
    let dir = data_dir_for(run, data_dir);
    // Progress and cache messages go to stderr so that --json output stays one object.
    let ev = gan::eval::Evaluator::open(on.set, &dir, &mut |line| eprintln!("{line}"))?;
    let r = ev.evaluate_gan(&mut model, samples, on.range)?;
    report(&r, &ev, on, json, Some(model.sampler_name()))
}

/// Prints `gan eval classifier`'s result, as text or one JSON object.
fn report(
    r: &gan::eval::ClassifierMetrics,
    ev: &gan::eval::Evaluator,
    on: TrainedOn,
    json: bool,
    weights: Option<&str>,
) -> anyhow::Result<()> {
    if json {
        let mut v = serde_json::to_value(r)?;
        if let Some(w) = weights {
            v["weights"] = w.into();
        }
        v["data"] = on.set.key().into();
        v["range"] = on.range.name().into();
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
            "{} samples ({} range{}), {:.2} s; {} classifier test accuracy {:.4} ({})",
            r.n_samples,
            on.range,
            weights.map_or(String::new(), |w| format!(", {w} G")),
            r.secs,
            on.set.idx_set().label,
            r.accuracy,
            ev.cache_dir.display()
        );
    }
    Ok(())
}

/// The data set and pixel range `run` (a run directory or a weights file) is evaluated in: the
/// flags where given, else what the run's `config.json` records for the GAN, else (a bare
/// weights file) MNIST in `[0, 1]`. A `config.json` that cannot tell is an error, not a guess:
/// scoring `[-1, 1]` samples as `[0, 1]` ones gives plausible, wrong numbers.
fn trained_on(run: &Path, gan: Option<&str>, flags: DataFlags) -> anyhow::Result<TrainedOn> {
    let recorded = match (flags.range, flags.data_set) {
        (Some(range), Some(set)) => TrainedOn { set, range },
        _ if !run.is_dir() => TrainedOn {
            set: EvalSet::Mnist,
            range: PixelRange::Unit,
        },
        _ => {
            let file = run.join("config.json");
            super::resume::read_config(&file)
                .with_context(|| format!("reading {}", file.display()))
                .and_then(|b| TrainedOn::from_config(&b, gan.unwrap_or("gan"), &file))
                .map_err(|e| {
                    anyhow::anyhow!(
                        "{e:#} (--range and --data-set evaluate the run without its record)"
                    )
                })?
        }
    };
    Ok(TrainedOn {
        set: flags.data_set.unwrap_or(recorded.set),
        range: flags.range.unwrap_or(recorded.range),
    })
}

/// The weights a run left for the GAN named `gan` (default `gan`, whose files carry no suffix):
/// its final weights once training finished, else the model of its newest complete checkpoint
/// (a run still going, or stopped).
fn weights_of(run: &Path, gan: Option<&str>) -> anyhow::Result<PathBuf> {
    if !run.is_dir() {
        anyhow::ensure!(
            gan.is_none(),
            "--gan picks a GAN of a run directory, but {} is a file",
            run.display()
        );
        // A weights file named on the command line is the user's own choice: a symlink there is
        // followed here (a symlink inside a run directory is not: the read refuses it).
        return Ok(run.canonicalize().unwrap_or_else(|_| run.to_path_buf()));
    }
    let name = gan.unwrap_or("gan");
    let final_weights = run.join(per_gan(name, "weights", "safetensors"));
    if final_weights.is_file() {
        return Ok(final_weights);
    }
    if let Some(ckpt) = gan::checkpoint::latest_checked(run.join(checkpoint_dir_name(name)))? {
        return Ok(ckpt.join(gan::checkpoint::MODEL_FILE));
    }
    let names = gan_names(run);
    let which = match gan {
        Some(n) => format!("no GAN named `{n}`"),
        None => "no GAN named `gan` (weights.safetensors or checkpoints/)".into(),
    };
    if names.is_empty() {
        anyhow::bail!(
            "{}: {which}, and no weights_<name>.safetensors or complete checkpoint of another GAN",
            run.display()
        );
    }
    let listed: Vec<String> = names
        .iter()
        .map(|n| format!("{n} ({})", per_gan(n, "weights", "safetensors")))
        .collect();
    anyhow::bail!(
        "{}: {which}; the run holds {}: pick one with --gan NAME",
        run.display(),
        listed.join(", ")
    )
}

/// Names of the GANs a run directory holds weights or checkpoints of, sorted. Only names a
/// recipe could have given (letters, digits, `_`, `-`) count, so a hostile file name is never
/// echoed.
fn gan_names(run: &Path) -> Vec<String> {
    let valid = |n: &str| {
        !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    let mut names = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(run).into_iter().flatten().flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let name = if file == "weights.safetensors" || file == "checkpoints" {
            Some("gan")
        } else if let Some(n) = file
            .strip_prefix("weights_")
            .and_then(|r| r.strip_suffix(".safetensors"))
        {
            Some(n)
        } else {
            file.strip_prefix("checkpoints_")
        };
        match name {
            Some(n)
                if valid(n)
                    && (file.starts_with("weights")
                        || gan::checkpoint::latest(entry.path()).is_some()) =>
            {
                names.insert(n.to_string());
            }
            _ => {}
        }
    }
    names.into_iter().collect()
}
