//! `gan report DIR… [--by NAME] [--csv|--md|--json] [--plot FILE --metric NAME]`: the results
//! table of one or more sweeps (see `gan::sweep::report`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use gan::sweep::{plot, render, report};

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Sweep folders (made by `gan sweep`).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Group by this swept name only (repeatable; default: every swept name but the seed).
    #[arg(long)]
    pub by: Vec<String>,
    /// Print CSV (full precision; per metric a _mean and a _std column).
    #[arg(long, conflicts_with_all = ["md", "json"])]
    pub csv: bool,
    /// Print a Markdown table (the default).
    #[arg(long, conflicts_with = "json")]
    pub md: bool,
    /// Print the groups and every run as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write a PNG of --metric against the first grouping name, with the mean learning curves.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// The metric --plot draws (default: the last column of the table).
    #[arg(long)]
    pub metric: Option<String>,
}

pub fn main(args: ReportArgs) -> anyhow::Result<()> {
    let dirs: Vec<&Path> = args.dirs.iter().map(PathBuf::as_path).collect();
    let by = (!args.by.is_empty()).then_some(args.by.as_slice());
    let r = report::report(&dirs, by)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else if args.csv {
        print!("{}", render::csv(&r));
    } else {
        print!("{}", render::markdown(&r));
    }
    if let Some(file) = &args.plot {
        let metric = match &args.metric {
            Some(m) => m.clone(),
            None => r
                .metrics
                .last()
                .cloned()
                .context("--plot: the runs have no metrics")?,
        };
        let img = plot::plot(&r, &metric)?;
        gan::viz::save_png(&img, file)?;
        eprintln!("wrote {}", file.display());
    }
    Ok(())
}
