#![no_main]
//! Fuzz target: see `gan_fuzz::image`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| gan_fuzz::image(data));
