//! `gan run RECIPE`: runs a recipe into a run directory.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
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
    fs::remove_dir_all(out).with_context(|| format!("--force: deleting {}", out.display()))
}

/// Without `--out`, a run goes to `runs/<stem>`, or — that one taken by an earlier run — to the
/// first free `runs/<stem>-2`, `-3`, …: running the same recipe again must just work, and must not
/// touch the earlier run (an explicit `--out` that holds a run is refused instead).
fn default_out(root: &Path, stem: &str) -> PathBuf {
    let free = |p: &Path| !p.exists() || fs::read_dir(p).is_ok_and(|mut d| d.next().is_none());
    let first = root.join(stem);
    if free(&first) {
        return first;
    }
    (2..)
        .map(|i| root.join(format!("{stem}-{i}")))
        .find(|p| free(p))
        .expect("some index is free")
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
        None => default_out(Path::new("runs"), &stem),
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
        session.host.set_default_checkpoint_every(n);
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
/// directory holding nothing but the two files `gan run` writes first is removed: anything the
/// recipe wrote (metrics, checkpoints, outputs) keeps it, and all in it, in place.
fn remove_if_untrained(dir: &Path) {
    const FIRST: [&str; 2] = ["recipe.rhai", "config.json"];
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

/// Runs `text` (named `file` in errors) in `session`, handling Ctrl-C and `--timeout`.
pub fn execute(
    session: &mut Session,
    file: &str,
    text: &str,
    timeout: Option<f64>,
) -> anyhow::Result<()> {
    let run = session.host.run.clone().expect("a run directory");
    let flag = session.interrupt_handle();
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::Relaxed) {
            // a second Ctrl-C: the user really wants out
            std::process::exit(130);
        }
        eprintln!("\ninterrupt: stopping at the next step boundary (Ctrl-C again to quit now)");
    });
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
        Err(e) if e.stop == Some(Stop::Interrupt) => {
            eprintln!("{e}");
            std::process::exit(130);
        }
        Err(e) => Err(anyhow::Error::new(e)),
    }
}
