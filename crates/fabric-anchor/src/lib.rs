//! # fabric-anchor
//!
//! Hyperledger Fabric Gateway client and emulator for anchoring checkpoint hashes on a private channel.
//!
//! **Status: not yet built.** This crate is a placeholder in the workspace layout;
//! see the repository README's status table.
#![forbid(unsafe_code)]
