//! Samples made elsewhere, for `gan eval classifier --samples-file`: a safetensors file with one
//! F32 tensor `samples` of shape `[n, …]` whose trailing sizes multiply to the image size (e.g.
//! `[n, 784]` or `[n, 1, 28, 28]`). It lets another implementation's generator (PyTorch's, in
//! `bench/quality/`) be scored by the same classifier as the engine's, which is how a defect in
//! the engine or its sampling is told apart from a weak recipe.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::checkpoint::weights::TensorFile;

/// The tensor a samples file must hold.
pub const SAMPLES_TENSOR: &str = "samples";

/// The largest samples file read: 100,000 Fashion-MNIST-sized images are 314 MB.
pub const MAX_SAMPLES_FILE_BYTES: u64 = 1 << 30;

/// The rows of `path`'s `samples` tensor, row-major, each of `dim` values (the classifier's
/// input size). Every problem is an error naming the file: not a regular file, not safetensors,
/// no `samples` tensor or not F32, a shape whose rows are not `dim` values, fewer than 2 rows
/// (a covariance needs 2), or a value that is not finite.
pub fn read_samples_file(path: &Path, dim: usize) -> Result<Vec<f32>> {
    let bytes = crate::safe_fs::read_regular(path, MAX_SAMPLES_FILE_BYTES)
        .with_context(|| format!("reading samples from {}", path.display()))?;
    let file = TensorFile::decode(&bytes, path)?;
    let Some(t) = file.tensors.get(SAMPLES_TENSOR) else {
        let names: Vec<&str> = file.tensors.keys().map(String::as_str).collect();
        bail!(
            "{}: no tensor `{SAMPLES_TENSOR}` (it holds: {})",
            path.display(),
            if names.is_empty() {
                "nothing".to_string()
            } else {
                names.join(", ")
            }
        );
    };
    let row: usize = t.shape.iter().skip(1).product();
    if t.shape.len() < 2 || row != dim {
        bail!(
            "{}: `{SAMPLES_TENSOR}` has shape {:?}; expected [n, …] with {dim} values a row",
            path.display(),
            t.shape
        );
    }
    let n = t.shape[0];
    if n < 2 {
        bail!(
            "{}: {n} samples; the Fréchet distance needs at least 2",
            path.display()
        );
    }
    if let Some(i) = t.values.iter().position(|v| !v.is_finite()) {
        bail!(
            "{}: sample {} holds a value that is not finite ({})",
            path.display(),
            i / dim,
            t.values[i]
        );
    }
    Ok(t.values.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::weights::encode;
    use crate::engine::network::NamedValues;

    fn write(
        dir: &Path,
        name: &str,
        tensors: &[(&str, Vec<usize>, Vec<f32>)],
    ) -> std::path::PathBuf {
        let named: Vec<NamedValues> = tensors
            .iter()
            .map(|(n, s, v)| NamedValues {
                name: n.to_string(),
                shape: s.clone(),
                values: v.clone(),
            })
            .collect();
        let path = dir.join(name);
        std::fs::write(&path, encode(named, Default::default()).unwrap()).unwrap();
        path
    }

    #[test]
    fn reads_rows_of_either_shape() {
        let dir = tempfile::tempdir().unwrap();
        let v: Vec<f32> = (0..12).map(|i| i as f32 / 12.0).collect();
        let flat = write(
            dir.path(),
            "a.safetensors",
            &[("samples", vec![3, 4], v.clone())],
        );
        assert_eq!(read_samples_file(&flat, 4).unwrap(), v);
        let image = write(
            dir.path(),
            "b.safetensors",
            &[("samples", vec![3, 1, 2, 2], v.clone())],
        );
        assert_eq!(read_samples_file(&image, 4).unwrap(), v);
    }

    #[test]
    fn bad_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = |p: &Path, dim| format!("{:#}", read_samples_file(p, dim).unwrap_err());
        let wrong_row = write(
            dir.path(),
            "w.safetensors",
            &[("samples", vec![3, 4], vec![0.0; 12])],
        );
        let e = err(&wrong_row, 784);
        assert!(
            e.contains("w.safetensors") && e.contains("784 values a row"),
            "{e}"
        );
        let other = write(
            dir.path(),
            "o.safetensors",
            &[("x", vec![3, 4], vec![0.0; 12])],
        );
        let e = err(&other, 4);
        assert!(
            e.contains("o.safetensors") && e.contains("no tensor `samples`") && e.contains("x"),
            "{e}"
        );
        let one = write(
            dir.path(),
            "one.safetensors",
            &[("samples", vec![1, 4], vec![0.0; 4])],
        );
        assert!(err(&one, 4).contains("at least 2"));
        let mut v = vec![0.5f32; 12];
        v[9] = f32::NAN;
        let nan = write(dir.path(), "nan.safetensors", &[("samples", vec![3, 4], v)]);
        let e = err(&nan, 4);
        assert!(e.contains("sample 2") && e.contains("not finite"), "{e}");
        let junk = dir.path().join("junk.safetensors");
        std::fs::write(&junk, b"not a tensor file").unwrap();
        let e = err(&junk, 4);
        assert!(
            e.contains("junk.safetensors") && e.contains("not a valid safetensors"),
            "{e}"
        );
        let e = err(&dir.path().join("missing.safetensors"), 4);
        assert!(e.contains("missing.safetensors"), "{e}");
    }
}
