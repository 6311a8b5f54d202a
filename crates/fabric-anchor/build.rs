//! Compiles the `gateway.Gateway` gRPC service (client and server) with `protox` and
//! `tonic-prost-build`: no `protoc` is needed. Every message type is mapped with `extern_path`
//! to the prost types evidence-core already generates from the same `.proto` files, so the
//! workspace has one set of message types and this crate generates only the service code.

use std::path::PathBuf;

const PROTO_ROOT: &str = "protos";

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
    println!("cargo:rerun-if-changed={PROTO_ROOT}");
    let root = PathBuf::from(PROTO_ROOT);
    let fds = protox::compile(["gateway/gateway.proto"], [&root])?;
    let mut b = tonic_prost_build::configure().build_client(true).build_server(true).build_transport(true);
    for (proto, rust) in EXTERN {
        b = b.extern_path(*proto, *rust);
    }
    b.compile_fds(fds)?;
    Ok(())
}
