//! `gan run RECIPE`: runs a recipe into a run directory.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;

use gan::script::{HostConfig, Stop};
use gan::session::{read_recipe, Session};

use super::sink::TerminalSink;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The recipe (.rhai).
    pub recipe: PathBuf,
    /// Run directory (default: runs/<recipe stem>, or the first free runs/<stem>-2, -3, … when an
    /// earlier run holds it).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub common: super::RecipeArgs,
    /// Default checkpoint interval of fit, in epochs (0: none); fit's `checkpoint_every` wins.
    #[arg(long, value_name = "N")]
    pub checkpoint_every: Option<u64>,
    /// Stop the recipe after SECS seconds of running (exit status 124).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Delete the previous run in the run directory first (refused for a directory that does
    /// not look like a run directory).
    #[arg(long)]
    pub force: bool,
}

/// Files that mark a directory as holding a run (written before the recipe's first statement).
const RUN_MARKERS: [&str; 4] = ["config.json", "recipe.rhai", "metrics.jsonl", "checkpoints"];

/// `gan run` starts a new run: in a directory holding an earlier run it would append to that
/// run's metrics.jsonl and mix the two runs' checkpoints, and into one holding other files it
/// would scatter outputs among them. So the directory must be new or empty; `--force` first
/// deletes an earlier run (and only a run: never a folder of other files).
fn prepare_out(out: &Path, force: bool) -> anyhow::Result<()> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        bail!("--out {}: exists and is not a directory", out.display());
    }
    let mut entries = fs::read_dir(out)
        .with_context(|| format!("reading run directory {}", out.display()))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<Vec<_>, _>>()?;
    // `gan sweep task` writes the task's status.json before it starts the run.
    entries.retain(|e| e != gan::sweep::status::FILE);
    if entries.is_empty() {
        return Ok(());
    }
    entries.sort();
    let markers: Vec<&str> = RUN_MARKERS
        .into_iter()
        .filter(|m| entries.iter().any(|e| e == m))
        .collect();
    if markers.is_empty() {
        bail!(
            "--out {}: the directory is not empty and holds no run ({}); give a new or empty directory",
            out.display(),
            entries.join(", ")
        );
    }
    if !force {
        bail!(
            "--out {0}: the directory already holds a run ({1}); `gan resume {0}` continues it, \
             or give a new or empty directory, or pass --force to delete that run first",
            out.display(),
            markers.join(", ")
        );
    }
    // Not while another process writes that run (this fails naming it).
    let _held = gan::run_lock::acquire(out)?;
    fs::remove_dir_all(out).with_context(|| format!("--force: deleting {}", out.display()))
}

pub fn parse_sets(sets: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for s in sets {
        let Some((k, v)) = s.split_once('=') else {
            bail!("--set {s}: expected NAME=VALUE")
        };
        let k = k.trim();
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("--set {s}: the name must be letters, digits and `_`");
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

pub fn main(args: RunArgs) -> anyhow::Result<()> {
    let text = read_recipe(&args.recipe)?;
    let stem = args
        .recipe
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    let out = match &args.out {
        Some(out) => out.clone(),
        None if args.force => PathBuf::from("runs").join(&stem),
        None => gan::rundir::first_free(Path::new("runs"), &stem),
    };
    if let Some(t) = args.timeout {
        check_timeout(t)?;
    }
    prepare_out(&out, args.force)?;
    // new or emptied above: on an early failure nothing of an earlier run is in it
    let fresh = !out.exists() || fs::read_dir(&out).is_ok_and(|mut d| d.next().is_none());
    let config = HostConfig {
        recipe_text: text.clone(),
        ..args.common.host_config(out.clone(), stem)?
    };
    let mut session = Session::new(config, Arc::new(TerminalSink::new()))?;
    let run = session.host.run.clone().expect("a run directory");
    let file = args
        .recipe
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    run.write("recipe.rhai", text.as_bytes())
        .context("copying the recipe into the run directory")?;
    // `import` resolves in the recipe's own folder.
    let folder = args
        .recipe
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from));
    session.host.set_module_root(folder);
    if let Some(n) = args.checkpoint_every {
        session.host.run_state.set_default_checkpoint_every(n);
    }
    // Recorded from the start, so `gan resume` can rerun even a run killed before its first fit.
    session.host.write_config().context("writing config.json")?;
    let result = execute(&mut session, &file, &text, args.timeout);
    if result.is_err() && fresh {
        remove_if_untrained(run.path());
    }
    result
}

/// Removes a run directory the recipe failed in before it trained anything (say, its data was
/// missing): left behind, it would push the next run of the recipe to `runs/<stem>-2`. Only a
/// directory holding nothing but the files `gan run` writes first (and the run's lock, which this
/// process holds) is removed: anything the recipe wrote (metrics, checkpoints, outputs) keeps it,
/// and all in it, in place.
fn remove_if_untrained(dir: &Path) {
    const FIRST: [&str; 3] = ["recipe.rhai", "config.json", gan::run_lock::LOCK_FILE];
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let only_first = entries
        .map(|e| e.map(|e| e.file_name()))
        .all(|n| n.is_ok_and(|n| FIRST.iter().any(|f| n == *f)));
    if !only_first {
        return;
    }
    for f in FIRST {
        let _ = fs::remove_file(dir.join(f));
    }
    if fs::remove_dir(dir).is_ok() {
        eprintln!(
            "note: removed {}: the recipe failed before writing anything else",
            dir.display()
        );
    }
}

/// Refuses a `--timeout` that is not a positive number of seconds.
pub fn check_timeout(t: f64) -> anyhow::Result<()> {
    if !(t.is_finite() && t > 0.0) {
        bail!("--timeout {t}: must be a positive number of seconds");
    }
    Ok(())
}

/// Runs `text` (named `file` in errors) in `session`, handling the stop signals (Ctrl-C, SIGTERM,
/// SIGUSR1: see `signals`) and `--timeout`.
pub fn execute(
    session: &mut Session,
    file: &str,
    text: &str,
    timeout: Option<f64>,
) -> anyhow::Result<()> {
    let run = session.host.run.clone().expect("a run directory");
    super::signals::stop_training_on_signals(session.interrupt_handle());
    let started = std::time::Instant::now();
    if let Some(t) = timeout {
        session.host.set_timeout(t);
    }
    match session.eval_named(file, text) {
        Ok(_) => {
            for p in session.host.unused_params() {
                eprintln!("warning: --set {p}=… was not used: the recipe has no param(\"{p}\", …)");
            }
            println!(
                "done in {:.1} s; outputs in {}",
                started.elapsed().as_secs_f64(),
                run.path().display()
            );
            Ok(())
        }
        // The message names the cause (and the limit) already; the exit status tells scripts.
        Err(mut e) if e.stop == Some(Stop::Timeout) => {
            if !e.message.contains("--timeout") {
                e.message = format!(
                    "{} (stopped: the recipe ran past its --timeout of {} s)",
                    e.message,
                    timeout.unwrap_or_default()
                );
            }
            eprintln!("error: {e}");
            std::process::exit(124);
        }
        // Ctrl-C, SIGTERM or SIGUSR1: the checkpoint is saved; the status names the signal.
        Err(e) if e.stop == Some(Stop::Interrupt) => {
            eprintln!("{e}");
            let signal = super::signals::last().unwrap_or(super::signals::SIGINT);
            std::process::exit(super::signals::exit_status(signal));
        }
        Err(e) => Err(anyhow::Error::new(e)),
    }
}
