//! Sales, journal, shifts and reports on real SQLite files.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::collections::HashSet;
use tillstone_core::cart::Cart;
use tillstone_core::catalog::{Product, Unit};
use tillstone_core::report::{ReportHeader, ReportKind, aggregate_docs, build_report};
use tillstone_core::returns::{ReturnLine, build_return};
use tillstone_core::sale::{DocContext, Sale, complete_sale};
use tillstone_core::settings::StoreSettings;
use tillstone_core::tender::TenderKind;
use tillstone_store::sales::VoidRecord;
use tillstone_store::shifts::{CashMovement, MovementKind, NewShift};
use tillstone_store::{Store, StoreError};

const T: &str = "term-1";

fn settings() -> StoreSettings {
    let mut s = StoreSettings::new("HZ001", "测试店");
    s.cash_rounding = Some(dec!(0.10));
    s
}

fn product(i: u32) -> Product {
    let rates = [dec!(0.13), dec!(0.09), dec!(0.06), dec!(0)];
    Product {
        sku: format!("SKU{i}"),
        name: format!("商品{i}"),
        name_en: format!("Item {i}"),
        barcodes: vec![],
        category: ["饮料", "生鲜", "日用品"][(i % 3) as usize].into(),
        tax_class: "x".into(),
        tax_rate: rates[(i % 4) as usize],
        unit: if i.is_multiple_of(5) {
            Unit::Kg
        } else {
            Unit::Piece
        },
        price: Decimal::new(199 + i64::from(i) * 37, 2),
    }
}

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 0, 30, 0)
        .single()
        .expect("valid time")
        + Duration::minutes(minutes)
}

fn new_shift<'a>(shift_id: &'a str, user: &'a str, float: Decimal, minutes: i64) -> NewShift<'a> {
    NewShift {
        shift_id,
        terminal_id: T,
        user_id: user,
        float,
        at: at(minutes),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    st: StoreSettings,
    shift_id: String,
    n: u64,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(dir.path().join("t.db")).expect("open");
        let st = settings();
        let shift = store
            .open_shift(&new_shift("shift-1", "1001", dec!(300), 0), "ev-open", &st)
            .expect("shift");
        Fixture {
            _dir: dir,
            store,
            st,
            shift_id: shift.shift_id,
            n: 0,
        }
    }

    fn ctx(&mut self, cashier: &str, minutes: i64) -> DocContext {
        self.n += 1;
        DocContext {
            sale_id: format!("sale-{}", self.n),
            receipt_no: format!("HZ001-T01-{:08}", self.n),
            store_code: "HZ001".into(),
            terminal_id: T.into(),
            shift_id: self.shift_id.clone(),
            cashier_id: cashier.into(),
            completed_at: at(minutes),
        }
    }

    fn sale(&mut self, seed: u32, kind: TenderKind, cashier: &str, minutes: i64) -> Sale {
        let (sale, committed) = self.try_sale(seed, kind, cashier, minutes);
        committed.expect("commit");
        sale
    }

    fn try_sale(
        &mut self,
        seed: u32,
        kind: TenderKind,
        cashier: &str,
        minutes: i64,
    ) -> (Sale, Result<i64, StoreError>) {
        let mut cart = Cart::new(format!("cart-{seed}"));
        for i in 0..(1 + seed % 7) {
            let p = product(seed * 3 + i);
            let qty = if p.unit == Unit::Kg {
                dec!(0.755)
            } else {
                Decimal::from(1 + i % 3)
            };
            cart.add_product(&p, qty, None).expect("add");
        }
        let due = cart.price(&self.st).payment.cash_due;
        let amount = if kind == TenderKind::Cash {
            due.ceil() + dec!(10)
        } else {
            due
        };
        let reference = (kind != TenderKind::Cash).then(|| "ref".to_string());
        let pay = if kind == TenderKind::Cash {
            amount
        } else {
            cart.price(&self.st).totals.total
        };
        cart.add_tender(kind, pay, reference, &self.st)
            .expect("tender");
        let ctx = self.ctx(cashier, minutes);
        let sale = complete_sale(&cart, &self.st, ctx).expect("complete");
        let committed = self.store.commit_sale(
            &sale,
            &self.st,
            &format!("ev-{}", self.n),
            Some(&cart.cart_id),
            None,
            None,
        );
        (sale, committed)
    }
}

#[test]
fn sql_aggregates_match_the_reference_aggregation() {
    let mut f = Fixture::new();
    let mut docs = Vec::new();
    for i in 0..40u32 {
        let kind = [
            TenderKind::Cash,
            TenderKind::Card,
            TenderKind::Alipay,
            TenderKind::WechatPay,
        ][(i % 4) as usize];
        let cashier = if i % 3 == 0 { "1002" } else { "1001" };
        docs.push(f.sale(i, kind, cashier, i64::from(i) * 23));
    }
    // Partial returns of a few sales, and a voided sale.
    for i in [1usize, 4, 9] {
        let original = docs[i].clone();
        let prior: Vec<Sale> = docs
            .iter()
            .filter(|d| d.original.is_some())
            .cloned()
            .collect();
        let ctx = f.ctx("1001", 1000 + i as i64);
        let ret = build_return(
            &original,
            &prior,
            &[ReturnLine {
                line_id: 1,
                qty: original.lines[0].line.qty.min(dec!(1)),
            }],
            &f.st,
            ctx,
        )
        .expect("return");
        f.store
            .commit_sale(&ret, &f.st, &format!("ev-r{i}"), None, None, None)
            .expect("commit return");
        docs.push(ret);
    }
    let voided = docs[7].ctx.sale_id.clone();
    f.store
        .commit_void(
            &VoidRecord {
                sale_id: voided.clone(),
                receipt_no: docs[7].ctx.receipt_no.clone(),
                shift_id: f.shift_id.clone(),
                user_id: "1001".into(),
                approved_by: "9001".into(),
                reason: "test".into(),
                at: at(2000).to_rfc3339(),
            },
            "ev-void",
            T,
        )
        .expect("void");
    assert!(
        f.store
            .connection()
            .execute("DELETE FROM voids", [])
            .is_err(),
        "voids are immutable"
    );
    let sql = f.store.aggregates(&f.shift_id, &f.st).expect("aggregates");
    let reference = aggregate_docs(&docs, &HashSet::from([voided]), &f.st);
    assert_eq!(sql, reference);
    assert_eq!(sql.sales_count, 39);
    assert_eq!(sql.returns_count, 3);
    assert_eq!(sql.voided_count, 1);
    assert!(
        sql.by_hour.len() > 5,
        "sales spread over several local hours"
    );
    // The first sale at 00:30 UTC is 08:30 in Hangzhou; nothing is booked before 08:00 that day.
    assert!(sql.by_hour.iter().any(|b| b.key == "08"));
    assert!(!sql.by_hour.iter().any(|b| b.key == "00" || b.key == "07"));
    // Every document survives a reopen exactly.
    let path = f.store.path().to_path_buf();
    drop(f.store);
    let store = Store::open(&path).expect("reopen");
    for d in &docs {
        assert_eq!(
            store
                .sale_by_receipt(&d.ctx.receipt_no)
                .expect("read")
                .as_ref(),
            Some(d)
        );
    }
    assert!(store.verify_journal().expect("verify").ok());
    assert_eq!(store.document_count().expect("count"), docs.len() as u64);
}

#[test]
fn committed_history_is_immutable() {
    let mut f = Fixture::new();
    f.sale(1, TenderKind::Cash, "1001", 5);
    let c = f.store.connection();
    for sql in [
        "UPDATE sales SET total_minor = 1",
        "DELETE FROM sales",
        "UPDATE sale_lines SET total_minor = 1",
        "DELETE FROM sale_tenders",
        "UPDATE journal SET payload = '{}'",
        "DELETE FROM journal",
    ] {
        let err = c.execute(sql, []).expect_err(sql);
        assert!(
            err.to_string().contains("immutable") || err.to_string().contains("append-only"),
            "{sql}: {err}"
        );
    }
}

#[test]
fn journal_verification_finds_the_first_broken_link() {
    let mut f = Fixture::new();
    for i in 0..5 {
        f.sale(i, TenderKind::Card, "1001", i64::from(i));
    }
    let ok = f.store.verify_journal().expect("verify");
    assert!(ok.ok());
    let c = f.store.connection();
    let count = |kind: &str| -> i64 {
        c.query_row(
            "SELECT COUNT(*) FROM journal WHERE kind = ?1",
            [kind],
            |r| r.get(0),
        )
        .expect("count")
    };
    assert_eq!((count("shift_open"), count("sale")), (1, 5));
    assert_eq!(
        ok.entries as i64,
        6 + count("stock_movement"),
        "shift open, 5 sales, their stock"
    );
    // The second sale's entry and a later one.
    let sales: Vec<i64> = c
        .prepare("SELECT seq FROM journal WHERE kind = 'sale' ORDER BY seq")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("seqs");
    let (target, later) = (sales[1], sales[3]);
    c.execute_batch("DROP TRIGGER journal_no_update; DROP TRIGGER journal_no_delete;")
        .expect("drop triggers");
    // Alter the content of the second sale's entry: it no longer matches its hash.
    c.execute(
        "UPDATE journal SET payload = replace(payload, '\"total\"', '\"totaL\"') WHERE seq = ?1",
        [target],
    )
    .expect("tamper");
    let r = f.store.verify_journal().expect("verify");
    let b = r.first_broken.expect("broken");
    assert_eq!((b.seq, r.entries as i64), (target, target - 1));
    assert!(b.reason.contains("altered"), "{}", b.reason);
    // Remove a later entry as well: the earliest problem is still reported first.
    c.execute("DELETE FROM outbox WHERE seq = ?1", [later])
        .expect("outbox");
    c.execute("DELETE FROM journal WHERE seq = ?1", [later])
        .expect("delete");
    assert_eq!(
        f.store
            .verify_journal()
            .expect("verify")
            .first_broken
            .map(|b| b.seq),
        Some(target)
    );
}

#[test]
fn a_deleted_entry_breaks_the_sequence() {
    let mut f = Fixture::new();
    for i in 0..4 {
        f.sale(i, TenderKind::Card, "1001", i64::from(i));
    }
    let c = f.store.connection();
    c.execute_batch("DROP TRIGGER journal_no_delete; DELETE FROM outbox WHERE seq = 2; DELETE FROM journal WHERE seq = 2;")
        .expect("delete");
    let b = f
        .store
        .verify_journal()
        .expect("verify")
        .first_broken
        .expect("broken");
    assert_eq!(b.seq, 3);
    assert!(b.reason.contains("missing"), "{}", b.reason);
}

#[test]
fn shifts_movements_and_numbered_z_reports() {
    let mut f = Fixture::new();
    let err = f
        .store
        .open_shift(&new_shift("shift-2", "1001", dec!(0), 1), "ev", &f.st)
        .expect_err("one open shift");
    assert!(err.to_string().contains("already open"));
    f.sale(1, TenderKind::Cash, "1001", 10);
    for (kind, amount) in [
        (MovementKind::PaidIn, dec!(100)),
        (MovementKind::PaidOut, dec!(30.50)),
        (MovementKind::NoSale, dec!(0)),
    ] {
        f.store
            .record_movement(
                &CashMovement {
                    movement_id: format!("mv-{}", kind.as_str()),
                    shift_id: f.shift_id.clone(),
                    kind,
                    amount,
                    reason: "r".into(),
                    user_id: "1001".into(),
                    approved_by: (kind == MovementKind::NoSale).then(|| "9001".into()),
                    at: at(20),
                },
                T,
                &format!("ev-{}", kind.as_str()),
                &f.st,
            )
            .expect("movement");
    }
    let shift = f
        .store
        .current_shift(T, &f.st)
        .expect("read")
        .expect("open");
    let cash = f.store.shift_cash(&shift, &f.st).expect("cash");
    assert_eq!(
        (
            cash.paid_in,
            cash.paid_out,
            cash.no_sale_count,
            cash.override_count
        ),
        (dec!(100), dec!(30.50), 1, 1)
    );
    let agg = f.store.aggregates(&shift.shift_id, &f.st).expect("agg");
    let cash_sales = agg
        .tenders
        .iter()
        .find(|t| t.kind == TenderKind::Cash)
        .map(|t| t.sales)
        .expect("cash");
    assert_eq!(f.store.next_z_no().expect("z"), 1);
    let st = f.st.clone();
    let report = f
        .store
        .close_shift(
            &shift.shift_id,
            "1001",
            "ev-z",
            &st,
            |shift, agg, cash, z_no| {
                let header = ReportHeader {
                    store_code: "HZ001".into(),
                    terminal_id: T.into(),
                    shift_id: shift.shift_id.clone(),
                    shift_no: shift.shift_no,
                    opened_by: "1001".into(),
                    opened_at: shift.opened_at,
                    at: at(60),
                    currency: "CNY".into(),
                };
                build_report(
                    ReportKind::Z,
                    Some(z_no),
                    header,
                    agg,
                    &cash,
                    Some(dec!(400)),
                    &st,
                )
            },
        )
        .expect("close");
    assert_eq!(report.z_no, Some(1));
    assert_eq!(
        report.cash.expected,
        dec!(300) + cash_sales + dec!(100) - dec!(30.50)
    );
    assert_eq!(report.cash.variance, Some(dec!(400) - report.cash.expected));
    let again = f
        .store
        .close_shift(&shift.shift_id, "1001", "ev-z2", &st, |_, _, _, _| {
            unreachable!("a closed shift builds no second report")
        });
    assert!(
        matches!(again, Err(StoreError::ShiftClosed)),
        "a shift closes once"
    );
    // Nothing can be booked into the closed shift, and its history cannot be edited.
    let (late, committed) = f.try_sale(99, TenderKind::Card, "1001", 61);
    assert!(
        matches!(committed, Err(StoreError::ShiftClosed)),
        "{committed:?}"
    );
    assert_eq!(
        f.store.sale_by_receipt(&late.ctx.receipt_no).expect("read"),
        None
    );
    for sql in [
        "UPDATE shifts SET counted_minor = 0",
        "DELETE FROM cash_movements",
        "UPDATE sale_taxes SET tax_minor = 0",
    ] {
        assert!(f.store.connection().execute(sql, []).is_err(), "{sql}");
    }
    assert_eq!(f.store.z_report(1).expect("read"), Some(report));
    assert!(f.store.current_shift(T, &f.st).expect("read").is_none());
    let next = f
        .store
        .open_shift(
            &new_shift("shift-2", "1002", dec!(200), 70),
            "ev-open-2",
            &f.st,
        )
        .expect("next shift");
    assert_eq!(next.shift_no, 2);
    assert_eq!(f.store.next_z_no().expect("z"), 2);
    assert!(
        f.store
            .connection()
            .execute("UPDATE z_reports SET report = '{}'", [])
            .is_err()
    );
    assert!(f.store.verify_journal().expect("verify").ok());
}
