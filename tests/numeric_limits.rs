//! Numeric extremes are errors with their place, never a panic, an abort or a silent
//! truncation: NaN, negative, zero and huge scales and ranges, integers past 2^32 and 2^63, in
//! recipes (line:col), in `gan eval` flags (the flag) and in a weights file's metadata (the file).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use gan::engine::{GanLoss, GanSpec, LayerSpec, Noise, StackSpec, UpdateScheme};
use gan::script::{HostConfig, NullSink, ScriptError};
use gan::session::Session;

fn error_of(text: &str) -> ScriptError {
    let data = tempfile::tempdir().unwrap();
    std::fs::create_dir(data.path().join("imgs")).unwrap();
    let config = HostConfig {
        data_dir: data.path().to_path_buf(),
        seed: Some(1),
        ..Default::default()
    };
    let mut s = Session::new(config, Arc::new(NullSink)).unwrap();
    let e = s
        .eval_named("recipe.rhai", text)
        .expect_err("the recipe should fail");
    assert!(!e.internal, "a panic, not an error: {}", e.message);
    e
}

const G: &str = "stack(1).dense(4).relu().dense(1)";
const D: &str = "stack(1).dense(4).relu().dense(1)";

/// `let m = gan(G, D, #{OPTS});` with the call at 1:9.
fn gan_with(opts: &str) -> String {
    format!("let m = gan({G}, {D}, #{{ {opts} }});")
}

/// `(recipe, line, col, parts of the message)` for each case.
fn cases() -> Vec<(String, usize, usize, Vec<&'static str>)> {
    let scale = "option `noise_scale` of gan(): noise_scale";
    let mut v = Vec::new();
    for (opts, prior) in [
        ("noise_scale: 0.0 / 0.0", "uniform noise half-width"),
        ("noise_scale: -1.0", "uniform noise half-width"),
        ("noise_scale: 0.0", "uniform noise half-width"),
        ("noise_scale: 1e300", "uniform noise half-width"),
        (
            "noise: \"gaussian\", noise_scale: -1.0",
            "gaussian noise std",
        ),
        (
            "noise: \"gaussian\", noise_scale: 0.0 / 0.0",
            "gaussian noise std",
        ),
    ] {
        v.push((gan_with(opts), 1, 9, vec![scale, prior, "> 0 and ≤ 1e6"]));
    }
    // 2^32 once wrapped to k = 0
    v.push((
        gan_with("scheme: \"alternating\", k: 4294967296"),
        1,
        9,
        vec![
            "option `k` of gan(): k must be in 1..=1000000",
            "4294967296",
        ],
    ));
    for r in ["1e300", "-1.0", "0.0 / 0.0"] {
        v.push((
            format!("let s = stack(1)\n  .dense(4, {r});"),
            2,
            4,
            vec!["irange must be a finite number in [0, 1e6]"],
        ));
        v.push((
            format!("let s = stack(1).maxout(4, 2, {r});"),
            1,
            18,
            vec!["irange must be a finite number in [0, 1e6]"],
        ));
    }
    // (1 + 1) · 2^63 wrapped to 0 parameters; 2^63 · 2^63 wrapped to 2
    v.push((
        "let s = stack(1).dense(9223372036854775807);".into(),
        1,
        18,
        vec!["dense units is too large: 9223372036854775807"],
    ));
    v.push((
        "let s = stack(9223372036854775807);".into(),
        1,
        9,
        vec!["stack input size is too large"],
    ));
    v.push((
        "let s = stack(1073741824).dense(1073741824);\nlet p = s.params();".into(),
        2,
        11,
        vec!["more than 1073741824 parameters"],
    ));
    v.push((
        "let s = stack(1).maxout(1073741824, 1073741824);\nlet m = gan(stack(1).dense(1), s);"
            .into(),
        // found by gan() at 2:9, reported at the layer at fault (issue 14)
        1,
        18,
        vec![
            "discriminator",
            "refusing to allocate",
            "found by the call at recipe.rhai:2:9",
        ],
    ));
    v.push((
        "let s = step_decay(0.1, 0.0, 5);".into(),
        1,
        9,
        vec!["step_decay: decay factor must be > 0, got 0"],
    ));
    v.push((
        "let s = step_decay(0.1, -0.5, 5);".into(),
        1,
        9,
        vec!["decay factor must be > 0"],
    ));
    v.push((
        "let s = ramp(0.0 / 0.0, 0.7, 1, 5);".into(),
        1,
        9,
        vec!["ramp: start must be finite"],
    ));
    v.push((
        "let s = constant(1.0 / 0.0);".into(),
        1,
        9,
        vec!["constant: value must be finite"],
    ));
    // 4294967304 = 2^32 + 8 once became a width of 8
    v.push((
        "let d = image_folder(\"imgs\", #{ width: 4294967304 });".into(),
        1,
        9,
        vec!["option `width` of image_folder() must be at most 4096, got 4294967304"],
    ));
    v.push((
        "let d = image_folder(\"imgs\", #{ width: 8, height: 100000 });".into(),
        1,
        9,
        vec!["option `height` of image_folder() must be at most 4096, got 100000"],
    ));
    v.push((
        format!(
            "let m = gan({G}, {D});\nm.fit(gaussian_1d(0.0, 1.0, 100), #{{ epochs: 1, max_minutes: 0.0 / 0.0 }});"
        ),
        2,
        3,
        vec!["option `max_minutes` of fit() must be a finite number > 0, got NaN"],
    ));
    v
}

#[test]
fn numeric_extremes_in_recipes_are_errors_at_their_call() {
    for (text, line, col, parts) in cases() {
        let e = error_of(&text);
        assert_eq!((e.line, e.col), (Some(line), Some(col)), "{text}\n{e}");
        for p in parts {
            assert!(e.message.contains(p), "`{p}` not in: {}\n{text}", e.message);
        }
    }
}

/// A 2 → 784 generator's weights file, with `spec` edited in its metadata when given.
fn weights_file(dir: &Path, edit: impl FnOnce(&mut GanSpec)) -> std::path::PathBuf {
    let mut spec = GanSpec {
        g: StackSpec {
            input: 2,
            layers: vec![LayerSpec::Dense {
                units: 784,
                irange: None,
            }],
        },
        d: StackSpec {
            input: 784,
            layers: vec![LayerSpec::Dense {
                units: 1,
                irange: None,
            }],
        },
        loss: GanLoss::NonSaturating,
        scheme: UpdateScheme::Simultaneous,
        noise: Noise::Uniform {
            dim: 2,
            half_width: 1.0,
        },
        init_g_bias_from_marginals: false,
    };
    let path = dir.join("w.safetensors");
    let gan = gan::engine::Gan::try_new(spec.clone(), 1).unwrap();
    gan::checkpoint::save_weights(&path, &gan).unwrap();
    edit(&mut spec);
    // A weights file with no tensors and the edited spec: the spec is read and checked first.
    let meta = serde_json::json!({ "__metadata__": {
        "format": gan::checkpoint::weights::WEIGHTS_FORMAT,
        "gan_spec": serde_json::to_string(&spec).unwrap(),
        "seed": "1",
    }});
    let mut header = serde_json::to_vec(&meta).unwrap();
    while !header.len().is_multiple_of(8) {
        header.push(b' ');
    }
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(&header);
    let edited = dir.join("edited.safetensors");
    std::fs::write(&edited, bytes).unwrap();
    path
}

#[test]
fn huge_or_nan_sizes_in_weights_metadata_are_refused_naming_the_file() {
    type Edit = fn(&mut GanSpec);
    let edits: [(Edit, &str); 4] = [
        // G's (1 + 1) · 2^63 parameters wrapped to 0 and D's (2^63 + 1) · 2 to 2, so the
        // parameter cap let the game through to allocation
        (
            |s| {
                let dense = |units| LayerSpec::Dense {
                    units,
                    irange: None,
                };
                s.g.input = 1;
                s.noise = Noise::Uniform {
                    dim: 1,
                    half_width: 1.0,
                };
                s.g.layers[0] = dense(1 << 63);
                s.d.input = 1 << 63;
                s.d.layers = vec![dense(2), dense(1)];
            },
            "refusing to allocate",
        ),
        (
            |s| {
                s.noise = Noise::Uniform {
                    dim: 2,
                    half_width: f64::MAX,
                }
            },
            "noise_scale",
        ),
        (
            |s| {
                s.g.layers[0] = LayerSpec::Dense {
                    units: 784,
                    irange: Some(1e300),
                }
            },
            "irange",
        ),
        (
            |s| s.scheme = UpdateScheme::Alternating { k: 0 },
            "k must be in 1..=1000000",
        ),
    ];
    for (edit, part) in edits {
        let dir = tempfile::tempdir().unwrap();
        weights_file(dir.path(), edit);
        let edited = dir.path().join("edited.safetensors");
        let e = format!("{:#}", gan::checkpoint::read_gan(&edited).unwrap_err());
        assert!(e.contains("edited.safetensors"), "{e}");
        assert!(e.contains(part), "`{part}` not in {e}");
    }
}

#[test]
fn gan_eval_sample_counts_past_memory_are_refused_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let weights = weights_file(dir.path(), |_| {});
    // The check runs before MNIST is read: no data directory is needed to see it.
    for (cmd, n, part) in [
        ("parzen", "10000000", "10000000 rows × 784 values per row"),
        (
            "classifier",
            "10000000",
            "10000000 rows × 784 values per row",
        ),
        ("parzen", "0", "at least 1 sample"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_gan"))
            .args(["eval", cmd])
            .arg(&weights)
            .args(["--samples", n])
            .env("GAN_DATA_DIR", dir.path().join("no-mnist"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "gan eval {cmd} --samples {n}: {err}"
        );
        assert!(err.contains(&format!("--samples {n}")), "{err}");
        assert!(err.contains(part), "`{part}` not in {err}");
    }
}
