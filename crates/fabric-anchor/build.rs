//! Compiles, with `protox` and `tonic-prost-build` (no `protoc` is needed):
//!
//! - the `gateway.Gateway` gRPC service (client and server) from
//!   `../evidence-core/protos/gateway/gateway.proto`;
//! - the chaincode shim protocol from this crate's `protos/peer/chaincode_shim.proto` (see
//!   `protos/PROVENANCE.md`): its messages and the `protos.Chaincode` / `protos.ChaincodeSupport`
//!   services.
//!
//! The shared message `.proto` files live in evidence-core (`../evidence-core/protos`, with their
//! `PROVENANCE.md`), which compiles them into prost message types. Every one of those types is
//! mapped here with `extern_path` to evidence-core's (whole packages where the package is all
//! evidence-core's, type by type in `protos`, which the shim file shares), so the workspace has
//! one set of message types and this crate generates only the services and the shim's own
//! messages.

use std::path::PathBuf;

use heck::ToUpperCamelCase as _;

/// This crate's protobuf root: the chaincode shim protocol.
const LOCAL_PROTOS: &str = "protos";
/// evidence-core's protobuf root: the message definitions (and `gateway.proto`).
const CORE_PROTOS: &str = "../evidence-core/protos";

const GATEWAY: &str = "gateway/gateway.proto";
const SHIM: &str = "peer/chaincode_shim.proto";

/// The Rust module in evidence-core that holds the generated message types.
const CORE_MODULE: &str = "::evidence_core::internal::fabric_proto";

/// Packages whose every type is evidence-core's.
const EXTERN_PACKAGES: &[&str] = &["common", "msp", "gateway", "orderer", "rwset", "kvrwset"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={LOCAL_PROTOS}");
    println!("cargo:rerun-if-changed={CORE_PROTOS}");
    let fds = protox::compile([GATEWAY, SHIM], [PathBuf::from(LOCAL_PROTOS), PathBuf::from(CORE_PROTOS)])?;
    // No transport `connect` constructors: `protos.Chaincode` has an RPC named Connect.
    let mut b = tonic_prost_build::configure().build_client(true).build_server(true).build_transport(false);
    for package in EXTERN_PACKAGES {
        b = b.extern_path(format!(".{package}"), format!("{CORE_MODULE}::{package}"));
    }
    // Package `protos` is shared: evidence-core's files define most of it, the shim file adds
    // its own messages. Map each top-level type evidence-core defines (prost names a type with
    // heck's upper camel case, as here).
    for file in fds.file.iter().filter(|f| f.package() == "protos" && f.name() != SHIM) {
        let messages = file.message_type.iter().map(protox::prost_reflect::prost_types::DescriptorProto::name);
        let names = messages.chain(file.enum_type.iter().map(protox::prost_reflect::prost_types::EnumDescriptorProto::name));
        for name in names {
            b = b.extern_path(format!(".protos.{name}"), format!("{CORE_MODULE}::protos::{}", name.to_upper_camel_case()));
        }
    }
    b.compile_fds(fds)?;
    Ok(())
}
