//! Sweeps: one recipe over a grid of `--set` values and seeds (`gan sweep`), run by local
//! worker processes or a Slurm job array, each task an ordinary run directory with a
//! `status.json`, and the results table over them (`gan report`, `report(dir)`).

pub mod children;
pub mod grid;
pub mod local;
pub mod plan;
pub mod plot;
pub mod render;
pub mod report;
pub mod slurm;
pub mod status;
pub mod task;

pub use plan::{Plan, Sweep};
pub use status::{State, Status};

/// The tasks of `sweep` not finished yet (their indices), in order.
pub fn unfinished(sweep: &Sweep) -> anyhow::Result<Vec<usize>> {
    let mut out = Vec::new();
    for (i, t) in sweep.plan.tasks.iter().enumerate() {
        if Status::read(&sweep.run_dir(t))?.state != State::Done {
            out.push(i);
        }
    }
    Ok(out)
}
