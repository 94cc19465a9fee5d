//! The run driver from plain Rust: checkpoint cadence and retention, metrics, the final weights,
//! typed errors, and a resume after an interrupt that ends exactly where an uninterrupted run
//! does. Run in release mode (`cargo test --release`).

mod common;

use std::fs;
use std::path::Path;
use std::sync::{Arc, Mutex};

use gan::checkpoint::{list, Checkpoint, MODEL_FILE, OPTIM_FILE};
use gan::data::{gaussian_1d, Dataset};
use gan::engine::{EpochMetrics, Gan, OptimizerSpec};
use gan::learner::{Learner, Model, Run, Sink, TrainError};

/// 640 rows in batches of 32: 20 steps an epoch.
fn data() -> Dataset {
    gaussian_1d(4.0, 0.5, 640, 3)
}

fn learner(run: &Arc<Run>, epochs: u64) -> Learner {
    Learner::new(run.clone(), "gan")
        .epochs(epochs)
        .batch(32)
        .optimizers(OptimizerSpec::paper_sgd(), OptimizerSpec::paper_sgd())
        .checkpoint_every(2)
        .keep_checkpoints(2)
}

/// Sets the run's stop flag once epoch `after` has finished (the front ends' Ctrl-C, at a known
/// point): the next step boundary, one step into the following epoch, stops training.
struct StopAfter {
    after: u64,
    run: Mutex<Option<Arc<Run>>>,
    /// The epochs trained, in order.
    seen: Mutex<Vec<u64>>,
}

impl StopAfter {
    fn new(after: u64) -> Arc<Self> {
        Arc::new(StopAfter {
            after,
            run: Mutex::new(None),
            seen: Mutex::default(),
        })
    }
}

impl Sink for StopAfter {
    fn epoch(&self, _gan: &str, m: &EpochMetrics) {
        self.seen.lock().unwrap().push(m.epoch);
        if m.epoch == self.after {
            if let Some(run) = &*self.run.lock().unwrap() {
                run.stop.interrupt();
            }
        }
    }
}

fn quiet_run(dir: &Path) -> Arc<Run> {
    Arc::new(Run::new(Some(dir), "learner-test", Arc::new(gan::learner::NullSink)).unwrap())
}

#[test]
fn checkpoints_at_the_cadence_keep_the_newest_and_write_metrics_and_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let run = quiet_run(tmp.path());
    let mut model = Model::new(Gan::try_new(common::tiny_spec(), 5).unwrap());
    let last = learner(&run, 7).fit(&mut model, &data()).unwrap().unwrap();
    assert_eq!((last.epoch, model.gan.epoch, model.gan.step), (7, 7, 140));
    let steps: Vec<u64> = list(tmp.path().join("checkpoints"))
        .unwrap()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(
        steps,
        vec![80, 120],
        "saved after epochs 2, 4, 6; the last 2 kept"
    );
    let lines = fs::read_to_string(tmp.path().join("metrics.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 7);
    assert_eq!(model.history.len(), 7);
    // The newest checkpoint records the metrics file's length then (epoch 6: six lines).
    let m = Checkpoint::verify(tmp.path().join("checkpoints/ckpt-0000000120")).unwrap();
    assert_eq!(m.extra["metrics_lines"], 6);
    assert_eq!(m.extra["fit_index"], 1);
    // The final weights are the trained GAN's.
    let mut saved = gan::checkpoint::read_gan(&tmp.path().join("weights.safetensors")).unwrap();
    assert_eq!(saved.g.export(), model.gan.g.export());
    // The config is saved beside the outputs and reads back the same.
    let config: gan::learner::LearnerConfig =
        serde_json::from_slice(&fs::read(tmp.path().join("learner.json")).unwrap()).unwrap();
    assert_eq!(&config, learner(&run, 7).config());
}

#[test]
fn resume_after_an_interrupt_ends_byte_identical_to_an_uninterrupted_run() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let whole = quiet_run(a.path());
    let mut model = Model::new(Gan::try_new(common::tiny_spec(), 9).unwrap());
    learner(&whole, 6).fit(&mut model, &data()).unwrap();

    // Interrupted one step into epoch 4: a checkpoint is saved at that step (beside epoch 2's).
    let sink = StopAfter::new(3);
    let run = Arc::new(Run::new(Some(b.path()), "learner-test", sink.clone()).unwrap());
    *sink.run.lock().unwrap() = Some(run.clone());
    let mut model = Model::new(Gan::try_new(common::tiny_spec(), 9).unwrap());
    let e = learner(&run, 6).fit(&mut model, &data()).unwrap_err();
    assert_interrupted(&e, "interrupted at step 61 (epoch 4, batch 1)");
    assert!(b.path().join("checkpoints/ckpt-0000000061").is_dir());
    *sink.run.lock().unwrap() = None;
    drop(run);

    // A fresh process's view: a new run over the same directory, resuming, a new model.
    let sink = StopAfter::new(u64::MAX);
    let run = Arc::new(Run::new(Some(b.path()), "learner-test", sink.clone()).unwrap());
    run.enable_resume();
    let mut model = Model::new(Gan::try_new(common::tiny_spec(), 9).unwrap());
    learner(&run, 6).fit(&mut model, &data()).unwrap();
    assert_eq!(model.gan.epoch, 6);
    assert_eq!(
        *sink.seen.lock().unwrap(),
        vec![4, 5, 6],
        "only the epochs left were trained"
    );

    same_bytes(a.path(), b.path(), "weights.safetensors");
    same_bytes(a.path(), b.path(), "learner.json");
    let names = |d: &Path| -> Vec<_> {
        list(d.join("checkpoints"))
            .unwrap()
            .into_iter()
            .map(|(s, _)| s)
            .collect()
    };
    assert_eq!(names(a.path()), vec![80, 120]);
    assert_eq!(names(b.path()), names(a.path()));
    for ck in ["checkpoints/ckpt-0000000080", "checkpoints/ckpt-0000000120"] {
        same_bytes(a.path(), b.path(), &format!("{ck}/{MODEL_FILE}"));
        same_bytes(a.path(), b.path(), &format!("{ck}/{OPTIM_FILE}"));
    }
    // Metrics lines agree but for the wall-clock fields.
    assert_eq!(
        common::metrics_without_timing(b.path(), "metrics.jsonl"),
        common::metrics_without_timing(a.path(), "metrics.jsonl")
    );
}

/// Sets the run's stop flag as the last step of epoch `at` is shown (Ctrl-C pressed just then):
/// the step observer sees it at that step, the epoch's last.
struct StopAtLastStep {
    at: u64,
    run: Mutex<Option<Arc<Run>>>,
}

impl Sink for StopAtLastStep {
    fn progress(&self, p: &gan::learner::Progress) {
        if p.epoch == self.at && p.done == p.total {
            if let Some(run) = &*self.run.lock().unwrap() {
                run.stop.interrupt();
            }
        }
    }
}

#[test]
fn an_interrupt_at_an_epochs_last_step_completes_that_epoch_and_fit_again_trains_the_next() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let whole = quiet_run(a.path());
    let mut model = Model::new(Gan::try_new(common::tiny_spec(), 4).unwrap());
    learner(&whole, 4).fit(&mut model, &data()).unwrap();

    let sink = Arc::new(StopAtLastStep {
        at: 3,
        run: Mutex::new(None),
    });
    let run = Arc::new(Run::new(Some(b.path()), "learner-test", sink.clone()).unwrap());
    *sink.run.lock().unwrap() = Some(run.clone());
    let mut model = Model::new(Gan::try_new(common::tiny_spec(), 4).unwrap());
    let e = learner(&run, 4).fit(&mut model, &data()).unwrap_err();
    assert_interrupted(
        &e,
        "interrupted at step 60 (the end of epoch 3); `gan` keeps its state and optimizers: fit again continues (`epochs` more;",
    );
    // Epoch 3 is closed, not left "in progress" with no steps to go: its metrics line is
    // written and its state saved, though the cadence (every 2) would not have saved it.
    assert_eq!(
        (model.gan.epoch, model.gan.batch_in_epoch, model.gan.step),
        (3, 0, 60)
    );
    let lines = fs::read_to_string(b.path().join("metrics.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 3);
    let m = Checkpoint::verify(b.path().join("checkpoints/ckpt-0000000060")).unwrap();
    assert_eq!(m.extra["metrics_lines"], 3);

    // One more epoch trains all of epoch 4 and ends where the uninterrupted run did.
    run.stop.clear_interrupt();
    *sink.run.lock().unwrap() = None;
    let last = learner(&run, 1).fit(&mut model, &data()).unwrap().unwrap();
    assert_eq!((last.epoch, model.gan.step), (4, 80));
    assert!(
        model.gan.g.export()
            == gan::checkpoint::read_gan(&a.path().join("weights.safetensors"))
                .unwrap()
                .g
                .export(),
        "one more epoch after the interrupt ends with the uninterrupted run's G"
    );
}

/// `e` is an interrupt whose message starts with `prefix`.
fn assert_interrupted(e: &anyhow::Error, prefix: &str) {
    match e.downcast_ref::<TrainError>() {
        Some(TrainError::Interrupted(m)) => assert!(m.starts_with(prefix), "{m}"),
        other => panic!("not an interrupt: {other:?} ({e:#})"),
    }
}

fn same_bytes(a: &Path, b: &Path, file: &str) {
    let (x, y) = (
        fs::read(a.join(file)).unwrap(),
        fs::read(b.join(file)).unwrap(),
    );
    assert!(x == y, "{file} differs between the two runs");
}

#[test]
fn a_divergence_is_a_typed_error_that_names_the_last_good_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let run = quiet_run(tmp.path());
    let mut model = Model::new(Gan::try_new(common::tiny_spec(), 2).unwrap());
    learner(&run, 2).fit(&mut model, &data()).unwrap();
    // A learning rate of 10^30 from epoch 3 on.
    let huge = OptimizerSpec::Sgd {
        lr: gan::engine::Schedule::constant(1e30),
        momentum: gan::engine::Schedule::constant(0.0),
        nesterov: false,
        weight_decay: 0.0,
    };
    let e = learner(&run, 2)
        .optimizers(huge.clone(), huge)
        .fit(&mut model, &data())
        .unwrap_err();
    let Some(TrainError::Diverged { step, message }) = e.downcast_ref::<TrainError>() else {
        panic!("not a divergence: {e:#}");
    };
    assert!(*step > 40, "diverged in epoch 3: {message}");
    let ckpt = tmp.path().join("checkpoints/ckpt-0000000040");
    assert!(
        message.contains(&format!(
            "the last good checkpoint is {} (epoch 2, step 40)",
            ckpt.display()
        )),
        "{message}"
    );
    assert_eq!(model.gan.epoch, 2, "the diverged epoch is not counted");
}
