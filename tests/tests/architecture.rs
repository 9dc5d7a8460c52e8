//! Architecture rules that must stay true (ARCHITECTURE.md): `tillstone-core` does no IO and
//! reads no clock.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

/// Crates that mean IO (files, network, database, devices, async runtime) or a clock.
const FORBIDDEN_IN_CORE: &[&str] = &[
    "rusqlite",
    "libsqlite3-sys",
    "tokio",
    "mio",
    "socket2",
    "hyper",
    "axum",
    "reqwest",
    "serialport",
    "tauri",
    "postgres",
    "sqlx",
    "getrandom",
    "rand",
    "iana-time-zone",
    "tracing-subscriber",
];

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
}

#[test]
fn core_depends_on_no_io_crate() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "tree",
            "-p",
            "tillstone-core",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    let names: BTreeSet<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        names.contains("rust_decimal"),
        "cargo tree output looks wrong: {names:?}"
    );
    let bad: Vec<&&str> = FORBIDDEN_IN_CORE
        .iter()
        .filter(|c| names.contains(**c))
        .collect();
    assert!(
        bad.is_empty(),
        "tillstone-core depends on IO crates: {bad:?}"
    );
}

#[test]
fn core_source_touches_no_io_and_no_clock() {
    let forbidden = [
        "std::fs",
        "std::net",
        "std::process",
        "std::env",
        "std::io",
        "std::thread",
        "SystemTime",
        "Instant",
        "Utc::now",
        "Local::now",
        "now_v7",
        "new_v4",
        "thread_rng",
        "println!",
        "eprintln!",
    ];
    let mut hits: HashMap<String, Vec<&str>> = HashMap::new();
    let src = workspace_root().join("core/src");
    let mut files = 0;
    for entry in std::fs::read_dir(&src).expect("core/src exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).expect("readable source");
        for f in forbidden {
            if text.contains(f) {
                hits.entry(path.display().to_string()).or_default().push(f);
            }
        }
    }
    assert!(files >= 5, "expected the core sources in {}", src.display());
    assert!(hits.is_empty(), "core does IO or reads a clock: {hits:?}");
}
