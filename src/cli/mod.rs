//! Command-line front end: a thin renderer over the library's session.

pub mod bench;
pub mod bench_dcgan;
pub mod data;
pub mod eval;
pub mod kernel;
pub mod repl;
pub mod report;
pub mod resume;
pub mod run;
pub mod signals;
pub mod sink;
pub mod sweep;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use gan::script::HostConfig;

#[derive(Parser, Debug)]
#[command(
    name = "gan",
    version,
    about = "A scriptable GAN engine: Goodfellow et al. 2014 on dfdx, driven by Rhai recipes"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a recipe script; outputs go to a run directory (default runs/<recipe stem>/).
    Run(run::RunArgs),
    /// Continue a stopped run from its checkpoints (same recipe copy, seed and --set values).
    Resume(resume::ResumeArgs),
    /// An interactive session: multi-line input, history, Tab completion, Ctrl-C stops a cell.
    Repl(repl::ReplArgs),
    /// A Jupyter kernel for the DSL: `gan kernel install`, then pick "GAN (Rhai)" in Jupyter.
    Kernel(kernel::KernelArgs),
    /// Measure the engine's speed on the paper's MNIST GAN (bench/README.md compares it with PyTorch).
    Bench(bench::BenchArgs),
    /// Run a recipe over a grid of --set values and seeds (locally); `gan sweep status|resume|task DIR`.
    Sweep(sweep::SweepArgs),
    /// The results table of sweeps: mean ± std over the seeds, per swept value.
    Report(report::ReportArgs),
    /// Datasets: download and verify.
    Data {
        #[command(subcommand)]
        command: data::DataCommand,
    },
    /// Evaluate a trained generator.
    Eval {
        #[command(subcommand)]
        command: eval::EvalCommand,
    },
    /// Print the DSL reference as Markdown (the text of docs/dsl.md; `:help NAME` in the REPL).
    Docs,
}

/// The MNIST directory: `--data-dir`, else `GAN_DATA_DIR`, else `./data/mnist`.
pub fn data_dir(flag: Option<PathBuf>) -> PathBuf {
    gan::data::resolve_data_dir(flag.as_deref())
}

/// The MNIST directory for an existing run (`gan resume`, `gan eval`): `--data-dir`, else the
/// default (`GAN_DATA_DIR`, `./data/mnist`). Never the directory the run's `config.json`
/// records: that file is inside the run directory, and whoever wrote the directory (it may have
/// come from someone else) could have pointed it anywhere. When the recorded one differs, a note
/// says how to use it.
pub fn run_data_dir(flag: Option<PathBuf>, recorded: Option<PathBuf>) -> PathBuf {
    if let Some(d) = flag {
        return d;
    }
    let dir = data_dir(None);
    if let Some(r) = recorded.filter(|r| *r != dir && dir.canonicalize().ok().as_ref() != Some(r)) {
        eprintln!(
            "note: the run recorded the data directory {}; run directories are not trusted to \
             choose it, so this reads {} (pass --data-dir {} to use the recorded one)",
            r.display(),
            dir.display(),
            r.display()
        );
    }
    dir
}

/// The flags `gan run` and `gan repl` share: what a script reads from outside.
#[derive(Args, Debug)]
pub struct RecipeArgs {
    /// Seed, overriding the script's seed(…) calls.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Set a parameter read by `param(NAME, default)`: --set epochs=1 (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// MNIST directory (default: GAN_DATA_DIR, else ./data/mnist).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

impl RecipeArgs {
    /// The session's configuration: outputs into `run_dir`, files named after `recipe_name`.
    pub fn host_config(&self, run_dir: PathBuf, recipe_name: String) -> anyhow::Result<HostConfig> {
        Ok(HostConfig {
            run_dir: Some(run_dir),
            data_dir: data_dir(self.data_dir.clone()),
            params: run::parse_sets(&self.set)?,
            seed: self.seed,
            recipe_name,
            ..Default::default()
        })
    }
}
