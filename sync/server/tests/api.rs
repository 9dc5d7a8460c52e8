//! End-to-end tests: the real server over real SQLite files, driven over HTTP. The test bodies
//! are shared with `tests/postgres.rs` (`tests/cases`).

mod cases;
mod common;

use common::TestDb;

macro_rules! sqlite_tests {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            cases::$name(&TestDb::sqlite());
        }
    )*};
}

sqlite_tests!(
    enrollment_code_is_single_use_and_expiring,
    push_is_idempotent_and_conflicts_are_rejected,
    pull_is_resumable_and_carries_deletions,
    tenants_cannot_see_each_other,
    revoked_terminal_is_refused,
    oversize_bodies_are_refused_and_gzip_is_accepted,
    double_redemption_is_reported_with_both_sales,
    coupon_status_answers_within_the_tenant,
    a_coupon_given_back_no_longer_counts,
    openapi_documents_every_route,
    restart_between_pushes_loses_nothing,
    admin_cli_round_trip,
    concurrent_resends_store_each_event_once,
);

#[cfg(unix)]
sqlite_tests!(the_binary_serves_and_stops_gracefully_on_sigterm);
