//! Shared linear algebra on plain `f32` buffers: row-major GEMM ([`gemm`]), products through the
//! output's transpose ([`transposed`]) and the one way work is split over rayon's threads
//! ([`par`]). A leaf: the engine's fast path and evaluation (Parzen) both use it; it uses neither.

pub mod cpu;
pub mod gemm;
pub mod par;
pub mod transposed;
