//! `gan resume RUN_DIR`: continues a run that stopped (killed, crashed, timed out, diverged).
//!
//! Runs the run's own copy of its recipe (`recipe.rhai`) again with the seed, `--set` values and
//! checkpoint interval recorded in `config.json`; each GAN's `fit` picks up from the newest
//! checkpoint in the run directory (see `gan::learner::resume`). With the same recipe the result
//! is bit for bit the run that was never stopped.
//!
//! `--set NAME=VALUE` changes a recorded value (or adds one) before the rerun, and the new value is
//! recorded: `gan resume RUN --set epochs=400` takes a finished 250-epoch run on to epoch 400,
//! ending where a 400-epoch run would if nothing in the recipe but the length of its fit reads
//! the value.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;
use serde_json::Value;

use gan::script::{host::hex, HostConfig};
use gan::session::{read_run_recipe, Session};

use super::sink::TerminalSink;

#[derive(Args, Debug)]
pub struct ResumeArgs {
    /// The run directory to continue (made by `gan run`).
    pub run_dir: PathBuf,
    /// MNIST directory (default: GAN_DATA_DIR, else ./data/mnist; never taken from the run
    /// directory, see README "Security model").
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The folder the recipe's `import`s load from (default: none, imports are refused; never
    /// taken from the run directory).
    #[arg(long, value_name = "DIR")]
    pub recipe_dir: Option<PathBuf>,
    /// Stop the recipe after SECS seconds of running (exit status 124).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Change a recorded `--set` value or add one, e.g. --set epochs=400 to train a finished
    /// run further (repeatable; recorded in config.json for later resumes).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
}

/// The recorded `--set` values with `changes` applied, and a line for each value that changed.
pub fn apply_sets(
    recorded: &BTreeMap<String, String>,
    changes: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let mut params = recorded.clone();
    let mut notes = Vec::new();
    for (k, v) in changes {
        match params.insert(k.clone(), v.clone()) {
            Some(old) if old == *v => {}
            Some(old) => notes.push(format!("--set {k}={v} (the run had {k}={old})")),
            None => notes.push(format!("--set {k}={v} (new: the run had no --set {k})")),
        }
    }
    (params, notes)
}

/// The largest config.json a run directory may hold.
const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// The bytes of a run's `config.json`: a regular file, bounded (never a FIFO to hang on).
pub fn read_config(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    gan::safe_fs::read_regular(path, MAX_CONFIG_BYTES)
}

/// How the run was started, as `config.json` recorded it.
#[derive(Debug, Default, PartialEq)]
pub struct Invocation {
    pub recipe_name: String,
    pub recipe_sha256: Option<String>,
    pub seed: Option<u64>,
    pub params: BTreeMap<String, String>,
    pub checkpoint_every: Option<u64>,
    pub data_dir: Option<PathBuf>,
    pub recipe_dir: Option<PathBuf>,
}

/// Reads what `gan run` recorded in `config.json`. Runs recorded before `invocation` existed
/// fall back to the resolved `seed` and `params`.
pub fn invocation(config: &Value) -> anyhow::Result<Invocation> {
    let mut inv = Invocation {
        recipe_name: config
            .get("recipe")
            .and_then(Value::as_str)
            .unwrap_or("run")
            .to_string(),
        recipe_sha256: config
            .get("recipe_sha256")
            .and_then(Value::as_str)
            .map(String::from),
        ..Default::default()
    };
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match config.get("invocation") {
        Some(i) => {
            inv.seed = i.get("seed").and_then(Value::as_u64);
            if let Some(Value::Object(set)) = i.get("set") {
                inv.params = set.iter().map(|(k, v)| (k.clone(), text(v))).collect();
            }
            inv.checkpoint_every = i.get("checkpoint_every").and_then(Value::as_u64);
            let path = |k: &str| i.get(k).and_then(Value::as_str).map(PathBuf::from);
            inv.data_dir = path("data_dir");
            inv.recipe_dir = path("recipe_dir");
        }
        None => {
            inv.seed = config.get("seed").and_then(Value::as_u64);
            if let Some(Value::Object(p)) = config.get("params") {
                inv.params = p.iter().map(|(k, v)| (k.clone(), text(v))).collect();
            }
        }
    }
    Ok(inv)
}

/// Where the rerun's `import`s load from: only `--recipe-dir`. The folder `config.json` records
/// is not trusted (the run directory may have come from someone else); it is only named in a note.
fn module_root(args: &ResumeArgs, inv: &Invocation, text: &str) -> anyhow::Result<Option<PathBuf>> {
    if let Some(d) = &args.recipe_dir {
        let d = d
            .canonicalize()
            .with_context(|| format!("--recipe-dir {}", d.display()))?;
        return Ok(Some(d));
    }
    if let Some(r) = inv.recipe_dir.as_ref().filter(|_| text.contains("import")) {
        eprintln!(
            "note: imports are refused unless --recipe-dir names their folder (the run recorded {}; \
             run directories are not trusted to choose it)",
            r.display()
        );
    }
    Ok(None)
}

pub fn main(args: ResumeArgs) -> anyhow::Result<()> {
    let dir = &args.run_dir;
    if !dir.is_dir() {
        bail!("{}: no such run directory", dir.display());
    }
    let recipe = dir.join("recipe.rhai");
    if !recipe.is_file() {
        bail!(
            "{}: no recipe.rhai here; `gan resume` continues a run directory made by `gan run`",
            dir.display()
        );
    }
    let text = read_run_recipe(&recipe)?;
    let config_path = dir.join("config.json");
    let bytes = read_config(&config_path).with_context(|| {
        format!(
            "reading {} (it records the run's seed and --set values)",
            config_path.display()
        )
    })?;
    let config: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not valid JSON", config_path.display()))?;
    let mut inv = invocation(&config)?;
    if let Some(t) = args.timeout {
        super::run::check_timeout(t)?;
    }
    let (params, changed) = apply_sets(&inv.params, &super::run::parse_sets(&args.set)?);
    inv.params = params;
    use sha2::Digest;
    if let Some(want) = &inv.recipe_sha256 {
        if *want != hex(&sha2::Sha256::digest(text.as_bytes())) {
            eprintln!(
                "note: {} was changed since the run started; resuming with it as it is now",
                recipe.display()
            );
        }
    }
    let data_dir = super::run_data_dir(args.data_dir.clone(), inv.data_dir.clone());
    let config = HostConfig {
        run_dir: Some(dir.clone()),
        data_dir,
        params: inv.params.clone(),
        seed: inv.seed,
        recipe_name: inv.recipe_name.clone(),
        recipe_text: text.clone(),
    };
    let mut session = Session::new(config, Arc::new(TerminalSink::new()))?;
    session.host.run_state.enable_resume();
    session
        .host
        .set_module_root(module_root(&args, &inv, &text)?);
    if let Some(n) = inv.checkpoint_every {
        session.host.run_state.set_default_checkpoint_every(n);
    }
    let sets: Vec<String> = inv.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!(
        "resuming {} (recipe {}{}{})",
        dir.display(),
        inv.recipe_name,
        inv.seed
            .map(|s| format!(", --seed {s}"))
            .unwrap_or_default(),
        if sets.is_empty() {
            String::new()
        } else {
            format!(", --set {}", sets.join(" --set "))
        }
    );
    for line in changed {
        println!("changed: {line}");
    }
    super::run::execute(&mut session, "recipe.rhai", &text, args.timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn sets_replace_and_add_recorded_values_and_say_which() {
        let recorded = map(&[("epochs", "250"), ("n", "100")]);
        let (params, notes) = apply_sets(
            &recorded,
            &map(&[("epochs", "400"), ("lr", "0.1"), ("n", "100")]),
        );
        assert_eq!(
            params,
            map(&[("epochs", "400"), ("lr", "0.1"), ("n", "100")])
        );
        assert_eq!(
            notes,
            [
                "--set epochs=400 (the run had epochs=250)",
                "--set lr=0.1 (new: the run had no --set lr)"
            ]
        );
        assert_eq!(
            apply_sets(&recorded, &BTreeMap::new()),
            (recorded.clone(), vec![])
        );
    }
}
