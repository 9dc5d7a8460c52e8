//! The `tillstone` binary as an installer or manager uses it.

use std::path::Path;
use std::process::{Command, Output};

fn tillstone(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tillstone"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("tillstone runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn data(dir: &Path) -> String {
    dir.join("t").display().to_string()
}

#[test]
fn init_import_report_and_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = data(dir.path());
    let o = tillstone(&["init", "--data", &d, "--demo"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("products imported: 2000"), "{}", text(&o));
    let again = tillstone(&["init", "--data", &d, "--demo"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again).contains("already holds a terminal"),
        "{}",
        text(&again)
    );

    // A file with bad rows: the good rows are kept, every bad one is named by line.
    let csv = dir.path().join("update.csv");
    std::fs::write(
        &csv,
        "sku,name,name_en,category,tax_class,unit,price,barcodes\n\
         NEW001,新品一,New One,饮料,standard,piece,3.50,6900000000011\n\
         NEW002,新品二,New Two,饮料,nosuchtax,piece,3.50,\n\
         NEW003,新品三,New Three,饮料,standard,piece,12;5,\n\
         NEW004,新品四,New Four,饮料,standard,piece,8.00,\n",
    )
    .expect("write csv");
    let o = tillstone(&[
        "import",
        "catalog",
        csv.to_str().expect("utf8"),
        "--data",
        &d,
        "--all-or-nothing",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("line 3"), "{}", text(&o));
    assert!(text(&o).contains("line 4"), "{}", text(&o));
    assert!(text(&o).contains("nothing was imported"), "{}", text(&o));
    let o = tillstone(&[
        "import",
        "catalog",
        csv.to_str().expect("utf8"),
        "--data",
        &d,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("imported 2 of 4 rows"), "{}", text(&o));

    // No shift yet: the X report says what to do.
    let o = tillstone(&["report", "x", "--data", &d]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("open a shift"), "{}", text(&o));
    let o = tillstone(&["report", "z", "--data", &d]);
    assert!(text(&o).contains("no Z report yet"), "{}", text(&o));

    let o = tillstone(&["journal", "verify", "--data", &d]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).starts_with("OK: 0 entries"), "{}", text(&o));
}

#[test]
fn verify_reports_a_tampered_journal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = data(dir.path());
    assert!(
        tillstone(&["init", "--data", &d, "--demo"])
            .status
            .success()
    );
    {
        let t = tillstone_terminal::Terminal::open(Path::new(&d)).expect("open");
        let s = t.login("1001", "1111").expect("login");
        t.open_shift(&s, rust_decimal::Decimal::from(100))
            .expect("shift");
        t.cash_movement(
            &s,
            tillstone_store::shifts::MovementKind::PaidIn,
            rust_decimal::Decimal::from(20),
            "float top-up",
            None,
            None,
        )
        .expect("paid in");
    }
    let o = tillstone(&["report", "x", "--data", &d, "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let x: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(x["cash"]["expected"], "120.00");
    let o = tillstone(&["report", "z", "--data", &d, "--close", "118.50"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("Z REPORT #1"), "{}", text(&o));
    assert!(text(&o).contains("variance -1.50"), "{}", text(&o));
    let o = tillstone(&["journal", "verify", "--data", &d]);
    assert!(text(&o).starts_with("OK: 3 entries"), "{}", text(&o));

    let store = open_store(&d);
    store.connection().execute_batch("DROP TRIGGER journal_no_update; UPDATE journal SET at = '2020-01-01T00:00:00+00:00' WHERE seq = 2;")
        .expect("tamper");
    let o = tillstone(&["journal", "verify", "--data", &d]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("BROKEN at entry 2"), "{}", text(&o));
}

fn open_store(d: &str) -> tillstone_store::Store {
    tillstone_store::Store::open(Path::new(d).join("tillstone.db")).expect("store")
}

#[test]
fn members_coupons_and_promotions_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = data(dir.path());
    assert!(
        tillstone(&["init", "--data", &d, "--demo"])
            .status
            .success()
    );

    let o = tillstone(&["members", "search", "1234", "--data", &d]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("张伟") && text(&o).contains("138****1234"),
        "{}",
        text(&o)
    );
    assert!(!text(&o).contains("13812341234"), "phones are masked");

    let code =
        tillstone_core::coupon::sign(1001, 42, None, &tillstone_terminal::setup::demo_issuer())
            .expect("sign")
            .encode();
    let o = tillstone(&["coupons", "check", &code, "--data", &d]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("campaign 1001") && text(&o).contains("serial 42"),
        "{}",
        text(&o)
    );
    let o = tillstone(&["coupons", "check", "TC1.AAAA", "--data", &d]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).starts_with("refused:"), "{}", text(&o));

    let rules = dir.path().join("rules.json");
    std::fs::write(
        &rules,
        r#"[{"id":"X","name":"全场9折","benefit":{"kind":"percent_off","scope":"order","percent":"10"}}]"#,
    )
    .expect("rules");
    let o = tillstone(&[
        "import",
        "promotions",
        rules.to_str().expect("utf8"),
        "--data",
        &d,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("1 promotion rules in force"),
        "{}",
        text(&o)
    );
    std::fs::write(
        &rules,
        r#"[{"id":"","name":"x","benefit":{"kind":"percent_off","scope":"order","percent":"10"}}]"#,
    )
    .expect("rules");
    let o = tillstone(&[
        "import",
        "promotions",
        rules.to_str().expect("utf8"),
        "--data",
        &d,
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "an invalid rule is refused: {}",
        text(&o)
    );
}

#[test]
fn receipt_preview_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = data(dir.path());
    assert!(
        tillstone(&["init", "--data", &d, "--demo"])
            .status
            .success()
    );
    let receipt_no = {
        let t = tillstone_terminal::Terminal::open(Path::new(&d)).expect("open");
        let s = t.login("1001", "1111").expect("login");
        t.open_shift(&s, rust_decimal::Decimal::from(100))
            .expect("shift");
        let cart = t.new_cart(&s).expect("cart");
        let sku = t.search_products("牛奶", 1).expect("search")[0].sku.clone();
        t.add_sku(&s, &cart.cart_id, &sku, rust_decimal::Decimal::ONE)
            .expect("add");
        t.add_tender(
            &s,
            &cart.cart_id,
            tillstone_core::tender::TenderKind::Cash,
            None,
            None,
        )
        .expect("cash");
        t.complete(&s, &cart.cart_id)
            .expect("complete")
            .sale
            .ctx
            .receipt_no
    };
    let out = dir.path().join("r.png");
    let o = tillstone(&[
        "receipt",
        "preview",
        &receipt_no,
        "--out",
        out.to_str().expect("utf8"),
        "--data",
        &d,
        "--paper",
        "mm58",
        "--lang",
        "en",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let png = std::fs::read(&out).expect("png");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let o = tillstone(&[
        "receipt",
        "preview",
        "NOPE-1",
        "--out",
        "/tmp/x.png",
        "--data",
        &d,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("no receipt NOPE-1"), "{}", text(&o));
}
