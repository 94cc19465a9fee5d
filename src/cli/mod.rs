//! Command-line front end: a thin renderer over the library's session.

pub mod bench;
pub mod data;
pub mod eval;
pub mod kernel;
pub mod repl;
pub mod resume;
pub mod run;
pub mod sink;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
}

/// The MNIST directory: `--data-dir`, else `GAN_DATA_DIR`, else `./data/mnist`.
pub fn data_dir(flag: Option<PathBuf>) -> PathBuf {
    gan::data::resolve_data_dir(flag.as_deref())
}
