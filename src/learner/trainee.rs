//! What a learner trains: a GAN and its metrics history, behind a lock the learner takes one
//! epoch at a time.

use std::cell::RefCell;

use crate::engine::{EpochMetrics, Gan};

/// Access to the GAN a learner trains and its metrics history. The learner holds it only for
/// the work of one epoch at a time, so code called between epochs (a recipe's `on_epoch`) can
/// use the GAN too.
pub trait Trainee {
    fn with<R>(&self, f: impl FnOnce(&mut Gan, &mut Vec<EpochMetrics>) -> R) -> R;
}

/// A GAN and what a run keeps beside it, for library users.
pub struct Model {
    pub gan: Gan,
    /// Every finished epoch's metrics (read back from the metrics file on resume).
    pub history: Vec<EpochMetrics>,
}

impl Model {
    pub fn new(gan: Gan) -> Self {
        Model {
            gan,
            history: Vec::new(),
        }
    }
}

impl Trainee for RefCell<&mut Model> {
    fn with<R>(&self, f: impl FnOnce(&mut Gan, &mut Vec<EpochMetrics>) -> R) -> R {
        let mut m = self.borrow_mut();
        let m = &mut **m;
        f(&mut m.gan, &mut m.history)
    }
}
