//! `gan kernel install`: writes the `gan-rhai` kernelspec (kernel.json from the template in
//! `kernel/`, with this binary's path, and the logos).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;

pub const KERNEL_NAME: &str = "gan-rhai";
const TEMPLATE: &str = include_str!("../../../kernel/kernel.json");
const LOGO_32: &[u8] = include_bytes!("../../../kernel/logo-32x32.png");
const LOGO_64: &[u8] = include_bytes!("../../../kernel/logo-64x64.png");

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// Install for this user (the default): $JUPYTER_DATA_DIR or ~/.local/share/jupyter.
    #[arg(long, conflicts_with_all = ["prefix", "jupyter_path"])]
    pub user: bool,
    /// Install under PREFIX/share/jupyter (e.g. a virtual environment's sys.prefix).
    #[arg(long, value_name = "PREFIX", conflicts_with = "jupyter_path")]
    pub prefix: Option<PathBuf>,
    /// Install into P/kernels/gan-rhai (P as in JUPYTER_PATH).
    #[arg(long, value_name = "P")]
    pub jupyter_path: Option<PathBuf>,
    /// MNIST directory the kernel reads, recorded as GAN_DATA_DIR in the kernelspec.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The program the kernelspec starts (default: this gan binary).
    #[arg(long)]
    pub program: Option<PathBuf>,
}

/// `~/.local/share/jupyter` on Linux, `~/Library/Jupyter` on macOS, or `$JUPYTER_DATA_DIR`.
fn user_data_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("JUPYTER_DATA_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .context("HOME is not set: use --prefix or --jupyter-path")?;
    let home = PathBuf::from(home);
    if cfg!(target_os = "macos") {
        return Ok(home.join("Library/Jupyter"));
    }
    match std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        Some(x) => Ok(PathBuf::from(x).join("jupyter")),
        None => Ok(home.join(".local/share/jupyter")),
    }
}

/// The kernelspec text for `program` (and an optional data directory).
pub fn kernel_json(program: &Path, data_dir: Option<&Path>) -> Result<String> {
    let mut spec: serde_json::Value =
        serde_json::from_str(TEMPLATE).context("kernel/kernel.json is not valid JSON")?;
    let argv = spec["argv"]
        .as_array_mut()
        .context("kernel/kernel.json has no argv")?;
    for a in argv.iter_mut() {
        if a == "@GAN@" {
            *a = serde_json::Value::String(program.to_string_lossy().into_owned());
        }
    }
    if let Some(d) = data_dir {
        let d = std::fs::canonicalize(d).unwrap_or_else(|_| d.to_path_buf());
        spec["env"]["GAN_DATA_DIR"] = serde_json::Value::String(d.to_string_lossy().into_owned());
    }
    Ok(serde_json::to_string_pretty(&spec)? + "\n")
}

pub fn main(a: InstallArgs) -> Result<()> {
    let base = match (&a.jupyter_path, &a.prefix) {
        (Some(p), _) => p.clone(),
        (None, Some(prefix)) => prefix.join("share").join("jupyter"),
        (None, None) => user_data_dir()?,
    };
    let dir = base.join("kernels").join(KERNEL_NAME);
    let program = match &a.program {
        Some(p) => p.clone(),
        None => std::env::current_exe().context("finding the gan binary")?,
    };
    if !program.exists() {
        bail!("{} does not exist", program.display());
    }
    let json = kernel_json(&program, a.data_dir.as_deref())?;
    for (name, bytes) in [
        ("kernel.json", json.as_bytes()),
        ("logo-32x32.png", LOGO_32),
        ("logo-64x64.png", LOGO_64),
    ] {
        gan::safe_fs::write_atomic(&dir.join(name), bytes)?;
    }
    println!("installed kernelspec {KERNEL_NAME} in {}", dir.display());
    Ok(())
}
