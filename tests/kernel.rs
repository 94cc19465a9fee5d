//! The native Jupyter kernel through real clients: jupyter_kernel_test's conformance suite, the
//! quickstart and DCGAN notebooks executed headless with nbclient, an interrupt during training, and a
//! cell that panics.
//!
//! The Python side lives in tests/kernel/ and runs in a venv that tests/kernel/setup.sh makes
//! under target/ (pip from PyPI). When it cannot be made the tests are skipped with a message,
//! unless GAN_REQUIRE_KERNEL_TESTS=1 (then they fail).

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

/// One Python client at a time: the interrupt test measures latency.
static SERIAL: Mutex<()> = Mutex::new(());

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A JUPYTER_PATH with the `gan-rhai` kernelspec installed by the binary under test.
fn jupyter_path() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(["kernel", "install", "--jupyter-path"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gan kernel install: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let spec: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("kernels/gan-rhai/kernel.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(spec["interrupt_mode"], "message");
    assert_eq!(spec["language"], "rhai");
    assert_eq!(spec["argv"][0], env!("CARGO_BIN_EXE_gan"));
    assert!(dir.path().join("kernels/gan-rhai/logo-64x64.png").exists());
    dir
}

/// Runs a script of tests/kernel/ with the venv; `None` when skipped.
fn run_python(args: &[&str]) -> Option<String> {
    run_python_env(args, &[])
}

/// [`run_python`] with extra environment variables (the kernel inherits them).
fn run_python_env(args: &[&str], env: &[(&str, &Path)]) -> Option<String> {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let py = match common::kernel_venv_python() {
        Ok(p) => p,
        Err(why) => {
            if std::env::var_os("GAN_REQUIRE_KERNEL_TESTS").is_some_and(|v| v == "1") {
                panic!("kernel tests required but the Python venv is missing: {why}");
            }
            eprintln!("SKIPPED: the Jupyter client venv could not be made: {why}");
            return None;
        }
    };
    let jp = jupyter_path();
    let scratch = tempfile::tempdir().unwrap();
    let out = common::jupyter_client(&py, scratch.path())
        .args(args)
        .env("JUPYTER_PATH", jp.path())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = common::output_text(&out);
    eprintln!("{text}");
    assert!(out.status.success(), "{args:?} failed:\n{text}");
    Some(text)
}

fn have_mnist() -> bool {
    let ok = common::mnist_dir()
        .join("t10k-images-idx3-ubyte.gz")
        .exists()
        || common::mnist_dir().join("t10k-images-idx3-ubyte").exists();
    if !ok {
        eprintln!(
            "SKIPPED: no MNIST in {} (set GAN_DATA_DIR)",
            common::mnist_dir().display()
        );
    }
    ok
}

#[test]
fn jupyter_kernel_test_conformance() {
    if let Some(out) = run_python(&["-m", "unittest", "-v", "test_protocol"]) {
        assert!(out.contains("OK"), "{out}");
    }
}

#[test]
fn quickstart_notebook_runs_headless() {
    if !have_mnist() {
        return;
    }
    let nb = root().join("examples/notebooks/01-quickstart.ipynb");
    if let Some(out) = run_python(&["run_notebook.py", nb.to_str().unwrap()]) {
        assert!(out.contains("notebook checks passed"), "{out}");
    }
}

/// Writes `n` 16×16 colour PNGs into `dir`: a square or a disc of one saturated colour on a
/// dark background of another, at a random place and size (deterministic).
fn write_colour_shapes(dir: &Path, n: usize) {
    use rand::{Rng, SeedableRng};
    std::fs::create_dir_all(dir).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(16);
    let hues: [[u8; 3]; 6] = [
        [230, 40, 40],
        [40, 200, 60],
        [50, 80, 240],
        [240, 210, 30],
        [220, 50, 220],
        [30, 210, 220],
    ];
    for i in 0..n {
        let fg = hues[rng.gen_range(0..hues.len())];
        let bg = [
            rng.gen_range(0..60u8),
            rng.gen_range(0..60u8),
            rng.gen_range(0..60u8),
        ];
        let r = rng.gen_range(3..7i32);
        let (cx, cy) = (rng.gen_range(r..16 - r), rng.gen_range(r..16 - r));
        let disc = rng.gen_bool(0.5);
        let img = image::RgbImage::from_fn(16, 16, |x, y| {
            let (dx, dy) = (x as i32 - cx, y as i32 - cy);
            let inside = if disc {
                dx * dx + dy * dy <= r * r
            } else {
                dx.abs() <= r && dy.abs() <= r
            };
            image::Rgb(if inside { fg } else { bg })
        });
        img.save(dir.join(format!("shape{i:03}.png"))).unwrap();
    }
}

#[test]
fn dcgan_notebook_runs_headless() {
    let images = tempfile::tempdir().unwrap();
    write_colour_shapes(&images.path().join("shapes"), 256);
    let nb = root().join("examples/notebooks/03-dcgan.ipynb");
    let args = ["run_dcgan_notebook.py", nb.to_str().unwrap()];
    if let Some(out) = run_python_env(&args, &[("GAN_IMAGES_DIR", images.path())]) {
        assert!(out.contains("dcgan notebook checks passed"), "{out}");
    }
}

#[test]
fn interrupt_during_training_replies_fast_and_keeps_the_model() {
    if let Some(out) = run_python(&["test_interrupt.py"]) {
        assert!(out.contains("interrupt checks passed"), "{out}");
    }
}

#[test]
fn a_panicking_cell_is_an_error_and_the_kernel_goes_on() {
    if let Some(out) = run_python(&["test_panic.py"]) {
        assert!(out.contains("panic checks passed"), "{out}");
    }
}

/// The Rust cells of examples/notebooks/02-rust-evcxr.ipynb as plain Rust (evcxr itself is not
/// needed): the API they use compiles and behaves, and the evcxr_display methods print content
/// blocks.
#[test]
fn evcxr_notebook_cells_as_plain_rust() {
    use gan::script::values::{GanHandle, Samples};
    use gan::session::{MetricsTable, Notebook};

    let mut nb = Notebook::with_config(gan::script::HostConfig {
        data_dir: common::mnist_dir(),
        ..Default::default()
    })
    .unwrap();
    let c = nb.run(
        r#"
seed(7);
let data = gaussian_1d(4.0, 0.5);
let g = stack(1).dense(32, 0.5).tanh().dense(32, 0.5).tanh().dense(1, 0.5);
let d = stack(1).dense(64, 0.5).relu().dense(64, 0.5).relu().dense(1, 0.5);
let toy = gan(g, d, #{ name: "toy", noise_scale: 1.0 });
toy
"#,
    );
    assert!(c.text().starts_with("GAN `toy`"), "{}", c.text());
    c.evcxr_display();
    let c = nb
        .run(r#"toy.fit(data, #{ epochs: 2, batch: 100, opt: adam(#{ lr: 0.001, beta1: 0.5 }) })"#);
    assert!(c.error.is_none(), "{:?}", c.error);
    let c = nb.run(r#"figure1([figure1_panel(toy, data, #{ label: "after 2 epochs", mean: 4.0, std: 0.5 })], "figure1.png")"#);
    assert_eq!(c.images().len(), 1);
    // evcxr shows one bundle per cell: the image as image/png and inline in the HTML
    let b = c.evcxr_bundle();
    assert_eq!(b["image/png"], gan::session::output::base64(&c.images()[0]));
    assert!(b["text/html"].contains("data:image/png;base64,"));
    let toy: GanHandle = nb.var("toy").unwrap();
    let s = toy.lock().gan.sample(2000);
    assert_eq!(s.len(), 2000);
    let t = MetricsTable::new("toy", toy.lock().history.clone());
    assert_eq!(t.rows.len(), 2);
    t.evcxr_display();
    // the typed cell: a compile-time-shaped GAN handed to the session, trained by the DSL
    {
        use gan::engine::typed::{Dense, NoiseKind, Relu, Tanh, TypedGan, C};
        use gan::engine::{GanLoss, UpdateScheme};
        let typed = TypedGan::<C<1>, C<1>>::try_new(
            (
                Dense::<32>::with_irange(0.5),
                Tanh,
                Dense::<1>::with_irange(0.5),
            ),
            (
                Dense::<64>::with_irange(0.5),
                Relu,
                Dense::<1>::with_irange(0.5),
            ),
            GanLoss::NonSaturating,
            UpdateScheme::Simultaneous,
            NoiseKind::Gaussian(1.0),
            7,
        )
        .unwrap();
        assert_eq!(typed.generate(typed.fixed_noise(4)).as_vec().len(), 4);
        nb.adopt_gan("typed_toy", typed.gan).unwrap();
    }
    let c = nb.run(r#"typed_toy.fit(data, #{ epochs: 2, batch: 100 }); typed_toy.sample(20)"#);
    assert!(c.error.is_none(), "{:?}", c.error);
    let b = c.evcxr_bundle();
    assert!(b["text/html"].contains("<table"), "{b:?}");
    assert!(b["text/plain"].contains("Samples(20 rows × 1"), "{b:?}");
    assert!(!b.contains_key("image/png"));
    if have_mnist() {
        let c = nb.run(r#"let grid = mnist("test").rows_of(0, 100);"#);
        assert!(c.error.is_none(), "{:?}", c.error);
        let grid: Samples = nb.var("grid").unwrap();
        let png = grid.grid_png().unwrap();
        assert_eq!(&png[1..4], b"PNG");
        grid.evcxr_display();
    }
    let c = nb.run("let fine = stack(784);\nlet broken = fine.dense(0);");
    assert_eq!(c.error.as_ref().unwrap().line, Some(2));
    let b = c.evcxr_bundle();
    assert!(b["text/plain"].contains(":2:19: dense units must be a positive integer"));
    assert!(b["text/html"].contains("color:#b00"));
    c.evcxr_display();
}
