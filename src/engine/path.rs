//! Which implementation runs the training step and evaluation: a value chosen once, above both
//! paths (by a front end, a session, a test), carried by the [`super::Gan`] it applies to and by
//! the step's workspace made from it. Nothing in the engine reads the environment for it.

use super::network::Network;
use super::Mat;

/// The engine's two implementations of one computation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EnginePath {
    /// The hand-written CPU path ([`super::fast`]), an optimisation of the reference: the same
    /// results up to float rounding, several times faster. The default.
    #[default]
    Fast,
    /// dfdx's ops and autograd: the engine's reference, which the fast path is tested against.
    /// CUDA builds always run it.
    Reference,
}

impl EnginePath {
    /// The path a setting names (`GAN_ENGINE`'s value, read by the front ends): `"reference"`
    /// selects the reference; anything else, or no setting, the default.
    pub fn from_setting(value: Option<&str>) -> Self {
        match value.map(str::trim) {
            Some("reference") => EnginePath::Reference,
            _ => EnginePath::default(),
        }
    }

    /// The path that actually runs: the fast path exists only in CPU builds.
    pub fn effective(self) -> Self {
        if cfg!(feature = "cuda") {
            EnginePath::Reference
        } else {
            self
        }
    }

    /// `net` in evaluation mode (no dropout, no tape) on this path. The two paths agree up to
    /// float rounding (their GEMMs sum in different orders).
    pub fn eval(self, net: &Network, x: Mat) -> Mat {
        match self.effective() {
            #[cfg(not(feature = "cuda"))]
            EnginePath::Fast => super::fast::eval(net, &x),
            _ => net.eval_reference(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reference_selects_the_reference() {
        assert_eq!(EnginePath::from_setting(None), EnginePath::Fast);
        assert_eq!(
            EnginePath::from_setting(Some(" reference\n")),
            EnginePath::Reference
        );
        for other in ["", "fast", "Reference", "ref"] {
            assert_eq!(
                EnginePath::from_setting(Some(other)),
                EnginePath::Fast,
                "{other}"
            );
        }
    }
}
