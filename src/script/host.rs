//! What a front end gives a script: where outputs go, where data comes from, `--set` parameters,
//! the seed, an output sink and the limits a script runs under. What belongs to training (the
//! run's checkpoints, resume plans, interrupt flag and time limit) is the [`Run`] a
//! [`crate::learner::Learner`] drives; the host holds it for the script's fits.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rhai::Position;

use super::site::{Site, Source};
use crate::data::Dataset;
use crate::learner::Run;
use crate::rundir::RunDir;

/// Outputs and progress reach front ends through the learner's sink.
pub use crate::learner::{NullSink, Progress, Sink};

/// Why the host stopped a script (rather than the script failing by itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Ctrl-C, a Jupyter interrupt, or another interrupt request through the flag.
    Interrupt,
    /// `--timeout` passed.
    Timeout,
    /// The process grew past the memory limit.
    Memory,
}

/// The host's settings for one script or session.
#[derive(Clone, Debug, Default)]
pub struct HostConfig {
    /// Where outputs go; `None`: nothing is written (images still reach the sink).
    pub run_dir: Option<PathBuf>,
    /// The MNIST directory (and root for `image_folder`).
    pub data_dir: PathBuf,
    /// `--set NAME=VALUE` overrides read by `param(NAME, default)`.
    pub params: BTreeMap<String, String>,
    /// `--seed N`: overrides the recipe's `seed(…)`.
    pub seed: Option<u64>,
    /// Name of the recipe (its file stem) and its text, recorded in `config.json`.
    pub recipe_name: String,
    pub recipe_text: String,
}

/// Shared state of a running script.
pub struct Host {
    pub config: HostConfig,
    pub run: Option<RunDir>,
    pub sink: Arc<dyn Sink>,
    /// What the script's fits share: the run directory, interrupt flag, time limit, resume plans.
    pub run_state: Arc<Run>,
    seed: Mutex<u64>,
    used_params: Mutex<BTreeSet<String>>,
    resolved_params: Mutex<BTreeMap<String, serde_json::Value>>,
    mnist: Mutex<HashMap<String, Arc<Dataset>>>,
    gan_names: Mutex<BTreeSet<String>>,
    /// `config.json` as built so far: one entry per GAN.
    pub config_json: Mutex<serde_json::Map<String, serde_json::Value>>,
    /// Most memory (resident bytes) the process may use while a script runs; 0: no limit.
    pub(super) memory_limit: AtomicU64,
    /// Why the host stopped the script, when it did (memory budget).
    stop_reason: Mutex<Option<String>>,
    /// Set with `stop_reason`: read on every variable access, so it must be cheap.
    memory_stopped: AtomicBool,
    /// The folder `import` resolves in (the recipe's own folder); None: imports are refused.
    module_root: Mutex<Option<PathBuf>>,
    /// The text being evaluated (a recipe or cell), so positions recorded now can be shown later.
    source: Mutex<Arc<Source>>,
    /// The engine path the GANs this host makes train and evaluate on (set by the session).
    engine_path: Mutex<crate::engine::EnginePath>,
}

impl Host {
    pub fn new(config: HostConfig, sink: Arc<dyn Sink>) -> anyhow::Result<Arc<Self>> {
        let run = match &config.run_dir {
            Some(d) => Some(RunDir::create(d)?),
            None => None,
        };
        let run_state = Arc::new(Run::with_dir(
            run.clone(),
            &config.recipe_name,
            sink.clone(),
        ));
        Ok(Arc::new(Host {
            seed: Mutex::new(config.seed.unwrap_or(0)),
            config,
            run,
            sink,
            run_state,
            used_params: Mutex::default(),
            resolved_params: Mutex::default(),
            mnist: Mutex::default(),
            gan_names: Mutex::default(),
            config_json: Mutex::default(),
            memory_limit: AtomicU64::new(default_memory_limit().unwrap_or(0)),
            stop_reason: Mutex::default(),
            memory_stopped: AtomicBool::new(false),
            module_root: Mutex::default(),
            source: Mutex::new(Arc::new(Source {
                name: String::new(),
                text: String::new(),
            })),
            engine_path: Mutex::default(),
        }))
    }

    /// Records that `text`, named `name` in errors, is evaluated from now on.
    pub fn set_source(&self, name: &str, text: &str) {
        *self.source.lock().unwrap() = Arc::new(Source {
            name: name.into(),
            text: text.into(),
        });
    }

    /// `pos` in the text being evaluated.
    pub fn site(&self, pos: Position) -> Site {
        Site {
            source: self.source.lock().unwrap().clone(),
            pos,
        }
    }

    /// `--timeout SECS`: the script is stopped (at the next script operation or training step)
    /// once `secs` seconds have passed from now.
    pub fn set_timeout(&self, secs: f64) {
        self.run_state.stop.set_timeout(secs);
    }

    /// The `--timeout` in seconds, if one is set.
    pub fn timeout_secs(&self) -> Option<f64> {
        self.run_state.stop.timeout_secs()
    }

    /// Whether the `--timeout` has passed (checked now; it stays true once it is).
    pub fn timed_out(&self) -> bool {
        self.run_state.stop.timed_out()
    }

    /// Sets the most resident memory (bytes) the process may hold while script code runs
    /// (None: no limit). The default is three quarters of the machine's memory. Checked between
    /// script operations, so a recipe growing a collection without end gets a clean error, not
    /// the kernel's OOM killer; training itself allocates only what `fit` checked beforehand.
    pub fn set_memory_limit(&self, bytes: Option<u64>) {
        self.memory_limit
            .store(bytes.unwrap_or(0), Ordering::Relaxed);
    }

    /// Whether the process is over its memory limit (then [`Host::stop_reason`] says so).
    pub fn memory_exceeded(&self) -> bool {
        let limit = self.memory_limit.load(Ordering::Relaxed);
        if limit == 0 {
            return false;
        }
        match resident_bytes() {
            Some(rss) if rss > limit => {
                *self.stop_reason.lock().unwrap() = Some(format!(
                    "out of memory: the recipe's values grew past the memory limit of {} MiB (the process holds {} MiB)",
                    limit >> 20,
                    rss >> 20
                ));
                self.memory_stopped.store(true, Ordering::Relaxed);
                true
            }
            _ => false,
        }
    }

    /// Why the host stopped the running script, other than an interrupt or `--timeout`.
    pub fn stop_reason(&self) -> Option<String> {
        self.stop_reason.lock().unwrap().clone()
    }

    /// Why the script must stop, if it must: an interrupt request, the `--timeout`, or the
    /// memory limit (once [`Host::memory_exceeded`] found it passed).
    pub fn stop_cause(&self) -> Option<Stop> {
        // reads the clock, so that a `--timeout` passed since the last check counts
        self.timed_out();
        self.pending_stop()
    }

    /// A stop already found (an interrupt request, a `--timeout` or memory limit seen passed),
    /// from atomics only: cheap enough for every variable access. It checks no clock or memory.
    pub fn pending_stop(&self) -> Option<Stop> {
        if self.run_state.stop.interrupt_requested() {
            Some(Stop::Interrupt)
        } else if self.run_state.stop.timed_out_seen() {
            Some(Stop::Timeout)
        } else if self.memory_stopped.load(Ordering::Relaxed) {
            Some(Stop::Memory)
        } else {
            None
        }
    }

    /// What a user reads when the host stops a script: the cause, and the limit that was hit
    /// (three causes used to share one word, "interrupted").
    pub fn stop_message(&self, stop: Stop) -> String {
        match stop {
            Stop::Interrupt => "interrupted (Ctrl-C or an interrupt request)".into(),
            Stop::Timeout => format!(
                "timed out: the recipe ran past its --timeout of {} s",
                self.timeout_secs().unwrap_or_default()
            ),
            Stop::Memory => self
                .stop_reason()
                .unwrap_or_else(|| "out of memory: the recipe passed the memory limit".into()),
        }
    }

    /// How a stopped operation reads in its own message: `interrupted`, or `timed out (its
    /// --timeout of 5 s passed)`.
    pub fn stopped_how(&self) -> String {
        match self.stop_cause() {
            Some(Stop::Timeout) => format!(
                "timed out (its --timeout of {} s passed)",
                self.timeout_secs().unwrap_or_default()
            ),
            _ => "interrupted".into(),
        }
    }

    /// Forgets an interrupt or memory stop of an earlier evaluation (the `--timeout` holds for
    /// the whole session).
    pub fn clear_stop(&self) {
        self.run_state.stop.clear_interrupt();
        *self.stop_reason.lock().unwrap() = None;
        self.memory_stopped.store(false, Ordering::Relaxed);
    }

    /// The folder `import "name"` reads `name.rhai` from (the recipe's folder). Without one,
    /// imports are refused.
    pub fn set_module_root(&self, dir: Option<PathBuf>) {
        *self.module_root.lock().unwrap() = dir;
    }

    pub fn module_root(&self) -> Option<PathBuf> {
        self.module_root.lock().unwrap().clone()
    }

    pub fn seed(&self) -> u64 {
        *self.seed.lock().unwrap()
    }

    /// The engine path for the GANs made from now on.
    pub fn engine_path(&self) -> crate::engine::EnginePath {
        *self.engine_path.lock().unwrap()
    }

    pub fn set_engine_path(&self, path: crate::engine::EnginePath) {
        *self.engine_path.lock().unwrap() = path;
    }

    /// `seed(n)` in a script; ignored (with a notice) when `--seed` fixed it.
    pub fn set_seed(&self, s: u64) {
        if let Some(fixed) = self.config.seed {
            if fixed != s {
                self.sink.text(&format!(
                    "note: --seed {fixed} overrides the recipe's seed({s})"
                ));
            }
            return;
        }
        *self.seed.lock().unwrap() = s;
    }

    /// Stop requested: an interrupt (Ctrl-C, Jupyter) or the `--timeout` passed.
    pub fn interrupted(&self) -> bool {
        self.run_state.stop.requested()
    }

    /// The `--set` text for `name`, marking it used.
    pub fn param_text(&self, name: &str) -> Option<String> {
        self.used_params.lock().unwrap().insert(name.to_string());
        self.config.params.get(name).cloned()
    }

    pub fn record_param(&self, name: &str, v: serde_json::Value) {
        self.resolved_params
            .lock()
            .unwrap()
            .insert(name.to_string(), v);
    }

    /// `--set` names the script never read (likely typos).
    pub fn unused_params(&self) -> Vec<String> {
        let used = self.used_params.lock().unwrap();
        self.config
            .params
            .keys()
            .filter(|k| !used.contains(*k))
            .cloned()
            .collect()
    }

    /// A loaded MNIST split, cached for the session (a split is read from disk once).
    pub fn mnist(&self, split: &str) -> anyhow::Result<Arc<Dataset>> {
        if let Some(d) = self.mnist.lock().unwrap().get(split) {
            return Ok(d.clone());
        }
        let s: crate::data::MnistSplit = split.parse()?;
        // The file's bytes, inflated, and each pixel as an f32. A header that cannot be read is
        // left to the loader, whose errors say exactly what is wrong with it.
        if let Ok((path, pixels)) = crate::data::mnist::declared_pixels(&self.config.data_dir, s) {
            self.reserve(
                pixels as u128 * 5,
                &format!("mnist(\"{split}\") ({})", path.display()),
            )
            .map_err(|e| anyhow::anyhow!(e))?;
        }
        let d = Arc::new(crate::data::load_mnist(&self.config.data_dir, s)?);
        self.mnist
            .lock()
            .unwrap()
            .insert(split.to_string(), d.clone());
        Ok(d)
    }

    /// A unique name for a new GAN: `wanted`, or `gan`, `gan2`, … by order of creation.
    pub fn claim_gan_name(&self, wanted: Option<&str>) -> Result<String, String> {
        let mut names = self.gan_names.lock().unwrap();
        if let Some(w) = wanted {
            if !w
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                || w.is_empty()
            {
                return Err(format!(
                    "GAN name `{w}` may hold only letters, digits, `_` and `-`"
                ));
            }
            names.insert(w.to_string());
            return Ok(w.to_string());
        }
        let mut i = 1;
        loop {
            let n = if i == 1 {
                "gan".to_string()
            } else {
                format!("gan{i}")
            };
            if names.insert(n.clone()) {
                return Ok(n);
            }
            i += 1;
        }
    }

    /// Writes `config.json` with everything resolved so far.
    pub fn write_config(&self) -> anyhow::Result<()> {
        let Some(run) = &self.run else { return Ok(()) };
        use sha2::Digest;
        let sha = hex(&sha2::Sha256::digest(self.config.recipe_text.as_bytes()));
        let v = serde_json::json!({
            "gan_version": env!("CARGO_PKG_VERSION"),
            "recipe": self.config.recipe_name,
            "recipe_sha256": sha,
            "seed": self.seed(),
            "params": *self.resolved_params.lock().unwrap(),
            "gans": serde_json::Value::Object(self.config_json.lock().unwrap().clone()),
            // What `gan resume` needs to run the recipe again exactly as it was started.
            "invocation": {
                "seed": self.config.seed,
                "set": self.config.params,
                "checkpoint_every": self.run_state.default_checkpoint_every(),
                "data_dir": self.config.data_dir.canonicalize().unwrap_or_else(|_| self.config.data_dir.clone()),
                "recipe_dir": self.module_root(),
            },
        });
        run.write("config.json", serde_json::to_string_pretty(&v)?.as_bytes())?;
        Ok(())
    }
}

/// Resident memory of this process in bytes (Linux; None elsewhere).
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Three quarters of the machine's memory (Linux; None elsewhere).
fn default_memory_limit() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024 / 4 * 3)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
