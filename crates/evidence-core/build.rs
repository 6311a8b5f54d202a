//! Compiles the Fabric protobuf definitions in this crate's own `protos/` directory (see
//! `protos/PROVENANCE.md`) into prost message types (no services, no tonic) with `protox`, so
//! that no `protoc` is needed. It reads nothing outside the crate, so the packaged crate builds
//! on its own.

use std::path::PathBuf;

const PROTO_ROOT: &str = "protos";

const FILES: &[&str] = &[
    "common/common.proto",
    "common/policies.proto",
    "common/configtx.proto",
    "msp/identities.proto",
    "msp/msp_config.proto",
    "peer/chaincode.proto",
    "peer/chaincode_event.proto",
    "peer/proposal.proto",
    "peer/proposal_response.proto",
    "peer/transaction.proto",
    "ledger/rwset/rwset.proto",
    "ledger/rwset/kvrwset/kv_rwset.proto",
    "orderer/ab.proto",
    "gateway/gateway.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(PROTO_ROOT);
    println!("cargo:rerun-if-changed={PROTO_ROOT}");
    for f in FILES {
        println!("cargo:rerun-if-changed={}", root.join(f).display());
    }
    let fds = protox::compile(FILES, [&root])?;
    let mut config = prost_build::Config::new();
    // Only message types: services are compiled by fabric-anchor with tonic.
    config.service_generator(Box::new(NoServices));
    config.compile_fds(fds)?;
    Ok(())
}

/// A service generator that writes nothing.
struct NoServices;

impl prost_build::ServiceGenerator for NoServices {
    fn generate(&mut self, _service: prost_build::Service, _buf: &mut String) {}
}
