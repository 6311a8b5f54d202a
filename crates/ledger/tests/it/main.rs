//! The ledger library's integration tests, one test binary with one module per former file
//! (one link instead of eight; nextest still runs every test in its own process).

mod behaviour;
mod crash;
mod erasure;
mod fabric_recovery;
mod http_tsa_rail;
mod key_rotation;
mod rail_workers;
mod uploads;
