//! The shell's commands through Tauri's mock runtime (real IPC handling, no window system),
//! against a real SQLite demo store in a temporary directory.

use serde_json::{Value, json};
use std::path::Path;
use std::time::Instant;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};
use tillstone_desktop::{MAIN_WINDOW, Options, Shell, open_terminal, register};

/// A demo barcode (in the demo catalog, like the web e2e test scans).
const DEMO_BARCODE: &str = "6972287967632";
/// A valid EAN-13 that is not in the demo catalog.
const UNKNOWN_BARCODE: &str = "4006381333931";

struct Till {
    _app: App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
    _dir: tempfile::TempDir,
}

fn till() -> Till {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("demo");
    let terminal = open_terminal(&data).expect("demo store created and opened");
    let opts = Options {
        data_dir: data,
        kiosk: false,
    };
    let shell = Shell::new(terminal, &opts, Instant::now());
    let app = register(mock_builder(), shell)
        .build(mock_context(noop_assets()))
        .expect("mock app");
    let window = WebviewWindowBuilder::new(&app, MAIN_WINDOW, Default::default())
        .build()
        .expect("mock window");
    Till {
        _app: app,
        window,
        _dir: dir,
    }
}

/// Invoke `cmd` as the UI does (from `tauri://localhost`); Ok(answer) or Err(the error value).
fn invoke(t: &Till, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        &t.window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().expect("url"),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().expect("JSON answer"))
}

fn api(
    t: &Till,
    method: &str,
    path: &str,
    body: Value,
    token: Option<&str>,
) -> Result<Value, Value> {
    invoke(
        t,
        "api",
        json!({"method": method, "path": path, "body": body, "token": token}),
    )
}

/// The `body` of a successful `api` answer (asserting its status).
fn ok_body(answer: Result<Value, Value>, status: u64) -> Value {
    let answer = answer.unwrap_or_else(|e| panic!("expected success, got error {e}"));
    assert_eq!(answer["status"], status, "{answer}");
    answer["body"].clone()
}

fn login(t: &Till, user: &str, pin: &str) -> String {
    let body = ok_body(
        api(
            t,
            "POST",
            "/login",
            json!({"user_id": user, "pin": pin}),
            None,
        ),
        200,
    );
    body["token"].as_str().expect("token").to_string()
}

fn assert_error(err: Value, kind: &str, code: &str, status: u64) {
    assert_eq!(err["kind"], kind, "{err}");
    assert_eq!(err["code"], code, "{err}");
    assert_eq!(err["status"], status, "{err}");
    assert!(
        err["message"].as_str().is_some_and(|m| !m.is_empty()),
        "an error has a message: {err}"
    );
}

#[test]
fn cashier_logs_in_opens_a_shift_and_scans_a_demo_barcode() {
    let t = till();
    let users = ok_body(api(&t, "GET", "/users", Value::Null, None), 200);
    assert!(
        users
            .as_array()
            .is_some_and(|u| u.iter().any(|u| u["user_id"] == "1001")),
        "{users}"
    );
    let token = login(&t, "1001", "1111");
    let shift = ok_body(
        api(
            &t,
            "POST",
            "/shift/open",
            json!({"float": "500.00"}),
            Some(&token),
        ),
        200,
    );
    assert!(shift["shift_no"].as_u64().is_some(), "{shift}");
    let cart = ok_body(api(&t, "POST", "/carts", Value::Null, Some(&token)), 200);
    let cart_id = cart["cart_id"].as_str().expect("cart id").to_string();
    let scan = ok_body(
        api(
            &t,
            "POST",
            &format!("/carts/{cart_id}/scan"),
            json!({"code": DEMO_BARCODE}),
            Some(&token),
        ),
        200,
    );
    assert_eq!(scan["outcome"], "added", "{scan}");
    assert_eq!(scan["cart"]["lines"].as_array().map(Vec::len), Some(1));

    // An unknown (well-formed) barcode is an outcome the cashier sees, not an error.
    let unknown = ok_body(
        api(
            &t,
            "POST",
            &format!("/carts/{cart_id}/scan"),
            json!({"code": UNKNOWN_BARCODE}),
            Some(&token),
        ),
        200,
    );
    assert_eq!(unknown["outcome"], "not_found", "{unknown}");
}

#[test]
fn a_sale_completes_and_its_receipt_preview_comes_back_as_a_png_data_url() {
    let t = till();
    let token = login(&t, "1001", "1111");
    ok_body(
        api(
            &t,
            "POST",
            "/shift/open",
            json!({"float": "100"}),
            Some(&token),
        ),
        200,
    );
    let cart = ok_body(api(&t, "POST", "/carts", Value::Null, Some(&token)), 200);
    let id = cart["cart_id"].as_str().expect("cart id").to_string();
    ok_body(
        api(
            &t,
            "POST",
            &format!("/carts/{id}/scan"),
            json!({"code": DEMO_BARCODE}),
            Some(&token),
        ),
        200,
    );
    ok_body(
        api(
            &t,
            "POST",
            &format!("/carts/{id}/tenders"),
            json!({"kind": "cash"}),
            Some(&token),
        ),
        200,
    );
    let receipt = ok_body(
        api(
            &t,
            "POST",
            &format!("/carts/{id}/complete"),
            Value::Null,
            Some(&token),
        ),
        200,
    );
    let no = receipt["sale"]["receipt_no"]
        .as_str()
        .expect("receipt no")
        .to_string();

    let png = api(
        &t,
        "GET",
        &format!("/sales/{no}/preview.png?lang=en"),
        Value::Null,
        Some(&token),
    )
    .unwrap_or_else(|e| panic!("preview failed: {e}"));
    assert_eq!(png["content_type"], "image/png");
    let url = png["body"].as_str().expect("a data URL");
    assert!(
        url.starts_with("data:image/png;base64,iVBORw0KGgo"),
        "{}",
        &url[..url.len().min(60)]
    );
}

#[test]
fn a_wrong_pin_is_an_unauthorized_error() {
    let t = till();
    let err = api(
        &t,
        "POST",
        "/login",
        json!({"user_id": "1001", "pin": "0000"}),
        None,
    )
    .expect_err("a wrong PIN must fail");
    assert_error(err, "unauthorized", "wrong_pin", 401);
}

#[test]
fn an_unknown_route_is_a_not_found_error() {
    let t = till();
    let err = api(&t, "GET", "/no/such/route", Value::Null, None).expect_err("404");
    assert_error(err, "not_found", "no_such_endpoint", 404);
}

#[test]
fn signed_out_and_bad_requests_have_their_own_kinds() {
    let t = till();
    let err = api(&t, "GET", "/shift", Value::Null, None).expect_err("needs a session");
    assert_error(err, "unauthorized", "not_signed_in", 401);
    let err = api(&t, "GET", "/shift", Value::Null, Some("not-a-session")).expect_err("bad token");
    assert_eq!(err["kind"], "unauthorized", "{err}");

    // The shell refuses what is not an API request before it reaches the terminal.
    let err = api(&t, "GET", "https://example.com/", Value::Null, None).expect_err("not a path");
    assert_error(err, "bad_request", "invalid_path", 400);
    let err = api(&t, "NOT A METHOD", "/health", Value::Null, None).expect_err("bad method");
    assert_error(err, "bad_request", "invalid_method", 400);
    let err = api(&t, "GET", "/health", Value::Null, Some("line\nbreak")).expect_err("bad token");
    assert_error(err, "bad_request", "invalid_token", 400);

    // A body the API does not accept is the API's own 400.
    let token = login(&t, "1001", "1111");
    let err = api(
        &t,
        "POST",
        "/shift/open",
        json!({"float": "lots"}),
        Some(&token),
    )
    .expect_err("bad float");
    assert_eq!(err["kind"], "bad_request", "{err}");
    assert_eq!(err["status"], 400, "{err}");
}

#[test]
fn app_info_and_ui_ready() {
    let t = till();
    let info = invoke(&t, "app_info", json!({})).expect("app_info");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["kiosk"], false);
    assert_eq!(info["terminal_code"], "T01");
    assert!(
        info["data_dir"]
            .as_str()
            .is_some_and(|d| d.ends_with("demo")),
        "{info}"
    );
    let first = invoke(&t, "ui_ready", json!({})).expect("ui_ready");
    let again = invoke(&t, "ui_ready", json!({})).expect("ui_ready again");
    assert!(first.as_u64().is_some(), "{first}");
    assert_eq!(first, again, "the first ready time is kept");
}

#[test]
fn options_from_args_and_environment() {
    let none = |_: &str| None;
    let o = Options::parse(Vec::<String>::new(), none).expect("defaults");
    assert_eq!(o.data_dir, Path::new("data/demo"));
    assert!(!o.kiosk);
    let env = |k: &str| match k {
        "TILLSTONE_DATA" => Some("/srv/till".to_string()),
        "TILLSTONE_KIOSK" => Some("1".to_string()),
        _ => None,
    };
    let o = Options::parse(Vec::<String>::new(), env).expect("env");
    assert_eq!(o.data_dir, Path::new("/srv/till"));
    assert!(o.kiosk);
    let o = Options::parse(["--data", "x", "--no-kiosk"], env).expect("args win");
    assert_eq!(o.data_dir, Path::new("x"));
    assert!(!o.kiosk);
    let o = Options::parse(["--data=y", "--kiosk"], none).expect("--data=");
    assert_eq!(o.data_dir, Path::new("y"));
    assert!(o.kiosk);
    assert!(Options::parse(["--data"], none).is_err());
}

#[test]
fn one_shell_per_data_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = tillstone_desktop::lock_data_dir(dir.path()).expect("lock");
    assert!(first.is_some(), "the first shell gets the lock");
    let second = tillstone_desktop::lock_data_dir(dir.path()).expect("lock");
    assert!(second.is_none(), "a second shell on the same data must not");
    drop(first);
    assert!(
        tillstone_desktop::lock_data_dir(dir.path())
            .expect("lock")
            .is_some(),
        "the lock ends with its holder"
    );
}
