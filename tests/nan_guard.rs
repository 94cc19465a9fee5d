//! The NaN guard: a loss or parameter that stops being finite ends training at once, names the
//! step and the quantity, saves nothing over the last good checkpoint and points to it.
//! Run in release mode (`cargo test --release`).

use std::fs;
use std::process::Command;
use std::sync::Arc;

mod common;

use gan::checkpoint::list;
use gan::data::Dataset;
use gan::engine::trainer::non_finite_param;
use gan::engine::{FitSpec, Gan, OptimizerSpec};
use gan::learner::{Learner, LearnerConfig, Model, Run, TrainError};
use gan::script::{HostConfig, NullSink};
use gan::session::Session;

/// A learning rate of 0.01 in epoch 1 and 10^28 from epoch 2 on: diverges early in epoch 2.
const DIVERGING: &str = r#"let data = gaussian_1d(4.0, 0.5, 2000);
let g = stack(1).dense(16, 0.5).relu().dense(1, 0.5);
let d = stack(1).dense(16, 0.5).relu().dense(1, 0.5);
let m = gan(g, d);
m.fit(data, #{ epochs: 3, batch: 20, opt: sgd(#{ lr: step_decay(0.01, 1e30, 1) }) });
"#;

#[test]
fn a_diverging_run_stops_and_points_to_the_last_good_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = tmp.path().join("boom.rhai");
    fs::write(&recipe, DIVERGING).unwrap();
    let run = tmp.path().join("run");
    let out = Command::new(env!("CARGO_BIN_EXE_gan"))
        .arg("run")
        .arg(&recipe)
        .arg("--out")
        .arg(&run)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // where: the fit call, the step, the epoch and batch; what: the loss that went bad
    assert!(
        stderr.contains("boom.rhai:5:3: training diverged at step 10"),
        "{stderr}"
    );
    assert!(stderr.contains("(epoch 2, batch "), "{stderr}");
    assert!(
        stderr.contains("d_loss is NaN")
            || stderr.contains("g_loss is NaN")
            || stderr.contains("d_loss is inf")
            || stderr.contains("g_loss is inf"),
        "{stderr}"
    );
    // the checkpoint to resume from
    let ckpt = run
        .canonicalize()
        .unwrap()
        .join("checkpoints/ckpt-0000000100");
    assert!(
        stderr.contains(&format!(
            "the last good checkpoint is {} (epoch 1, step 100)",
            ckpt.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("`gan resume "), "{stderr}");
    // nothing of epoch 2 was written
    let ckpts: Vec<u64> = list(run.join("checkpoints"))
        .unwrap()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(ckpts, [100]);
    assert_eq!(
        fs::read_to_string(run.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count(),
        1
    );
    assert!(!run.join("weights.safetensors").exists());

    // as the message says: lower the learning rate in the run's recipe copy and resume
    let text = fs::read_to_string(run.join("recipe.rhai")).unwrap();
    fs::write(
        run.join("recipe.rhai"),
        text.replace("step_decay(0.01, 1e30, 1)", "0.01"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gan"))
        .arg("resume")
        .arg(&run)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("ckpt-0000000100 (epoch 1, step 100)"),
        "{stdout}"
    );
    assert_eq!(
        fs::read_to_string(run.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count(),
        3
    );
    assert!(run.join("weights.safetensors").exists());
}

#[test]
fn without_a_run_directory_the_message_says_nothing_was_saved() {
    let config = HostConfig {
        run_dir: None,
        data_dir: ".".into(),
        params: Default::default(),
        seed: Some(1),
        recipe_name: "t".into(),
        recipe_text: String::new(),
    };
    let mut s = Session::new(config, Arc::new(NullSink)).unwrap();
    let e = s.eval_named("boom.rhai", DIVERGING).unwrap_err();
    assert_eq!((e.line, e.col), (Some(5), Some(3)), "{e}");
    assert!(e.message.starts_with("training diverged at step 1"), "{e}");
    assert!(
        e.message
            .ends_with("nothing was saved (this session has no run directory)"),
        "{e}"
    );
}

/// Sets value `i` of parameter `name` of D.
fn poison(gan: &mut Gan, name: &str, i: usize, v: f32) {
    let mut values = gan.d.export();
    let p = values.iter_mut().find(|p| p.name == name).unwrap();
    p.values[i] = v;
    gan.d.try_import(&values).unwrap();
}

/// A parameter can go bad while the losses stay finite (a ReLU unit whose bias is −∞ outputs
/// 0 and gets no gradient): the check at the end of each epoch catches it, before the epoch's
/// checkpoint is saved.
#[test]
fn a_non_finite_parameter_is_caught_at_the_end_of_the_epoch() {
    let mut gan = Gan::try_new(common::tiny_spec(), 4).unwrap();
    assert_eq!(non_finite_param(&gan), None);
    poison(&mut gan, "0.b", 2, f32::NEG_INFINITY);
    let data: Vec<f32> = (0..400).map(|i| (i as f32 * 0.618).fract()).collect();
    let fit = FitSpec {
        epochs: 2,
        batch: 20,
        d_opt: OptimizerSpec::paper_sgd(),
        g_opt: OptimizerSpec::paper_sgd(),
        steps_per_epoch: None,
    };
    let tmp = tempfile::tempdir().unwrap();
    let run = Arc::new(Run::new(Some(tmp.path()), "nan", Arc::new(NullSink)).unwrap());
    let learner = Learner::new(run, "gan").with_config(LearnerConfig {
        epochs: fit.epochs,
        batch: fit.batch,
        d_opt: Some(fit.d_opt),
        g_opt: Some(fit.g_opt),
        checkpoint_every: 1,
        ..LearnerConfig::default()
    });
    let data = Dataset::try_new("poisoned", data, 1, None, None).unwrap();
    let mut model = Model::new(gan);
    let e = learner.fit(&mut model, &data).unwrap_err();
    assert_eq!(
        e.downcast_ref::<TrainError>(),
        Some(&TrainError::Diverged {
            step: 20,
            message: "training diverged at step 20 (end of epoch 1): D parameter `0.b` (layer 1 `dense(4)`) \
                      has 0 NaN and 1 infinite values out of 4; nothing of the diverged epoch was saved, \
                      and no checkpoint was saved before it"
                .into()
        })
    );
    assert_eq!(model.gan.epoch, 0, "the epoch is not counted as done");
    assert!(
        list(tmp.path().join("checkpoints")).unwrap().is_empty(),
        "nothing saved"
    );

    let mut gan = Gan::try_new(common::tiny_spec(), 4).unwrap();
    poison(&mut gan, "2.w", 1, f32::NAN);
    assert_eq!(
        non_finite_param(&gan).unwrap(),
        "D parameter `2.w` (layer 3 `dense(1)`) has 1 NaN and 0 infinite values out of 4"
    );
}
