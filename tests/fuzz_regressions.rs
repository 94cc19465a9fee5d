//! The fuzz targets' seed and regression corpora (fuzz/seeds, fuzz/regressions), replayed
//! through the same harness the fuzzer runs (fuzz/src/lib.rs), so that every input that once
//! crashed stays tested on the stable toolchain. Run in release mode (`cargo test --release`).

#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::path::Path;

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

#[test]
fn idx_corpus_replays_cleanly() {
    assert!(harness::replay(&dir(), "idx", harness::idx) > 0);
}

#[test]
fn image_corpus_replays_cleanly() {
    assert!(harness::replay(&dir(), "image", harness::image) > 0);
}

#[test]
fn script_corpus_replays_cleanly() {
    assert!(harness::replay(&dir(), "script", harness::script) > 0);
}
