//! Evaluation of trained generators (the paper's quantitative metrics).

pub mod gan_parzen;
pub mod parzen;

pub use gan_parzen::gan_parzen;
pub use parzen::ParzenResult;
