//! Fashion-MNIST (from Debian's `dataset-fashion-mnist`, which CI installs) and CIFAR-10's reader,
//! through the Rust API and the DSL: known facts of the real files, labels kept, pixel ranges,
//! GCN, and corrupted files refused naming the file.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gan::data::cifar10::{RECORD_BYTES, TEST_FILE, TRAIN_FILES};
use gan::data::{
    fetch_idx_set, load_fashion_mnist, verify_idx_set, FetchSource, MnistSplit, PixelRange,
    DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST,
};
use gan::script::{HostConfig, NullSink, Sink};
use gan::session::Session;

/// The Debian package's folder; these tests need it (`apt-get install dataset-fashion-mnist`).
fn debian() -> PathBuf {
    let d = PathBuf::from(DEBIAN_FASHION_MNIST_DIR);
    assert!(
        d.join("train-images-idx3-ubyte.gz").is_file(),
        "Fashion-MNIST is not installed in {}: run `apt-get install dataset-fashion-mnist` (as .ci/run does)",
        d.display()
    );
    d
}

fn session(data_dir: &Path) -> Session {
    let config = HostConfig {
        run_dir: None,
        data_dir: data_dir.to_path_buf(),
        params: Default::default(),
        seed: Some(1),
        recipe_name: "data_sets".into(),
        recipe_text: String::new(),
    };
    Session::new(config, Arc::new(NullSink)).unwrap()
}

/// Asserts that `text` fails at line `line` with a message containing each of `parts`.
#[track_caller]
fn assert_fails(s: &mut Session, text: &str, line: usize, parts: &[&str]) {
    let e = s.eval_named("r.rhai", text).unwrap_err();
    assert_eq!(e.line, Some(line), "{e}");
    for p in parts {
        assert!(e.message.contains(p), "`{p}` not in: {e}");
    }
}

/// The array `text` evaluates to.
fn array(s: &mut Session, text: &str) -> Vec<rhai::Dynamic> {
    s.eval(text).unwrap().into_array().unwrap()
}

fn ints(v: rhai::Dynamic) -> Vec<i64> {
    v.into_array()
        .unwrap()
        .into_iter()
        .map(|x| x.as_int().unwrap())
        .collect()
}

#[test]
fn fashion_mnist_known_facts() {
    let dir = debian();
    // The decompressed files hash to the published SHA-256s (Debian's gzip differs, not the data).
    verify_idx_set(&FASHION_MNIST, &dir).unwrap();
    let train = load_fashion_mnist(&dir, MnistSplit::TrainAll).unwrap();
    let test = load_fashion_mnist(&dir, MnistSplit::Test).unwrap();
    assert_eq!((train.rows(), test.rows()), (60_000, 10_000));
    assert_eq!(train.image_chw(), Some([1, 28, 28]));
    assert_eq!(train.name, "fashion-mnist-train_all");
    // Balanced: 6,000 / 1,000 per class.
    assert_eq!(train.label_counts(), Some(vec![6_000; 10]));
    assert_eq!(test.label_counts(), Some(vec![1_000; 10]));
    // The first labels, as the data set's users everywhere print them (9 = ankle boot).
    assert_eq!(
        &train.labels().unwrap()[..10],
        &[9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    );
    assert_eq!(
        &test.labels().unwrap()[..10],
        &[9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    );
    // Pixels fill [0, 1]: bytes 0 and 255 both occur.
    let (lo, hi) = train
        .x
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    assert_eq!((lo, hi), (0.0, 1.0));
    // The paper's split of the training file: 50,000 + 10,000, labels sliced alongside.
    let valid = load_fashion_mnist(&dir, MnistSplit::Valid).unwrap();
    assert_eq!(valid.rows(), 10_000);
    assert_eq!(valid.labels().unwrap(), &train.labels().unwrap()[50_000..]);
    assert_eq!(valid.row(0), train.row(50_000));
}

#[test]
fn fetch_from_the_package_folder_then_nothing_to_do() {
    let src = debian();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fashion-mnist");
    let out = fetch_idx_set(&FASHION_MNIST, &dir, FetchSource::Dir(&src)).unwrap();
    assert_eq!(out.len(), 4);
    for (o, f) in out.iter().zip(&FASHION_MNIST.files) {
        assert!(
            matches!(o, gan::data::FetchOutcome::Copied { from, .. } if *from == src.join(format!("{}.gz", f.name))),
            "{o:?}"
        );
    }
    verify_idx_set(&FASHION_MNIST, &dir).unwrap();
    let again = fetch_idx_set(&FASHION_MNIST, &dir, FetchSource::Dir(tmp.path())).unwrap();
    assert!(
        again
            .iter()
            .all(|o| matches!(o, gan::data::FetchOutcome::AlreadyPresent { .. })),
        "{again:?}"
    );
    // Copying from a folder that holds MNIST instead is refused at the first file, by name.
    let mnist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mnist");
    let other = tmp.path().join("other");
    let e = format!(
        "{:#}",
        fetch_idx_set(&FASHION_MNIST, &other, FetchSource::Dir(&mnist)).unwrap_err()
    );
    assert!(
        e.contains("checksum mismatch") && e.contains("train-images-idx3-ubyte"),
        "{e}"
    );
    assert!(fs::read_dir(&other).unwrap().next().is_none());
}

#[test]
fn a_corrupted_file_is_refused_naming_it() {
    let src = debian();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fashion-mnist");
    fetch_idx_set(&FASHION_MNIST, &dir, FetchSource::Dir(&src)).unwrap();
    // One flipped pixel byte inside the test images (stored raw, which the loader also reads).
    let gz = dir.join("t10k-images-idx3-ubyte.gz");
    let mut raw = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&fs::read(&gz).unwrap()[..]),
        &mut raw,
    )
    .unwrap();
    raw[5_000] ^= 0x40;
    fs::remove_file(&gz).unwrap();
    fs::write(dir.join("t10k-images-idx3-ubyte"), &raw).unwrap();
    let e = format!("{:#}", verify_idx_set(&FASHION_MNIST, &dir).unwrap_err());
    assert!(
        e.contains("t10k-images-idx3-ubyte: SHA-256 mismatch")
            && e.contains(FASHION_MNIST.files[2].sha256)
            && e.contains("gan data fetch fashion-mnist"),
        "{e}"
    );
    assert!(
        !e.contains("train-images"),
        "only the bad file is named: {e}"
    );
    // A truncated gzip is refused by the loader, naming the file.
    fs::write(
        dir.join("train-labels-idx1-ubyte.gz"),
        &fs::read(src.join("train-labels-idx1-ubyte.gz")).unwrap()[..2_000],
    )
    .unwrap();
    let e = format!(
        "{:#}",
        load_fashion_mnist(&dir, MnistSplit::Train).unwrap_err()
    );
    assert!(e.contains("train-labels-idx1-ubyte.gz"), "{e}");
}

#[test]
fn dsl_fashion_mnist_labels_shape_and_range() {
    debian();
    // A data directory with no fashion-mnist beside it: the package's copy is found.
    let tmp = tempfile::tempdir().unwrap();
    let mut s = session(&tmp.path().join("mnist"));
    let v = s
        .eval("let d = fashion_mnist(\"test\");\n[d.rows, d.dim, d.labels.len(), d.labels[0], d.labels[1]]")
        .unwrap();
    assert_eq!(ints(v), vec![10_000, 784, 10_000, 9, 2]);
    assert_eq!(
        ints(s.eval("fashion_mnist(\"train\").shape").unwrap()),
        vec![1, 28, 28]
    );
    assert_eq!(
        s.eval("fashion_mnist(\"test\").range")
            .unwrap()
            .into_string()
            .unwrap(),
        "unit"
    );
    // [-1, 1] for a tanh generator: 2v - 1 of the unit values, labels kept.
    let v = array(&mut s, "let u = fashion_mnist(\"test\");\nlet t = fashion_mnist(\"test\", #{ range: \"symmetric\" });\n[t.range, t.rows_of(0, 1).min(), t.rows_of(0, 1).max(), t.labels[0], u.rows_of(0, 1).mean(), t.rows_of(0, 1).mean()]");
    assert_eq!(v[0].clone().into_string().unwrap(), "symmetric");
    assert_eq!(
        (v[1].as_float().unwrap(), v[2].as_float().unwrap()),
        (-1.0, 1.0)
    );
    assert_eq!(v[3].as_int().unwrap(), 9);
    let (mu, mt) = (v[4].as_float().unwrap(), v[5].as_float().unwrap());
    assert!((mt - (2.0 * mu - 1.0)).abs() < 1e-5, "{mu} {mt}");
    // A wrong range, split or option is an error at its call, naming the choices.
    let bad_range = "let x = 1;\nlet d = fashion_mnist(\"test\", #{ range: \"tanh\" });";
    assert_fails(&mut s, bad_range, 2, &["\"tanh\"", "symmetric"]);
    let bad_split = "let d = fashion_mnist(\"training\");";
    assert_fails(&mut s, bad_split, 1, &["\"training\"", "train_all"]);
    let typo = "let d = fashion_mnist(\"test\", #{ rnage: \"unit\" });";
    assert_fails(&mut s, typo, 1, &["rnage"]);
}

#[test]
fn dsl_mnist_range_and_labels_and_toy_labels() {
    let mnist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mnist");
    let mut s = session(&mnist);
    // MNIST's first test digits are 7, 2, 1, 0, 4.
    let v = s.eval("let d = mnist(\"test\", #{ range: \"symmetric\" });\nlet l = d.labels;\n[l[0], l[1], l[2], l[3], l[4]]").unwrap();
    assert_eq!(ints(v), vec![7, 2, 1, 0, 4]);
    assert_eq!(
        s.eval("mnist(\"test\", #{ range: \"symmetric\" }).range")
            .unwrap()
            .into_string()
            .unwrap(),
        "symmetric"
    );
    // Toy mixtures label each point with its component.
    let v = s
        .eval("let g = ring(8, #{ n: 16 });\n[g.labels.len(), g.shape[0]]")
        .unwrap();
    assert_eq!(ints(v), vec![16, 2]);
    let not_a_name = "let g = ring(8);\nlet h = mnist(\"test\", #{ range: 1 });";
    assert_fails(&mut s, not_a_name, 2, &["range", "string"]);
    // GCN works on flat rows too; toy generators take no pixel range.
    let flat = "let g = ring(8);\nlet h = g.gcn(2.0);\nlet k = ring(4, #{ range: \"unit\" });";
    assert_fails(&mut s, flat, 3, &["range"]);
}

/// Writes CIFAR-10-format files with `per_file` records into `dir`; record `k` of the split
/// has label `k % 10` and pixel `p` (CHW) equal to `(p + 7k) % 256`.
fn write_cifar(dir: &Path, per_file: usize) {
    fs::create_dir_all(dir).unwrap();
    for (f, name) in TRAIN_FILES.iter().chain([&TEST_FILE]).enumerate() {
        let mut bytes = Vec::new();
        for i in 0..per_file {
            let k = if *name == TEST_FILE {
                i
            } else {
                f * per_file + i
            };
            bytes.push((k % 10) as u8);
            bytes.extend((0..RECORD_BYTES - 1).map(|p| ((p + 7 * k) % 256) as u8));
        }
        fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn dsl_cifar10_reads_chw_images_with_labels_and_gcn() {
    let root = tempfile::tempdir().unwrap();
    write_cifar(&root.path().join("cifar10"), 4);
    let mut s = session(&root.path().join("mnist"));
    let v = s
        .eval("let d = cifar10(\"train\");\n[d.rows, d.dim, d.labels[13], d.shape[0], d.shape[1], d.shape[2]]")
        .unwrap();
    assert_eq!(ints(v), vec![20, 3072, 3, 3, 32, 32]);
    // Record 5 of train (file 2, record 1): its green plane's first pixel is (1024 + 35) % 256.
    let d = gan::data::load_cifar10(&root.path().join("cifar10"), gan::data::CifarSplit::Train)
        .unwrap();
    assert_eq!(d.row(5)[1024], ((1024 + 35) % 256) as f32 / 255.0);
    // GCN with the paper's scale 55: each row has mean 0 and L2 norm 55.
    let v = array(&mut s, "let g = cifar10(\"test\").gcn(55.0);\nlet r = g.rows_of(2, 3);\n[g.range, r.mean(), r.std()]");
    assert_eq!(v[0].clone().into_string().unwrap(), "contrast");
    assert!(v[1].as_float().unwrap().abs() < 1e-4, "{v:?}");
    // population std × sqrt(n) is the norm of a zero-mean row
    let norm = v[2].as_float().unwrap() * (3072f64).sqrt();
    assert!((norm - 55.0).abs() < 1e-2, "{norm}");
    // A missing split names the file and the fetch command.
    fs::remove_file(root.path().join("cifar10").join(TEST_FILE)).unwrap();
    let mut s = session(&root.path().join("mnist"));
    let missing = "let x = 1;\nlet t = cifar10(\"test\");";
    assert_fails(
        &mut s,
        missing,
        2,
        &["test_batch.bin", "gan data fetch cifar10"],
    );
    let bad_split = "let t = cifar10(\"valid\");";
    assert_fails(&mut s, bad_split, 1, &["\"valid\"", "train, test"]);
}

#[test]
fn symmetric_colour_grid_maps_back_to_the_stored_bytes() {
    // A CIFAR record drawn from [-1, 1] data gives back its own bytes (±1 from rounding).
    let root = tempfile::tempdir().unwrap();
    write_cifar(&root.path().join("cifar10"), 1);
    let d = gan::data::load_cifar10(&root.path().join("cifar10"), gan::data::CifarSplit::Test)
        .unwrap()
        .try_with_range(PixelRange::Symmetric)
        .unwrap();
    let img = gan::viz::sample_grid(d.row(0), d.image.unwrap(), 1, 0, 1).unwrap();
    for (y, x) in [(0u32, 0u32), (5, 17), (31, 31)] {
        let at = (y * 32 + x) as usize;
        let want = [0, 1024, 2048].map(|c| ((at + c) % 256) as i32);
        let got = img.get_pixel(x, y).0.map(|b| b as i32);
        for c in 0..3 {
            assert!(
                (got[c] - want[c]).abs() <= 1,
                "({y}, {x}) channel {c}: {got:?} vs {want:?}"
            );
        }
    }
}

#[test]
fn cli_fetch_from_the_package_folder_and_verify() {
    let src = debian();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fm");
    let gan = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_gan"))
            .args(args)
            .env("GAN_DATA_DIR", tmp.path().join("mnist"))
            .output()
            .unwrap()
    };
    let d = dir.to_str().unwrap();
    let fetch = [
        "data",
        "fetch",
        "fashion-mnist",
        "--from",
        src.to_str().unwrap(),
    ];
    let out = gan(&[&fetch[..], &["--dir", d]].concat());
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}{err}");
    assert_eq!(text.matches("checksum ok").count(), 4, "{text}");
    let verify = gan(&["data", "verify", "fashion-mnist", "--dir", d]);
    assert!(verify.status.success());
    // Without --dir, fetch writes beside the MNIST directory: GAN_DATA_DIR/../fashion-mnist.
    let out = gan(&fetch);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(tmp
        .path()
        .join("fashion-mnist/t10k-labels-idx1-ubyte.gz")
        .is_file());
    // A labels file replaced by MNIST's is named by verify, which then fails.
    let mnist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mnist");
    fs::copy(
        mnist.join("t10k-labels-idx1-ubyte.gz"),
        dir.join("t10k-labels-idx1-ubyte.gz"),
    )
    .unwrap();
    let out = gan(&["data", "verify", "fashion-mnist", "--dir", d]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("t10k-labels-idx1-ubyte.gz: SHA-256 mismatch"),
        "{err}"
    );
}

#[test]
fn a_gan_fitted_to_symmetric_colour_data_shows_colour_samples_in_that_range() {
    // An MLP GAN on generated CIFAR-format data in [-1, 1] (flat stacks see 3·32·32 features);
    // its samples come out of tanh and are drawn back as colour bytes: (v + 1) / 2 · 255.
    let root = tempfile::tempdir().unwrap();
    write_cifar(&root.path().join("cifar10"), 4);
    let images = Arc::new(Images::default());
    let config = HostConfig {
        run_dir: None,
        data_dir: root.path().join("mnist"),
        params: Default::default(),
        seed: Some(3),
        recipe_name: "cifar_smoke".into(),
        recipe_text: String::new(),
    };
    let mut s = Session::new(config, images.clone()).unwrap();
    let v = array(
        &mut s,
        r#"let data = cifar10("train", #{ range: "symmetric" });
let g = stack(8).dense(16).relu().dense(3072).tanh();
let d = stack(3072).dense(16).relu().dense(1);
let gan = gan(g, d);
gan.fit(data, #{ epochs: 1, batch: 10, opt: adam(#{ lr: 0.001 }) });
let x = gan.sample_fixed(2);
show(x);
x.to_array()"#,
    );
    let x: Vec<f64> = v.into_iter().map(|d| d.as_float().unwrap()).collect();
    assert_eq!(x.len(), 2 * 3072);
    assert!(x.iter().all(|v| (-1.0..=1.0).contains(v)));
    let shown = images.0.lock().unwrap();
    // fit shows its own 10 × 10 grid at the epoch's end; `show(x)` comes last.
    let img = image::load_from_memory(shown.last().unwrap())
        .unwrap()
        .to_rgb8();
    // Two 64×64 tiles (each pixel drawn 2×2) with 1-pixel separators.
    assert_eq!(img.dimensions(), (2 * 64 + 3, 64 + 2));
    let byte = |v: f64| (((v + 1.0) / 2.0) * 255.0).round() as u8;
    for (i, y, xx) in [(0usize, 0usize, 0usize), (1, 7, 30), (1, 31, 31)] {
        let at = y * 32 + xx;
        let want = [0, 1024, 2048].map(|c| byte(x[i * 3072 + c + at] as f32 as f64));
        let px = img
            .get_pixel(1 + (i as u32) * 65 + 2 * xx as u32, 1 + 2 * y as u32)
            .0;
        for c in 0..3 {
            assert!(
                (px[c] as i32 - want[c] as i32).abs() <= 1,
                "sample {i} ({y}, {xx}): {px:?} vs {want:?}"
            );
        }
    }
}

/// Keeps the PNGs a session shows.
#[derive(Default)]
struct Images(std::sync::Mutex<Vec<Vec<u8>>>);

impl Sink for Images {
    fn text(&self, _: &str) {}
    fn epoch(&self, _: &str, _: &gan::engine::EpochMetrics) {}
    fn image(&self, _: &str, png: &[u8], _: Option<&Path>) {
        self.0.lock().unwrap().push(png.to_vec());
    }
}
