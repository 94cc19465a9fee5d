//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use gan::engine::EpochMetrics;
use gan::script::{HostConfig, Sink};
use gan::session::Session;

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
