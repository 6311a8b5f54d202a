#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| pipeline::fuzzing::csv_ingest(data));
