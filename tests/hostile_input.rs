//! Broken and hostile input through the DSL and the CLI: corrupt data files, odd image folders,
//! bad options, impossible sizes, non-UTF-8 recipes, damaged run directories. Every error names
//! the input and the place (file, option key, line:col). Complements tests/script_errors.rs.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use gan::script::{HostConfig, NullSink, ScriptError};
use gan::session::Session;

fn session(data_dir: &Path, run_dir: Option<&Path>) -> Session {
    let config = HostConfig {
        run_dir: run_dir.map(Path::to_path_buf),
        data_dir: data_dir.to_path_buf(),
        params: Default::default(),
        seed: Some(1),
        recipe_name: "hostile".into(),
        recipe_text: String::new(),
    };
    Session::new(config, Arc::new(NullSink)).unwrap()
}

fn error_in(data_dir: &Path, text: &str) -> ScriptError {
    session(data_dir, None)
        .eval_named("recipe.rhai", text)
        .expect_err("the recipe should fail")
}

fn error_of(text: &str) -> ScriptError {
    let tmp = tempfile::tempdir().unwrap();
    error_in(tmp.path(), text)
}

/// Asserts the error is at `line:col` and its message contains each of `parts`.
#[track_caller]
fn assert_error(e: &ScriptError, line: usize, col: usize, parts: &[&str]) {
    assert_eq!((e.line, e.col), (Some(line), Some(col)), "{e}");
    for p in parts {
        assert!(e.message.contains(p), "`{p}` not in: {}", e.message);
    }
}

/// An unsigned-byte IDX file: header for `dims`, then `data`.
fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";
const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";

/// A data directory holding a test split of `n` 28×28 images with the given files replaced.
fn mnist_dir(n: u32, images: Option<Vec<u8>>, labels: Option<Vec<u8>>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let img = images.unwrap_or_else(|| idx(&[n, 28, 28], &vec![128; n as usize * 784]));
    let lbl =
        labels.unwrap_or_else(|| idx(&[n], &(0..n).map(|i| (i % 10) as u8).collect::<Vec<_>>()));
    fs::write(dir.path().join(TEST_IMAGES), img).unwrap();
    fs::write(dir.path().join(TEST_LABELS), lbl).unwrap();
    dir
}

const LOAD: &str = "let a = 1;\nlet data = mnist(\"test\");";

#[test]
fn a_small_valid_mnist_loads_and_a_too_big_batch_is_refused() {
    let dir = mnist_dir(10, None, None);
    let mut s = session(dir.path(), None);
    let rows = s.eval("mnist(\"test\").rows").unwrap().as_int().unwrap();
    assert_eq!(rows, 10);
    let e = error_in(
        dir.path(),
        "let data = mnist(\"test\");\nlet m = gan(stack(10).dense(784).sigmoid(), stack(784).dense(1));\n\
         m.fit(data, #{ batch: 100 });",
    );
    assert_error(&e, 3, 3, &["needs 100 examples", "only 10"]);
}

#[test]
fn truncated_idx_names_the_file_and_the_shortfall() {
    let dir = mnist_dir(10, Some(idx(&[10, 28, 28], &[0; 500])), None);
    let e = error_in(dir.path(), LOAD);
    assert_error(
        &e,
        2,
        12,
        &[
            TEST_IMAGES,
            "truncated data",
            "10×28×28 = 7840 bytes",
            "file has 500 bytes",
        ],
    );
    // a header cut short
    let dir = mnist_dir(10, Some(vec![0, 0, 8, 3, 0, 0]), None);
    assert_error(
        &error_in(dir.path(), LOAD),
        2,
        12,
        &[TEST_IMAGES, "truncated header"],
    );
    // trailing garbage is not silently ignored
    let mut long = idx(&[10], &[1; 10]);
    long.extend_from_slice(b"junk");
    let dir = mnist_dir(10, None, Some(long));
    assert_error(
        &error_in(dir.path(), LOAD),
        2,
        12,
        &[TEST_LABELS, "4 unexpected trailing bytes"],
    );
}

#[test]
fn a_header_claiming_a_huge_size_is_refused_before_allocating() {
    let dir = mnist_dir(
        10,
        Some(idx(&[u32::MAX, u32::MAX, u32::MAX], &[0; 64])),
        None,
    );
    let e = error_in(dir.path(), LOAD);
    assert_error(&e, 2, 12, &[TEST_IMAGES]);
    // the memory limit refuses the declared size before the file is read
    assert!(
        e.message.contains("overflow")
            || e.message.contains("truncated data")
            || e.message.contains("refusing to allocate"),
        "{}",
        e.message
    );
}

#[test]
fn corrupt_gzip_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad = gzip(&idx(&[10, 28, 28], &[0; 7840]));
    let mid = bad.len() / 2;
    bad.truncate(mid);
    fs::write(dir.path().join(format!("{TEST_IMAGES}.gz")), bad).unwrap();
    fs::write(
        dir.path().join(format!("{TEST_LABELS}.gz")),
        gzip(&idx(&[10], &[0; 10])),
    )
    .unwrap();
    let e = error_in(dir.path(), LOAD);
    assert_error(
        &e,
        2,
        12,
        &[&format!("{TEST_IMAGES}.gz"), "corrupt gzip data"],
    );
}

#[test]
fn mislabeled_idx_files_are_reported_as_such() {
    // the labels file where the images should be
    let dir = mnist_dir(10, Some(idx(&[10], &[0; 10])), None);
    assert_error(
        &error_in(dir.path(), LOAD),
        2,
        12,
        &[
            TEST_IMAGES,
            "bad magic number",
            "expected 0x00000803 (ubyte, 3 dims)",
            "found 0x00000801 (ubyte, 1 dims)",
        ],
    );
    // counts that disagree
    let dir = mnist_dir(10, None, Some(idx(&[9], &[0; 9])));
    assert_error(
        &error_in(dir.path(), LOAD),
        2,
        12,
        &["count mismatch", "10 images", "9 labels"],
    );
    // a label that is not a digit
    let dir = mnist_dir(10, None, Some(idx(&[10], &[0, 1, 2, 12, 4, 5, 6, 7, 8, 9])));
    assert_error(
        &error_in(dir.path(), LOAD),
        2,
        12,
        &[TEST_LABELS, "label 12 at index 3"],
    );
    // a float IDX
    let mut f = idx(&[10], &[0; 40]);
    f[2] = 0x0d;
    let dir = mnist_dir(10, None, Some(f));
    assert_error(
        &error_in(dir.path(), LOAD),
        2,
        12,
        &[TEST_LABELS, "bad magic number", "f32"],
    );
    // too few rows for the split that needs them
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join(TRAIN_IMAGES),
        idx(&[10, 28, 28], &[0; 7840]),
    )
    .unwrap();
    fs::write(dir.path().join(TRAIN_LABELS), idx(&[10], &[0; 10])).unwrap();
    let e = error_in(dir.path(), "let d =\n   mnist(\"train\");");
    assert_error(
        &e,
        2,
        4,
        &[
            TRAIN_IMAGES,
            "has 10 images",
            "split train needs rows 0..50000",
        ],
    );
    // a split that does not exist, and no files at all
    let e = error_of("let d = mnist(\"training\");");
    assert_error(
        &e,
        1,
        9,
        &["unknown MNIST split \"training\"", "train, valid, test"],
    );
    let e = error_of(LOAD);
    assert_error(
        &e,
        2,
        12,
        &[TEST_IMAGES, "not found", "gan data fetch mnist"],
    );
}

fn png(path: &Path, w: u32, h: u32) {
    image::RgbImage::from_pixel(w, h, image::Rgb([10, 200, 30]))
        .save(path)
        .unwrap();
}

#[test]
fn image_folders_with_mixed_sizes_junk_or_nothing() {
    let data = tempfile::tempdir().unwrap();
    let faces = data.path().join("faces");
    fs::create_dir(&faces).unwrap();
    png(&faces.join("a.png"), 3, 7);
    png(&faces.join("b.png"), 64, 16);
    png(&faces.join("c.jpg"), 1, 1);
    // mixed sizes are resized to the requested one
    let mut s = session(data.path(), None);
    let v = s
        .eval("let f = image_folder(\"faces\", #{ width: 8, height: 4, color: \"rgb\" });\n[f.rows, f.dim]")
        .unwrap()
        .into_array()
        .unwrap();
    assert_eq!((v[0].as_int().unwrap(), v[1].as_int().unwrap()), (3, 96));
    // a file that is not an image is named, not skipped
    fs::write(faces.join("notes.txt"), "not an image").unwrap();
    let e = error_in(
        data.path(),
        "let x = 0;\nlet f = image_folder(\"faces\", #{ width: 8 });",
    );
    assert_error(&e, 2, 9, &["notes.txt", "not a decodable image"]);
    // a PNG that is cut short
    fs::remove_file(faces.join("notes.txt")).unwrap();
    let bytes = fs::read(faces.join("b.png")).unwrap();
    fs::write(faces.join("b.png"), &bytes[..bytes.len() / 3]).unwrap();
    let e = error_in(
        data.path(),
        "let f = image_folder(\"faces\", #{ width: 8 });",
    );
    assert_error(&e, 1, 9, &["b.png", "not a decodable image"]);
    // empty, missing, or a file instead of a folder
    fs::create_dir(data.path().join("empty")).unwrap();
    fs::write(data.path().join("empty/.hidden.png"), b"x").unwrap();
    let e = error_in(data.path(), "let f = image_folder(\"empty\", #{});");
    assert_error(&e, 1, 9, &["empty", "contains no image files"]);
    let e = error_in(data.path(), "let f = image_folder(\"nowhere\", #{});");
    let looked = format!(
        "image_folder(\"nowhere\"): looked in {0}/nowhere (inside the data directory {0}; set GAN_IMAGES_DIR",
        data.path().display()
    );
    assert_error(&e, 1, 9, &[&looked, "cannot read image folder"]);
    let e = error_in(data.path(), "let f = image_folder(\"faces/a.png\", #{});");
    assert_error(&e, 1, 9, &["a.png", "cannot read image folder"]);
    // options
    let e = error_in(
        data.path(),
        "let f = image_folder(\"faces\", #{ widht: 8 });",
    );
    assert_error(
        &e,
        1,
        9,
        &["unknown option `widht` in image_folder() (did you mean `width`?)"],
    );
    let e = error_in(
        data.path(),
        "let f = image_folder(\"faces\", #{ width: 0 });",
    );
    assert_error(
        &e,
        1,
        9,
        &["option `width` of image_folder() must be ≥ 1, got 0"],
    );
    let e = error_in(
        data.path(),
        "let f = image_folder(\"faces\", #{ color: \"cmyk\" });",
    );
    assert_error(&e, 1, 9, &["option `color` of image_folder()", "cmyk"]);
    let e = error_in(
        data.path(),
        "let f = image_folder(\"faces\", #{ color: 3 });",
    );
    assert_error(
        &e,
        1,
        9,
        &["option `color` of image_folder() must be a string, got integer `3`"],
    );
}

#[test]
fn unknown_option_keys_name_the_key_and_the_call() {
    for (text, col, want) in [
        (
            "let x = ring(8, #{ radius: 1.0, sdt: 0.1 });",
            9,
            "unknown option `sdt` in ring() (did you mean `std`?)",
        ),
        (
            "let x = grid(25, #{ spacing: 1.0, n: 10, seeds: 3 });",
            9,
            "unknown option `seeds` in grid()",
        ),
        (
            "let x = gan(stack(1).dense(1), stack(1).dense(1), #{ los: \"saturating\" });",
            9,
            "unknown option `los` in gan() (did you mean `loss`?)",
        ),
        (
            "let x = adam(#{ lr: 0.1, beta: 0.5 });",
            9,
            "unknown option `beta` in adam()",
        ),
    ] {
        let e = error_of(&format!("let a = 1;\n{text}"));
        assert_error(&e, 2, col, &[want]);
    }
}

#[test]
fn wrong_types_name_the_key_and_both_types() {
    let fit = "let m = gan(stack(1).dense(4).relu().dense(1), stack(1).dense(4).relu().dense(1));\nlet data = gaussian_1d(0.0, 1.0, 100);\n";
    for (call, want) in [
        (
            "m.fit(data, #{ epochs: \"ten\" });",
            "option `epochs` of fit() must be an integer, got string `ten`",
        ),
        (
            "m.fit(data, #{ batch: 2.5 });",
            "option `batch` of fit() must be an integer, got number `2.5`",
        ),
        (
            "m.fit(data, #{ opt: 0.1 });",
            "option `opt` of fit() must be an optimizer",
        ),
        (
            "m.fit(data, #{ on_epoch: 3 });",
            "option `on_epoch` of fit() must be a function",
        ),
        (
            "m.fit(data, #{ max_minutes: \"soon\" });",
            "option `max_minutes` of fit() must be a number",
        ),
    ] {
        let e = error_of(&format!("{fit}{call}"));
        assert_error(&e, 3, 3, &[want]);
    }
    let e = error_of("let o = sgd(#{ nesterov: \"yes\" });");
    assert_error(
        &e,
        1,
        9,
        &["option `nesterov` of sgd() must be true or false, got string `yes`"],
    );
    let e = error_of("let d = gaussian_1d(\"4\", 1.0);");
    assert_error(&e, 1, 9, &["gaussian_1d"]);
    let e = error_of("let g = stack(1).dense(\"wide\");");
    assert_error(&e, 1, 18, &["dense"]);
}

/// Every key every options map accepts refuses a value of the wrong type. The accepted keys
/// are not listed here: each call's own "unknown option" error names them, so a key added
/// later is probed too. A reader that ignores a wrong type (as `gan(…, #{ name: 5 })` once did)
/// fails this test.
#[test]
fn every_option_key_refuses_a_wrong_type() {
    let prelude =
        "let m = gan(stack(1).dense(4).relu().dense(1), stack(1).dense(4).relu().dense(1));\n\
                   let data = gaussian_1d(0.0, 1.0, 200);\n";
    // (the call with OPTS for the probed map, the function whose position the error carries,
    //  keys the map needs besides the probed one)
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);
    let cases: &[Case] = &[
        ("let x = ring(8, OPTS);", "ring", &[]),
        ("let x = grid(25, OPTS);", "grid", &[]),
        ("let x = image_folder(\"imgs\", OPTS);", "image_folder", &[]),
        ("let x = sgd(OPTS);", "sgd", &[]),
        ("let x = adam(OPTS);", "adam", &[]),
        (
            "let x = gan(stack(1).dense(1), stack(1).dense(1), OPTS);",
            "gan",
            &[],
        ),
        ("m.fit(data, OPTS);", "fit", &[]),
        ("let x = m.parzen(OPTS);", "parzen", &[]),
        ("let x = m.pg_density([0.0], OPTS);", "pg_density", &[]),
        (
            "let x = density_ratio_check(m, 0.0, 1.0, OPTS);",
            "density_ratio_check",
            &[],
        ),
        ("let x = m.train_d(data, OPTS);", "train_d", &[]),
        ("let x = m.g_grad_norm(OPTS);", "g_grad_norm", &[]),
        ("let x = m.train_steps(data, OPTS);", "train_steps", &[]),
        (
            "let x = figure1_panel(m, data, OPTS);",
            "figure1_panel",
            &[],
        ),
        (
            "let x = figure1([figure1_panel(m, data, #{})], OPTS);",
            "figure1(",
            &[],
        ),
        ("let x = figure2(m, data, OPTS);", "figure2", &[]),
        ("let x = figure3(m, OPTS);", "figure3", &[]),
        (
            "let x = plot_lines(\"p.png\", [#{ series: [#{ ys: [1.0] }] }], OPTS);",
            "plot_lines",
            &[],
        ),
        (
            "let x = plot_lines(\"p.png\", [OPTS]);",
            "plot_lines",
            &[("series", "[#{ ys: [1.0] }]")],
        ),
        (
            "let x = plot_lines(\"p.png\", [#{ series: [OPTS] }]);",
            "plot_lines",
            &[("ys", "[1.0]")],
        ),
    ];
    let map = |probe: (&str, &str), base: &[(&str, &str)]| {
        let mut kv: Vec<String> = base
            .iter()
            .filter(|(k, _)| *k != probe.0)
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        kv.push(format!("{}: {}", probe.0, probe.1));
        format!("#{{ {} }}", kv.join(", "))
    };
    let mut probed = 0;
    for &(call, name, base) in cases {
        let col = call.find(name).unwrap() + 1;
        let run = |opts: String| error_of(&format!("{prelude}{}", call.replace("OPTS", &opts)));
        // the accepted keys, from the call's own error
        let e = run(map(("zzz_not_an_option", "1"), base));
        assert_error(&e, 3, col, &["unknown option `zzz_not_an_option`"]);
        let (_, keys) = e.message.split_once("; it accepts: ").expect("a key list");
        for key in keys.split(", ") {
            // no option takes an object map
            let e = run(map((key, "#{}"), base));
            assert_error(&e, 3, col, &[&format!("`{key}`"), "got object map"]);
            probed += 1;
        }
    }
    assert!(probed >= 70, "only {probed} keys probed");
    // the case that was silently ignored, in full
    let e = error_of(&format!(
        "{prelude}let x = gan(stack(1).dense(1), stack(1).dense(1), #{{ name: 5 }});"
    ));
    assert_error(&e, 3, 9, &[]);
    assert_eq!(
        e.message,
        "option `name` of gan() must be a string, got integer `5`"
    );
}

#[test]
fn zero_and_negative_sizes_are_refused_where_given() {
    for (text, col, want) in [
        (
            "let s = stack(0);",
            9,
            "stack input size must be a positive integer, got 0",
        ),
        (
            "let s = stack(-3);",
            9,
            "stack input size must be a positive integer, got -3",
        ),
        (
            "let s = stack(2).dense(-1);",
            18,
            "dense units must be a positive integer, got -1",
        ),
        (
            "let s = stack(2).maxout(3, 0);",
            18,
            "maxout pieces must be a positive integer, got 0",
        ),
        (
            "let d = gaussian_1d(0.0, 1.0, 0);",
            9,
            "n must be a positive integer, got 0",
        ),
        (
            "let d = gaussian_1d(0.0, -1.0, 10);",
            9,
            "std must be finite and non-negative",
        ),
        (
            "let d = ring(0);",
            9,
            "modes must be a positive integer, got 0",
        ),
        ("let d = grid(10);", 9, "needs a square number of modes"),
        (
            "let d = ring(8, #{ n: -5 });",
            9,
            "ring(): option `n` must be a positive integer, got -5",
        ),
        (
            "let d = gaussian_1d(0.0, 1.0, 10).slice(5, 2);",
            35,
            "slice(5, 2): need 0 ≤ start ≤ end",
        ),
        ("let d = gaussian_1d(0.0, 1.0, 10).slice(0, 20);", 35, "20"),
    ] {
        let e = error_of(&format!("let a = 1;\n{text}"));
        assert_error(&e, 2, col, &[want]);
    }
    let m = "let m = gan(stack(1).dense(4).relu().dense(1), stack(1).dense(4).relu().dense(1));\nlet data = gaussian_1d(0.0, 1.0, 100);\n";
    for (call, col, want) in [
        (
            "m.fit(data, #{ batch: 0 });",
            3,
            "option `batch` of fit() must be ≥ 1, got 0",
        ),
        (
            "m.fit(data, #{ epochs: -1 });",
            3,
            "option `epochs` of fit() must be ≥ 0, got -1",
        ),
        (
            "m.fit(data, #{ steps_per_epoch: 0 });",
            3,
            "option `steps_per_epoch` of fit() must be ≥ 1",
        ),
        (
            "let s = m.sample(0);",
            11,
            "sample(n): n must be ≥ 1, got 0",
        ),
        (
            "let s = m.sample(-4);",
            11,
            "sample(n): n must be ≥ 1, got -4",
        ),
        ("let s = m.sample(5000000);", 11, "more than 1,000,000 rows"),
    ] {
        let e = error_of(&format!("{m}{call}"));
        assert_error(&e, 3, col, &[want]);
    }
}

#[test]
fn a_batch_larger_than_the_data_counts_the_d_steps() {
    let e = error_of(
        "let m = gan(stack(1).dense(4).relu().dense(1), stack(1).dense(4).relu().dense(1), #{ scheme: \"alternating\", k: 3 });\n\
         m.fit(gaussian_1d(0.0, 1.0, 100), #{ batch: 40 });",
    );
    assert_error(
        &e,
        2,
        3,
        &[
            "one iteration needs 120 examples (batch 40 × 3 D-steps)",
            "only 100",
        ],
    );
}

#[test]
fn stacks_that_do_not_fit_the_data_or_each_other() {
    // G's output is not the data's width
    let e = error_of(
        "let m = gan(stack(1).dense(4).relu().dense(2), stack(2).dense(4).relu().dense(1));\n\
         m.fit(gaussian_1d(0.0, 1.0, 100), #{ batch: 10 });",
    );
    assert_error(
        &e,
        2,
        3,
        &["the data has 1 feature per example but D takes 2 inputs (and G outputs 2)"],
    );
    // D's output is not 1, after activations
    let e = error_of("let x = gan(stack(1).dense(2), stack(2).dense(3).relu());");
    // at D's last layer, `relu`
    assert_error(
        &e,
        1,
        50,
        &["D must output 1 logit per example, but its stack outputs 3"],
    );
    // the noise and G disagree
    let e = error_of("let x = gan(stack(3).dense(2), stack(2).dense(1), #{ noise: \"laplace\" });");
    assert_error(&e, 1, 9, &["unknown prior \"laplace\""]);
}

#[test]
fn sizes_that_would_exhaust_memory_are_refused_before_allocating() {
    // parameters: refused when the GAN is built, pointing at the layer
    let e = error_of(
        "let g = stack(1)\n  .dense(1000000000).dense(1);\nlet x = gan(g, stack(1).dense(1));",
    );
    assert_error(
        &e,
        2,
        4,
        &[
            "generator: layer 1 `dense(1000000000)`",
            "refusing to allocate",
            "(found by the call at recipe.rhai:3:9)",
        ],
    );
    let e = error_of(
        "let g = stack(1).maxout(100000, 100000);\nlet x = gan(g, stack(100000).dense(1));",
    );
    assert_error(&e, 1, 18, &["refusing to allocate"]);
    // activations: a batch × width that cannot fit, refused by fit before training
    let e = error_of(
        "let g = stack(1).dense(100000).relu().dense(1);\nlet m = gan(g, stack(1).dense(8).relu().dense(1));\n\
         let data = gaussian_1d(0.0, 1.0, 200000);\nm.fit(data, #{ batch: 100000 });",
    );
    assert_error(
        &e,
        4,
        3,
        &[
            "batch 100000",
            "activation values",
            "refusing to allocate",
            "smaller batch",
        ],
    );
}

/// Toy generators cap their row and mode counts before allocating: each of these would
/// otherwise ask for terabytes and abort the whole process (so the test binary would crash).
#[test]
fn toy_data_past_its_limits_is_refused_before_allocating() {
    for (text, col, want) in [
        (
            "let d = gaussian_1d(0.0, 1.0, 1000000000000);",
            9,
            "gaussian_1d(): n = 1000000000000 rows is more than the limit of 10000000; refusing to allocate",
        ),
        (
            "let d = ring(8, #{ n: 1000000000000 });",
            9,
            "ring(): option `n` = 1000000000000 rows is more than the limit of 10000000; refusing to allocate",
        ),
        (
            "let d = grid(25, #{ n: 10000001 });",
            9,
            "grid(): option `n` = 10000001 rows is more than the limit of 10000000; refusing to allocate",
        ),
        (
            "let d = ring(1000000000000);",
            9,
            "ring(modes): modes = 1000000000000 is more than the limit of 256",
        ),
        (
            "let d =   grid(1000000000000);",
            11,
            "grid(modes): modes = 1000000000000 is more than the limit of 256",
        ),
        (
            "let d = ring(300, #{ n: 10 });",
            9,
            "ring(modes): modes = 300 is more than the limit of 256",
        ),
    ] {
        let e = error_of(&format!("let a = 1;\n{text}"));
        assert_error(&e, 2, col, &[want]);
        assert_eq!(e.message, want, "the whole message");
    }
    // the limits themselves are allowed
    let tmp = tempfile::tempdir().unwrap();
    let v = session(tmp.path(), None)
        .eval_named(
            "recipe.rhai",
            "grid(256, #{ n: 10 }).rows + ring(256, #{ n: 20 }).rows",
        )
        .unwrap();
    assert_eq!(v.as_int().unwrap(), 30);
}

/// Output-producing calls cap rows × width, not just rows: 1,000 rows is a fine count, but of a
/// G whose output is a million wide it is 4 GB. Refused at the call, before allocating.
#[test]
fn outputs_past_rows_times_width_are_refused_before_allocating() {
    let wide = "let m = gan(stack(1).dense(1000000), stack(1000000).dense(1));\n";
    for (call, col, want) in [
        (
            "let s = m.sample(1000);",
            11,
            "sample(n): 1000 rows × 1000001 values per row = 1000001000 values (3.7 GiB), more than \
             the limit of 536870912 (2 GiB); refusing to allocate: ask for fewer rows at once",
        ),
        (
            "let s = m.sample_fixed(600);",
            11,
            "sample_fixed(n): 600 rows × 1000001 values per row = 600000600 values (2.2 GiB)",
        ),
        (
            "let s = m.generate(m.noise(1000));",
            11,
            "generate(): 1000 rows × 1000001 values per row",
        ),
        (
            "let s = interpolate(m, m.noise(100), m.noise(100), 10);",
            9,
            "interpolate(gan, z0, z1, steps): 1000 rows × 1000001 values per row",
        ),
    ] {
        let e = error_of(&format!("{wide}{call}"));
        assert_error(&e, 2, col, &[want, "refusing to allocate"]);
    }
    // narrow rows out, but a million-wide hidden layer inside: the chunk of rows through it counts
    let e = error_of(
        "let m = gan(stack(1).dense(1000000).dense(1), stack(1).dense(1));\n\
         let s = interpolate(m, m.noise(100), m.noise(100), 10);",
    );
    assert_error(
        &e,
        2,
        9,
        &[
            "interpolate(gan, z0, z1, steps): 1000 rows × 1000004 values per row",
            "refusing to allocate",
        ],
    );
    // a few such rows are fine: the limit is on the product
    let tmp = tempfile::tempdir().unwrap();
    let v = session(tmp.path(), None)
        .eval_named(
            "recipe.rhai",
            &format!("{wide}let s = m.sample(2);\n[s.rows, s.dim]"),
        )
        .unwrap();
    let v: Vec<i64> = v.into_typed_array().unwrap();
    assert_eq!(v, [2, 1000000]);
}

#[test]
fn a_non_utf8_recipe_names_the_file_line_and_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = tmp.path().join("bad.rhai");
    fs::write(&recipe, b"let a = 1;\nlet b = 2;\nlet c = \"\xff\xfe\";\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gan"))
        .arg("run")
        .arg(&recipe)
        .arg("--out")
        .arg(tmp.path().join("run"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("bad.rhai:3: the recipe is not valid UTF-8 (bad byte at offset 31)"),
        "{stderr}"
    );
    // the same for a run directory whose recipe copy was damaged
    let run = tmp.path().join("old");
    fs::create_dir(&run).unwrap();
    fs::write(run.join("recipe.rhai"), b"\xc3(").unwrap();
    fs::write(run.join("config.json"), "{}").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gan"))
        .arg("resume")
        .arg(&run)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("recipe.rhai:1: the recipe is not valid UTF-8 (bad byte at offset 0)"),
        "{stderr}"
    );
    // and a config.json that is not JSON
    fs::write(run.join("recipe.rhai"), "print(1);").unwrap();
    fs::write(run.join("config.json"), "{ not json").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gan"))
        .arg("resume")
        .arg(&run)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("config.json is not valid JSON"), "{stderr}");
}

/// A damaged newest checkpoint (a file that no longer matches its digest) is passed over: the
/// run resumes from the one before it and still ends exactly where an undisturbed run ends.
#[test]
fn a_corrupt_checkpoint_is_skipped_on_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = tmp.path().join("toy.rhai");
    fs::write(
        &recipe,
        "let m = gan(stack(1).dense(16, 0.5).relu().dense(1, 0.5), stack(1).dense(16, 0.5).relu().dense(1, 0.5));\n\
         m.fit(gaussian_1d(1.0, 0.5, 2000), #{ epochs: 3, batch: 20, keep_checkpoints: 3 });\n",
    )
    .unwrap();
    let run = |out: &Path| {
        let o = Command::new(env!("CARGO_BIN_EXE_gan"))
            .arg("run")
            .arg(&recipe)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    run(&a);
    run(&b);
    // flip a byte of the newest checkpoint's weights; lose the final weights
    let model = b.join("checkpoints/ckpt-0000000300/model.safetensors");
    let mut bytes = fs::read(&model).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    fs::write(&model, bytes).unwrap();
    fs::remove_file(b.join("weights.safetensors")).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_gan"))
        .arg("resume")
        .arg(&b)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("ckpt-0000000200 (epoch 2, step 200)"),
        "{stdout}"
    );
    assert!(
        fs::read(a.join("weights.safetensors")).unwrap()
            == fs::read(b.join("weights.safetensors")).unwrap()
    );
    assert_eq!(
        fs::read_to_string(b.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count(),
        3
    );
}

/// A FIFO planted as an MNIST file never blocks the loader (opening one waits for a writer):
/// the finder passes over it, and the IDX reader itself, which a file swapped in after the finder
/// looked would reach, refuses it when opened. A symlink to a real file, how users link a shared
/// data set into place, still loads.
#[test]
fn a_fifo_as_an_mnist_file_is_refused_and_a_symlink_still_loads() {
    let dir = mnist_dir(3, None, None);
    let images = dir.path().join(TEST_IMAGES);
    let real = dir.path().join("real-images");
    fs::rename(&images, &real).unwrap();
    std::os::unix::fs::symlink(&real, &images).unwrap();
    let _ = session(dir.path(), None)
        .eval_named("recipe.rhai", LOAD)
        .expect("a symlinked data file loads");

    fs::remove_file(&images).unwrap();
    assert!(std::process::Command::new("mkfifo")
        .arg(&images)
        .status()
        .unwrap()
        .success());
    let (data_dir, fifo) = (dir.path().to_path_buf(), images.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let e = error_in(&data_dir, LOAD);
        let read = gan::data::idx::read_idx(&fifo).map(|_| ()).unwrap_err();
        let dims = gan::data::idx::read_dims(&fifo).map(|_| ()).unwrap_err();
        tx.send((e, read, dims)).unwrap();
    });
    let (e, read, dims) = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("loading MNIST hung on a FIFO");
    assert_error(&e, 2, 12, &[TEST_IMAGES]);
    for err in [read, dims] {
        let m = format!("{err:#}");
        assert!(
            m.contains(TEST_IMAGES) && m.contains("is not a regular file"),
            "{m}"
        );
    }
}
