//! The paper's Figures 2 and 3 and the saturating / non-saturating study on MNIST, checked against
//! brute force: nearest training images, interpolation ends, image geometry, per-step series.
//! Needs the MNIST files (GAN_DATA_DIR or ../shared/data/mnist); run in release mode.

mod common;

use std::fs;

use gan::script::values::Samples;
use rhai::Dynamic;
use serde_json::Value;

/// A small MNIST game trained for a few steps, so samples differ from one another.
const SMALL_MNIST: &str = r#"
let data = mnist("train").slice(0, 5000);
let g = stack(100).dense(64).relu().dense(784).sigmoid();
let d = stack(784).dense(64).relu().dense(1);
let m = gan(g, d, #{ init_bias_from_marginals: true });
m.fit(data, #{ epochs: 1, steps_per_epoch: 20, batch: 50, opt: adam(#{ lr: 0.002 }), samples_every: 0, checkpoint_every: 0 });
"#;

fn floats(d: Dynamic) -> Vec<f32> {
    d.into_array()
        .unwrap()
        .into_iter()
        .map(|v| v.as_float().unwrap() as f32)
        .collect()
}

fn sq_dist(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum()
}

fn to_byte(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

#[test]
fn figure2_last_column_is_the_nearest_training_image() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = common::session(Some(dir.path()), &[], Some(5));
    let _ = s.eval(SMALL_MNIST).unwrap();
    let (rows, cols) = (4usize, 5usize);
    let f2 = s
        .eval("let f2 = figure2(m, data, #{ rows: 4, cols: 5, scale: 1, file: \"f2.png\" }); f2")
        .unwrap()
        .cast::<rhai::Map>();
    let nearest: Vec<usize> = f2["nearest"]
        .clone()
        .into_array()
        .unwrap()
        .into_iter()
        .map(|v| v.as_int().unwrap() as usize)
        .collect();
    let dists = floats(f2["distances"].clone());
    let samples = f2["samples"].clone().cast::<Samples>();
    assert_eq!(samples.rows(), rows * (cols - 1));
    let full = gan::data::load_mnist(&common::mnist_dir(), "train".parse().unwrap()).unwrap();
    let train = &full.x[..5000 * 784];

    // Brute force: the query of row r is its last sample (the one next to the neighbour column).
    for r in 0..rows {
        let q = &samples.x[(r * (cols - 1) + cols - 2) * 784..][..784];
        let (best, best_d) = train
            .chunks_exact(784)
            .map(|t| sq_dist(q, t))
            .enumerate()
            .fold(
                (0, f64::INFINITY),
                |a, (i, d)| if d < a.1 { (i, d) } else { a },
            );
        let got = sq_dist(q, &train[nearest[r] * 784..][..784]);
        assert!(
            nearest[r] == best || (got - best_d).abs() < 1e-6 * best_d.max(1.0),
            "row {r}: figure2 picked #{} (d² {got}), brute force #{best} (d² {best_d})",
            nearest[r]
        );
        assert!((dists[r] as f64 - best_d.sqrt()).abs() < 1e-3, "row {r}");
    }

    // The picture: samples in the first columns, the neighbour in the last, pixel for pixel.
    let img = image::load_from_memory(&fs::read(dir.path().join("f2.png")).unwrap())
        .unwrap()
        .to_rgb8();
    let pad = gan::viz::FIGURE2_PAD;
    let tile = 28u32;
    assert_eq!(
        img.dimensions(),
        (
            cols as u32 * tile + (cols as u32 + 1) * pad,
            rows as u32 * tile + (rows as u32 + 1) * pad
        )
    );
    for r in 0..rows {
        let y0 = pad + r as u32 * (tile + pad);
        let nb = &train[nearest[r] * 784..][..784];
        let x0 = pad + (cols as u32 - 1) * (tile + pad);
        let first = &samples.x[r * (cols - 1) * 784..][..784];
        for y in 0..28u32 {
            for x in 0..28u32 {
                let i = (y * 28 + x) as usize;
                assert_eq!(
                    img.get_pixel(x0 + x, y0 + y).0[0],
                    to_byte(nb[i]),
                    "row {r} neighbour at ({x},{y})"
                );
                assert_eq!(
                    img.get_pixel(pad + x, y0 + y).0[0],
                    to_byte(first[i]),
                    "row {r} sample at ({x},{y})"
                );
            }
        }
        assert_eq!(*img.get_pixel(x0 - 1, y0), gan::viz::FIGURE2_PAD_COLOR);
    }

    // Training images given as the samples are their own nearest neighbours, at distance 0.
    let own = s
        .eval(
            "let f = figure2(m, data, #{ rows: 3, cols: 2, samples: data.rows_of(100, 103), file: \"own.png\" });\n\
             [f.nearest, f.distances]",
        )
        .unwrap()
        .into_array()
        .unwrap();
    let idx: Vec<i64> = own[0]
        .clone()
        .into_array()
        .unwrap()
        .into_iter()
        .map(|v| v.as_int().unwrap())
        .collect();
    assert_eq!(idx, vec![100, 101, 102]);
    assert!(floats(own[1].clone()).iter().all(|&d| d == 0.0));

    // Misuse names the option.
    let e = s
        .eval("figure2(m, data, #{ rows: 2, cols: 1 })")
        .unwrap_err()
        .to_string();
    assert!(e.contains("option `cols` of figure2() must be ≥ 2"), "{e}");
    let e = s
        .eval("figure2(m, gaussian_1d(0.0, 1.0), #{})")
        .unwrap_err()
        .to_string();
    assert!(e.contains("not an image dataset"), "{e}");
}

#[test]
fn figure3_rows_are_linear_paths_from_g_of_z0_to_g_of_z1() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = common::session(Some(dir.path()), &[], Some(6));
    let _ = s.eval(SMALL_MNIST).unwrap();
    let out = s
        .eval(
            r#"
            let z0 = m.noise(3);
            let z1 = m.noise(3);
            let f3 = figure3(m, #{ z0: z0, z1: z1, steps: 7, scale: 1, file: "f3.png" });
            let path = interpolate(m, z0, z1, 7);
            [f3.width, f3.height, f3.images.to_array(), path.to_array(),
             m.generate(z0).to_array(), m.generate(z1).to_array(), f3.rows, f3.steps]
            "#,
        )
        .unwrap()
        .into_array()
        .unwrap();
    let (w, h) = (out[0].as_int().unwrap(), out[1].as_int().unwrap());
    // rows × steps tiles of 28×28 with 1-pixel separators.
    assert_eq!((w, h), (7 * 28 + 8, 3 * 28 + 4));
    let img = image::load_from_memory(&fs::read(dir.path().join("f3.png")).unwrap()).unwrap();
    assert_eq!((img.width() as i64, img.height() as i64), (w, h));
    assert_eq!((out[6].as_int().unwrap(), out[7].as_int().unwrap()), (3, 7));
    let images = floats(out[2].clone());
    let path = floats(out[3].clone());
    assert_eq!(images, path, "figure3 draws interpolate()'s images");
    assert_eq!(images.len(), 3 * 7 * 784);
    let (g0, g1) = (floats(out[4].clone()), floats(out[5].clone()));
    for r in 0..3 {
        let first = &images[(r * 7) * 784..][..784];
        let last = &images[(r * 7 + 6) * 784..][..784];
        let max = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max)
        };
        assert!(
            max(first, &g0[r * 784..][..784]) < 1e-6,
            "row {r} starts at G(z0)"
        );
        assert!(
            max(last, &g1[r * 784..][..784]) < 1e-6,
            "row {r} ends at G(z1)"
        );
        // and moves: the middle differs from both ends
        let mid = &images[(r * 7 + 3) * 784..][..784];
        assert!(max(mid, first) > 1e-4 && max(mid, last) > 1e-4);
    }
    // Without z0/z1 the endpoints are fresh noise rows; the grid has `rows` rows.
    let f = s
        .eval("figure3(m, #{ rows: 2, steps: 4 })")
        .unwrap()
        .cast::<rhai::Map>();
    assert_eq!(f["width"].as_int().unwrap(), 4 * 56 + 5);
    assert_eq!(f["height"].as_int().unwrap(), 2 * 56 + 3);
    let e = s
        .eval("interpolate(m, m.noise(2), m.noise(3), 5)")
        .unwrap_err()
        .to_string();
    assert!(e.contains("same number of rows"), "{e}");
    let e = s.eval("figure3(m, #{ steps: 1 })").unwrap_err().to_string();
    assert!(e.contains("steps must be between 2 and 1000"), "{e}");
}

#[test]
fn load_weights_reads_only_inside_the_run_or_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = common::session(Some(dir.path()), &[], Some(6));
    let _ = s.eval(SMALL_MNIST).unwrap();
    // fit wrote weights.safetensors into the run directory: a fresh GAN can load them.
    let same = s
        .eval(
            r#"
            let m2 = gan(g, d, #{ name: "copy" });
            let z = m.noise(4);
            let before = m2.generate(z).to_array() == m.generate(z).to_array();
            load_weights(m2, "weights.safetensors");
            [before, m2.generate(z).to_array() == m.generate(z).to_array()]
            "#,
        )
        .unwrap()
        .into_array()
        .unwrap();
    assert!(!same[0].as_bool().unwrap() && same[1].as_bool().unwrap());
    for bad in ["../weights.safetensors", "/etc/passwd"] {
        let e = s
            .eval(&format!("load_weights(m, \"{bad}\")"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("run directory or the data directory"),
            "{bad}: {e}"
        );
    }
    let e = s
        .eval("load_weights(m, \"nope.safetensors\")")
        .unwrap_err()
        .to_string();
    assert!(e.contains("no file `nope.safetensors`"), "{e}");
}

#[test]
fn loss_study_records_both_losses_step_by_step() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = common::session(
        Some(dir.path()),
        &[("steps", "6"), ("probe_every", "3")],
        None,
    );
    let _ = s
        .run_file(&common::recipe("paper/loss_study.rhai"))
        .unwrap();
    let j: Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("loss_study.json")).unwrap())
            .unwrap();
    for v in ["saturating", "non_saturating"] {
        for key in ["g_loss", "d_fake", "d_loss", "d_real", "step"] {
            assert_eq!(j[v][key].as_array().unwrap().len(), 6, "{v}.{key}");
        }
        let steps: Vec<u64> = j[v]["step"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        assert_eq!(steps, vec![1, 2, 3, 4, 5, 6]);
        let probes: Vec<u64> = j[v]["grad_norms"]["step"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        assert_eq!(probes, vec![0, 3, 6]);
    }
    let at = |v: &str, key: &str, i: usize| j[v][key][i].as_f64().unwrap();
    // Same seed, same first minibatch: both runs start from the same D(x), D(G(z)) and D loss …
    for key in ["d_fake", "d_real", "d_loss"] {
        assert_eq!(
            at("saturating", key, 0),
            at("non_saturating", key, 0),
            "{key}"
        );
    }
    // … and G's losses are the two objectives at D(G(z)) ≈ ½: log(1 − ½) and −log ½.
    assert!((at("saturating", "g_loss", 0) + 2f64.ln()).abs() < 0.01);
    assert!((at("non_saturating", "g_loss", 0) - 2f64.ln()).abs() < 0.01);
    assert!(j["summary"]["saturating_mean_d_fake_early"].is_number());
    let png = fs::read(dir.path().join("loss_study.png")).unwrap();
    assert!(
        image::load_from_memory(&png).unwrap().height() > 600,
        "three panels"
    );
}
