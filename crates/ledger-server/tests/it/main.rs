//! ledger-server's integration tests, one test binary with one module per former file.
//! One link instead of seventeen: each test binary statically links the whole server
//! (sqlx, axum, the PDF engine), so separate binaries multiplied the test build's disk
//! footprint and link time. nextest still runs every test in its own process.

mod binary;
mod dashboard;
mod dashboard_bench;
mod dev_chaincode;
mod edges;
mod http;
mod load_and_kill;
mod mfa;
mod report;
mod rotate_key;
mod tenancy;
mod third_party;
mod upload_bench;
mod uploads;
mod uploads_kill;
mod uploads_s3;
mod uploads_sftp;
mod walkthrough;
