//! The classifier-based metrics on real MNIST: the engine-trained classifier's accuracy, and the
//! Fréchet distance and classifier score of real images against noise; Fashion-MNIST's own
//! classifier beside it.
//!
//! Each classifier is trained at most once per test process (the process-wide evaluators that the
//! DSL's `classifier_metrics` shares too), and not at all when a valid cache exists. When the
//! data directory is read-only the cache goes to `target/test-classifier-cache/`, so later runs
//! load it instead of retraining.

mod common;

use std::process::Command;

use gan::data::{load_mnist, MnistSplit};
use gan::eval::EvalSet;

/// Fashion-MNIST's own classifier: a sane accuracy, cached under its own name beside MNIST's, real
/// Fashion images close to its test set, MNIST digits far from it.
///
/// Its name sorts first, so the test harness starts it beside the MNIST classifier's training
/// (the next name) and the two cold trainings share the machine's cores, not one after the other.
#[test]
fn classifier_of_fashion_mnist_is_its_own() {
    let ev = common::shared_fashion_evaluator();
    let mnist = common::shared_evaluator();
    eprintln!(
        "Fashion-MNIST classifier: test accuracy {:.4}, test images' score {:.3}, FD train[0:10000] vs test {:.3} ({})",
        ev.test_accuracy,
        ev.test_score,
        ev.train_fd,
        ev.cache_dir.display()
    );
    assert_eq!(ev.set, EvalSet::FashionMnist);
    assert!(ev.test_accuracy >= 0.85, "{}", ev.test_accuracy);
    assert_ne!(ev.test_accuracy, mnist.test_accuracy);
    assert!(ev.cache_dir.join("fashion-mnist_classifier.json").is_file());
    assert!(
        ev.test_score > 5.0 && ev.test_score <= 10.0,
        "{}",
        ev.test_score
    );
    let valid = EvalSet::FashionMnist
        .load(&common::mnist_dir(), MnistSplit::Valid)
        .unwrap();
    let real = ev.evaluate_samples(&valid.x).unwrap();
    let digits = EvalSet::Mnist
        .load(&common::mnist_dir(), MnistSplit::Test)
        .unwrap();
    let wrong = ev.evaluate_samples(&digits.x).unwrap();
    eprintln!(
        "Fashion valid: fd {:.3} score {:.3}; MNIST digits: fd {:.3} score {:.3}",
        real.fd, real.score, wrong.fd, wrong.score
    );
    assert!(real.fd < 0.05 * wrong.fd, "{} vs {}", real.fd, wrong.fd);
    assert!((real.score - ev.test_score).abs() < 0.5, "{}", real.score);
}

#[test]
fn classifier_reaches_98_5_percent_on_the_test_set() {
    let ev = common::shared_evaluator();
    let test = load_mnist(&common::mnist_dir(), MnistSplit::Test).unwrap();
    let acc = ev
        .classifier
        .accuracy(&test.x, test.labels.as_ref().unwrap());
    eprintln!("test accuracy {acc:.4} (cache {})", ev.cache_dir.display());
    assert!(acc >= 0.985, "test accuracy {acc}");
    assert_eq!(acc, ev.test_accuracy);
    assert_eq!(ev.classifier.feature_dim(), 256);
}

#[test]
fn real_images_are_far_closer_than_noise() {
    let ev = common::shared_evaluator();
    let valid = load_mnist(&common::mnist_dir(), MnistSplit::Valid).unwrap();
    let real = ev.evaluate_samples(&valid.x).unwrap();
    // uniform noise in [0, 1], 10,000 images
    let mut r = gan::engine::rng::stream(0, gan::engine::rng::Purpose::Data, 0);
    let noise: Vec<f32> = (0..10_000 * 784)
        .map(|_| rand::Rng::gen::<f32>(&mut r))
        .collect();
    let fake = ev.evaluate_samples(&noise).unwrap();
    eprintln!(
        "valid: fd {:.3} score {:.3}; noise: fd {:.3} score {:.3}; references: train fd {:.3}, test score {:.3}",
        real.fd, real.score, fake.fd, fake.score, ev.train_fd, ev.test_score
    );
    assert!(
        ev.train_fd < 0.02 * fake.fd,
        "train {} vs noise {}",
        ev.train_fd,
        fake.fd
    );
    assert!(
        real.fd < 0.02 * fake.fd,
        "valid {} vs noise {}",
        real.fd,
        fake.fd
    );
    // a 98.5%-accurate classifier on the balanced test set: near the maximum of 10
    assert!(
        ev.test_score > 9.0 && ev.test_score <= 10.0,
        "{}",
        ev.test_score
    );
    assert!(
        (real.score - ev.test_score).abs() < 0.3,
        "{} vs {}",
        real.score,
        ev.test_score
    );
    assert!(
        fake.score < 0.5 * ev.test_score,
        "noise score {}",
        fake.score
    );
}

#[test]
fn dsl_and_cli_report_the_metrics() {
    // From here on the cache exists, and the DSL below gets this same evaluator.
    let ev = common::shared_evaluator();
    let run = tempfile::tempdir().unwrap();
    let (mut s, _) = common::session(Some(run.path()), &[], Some(1));
    let m: rhai::Map = s
        .eval(
            r#"
            let g = stack(10).dense(32).relu().dense(784).sigmoid();
            let d = stack(784).dense(16).relu().dense(1);
            let m = gan(g, d);
            m.fit(mnist("test"), #{ epochs: 1, batch: 50, steps_per_epoch: 2, opt: adam(#{ lr: 0.001 }) });
            classifier_metrics(m, #{ samples: 500 })
            "#,
        )
        .unwrap()
        .cast();
    assert_eq!(m["n_samples"].as_int().unwrap(), 500);
    assert_eq!(m["ref_train_fd"].as_float().unwrap(), ev.train_fd);
    let fd = m["fd"].as_float().unwrap();
    assert!(
        fd > 10.0 * ev.train_fd,
        "an untrained G is far from the data: {fd}"
    );

    // No --data-dir, no GAN_DATA_DIR, run from an empty folder: the run's config.json records
    // where MNIST was, but a run directory does not choose what eval reads (README "Security
    // model"): the note names the recorded directory, and --data-dir uses it.
    let elsewhere = tempfile::tempdir().unwrap();
    let eval = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gan"));
        c.args(["eval", "classifier"])
            .arg(run.path())
            .args(["--samples", "500", "--json"])
            .env_remove("GAN_DATA_DIR")
            .current_dir(elsewhere.path())
            .env("GAN_CACHE_DIR", common::test_classifier_cache());
        c
    };
    let out = eval().output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let recorded = common::mnist_dir().canonicalize().unwrap();
    assert!(
        stderr.contains(&format!(
            "the run recorded the data directory {}",
            recorded.display()
        )) && stderr.contains("./data/mnist"),
        "{stderr}"
    );
    let out = eval().arg("--data-dir").arg(&recorded).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("classifier: loaded from"), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "fd",
        "score",
        "ref_test_score",
        "ref_train_fd",
        "accuracy",
        "secs",
    ] {
        assert!(v[key].is_f64(), "{key} in {v}");
    }
    assert_eq!(v["n_samples"], 500);
    assert_eq!(v["accuracy"].as_f64().unwrap(), ev.test_accuracy);
    assert!((v["ref_train_fd"].as_f64().unwrap() - ev.train_fd).abs() < 1e-9);
}
