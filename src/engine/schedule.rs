//! Learning-rate and momentum schedules, as plain data.

use serde::{Deserialize, Serialize};

/// A value that changes with the step (0-based, counted over the whole run) or the epoch
/// (1-based, the epoch being trained).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    Constant {
        value: f64,
    },
    /// pylearn2 `ExponentialDecay`: `start / factor^step`, never below `floor`
    /// (the paper: 0.1 ÷ 1.000004 per step, floor 1e-6).
    ExpDecay {
        start: f64,
        factor: f64,
        floor: f64,
    },
    /// pylearn2 `MomentumAdjustor`: `start` up to epoch `from`, then linear to `end` at epoch `to`
    /// and constant after (the paper: momentum 0.5 → 0.7 from epoch 1 to 250).
    Ramp {
        start: f64,
        end: f64,
        from: u64,
        to: u64,
    },
    /// `start × factor^⌊(epoch−1)/every⌋`.
    StepDecay {
        start: f64,
        factor: f64,
        every: u64,
    },
}

impl Schedule {
    pub fn constant(value: f64) -> Self {
        Schedule::Constant { value }
    }

    /// The value at `step` (0-based) during `epoch` (1-based).
    pub fn value(&self, step: u64, epoch: u64) -> f64 {
        match *self {
            Schedule::Constant { value } => value,
            Schedule::ExpDecay {
                start,
                factor,
                floor,
            } => {
                // powf of a u64 step in f64 is exact enough (relative error ~1e-16 per step count).
                (start / factor.powf(step as f64)).max(floor)
            }
            Schedule::Ramp {
                start,
                end,
                from,
                to,
            } => {
                if to <= from {
                    return if epoch >= to { end } else { start };
                }
                let alpha = (epoch as f64 - from as f64) / (to as f64 - from as f64);
                start + (end - start) * alpha.clamp(0.0, 1.0)
            }
            Schedule::StepDecay {
                start,
                factor,
                every,
            } => {
                let k = epoch.saturating_sub(1) / every.max(1);
                start * factor.powi(k.min(i32::MAX as u64) as i32)
            }
        }
    }

    /// Why the schedule is unusable, if it is.
    pub fn check(&self) -> Result<(), String> {
        let finite = |name: &str, v: f64| {
            if v.is_finite() {
                Ok(())
            } else {
                Err(format!("{name} must be finite, got {v}"))
            }
        };
        match *self {
            Schedule::Constant { value } => finite("value", value),
            Schedule::ExpDecay {
                start,
                factor,
                floor,
            } => {
                finite("start", start)?;
                finite("floor", floor)?;
                if !(factor.is_finite() && factor > 0.0) {
                    return Err(format!("decay factor must be > 0, got {factor}"));
                }
                Ok(())
            }
            Schedule::Ramp { start, end, .. } => {
                finite("start", start)?;
                finite("end", end)
            }
            Schedule::StepDecay {
                start,
                factor,
                every,
            } => {
                finite("start", start)?;
                // 0 would silence the optimizer after the first `every` epochs; a negative
                // factor would flip the sign of every other period's steps.
                if !(factor.is_finite() && factor > 0.0) {
                    return Err(format!("decay factor must be > 0, got {factor}"));
                }
                if every == 0 {
                    return Err("step_decay `every` must be ≥ 1 epoch".into());
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_lr_decays_per_step_to_its_floor() {
        let s = Schedule::ExpDecay {
            start: 0.1,
            factor: 1.000004,
            floor: 1e-6,
        };
        assert_eq!(s.value(0, 1), 0.1);
        assert!((s.value(1, 1) - 0.1 / 1.000004).abs() < 1e-15);
        // 0.1 / 1.000004^t = 1e-6 at t = ln(1e5)/ln(1.000004) ≈ 2.878e6 steps.
        assert!(s.value(2_870_000, 1) > 1e-6);
        assert_eq!(s.value(2_900_000, 1), 1e-6);
    }

    #[test]
    fn paper_momentum_ramps_over_epochs() {
        let s = Schedule::Ramp {
            start: 0.5,
            end: 0.7,
            from: 1,
            to: 250,
        };
        assert_eq!(s.value(0, 1), 0.5);
        assert!((s.value(0, 2) - (0.5 + 0.2 / 249.0)).abs() < 1e-12);
        assert!((s.value(0, 250) - 0.7).abs() < 1e-12);
        assert!((s.value(0, 400) - 0.7).abs() < 1e-12);
    }

    #[test]
    fn step_decay() {
        let s = Schedule::StepDecay {
            start: 1.0,
            factor: 0.5,
            every: 10,
        };
        assert_eq!(s.value(0, 10), 1.0);
        assert_eq!(s.value(0, 11), 0.5);
        assert_eq!(s.value(0, 21), 0.25);
    }
}
