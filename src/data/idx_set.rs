//! The IDX data sets in MNIST's format: MNIST itself and Fashion-MNIST. Each is four files (train
//! and test images and labels) known by the SHA-256 of their *decompressed* bytes, so that any
//! mirror's gzip, Debian's included, verifies.
//!
//! Where they live: MNIST in the data directory itself (`--data-dir`, `$GAN_DATA_DIR`,
//! `./data/mnist`), every other set in a sibling folder named after it (`./data/fashion-mnist`
//! beside `./data/mnist`), and, when that has no files, the directory a system package
//! installs (`/usr/share/datasets/fashion-mnist` from Debian's `dataset-fashion-mnist`).

use std::path::{Path, PathBuf};

/// One file of a set and the SHA-256 of its decompressed IDX bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MnistFile {
    /// File name without `.gz`, e.g. `"train-images-idx3-ubyte"`.
    pub name: &'static str,
    /// Lower-case hex SHA-256 of the decompressed bytes.
    pub sha256: &'static str,
}

/// An MNIST-format data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdxSet {
    /// Its name in prose and errors: `"MNIST"`, `"Fashion-MNIST"`.
    pub label: &'static str,
    /// Its name on the command line (`gan data fetch <key>`), in dataset names
    /// (`<key>-train`) and as the folder name beside the MNIST directory.
    pub key: &'static str,
    /// Train images, train labels, test images, test labels: the download order.
    pub files: [MnistFile; 4],
    /// Where `gan data fetch` downloads `<name>.gz` from by default.
    pub default_mirror: &'static str,
    /// A read-only directory a system package installs the files into, tried last.
    pub system_dir: Option<&'static str>,
}

/// The four MNIST files, in download order.
pub const MNIST_FILES: [MnistFile; 4] = [
    MnistFile {
        name: "train-images-idx3-ubyte",
        sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    },
    MnistFile {
        name: "train-labels-idx1-ubyte",
        sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    },
    MnistFile {
        name: "t10k-images-idx3-ubyte",
        sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    },
    MnistFile {
        name: "t10k-labels-idx1-ubyte",
        sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
];

/// The four Fashion-MNIST files (Xiao, Rasul & Vollgraf 2017): same names and sizes as MNIST's.
/// Hashes of the decompressed bytes of Debian's `dataset-fashion-mnist` 0.0~git20200523 files,
/// which equal those published for the upstream files (whose gzip MD5s are
/// 8d4fb7e6…, 25c81989…, bef4ecab…, bb300cfd…).
pub const FASHION_MNIST_FILES: [MnistFile; 4] = [
    MnistFile {
        name: "train-images-idx3-ubyte",
        sha256: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    },
    MnistFile {
        name: "train-labels-idx1-ubyte",
        sha256: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    },
    MnistFile {
        name: "t10k-images-idx3-ubyte",
        sha256: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    },
    MnistFile {
        name: "t10k-labels-idx1-ubyte",
        sha256: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
];

/// A public HTTPS mirror of the four gzipped MNIST files (the one torchvision uses first).
/// `https://storage.googleapis.com/cvdf-datasets/mnist/` serves the same files.
pub const DEFAULT_MNIST_MIRROR: &str = "https://ossci-datasets.s3.amazonaws.com/mnist/";

/// The Fashion-MNIST repository's own copy of its four gzipped files, over HTTPS.
pub const DEFAULT_FASHION_MNIST_MIRROR: &str =
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/";

/// Where Debian's `dataset-fashion-mnist` package installs the four gzipped files.
pub const DEBIAN_FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// MNIST (LeCun et al.), the paper's data set.
pub const MNIST: IdxSet = IdxSet {
    label: "MNIST",
    key: "mnist",
    files: MNIST_FILES,
    default_mirror: DEFAULT_MNIST_MIRROR,
    system_dir: None,
};

/// Fashion-MNIST: ten classes of clothing in MNIST's format, 6,000 / 1,000 images per class.
pub const FASHION_MNIST: IdxSet = IdxSet {
    label: "Fashion-MNIST",
    key: "fashion-mnist",
    files: FASHION_MNIST_FILES,
    default_mirror: DEFAULT_FASHION_MNIST_MIRROR,
    system_dir: Some(DEBIAN_FASHION_MNIST_DIR),
};

/// The folder named `name` beside the MNIST directory `data_dir` (inside it when `data_dir`
/// has no parent, e.g. `/`).
pub fn sibling_dir(data_dir: &Path, name: &str) -> PathBuf {
    match data_dir.parent() {
        Some(p) => p.join(name),
        None => data_dir.join(name),
    }
}

impl IdxSet {
    /// Where `gan data fetch` writes this set for the MNIST directory `data_dir`.
    pub fn home(&self, data_dir: &Path) -> PathBuf {
        if self.key == MNIST.key {
            data_dir.to_path_buf()
        } else {
            sibling_dir(data_dir, self.key)
        }
    }

    /// The directories tried when loading, in order: [`IdxSet::home`], then the system one.
    pub fn search_dirs(&self, data_dir: &Path) -> Vec<PathBuf> {
        let mut dirs = vec![self.home(data_dir)];
        dirs.extend(self.system_dir.map(PathBuf::from));
        dirs
    }

    /// The first of [`IdxSet::search_dirs`] holding this set's training images (as `.gz` or
    /// raw), else the home directory, whose missing files the loader then reports.
    pub fn locate(&self, data_dir: &Path) -> PathBuf {
        let dirs = self.search_dirs(data_dir);
        let images = self.files[0].name;
        dirs.iter()
            .find(|d| d.join(images).is_file() || d.join(format!("{images}.gz")).is_file())
            .unwrap_or(&dirs[0])
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homes_and_search_order() {
        let dir = Path::new("/data/mnist");
        assert_eq!(MNIST.home(dir), PathBuf::from("/data/mnist"));
        assert_eq!(
            FASHION_MNIST.home(dir),
            PathBuf::from("/data/fashion-mnist")
        );
        assert_eq!(
            FASHION_MNIST.search_dirs(dir),
            vec![
                PathBuf::from("/data/fashion-mnist"),
                PathBuf::from(DEBIAN_FASHION_MNIST_DIR)
            ]
        );
        assert_eq!(MNIST.search_dirs(dir), vec![PathBuf::from("/data/mnist")]);
        assert_eq!(sibling_dir(Path::new("/"), "x"), PathBuf::from("/x"));
    }

    #[test]
    fn locate_prefers_home_with_files() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("mnist");
        let home = root.path().join("fashion-mnist");
        std::fs::create_dir_all(&home).unwrap();
        // No files at home: the system directory (if installed) or home itself.
        let found = FASHION_MNIST.locate(&data);
        assert!(
            found == home || found == Path::new(DEBIAN_FASHION_MNIST_DIR),
            "{found:?}"
        );
        std::fs::write(home.join("train-images-idx3-ubyte.gz"), b"").unwrap();
        assert_eq!(FASHION_MNIST.locate(&data), home);
    }
}
