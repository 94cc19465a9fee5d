//! Evaluation of trained generators (the paper's quantitative metrics).

pub mod parzen;
