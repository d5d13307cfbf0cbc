#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| banter_media::fuzzing::y4m(data));
