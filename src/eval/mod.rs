//! Evaluation of trained generators: the paper's Parzen estimate, and classifier-based metrics
//! (Fréchet distance, classifier score) on an MNIST or Fashion-MNIST classifier the engine trains,
//! and the mode coverage of 2-D mixtures.

pub mod class_score;
pub mod classifier_cache;
pub mod eval_set;
pub mod frechet;
pub mod gan_classifier;
pub mod gan_parzen;
pub mod modes;
pub mod parzen;
pub mod samples_file;
pub mod unit_samples;

pub use eval_set::{EvalSet, TrainedOn};
pub use gan_classifier::{ClassifierMetrics, Evaluator};
pub use gan_parzen::check_sample_count;
pub use gan_parzen::gan_parzen;
pub use modes::ModeStats;
pub use parzen::ParzenResult;
pub use samples_file::read_samples_file;
