//! The paper's theory, measured (Goodfellow et al. 2014, §4): Proposition 1 (for G fixed the
//! optimal D is p_data / (p_data + p_g)) and Theorem 1 (at the optimum p_g = p_data,
//! V(D, G) = −log 4 and D = 1/2), on the 1-D toy of scripts/paper/figure1.rhai.
//! Run in release mode (`cargo test --release --test paper_theory`): these train real networks.

mod common;

use std::fs;

use serde_json::Value;

fn num(v: &Value, key: &str) -> f64 {
    v.get(key)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("results.json has no number `{key}`: {v}"))
}

#[test]
fn figure1_recipe_checks_proposition_1_and_theorem_1() {
    let dir = tempfile::tempdir().unwrap();
    // A shorter game than the recipe's default (40 epochs instead of 100): about 25 s.
    let (mut s, rec) = common::session(Some(dir.path()), &[("epochs", "40")], None);
    let _ = s.run_file(&common::recipe("paper/figure1.rhai")).unwrap();
    let r: Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("results.json")).unwrap())
            .unwrap();

    // Proposition 1: D trained with G frozen matches D* = p_data / (p_data + p_g) on the central
    // 99% of p_data, p_g computed exactly by change of variables.
    let dev = num(&r, "prop1_max_abs_dev");
    assert!(dev < 0.05, "Prop. 1: max |D − D*| = {dev}");
    // … and the check is not vacuous: D* there is far from constant (a D stuck at ½ would fail).
    let (lo, hi) = (num(&r, "prop1_dstar_min"), num(&r, "prop1_dstar_max"));
    assert!(hi - lo > 0.3, "D* spans only [{lo}, {hi}]");
    let region = r["region"].as_array().unwrap();
    let (a, b) = (region[0].as_f64().unwrap(), region[1].as_f64().unwrap());
    assert!(
        (a + 2.5758).abs() < 1e-3 && (b - 2.5758).abs() < 1e-3,
        "99% of N(0, 1)"
    );
    assert!(r["prop1_pg_method"]
        .as_str()
        .unwrap()
        .contains("change of variables"));

    // Theorem 1: at the end of the game V(D, G) = −log 4 and D = ½ on the region.
    let v = num(&r, "v_final");
    assert!((v + 4f64.ln()).abs() < 0.05, "V(D, G) = {v}");
    let (d_min, d_max) = (num(&r, "d_min"), num(&r, "d_max"));
    assert!(
        d_min > 0.4 && d_max < 0.6,
        "D on the region within [{d_min}, {d_max}]"
    );
    // … because p_g really is p_data, not because D lags: D retrained to its optimum against the
    // final G gives C(G) = −log 4 + 2 JSD with a tiny JSD, and p_g's moments match.
    let jsd = num(&r, "jsd_final");
    assert!(jsd.abs() < 0.01, "JSD ≈ {jsd}");
    let (m, sd) = (num(&r, "pg_mean"), num(&r, "pg_std"));
    assert!(
        m.abs() < 0.1 && (sd - 1.0).abs() < 0.1,
        "p_g: mean {m}, std {sd}"
    );

    // The figure: four panels side by side.
    let png = fs::read(dir.path().join("figure1.png")).unwrap();
    let img = image::load_from_memory(&png).unwrap();
    assert_eq!((img.width(), img.height()), (1200, 340));
    let lines = rec.lines.lock().unwrap();
    assert!(
        lines.iter().any(|l| l.starts_with("Prop. 1: max |D − D*|")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.starts_with("Theorem 1: V(D, G)")));
}

/// The theory functions refuse games they do not apply to, naming the call and the option.
#[test]
fn theory_functions_explain_misuse() {
    let (mut s, _) = common::session(None, &[], Some(1));
    let _ = s
        .eval(
            r#"
        let data2 = ring(4);
        let g2 = stack(2).dense(8).relu().dense(2);
        let d2 = stack(2).dense(8).relu().dense(1);
        let two = gan(g2, d2);
        let data = gaussian_1d(0.0, 1.0, 1000);
        let g = stack(1).dense(8, 0.3).tanh().dense(1, 1.0);
        let d = stack(1).dense(8).leaky_relu(0.2).dense(1);
        let one = gan(g, d, #{ noise: "gaussian", noise_scale: 1.0 });
        "#,
        )
        .unwrap();
    let e = s
        .eval("let x = 1;\nlet c = density_ratio_check(two, 0.0, 1.0);")
        .unwrap_err();
    assert_eq!(
        (e.line, e.col),
        (Some(2), Some(9)),
        "the call's position: {e}"
    );
    let e = e.to_string();
    assert!(e.contains("1-D") && e.contains("2 features"), "{e}");
    let e = s
        .eval("one.train_d(data, #{ step: 10 })")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown option `step` in train_d()") && e.contains("did you mean `steps`"),
        "{e}"
    );
    let e = s
        .eval("one.train_d(data2, #{ steps: 10 })")
        .unwrap_err()
        .to_string();
    assert!(e.contains("2 features per row"), "{e}");
    let e = s
        .eval("density_ratio_check(one, 0.0, 1.0, #{ mass: 1.5 })")
        .unwrap_err()
        .to_string();
    assert!(e.contains("option `mass`") && e.contains("(0, 1)"), "{e}");
    let e = s
        .eval("density_ratio_check(one, 0.0, 1.0, #{ range: [2.0, 1.0] })")
        .unwrap_err()
        .to_string();
    assert!(e.contains("option `range`"), "{e}");
    let e = s.eval("one.value(data, 0)").unwrap_err().to_string();
    assert!(e.contains("value(data, n): n must be ≥ 1"), "{e}");

    // train_d leaves G alone and reports per-step losses when asked.
    let out = s
        .eval(
            r#"
            let before = one.generate(linspace(-2.0, 2.0, 5)).to_array();
            let r = one.train_d(data, #{ steps: 50, batch: 64, record: true });
            let after = one.generate(linspace(-2.0, 2.0, 5)).to_array();
            [before == after, r.steps, r.trace.d_loss.len(), one.step]
            "#,
        )
        .unwrap()
        .into_array()
        .unwrap();
    assert!(out[0].as_bool().unwrap(), "G unchanged by train_d");
    assert_eq!(out[1].as_int().unwrap(), 50);
    assert_eq!(out[2].as_int().unwrap(), 50);
    assert_eq!(
        out[3].as_int().unwrap(),
        0,
        "train_d is not a step of the game"
    );

    // Gradient probes: the GAN's own loss (non-saturating here) and both losses at one state.
    let g = s
        .eval("one.g_grad_norm(#{ n: 50 })")
        .unwrap()
        .cast::<rhai::Map>();
    let get = |k: &str| g[k].as_float().unwrap();
    assert_eq!(get("norm"), get("non_saturating"));
    assert!(get("saturating") > 0.0 && get("norm") > 0.0);
    assert_eq!(g["loss"].clone().into_string().unwrap(), "non_saturating");
    let e = s
        .eval("one.g_grad_norm(#{ n: 5, z: one.noise(5) })")
        .unwrap_err()
        .to_string();
    assert!(e.contains("give `n` or `z`, not both"), "{e}");
}
