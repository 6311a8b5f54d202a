//! # tsa-client
//!
//! RFC 3161 time-stamp client: moves the request and response bytes that evidence-core builds and verifies over HTTP.
//!
//! **Status: not yet built.** This crate is a placeholder in the workspace layout;
//! see the repository README's status table.
#![forbid(unsafe_code)]
