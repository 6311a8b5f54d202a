//! The route table: one row per endpoint, read by the router's authorisation layer (which
//! action a route needs), the audit log (what to call the action) and `/openapi.json`
//! (generated from these rows and from the JSON Schemas that `schemars` derives from the
//! `ledger-api` types the handlers take and answer), so they cannot drift apart.

use ledger_api::routes;
use schemars::{JsonSchema, Schema, SchemaGenerator};

use crate::auth::Action;

/// Adds a type's schema to the generator and answers a reference to it.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The schema function of `T`.
const fn schema<T: JsonSchema>() -> SchemaFn {
    |g| g.subschema_for::<T>()
}

/// The inline schema function of a query type `T` (its properties are the parameters).
const fn inline<T: JsonSchema>() -> SchemaFn {
    |g| T::json_schema(g)
}

/// What a route answers on success.
#[derive(Clone, Copy, Debug)]
pub enum Body {
    /// JSON of this schema.
    Json(SchemaFn),
    /// Text of this media type.
    Text(&'static str),
}

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
    /// The request body's schema, if any.
    pub request: Option<SchemaFn>,
    /// The success response.
    pub response: Body,
    /// Success status.
    pub status: u16,
    /// The query string's schema (an object whose properties are the parameters), if any.
    pub query: Option<SchemaFn>,
}

#[allow(clippy::too_many_arguments)] // one row of the table
const fn r(
    method: &'static str,
    path: &'static str,
    action: Option<Action>,
    operation: &'static str,
    summary: &'static str,
    request: Option<SchemaFn>,
    response: Body,
    status: u16,
) -> RouteSpec {
    RouteSpec { method, path, action, operation, summary, request, response, status, query: None }
}

use Body::{Json, Text};
const PAGE: Option<SchemaFn> = Some(inline::<ledger_api::Page>());

/// Every endpoint of the service.
pub const ROUTES: &[RouteSpec] = &[
    r("GET", routes::HEALTHZ, None, "health", "Liveness: the process answers.", None, Json(schema::<ledger_api::Health>()), 200),
    r(
        "GET",
        routes::READYZ,
        None,
        "ready",
        "Readiness: the store answers and the server is not draining.",
        None,
        Json(schema::<ledger_api::Health>()),
        200,
    ),
    r("GET", routes::METRICS, None, "metrics", "Prometheus text exposition (local scraping only).", None, Text("text/plain"), 200),
    r("GET", routes::OPENAPI, None, "openapi", "This API description (OpenAPI 3.1).", None, Text("application/json"), 200),
    r(
        "POST",
        routes::TENANTS,
        Some(Action::Administer),
        "createTenant",
        "Create a tenant (admin).",
        Some(schema::<ledger_api::CreateTenant>()),
        Json(schema::<ledger_api::Tenant>()),
        201,
    ),
    r(
        "GET",
        routes::TENANTS,
        Some(Action::Administer),
        "listTenants",
        "List tenants (admin).",
        None,
        Json(schema::<ledger_api::TenantList>()),
        200,
    ),
    r(
        "GET",
        routes::VERIFIER_KEY,
        Some(Action::Read),
        "verifierKey",
        "The tenant's checkpoint verifier key (C2SP vkey).",
        None,
        Text("text/plain"),
        200,
    ),
    r(
        "POST",
        routes::CLAIMS,
        Some(Action::Append),
        "appendClaim",
        "Append one claim; acknowledged after commit.",
        Some(schema::<ledger_api::AppendClaim>()),
        Json(schema::<evidence_core::AppendReceipt>()),
        201,
    ),
    r(
        "POST",
        routes::CLAIMS_BATCH,
        Some(Action::Append),
        "appendBatch",
        "Append claims in one transaction, in order.",
        Some(schema::<ledger_api::AppendBatch>()),
        Json(schema::<ledger_api::ReceiptList>()),
        201,
    ),
    r(
        "GET",
        routes::CLAIM,
        Some(Action::Read),
        "getClaim",
        "A claim's receipt and whether a checkpoint seals it.",
        None,
        Json(schema::<ledger_api::ClaimStatus>()),
        200,
    ),
    r(
        "GET",
        routes::CLAIM_BUNDLE,
        Some(Action::Export),
        "getBundle",
        "An evidence-bundle/v1 for one claim, proven against the newest checkpoint that covers it and is anchored on every rail the tenant requires (newer checkpoints go in as consistency-linked later checkpoints). 409 not_sealed before the claim is sealed; 409 not_anchored, naming the checkpoint and the rails it waits for, while no covering checkpoint is anchored yet.",
        None,
        Json(schema::<evidence_core::Bundle>()),
        200,
    ),
    r(
        "GET",
        routes::CLAIM_TLOG_PROOF,
        Some(Action::Export),
        "getTlogProof",
        "A c2sp.org/tlog-proof@v1 file for one claim.",
        None,
        Text("text/plain"),
        200,
    ),
    r(
        "POST",
        routes::BUNDLES,
        Some(Action::Export),
        "getBundleMany",
        "An evidence-bundle/v1 for several claims, on the newest checkpoint covering them all that is anchored on every rail the tenant requires (as getBundle; 409 not_sealed / not_anchored likewise).",
        Some(schema::<ledger_api::BundleRequest>()),
        Json(schema::<evidence_core::Bundle>()),
        200,
    ),
    r(
        "POST",
        routes::CLAIM_RETRACT,
        Some(Action::Retract),
        "retractClaim",
        "Append a retraction of the claim (the claim stays).",
        Some(schema::<ledger_api::Reason>()),
        Json(schema::<evidence_core::AppendReceipt>()),
        201,
    ),
    r(
        "POST",
        routes::CLAIM_ERASE,
        Some(Action::Erase),
        "eraseClaim",
        "Erase the claim's record (its data key is destroyed when the erasure is applied; see the erasure window) and append an erasure claim. An already erased claim answers 409 already_erased and writes nothing.",
        Some(schema::<ledger_api::Reason>()),
        Json(schema::<evidence_core::AppendReceipt>()),
        201,
    ),
    RouteSpec {
        query: PAGE,
        ..r(
            "GET",
            routes::CHECKPOINTS,
            Some(Action::Read),
            "listCheckpoints",
            "Checkpoints of the tenant's chain.",
            None,
            Json(schema::<ledger_api::CheckpointList>()),
            200,
        )
    },
    r(
        "GET",
        routes::CHECKPOINT,
        Some(Action::Read),
        "getCheckpoint",
        "One checkpoint with its anchoring state.",
        None,
        Json(schema::<ledger_api::Checkpoint>()),
        200,
    ),
    r(
        "GET",
        routes::CHECKPOINT_NOTE,
        Some(Action::Read),
        "getCheckpointNote",
        "One checkpoint as a C2SP signed note.",
        None,
        Text("text/plain"),
        200,
    ),
    r(
        "GET",
        routes::CHECKPOINT_ANCHORS,
        Some(Action::Read),
        "getAnchors",
        "Anchoring state per rail (pending/anchored/failed).",
        None,
        Json(schema::<ledger_api::AnchorList>()),
        200,
    ),
    RouteSpec {
        query: Some(inline::<ledger_api::ChainRange>()),
        ..r(
            "GET",
            routes::CHECKPOINT_CHAIN,
            Some(Action::Read),
            "getCheckpointChain",
            "A run of signed checkpoints (from/to are checkpoint numbers, at most 1 000 per answer), each after the first with the RFC 9162 consistency proof from its predecessor: the evidence-checkpoints/v1 file `evidence-verify checkpoints` reads. 404 no_such_checkpoint when from (or to) is not a checkpoint number of the tenant.",
            None,
            Json(schema::<ledger_api::CheckpointChain>()),
            200,
        )
    },
    RouteSpec {
        query: Some(inline::<ledger_api::SizePair>()),
        ..r(
            "GET",
            routes::CONSISTENCY,
            Some(Action::Read),
            "getConsistency",
            "RFC 9162 consistency proof between two checkpointed tree sizes.",
            None,
            Json(schema::<ledger_api::Consistency>()),
            200,
        )
    },
    RouteSpec {
        query: PAGE,
        ..r(
            "GET",
            routes::AUDIT,
            Some(Action::ReadAudit),
            "getAudit",
            "The tenant's audit log entries and its latest checkpoint.",
            None,
            Json(schema::<ledger_api::AuditPage>()),
            200,
        )
    },
    RouteSpec {
        query: Some(inline::<ledger_api::ReportPeriod>()),
        ..r(
            "GET",
            routes::REPORT_FINDINGS_PDF,
            // The PDF embeds every listed claim's evidence bundle: the roles that may export.
            Some(Action::Export),
            "getFindingsReport",
            "A signed (PAdES B-T), time-stamped PDF of the tenant's findings in a period, cut at the newest anchored checkpoint, with every listed claim's evidence bundle attached; recorded as a report_issued claim.",
            None,
            Text("application/pdf"),
            200,
        )
    },
    r(
        "POST",
        routes::UPLOADS,
        Some(Action::Append),
        "createUpload",
        "A signed URL that takes one PUT of a DMS export (expiry and size limit in the answer); the file is then ingested as `pipeline ingest` does.",
        Some(schema::<ledger_api::CreateUpload>()),
        Json(schema::<ledger_api::UploadTicket>()),
        201,
    ),
    RouteSpec {
        query: PAGE,
        ..r(
            "GET",
            routes::UPLOADS,
            Some(Action::Read),
            "listUploads",
            "The tenant's uploads, oldest first.",
            None,
            Json(schema::<ledger_api::UploadList>()),
            200,
        )
    },
    r(
        "GET",
        routes::UPLOAD,
        Some(Action::Read),
        "getUpload",
        "One upload: state, errors (as `pipeline check --json`), claims.",
        None,
        Json(schema::<ledger_api::UploadStatus>()),
        200,
    ),
    RouteSpec {
        query: Some(inline::<ledger_api::SignedUploadQuery>()),
        ..r(
            "PUT",
            routes::UPLOAD_BODY,
            None,
            "putUploadBody",
            "The signed upload URL (no bearer token: the URL's signature is the credential). 200 ingested, 422 refused (errors as `pipeline check --json`), 202 received; 403 bad_upload_url, 410 upload_expired, 409 upload_used, 413 body_too_large, 415 upload_refused.",
            None,
            Json(schema::<ledger_api::UploadStatus>()),
            200,
        )
    },
];

/// Finds the row for a method and matched path template.
pub fn find(method: &str, path: &str) -> Option<&'static RouteSpec> {
    ROUTES.iter().find(|r| r.method == method && r.path == path)
}

/// The documented error responses of a route besides `default` (status, the codes it
/// carries): derived from what the route takes, as the handlers and extractors refuse it.
pub fn error_responses(r: &RouteSpec) -> Vec<(u16, String)> {
    let mut out = Vec::new();
    let has_params = r.path.contains('{') || r.query.is_some();
    let mut bad = Vec::new();
    if has_params {
        bad.extend([
            "invalid_argument (a path segment or query parameter that does not parse)",
            "out_of_range (a number at or above 2^63)",
        ]);
    }
    if r.request.is_some() {
        bad.extend([
            "malformed_json",
            "duplicate_member (a member name twice in one object, at any depth)",
            "unsafe_number (an integer no IEEE-754 double holds exactly)",
            "json_too_deep",
        ]);
    }
    if !bad.is_empty() {
        out.push((400, format!("Refused: {}", bad.join(", "))));
    }
    if r.path.contains("{seq}") || r.path == routes::BUNDLES {
        out.push((404, "no_such_claim: the sequence number is at or past the log's size (unknown_tenant: no such tenant)".to_owned()));
    } else if r.path.contains("{cseq}") || r.path == routes::CONSISTENCY {
        out.push((404, "no_such_checkpoint (unknown_tenant: no such tenant)".to_owned()));
    }
    if r.path == routes::CLAIMS || r.path == routes::CLAIMS_BATCH {
        out.push((403, "reserved_kind: a kind only the ledger writes (also forbidden, wrong_tenant)".to_owned()));
    }
    if r.path == routes::UPLOAD_BODY {
        out.push((403, "bad_upload_url: altered, another tenant's, or signed by an unknown or retired key".to_owned()));
        out.push((409, "upload_used: the URL was already used (one PUT per URL, concurrent ones included)".to_owned()));
        out.push((410, "upload_expired".to_owned()));
        out.push((413, "body_too_large: over the URL's size limit (declared, or cut while reading)".to_owned()));
        out.push((415, "upload_refused: a content type that is not CSV text".to_owned()));
    }
    if r.path == routes::UPLOAD {
        out.push((404, "no_such_upload".to_owned()));
    }
    if r.request.is_some() {
        out.push((413, "body_too_large: over the body limit (a declared Content-Length is refused before the body is read)".to_owned()));
        out.push((415, "unsupported_media_type: the body must be application/json".to_owned()));
    }
    out
}

/// The OpenAPI 3.1 document, generated from [`ROUTES`]: each route's request, response and
/// query types contribute their JSON Schemas (draft 2020-12, as OpenAPI 3.1 uses) to
/// `components/schemas`.
pub fn openapi() -> serde_json::Value {
    use serde_json::{Map, Value, json};
    let mut settings = schemars::generate::SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    let mut g = settings.into_generator();
    let error = g.subschema_for::<ledger_api::ErrorBody>();
    let mut paths = Map::new();
    for r in ROUTES {
        let mut params: Vec<Value> = Vec::new();
        for seg in r.path.split('/') {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                let (schema, desc) = match name {
                    "tenant" => (g.subschema_for::<evidence_core::TenantId>(), "The tenant."),
                    "cseq" => (
                        g.subschema_for::<evidence_core::CheckpointSeq>(),
                        "A checkpoint number (its position in the chain), not a tree size.",
                    ),
                    _ => (g.subschema_for::<evidence_core::Seq>(), "A claim's sequence number (its leaf index)."),
                };
                params.push(json!({"name": name, "in": "path", "required": true, "description": desc, "schema": schema}));
            }
        }
        if let Some(query) = r.query {
            let q = query(&mut g);
            let q = q.as_object().cloned().unwrap_or_default();
            let required: Vec<String> = q
                .get("required")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            for (name, schema) in q.get("properties").and_then(Value::as_object).into_iter().flatten() {
                let mut schema = schema.clone();
                let desc = schema.as_object_mut().and_then(|o| o.remove("description")).unwrap_or(Value::Null);
                params
                    .push(json!({"name": name, "in": "query", "required": required.contains(name), "description": desc, "schema": schema}));
            }
        }
        let ok = match r.response {
            Body::Text(media) => json!({"description": "OK", "content": {media: {"schema": {"type": "string"}}}}),
            Body::Json(schema) => json!({"description": "OK", "content": {"application/json": {"schema": schema(&mut g)}}}),
        };
        let err = |d: &str| json!({"description": d, "content": {"application/json": {"schema": error.clone()}}});
        let mut responses = Map::new();
        responses.insert(r.status.to_string(), ok);
        responses.insert("default".into(), err("Error (stable code in error.code)"));
        for (status, desc) in error_responses(r) {
            responses.insert(status.to_string(), err(&desc));
        }
        let mut op = json!({
            "operationId": r.operation,
            "summary": r.summary,
            "parameters": params,
            "responses": responses,
        });
        if let Some(action) = r.action {
            op["security"] = json!([{"bearer": []}, {"bearer": [], "idToken": []}]);
            op["x-action"] = json!(action);
        }
        if let Some(req) = r.request {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": req(&mut g)}}});
        }
        let entry = paths.entry(r.path.to_owned()).or_insert_with(|| Value::Object(Map::new()));
        entry[r.method.to_ascii_lowercase()] = op;
    }
    let schemas: Map<String, Value> = g.take_definitions(true).into_iter().collect();
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
    use serde_json::json;

    /// Every `$ref` in the document names a schema under `components/schemas` (or, inside the
    /// embedded bundle schema, one of its own `$defs`).
    #[test]
    fn every_reference_resolves() {
        fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    if let Some(serde_json::Value::String(r)) = m.get("$ref") {
                        out.push(r.clone());
                    }
                    m.values().for_each(|v| refs(v, out));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let doc = openapi();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for name in ["AppendClaim", "AppendBatch", "AppendReceipt", "Bundle", "ErrorBody", "ClaimStatus", "CheckpointList", "AuditPage"] {
            assert!(schemas.contains_key(name), "{name} missing from components");
        }
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for r in all {
            if let Some(name) = r.strip_prefix("#/components/schemas/") {
                assert!(schemas.contains_key(name), "{r} does not resolve");
            } else {
                assert!(r.starts_with("#/$defs/"), "unexpected reference {r}");
                let def = r.trim_start_matches("#/$defs/");
                assert!(schemas["Bundle"]["$defs"].get(def).is_some(), "{r} is not a definition of the bundle schema");
            }
        }
    }

    /// The query parameters are documented with what they mean (tree sizes vs numbers).
    #[test]
    fn query_parameters_are_documented() {
        let doc = openapi();
        let params = doc["paths"][routes::CONSISTENCY]["get"]["parameters"].as_array().unwrap();
        let old = params.iter().find(|p| p["name"] == "old").unwrap();
        assert_eq!(old["in"], "query");
        assert_eq!(old["required"], true);
        assert!(old["description"].as_str().unwrap().contains("tree size"), "{old}");
        let page = doc["paths"][routes::CHECKPOINTS]["get"]["parameters"].as_array().unwrap();
        assert!(page.iter().any(|p| p["name"] == "from" && p["description"].as_str().is_some_and(|d| d.contains("checkpoint number"))));
        // The signed upload URL's query: every field required, each with its meaning.
        let put = doc["paths"][routes::UPLOAD_BODY]["put"]["parameters"].as_array().unwrap();
        for name in ["profile", "export", "max", "exp", "kid", "sig"] {
            let p = put.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("{name} is not documented"));
            assert_eq!((&p["in"], &p["required"]), (&json!("query"), &json!(true)), "{p}");
            assert!(p["description"].as_str().is_some_and(|d| d.len() > 10), "{p}");
        }
    }

    /// A body the server would take validates against the schema's required fields.
    #[test]
    fn schemas_describe_what_is_sent() {
        let doc = openapi();
        let append = &doc["components"]["schemas"]["AppendClaim"];
        assert_eq!(append["additionalProperties"], false, "unknown fields are refused: the schema says so");
        let req: Vec<&str> = append["required"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
        assert_eq!(req, ["kind", "body"]);
        let receipt = serde_json::to_value(evidence_core::AppendReceipt {
            tenant: evidence_core::TenantId::new("demo").unwrap(),
            seq: evidence_core::Seq(4),
            kind: evidence_core::ClaimKind::LeakageFinding,
            content_hash: evidence_core::ContentHash([1; 32]),
            commitment: evidence_core::Commitment([2; 32]),
            leaf_hash: evidence_core::LeafHash([3; 32]),
            appended_at: evidence_core::UnixMillis(5),
        })
        .unwrap();
        let props = doc["components"]["schemas"]["AppendReceipt"]["properties"].as_object().unwrap();
        let mut sent: Vec<&String> = receipt.as_object().unwrap().keys().collect();
        let mut described: Vec<&String> = props.keys().collect();
        sent.sort();
        described.sort();
        assert_eq!(sent, described);
    }

    /// The refusals of the edges (typed 400/404/403/413) are in the document.
    #[test]
    fn error_responses_are_documented() {
        let doc = openapi();
        let bundle = &doc["paths"][routes::CLAIM_BUNDLE]["get"]["responses"];
        assert!(bundle["404"]["description"].as_str().unwrap().contains("no_such_claim"));
        assert!(bundle["400"]["description"].as_str().unwrap().contains("out_of_range"));
        let append = &doc["paths"][routes::CLAIMS]["post"]["responses"];
        for (status, code) in [("400", "duplicate_member"), ("400", "unsafe_number"), ("403", "reserved_kind"), ("413", "body_too_large")] {
            assert!(append[status]["description"].as_str().unwrap().contains(code), "{status} {code}");
        }
        assert!(doc["paths"][routes::HEALTHZ]["get"]["responses"].get("400").is_none());
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
