//! examples/notebooks/02-rust-evcxr.ipynb executed headless on the real evcxr_jupyter kernel
//! with nbclient (tests/kernel/run_evcxr_notebook.py), its outputs checked: PNG sizes, printed
//! numbers in range, a script error's line and column, a typed model's compile error.
//!
//! Needs `evcxr_jupyter`: the one on PATH, else one it installs once into target/evcxr/install
//! (kernel/install-evcxr.sh: `cargo install --locked`, 5–10 minutes on 2 idle cores), the Python
//! venv of tests/kernel/setup.sh and MNIST (GAN_DATA_DIR). Without them the test fails, saying
//! what is missing; `GAN_SKIP_EVCXR=1` skips it, loudly.
//!
//! The kernel builds gan as a dependency of its cells. Its build directory (EVCXR_TMPDIR) is
//! kept under target/evcxr/, so only the first run pays for compiling dfdx and the rest
//! (minutes on 2 cores); later runs recompile nothing but the cells.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// evcxr_jupyter on PATH, else the one installed under target/evcxr/install, else installed
/// there now by kernel/install-evcxr.sh (5–10 minutes on 2 idle cores, once per target dir).
fn find_or_install_evcxr() -> Result<PathBuf, String> {
    if let Some(p) = on_path("evcxr_jupyter") {
        return Ok(p);
    }
    let install_root = target_dir().join("evcxr/install");
    let exe = install_root.join("bin/evcxr_jupyter");
    if !exe.is_file() {
        eprintln!(
            "evcxr_jupyter is not on PATH: installing it into {} with kernel/install-evcxr.sh \
             (cargo install --locked; 5–10 minutes on 2 idle cores, once)",
            install_root.display()
        );
        let status = Command::new("bash")
            .arg(root().join("kernel/install-evcxr.sh"))
            .arg(&install_root)
            .status()
            .map_err(|e| format!("running kernel/install-evcxr.sh: {e}"))?;
        if !status.success() || !exe.is_file() {
            return Err(format!(
                "kernel/install-evcxr.sh {} failed ({status}): install evcxr_jupyter with \
                 `cargo install evcxr_jupyter --locked` and put it on PATH",
                install_root.display()
            ));
        }
    }
    Ok(exe)
}

fn on_path(exe: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(exe))
        .find(|p| p.is_file())
}

/// target/ (or CARGO_TARGET_DIR): where the venv and evcxr's build directory live.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => root().join(d),
        None => root().join("target"),
    }
}

#[test]
fn evcxr_notebook_runs_headless() {
    if std::env::var_os("GAN_SKIP_EVCXR").is_some_and(|v| v == "1") {
        eprintln!(
            "SKIPPED: GAN_SKIP_EVCXR=1: the evcxr notebook (02-rust-evcxr.ipynb) was not run"
        );
        return;
    }
    let hint = "or set GAN_SKIP_EVCXR=1 to skip this test";
    let evcxr = find_or_install_evcxr().unwrap_or_else(|why| panic!("{why}, {hint}"));
    let mnist = common::mnist_dir();
    assert!(
        mnist.join("train-images-idx3-ubyte.gz").exists()
            || mnist.join("train-images-idx3-ubyte").exists(),
        "the notebook trains on MNIST, which is not in {} (set GAN_DATA_DIR), {hint}",
        mnist.display()
    );
    let py = common::kernel_venv_python()
        .unwrap_or_else(|why| panic!("no Jupyter client venv: {why}; {hint}"));

    // The kernelspec goes into a JUPYTER_PATH of our own, not the user's ~/.local.
    let jp = tempfile::tempdir().unwrap();
    let out = Command::new(&evcxr)
        .arg("--install")
        .env("JUPYTER_PATH", jp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success() && jp.path().join("kernels/rust/kernel.json").exists(),
        "evcxr_jupyter --install: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let evcxr_dir = target_dir().join("evcxr");
    std::fs::create_dir_all(evcxr_dir.join("build")).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let config = scratch.path().join("evcxr-config");
    std::fs::create_dir_all(&config).unwrap();
    let nb = root().join("examples/notebooks/02-rust-evcxr.ipynb");
    let started = std::time::Instant::now();
    let out = common::jupyter_client(&py, scratch.path())
        .arg("run_evcxr_notebook.py")
        .arg(&nb)
        .arg(scratch.path().join("02-rust-evcxr.out.ipynb"))
        .env("JUPYTER_PATH", jp.path())
        // evcxr's crate and cargo target directory, kept between runs: cargo reuses what is
        // built. (Not evcxr's `:cache`, which breaks Rhai's build; see kernel/README.md.)
        .env("EVCXR_TMPDIR", evcxr_dir.join("build"))
        // nothing of evcxr's under the user's ~/.cache
        .env("XDG_CACHE_HOME", evcxr_dir.join("cache"))
        // an empty config dir: the user's init.evcxr / evcxr.toml must not change the run
        .env("EVCXR_CONFIG_DIR", &config)
        .output()
        .unwrap();
    let text = common::output_text(&out);
    eprintln!("{text}");
    eprintln!("evcxr notebook: {:.1} s", started.elapsed().as_secs_f64());
    assert!(out.status.success(), "the evcxr notebook failed:\n{text}");
    assert!(text.contains("evcxr notebook checks passed"), "{text}");
}
