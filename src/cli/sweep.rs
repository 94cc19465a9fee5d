//! `gan sweep RECIPE --set a=1,2 --seed 1..5 …` and its subcommands `task`, `status`, `resume`:
//! a thin front end over `gan::sweep`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};

use gan::session::read_recipe;
use gan::sweep::{grid, local, plan::EVALS, task, Plan, Status, Sweep};

use super::signals;

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub command: Option<SweepCommand>,
    #[command(flatten)]
    pub new: NewSweep,
}

/// A new sweep.
#[derive(Args, Debug)]
pub struct NewSweep {
    /// The recipe (.rhai).
    #[arg(required = true)]
    pub recipe: Option<PathBuf>,
    /// A parameter the recipe reads with param(NAME, …): --set lr=0.1,0.01 sweeps both values,
    /// --set epochs=5 fixes one (repeatable; every combination is run).
    #[arg(long = "set", value_name = "NAME=V1,V2,…")]
    pub set: Vec<String>,
    /// Seeds: a..b (inclusive) or a list 1,2,5.
    #[arg(long, required = true)]
    pub seed: Option<String>,
    /// Tasks run at once by the local executor (the cores are split between them).
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Where the tasks run: local worker processes, or one Slurm job array (`--jobs` caps how
    /// many array tasks run at once).
    #[arg(long, value_enum, default_value_t = Executor::Local)]
    pub executor: Executor,
    #[command(flatten)]
    pub slurm: SlurmArgs,
    /// Evaluations after training, into each run directory: parzen, classifier (MNIST).
    #[arg(long, value_delimiter = ',')]
    pub eval: Vec<String>,
    /// Print the task table and stop.
    #[arg(long)]
    pub dry_run: bool,
    /// Sweep folder (default: sweeps/<recipe stem>, or the first free sweeps/<stem>-2, …).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum Executor {
    Local,
    Slurm,
}

/// Options of the Slurm executor.
#[derive(Args, Debug, Clone)]
pub struct SlurmArgs {
    /// Further sbatch options, e.g. "--time=60 --partition=gpu" (split at spaces).
    #[arg(long, value_name = "OPTIONS", allow_hyphen_values = true)]
    pub slurm_args: Option<String>,
    /// With --executor slurm: wait until the job arrays end, then print the tally.
    #[arg(long)]
    pub wait: bool,
}

#[derive(Subcommand, Debug)]
pub enum SweepCommand {
    /// Run task I of the sweep in DIR: nothing if finished, resume if started, else run; then
    /// its evaluations.
    Task { dir: PathBuf, index: usize },
    /// Each task's state, read from its run directory's status.json.
    Status { dir: PathBuf },
    /// Run the tasks not finished yet.
    Resume {
        dir: PathBuf,
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        #[arg(long, value_enum, default_value_t = Executor::Local)]
        executor: Executor,
        #[command(flatten)]
        slurm: SlurmArgs,
    },
}

pub fn main(args: SweepArgs) -> anyhow::Result<()> {
    match args.command {
        Some(SweepCommand::Task { dir, index }) => {
            forward_stop_signals();
            let sweep = Sweep::load(&dir)?;
            let code = task::run_task(&sweep, index, &exe()?)?;
            if signals::last() == Some(signals::SIGUSR1) && task::STOPPED_CODES.contains(&code) {
                match gan::sweep::slurm::requeue_self() {
                    Ok(Some(job)) => {
                        eprintln!("requeued Slurm job {job}: it resumes from the checkpoint")
                    }
                    Ok(None) => {}
                    Err(e) => eprintln!("warning: could not requeue the job: {e:#}"),
                }
            }
            std::process::exit(code)
        }
        Some(SweepCommand::Status { dir }) => status(&Sweep::load(&dir)?),
        Some(SweepCommand::Resume {
            dir,
            jobs,
            executor,
            slurm,
        }) => {
            let sweep = Sweep::load(&dir)?;
            let todo = gan::sweep::unfinished(&sweep)?;
            println!(
                "{}: {} of {} tasks to finish",
                dir.display(),
                todo.len(),
                sweep.plan.tasks.len()
            );
            execute(&sweep, &todo, jobs, executor, &slurm)
        }
        None => new_sweep(args.new),
    }
}

fn exe() -> anyhow::Result<PathBuf> {
    std::env::current_exe().context("finding the gan binary")
}

/// Stop signals reach the children (each in its own process group) once; no new task starts.
fn forward_stop_signals() {
    signals::on_signals(&signals::STOP_SIGNALS, |s| {
        eprintln!(
            "\n{}: the running tasks stop at the next step boundary and checkpoint",
            signals::name(s)
        );
        gan::sweep::children::forward(s);
    });
}

fn new_sweep(args: NewSweep) -> anyhow::Result<()> {
    let recipe = args.recipe.expect("clap requires it");
    let text = read_recipe(&recipe)?;
    let stem = recipe
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sweep".into());
    let axes = args
        .set
        .iter()
        .map(|s| grid::parse_axis(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let seeds = grid::parse_seeds(args.seed.as_deref().expect("clap requires it"))?;
    for e in &args.eval {
        if !EVALS.contains(&e.as_str()) {
            bail!("--eval {e}: unknown (known: {})", EVALS.join(", "));
        }
    }
    check_names_read(&recipe, &text, &axes)?;
    let plan = Plan::new(
        std::env::args().collect(),
        &stem,
        &text,
        axes,
        seeds,
        args.eval.clone(),
    )?;
    if args.dry_run {
        println!("{} tasks:", plan.tasks.len());
        for (i, t) in plan.tasks.iter().enumerate() {
            println!("{i:>5}  {}", t.name);
        }
        return Ok(());
    }
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| gan::rundir::first_free(Path::new("sweeps"), &stem));
    let sweep = Sweep::create(&dir, &text, plan)?;
    println!(
        "sweep {}: {} tasks, {} at a time{}",
        dir.display(),
        sweep.plan.tasks.len(),
        args.jobs,
        match args.executor {
            Executor::Local => format!(" ({} threads each)", local::threads_per_job(args.jobs)),
            Executor::Slurm => " on Slurm".into(),
        }
    );
    let all: Vec<usize> = (0..sweep.plan.tasks.len()).collect();
    execute(&sweep, &all, args.jobs, args.executor, &args.slurm)
}

/// Refuses a swept name the recipe never reads, and a recipe that imports modules (its frozen
/// copy in the sweep folder could not find them).
fn check_names_read(recipe: &Path, text: &str, axes: &[grid::Axis]) -> anyhow::Result<()> {
    let file = recipe.display().to_string();
    let read = gan::script::params::params_read(&file, text)?;
    if let Some(at) = read.imports.first() {
        bail!(
            "{file}:{at}: gan sweep runs a frozen copy of the recipe, which cannot import modules"
        );
    }
    let known: Vec<&str> = read.names.iter().map(String::as_str).collect();
    for a in axes {
        if read.names.contains(&a.name) {
            continue;
        }
        if let Some(at) = read.computed.first() {
            eprintln!(
                "warning: --set {}: not among the names {file} reads literally ({}); its param() at {at} computes a name",
                a.name,
                known.join(", ")
            );
            continue;
        }
        bail!(
            "--set {}: {file} never reads param(\"{}\", …) (it reads: {}); nothing was started",
            a.name,
            a.name,
            if known.is_empty() {
                "no parameters".into()
            } else {
                known.join(", ")
            }
        );
    }
    Ok(())
}

fn execute(
    sweep: &Sweep,
    todo: &[usize],
    jobs: usize,
    executor: Executor,
    slurm: &SlurmArgs,
) -> anyhow::Result<()> {
    if executor == Executor::Local {
        return execute_local(sweep, todo, jobs);
    }
    if todo.is_empty() {
        return Ok(());
    }
    let extra: Vec<String> = slurm
        .slurm_args
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .map(String::from)
        .collect();
    let started = std::time::Instant::now();
    let ids = gan::sweep::slurm::submit(sweep, todo, Some(jobs), &extra, &exe()?)?;
    println!(
        "submitted {} tasks as Slurm job {}; `gan sweep status {}` follows them",
        todo.len(),
        ids.join(", "),
        sweep.dir.display()
    );
    if slurm.wait {
        gan::sweep::slurm::wait(&ids)?;
        let left = gan::sweep::unfinished(sweep)?.len();
        println!(
            "the jobs ended after {:.1} s; {} of {} tasks done",
            started.elapsed().as_secs_f64(),
            sweep.plan.tasks.len() - left,
            sweep.plan.tasks.len()
        );
    }
    Ok(())
}

fn execute_local(sweep: &Sweep, todo: &[usize], jobs: usize) -> anyhow::Result<()> {
    forward_stop_signals();
    let started = std::time::Instant::now();
    let tally = local::run_local(sweep, todo, jobs, &exe()?, &mut |l| println!("{l}"))?;
    println!(
        "{} done, {} stopped, {} failed, {} not started, in {:.1} s; `gan report {}` tabulates them",
        tally.done,
        tally.stopped,
        tally.failed,
        tally.not_started,
        started.elapsed().as_secs_f64(),
        sweep.dir.display()
    );
    if let Some(sig) = gan::sweep::children::stopping() {
        eprintln!(
            "stopped; `gan sweep resume {}` finishes it",
            sweep.dir.display()
        );
        std::process::exit(signals::exit_status(sig));
    }
    if tally.failed > 0 {
        bail!(
            "{} tasks failed (their logs: {}/logs/)",
            tally.failed,
            sweep.dir.display()
        );
    }
    Ok(())
}

fn status(sweep: &Sweep) -> anyhow::Result<()> {
    let mut counts = std::collections::BTreeMap::new();
    println!(
        "{:>5}  {:<8} {:>8} {:>5}  {:<12} {:<12} task",
        "#", "state", "attempts", "exit", "host", "job"
    );
    for (i, t) in sweep.plan.tasks.iter().enumerate() {
        let s = Status::read(&sweep.run_dir(t))?;
        *counts.entry(s.state.name()).or_insert(0) += 1;
        println!(
            "{i:>5}  {:<8} {:>8} {:>5}  {:<12} {:<12} {}{}",
            s.state.name(),
            s.attempts,
            s.exit_code.map(|c| c.to_string()).unwrap_or("-".into()),
            if s.host.is_empty() { "-" } else { &s.host },
            s.job_id.as_deref().unwrap_or("-"),
            t.name,
            s.message.map(|m| format!("  ({m})")).unwrap_or_default()
        );
    }
    let line: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    println!("{}", line.join(", "));
    Ok(())
}
