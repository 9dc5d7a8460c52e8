//! A real `tillstone` API on a real socket over a demo store in a temporary directory, driven
//! with reqwest: the harness of the HTTP end-to-end tests.
#![allow(dead_code)]

use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use tillstone_terminal::app::Terminal;

pub const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

pub struct Api {
    pub base: String,
    client: Client,
    pub token: Option<String>,
    pub dir: tempfile::TempDir,
}

impl Api {
    /// A demo terminal on a real socket.
    pub fn start() -> Api {
        Api::start_with(None)
    }

    /// [`Api::start`], writing `devices(dir)` to devices.toml first.
    pub fn start_with(devices: Option<&dyn Fn(&Path) -> String>) -> Api {
        let dir = tempfile::tempdir().expect("tempdir");
        tillstone_tests::init_demo(dir.path()).expect("demo store");
        if let Some(f) = devices {
            std::fs::write(dir.path().join("devices.toml"), f(dir.path())).expect("devices.toml");
        }
        let terminal = Arc::new(Terminal::open(dir.path()).expect("terminal opens"));
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = std_listener.local_addr().expect("addr");
        std_listener.set_nonblocking(true).expect("nonblocking");
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
                tillstone_terminal::serve_on(terminal, listener)
                    .await
                    .expect("serve");
            });
        });
        Api {
            base: format!("http://{addr}/api/v1"),
            client: Client::new(),
            token: None,
            dir,
        }
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::blocking::Response {
        let url = format!("{}{}", self.base, path);
        let mut req = match method {
            "GET" => self.client.get(&url),
            "POST" => self.client.post(&url),
            "PATCH" => self.client.patch(&url),
            "DELETE" => self.client.delete(&url),
            "PUT" => self.client.put(&url),
            m => panic!("method {m}"),
        };
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().expect("request")
    }

    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let resp = self.send(method, path, body);
        let status = resp.status();
        let text = resp.text().expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    pub fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (s, v) = self.call(method, path, body);
        assert_eq!(s, StatusCode::OK, "{method} {path}: {v}");
        v
    }

    /// The request fails with `status` and `code`, and an actionable message.
    pub fn err(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        status: StatusCode,
        code: &str,
    ) -> Value {
        let (s, v) = self.call(method, path, body);
        assert_eq!(s, status, "{method} {path}: {v}");
        assert_eq!(v["error"]["code"], code, "{method} {path}: {v}");
        assert!(
            v["error"]["message"].as_str().is_some_and(|m| m.len() > 10),
            "an actionable message: {v}"
        );
        v
    }

    /// A PNG answer.
    pub fn png(&self, path: &str) -> Vec<u8> {
        let resp = self.send("GET", path, None);
        assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
        assert_eq!(
            resp.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("image/png")
        );
        let bytes = resp.bytes().expect("png").to_vec();
        assert!(bytes.starts_with(PNG_MAGIC), "{path} is a PNG");
        bytes
    }

    pub fn login(&mut self, user: &str, pin: &str) {
        self.token = None;
        let v = self.ok("POST", "/login", Some(json!({"user_id": user, "pin": pin})));
        self.token = v["token"].as_str().map(str::to_string);
    }
}
