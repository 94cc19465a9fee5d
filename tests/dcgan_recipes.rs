//! The DCGAN recipes run (two steps each) and their runs evaluate with their own data set's
//! classifier in their recorded [-1, 1] range. Their quality is measured by full runs, not here
//! (docs/recipe-notes.md).

mod common;

use std::process::Command;

#[test]
fn dcgan_recipes_train_and_evaluate_as_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    for (recipe, data) in [
        ("dcgan_mnist.rhai", "mnist"),
        ("dcgan_fashion.rhai", "fashion-mnist"),
    ] {
        let out_dir = tmp.path().join(data);
        let gan = || {
            let mut c = Command::new(env!("CARGO_BIN_EXE_gan"));
            c.env("GAN_CACHE_DIR", common::test_classifier_cache())
                .env("GAN_DATA_DIR", common::mnist_dir());
            c
        };
        let out = gan()
            .arg("run")
            .arg(common::recipe(recipe))
            .arg("--out")
            .arg(&out_dir)
            .args(["--set", "epochs=1", "--set", "steps_per_epoch=2"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", common::output_text(&out));
        let config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out_dir.join("config.json")).unwrap()).unwrap();
        let recorded = &config["gans"]["gan"]["data"];
        assert_eq!(recorded["name"], format!("{data}-train"));
        assert_eq!(recorded["image"]["range"], "symmetric");
        let out = gan()
            .args(["eval", "classifier", "--samples", "100", "--json"])
            .arg(&out_dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", common::output_text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["data"], data);
        assert_eq!(v["range"], "symmetric");
        assert!(v["fd"].as_f64().unwrap() > 0.0, "{v}");
    }
}
