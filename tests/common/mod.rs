//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use gan::engine::{EpochMetrics, GanLoss, GanSpec, LayerSpec, Noise, StackSpec, UpdateScheme};
use gan::script::{HostConfig, Sink};
use gan::session::Session;

pub mod sweep;

/// The shared MNIST directory: `GAN_DATA_DIR`, else `../shared/data/mnist` beside the project.
pub fn mnist_dir() -> PathBuf {
    match std::env::var_os("GAN_DATA_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mnist"),
    }
}

/// A sink that records what a script printed and which epochs finished.
#[derive(Default)]
pub struct Recorder {
    pub lines: Mutex<Vec<String>>,
    pub epochs: Mutex<Vec<(String, EpochMetrics)>>,
    pub images: Mutex<Vec<(String, Vec<u8>)>>,
}

impl Sink for Recorder {
    fn text(&self, s: &str) {
        self.lines.lock().unwrap().push(s.to_string());
    }
    fn epoch(&self, gan: &str, m: &EpochMetrics) {
        self.epochs
            .lock()
            .unwrap()
            .push((gan.to_string(), m.clone()));
    }
    fn image(&self, caption: &str, png: &[u8], _saved: Option<&Path>) {
        self.images
            .lock()
            .unwrap()
            .push((caption.to_string(), png.to_vec()));
    }
}

/// A session writing into `run_dir` (or nowhere), with `--set` params.
pub fn session(
    run_dir: Option<&Path>,
    params: &[(&str, &str)],
    seed: Option<u64>,
) -> (Session, Arc<Recorder>) {
    let rec = Arc::new(Recorder::default());
    let config = HostConfig {
        run_dir: run_dir.map(Path::to_path_buf),
        data_dir: mnist_dir(),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        seed,
        recipe_name: "test".into(),
        recipe_text: String::new(),
    };
    (Session::new(config, rec.clone()).unwrap(), rec)
}

/// The recipes shipped in scripts/.
pub fn recipe(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
}

/// The Jupyter-client venv's python (made by tests/kernel/setup.sh under target/), or why there is
/// none. Made once per test process.
pub fn kernel_venv_python() -> Result<PathBuf, String> {
    static PY: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    PY.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = std::process::Command::new("bash")
            .arg(root.join("tests/kernel/setup.sh"))
            .output()
            .map_err(|e| format!("running tests/kernel/setup.sh: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "tests/kernel/setup.sh failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let py = stdout.lines().last().unwrap_or("").trim().to_string();
        if py.is_empty() || !Path::new(&py).exists() {
            return Err(format!("tests/kernel/setup.sh printed no python: {stdout}"));
        }
        Ok(PathBuf::from(py))
    })
    .clone()
}

/// `py` running a script of tests/kernel/ as a Jupyter client: in that folder, with the Jupyter
/// config, runtime and data dirs under `scratch` (nothing read from or written to the user's),
/// MNIST from [`mnist_dir`] and unbuffered output. The caller adds JUPYTER_PATH.
pub fn jupyter_client(py: &Path, scratch: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(py);
    cmd.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kernel"))
        .env("JUPYTER_CONFIG_DIR", scratch.join("config"))
        .env("JUPYTER_RUNTIME_DIR", scratch.join("runtime"))
        .env("JUPYTER_DATA_DIR", scratch.join("data"))
        .env("GAN_DATA_DIR", mnist_dir())
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    cmd
}

/// `out`, after asserting its process succeeded (else its status, stdout and stderr).
pub fn ok(out: std::process::Output) -> std::process::Output {
    assert!(
        out.status.success(),
        "gan failed ({:?}):\n{}",
        out.status,
        output_text(&out)
    );
    out
}

/// A finished process's stdout then stderr, as text.
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Where the tests cache the MNIST classifier when the data directory is read-only.
pub fn test_classifier_cache() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-classifier-cache")
}

/// The process-wide MNIST evaluator (the one the DSL's `classifier_metrics` uses), loaded from
/// the data directory's or the tests' classifier cache, trained into it at most once.
pub fn shared_evaluator() -> std::sync::Arc<gan::eval::Evaluator> {
    let dir = mnist_dir();
    let dirs = [
        dir.join("classifier"),
        test_classifier_cache().join("classifier"),
    ];
    gan::eval::Evaluator::shared_with_cache(gan::eval::EvalSet::Mnist, &dir, &dirs, &mut |l| {
        eprintln!("{l}")
    })
    .unwrap()
}

/// The process-wide Fashion-MNIST evaluator (the one the DSL gets), cached beside MNIST's in the
/// tests' classifier cache.
pub fn shared_fashion_evaluator() -> std::sync::Arc<gan::eval::Evaluator> {
    let dirs = [test_classifier_cache().join("classifier")];
    gan::eval::Evaluator::shared_with_cache(
        gan::eval::EvalSet::FashionMnist,
        &mnist_dir(),
        &dirs,
        &mut |l| eprintln!("{l}"),
    )
    .unwrap()
}

/// metrics.jsonl with the timing fields removed (the only fields that differ between two runs
/// of the same recipe and seed).
pub fn metrics_without_timing(dir: &Path, file: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join(file))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            assert!(o.remove("secs").is_some() && o.remove("it_per_s").is_some());
            v
        })
        .collect()
}

/// A 1-D game small enough to train in milliseconds: G 1 → 8 → 1, D 1 → 4 → 1 (ReLU), the
/// non-saturating loss, simultaneous updates, uniform noise.
pub fn tiny_spec() -> GanSpec {
    let dense = |units, irange| LayerSpec::Dense {
        units,
        irange: Some(irange),
    };
    GanSpec {
        g: StackSpec {
            input: 1,
            layers: vec![dense(8, 0.5), LayerSpec::Relu, dense(1, 0.5)],
        },
        d: StackSpec {
            input: 1,
            layers: vec![dense(4, 0.5), LayerSpec::Relu, dense(1, 0.5)],
        },
        loss: GanLoss::NonSaturating,
        scheme: UpdateScheme::Simultaneous,
        noise: Noise::Uniform {
            dim: 1,
            half_width: 1.0,
        },
        init_g_bias_from_marginals: false,
    }
}
