//! Replays the seed and regression corpora through the fuzz harnesses (no nightly needed).

use std::path::Path;

fn dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn idx_corpus() {
    assert!(gan_fuzz::replay(dir(), "idx", gan_fuzz::idx) > 0);
}

#[test]
fn image_corpus() {
    assert!(gan_fuzz::replay(dir(), "image", gan_fuzz::image) > 0);
}

#[test]
fn script_corpus() {
    assert!(gan_fuzz::replay(dir(), "script", gan_fuzz::script) > 0);
}
