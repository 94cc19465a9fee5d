//! `gan data fetch mnist` and `gan data verify mnist`.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DatasetName {
    Mnist,
}

#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Download a dataset and verify every file's SHA-256 (files already valid are kept).
    Fetch {
        dataset: DatasetName,
        /// Target directory (default: --data-dir / GAN_DATA_DIR / ./data/mnist).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Mirror to download from (the four *-ubyte.gz files under this URL).
        #[arg(long, default_value = gan::data::DEFAULT_MNIST_MIRROR)]
        base_url: String,
    },
    /// Check the files of a dataset against their SHA-256 checksums.
    Verify {
        dataset: DatasetName,
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

pub fn main(cmd: DataCommand) -> anyhow::Result<()> {
    match cmd {
        DataCommand::Fetch {
            dataset: DatasetName::Mnist,
            dir,
            base_url,
        } => {
            let dir = super::data_dir(dir);
            for outcome in gan::data::fetch_mnist(&dir, &base_url)? {
                match outcome {
                    gan::data::FetchOutcome::AlreadyPresent { name, path } => {
                        println!("{name}: already present and valid ({})", path.display())
                    }
                    gan::data::FetchOutcome::Downloaded {
                        name, path, bytes, ..
                    } => {
                        println!(
                            "{name}: downloaded {bytes} bytes, checksum ok → {}",
                            path.display()
                        )
                    }
                }
            }
            println!("MNIST is ready in {}", dir.display());
            Ok(())
        }
        DataCommand::Verify {
            dataset: DatasetName::Mnist,
            dir,
        } => {
            let dir = super::data_dir(dir);
            gan::data::verify_mnist(&dir)?;
            println!(
                "MNIST in {}: all four files match their SHA-256 checksums",
                dir.display()
            );
            Ok(())
        }
    }
}
