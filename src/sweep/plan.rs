//! A sweep folder: `sweep.json` (the command line, the grid, the recipe's SHA-256, the version
//! and the tasks), the frozen `recipe.rhai`, and `runs/<task name>/`, one run directory a task.
//! `sweep.json` may have been edited by hand or by someone else: [`Sweep::load`] checks that it
//! is what [`Sweep::create`] writes (the task list is recomputed from the grid) and that the
//! recipe is the one it records.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::grid::{self, Axis, Task};
use crate::digest::sha256_hex as hex_sha256;
use crate::safe_fs::{read_regular, write_atomic};

/// The layout of `sweep.json` this code writes and reads.
pub const FORMAT: u32 = 1;
/// The evaluations a task may run after training (`gan eval NAME RUN --json`).
pub const EVALS: [&str; 2] = ["parzen", "classifier"];
/// Most bytes of `sweep.json` and of the frozen recipe read back.
const MAX_JSON: u64 = 64 << 20;
const MAX_RECIPE: u64 = 4 << 20;

/// What `sweep.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub format: u32,
    pub gan_version: String,
    /// The command line that made the sweep.
    pub command: Vec<String>,
    /// The recipe's stem (names the sweep folder) and the SHA-256 of its frozen copy.
    pub recipe: String,
    pub recipe_sha256: String,
    pub axes: Vec<Axis>,
    pub seeds: Vec<u64>,
    /// Evaluations each task runs after training, from [`EVALS`].
    pub eval: Vec<String>,
    pub tasks: Vec<Task>,
}

/// An opened sweep folder.
#[derive(Clone, Debug)]
pub struct Sweep {
    pub dir: PathBuf,
    pub plan: Plan,
}

impl Sweep {
    /// Freezes `recipe_text` and writes `sweep.json` into `dir` (which must be new or empty).
    pub fn create(dir: &Path, recipe_text: &str, plan: Plan) -> Result<Sweep> {
        if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
            bail!(
                "--out {}: the directory is not empty; `gan sweep resume {0}` continues a sweep",
                dir.display()
            );
        }
        std::fs::create_dir_all(dir.join("runs"))
            .with_context(|| format!("creating {}", dir.display()))?;
        write_atomic(&dir.join("recipe.rhai"), recipe_text.as_bytes())?;
        write_atomic(
            &dir.join("sweep.json"),
            serde_json::to_string_pretty(&plan)?.as_bytes(),
        )?;
        Ok(Sweep {
            dir: dir.to_path_buf(),
            plan,
        })
    }

    /// Opens the sweep in `dir`, refusing a `sweep.json` that is not one this code would write
    /// and a `recipe.rhai` changed since.
    pub fn load(dir: &Path) -> Result<Sweep> {
        let path = dir.join("sweep.json");
        let bytes = read_regular(&path, MAX_JSON)
            .with_context(|| format!("{}: not a sweep folder", dir.display()))?;
        let plan: Plan = serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: not a valid sweep.json", path.display()))?;
        plan.check()
            .with_context(|| format!("{}: inconsistent", path.display()))?;
        let recipe = dir.join("recipe.rhai");
        let text = read_regular(&recipe, MAX_RECIPE)?;
        if hex_sha256(&text) != plan.recipe_sha256 {
            bail!(
                "{}: changed since the sweep was made (its SHA-256 is not the one sweep.json records); \
                 runs of one sweep must share one recipe",
                recipe.display()
            );
        }
        Ok(Sweep {
            dir: dir.to_path_buf(),
            plan,
        })
    }

    pub fn recipe_path(&self) -> PathBuf {
        self.dir.join("recipe.rhai")
    }

    /// Task `i`, or an error naming the valid range.
    pub fn task(&self, i: usize) -> Result<&Task> {
        self.plan.tasks.get(i).with_context(|| {
            format!(
                "task {i}: the sweep {} has tasks 0..={}",
                self.dir.display(),
                self.plan.tasks.len() - 1
            )
        })
    }

    /// The run directory of a task.
    pub fn run_dir(&self, task: &Task) -> PathBuf {
        self.dir.join("runs").join(&task.name)
    }
}

impl Plan {
    /// A plan whose tasks are the grid's expansion.
    pub fn new(
        command: Vec<String>,
        recipe: &str,
        recipe_text: &str,
        axes: Vec<Axis>,
        seeds: Vec<u64>,
        eval: Vec<String>,
    ) -> Result<Plan> {
        let plan = Plan {
            format: FORMAT,
            gan_version: env!("CARGO_PKG_VERSION").into(),
            command,
            recipe: recipe.into(),
            recipe_sha256: hex_sha256(recipe_text.as_bytes()),
            tasks: grid::expand(&axes, &seeds)?,
            axes,
            seeds,
            eval,
        };
        plan.check()?;
        Ok(plan)
    }

    /// Everything [`Plan::new`] guarantees, checked again on what was read back.
    fn check(&self) -> Result<()> {
        if self.format != FORMAT {
            bail!("format {} (this build reads {FORMAT})", self.format);
        }
        for e in &self.eval {
            if !EVALS.contains(&e.as_str()) {
                bail!("--eval {e}: unknown (known: {})", EVALS.join(", "));
            }
        }
        for a in &self.axes {
            grid::check_name(&a.name)?;
            for v in &a.values {
                grid::check_value(v)?;
            }
        }
        if grid::expand(&self.axes, &self.seeds)? != self.tasks {
            bail!("its tasks are not the expansion of its axes and seeds");
        }
        let sha_ok = self.recipe_sha256.len() == 64
            && self.recipe_sha256.bytes().all(|b| b.is_ascii_hexdigit());
        if !sha_ok {
            bail!("recipe_sha256 is not a SHA-256");
        }
        Ok(())
    }
}
