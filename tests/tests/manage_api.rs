//! The manager and installer endpoints of the web UI (terminal/src/api_manage.rs) over real HTTP:
//! X / Z reports printed through the real print queue to a file printer and drawn as PNG, the
//! devices screen, devices.toml validation and saving, device tests and their refusals.

mod http;

use http::Api;

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tillstone_terminal::app::Terminal;

trait Sell {
    fn sell(&self) -> String;
}

impl Sell for Api {
    /// One cash sale of a demo product; returns its receipt number.
    fn sell(&self) -> String {
        let cart = self.ok("POST", "/carts", None);
        let id = cart["cart_id"].as_str().expect("cart id").to_string();
        let scan = self.ok(
            "POST",
            &format!("/carts/{id}/scan"),
            Some(json!({"code": "6972287967632"})),
        );
        assert_eq!(scan["outcome"], "added", "{scan}");
        self.ok(
            "POST",
            &format!("/carts/{id}/tenders"),
            Some(json!({"kind": "cash", "amount": "100"})),
        );
        let r = self.ok("POST", &format!("/carts/{id}/complete"), None);
        r["sale"]["receipt_no"].as_str().expect("receipt").into()
    }
}

fn printer_file(dir: &Path) -> PathBuf {
    dir.join("printer.bin")
}

fn file_printer(dir: &Path) -> String {
    format!(
        "[printer]\ntransport = \"file\"\npath = \"{}\"\npaper = \"mm80\"\n",
        printer_file(dir).display()
    )
}

fn gb18030(text: &str) -> Vec<u8> {
    encoding_rs::GB18030.encode(text).0.into_owned()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn wait_printed(file: &Path, needle: &[u8]) {
    let start = Instant::now();
    loop {
        let bytes = std::fs::read(file).unwrap_or_default();
        if contains(&bytes, needle) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {:?} in {}",
            String::from_utf8_lossy(needle),
            file.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn reports_print_on_the_receipt_printer_and_preview_as_png() {
    let mut api = Api::start_with(Some(&file_printer));
    let file = printer_file(api.dir.path());
    api.login("1001", "1111");
    api.ok("POST", "/shift/open", Some(json!({"float": "500"})));
    let receipt = api.sell();
    wait_printed(&file, receipt.as_bytes());

    // X report: queued on the printer, printed in the language asked for.
    let view = api.ok("POST", "/reports/x/print?lang=zh", None);
    assert_eq!(view["configured"], true, "{view}");
    wait_printed(&file, &gb18030("X 报表"));
    wait_printed(&file, &gb18030("净销售额"));
    api.ok("POST", "/reports/x/print?lang=en", None);
    wait_printed(&file, b"NET SALES");
    let x = api.png("/reports/x/preview.png?lang=en&paper=mm58");
    assert!(x.len() > 1000);
    api.err(
        "POST",
        "/reports/x/print?lang=fr",
        None,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );

    // Close the shift: its Z report prints again by number, and unknown numbers are refused.
    api.ok("POST", "/shift/close", Some(json!({"counted": "516.90"})));
    api.err(
        "POST",
        "/reports/x/print",
        None,
        StatusCode::CONFLICT,
        "no_open_shift",
    );
    let zs = api.ok("GET", "/reports/z", None);
    let z_no = zs[0]["z_no"].as_u64().expect("z number");
    api.ok("POST", &format!("/reports/z/{z_no}/print?lang=en"), None);
    wait_printed(&file, format!("Z REPORT #{z_no}").as_bytes());
    wait_printed(&file, b"Variance");
    api.png(&format!("/reports/z/{z_no}/preview.png"));
    api.err(
        "POST",
        "/reports/z/999/print",
        None,
        StatusCode::NOT_FOUND,
        "z_not_found",
    );
    api.err(
        "GET",
        "/reports/z/abc/preview.png",
        None,
        StatusCode::BAD_REQUEST,
        "invalid_path",
    );

    // Installers may test the printer but not see sales reports.
    api.login("7001", "7777");
    api.err(
        "POST",
        &format!("/reports/z/{z_no}/print"),
        None,
        StatusCode::FORBIDDEN,
        "not_permitted",
    );
    api.ok("POST", "/devices/printer/test", None);
    wait_printed(&file, b"TILLSTONE-TEST");
    api.png("/devices/printer/test.png?paper=mm58");
}

#[test]
fn without_devices_every_test_says_what_to_set_up() {
    let mut api = Api::start_with(None);
    api.err(
        "GET",
        "/devices",
        None,
        StatusCode::UNAUTHORIZED,
        "not_signed_in",
    );
    api.login("1001", "1111");
    api.ok("POST", "/shift/open", Some(json!({"float": "0"})));
    api.err(
        "POST",
        "/reports/x/print",
        None,
        StatusCode::CONFLICT,
        "no_printer",
    );
    // Cashiers do not configure devices.
    api.err(
        "GET",
        "/devices",
        None,
        StatusCode::FORBIDDEN,
        "not_permitted",
    );
    api.err(
        "PUT",
        "/devices/config",
        Some(json!({"toml": ""})),
        StatusCode::FORBIDDEN,
        "not_permitted",
    );

    api.login("7001", "7777");
    let v = api.ok("GET", "/devices", None);
    assert!(v["discovered"].is_array(), "{v}");
    assert_eq!(v["config_text"], Value::Null);
    assert_eq!(v["printer"]["configured"], false);
    assert_eq!(v["restart_required"], false);
    assert!(
        v["example"]
            .as_str()
            .is_some_and(|e| e.contains("[printer]"))
    );
    api.err(
        "POST",
        "/devices/printer/test",
        None,
        StatusCode::CONFLICT,
        "no_printer",
    );
    api.err(
        "POST",
        "/devices/display/test",
        None,
        StatusCode::CONFLICT,
        "no_display",
    );
    api.err(
        "GET",
        "/devices/scale",
        None,
        StatusCode::CONFLICT,
        "scale_unavailable",
    );
    api.err(
        "GET",
        "/devices/scanner/next?timeout_ms=10",
        None,
        StatusCode::CONFLICT,
        "scanner_unavailable",
    );
    // The test page still previews (80 mm when no printer is set up).
    api.png("/devices/printer/test.png");
}

#[test]
fn devices_toml_is_validated_before_it_is_saved() {
    let mut api = Api::start_with(None);
    api.login("9001", "9999");
    let path = api.dir.path().join("devices.toml");

    // Every problem is listed, nothing is written.
    let (s, v) = api.call(
        "PUT",
        "/devices/config",
        Some(json!({"toml": "[scale]\npath = \"ttyUSB0\"\nbaud = 1234\nprotocol = \"toledo8217\"\n"})),
    );
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["code"], "invalid_devices_config");
    let msg = v["error"]["message"].as_str().expect("message");
    assert!(
        msg.contains("scale.path") && msg.contains("scale.baud"),
        "{msg}"
    );
    assert!(!path.exists());
    api.err(
        "PUT",
        "/devices/config",
        Some(json!({"toml": "[printer\n"})),
        StatusCode::BAD_REQUEST,
        "invalid_devices_config",
    );
    api.err(
        "PUT",
        "/devices/config",
        Some(json!({"text": "x"})),
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );

    // A valid file is saved whole and used at once.
    let text = format!(
        "[printer]\ntransport = \"file\"\npath = \"{}\"\npaper = \"mm58\"\n\n[display]\npath = \"/dev/ttyUSB9\"\nbaud = 9600\n",
        printer_file(api.dir.path()).display()
    );
    let v = api.ok("PUT", "/devices/config", Some(json!({"toml": text})));
    assert_eq!(std::fs::read_to_string(&path).expect("saved"), text);
    assert_eq!(v["config_text"], text.as_str());
    assert_eq!(v["config_problems"], Value::Null);
    assert_eq!(v["profiles"]["printer"]["paper"], "mm58", "{v}");
    assert_eq!(v["restart_required"], false, "{v}");
    assert!(
        v["active"]["printer"]
            .as_str()
            .is_some_and(|p| p.starts_with("file ")),
        "{v}"
    );
    assert_eq!(v["active"]["display"], "/dev/ttyUSB9");

    // A restart runs with it too.
    let t = Terminal::open(api.dir.path()).expect("reopen");
    let s = t.login("9001", "9999").expect("login");
    let view = t.devices_overview(&s).expect("overview");
    assert!(!view.restart_required);
    assert!(
        view.active
            .printer
            .as_deref()
            .is_some_and(|p| p.starts_with("file ")),
        "{:?}",
        view.active
    );
    assert_eq!(view.active.display.as_deref(), Some("/dev/ttyUSB9"));

    // A broken file on disk is reported with its problems (the till keeps selling).
    std::fs::write(&path, "[scanner]\npath = \"\"\n").expect("write");
    let v = api.ok("GET", "/devices", None);
    assert!(
        v["config_problems"]
            .as_str()
            .is_some_and(|p| p.contains("scanner.path")),
        "{v}"
    );
    assert_eq!(v["profiles"], Value::Null);
}
