//! The OpenAPI 3.1 document of `tillstone-cloud` (`GET /openapi.json`). The wire format itself
//! (versions, idempotency rules, compression) is specified in `sync/README.md`; this document
//! names the routes, who may call them, the message shapes and the answers.

use serde_json::{Value, json};
use tillstone_sync::{Entity, EventKind, PROTOCOL_VERSION};

/// A documented route: method, path, summary, whether a terminal credential is required,
/// request schema, answer schema.
pub type Route = (
    &'static str,
    &'static str,
    &'static str,
    bool,
    Option<&'static str>,
    &'static str,
);

/// Every route. `tests/api.rs` checks each one answers (no 404).
pub const ROUTES: &[Route] = &[
    (
        "post",
        "/v1/enroll",
        "Enroll a terminal with a one-time code from the admin CLI; answers its credential",
        false,
        Some("EnrollRequest"),
        "EnrollResponse",
    ),
    (
        "post",
        "/v1/push",
        "Push a batch of events (idempotent: resending any batch is harmless); answers once the batch is committed",
        true,
        Some("PushBatch"),
        "PushAck",
    ),
    (
        "post",
        "/v1/pull",
        "Pull HQ's changes after the terminal's cursors, one page (resumable)",
        true,
        Some("PullRequest"),
        "PullPage",
    ),
    (
        "post",
        "/v1/coupons/status",
        "The online coupon check: every redemption HQ holds of one coupon, in the caller's tenant",
        true,
        Some("CouponStatusRequest"),
        "CouponStatus",
    ),
    ("get", "/healthz", "Liveness: `ok`", false, None, "Text"),
    (
        "get",
        "/metrics",
        "Prometheus metrics (text exposition format 0.0.4)",
        false,
        None,
        "Text",
    ),
    ("get", "/openapi.json", "This document", false, None, "Any"),
];

/// The document.
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for (method, path, summary, auth, request, answer) in ROUTES {
        let content_type = match *answer {
            "Text" => "text/plain",
            _ => "application/json",
        };
        let mut op = json!({
            "summary": summary,
            "responses": {
                "200": {"description": "OK", "content": {content_type: {"schema": {"$ref": format!("#/components/schemas/{answer}")}}}},
                "400": {"$ref": "#/components/responses/Error"},
                "413": {"$ref": "#/components/responses/Error"},
                "500": {"$ref": "#/components/responses/Error"}
            }
        });
        if *auth {
            op["security"] = json!([{"terminal": []}]);
            op["responses"]["401"] = json!({"$ref": "#/components/responses/Error"});
            op["responses"]["403"] = json!({"$ref": "#/components/responses/Error"});
        }
        if let Some(schema) = request {
            op["requestBody"] = json!({
                "required": true,
                "description": "JSON; may be gzip-compressed (`Content-Encoding: gzip`, decoded with a size cap)",
                "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}
            });
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    let entities: Vec<&str> = Entity::ALL.iter().map(|e| e.as_str()).collect();
    let kinds: Vec<Value> = EventKind::ALL
        .iter()
        .map(|k| serde_json::to_value(k).unwrap_or(Value::Null))
        .collect();
    let cursors = json!({"type": "object", "description": "entity → last applied revision (missing: 0)",
        "propertyNames": {"enum": entities}, "additionalProperties": {"type": "integer", "minimum": 0}});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "tillstone-cloud",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "Tillstone HQ: terminals push events and pull HQ's changes. Wire protocol version {PROTOCOL_VERSION} (see sync/README.md); HQ row formats in sync/ROWS.md. Errors are {{\"error\": {{\"code\", \"message\"}}}}."
            )
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "terminal": {"type": "http", "scheme": "bearer", "description": "the credential answered by /v1/enroll (stored hashed at HQ; refused once revoked)"}
            },
            "responses": {
                "Error": {"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object",
                    "required": ["code", "message"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
                "Text": {"type": "string"},
                "Any": {"type": "object"},
                "EnrollRequest": {"type": "object", "required": ["code", "terminal_id"], "properties": {
                    "code": {"type": "string", "description": "one-time enrollment code"},
                    "terminal_id": {"type": "string", "description": "a fresh id on every install (never reused)"}}},
                "EnrollResponse": {"type": "object", "required": ["credential", "tenant", "store", "terminal"], "properties": {
                    "credential": {"type": "string"}, "tenant": {"type": "string"}, "store": {"type": "string"}, "terminal": {"type": "string"}}},
                "Hlc": {"type": "object", "required": ["wall_ms", "counter", "node"], "properties": {
                    "wall_ms": {"type": "integer"}, "counter": {"type": "integer"}, "node": {"type": "string"}}},
                "Event": {"type": "object", "required": ["event_id", "terminal_id", "seq", "hlc", "kind", "payload"], "properties": {
                    "event_id": {"type": "string", "description": "UUIDv7, lowercase hyphenated; the cloud keeps each exactly once"},
                    "terminal_id": {"type": "string"},
                    "seq": {"type": "integer", "minimum": 1, "description": "per-terminal sequence"},
                    "hlc": {"$ref": "#/components/schemas/Hlc"},
                    "kind": {"enum": kinds},
                    "payload": {"type": "object"}}},
                "PushBatch": {"type": "object", "required": ["version", "tenant", "store", "terminal", "batch_id", "events"], "properties": {
                    "version": {"type": "integer"}, "tenant": {"type": "string"}, "store": {"type": "string"},
                    "terminal": {"type": "string"}, "batch_id": {"type": "string"},
                    "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}}},
                "PushAck": {"type": "object", "required": ["version", "batch_id", "accepted", "duplicates", "rejected"], "properties": {
                    "version": {"type": "integer"}, "batch_id": {"type": "string"},
                    "accepted": {"type": "array", "items": {"type": "string"}},
                    "duplicates": {"type": "array", "items": {"type": "string"}},
                    "rejected": {"type": "array", "items": {"type": "object", "properties": {
                        "event_id": {"type": "string"}, "reason": {"type": "string"}, "detail": {"type": "string"}}}}}},
                "PullRequest": {"type": "object", "required": ["version", "cursors"], "properties": {
                    "version": {"type": "integer", "enum": [1, 2]},
                    "cursors": cursors,
                    "limit": {"type": "integer", "minimum": 1, "maximum": 5000},
                    "count_remaining": {"type": "boolean", "description": "version 2: also answer how many rows remain"}}},
                "Row": {"type": "object", "required": ["entity", "key", "revision", "deleted", "data"], "properties": {
                    "entity": {"enum": entities}, "key": {"type": "string"}, "revision": {"type": "integer", "minimum": 1},
                    "deleted": {"type": "boolean"}, "data": {"description": "the row's document (sync/ROWS.md); null for a tombstone"}}},
                "PullPage": {"type": "object", "required": ["version", "rows", "next_cursors", "more"], "properties": {
                    "version": {"type": "integer"},
                    "rows": {"type": "array", "items": {"$ref": "#/components/schemas/Row"}},
                    "next_cursors": cursors,
                    "more": {"type": "boolean"},
                    "remaining": {"type": "integer", "description": "version 2, when asked: rows still to pull"}}},
                "CouponStatusRequest": {"type": "object", "required": ["v", "coupon_id"], "properties": {
                    "v": {"const": 1}, "coupon_id": {"type": "string", "pattern": "^[0-9]+-[0-9]+$", "description": "campaign-serial"}}},
                "CouponStatus": {"type": "object", "required": ["v", "coupon_id", "redemptions"], "properties": {
                    "v": {"const": 1}, "coupon_id": {"type": "string"},
                    "redemptions": {"type": "array", "items": {"type": "object", "properties": {
                        "sale_id": {"type": "string"}, "store_id": {"type": "string"},
                        "terminal_id": {"type": "string"}, "amount": {"type": "string"}}}}}}
            }
        }
    })
}
