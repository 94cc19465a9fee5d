//! `resume(gan)` / `gan.resume()` in a script: loads a GAN's newest checkpoint from the run
//! directory on demand. `gan resume RUN_DIR` itself is the learner's (see
//! [`crate::learner::resume`]): each GAN's first fit continues from its checkpoint.

use std::sync::Arc;

use rhai::{Engine, INT};

use super::host::Host;
use super::options::{err, RhaiResult};
use super::values::GanHandle;
use crate::learner::resume::{find, load_into, mark_loaded};

/// Loads the GAN's newest checkpoint (its metrics file and history are cut back to match) and
/// returns the epochs it has completed; 0 when there is no checkpoint (nothing changes then).
fn resume_gan(host: &Host, gan: &GanHandle) -> RhaiResult<INT> {
    let mut c = gan.lock();
    let name = c.name.clone();
    if host.run.is_none() {
        return err("resume(): this session has no run directory to find checkpoints in");
    }
    let run = &host.run_state;
    let found = find(run, &name).or_else(|e| err(format!("resume(): {e:#}")))?;
    let Some(f) = found else {
        return Ok(0);
    };
    let c = &mut *c;
    load_into(run, &name, &mut c.gan, &mut c.history, &f.path)
        .or_else(|e| err(format!("resume(): {e:#}")))?;
    mark_loaded(run, &name);
    host.sink.text(&format!(
        "resumed `{name}` from {} (epoch {}, step {})",
        f.path.display(),
        f.epoch,
        f.step
    ));
    Ok(c.gan.epoch as INT)
}

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    let h = host.clone();
    engine.register_fn("resume", move |gan: GanHandle| resume_gan(&h, &gan));
}
