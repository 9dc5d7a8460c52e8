//! Sessions end after the store's idle time (`session_idle_minutes`, default 30): a till left
//! signed in asks for the PIN again, use keeps a session alive, and open carts survive.

use std::time::Duration;
use tillstone_store::meta::CartStatus;

#[test]
fn an_unused_session_ends_and_use_keeps_one_alive() {
    let dir = tempfile::tempdir().expect("tempdir");
    tillstone_tests::init_demo(dir.path()).expect("demo");
    let (t, s) = tillstone_tests::cashier_with_shift(dir.path()).expect("terminal");
    assert_eq!(
        t.settings().session_idle_minutes,
        30,
        "the default idle time"
    );
    assert_eq!(t.session_idle(), Some(Duration::from_secs(30 * 60)));
    let cart = t.new_cart(&s).expect("cart");

    // In use every 100 ms for 1.5 s with a 600 ms idle time: still signed in.
    t.set_session_idle(Some(Duration::from_millis(600)));
    for _ in 0..15 {
        t.session(&s.token).expect("a session in use stays");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Left alone longer than the idle time: ended, with a reason the cashier can act on.
    std::thread::sleep(Duration::from_millis(900));
    let err = t.session(&s.token).expect_err("an unused session ends");
    assert_eq!(err.code, "session_expired");
    assert!(err.message.contains("sign in again"), "{}", err.message);
    // Ended for good: the same token now is simply not signed in.
    let err = t.session(&s.token).expect_err("still ended");
    assert_eq!(err.code, "not_signed_in");

    // Signing in again finds the open cart where it was.
    let again = t
        .login(tillstone_tests::CASHIER.0, tillstone_tests::CASHIER.1)
        .expect("sign in again");
    let open = t.carts(&again, CartStatus::Open).expect("carts");
    assert!(
        open.iter().any(|c| c.cart_id == cart.cart_id),
        "the open cart survives the sign-out"
    );

    // 0 (None): sessions last until sign-out.
    t.set_session_idle(None);
    std::thread::sleep(Duration::from_millis(700));
    t.session(&again.token).expect("no idle limit");
}
