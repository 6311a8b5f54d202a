#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| evidence_core::fuzzing::fabric_block(data));
