//! The pipeline's integration tests, one test binary with one module per former file
//! (one link instead of fifteen; nextest still runs every test in its own process).

mod analyze_cli;
mod analyze_consumers;
mod fuzz_corpus;
mod ingest_claim;
mod ingest_cli;
mod ingest_fuzz;
mod ingest_hostile;
mod ingest_stream;
mod redact_cli;
mod redact_eval;
mod redact_forms;
mod redact_guard;
mod redact_llm;
mod redact_props;
mod server_sink;
