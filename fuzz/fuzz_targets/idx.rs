#![no_main]
//! Fuzz target: see `gan_fuzz::idx`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| gan_fuzz::idx(data));
