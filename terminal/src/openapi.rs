//! The OpenAPI 3.1 document of the local API, built from one route table that the tests check
//! against the real router (every documented route answers; none falls through to 404).

use serde_json::{Map, Value, json};

/// (method, path, summary, needs sign-in, request body schema name)
pub const ROUTES: &[(&str, &str, &str, bool, Option<&str>)] = &[
    (
        "get",
        "/health",
        "Terminal identity, the store's UTC offset and the outbox backlog",
        false,
        None,
    ),
    ("get", "/openapi.json", "This document", false, None),
    (
        "get",
        "/users",
        "Active users for the sign-in screen",
        false,
        None,
    ),
    (
        "post",
        "/login",
        "Sign in with user id and PIN; returns a bearer token",
        false,
        Some("Login"),
    ),
    ("post", "/logout", "Sign out", true, None),
    ("get", "/me", "The signed-in user", true, None),
    ("get", "/shift", "The open shift, or null", true, None),
    (
        "post",
        "/shift/open",
        "Open a shift with a cash float",
        true,
        Some("OpenShift"),
    ),
    (
        "post",
        "/shift/paid-in",
        "Cash paid into the drawer",
        true,
        Some("CashMovement"),
    ),
    (
        "post",
        "/shift/paid-out",
        "Cash paid out of the drawer",
        true,
        Some("CashMovement"),
    ),
    (
        "post",
        "/shift/no-sale",
        "Open the drawer without a sale (manager)",
        true,
        Some("Approved"),
    ),
    (
        "post",
        "/shift/close",
        "Close the shift with the counted cash: Z report",
        true,
        Some("CloseShift"),
    ),
    (
        "get",
        "/reports/x",
        "X report of the open shift",
        true,
        None,
    ),
    ("get", "/reports/z", "Z reports, newest first", true, None),
    ("get", "/reports/z/{z_no}", "One Z report", true, None),
    (
        "get",
        "/carts",
        "Open (or ?status=parked) carts",
        true,
        None,
    ),
    ("post", "/carts", "Start a cart", true, None),
    (
        "get",
        "/carts/{id}",
        "A cart with its prices, totals, tax and payment state",
        true,
        None,
    ),
    (
        "delete",
        "/carts/{id}",
        "Void a cart that was not completed",
        true,
        None,
    ),
    (
        "post",
        "/carts/{id}/scan",
        "Scan or type a barcode; unknown and malformed codes are outcomes",
        true,
        Some("Scan"),
    ),
    (
        "post",
        "/carts/{id}/lines",
        "Add a product by SKU",
        true,
        Some("AddLine"),
    ),
    (
        "patch",
        "/carts/{id}/lines/{line}",
        "Change a line's quantity",
        true,
        Some("Quantity"),
    ),
    (
        "delete",
        "/carts/{id}/lines/{line}",
        "Void a line",
        true,
        None,
    ),
    (
        "post",
        "/carts/{id}/lines/{line}/price",
        "Override a line's price (manager)",
        true,
        Some("PriceOverride"),
    ),
    (
        "post",
        "/carts/{id}/lines/{line}/discount",
        "Discount a line",
        true,
        Some("Discount"),
    ),
    (
        "delete",
        "/carts/{id}/lines/{line}/discount",
        "Remove a line discount",
        true,
        None,
    ),
    (
        "post",
        "/carts/{id}/discount",
        "Discount the order (allocated to lines)",
        true,
        Some("Discount"),
    ),
    (
        "delete",
        "/carts/{id}/discount",
        "Remove the order discount",
        true,
        None,
    ),
    (
        "post",
        "/carts/{id}/tenders",
        "Add a tender (cash, card, alipay, wechat_pay, or the member's points)",
        true,
        Some("Tender"),
    ),
    (
        "delete",
        "/carts/{id}/tenders/{tender}",
        "Remove a tender",
        true,
        None,
    ),
    (
        "post",
        "/carts/{id}/complete",
        "Complete the paid cart; durable when it answers",
        true,
        None,
    ),
    (
        "post",
        "/carts/{id}/park",
        "Park the cart",
        true,
        Some("Park"),
    ),
    (
        "post",
        "/carts/{id}/member",
        "Attach a member (member prices and promotions follow)",
        true,
        Some("Member"),
    ),
    (
        "delete",
        "/carts/{id}/member",
        "Detach the member",
        true,
        None,
    ),
    (
        "post",
        "/carts/{id}/coupons",
        "Enter or scan a coupon code (checked offline; refused with its reason)",
        true,
        Some("Coupon"),
    ),
    (
        "delete",
        "/carts/{id}/coupons/{code}",
        "Take a coupon off the cart",
        true,
        None,
    ),
    (
        "get",
        "/coupons/campaigns",
        "Coupon campaigns in force",
        true,
        None,
    ),
    (
        "put",
        "/coupons/campaigns",
        "Replace HQ's coupon keys and campaigns (manager; HQ once sync exists)",
        true,
        Some("CouponConfig"),
    ),
    ("get", "/promotions", "Promotion rules in force", true, None),
    (
        "put",
        "/promotions",
        "Replace the promotion rules (manager; HQ once sync exists)",
        true,
        Some("Promotions"),
    ),
    (
        "post",
        "/carts/{id}/resume",
        "Resume a parked cart",
        true,
        None,
    ),
    ("get", "/sales", "Recent sales and returns", true, None),
    (
        "get",
        "/sales/{receipt}",
        "Find a sale by receipt number or receipt barcode, with what can be returned",
        true,
        None,
    ),
    (
        "get",
        "/sales/{receipt}/receipt",
        "The receipt model of a sale or return",
        true,
        None,
    ),
    (
        "post",
        "/sales/{receipt}/void",
        "Post-void a sale of the open shift (manager)",
        true,
        Some("Approved"),
    ),
    (
        "post",
        "/sales/{receipt}/print",
        "Print the receipt again (queued)",
        true,
        None,
    ),
    (
        "get",
        "/sales/{receipt}/preview.png",
        "The receipt as a PNG image: ?paper=mm58|mm80&lang=zh|en",
        true,
        None,
    ),
    (
        "get",
        "/printer",
        "Printer state: pending jobs and why they wait (paper out, cover open, offline)",
        true,
        None,
    ),
    (
        "get",
        "/sync",
        "Sync with HQ: pending events, quarantined, last success, last error",
        true,
        None,
    ),
    ("post", "/sync", "Sync with HQ now", true, None),
    (
        "get",
        "/scale",
        "One reading of the scale: stable kg, motion, over capacity or under zero",
        true,
        None,
    ),
    (
        "get",
        "/barcode",
        "What the till understands from a scan (GTIN, GS1, store label, receipt): ?data=",
        true,
        None,
    ),
    (
        "get",
        "/scanner/next",
        "Long poll for the serial scanner's next scan: ?timeout_ms= (null when none)",
        true,
        None,
    ),
    (
        "post",
        "/returns",
        "Return lines of a receipted sale to the original tenders",
        true,
        Some("Return"),
    ),
    (
        "post",
        "/returns/unreceipted",
        "Return without receipt (manager)",
        true,
        Some("UnreceiptedReturn"),
    ),
    (
        "get",
        "/products",
        "Search products by name (Chinese or English), SKU or barcode: ?q=&limit=",
        true,
        None,
    ),
    ("get", "/products/{sku}", "One product", true, None),
    (
        "get",
        "/members",
        "Search members by phone, last 4 digits, card number or name (phones masked): ?q=&limit=",
        true,
        None,
    ),
    (
        "post",
        "/members",
        "Sign a customer up (phone + consent; works offline, synced as an event)",
        true,
        Some("SignUp"),
    ),
    (
        "get",
        "/members/{id}",
        "A member with the points balance, tier from lifetime points and the next tier (phone masked)",
        true,
        None,
    ),
    (
        "get",
        "/members/{id}/points",
        "The member's point events on this till, newest first (?limit=, default 50)",
        true,
        None,
    ),
    (
        "get",
        "/members/{id}/coupons",
        "The member's coupon wallet, each coupon with what it does now (?cart= to check against a cart)",
        true,
        None,
    ),
    (
        "get",
        "/journal/verify",
        "Verify the hash-chained journal",
        true,
        None,
    ),
    // Manager and installer screens (api_manage.rs).
    (
        "post",
        "/reports/x/print",
        "Print the X report on the receipt printer (queued): ?lang=zh|en",
        true,
        None,
    ),
    (
        "get",
        "/reports/x/preview.png",
        "The X report as a PNG, as it prints: ?lang=zh|en&paper=mm58|mm80",
        true,
        None,
    ),
    (
        "post",
        "/reports/z/{z_no}/print",
        "Print a Z report on the receipt printer (queued): ?lang=zh|en",
        true,
        None,
    ),
    (
        "get",
        "/reports/z/{z_no}/preview.png",
        "A Z report as a PNG, as it prints: ?lang=zh|en&paper=mm58|mm80",
        true,
        None,
    ),
    (
        "get",
        "/devices",
        "Devices screen: discovered ports, devices.toml (validated), running devices, printer state (installer, manager)",
        true,
        None,
    ),
    (
        "put",
        "/devices/config",
        "Validate and save devices.toml; used after a restart (installer, manager)",
        true,
        Some("DevicesConfig"),
    ),
    (
        "post",
        "/devices/printer/test",
        "Queue the printer test page (installer, manager)",
        true,
        None,
    ),
    (
        "get",
        "/devices/printer/test.png",
        "The printer test page as a PNG: ?paper=mm58|mm80 (installer, manager)",
        true,
        None,
    ),
    (
        "post",
        "/devices/display/test",
        "Show a test line on the customer display (installer, manager)",
        true,
        None,
    ),
    (
        "get",
        "/devices/scale",
        "One scale reading (installer, manager)",
        true,
        None,
    ),
    (
        "get",
        "/devices/scanner/next",
        "Long poll for the serial scanner's next scan: ?timeout_ms= (installer, manager)",
        true,
        None,
    ),
];

fn schemas() -> Value {
    let money = json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$", "description": "decimal amount as a string"});
    let approval = json!({"type": "object", "required": ["user_id", "pin"],
        "properties": {"user_id": {"type": "string"}, "pin": {"type": "string"}},
        "description": "a manager's credentials approving an override"});
    json!({
        "Money": money,
        "Approval": approval,
        "Error": {"type": "object", "properties": {"error": {"type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
        "Login": {"type": "object", "required": ["user_id", "pin"],
            "properties": {"user_id": {"type": "string"}, "pin": {"type": "string"}}},
        "OpenShift": {"type": "object", "required": ["float"], "properties": {"float": {"$ref": "#/components/schemas/Money"}}},
        "CashMovement": {"type": "object", "required": ["amount", "reason"],
            "properties": {"amount": {"$ref": "#/components/schemas/Money"}, "reason": {"type": "string"}}},
        "Approved": {"type": "object", "properties": {"reason": {"type": "string"},
            "approval": {"$ref": "#/components/schemas/Approval"}}},
        "CloseShift": {"type": "object", "properties": {"counted": {"$ref": "#/components/schemas/Money"},
            "denominations": {"type": "array", "items": {"type": "object",
                "properties": {"value": {"$ref": "#/components/schemas/Money"}, "count": {"type": "integer"}}}}}},
        "Scan": {"type": "object", "required": ["code"], "properties": {"code": {"type": "string"},
            "qty": {"$ref": "#/components/schemas/Money", "description": "quantity, e.g. a weight in kg"}}},
        "AddLine": {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"},
            "qty": {"$ref": "#/components/schemas/Money"}}},
        "Quantity": {"type": "object", "required": ["qty"], "properties": {"qty": {"$ref": "#/components/schemas/Money"}}},
        "PriceOverride": {"type": "object", "required": ["price", "reason"],
            "properties": {"price": {"$ref": "#/components/schemas/Money"}, "reason": {"type": "string"},
                "approval": {"$ref": "#/components/schemas/Approval"}}},
        "Discount": {"type": "object", "required": ["value", "reason"],
            "properties": {"value": {"type": "object", "required": ["type", "value"],
                    "properties": {"type": {"enum": ["percent", "amount"]}, "value": {"$ref": "#/components/schemas/Money"}}},
                "reason": {"type": "string"}, "approval": {"$ref": "#/components/schemas/Approval"}}},
        "Tender": {"type": "object", "required": ["kind"],
            "properties": {"kind": {"enum": ["cash", "card", "alipay", "wechat_pay", "points"]},
                "amount": {"$ref": "#/components/schemas/Money", "description": "omit to pay what is due (not for points)"},
                "reference": {"type": "string", "description": "required for alipay and wechat_pay"},
                "points": {"type": "integer", "description": "points: how many to use (default the whole balance); the amount follows the store's redeem rules"}}},
        "Park": {"type": "object", "properties": {"label": {"type": "string"}}},
        "Coupon": {"type": "object", "required": ["code"], "properties": {"code": {"type": "string", "description": "a TC1. coupon code"}}},
        "CouponConfig": {"type": "object", "required": ["keys", "campaigns"], "properties": {
            "keys": {"type": "array", "items": {"type": "object", "properties": {"key_id": {"type": "integer"}, "public_key": {"type": "string"}}}},
            "campaigns": {"type": "array", "items": {"type": "object"}}}},
        "SignUp": {"type": "object", "required": ["phone", "consent"], "properties": {
            "phone": {"type": "string"}, "name": {"type": "string"}, "consent": {"type": "boolean"}}},
        "Member": {"type": "object", "required": ["member_id"], "properties": {"member_id": {"type": "string"}}},
        "DevicesConfig": {"type": "object", "required": ["toml"], "properties": {"toml": {"type": "string", "description": "the whole devices.toml"}}},
        "Promotions": {"type": "array", "items": {"type": "object", "required": ["id", "name", "benefit"],
            "description": "promotion rules, see core/src/promo.rs for the JSON"}},
        "Return": {"type": "object", "required": ["receipt", "lines"],
            "properties": {"receipt": {"type": "string", "description": "receipt number or scanned receipt barcode"},
                "lines": {"type": "array", "items": {"type": "object", "required": ["line_id", "qty"],
                    "properties": {"line_id": {"type": "integer"}, "qty": {"$ref": "#/components/schemas/Money"}}}}}},
        "UnreceiptedReturn": {"type": "object", "required": ["items", "reason"],
            "properties": {"items": {"type": "array", "items": {"type": "object", "required": ["sku", "qty"],
                    "properties": {"sku": {"type": "string"}, "qty": {"$ref": "#/components/schemas/Money"}}}},
                "refund": {"enum": ["cash", "card", "alipay", "wechat_pay"]}, "reason": {"type": "string"},
                "approval": {"$ref": "#/components/schemas/Approval"}}},
    })
}

pub fn document() -> Value {
    let mut paths = Map::new();
    for (method, path, summary, auth, body) in ROUTES {
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = json!({
            "summary": summary,
            "operationId": format!("{method}{}", path.replace(['/', '{', '}', '-', '.'], "_")),
            "responses": {
                "200": {"description": "OK"},
                "4XX": {"description": "expected outcome the user can act on",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
        });
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        if *auth {
            op["security"] = json!([{"bearer": []}]);
        }
        if let Some(b) = body {
            op["requestBody"] = json!({"required": true, "content": {"application/json":
                {"schema": {"$ref": format!("#/components/schemas/{b}")}}}});
        }
        let entry = paths
            .entry(format!("/api/v1{path}"))
            .or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Tillstone terminal API", "version": env!("CARGO_PKG_VERSION"),
            "description": "Local JSON API of a Tillstone terminal. Amounts are decimal strings."},
        "servers": [{"url": "http://127.0.0.1:8787"}],
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
        }
    })
}
