use proptest::prelude::*;
use serde_json::json;
use tillstone_sync::{
    ChangeLog, Cursor, Cursors, DownError, Entity, Mirror, Row, Table, apply_changes,
};

fn row(entity: Entity, key: &str, revision: u64, deleted: bool) -> Row {
    Row {
        entity,
        key: key.into(),
        revision,
        deleted,
        data: if deleted {
            json!(null)
        } else {
            json!({"rev": revision})
        },
    }
}

#[test]
fn apply_changes_is_idempotent_and_keeps_tombstones() {
    let mut table = Table::new();
    let mut cursor = Cursor::start(Entity::Catalog);
    let page = [
        row(Entity::Catalog, "a", 1, false),
        row(Entity::Catalog, "b", 2, false),
        row(Entity::Catalog, "a", 3, true),
    ];
    let got = apply_changes(&mut table, &mut cursor, &page).unwrap();
    assert_eq!((got.upserted, got.deleted, got.skipped), (2, 1, 0));
    assert_eq!(cursor.revision, 3);
    assert!(table["a"].deleted);
    let snapshot = table.clone();

    // A replayed page changes nothing.
    let again = apply_changes(&mut table, &mut cursor, &page).unwrap();
    assert_eq!(again.skipped, 3);
    assert_eq!(table, snapshot);
    assert_eq!(cursor.revision, 3);
}

#[test]
fn malformed_pages_change_nothing() {
    let mut table = Table::new();
    let mut cursor = Cursor::start(Entity::Prices);
    let cases = [
        (
            vec![
                row(Entity::Prices, "a", 1, false),
                row(Entity::Catalog, "b", 2, false),
            ],
            "a row of catalog in a page for prices",
        ),
        (
            vec![
                row(Entity::Prices, "a", 2, false),
                row(Entity::Prices, "b", 2, false),
            ],
            "revisions must ascend strictly: 2 is followed by 2",
        ),
        (vec![row(Entity::Prices, "a", 0, false)], "revision 0"),
    ];
    for (rows, msg) in cases {
        let err = apply_changes(&mut table, &mut cursor, &rows).unwrap_err();
        assert!(err.to_string().contains(msg), "{err}");
    }
    assert!(table.is_empty());
    assert_eq!(cursor.revision, 0);
}

#[test]
fn a_mirror_follows_the_change_log() {
    let mut hq = ChangeLog::new();
    hq.put(Entity::Catalog, "sku-1", json!({"name": "可乐"}));
    hq.put(Entity::Prices, "sku-1", json!({"price": "3.50"}));
    hq.put(Entity::Catalog, "sku-2", json!({"name": "雪碧"}));
    hq.delete(Entity::Catalog, "sku-1");
    let mut m = Mirror::new();
    loop {
        let mut req = m.pull_request();
        req.limit = Some(1);
        let page = hq.pull(&req);
        m.apply_page(&req.cursors, &page).unwrap();
        if !page.more {
            break;
        }
    }
    assert_eq!(m.live(Entity::Catalog), hq.live(Entity::Catalog));
    assert_eq!(m.live(Entity::Prices), hq.live(Entity::Prices));
    assert!(m.get(Entity::Catalog, "sku-1").is_none());
    assert_eq!(m.cursor(Entity::Catalog).revision, 4);

    // A late answer to an old request is refused.
    let stale: Cursors = Cursors::new();
    let page = hq.pull(&tillstone_sync::PullRequest {
        version: 1,
        cursors: stale.clone(),
        limit: None,
        count_remaining: None,
    });
    assert!(matches!(
        m.apply_page(&stale, &page),
        Err(DownError::StalePage { .. })
    ));
}

#[derive(Debug, Clone)]
enum Op {
    Put(u8, u8, u8),
    Delete(u8, u8),
    /// Pull with a page size; then lose the page, apply it, or apply it twice.
    Pull(u32, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3, 0u8..6, any::<u8>()).prop_map(|(e, k, v)| Op::Put(e, k, v)),
        1 => (0u8..3, 0u8..6).prop_map(|(e, k)| Op::Delete(e, k)),
        3 => (1u32..5, 0u8..3).prop_map(|(l, fate)| Op::Pull(l, fate)),
    ]
}

const ENTITIES: [Entity; 3] = [Entity::Catalog, Entity::Members, Entity::StoreSettings];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Interleaved HQ writes and pulls with any page size, lost pages and replayed pages: once
    /// drained, the mirror equals HQ and no page was ever malformed.
    #[test]
    fn pulls_are_resumable_and_idempotent(ops in proptest::collection::vec(op(), 0..60)) {
        let mut hq = ChangeLog::new();
        let mut m = Mirror::new();
        let mut last_rev = 0;
        for op in ops {
            match op {
                Op::Put(e, k, v) => {
                    let r = hq.put(ENTITIES[e as usize], &format!("k{k}"), json!({"v": v}));
                    prop_assert!(r > last_rev);
                    last_rev = r;
                }
                Op::Delete(e, k) => {
                    last_rev = hq.delete(ENTITIES[e as usize], &format!("k{k}"));
                }
                Op::Pull(limit, fate) => {
                    let mut req = m.pull_request();
                    req.limit = Some(limit);
                    let page = hq.pull(&req);
                    prop_assert!(page.rows.len() <= limit as usize);
                    match fate {
                        0 => {} // lost in transit
                        1 => { m.apply_page(&req.cursors, &page).unwrap(); }
                        _ => {
                            m.apply_page(&req.cursors, &page).unwrap();
                            // A replay of the same page is refused as stale or applies nothing.
                            let before = m.clone();
                            if m.apply_page(&req.cursors, &page).is_ok() {
                                prop_assert_eq!(&m, &before);
                            }
                        }
                    }
                }
            }
        }
        loop {
            let req = m.pull_request();
            let page = hq.pull(&req);
            m.apply_page(&req.cursors, &page).unwrap();
            if !page.more { break; }
        }
        for e in Entity::ALL {
            prop_assert_eq!(m.live(e), hq.live(e));
        }
        prop_assert!(hq.pull(&m.pull_request()).rows.is_empty());
    }
}
