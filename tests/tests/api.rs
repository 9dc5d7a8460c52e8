//! End-to-end through the real HTTP API: a real `tillstone` router on a real socket over a real
//! SQLite file, driven with reqwest.

mod http;

use http::Api;

use reqwest::StatusCode;
use reqwest::blocking::Client;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::str::FromStr;
use std::sync::Arc;
use tillstone_terminal::app::Terminal;

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(
        v.as_str()
            .unwrap_or_else(|| panic!("not a decimal string: {v}")),
    )
    .unwrap_or_else(|e| panic!("{v}: {e}"))
}

fn assert_cart_consistent(cart: &Value) {
    let total = dec(&cart["totals"]["total"]);
    let lines: Decimal = cart["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| dec(&l["amounts"]["total"]))
        .sum();
    assert_eq!(lines, total, "lines sum to the total: {cart}");
    let tax: Decimal = cart["tax_summary"]
        .as_array()
        .expect("tax")
        .iter()
        .map(|t| dec(&t["tax"]))
        .sum();
    assert_eq!(tax, dec(&cart["totals"]["tax"]));
}

#[test]
fn a_day_at_the_till_over_http() {
    let mut api = Api::start();
    let health = api.ok("GET", "/health", None);
    assert_eq!(health["store_code"], "HZ001");
    assert_eq!(
        health["utc_offset_minutes"], 480,
        "the demo store is in China (UTC+8)"
    );
    api.err(
        "GET",
        "/nope",
        None,
        StatusCode::NOT_FOUND,
        "no_such_endpoint",
    );
    api.err(
        "GET",
        "/shift",
        None,
        StatusCode::UNAUTHORIZED,
        "not_signed_in",
    );
    api.err(
        "POST",
        "/login",
        Some(json!({"user_id": "1001", "pin": "0000"})),
        StatusCode::UNAUTHORIZED,
        "wrong_pin",
    );
    api.err(
        "POST",
        "/login",
        Some(json!({"user": "1001"})),
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
    let users = api.ok("GET", "/users", None);
    assert!(users.as_array().is_some_and(|u| u.len() >= 4));
    assert!(
        users[0].get("pin_hash").is_none(),
        "PIN hashes never leave the terminal"
    );

    api.login("1001", "1111");
    assert_eq!(api.ok("GET", "/shift", None), Value::Null);
    api.err(
        "POST",
        "/carts",
        None,
        StatusCode::CONFLICT,
        "no_open_shift",
    );
    let shift = api.ok("POST", "/shift/open", Some(json!({"float": "500.00"})));
    assert_eq!(dec(&shift["opening_float"]), Decimal::from(500));
    api.err(
        "POST",
        "/shift/open",
        Some(json!({"float": "500"})),
        StatusCode::CONFLICT,
        "shift_already_open",
    );

    // Find products through search (Chinese and English).
    let found = api.ok("GET", "/products?q=%E7%89%9B%E5%A5%B6&limit=5", None); // 牛奶
    assert!(
        !found.as_array().expect("array").is_empty(),
        "search 牛奶 finds milk"
    );
    let all = api.ok("GET", "/products?q=a&limit=100", None);
    let products = all.as_array().expect("array");
    let piece = products
        .iter()
        .find(|p| p["unit"] == "piece" && !p["barcodes"].as_array().expect("b").is_empty())
        .expect("a piece product");
    let code = piece["barcodes"][0].as_str().expect("barcode").to_string();
    let kg = api.ok("GET", "/products?q=土豆&limit=20", None);
    let weighed = kg
        .as_array()
        .expect("array")
        .iter()
        .chain(products.iter())
        .find(|p| p["unit"] == "kg")
        .cloned();
    assert!(weighed.is_some(), "the demo catalog has weighed items");

    // Members: by last 4 digits, full phone, card and Chinese name; phones masked.
    let m = api.ok("GET", "/members?q=1234", None);
    let names: Vec<&str> = m
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert_eq!(names, vec!["张伟", "张晓明", "李娜"]);
    assert_eq!(m[0]["phone_masked"], "138****1234");
    assert!(
        m[0].get("phone").is_none(),
        "full phone numbers never leave the terminal"
    );
    assert_eq!(
        api.ok("GET", "/members?q=13957105678", None)[0]["name"],
        "王秀英"
    );
    assert_eq!(
        api.ok("GET", "/members?q=8800000004", None)[0]["name"],
        "刘洋"
    );
    let zhang = api.ok("GET", "/members?q=张", None);
    assert_eq!(zhang.as_array().map(Vec::len), Some(2));

    let cart = api.ok("POST", "/carts", None);
    let id = cart["cart_id"].as_str().expect("cart id").to_string();
    // Unknown, malformed and receipt scans are outcomes, not errors.
    let v = api.ok(
        "POST",
        &format!("/carts/{id}/scan"),
        Some(json!({"code": "0000000000000"})),
    );
    assert_eq!(v["outcome"], "not_found");
    let v = api.ok(
        "POST",
        &format!("/carts/{id}/scan"),
        Some(json!({"code": "6901234567893"})),
    );
    assert_eq!(v["outcome"], "invalid");
    let v = api.ok(
        "POST",
        &format!("/carts/{id}/scan"),
        Some(json!({"code": "RCHZ001-T01-00000001"})),
    );
    assert_eq!(v["outcome"], "receipt");
    let v = api.ok(
        "POST",
        &format!("/carts/{id}/scan"),
        Some(json!({"code": code})),
    );
    assert_eq!(v["outcome"], "added");
    let v = api.ok(
        "POST",
        &format!("/carts/{id}/scan"),
        Some(json!({"code": format!("{code}\r\n")})),
    );
    assert_eq!(
        v["cart"]["lines"].as_array().expect("lines").len(),
        1,
        "a second scan adds to the line"
    );
    assert_eq!(dec(&v["cart"]["lines"][0]["line"]["qty"]), Decimal::from(2));
    if let Some(w) = &weighed {
        let wcode = w["barcodes"][0]
            .as_str()
            .unwrap_or(w["sku"].as_str().expect("sku"));
        let v = api.ok(
            "POST",
            &format!("/carts/{id}/scan"),
            Some(json!({"code": wcode})),
        );
        assert_eq!(v["outcome"], "needs_weight");
        let v = api.ok(
            "POST",
            &format!("/carts/{id}/scan"),
            Some(json!({"code": wcode, "qty": "0.535"})),
        );
        assert_eq!(v["outcome"], "added");
        // A GS1 label carries the weight itself: (01) GTIN-14 + (3103) net weight in grams.
        let v = api.ok(
            "POST",
            &format!("/carts/{id}/scan"),
            Some(json!({"code": format!("(01)0{wcode}(3103)001250")})),
        );
        assert_eq!(v["outcome"], "added", "{v}");
        let line = v["line_id"].as_u64().expect("line id") as usize;
        assert_eq!(
            dec(&v["cart"]["lines"][line - 1]["line"]["qty"]),
            "1.25".parse::<Decimal>().expect("dec")
        );
        api.err(
            "POST",
            &format!("/carts/{id}/scan"),
            Some(json!({"code": wcode, "qty": "0.5355"})),
            StatusCode::BAD_REQUEST,
            "invalid_quantity",
        );
    }
    let cart = api.ok(
        "POST",
        &format!("/carts/{id}/lines"),
        Some(json!({"sku": piece["sku"], "qty": "1"})),
    );
    assert_cart_consistent(&cart);

    // Price override needs a manager.
    api.err(
        "POST",
        &format!("/carts/{id}/lines/1/price"),
        Some(json!({"price": "1.00", "reason": "damaged box"})),
        StatusCode::FORBIDDEN,
        "approval_required",
    );
    api.err("POST", &format!("/carts/{id}/lines/1/price"), Some(json!({"price": "1.00", "reason": "damaged box", "approval": {"user_id": "1002", "pin": "2222"}})), StatusCode::FORBIDDEN, "approver_not_manager");
    let cart = api.ok("POST", &format!("/carts/{id}/lines/1/price"), Some(json!({"price": "1.00", "reason": "damaged box", "approval": {"user_id": "9001", "pin": "9999"}})));
    assert_eq!(cart["override_count"], 1);
    assert_eq!(dec(&cart["lines"][0]["unit_price"]), Decimal::ONE);
    // A 10 % order discount is within the cashier's limit; 50 % is not.
    api.err(
        "POST",
        &format!("/carts/{id}/discount"),
        Some(json!({"value": {"type": "percent", "value": "50"}, "reason": "vip"})),
        StatusCode::FORBIDDEN,
        "approval_required",
    );
    let cart = api.ok(
        "POST",
        &format!("/carts/{id}/discount"),
        Some(json!({"value": {"type": "percent", "value": "10"}, "reason": "member day"})),
    );
    assert_cart_consistent(&cart);
    let total = dec(&cart["totals"]["total"]);
    assert!(total > Decimal::ZERO);
    let order_disc: Decimal = cart["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| dec(&l["amounts"]["order_discount"]))
        .sum();
    assert_eq!(
        order_disc,
        dec(&cart["totals"]["order_discount"]),
        "order discount fully allocated"
    );

    // Tenders: wallet needs a reference; card cannot over-tender; cash gives change.
    api.err(
        "POST",
        &format!("/carts/{id}/tenders"),
        Some(json!({"kind": "alipay", "amount": "1.00"})),
        StatusCode::BAD_REQUEST,
        "reference_required",
    );
    api.err(
        "POST",
        &format!("/carts/{id}/tenders"),
        Some(json!({"kind": "card", "amount": (total + Decimal::ONE).to_string()})),
        StatusCode::BAD_REQUEST,
        "over_tender",
    );
    api.err(
        "POST",
        &format!("/carts/{id}/tenders"),
        Some(json!({"kind": "bitcoin"})),
        StatusCode::BAD_REQUEST,
        "unknown_tender",
    );
    api.ok(
        "POST",
        &format!("/carts/{id}/tenders"),
        Some(json!({"kind": "alipay", "amount": "1.00", "reference": "2026112522001"})),
    );
    api.err(
        "POST",
        &format!("/carts/{id}/lines"),
        Some(json!({"sku": piece["sku"]})),
        StatusCode::CONFLICT,
        "payment_started",
    );
    api.err(
        "POST",
        &format!("/carts/{id}/complete"),
        None,
        StatusCode::CONFLICT,
        "not_paid",
    );
    let cash = (total - Decimal::ONE).ceil() + Decimal::from(20);
    let cart = api.ok(
        "POST",
        &format!("/carts/{id}/tenders"),
        Some(json!({"kind": "cash", "amount": cash.to_string()})),
    );
    assert_eq!(dec(&cart["payment"]["remaining"]), Decimal::ZERO);
    let change = dec(&cart["payment"]["change"]);
    assert_eq!(change, cash + Decimal::ONE - dec(&cart["payment"]["due"]));
    let receipt = api.ok("POST", &format!("/carts/{id}/complete"), None);
    let sale = &receipt["sale"];
    let receipt_no = sale["receipt_no"].as_str().expect("receipt no").to_string();
    assert_eq!(receipt["barcode"], format!("RC{receipt_no}"));
    assert_eq!(receipt["cashier_name"], "王芳");
    let applied: Decimal = sale["tenders"]
        .as_array()
        .expect("tenders")
        .iter()
        .map(|t| dec(&t["applied"]))
        .sum();
    assert_eq!(
        applied,
        dec(&sale["totals"]["total"]) + dec(&sale["rounding"])
    );
    assert_eq!(sale["overrides"][0]["approved_by"], "9001");
    assert_eq!(sale["overrides"][0]["requested_by"], "1001");
    // The answer was lost and the till asks again: the same sale comes back, nothing doubles.
    let again = api.ok("POST", &format!("/carts/{id}/complete"), None);
    assert_eq!(again["sale"]["receipt_no"], receipt_no.as_str());
    api.err(
        "GET",
        &format!("/carts/{id}"),
        None,
        StatusCode::NOT_FOUND,
        "cart_not_found",
    );

    // Return one unit of line 1 by scanning the receipt barcode; refunds never exceed the sale.
    let found = api.ok("GET", &format!("/sales/RC{receipt_no}"), None);
    assert_eq!(dec(&found["returnable"]["1"]), Decimal::from(3));
    let return_req = json!({"receipt": format!("RC{receipt_no}"), "lines": [{"line_id": 1, "qty": "1"}],
        "request_id": "0192f0c4-ret-1"});
    let ret = api.ok("POST", "/returns", Some(return_req.clone()));
    assert_eq!(ret["sale"]["kind"], "return");
    // Pressed twice (a slow answer): the same return, refunded once.
    let ret_again = api.ok("POST", "/returns", Some(return_req));
    assert_eq!(ret_again["sale"]["receipt_no"], ret["sale"]["receipt_no"]);
    let found = api.ok("GET", &format!("/sales/{receipt_no}"), None);
    assert_eq!(dec(&found["returnable"]["1"]), Decimal::from(2));
    let refunded = dec(&ret["sale"]["totals"]["total"]);
    assert!(refunded > Decimal::ZERO && refunded < total);
    api.err(
        "POST",
        "/returns",
        Some(json!({"receipt": receipt_no, "lines": [{"line_id": 1, "qty": "3"}]})),
        StatusCode::CONFLICT,
        "return_exceeds_sale",
    );
    api.err(
        "GET",
        "/sales/NOPE-1",
        None,
        StatusCode::NOT_FOUND,
        "receipt_not_found",
    );

    // Without a receipt: a manager approves, the refund is at today's price, in cash.
    let items = json!([{"sku": piece["sku"], "qty": "1"}]);
    api.err(
        "POST",
        "/returns/unreceipted",
        Some(json!({"items": items, "reason": "gift, no receipt"})),
        StatusCode::FORBIDDEN,
        "approval_required",
    );
    let nr = api.ok("POST", "/returns/unreceipted", Some(json!({"items": items, "reason": "gift, no receipt", "refund": "cash", "approval": {"user_id": "9001", "pin": "9999"}})));
    assert_eq!(nr["sale"]["kind"], "return");
    assert_eq!(nr["sale"]["original"], Value::Null);
    assert_eq!(dec(&nr["sale"]["totals"]["total"]), dec(&piece["price"]));
    assert_eq!(
        nr["sale"]["overrides"][0]["action"],
        "refund_without_receipt"
    );
    assert_eq!(nr["sale"]["overrides"][0]["approved_by"], "9001");
    let unreceipted_refund = dec(&nr["sale"]["tenders"][0]["applied"]);

    // Park, list, resume, void a cart.
    let c2 = api.ok("POST", "/carts", None);
    let id2 = c2["cart_id"].as_str().expect("id").to_string();
    api.ok(
        "POST",
        &format!("/carts/{id2}/scan"),
        Some(json!({"code": code})),
    );
    api.ok(
        "POST",
        &format!("/carts/{id2}/park"),
        Some(json!({"label": "顾客去拿钱包"})),
    );
    api.err(
        "POST",
        &format!("/carts/{id2}/scan"),
        Some(json!({"code": code})),
        StatusCode::CONFLICT,
        "cart_parked",
    );
    let parked = api.ok("GET", "/carts?status=parked", None);
    assert_eq!(parked[0]["label"], "顾客去拿钱包");
    api.ok("POST", &format!("/carts/{id2}/resume"), None);
    api.ok("DELETE", &format!("/carts/{id2}"), None);

    // Drawer: no-sale needs a manager; paid-out is recorded.
    api.err(
        "POST",
        "/shift/no-sale",
        Some(json!({"reason": "change for a note"})),
        StatusCode::FORBIDDEN,
        "approval_required",
    );
    api.ok(
        "POST",
        "/shift/no-sale",
        Some(
            json!({"reason": "change for a note", "approval": {"user_id": "9001", "pin": "9999"}}),
        ),
    );
    let paid_out = json!({"amount": "50.00", "reason": "cleaning supplies", "request_id": "po-1"});
    let first = api.ok("POST", "/shift/paid-out", Some(paid_out.clone()));
    let second = api.ok("POST", "/shift/paid-out", Some(paid_out));
    assert_eq!(first["movement_id"], second["movement_id"]);
    // Amounts past 99,999,999.99 and malformed addresses are clear 400s, never a 500.
    api.err(
        "POST",
        "/shift/paid-in",
        Some(json!({"amount": "100000000", "reason": "x"})),
        StatusCode::BAD_REQUEST,
        "invalid_amount",
    );
    api.err(
        "GET",
        "/products?q=milk&limit=many",
        None,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
    api.err(
        "GET",
        "/reports/z/latest",
        None,
        StatusCode::BAD_REQUEST,
        "invalid_path",
    );
    api.err(
        "POST",
        "/shift/paid-out",
        Some(json!({"amount": "-5", "reason": "x"})),
        StatusCode::BAD_REQUEST,
        "invalid_amount",
    );

    // A second sale, post-voided by the manager.
    let c3 = api.ok("POST", "/carts", None);
    let id3 = c3["cart_id"].as_str().expect("id").to_string();
    api.ok(
        "POST",
        &format!("/carts/{id3}/scan"),
        Some(json!({"code": code})),
    );
    api.ok(
        "POST",
        &format!("/carts/{id3}/tenders"),
        Some(json!({"kind": "card", "reference": "A1"})),
    );
    let r3 = api.ok("POST", &format!("/carts/{id3}/complete"), None);
    let r3_no = r3["sale"]["receipt_no"].as_str().expect("no").to_string();
    api.err(
        "POST",
        &format!("/sales/{r3_no}/void"),
        Some(json!({"reason": "wrong item"})),
        StatusCode::FORBIDDEN,
        "approval_required",
    );
    api.login("9001", "9999");
    api.ok(
        "POST",
        &format!("/sales/{r3_no}/void"),
        Some(json!({"reason": "wrong item"})),
    );
    api.err(
        "POST",
        &format!("/sales/{r3_no}/void"),
        Some(json!({"reason": "again"})),
        StatusCode::CONFLICT,
        "already_voided",
    );

    // X report: one sale, one return, one voided sale; expected cash.
    let x = api.ok("GET", "/reports/x", None);
    assert_eq!(x["kind"], "x");
    assert_eq!(x["sales_count"], 1);
    assert_eq!(x["returns_count"], 2);
    assert_eq!(x["voided_count"], 1);
    assert_eq!(x["no_sale_count"], 1);
    let cash_row = x["tenders"]
        .as_array()
        .expect("tenders")
        .iter()
        .find(|t| t["kind"] == "cash")
        .cloned()
        .expect("cash row");
    let expected = Decimal::from(500) + dec(&cash_row["sales"])
        - dec(&cash_row["refunds"])
        - Decimal::from(50);
    assert_eq!(dec(&x["cash"]["expected"]), expected);
    let ret_cash: Decimal = ret["sale"]["tenders"]
        .as_array()
        .expect("tenders")
        .iter()
        .filter(|t| t["kind"] == "cash")
        .map(|t| dec(&t["applied"]))
        .sum();
    assert_eq!(dec(&cash_row["refunds"]), ret_cash + unreceipted_refund);
    assert_eq!(
        dec(&x["net_sales"]),
        total - refunded - dec(&nr["sale"]["totals"]["total"])
    );

    // A cart left open over the close cannot take money afterwards.
    let c4 = api.ok("POST", "/carts", None);
    let id4 = c4["cart_id"].as_str().expect("id").to_string();
    api.ok(
        "POST",
        &format!("/carts/{id4}/scan"),
        Some(json!({"code": code})),
    );
    api.err(
        "POST",
        "/shift/close",
        Some(json!({"denominations": [{"value": "-100", "count": 4}]})),
        StatusCode::BAD_REQUEST,
        "invalid_denomination",
    );

    // Close with a count by denomination: Z report #1, immutable and listed.
    let z = api.ok(
        "POST",
        "/shift/close",
        Some(json!({"denominations": [{"value": "100", "count": 4}, {"value": "20", "count": 2}]})),
    );
    assert_eq!(z["z_no"], 1);
    assert_eq!(dec(&z["cash"]["counted"]), Decimal::from(440));
    assert_eq!(dec(&z["cash"]["variance"]), Decimal::from(440) - expected);
    assert_eq!(z["cash"]["denominations"][1]["count"], 2);
    api.err(
        "POST",
        &format!("/carts/{id4}/tenders"),
        Some(json!({"kind": "cash", "amount": "100"})),
        StatusCode::CONFLICT,
        "no_open_shift",
    );
    // An installer configures devices; receipts and reports are not theirs to read.
    api.login("7001", "7777");
    api.err(
        "GET",
        "/reports/z/1",
        None,
        StatusCode::FORBIDDEN,
        "not_permitted",
    );
    api.err(
        "GET",
        &format!("/sales/{receipt_no}/receipt"),
        None,
        StatusCode::FORBIDDEN,
        "not_permitted",
    );
    api.login("9001", "9999");
    assert_eq!(api.ok("GET", "/reports/z/1", None)["z_no"], 1);
    assert_eq!(api.ok("GET", "/shift", None), Value::Null);
    let j = api.ok("GET", "/journal/verify", None);
    assert_eq!(j["ok"], true);
    // shift open, sale, return, unreceipted return, no-sale, paid-out, sale, void, Z — and a
    // stock movement per line moved: the first sale's 3 lines, the return's 1, the
    // unreceipted return's 1, the second sale's 1 and its void's 1.
    assert_eq!(j["entries"], 9 + 7);
}

#[test]
fn every_documented_route_exists() {
    let mut api = Api::start();
    api.login("9001", "9999");
    let doc = api.ok("GET", "/openapi.json", None);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    let mut checked = 0;
    for (path, ops) in paths {
        for method in ops.as_object().expect("ops").keys() {
            let concrete = path
                .trim_start_matches("/api/v1")
                .replace("{z_no}", "1")
                .replace('{', "x")
                .replace('}', "");
            let (status, body) = api.call(&method.to_uppercase(), &concrete, Some(json!({})));
            let fell_through =
                status == StatusCode::NOT_FOUND && body["error"]["code"] == "no_such_endpoint";
            let wrong_method = status == StatusCode::METHOD_NOT_ALLOWED;
            assert!(
                !fell_through && !wrong_method,
                "{method} {path} is documented but not routed ({status})"
            );
            assert_ne!(
                status,
                StatusCode::INTERNAL_SERVER_ERROR,
                "{method} {path}: {body}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, tillstone_terminal::openapi::ROUTES.len());
}

#[test]
fn the_web_ui_is_served_beside_the_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    tillstone_tests::init_demo(&dir.path().join("data")).expect("demo");
    let ui = dir.path().join("ui");
    std::fs::create_dir_all(ui.join("assets")).expect("ui dir");
    std::fs::write(
        ui.join("index.html"),
        "<!doctype html><title>Tillstone</title>",
    )
    .expect("index");
    std::fs::write(ui.join("assets/app.js"), "console.log(1)").expect("js");
    let terminal = Arc::new(Terminal::open(&dir.path().join("data")).expect("terminal"));
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = std_listener.local_addr().expect("addr");
    std_listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
            tillstone_terminal::serve_with_ui(terminal, listener, Some(ui))
                .await
                .expect("serve");
        });
    });
    let client = Client::new();
    let get = |path: &str| {
        let r = client
            .get(format!("http://{addr}{path}"))
            .send()
            .expect("request");
        (r.status(), r.text().expect("body"))
    };
    assert!(get("/").1.contains("<title>Tillstone</title>"));
    assert_eq!(get("/assets/app.js").1, "console.log(1)");
    assert!(
        get("/sale/123").1.contains("<title>Tillstone</title>"),
        "client routes get the app"
    );
    let (status, body) = get("/api/v1/nope");
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body.contains("no_such_endpoint"),
        "the API keeps its JSON errors: {body}"
    );
    assert_eq!(get("/api/v1/health").0, StatusCode::OK);
}

/// Loyalty over HTTP: the member with tier and next tier, the coupon wallet against a cart,
/// points paying part of the sale, and the point history.
#[test]
fn loyalty_over_http() {
    let mut api = Api::start();
    api.login("1001", "1111");
    api.ok("POST", "/shift/open", Some(json!({"float": "200.00"})));
    let m = api.ok("GET", "/members/M000001", None);
    assert_eq!(
        (m["tier"].as_str(), m["points"].as_i64()),
        (Some("gold"), Some(12_800))
    );
    assert_eq!(m["lifetime_points"], 12_800);
    let cart = api.ok("POST", "/carts", None);
    let id = cart["cart_id"].as_str().expect("cart id").to_string();
    let sku: String = {
        let found = api.ok("GET", "/products?q=a&limit=100", None);
        found
            .as_array()
            .expect("products")
            .iter()
            .find(|p| p["unit"] == "piece" && dec(&p["price"]) >= Decimal::from(30))
            .and_then(|p| p["sku"].as_str())
            .expect("a product of 30.00 or more")
            .to_string()
    };
    api.ok(
        "POST",
        &format!("/carts/{id}/lines"),
        Some(json!({"sku": sku, "qty": "2"})),
    );
    // Points without a member: refused with its code.
    api.err(
        "POST",
        &format!("/carts/{id}/tenders"),
        Some(json!({"kind": "points", "points": 500})),
        StatusCode::CONFLICT,
        "points_need_member",
    );
    api.ok(
        "POST",
        &format!("/carts/{id}/member"),
        Some(json!({"member_id": "M000001"})),
    );
    // The demo wallet: three coupons; against this cart the ¥5-off-50 ones apply.
    let wallet = api.ok("GET", &format!("/members/M000001/coupons?cart={id}"), None);
    let wallet = wallet.as_array().expect("wallet");
    assert_eq!(wallet.len(), 3);
    assert_eq!(wallet[0]["status"], "applies", "{wallet:?}");
    assert_eq!(dec(&wallet[0]["amount"]), Decimal::from(5));
    let code = wallet[0]["code"].as_str().expect("code").to_string();
    api.ok(
        "POST",
        &format!("/carts/{id}/coupons"),
        Some(json!({"code": code})),
    );
    let cart = api.ok(
        "POST",
        &format!("/carts/{id}/tenders"),
        Some(json!({"kind": "points", "points": 800})),
    );
    let pts = cart["tenders"]
        .as_array()
        .expect("tenders")
        .iter()
        .find(|t| t["kind"] == "points")
        .expect("points tender")
        .clone();
    assert_eq!(pts["points"], 800);
    assert_eq!(dec(&pts["amount"]), Decimal::from(8));
    api.ok(
        "POST",
        &format!("/carts/{id}/tenders"),
        Some(json!({"kind": "cash"})),
    );
    let receipt = api.ok("POST", &format!("/carts/{id}/complete"), None);
    let earned = receipt["sale"]["member_points"].as_i64().expect("points");
    assert!(earned > 0);
    let after = api.ok("GET", "/members/M000001", None);
    assert_eq!(after["points"].as_i64(), Some(12_800 - 800 + earned));
    let history = api.ok("GET", "/members/M000001/points?limit=10", None);
    let kinds: Vec<&str> = history
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"redeem") && kinds.contains(&"earn"),
        "{kinds:?}"
    );
    let wallet = api.ok("GET", "/members/M000001/coupons", None);
    assert_eq!(wallet[0]["status"], "already_used", "{wallet}");
    api.err(
        "GET",
        "/members/M404/points",
        None,
        StatusCode::NOT_FOUND,
        "member_not_found",
    );
}
