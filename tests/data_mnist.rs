// MNIST loading against the real files in the shared data directory, plus damaged copies of
// them in temp dirs. (Plain comments, not `//!`: the scratch crate `include!`s this file.)

use gan::data::{load_mnist, MnistSplit};
use std::io::Read;
use std::path::{Path, PathBuf};

fn data_dir() -> PathBuf {
    match std::env::var_os("GAN_DATA_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/mnist")),
    }
}

/// Path of one shared MNIST file, raw or gzipped, whichever is there.
fn shared_file(name: &str) -> PathBuf {
    let gz = data_dir().join(format!("{name}.gz"));
    if gz.exists() {
        gz
    } else {
        data_dir().join(name)
    }
}

/// Decompressed bytes of one shared MNIST file.
fn shared_raw(name: &str) -> Vec<u8> {
    let path = shared_file(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        bytes
    }
}

fn counts(labels: &[u8]) -> [usize; 10] {
    let mut c = [0; 10];
    for &l in labels {
        c[l as usize] += 1;
    }
    c
}

/// A temp dir holding the test split: real t10k images plus the given labels bytes (raw).
fn test_split_with_labels(labels: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let img = shared_file("t10k-images-idx3-ubyte");
    std::fs::copy(&img, dir.path().join(img.file_name().unwrap())).unwrap();
    std::fs::write(dir.path().join("t10k-labels-idx1-ubyte"), labels).unwrap();
    dir
}

fn load_err(dir: &Path, split: MnistSplit) -> String {
    format!("{:#}", load_mnist(dir, split).unwrap_err())
}

#[test]
fn train_all_label_counts_and_mean_pixel() {
    let d = load_mnist(&data_dir(), MnistSplit::TrainAll).unwrap();
    assert_eq!(d.rows(), 60_000);
    assert_eq!(d.dim, 784);
    let shape = d.image.unwrap();
    assert_eq!((shape.height, shape.width, shape.channels), (28, 28, 1));
    assert_eq!(
        counts(d.labels.as_ref().unwrap()),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert!((d.mean() - 0.1307).abs() < 1e-4, "mean pixel {}", d.mean());
    let (lo, hi) =
        d.x.iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    assert_eq!((lo, hi), (0.0, 1.0));
}

#[test]
fn test_split_label_counts() {
    let d = load_mnist(&data_dir(), MnistSplit::Test).unwrap();
    assert_eq!(d.rows(), 10_000);
    assert_eq!(
        counts(d.labels.as_ref().unwrap()),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
}

#[test]
fn split_sizes_and_boundaries() {
    let dir = data_dir();
    let train = load_mnist(&dir, MnistSplit::Train).unwrap();
    let valid = load_mnist(&dir, MnistSplit::Valid).unwrap();
    assert_eq!((train.rows(), valid.rows()), (50_000, 10_000));
    assert_eq!(valid.labels.as_ref().unwrap().len(), 10_000);
    // Valid starts exactly at training-file row 50000: compare against the raw file bytes.
    let raw = shared_raw("train-images-idx3-ubyte");
    let row = |i: usize| -> Vec<f32> {
        raw[16 + i * 784..16 + (i + 1) * 784]
            .iter()
            .map(|&p| p as f32 / 255.0)
            .collect()
    };
    assert_eq!(train.row(0), &row(0)[..]);
    assert_eq!(train.row(49_999), &row(49_999)[..]);
    assert_eq!(valid.row(0), &row(50_000)[..]);
    assert_eq!(valid.row(9_999), &row(59_999)[..]);
    let labels = shared_raw("train-labels-idx1-ubyte");
    assert_eq!(valid.labels.as_ref().unwrap()[..], labels[8 + 50_000..]);
}

#[test]
fn raw_files_load_like_gz() {
    // The same labels written uncompressed give the same dataset as the shared gz.
    let dir = test_split_with_labels(&shared_raw("t10k-labels-idx1-ubyte"));
    let a = load_mnist(dir.path(), MnistSplit::Test).unwrap();
    let b = load_mnist(&data_dir(), MnistSplit::Test).unwrap();
    assert_eq!(a.labels, b.labels);
    assert_eq!(a.x, b.x);
}

#[test]
fn truncated_labels_error_names_file() {
    let labels = shared_raw("t10k-labels-idx1-ubyte");
    let dir = test_split_with_labels(&labels[..5_000]);
    let err = load_err(dir.path(), MnistSplit::Test);
    assert!(err.contains("t10k-labels-idx1-ubyte"), "{err}");
    assert!(
        err.contains("truncated data") && err.contains("10000"),
        "{err}"
    );
}

#[test]
fn corrupt_gzip_error_names_file() {
    let dir = tempfile::tempdir().unwrap();
    let gz = std::fs::read(shared_file("t10k-labels-idx1-ubyte")).unwrap();
    assert!(
        gz.starts_with(&[0x1f, 0x8b]),
        "shared labels file should be gzipped"
    );
    // Cut the stream in half: a truncated download.
    std::fs::write(
        dir.path().join("t10k-labels-idx1-ubyte.gz"),
        &gz[..gz.len() / 2],
    )
    .unwrap();
    let img = shared_file("t10k-images-idx3-ubyte");
    std::fs::copy(&img, dir.path().join(img.file_name().unwrap())).unwrap();
    let err = load_err(dir.path(), MnistSplit::Test);
    assert!(err.contains("t10k-labels-idx1-ubyte.gz"), "{err}");
    assert!(err.contains("gzip"), "{err}");
}

#[test]
fn label_count_mismatch_is_reported() {
    // A well-formed labels file with one label too few.
    let labels = shared_raw("t10k-labels-idx1-ubyte");
    let mut short = vec![0, 0, 8, 1];
    short.extend_from_slice(&9_999u32.to_be_bytes());
    short.extend_from_slice(&labels[8..8 + 9_999]);
    let dir = test_split_with_labels(&short);
    let err = load_err(dir.path(), MnistSplit::Test);
    assert!(
        err.contains("10000 images") && err.contains("9999 labels"),
        "{err}"
    );
    assert!(err.contains("t10k-labels-idx1-ubyte"), "{err}");
}

#[test]
fn out_of_range_label_is_reported() {
    let mut labels = shared_raw("t10k-labels-idx1-ubyte");
    labels[8 + 1234] = 10;
    let dir = test_split_with_labels(&labels);
    let err = load_err(dir.path(), MnistSplit::Test);
    assert!(err.contains("label 10 at index 1234"), "{err}");
    assert!(err.contains("t10k-labels-idx1-ubyte"), "{err}");
}

#[test]
fn swapped_files_give_bad_magic() {
    // A labels file where the images file should be: wrong number of dimensions in the magic.
    let dir = tempfile::tempdir().unwrap();
    let labels = shared_raw("t10k-labels-idx1-ubyte");
    std::fs::write(dir.path().join("t10k-images-idx3-ubyte"), &labels).unwrap();
    std::fs::write(dir.path().join("t10k-labels-idx1-ubyte"), &labels).unwrap();
    let err = load_err(dir.path(), MnistSplit::Test);
    assert!(err.contains("t10k-images-idx3-ubyte"), "{err}");
    assert!(
        err.contains("expected 0x00000803 (ubyte, 3 dims), found 0x00000801"),
        "{err}"
    );
}

#[test]
fn missing_labels_file_suggests_fetch() {
    let dir = tempfile::tempdir().unwrap();
    let img = shared_file("t10k-images-idx3-ubyte");
    std::fs::copy(&img, dir.path().join(img.file_name().unwrap())).unwrap();
    let err = load_err(dir.path(), MnistSplit::Test);
    let tried = dir.path().join("t10k-labels-idx1-ubyte");
    assert!(err.contains(&tried.display().to_string()), "{err}");
    assert!(err.contains("gan data fetch mnist --dir"), "{err}");
}
