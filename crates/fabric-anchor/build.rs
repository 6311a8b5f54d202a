//! Compiles the `gateway.Gateway` gRPC service (client and server) with `protox` and
//! `tonic-prost-build`: no `protoc` is needed.
//!
//! The message `.proto` files live in evidence-core (`../evidence-core/protos`, with their
//! `PROVENANCE.md`), which compiles them into prost message types. Every message type is mapped
//! here with `extern_path` to evidence-core's, so the workspace has one set of message types and
//! this crate generates only the service code.

use std::path::PathBuf;

/// evidence-core's protobuf root: the message definitions (and `gateway.proto`).
const CORE_PROTOS: &str = "../evidence-core/protos";

/// Protobuf package -> the Rust module in evidence-core holding its message types.
const EXTERN: &[(&str, &str)] = &[
    (".common", "::evidence_core::fabric::proto::common"),
    (".msp", "::evidence_core::fabric::proto::msp"),
    (".protos", "::evidence_core::fabric::proto::protos"),
    (".gateway", "::evidence_core::fabric::proto::gateway"),
    (".orderer", "::evidence_core::fabric::proto::orderer"),
    (".rwset", "::evidence_core::fabric::proto::rwset"),
    (".kvrwset", "::evidence_core::fabric::proto::kvrwset"),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={CORE_PROTOS}");
    let core = PathBuf::from(CORE_PROTOS);
    let fds = protox::compile(["gateway/gateway.proto"], [&core])?;
    let mut b = tonic_prost_build::configure().build_client(true).build_server(true).build_transport(true);
    for (proto, rust) in EXTERN {
        b = b.extern_path(*proto, *rust);
    }
    b.compile_fds(fds)?;
    Ok(())
}
