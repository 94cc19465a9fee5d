//! `gan data fetch <set>` and `gan data verify <set>`: MNIST, Fashion-MNIST, CIFAR-10.

use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};
use gan::data::cifar10::cifar10_dir;
use gan::data::cifar_fetch::{verify_cifar10, CifarOutcome, CifarSource};
use gan::data::{FetchOutcome, FetchSource, IdxSet, CIFAR10_ARCHIVE, FASHION_MNIST, MNIST};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DatasetName {
    Mnist,
    FashionMnist,
    Cifar10,
}

impl DatasetName {
    fn idx_set(self) -> Option<&'static IdxSet> {
        match self {
            DatasetName::Mnist => Some(&MNIST),
            DatasetName::FashionMnist => Some(&FASHION_MNIST),
            DatasetName::Cifar10 => None,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Download a dataset (or copy it from a local folder) and verify it: SHA-256 of each
    /// decompressed IDX file, MD5 of CIFAR-10's archive. Files already valid are kept.
    Fetch {
        dataset: DatasetName,
        /// Target directory (default: the MNIST directory from --data-dir / GAN_DATA_DIR /
        /// ./data/mnist; fashion-mnist and cifar10 go in folders of those names beside it).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Mirror to download from: the four *-ubyte.gz files, or cifar-10-binary.tar.gz,
        /// under this URL (default: each set's official host).
        #[arg(long, conflicts_with = "from")]
        base_url: Option<String>,
        /// Take the files from this local folder instead (e.g. /usr/share/datasets/fashion-mnist
        /// from Debian's dataset-fashion-mnist), or, for cifar10, this cifar-10-binary.tar.gz.
        #[arg(long)]
        from: Option<PathBuf>,
    },
    /// Check the files of a dataset (SHA-256 for the IDX sets, exact sizes for CIFAR-10).
    Verify {
        dataset: DatasetName,
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

/// Where `dataset` is fetched to, or verified in: `--dir`, else its home beside the MNIST
/// directory (for verify, Fashion-MNIST's system copy when its home has none).
fn target(dataset: DatasetName, dir: Option<PathBuf>, verifying: bool) -> PathBuf {
    if let Some(d) = dir {
        return d;
    }
    let data = super::data_dir(None);
    match dataset.idx_set() {
        Some(set) if verifying => set.locate(&data),
        Some(set) => set.home(&data),
        None => cifar10_dir(&data),
    }
}

pub fn main(cmd: DataCommand) -> anyhow::Result<()> {
    match cmd {
        DataCommand::Fetch {
            dataset,
            dir,
            base_url,
            from,
        } => {
            let dir = target(dataset, dir, false);
            match dataset.idx_set() {
                Some(set) => fetch_idx(set, &dir, base_url.as_deref(), from.as_deref()),
                None => fetch_cifar(&dir, base_url.as_deref(), from.as_deref()),
            }
        }
        DataCommand::Verify { dataset, dir } => {
            let dir = target(dataset, dir, true);
            match dataset.idx_set() {
                Some(set) => {
                    gan::data::verify_idx_set(set, &dir)?;
                    println!(
                        "{} in {}: all four files match their SHA-256 checksums",
                        set.label,
                        dir.display()
                    );
                }
                None => {
                    verify_cifar10(&dir, CIFAR10_ARCHIVE.records_per_file)?;
                    println!(
                        "CIFAR-10 in {}: all six batch files are present with their exact sizes",
                        dir.display()
                    );
                }
            }
            Ok(())
        }
    }
}

fn fetch_idx(
    set: &IdxSet,
    dir: &Path,
    base_url: Option<&str>,
    from: Option<&Path>,
) -> anyhow::Result<()> {
    let source = match from {
        Some(f) => FetchSource::Dir(f),
        None => FetchSource::Mirror(base_url.unwrap_or(set.default_mirror)),
    };
    for outcome in gan::data::fetch_idx_set(set, dir, source)? {
        match outcome {
            FetchOutcome::AlreadyPresent { name, path } => {
                println!("{name}: already present and valid ({})", path.display())
            }
            FetchOutcome::Copied {
                name,
                path,
                from,
                bytes,
            } => println!(
                "{name}: copied {bytes} bytes from {}, checksum ok → {}",
                from.display(),
                path.display()
            ),
            FetchOutcome::Downloaded {
                name, path, bytes, ..
            } => println!(
                "{name}: downloaded {bytes} bytes, checksum ok → {}",
                path.display()
            ),
        }
    }
    println!("{} is ready in {}", set.label, dir.display());
    Ok(())
}

fn fetch_cifar(dir: &Path, base_url: Option<&str>, from: Option<&Path>) -> anyhow::Result<()> {
    let source = match from {
        Some(f) => CifarSource::Local(f),
        None => CifarSource::Mirror(base_url.unwrap_or(gan::data::DEFAULT_CIFAR10_URL)),
    };
    match gan::data::fetch_cifar10(dir, source, &CIFAR10_ARCHIVE)? {
        CifarOutcome::AlreadyPresent(d) => {
            println!("CIFAR-10: already present and complete in {}", d.display())
        }
        CifarOutcome::Installed { dir, from, bytes } => println!(
            "CIFAR-10: {bytes} bytes from {from}, MD5 ok, unpacked → {}",
            dir.display()
        ),
    }
    Ok(())
}
