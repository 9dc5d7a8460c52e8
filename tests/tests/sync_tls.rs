//! Sync over HTTPS (issue 5): `tillstone-cloud` terminating TLS itself with a certificate from
//! HQ's own CA (made here with rcgen). A terminal that was given the CA enrolls, pushes a sale
//! and pulls a product over https; a terminal without the CA gets an error that says what to
//! do, not a raw TLS error; plain http to another machine is refused unless allowed.

mod hub;

use hub::{Hub, now_ms, product};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rust_decimal::Decimal;
use tillstone_cloud::Storage;
use tillstone_core::tender::TenderKind;
use tillstone_sync::{Entity, StoreId};
use tillstone_sync_client::{HttpTransport, SyncClient, SyncConfig, SyncError, TransportOptions};
use tillstone_terminal::app::ScanOutcome;
use tillstone_terminal::sync::HqLink;

/// HQ's CA (PEM) and a server certificate chain + key for 127.0.0.1 / localhost, in `dir`.
fn hq_pki(dir: &std::path::Path) -> (String, std::path::PathBuf, std::path::PathBuf) {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Tillstone test HQ CA");
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let key = KeyPair::generate().expect("server key");
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .expect("server params");
    params
        .distinguished_name
        .push(DnType::CommonName, "hq.test");
    let cert = params
        .signed_by(&key, &ca_cert, &ca_key)
        .expect("server certificate");
    let cert_path = dir.join("hq.pem");
    let key_path = dir.join("hq.key");
    std::fs::write(&cert_path, cert.pem() + &ca_cert.pem()).expect("write certificate");
    std::fs::write(&key_path, key.serialize_pem()).expect("write key");
    (ca_cert.pem(), cert_path, key_path)
}

#[test]
fn terminals_sync_over_https_with_hqs_own_ca() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca_pem, cert, key) = hq_pki(dir.path());
    let hq = tillstone_cloud::open(&format!("sqlite:{}", dir.path().join("hq.db").display()))
        .expect("hub db");
    let tenant = hq.create_tenant("甲公司").expect("tenant");
    let store_id = StoreId::new("s-01").expect("store id");
    hq.create_store(&tenant, &store_id, "一店").expect("store");
    let tls = tillstone_cloud::tls::load_server_config(&cert, &key).expect("TLS config");
    let hub = Hub::start_tls(hq.clone(), tls);
    assert!(hub.url.starts_with("https://127.0.0.1:"), "{}", hub.url);
    let code = |hq: &dyn Storage| {
        hq.create_enrollment_code(&tenant, &store_id, now_ms(), now_ms() + 600_000)
            .expect("code")
    };

    // A terminal that trusts HQ's CA: enroll, sell, push, pull — all over https.
    let till_dir = tempfile::tempdir().expect("tempdir");
    tillstone_tests::init_demo(till_dir.path()).expect("demo");
    let (t, s) = tillstone_tests::cashier_with_shift(till_dir.path()).expect("terminal");
    let link = HqLink {
        ca_pem: Some(ca_pem.clone()),
        allow_http: false,
    };
    let view = t
        .enroll_with(&hub.url, &code(&*hq), &link)
        .expect("enroll over https");
    assert!(view.state.enrolled && view.custom_ca, "{view:?}");
    let codes = tillstone_tests::piece_barcodes(&t, 2).expect("barcodes");
    let cart = t.new_cart(&s).expect("cart");
    assert!(matches!(
        t.scan(&s, &cart.cart_id, &codes[0], None).expect("scan"),
        ScanOutcome::Added { .. }
    ));
    t.add_tender(
        &s,
        &cart.cart_id,
        TenderKind::Cash,
        Some(Decimal::from(1000)),
        None,
    )
    .expect("tender");
    t.complete(&s, &cart.cart_id).expect("sale");
    let (sku, data) = product(7);
    hq.put_change(&tenant, Entity::Catalog, &sku, data)
        .expect("HQ product");
    let view = t.sync_now().expect("sync over https");
    assert_eq!(
        (view.state.pending, view.state.quarantined),
        (0, 0),
        "{view:?}"
    );
    assert!(view.state.healthy(), "{view:?}");
    assert!(hq.event_count(&tenant).expect("count") > 0);
    let rows = t.store().hq_rows().expect("rows");
    assert!(rows.iter().any(|r| r.key == sku), "{rows:?}");

    // A terminal without the CA: enrollment fails with what to do, and nothing is stored.
    let other_dir = tempfile::tempdir().expect("tempdir");
    tillstone_tests::init_demo(other_dir.path()).expect("demo");
    let (other, _) = tillstone_tests::cashier_with_shift(other_dir.path()).expect("terminal");
    let err = other
        .enroll(&hub.url, &code(&*hq))
        .expect_err("an untrusted certificate");
    let msg = err.to_string();
    assert!(
        msg.contains("not signed by an authority this terminal trusts")
            && msg.contains("--ca-cert"),
        "{msg}"
    );
    assert!(!other.sync_view().expect("view").state.enrolled);
    // The same through the client library: a transport error whose text leads with the hint.
    let untrusted = SyncClient::new(
        HttpTransport::new(hub.url.clone()).expect("transport"),
        SyncConfig::default(),
    );
    match untrusted.enroll(&other.store(), &code(&*hq)) {
        Err(SyncError::Transport(e)) => {
            assert!(e.0.starts_with("HQ's TLS certificate at https://"), "{e}")
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
    // Given the CA, the same terminal enrolls.
    let view = other
        .enroll_with(&hub.url, &code(&*hq), &link)
        .expect("enroll with the CA");
    assert!(view.state.enrolled);

    // Plain http to another machine is refused before anything is sent, unless allowed.
    let third_dir = tempfile::tempdir().expect("tempdir");
    tillstone_tests::init_demo(third_dir.path()).expect("demo");
    let third = tillstone_terminal::app::Terminal::open(third_dir.path()).expect("terminal");
    let err = third
        .enroll("http://192.0.2.10:8080", "ABCD-EFGH")
        .expect_err("plain http");
    let msg = err.to_string();
    assert!(
        msg.contains("refusing plain http://") && msg.contains("--allow-http"),
        "{msg}"
    );
    assert!(
        HttpTransport::with_options(
            "http://192.0.2.10:8080",
            &TransportOptions {
                allow_http: true,
                ..TransportOptions::default()
            }
        )
        .is_ok()
    );
    hub.stop();
}
