#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| pipeline::fuzzing::redactor_guard(data));
