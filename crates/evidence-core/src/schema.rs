//! JSON Schemas of the types that appear in the ledger's HTTP API (feature `schema`, for
//! `ledger-api`, which generates the OpenAPI document from them). The schemas say what the
//! serde forms are: digests as 64 lowercase hex characters, tenant ids with their pattern,
//! times as milliseconds since the Unix epoch, claim kinds by name, and the bundle as its
//! published schema (`schema/evidence-bundle-v1.schema.json`).

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use crate::bundle::Bundle;
use crate::claim::ClaimKind;
use crate::types::{CheckpointHash, CheckpointSeq, Commitment, ContentHash, LeafHash, NodeHash, Seq, TenantId, TreeSize, UnixMillis};

macro_rules! digest_schema {
    ($($name:ident: $what:literal),* $(,)?) => {$(
        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({"type": "string", "pattern": "^[0-9a-f]{64}$", "description": concat!("The ", $what, ": SHA-256, 64 lowercase hex characters.")})
            }
        }
    )*};
}

digest_schema!(
    ContentHash: "content hash (of the claim's RFC 8785 canonical bytes)",
    Commitment: "salted commitment",
    LeafHash: "leaf hash",
    NodeHash: "Merkle node hash",
    CheckpointHash: "checkpoint hash (of the signed note's body)",
);

macro_rules! counter_schema {
    ($($name:ident: $what:literal),* $(,)?) => {$(
        impl JsonSchema for $name {
            fn inline_schema() -> bool {
                true
            }
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({"type": "integer", "minimum": 0, "description": $what})
            }
        }
    )*};
}

counter_schema!(
    Seq: "A claim's sequence number: its leaf index in the tenant's log, from 0.",
    CheckpointSeq: "A checkpoint's sequence number in the tenant's chain, from 0.",
    TreeSize: "A number of leaves (a tree size), not a checkpoint number.",
);

impl JsonSchema for UnixMillis {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "UnixMillis".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "integer", "description": "A time: milliseconds since 1970-01-01T00:00:00Z."})
    }
}

impl JsonSchema for TenantId {
    fn schema_name() -> Cow<'static, str> {
        "TenantId".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,63}$", "description": "A tenant (a dealership rooftop or a consortium)."})
    }
}

impl JsonSchema for ClaimKind {
    fn schema_name() -> Cow<'static, str> {
        "ClaimKind".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = ClaimKind::ALL.iter().map(|k| k.name()).collect();
        json_schema!({"type": "string", "enum": names})
    }
}

impl JsonSchema for Bundle {
    fn schema_name() -> Cow<'static, str> {
        "Bundle".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        // Embedded whole: its `$id` makes its own `#/$defs/...` references resolve inside it
        // (JSON Schema 2020-12, which OpenAPI 3.1 uses). A test parses the file.
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../schema/evidence-bundle-v1.schema.json")).unwrap_or_else(|_| serde_json::json!({}));
        Schema::try_from(doc).unwrap_or_else(|_| json_schema!({"type": "object"}))
    }
}
