//! Checkpoints, metrics and resume from plain Rust: the [`Learner`] a recipe's `fit` calls,
//! driven directly. It trains the 1-D toy (N(4, 0.5²)) into a run directory — `metrics.jsonl`,
//! a checkpoint every 2 epochs (the newest 2 kept), `weights.safetensors` — stops it part-way
//! with the run's interrupt flag (what Ctrl-C sets in `gan run`), then continues in a fresh
//! `Run` over the same directory with resume on: the finished run is the one an uninterrupted
//! run writes (`tests/learner.rs` checks this byte for byte).
//!
//! `cargo run --release --example 05-learner [RUN_DIR]` (default: a temporary folder)

use std::sync::{Arc, Mutex};

use gan::data::gaussian_1d;
use gan::engine::{
    EpochMetrics, Gan, GanLoss, GanSpec, LayerSpec, Noise, OptimizerSpec, Schedule, StackSpec,
    UpdateScheme,
};
use gan::learner::{Learner, Model, Run, Sink, TrainError};

/// Prints each epoch and, once epoch `stop_after` is done, raises the run's interrupt flag.
struct Show {
    stop_after: Option<u64>,
    run: Mutex<Option<Arc<Run>>>,
}

impl Sink for Show {
    fn text(&self, s: &str) {
        println!("{s}");
    }
    fn epoch(&self, _gan: &str, m: &EpochMetrics) {
        println!(
            "epoch {}: d_loss {:.4}, g_loss {:.4}, D(x) {:.3}, D(G(z)) {:.3}",
            m.epoch, m.d_loss, m.g_loss, m.d_real, m.d_fake
        );
        if Some(m.epoch) == self.stop_after {
            if let Some(run) = &*self.run.lock().unwrap() {
                run.stop.interrupt();
            }
        }
    }
}

fn spec() -> GanSpec {
    let dense = |units, irange| LayerSpec::Dense {
        units,
        irange: Some(irange),
    };
    GanSpec {
        g: StackSpec {
            input: 1,
            layers: vec![dense(16, 0.3), LayerSpec::Tanh, dense(1, 1.0)],
        },
        d: StackSpec {
            input: 1,
            layers: vec![dense(32, 0.5), LayerSpec::Relu, dense(1, 0.5)],
        },
        loss: GanLoss::NonSaturating,
        scheme: UpdateScheme::Simultaneous,
        noise: Noise::Gaussian { dim: 1, std: 1.0 },
        init_g_bias_from_marginals: false,
    }
}

fn learner(run: &Arc<Run>) -> Learner {
    let adam = OptimizerSpec::Adam {
        lr: Schedule::constant(1e-3),
        beta1: 0.5,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
    };
    Learner::new(run.clone(), "gan")
        .epochs(6)
        .batch(100)
        .optimizers(adam.clone(), adam)
        .checkpoint_every(2)
        .keep_checkpoints(2)
}

fn main() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| tmp.path().to_path_buf(), Into::into);
    let data = gaussian_1d(4.0, 0.5, 5000, 1);

    // First session: interrupted once epoch 3 is done (at the next step boundary).
    let show = Arc::new(Show {
        stop_after: Some(3),
        run: Mutex::new(None),
    });
    let run = Arc::new(Run::new(Some(&dir), "05-learner", show.clone())?);
    *show.run.lock().unwrap() = Some(run.clone());
    let mut model = Model::new(Gan::try_new(spec(), 7)?);
    match learner(&run).fit(&mut model, &data) {
        Err(e) if matches!(e.downcast_ref(), Some(TrainError::Interrupted(_))) => {
            println!("stopped: {e}")
        }
        other => anyhow::bail!("expected an interrupt, got {other:?}"),
    }
    *show.run.lock().unwrap() = None;
    drop(run);

    // A later session (another process, say): a new GAN with the same spec and seed picks up
    // from the newest checkpoint; the metrics file is cut back to match it.
    let show = Arc::new(Show {
        stop_after: None,
        run: Mutex::new(None),
    });
    let run = Arc::new(Run::new(Some(&dir), "05-learner", show)?);
    run.enable_resume();
    let mut model = Model::new(Gan::try_new(spec(), 7)?);
    learner(&run).fit(&mut model, &data)?;
    let s = model.gan.sample(10_000);
    let mean = s.iter().map(|&v| v as f64).sum::<f64>() / s.len() as f64;
    println!(
        "done: epoch {}, {} metrics lines, p_g mean {mean:.3} (p_data 4.0); outputs in {}",
        model.gan.epoch,
        model.history.len(),
        dir.display()
    );
    Ok(())
}
