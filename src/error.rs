//! Errors callers branch on. Everything else is an `anyhow::Error` carrying its message; these
//! are the outcomes a front end, the script layer or a library user treats differently from a
//! plain failure (a hint about the last good checkpoint, an interrupted-cell marker, a
//! `--timeout` exit), so they are matched by type (`anyhow::Error::downcast_ref`), never by the
//! words of their message.

/// Why training ended early, when it did not fail for an ordinary reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TrainError {
    /// A loss or a parameter stopped being finite at `step`; nothing of that epoch is kept.
    #[error("{message}")]
    Diverged { step: u64, message: String },
    /// An interrupt request (Ctrl-C, a Jupyter interrupt, the learner's stop flag) ended training
    /// at a step boundary; the model keeps the state of the last full step.
    #[error("{0}")]
    Interrupted(String),
    /// The run's time limit (`--timeout`) passed; training stopped at a step boundary.
    #[error("{0}")]
    TimedOut(String),
}

impl TrainError {
    /// Whether an interrupt request (not a time limit) ended training.
    pub fn is_interrupt(&self) -> bool {
        matches!(self, TrainError::Interrupted(_))
    }
}
