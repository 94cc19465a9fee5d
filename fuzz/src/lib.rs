//! The fuzz harnesses, one function per target. Each takes arbitrary bytes and must return
//! normally: an `Err` is the expected answer to bad input, a panic, abort, hang or runaway
//! allocation is a bug. The same functions replay the seed and regression corpora under plain
//! `cargo test` (here, and in the main crate's `tests/fuzz_regressions.rs`, which includes this
//! file), so a crash once found stays tested without a nightly toolchain.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gan::data::{idx, load_image_folder, parse_idx, ColorMode};
use gan::script::{HostConfig, NullSink};
use gan::session::Session;

/// IDX parsing: raw, and through gzip detection with the MNIST shape checks.
pub fn idx(data: &[u8]) {
    if let Ok(t) = parse_idx(data, "fuzz.idx") {
        let n: usize = t.dims.iter().product();
        assert_eq!(
            n,
            t.data.len(),
            "dims {:?} vs {} bytes",
            t.dims,
            t.data.len()
        );
    }
    if let Ok(bytes) = idx::maybe_gunzip(data, "fuzz.idx.gz") {
        for ndims in [1, 3] {
            if let Ok(t) = idx::parse_idx_expect(&bytes, "fuzz.idx.gz", ndims) {
                assert_eq!(t.dims.len(), ndims);
            }
        }
    }
}

/// Image-folder loading: the bytes as the one file of a folder, decoded and resized to 8×8 in
/// both colour modes.
pub fn image(data: &[u8]) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    fs::write(dir.path().join("x.img"), data).expect("writing the input");
    for (mode, channels) in [(ColorMode::Gray, 1), (ColorMode::Rgb, 3)] {
        if let Ok(d) = load_image_folder(dir.path(), 8, 8, mode) {
            assert_eq!((d.rows(), d.dim), (1, 64 * channels));
            assert!(d.x.iter().all(|v| (0.0..=1.0).contains(v)));
        }
    }
}

/// Script evaluation with the sandbox on: a fresh session per input, a run directory and an
/// empty data directory in a temporary folder, no recipe folder (so no imports), a timeout and
/// a memory limit. Afterwards nothing but the two folders may exist in the temporary folder.
pub fn script(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let root = tempfile::tempdir().expect("a temporary folder");
    let config = HostConfig {
        run_dir: Some(root.path().join("run")),
        data_dir: root.path().join("data"),
        params: Default::default(),
        seed: Some(1),
        recipe_name: "fuzz".into(),
        recipe_text: text.to_string(),
    };
    fs::create_dir(root.path().join("data")).expect("the data folder");
    let mut s = Session::new(config, Arc::new(NullSink)).expect("a session");
    s.host.set_timeout(0.5);
    if let Some(rss) = gan::script::host::resident_bytes() {
        s.host.set_memory_limit(Some(rss + (512 << 20)));
    }
    // The session turns a panic into an error marked `internal`: for the fuzzer it is a crash.
    if let Err(e) = s.eval_named("fuzz.rhai", text) {
        assert!(!e.internal, "gan panicked: {}", e.message);
    }
    let mut names: Vec<String> = fs::read_dir(root.path())
        .expect("listing the temporary folder")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["data", "run"],
        "the script wrote outside its run directory"
    );
    assert_eq!(
        fs::read_dir(root.path().join("data"))
            .map(|d| d.count())
            .unwrap_or(0),
        0,
        "the script wrote into the data directory"
    );
}

/// Every file in `dirs` (missing folders are skipped), sorted.
pub fn corpus_files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in dirs {
        let Ok(entries) = fs::read_dir(d) else {
            continue;
        };
        for e in entries.flatten() {
            if e.path().is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// Runs `target` on every file of the seed and regression corpora of `name` under `fuzz_dir`;
/// returns how many inputs ran.
pub fn replay(fuzz_dir: &Path, name: &str, target: fn(&[u8])) -> usize {
    let files = corpus_files(&[
        fuzz_dir.join("seeds").join(name),
        fuzz_dir.join("regressions").join(name),
    ]);
    for f in &files {
        let bytes = fs::read(f).expect("reading a corpus file");
        eprintln!("replaying {}", f.display());
        target(&bytes);
    }
    files.len()
}
