//! The route table: one row per endpoint, read by the router's authorisation layer (which
//! action a route needs), the audit log (what to call the action) and `/openapi.json`
//! (generated from these rows), so the three cannot drift apart.

use crate::auth::Action;

/// One endpoint.
#[derive(Clone, Copy, Debug)]
pub struct RouteSpec {
    /// HTTP method (upper case).
    pub method: &'static str,
    /// Path template, `{name}` for parameters (axum and OpenAPI share the syntax).
    pub path: &'static str,
    /// The action it needs; `None` for the public endpoints (health, metrics, OpenAPI).
    pub action: Option<Action>,
    /// Stable operation id.
    pub operation: &'static str,
    /// One line for people.
    pub summary: &'static str,
    /// Name of the request body schema, if any (in [`SCHEMAS`]).
    pub request: Option<&'static str>,
    /// Name of the success response schema (in [`SCHEMAS`]), or a media type for non-JSON.
    pub response: &'static str,
    /// Success status.
    pub status: u16,
    /// Query parameters (name, description).
    pub query: &'static [(&'static str, &'static str)],
}

#[allow(clippy::too_many_arguments)] // one row of the table
const fn r(
    method: &'static str,
    path: &'static str,
    action: Option<Action>,
    operation: &'static str,
    summary: &'static str,
    request: Option<&'static str>,
    response: &'static str,
    status: u16,
) -> RouteSpec {
    RouteSpec { method, path, action, operation, summary, request, response, status, query: &[] }
}

const PAGE: &[(&str, &str)] = &[("from", "first sequence number (default 0)"), ("limit", "at most this many (default 100, max 1000)")];

/// Every endpoint of the service.
pub const ROUTES: &[RouteSpec] = &[
    r("GET", "/healthz", None, "health", "Liveness: the process answers.", None, "Health", 200),
    r("GET", "/readyz", None, "ready", "Readiness: the store answers and the server is not draining.", None, "Health", 200),
    r("GET", "/metrics", None, "metrics", "Prometheus text exposition (local scraping only).", None, "text/plain", 200),
    r("GET", "/openapi.json", None, "openapi", "This API description (OpenAPI 3.1).", None, "application/json", 200),
    r("POST", "/v1/tenants", Some(Action::Administer), "createTenant", "Create a tenant (admin).", Some("CreateTenant"), "Tenant", 201),
    r("GET", "/v1/tenants", Some(Action::Administer), "listTenants", "List tenants (admin).", None, "TenantList", 200),
    r(
        "GET",
        "/v1/tenants/{tenant}/verifier-key",
        Some(Action::Read),
        "verifierKey",
        "The tenant's checkpoint verifier key (C2SP vkey).",
        None,
        "text/plain",
        200,
    ),
    r(
        "POST",
        "/v1/tenants/{tenant}/claims",
        Some(Action::Append),
        "appendClaim",
        "Append one claim; acknowledged after commit.",
        Some("AppendClaim"),
        "Receipt",
        201,
    ),
    r(
        "POST",
        "/v1/tenants/{tenant}/claims/batch",
        Some(Action::Append),
        "appendBatch",
        "Append claims in one transaction, in order.",
        Some("AppendBatch"),
        "ReceiptList",
        201,
    ),
    r(
        "GET",
        "/v1/tenants/{tenant}/claims/{seq}",
        Some(Action::Read),
        "getClaim",
        "A claim's receipt and whether a checkpoint seals it.",
        None,
        "ClaimStatus",
        200,
    ),
    r(
        "GET",
        "/v1/tenants/{tenant}/claims/{seq}/bundle",
        Some(Action::Export),
        "getBundle",
        "An evidence-bundle/v1 for one claim.",
        None,
        "Bundle",
        200,
    ),
    r(
        "GET",
        "/v1/tenants/{tenant}/claims/{seq}/tlog-proof",
        Some(Action::Export),
        "getTlogProof",
        "A c2sp.org/tlog-proof@v1 file for one claim.",
        None,
        "text/plain",
        200,
    ),
    r(
        "POST",
        "/v1/tenants/{tenant}/bundles",
        Some(Action::Export),
        "getBundleMany",
        "An evidence-bundle/v1 for several claims.",
        Some("BundleRequest"),
        "Bundle",
        200,
    ),
    r(
        "POST",
        "/v1/tenants/{tenant}/claims/{seq}/retract",
        Some(Action::Retract),
        "retractClaim",
        "Append a retraction of the claim (the claim stays).",
        Some("Reason"),
        "Receipt",
        201,
    ),
    r(
        "POST",
        "/v1/tenants/{tenant}/claims/{seq}/erase",
        Some(Action::Erase),
        "eraseClaim",
        "Crypto-shred the claim's record and append an erasure claim.",
        Some("Reason"),
        "Receipt",
        201,
    ),
    RouteSpec {
        query: PAGE,
        ..r(
            "GET",
            "/v1/tenants/{tenant}/checkpoints",
            Some(Action::Read),
            "listCheckpoints",
            "Checkpoints of the tenant's chain.",
            None,
            "CheckpointList",
            200,
        )
    },
    r(
        "GET",
        "/v1/tenants/{tenant}/checkpoints/{cseq}",
        Some(Action::Read),
        "getCheckpoint",
        "One checkpoint with its anchoring state.",
        None,
        "Checkpoint",
        200,
    ),
    r(
        "GET",
        "/v1/tenants/{tenant}/checkpoints/{cseq}/note",
        Some(Action::Read),
        "getCheckpointNote",
        "One checkpoint as a C2SP signed note.",
        None,
        "text/plain",
        200,
    ),
    r(
        "GET",
        "/v1/tenants/{tenant}/checkpoints/{cseq}/anchors",
        Some(Action::Read),
        "getAnchors",
        "Anchoring state per rail (pending/anchored/failed).",
        None,
        "AnchorList",
        200,
    ),
    RouteSpec {
        query: &[("old", "tree size of the older checkpoint"), ("new", "tree size of the newer checkpoint")],
        ..r(
            "GET",
            "/v1/tenants/{tenant}/consistency",
            Some(Action::Read),
            "getConsistency",
            "RFC 9162 consistency proof between two checkpointed tree sizes.",
            None,
            "Consistency",
            200,
        )
    },
    RouteSpec {
        query: PAGE,
        ..r(
            "GET",
            "/v1/tenants/{tenant}/audit",
            Some(Action::ReadAudit),
            "getAudit",
            "The tenant's audit log entries and its latest checkpoint.",
            None,
            "AuditPage",
            200,
        )
    },
];

/// JSON Schemas of the bodies, by name (OpenAPI components).
pub const SCHEMAS: &[(&str, &str)] = &[
    (
        "Error",
        r#"{"type":"object","required":["error"],"properties":{"error":{"type":"object","required":["code","message"],"properties":{"code":{"type":"string"},"message":{"type":"string"}}}}}"#,
    ),
    ("Health", r#"{"type":"object","properties":{"status":{"type":"string"}}}"#),
    (
        "CreateTenant",
        r#"{"type":"object","required":["id"],"additionalProperties":false,"properties":{"id":{"type":"string","pattern":"^[a-z0-9][a-z0-9._-]{0,57}$"},"residency":{"type":"array","items":{"type":"string"}},"fabric_channel":{"type":"string"},"seal_every_ms":{"type":"integer","minimum":1000},"seal_after_claims":{"type":"integer","minimum":0}}}"#,
    ),
    ("Tenant", r#"{"type":"object","properties":{"id":{"type":"string"},"config":{"type":"object"}}}"#),
    ("TenantList", r#"{"type":"object","properties":{"tenants":{"type":"array","items":{"type":"string"}}}}"#),
    (
        "AppendClaim",
        r#"{"type":"object","required":["kind","body"],"additionalProperties":false,"properties":{"kind":{"type":"string"},"body":{"type":"object"},"links":{"type":"array","items":{"type":"string","pattern":"^[0-9a-f]{64}$"}},"idempotency_key":{"type":"string","maxLength":128}}}"#,
    ),
    (
        "AppendBatch",
        r##"{"type":"object","required":["claims"],"additionalProperties":false,"properties":{"claims":{"type":"array","items":{"$ref":"#/components/schemas/AppendClaim"}}}}"##,
    ),
    (
        "Receipt",
        r#"{"type":"object","properties":{"tenant":{"type":"string"},"seq":{"type":"integer"},"kind":{"type":"string"},"content_hash":{"type":"string"},"commitment":{"type":"string"},"leaf_hash":{"type":"string"},"appended_at":{"type":"integer"}}}"#,
    ),
    ("ReceiptList", r##"{"type":"object","properties":{"receipts":{"type":"array","items":{"$ref":"#/components/schemas/Receipt"}}}}"##),
    (
        "ClaimStatus",
        r##"{"type":"object","properties":{"receipt":{"$ref":"#/components/schemas/Receipt"},"sealed":{"type":"boolean"},"tree_size":{"type":"integer"}}}"##,
    ),
    ("Bundle", r#"{"type":"object","description":"evidence-bundle/v1: see evidence-core's schema/evidence-bundle-v1.schema.json"}"#),
    (
        "BundleRequest",
        r#"{"type":"object","required":["seqs"],"additionalProperties":false,"properties":{"seqs":{"type":"array","items":{"type":"integer"}}}}"#,
    ),
    (
        "Reason",
        r#"{"type":"object","required":["reason"],"additionalProperties":false,"properties":{"reason":{"type":"string","maxLength":1000}}}"#,
    ),
    (
        "Checkpoint",
        r#"{"type":"object","properties":{"seq":{"type":"integer"},"tree_size":{"type":"integer"},"root":{"type":"string"},"hash":{"type":"string"},"sealed_at":{"type":"integer"},"note":{"type":"string"},"anchors":{"type":"array"}}}"#,
    ),
    (
        "CheckpointList",
        r##"{"type":"object","properties":{"checkpoints":{"type":"array","items":{"$ref":"#/components/schemas/Checkpoint"}}}}"##,
    ),
    (
        "AnchorList",
        r#"{"type":"object","properties":{"anchors":{"type":"array","items":{"type":"object","properties":{"rail":{"type":"string"},"state":{"type":"string","enum":["pending","anchored","failed"]},"attempts":{"type":"integer"},"last_error":{"type":["string","null"]},"authority":{"type":["string","null"]},"jurisdiction":{"type":["string","null"]},"in_residency":{"type":["boolean","null"]},"reanchor_of":{"type":["integer","null"]},"anchored_at":{"type":["integer","null"]}}}}}}"#,
    ),
    (
        "Consistency",
        r#"{"type":"object","properties":{"old":{"type":"object"},"new":{"type":"object"},"proof":{"type":"array","items":{"type":"string"}}}}"#,
    ),
    (
        "AuditPage",
        r#"{"type":"object","properties":{"log":{"type":"string"},"size":{"type":"integer"},"entries":{"type":"array"},"latest_checkpoint":{"type":["string","null"]}}}"#,
    ),
];

/// Finds the row for a method and matched path template.
pub fn find(method: &str, path: &str) -> Option<&'static RouteSpec> {
    ROUTES.iter().find(|r| r.method == method && r.path == path)
}

/// The OpenAPI 3.1 document, generated from [`ROUTES`] and [`SCHEMAS`].
pub fn openapi() -> serde_json::Value {
    use serde_json::{Map, Value, json};
    let mut paths = Map::new();
    for r in ROUTES {
        let mut params: Vec<Value> = Vec::new();
        for seg in r.path.split('/') {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                let schema = if name == "tenant" { json!({"type": "string"}) } else { json!({"type": "integer", "minimum": 0}) };
                params.push(json!({"name": name, "in": "path", "required": true, "schema": schema}));
            }
        }
        for (name, desc) in r.query {
            params.push(
                json!({"name": name, "in": "query", "required": false, "description": desc, "schema": {"type": "integer", "minimum": 0}}),
            );
        }
        let ok = if r.response.contains('/') {
            json!({"description": "OK", "content": {r.response: {"schema": {"type": "string"}}}})
        } else {
            json!({"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{}", r.response)}}}})
        };
        let err = json!({"description": "Error (stable code in error.code)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
        let mut op = json!({
            "operationId": r.operation,
            "summary": r.summary,
            "parameters": params,
            "responses": {r.status.to_string(): ok, "default": err},
        });
        if let Some(action) = r.action {
            op["security"] = json!([{"bearer": []}, {"bearer": [], "idToken": []}]);
            op["x-action"] = json!(action);
        }
        if let Some(req) = r.request {
            op["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{req}")}}}});
        }
        let entry = paths.entry(r.path.to_owned()).or_insert_with(|| Value::Object(Map::new()));
        entry[r.method.to_ascii_lowercase()] = op;
    }
    let mut schemas = Map::new();
    for (name, text) in SCHEMAS {
        schemas.insert((*name).to_owned(), serde_json::from_str(text).unwrap_or(Value::Null));
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "evidence ledger", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Per-tenant verifiable evidence logs: append claims, export bundles, read checkpoints and proofs."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "evl_<id>_<secret>, from `ledger-server token create`"},
                "idToken": {"type": "apiKey", "in": "header", "name": "X-Ledger-Id-Token",
                            "description": "An OIDC ID token from the identity provider asserting MFA (amr contains mfa, or an accepted acr) whose sub or email is the bearer token's principal; required for the roles listed in the server's [oidc] section"}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_parse_and_every_reference_resolves() {
        for (name, text) in SCHEMAS {
            let v: serde_json::Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("schema {name}: {e}"));
            assert!(v.is_object(), "{name}");
        }
        for r in ROUTES {
            for name in r.request.into_iter().chain((!r.response.contains('/')).then_some(r.response)) {
                assert!(SCHEMAS.iter().any(|(n, _)| *n == name), "{} {} refers to unknown schema {name}", r.method, r.path);
            }
        }
        let doc = openapi().to_string();
        assert!(!doc.contains("null,\"Error\""));
    }

    #[test]
    fn routes_are_unique() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(!(a.method == b.method && a.path == b.path), "{} {} twice", a.method, a.path);
                assert_ne!(a.operation, b.operation);
            }
        }
    }
}
