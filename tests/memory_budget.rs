//! The memory limit covers native allocations: samples, data sets and images are charged against
//! it before they are allocated, and refused at the script position of the call. Before, the
//! limit was sampled every 65,536 script operations and counted only what the process already
//! held, so a short loop collecting `gan.sample(…)` grew past it unseen; and a small gzipped
//! IDX file declaring a huge size was inflated before anything was checked.
//!
//! The tests measure the process's resident memory: they run one at a time.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use gan::script::host::resident_bytes;
use gan::script::{HostConfig, NullSink, ScriptError};
use gan::session::Session;

static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `text` in a session whose memory limit is what the process holds now plus `room` MiB.
fn error_with_room(data_dir: &Path, room: u64, text: &str) -> ScriptError {
    let config = HostConfig {
        data_dir: data_dir.to_path_buf(),
        seed: Some(1),
        ..Default::default()
    };
    let mut s = Session::new(config, Arc::new(NullSink)).unwrap();
    let rss = resident_bytes().expect("the resident size (Linux)");
    s.host.set_memory_limit(Some(rss + (room << 20)));
    s.eval_named("recipe.rhai", text)
        .expect_err("the recipe should be refused")
}

#[test]
fn collecting_samples_is_refused_at_the_call_that_passes_the_limit() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    // each sample(20000) holds 20000 × 784 f32 (63 MB) and needs about twice that while G runs
    let text = "let m = gan(stack(8).dense(784).sigmoid(), stack(784).dense(1));\n\
                let kept = [];\n\
                for i in 0..12 {\n    kept.push(m.sample(20000));\n}";
    let e = error_with_room(tmp.path(), 300, text);
    assert_eq!((e.line, e.col), (Some(4), Some(17)), "{e}");
    for part in [
        "out of memory: sample(n) needs",
        "memory limit",
        "refusing to allocate",
    ] {
        assert!(e.message.contains(part), "`{part}` not in {}", e.message);
    }
    // and after the refusal the same session still has room for what fits
}

fn idx_header(dims: &[u32]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v
}

fn gzip_of(header: &[u8], zeros: usize) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(header).unwrap();
    let block = vec![0u8; 1 << 20];
    let mut left = zeros;
    while left > 0 {
        let n = left.min(block.len());
        e.write_all(&block[..n]).unwrap();
        left -= n;
    }
    e.finish().unwrap()
}

#[test]
fn a_small_gzipped_idx_declaring_a_big_size_is_refused_before_inflating() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // 60000 × 1000 × 1000: 60 GB declared, a few bytes present
    let bytes = gzip_of(&idx_header(&[60000, 1000, 1000]), 16);
    let e = gan::data::idx::maybe_gunzip(&bytes, "big.idx.gz").unwrap_err();
    let e = format!("{e:#}");
    assert!(
        e.contains("big.idx.gz: the IDX header declares 60000000016 bytes (60000×1000×1000)"),
        "{e}"
    );
    assert!(e.contains("refusing before inflating"), "{e}");

    // 20000 × 128 × 128 (328 MB, 1.3 GB as f32) in a 0.3 MB file: under the inflate cap, but
    // not under the session's memory limit: mnist() refuses it before reading the data.
    let dir = tempfile::tempdir().unwrap();
    let n = 20000u32;
    let images = gzip_of(&idx_header(&[n, 128, 128]), n as usize * 128 * 128);
    assert!(images.len() < 2 << 20, "{} bytes", images.len());
    std::fs::write(dir.path().join("t10k-images-idx3-ubyte.gz"), images).unwrap();
    let mut labels = idx_header(&[n]);
    labels.extend((0..n).map(|i| (i % 10) as u8));
    std::fs::write(dir.path().join("t10k-labels-idx1-ubyte"), labels).unwrap();
    let before = resident_bytes().unwrap();
    let e = error_with_room(dir.path(), 256, "let a = 1;\nlet d = mnist(\"test\");");
    assert_eq!((e.line, e.col), (Some(2), Some(9)), "{e}");
    for part in [
        "out of memory: mnist(\"test\") (",
        "t10k-images-idx3-ubyte.gz) needs 1562 MiB",
        "refusing to allocate",
    ] {
        assert!(e.message.contains(part), "`{part}` not in {}", e.message);
    }
    let grown = resident_bytes().unwrap().saturating_sub(before);
    assert!(grown < 200 << 20, "grew {} MiB", grown >> 20);
}
