#![cfg(unix)]
//! `tillstone-cloud serve --tls-cert FILE --tls-key FILE`: the binary serves HTTPS with a
//! certificate of HQ's own CA (made here with rcgen), refuses unusable files with a clear
//! message before listening, and stops gracefully on SIGTERM. (Terminals syncing over HTTPS end
//! to end: `tests/tests/sync_tls.rs` of tillstone-tests.)

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use std::io::BufRead;
use std::process::{Command, Stdio};

fn cloud() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tillstone-cloud"))
}

/// (CA PEM, certificate chain file, key file) for 127.0.0.1.
fn pki(dir: &std::path::Path) -> (String, std::path::PathBuf, std::path::PathBuf) {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Tillstone test HQ CA");
    let ca_cert = ca.self_signed(&ca_key).expect("CA");
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .expect("params")
        .signed_by(&key, &ca_cert, &ca_key)
        .expect("certificate");
    let (c, k) = (dir.join("hq.pem"), dir.join("hq.key"));
    std::fs::write(&c, cert.pem() + &ca_cert.pem()).expect("write");
    std::fs::write(&k, key.serialize_pem()).expect("write");
    (ca_cert.pem(), c, k)
}

#[test]
fn the_binary_serves_https_with_its_own_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, cert, key) = pki(dir.path());
    let db = format!("sqlite:{}", dir.path().join("hq.db").display());
    let mut child = cloud()
        .args([
            "--db",
            &db,
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
        ])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn tillstone-cloud");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the address");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("no address: {line:?}"))
        .to_string();
    let trusting = reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).expect("CA"))
        .build()
        .expect("client");
    let body = trusting
        .get(format!("https://{addr}/healthz"))
        .send()
        .and_then(|r| r.text());
    // Plain http on the TLS port gets no HTTP answer; a client without the CA is refused.
    let plain = reqwest::blocking::Client::new()
        .get(format!("http://{addr}/healthz"))
        .timeout(std::time::Duration::from_secs(5))
        .send();
    let untrusting = reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .build()
        .expect("client")
        .get(format!("https://{addr}/healthz"))
        .send();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    let status = child.wait().expect("wait");
    assert_eq!(body.expect("https answer"), "ok");
    assert!(plain.is_err(), "{plain:?}");
    let e = untrusting.expect_err("an unknown CA");
    let mut chain = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        chain.push_str(&format!(": {s}"));
        src = s.source();
    }
    assert!(chain.contains("UnknownIssuer"), "{chain}");
    assert!(killed.success() && status.success(), "{status:?}");
}

#[test]
fn unusable_tls_files_are_refused_before_listening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite:{}", dir.path().join("hq.db").display());
    let run = |args: &[&str]| {
        let out = cloud()
            .args(["--db", &db, "serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .output()
            .expect("run tillstone-cloud");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().expect("utf-8 path");
    let (ok, err) = run(&["--tls-cert", missing, "--tls-key", missing]);
    assert!(
        !ok && err.contains("cannot read the TLS certificate"),
        "{err}"
    );
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").expect("write");
    let not_pem = not_pem.to_str().expect("utf-8 path");
    let (ok, err) = run(&["--tls-cert", not_pem, "--tls-key", not_pem]);
    assert!(!ok && err.contains("holds no certificate"), "{err}");
    let (_, cert, _) = pki(dir.path());
    let cert = cert.to_str().expect("utf-8 path");
    let (ok, err) = run(&["--tls-cert", cert, "--tls-key", cert]);
    assert!(!ok && err.contains("private key"), "{err}");
    // Both or neither.
    let (ok, err) = run(&["--tls-cert", cert]);
    assert!(!ok && err.contains("--tls-key"), "{err}");
}
