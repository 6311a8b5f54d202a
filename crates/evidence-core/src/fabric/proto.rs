//! Generated prost message types for the Fabric protobuf packages we use.
//!
//! Built by `build.rs` from this crate's `protos/` (see its `PROVENANCE.md`). One Rust
//! module per protobuf package, with the package's name, so that generated cross-package
//! references (`super::common::Envelope`) resolve. fabric-anchor compiles the `gateway.Gateway`
//! service with `tonic-prost-build` and maps every package here with `extern_path`, e.g.
//! `.extern_path(".common", "::evidence_core::internal::fabric_proto::common")`, likewise for `.msp`,
//! `.protos`, `.gateway`, `.orderer`, `.rwset`, `.kvrwset` (and `.google.protobuf` stays
//! `::prost_types`).
#![allow(missing_docs, clippy::pedantic, clippy::doc_markdown, clippy::all)]

/// Package `common`: blocks, envelopes, headers, channel configuration.
pub mod common {
    include!(concat!(env!("OUT_DIR"), "/common.rs"));
}
/// Package `msp`: serialized identities and MSP configuration.
pub mod msp {
    include!(concat!(env!("OUT_DIR"), "/msp.rs"));
}
/// Package `protos` (Fabric's peer package): proposals, transactions, chaincode.
pub mod protos {
    include!(concat!(env!("OUT_DIR"), "/protos.rs"));
}
/// Package `gateway`: the Gateway API's messages (the service is in fabric-anchor).
pub mod gateway {
    include!(concat!(env!("OUT_DIR"), "/gateway.rs"));
}
/// Package `orderer`: seek positions only.
pub mod orderer {
    include!(concat!(env!("OUT_DIR"), "/orderer.rs"));
}
/// Package `rwset`: transaction read-write sets.
pub mod rwset {
    include!(concat!(env!("OUT_DIR"), "/rwset.rs"));
}
/// Package `kvrwset`: key-value read-write sets.
pub mod kvrwset {
    include!(concat!(env!("OUT_DIR"), "/kvrwset.rs"));
}
