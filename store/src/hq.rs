//! Down-sync: applying the rows HQ sends (`sync/ROWS.md`) to the terminal's own tables.
//!
//! [`Store::apply_hq_page`](crate::Store::apply_hq_page) keeps every row in `hq_rows` (the
//! replica whose digest must match on every terminal) and, in the same transaction, calls
//! [`apply_rows`] so the catalog, prices, members, users, promotions, campaigns, coupon keys
//! and store settings the till sells with follow HQ:
//!
//! * each row is applied in its own savepoint: a row that cannot be applied (malformed JSON,
//!   a price that is not a number, a phone another member has) changes nothing, is recorded in
//!   `hq_apply_errors` with a clear reason (shown in the sync state) and does not stop the page;
//!   a later revision of that row that applies clears the error;
//! * a `prices` row overrides the catalog row's price for as long as it lives; deleting it
//!   brings the catalog price back;
//! * deletions: a product stops selling (history keeps it), a user is deactivated, a member is
//!   anonymised (old receipts keep their member id, search no longer finds them);
//! * promotions, campaigns and coupon keys are lists: after the page they are rebuilt from
//!   every live row of their entity; an invalid rule or campaign is left out and recorded;
//! * store settings apply only for this till's own store and take effect at the next start.

use crate::catalog::{apply_hq_price, apply_hq_product, deactivate_in};
use crate::db::{Result, StoreError};
use crate::members::write_member;
use crate::outbox::HqRow;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use tillstone_core::auth::Role;
use tillstone_core::catalog::Product;
use tillstone_core::coupon::{Campaign, KeyRing, PublicKeyEntry};
use tillstone_core::member::Member;
use tillstone_core::promo::Rule;
use tillstone_core::settings::StoreSettings;

/// A row that could not be applied to the local tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HqApplyError {
    pub entity: String,
    pub key: String,
    pub revision: u64,
    pub message: String,
}

/// A member as HQ sends it.
#[derive(Debug, Clone, Deserialize)]
struct HqMember {
    member_id: String,
    name: String,
    phone: String,
    #[serde(default)]
    card_no: Option<String>,
    #[serde(default)]
    tier: String,
    #[serde(default)]
    points: i64,
    #[serde(default)]
    lifetime_points: Option<i64>,
    /// Coupon codes issued to the member (the wallet).
    #[serde(default)]
    coupons: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct HqUser {
    user_id: String,
    name: String,
    role: String,
    pin_hash: String,
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
struct HqPrice {
    sku: String,
    price: String,
}

fn invalid(msg: impl Into<String>) -> StoreError {
    StoreError::Invalid(msg.into())
}

fn parse<T: for<'de> Deserialize<'de>>(row: &HqRow) -> Result<T> {
    serde_json::from_str(&row.data).map_err(|e| {
        invalid(format!(
            "{} row {} is not a valid document: {e}",
            row.entity, row.key
        ))
    })
}

/// Apply `rows` (the rows of a page that were written) to the local tables, inside the
/// caller's transaction. Returns the rows that could not be applied.
pub(crate) fn apply_rows(conn: &Connection, rows: &[&HqRow]) -> Result<Vec<HqApplyError>> {
    let store_code: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'settings'", [], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
        .and_then(|s| serde_json::from_str::<StoreSettings>(&s).ok())
        .map(|s| s.store_code);
    let mut errors = Vec::new();
    let mut lists: BTreeSet<&str> = BTreeSet::new();
    for row in rows {
        match row.entity.as_str() {
            "promotions" | "campaigns" | "coupon_keys" => {
                lists.insert(row.entity.as_str());
                continue;
            }
            _ => {}
        }
        conn.execute_batch("SAVEPOINT hq_row")?;
        match apply_row(conn, row, store_code.as_deref()) {
            Ok(()) => {
                conn.execute_batch("RELEASE hq_row")?;
                clear_error(conn, &row.entity, &row.key)?;
            }
            Err(StoreError::Sqlite(e)) if is_fatal(&e) => {
                conn.execute_batch("ROLLBACK TO hq_row; RELEASE hq_row")?;
                return Err(StoreError::Sqlite(e));
            }
            Err(e) => {
                conn.execute_batch("ROLLBACK TO hq_row; RELEASE hq_row")?;
                let err = HqApplyError {
                    entity: row.entity.clone(),
                    key: row.key.clone(),
                    revision: row.revision,
                    message: e.to_string(),
                };
                tracing::warn!(entity = %err.entity, key = %err.key, error = %err.message,
                    "HQ row not applied");
                record_error(conn, &err)?;
                errors.push(err);
            }
        }
    }
    for entity in lists {
        errors.extend(rebuild_list(conn, entity)?);
    }
    Ok(errors)
}

/// Errors of the database itself (disk full, I/O, busy, read-only…): the whole page is rolled
/// back and pulled again later. Anything else is about the row and is recorded.
fn is_fatal(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode as C;
    match e {
        rusqlite::Error::SqliteFailure(f, _) => matches!(
            f.code,
            C::DiskFull
                | C::SystemIoFailure
                | C::DatabaseBusy
                | C::DatabaseLocked
                | C::ReadOnly
                | C::CannotOpen
                | C::DatabaseCorrupt
                | C::NotADatabase
                | C::OutOfMemory
                | C::FileLockingProtocolFailed
        ),
        _ => false,
    }
}

fn apply_row(conn: &Connection, row: &HqRow, store_code: Option<&str>) -> Result<()> {
    match row.entity.as_str() {
        "catalog" => {
            if row.deleted {
                return deactivate_in(conn, &row.key);
            }
            let p: Product = parse(row)?;
            if p.sku != row.key {
                return Err(invalid(format!(
                    "catalog row {} carries SKU {}",
                    row.key, p.sku
                )));
            }
            // A valid live price row wins; a bad one keeps its own error and the product
            // sells at the catalog's price meanwhile.
            let price = live_data(conn, "prices", &row.key)?
                .and_then(|d| serde_json::from_str::<HqPrice>(&d).ok())
                .map(|p| p.price)
                .filter(|p| tillstone_core::catalog::parse_price(p).is_ok());
            apply_hq_product(conn, &p, price.as_deref())
        }
        "prices" => {
            let price = if row.deleted {
                // Back to the catalog's own price, if HQ sent the product.
                match live_data(conn, "catalog", &row.key)?
                    .and_then(|d| serde_json::from_str::<Product>(&d).ok())
                {
                    Some(p) => p.price.to_string(),
                    None => return Ok(()),
                }
            } else {
                let p: HqPrice = parse(row)?;
                if p.sku != row.key {
                    return Err(invalid(format!(
                        "prices row {} carries SKU {}",
                        row.key, p.sku
                    )));
                }
                p.price
            };
            if apply_hq_price(conn, &row.key, &price)? {
                return Ok(());
            }
            // The product is not here: HQ's catalog row may have failed before (it is applied
            // again now, with this price); otherwise the price waits for the product (the
            // catalog row reads the live prices row when it arrives).
            match live_data(conn, "catalog", &row.key)?
                .and_then(|d| serde_json::from_str::<Product>(&d).ok())
            {
                Some(p) if !row.deleted => {
                    tillstone_core::catalog::parse_price(&price).map_err(invalid)?;
                    apply_hq_product(conn, &p, Some(&price))?;
                    clear_error(conn, "catalog", &row.key)
                }
                _ => Ok(()),
            }
        }
        "members" => {
            if row.deleted {
                return anonymise_member(conn, &row.key);
            }
            let m: HqMember = parse(row)?;
            if m.member_id != row.key {
                return Err(invalid(format!(
                    "members row {} carries member {}",
                    row.key, m.member_id
                )));
            }
            write_member(
                conn,
                &Member {
                    member_id: m.member_id.clone(),
                    name: m.name,
                    phone: m.phone,
                    card_no: m.card_no.filter(|c| !c.trim().is_empty()),
                    tier: m.tier,
                    points: m.points,
                },
            )?;
            conn.prepare_cached("UPDATE members SET lifetime_points = ?2 WHERE member_id = ?1")?
                .execute(params![
                    m.member_id,
                    m.lifetime_points.unwrap_or(m.points.max(0))
                ])?;
            conn.prepare_cached("DELETE FROM member_coupons WHERE member_id = ?1")?
                .execute([&m.member_id])?;
            let mut put = conn.prepare_cached(
                "INSERT INTO member_coupons (member_id, code, pos) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
            )?;
            for (pos, code) in m.coupons.iter().enumerate() {
                let code = code.trim();
                if !code.is_empty() {
                    put.execute(params![m.member_id, code, pos as i64])?;
                }
            }
            Ok(())
        }
        "users" => {
            if row.deleted {
                conn.prepare_cached("UPDATE users SET active = 0 WHERE user_id = ?1")?
                    .execute([&row.key])?;
                return Ok(());
            }
            let u: HqUser = parse(row)?;
            let role = Role::parse(&u.role).ok_or_else(|| {
                invalid(format!(
                    "user {}: role {:?} is not cashier, manager or installer",
                    u.user_id, u.role
                ))
            })?;
            if u.user_id != row.key {
                return Err(invalid(format!(
                    "users row {} carries user {}",
                    row.key, u.user_id
                )));
            }
            if !u.pin_hash.starts_with("$argon2") {
                return Err(invalid(format!(
                    "user {}: the PIN must come as an argon2 hash, never in clear",
                    u.user_id
                )));
            }
            conn.prepare_cached(
                "INSERT INTO users (user_id, name, role, pin_hash, active) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, role = excluded.role,
                    pin_hash = excluded.pin_hash, active = excluded.active",
            )?
            .execute(params![u.user_id, u.name, role.as_str(), u.pin_hash, u.active])?;
            Ok(())
        }
        "store_settings" => {
            if row.deleted || store_code != Some(row.key.as_str()) {
                // Another store's settings, or a deletion: this till keeps its own.
                return Ok(());
            }
            let s: StoreSettings = parse(row)?;
            if s.store_code != row.key {
                return Err(invalid(format!(
                    "store_settings row {} carries store {}",
                    row.key, s.store_code
                )));
            }
            conn.prepare_cached(
                "INSERT INTO meta (key, value) VALUES ('settings', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute([serde_json::to_string(&s)?])?;
            Ok(())
        }
        other => Err(invalid(format!(
            "entity {other} is unknown to this version of Tillstone"
        ))),
    }
}

/// The live (not deleted) document of an HQ row.
fn live_data(conn: &Connection, entity: &str, key: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT data FROM hq_rows WHERE entity = ?1 AND key = ?2 AND deleted = 0")?
        .query_row([entity, key], |r| r.get(0))
        .optional()?)
}

/// HQ deleted a member (e.g. a request to erase personal data): keep the id for the history,
/// drop name, phone, card and wallet, and take them out of search.
fn anonymise_member(conn: &Connection, member_id: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE members SET name = '', phone = '-' || member_id, phone_last4 = '', card_no = NULL
         WHERE member_id = ?1",
    )?
    .execute([member_id])?;
    let id: Option<i64> = conn
        .prepare_cached("SELECT id FROM member_key WHERE member_id = ?1")?
        .query_row([member_id], |r| r.get(0))
        .optional()?;
    if let Some(id) = id {
        conn.prepare_cached("DELETE FROM member_gram WHERE rowid = ?1")?
            .execute([id])?;
    }
    conn.prepare_cached("DELETE FROM member_coupons WHERE member_id = ?1")?
        .execute([member_id])?;
    Ok(())
}

/// Rebuild a list entity from every live row of it; invalid entries are left out and recorded.
fn rebuild_list(conn: &Connection, entity: &str) -> Result<Vec<HqApplyError>> {
    let rows: Vec<(String, u64, String)> = conn
        .prepare_cached(
            "SELECT key, revision, data FROM hq_rows WHERE entity = ?1 AND deleted = 0
             ORDER BY key",
        )?
        .query_map([entity], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    // Tombstoned rows carry no error any more.
    conn.prepare_cached(
        "DELETE FROM hq_apply_errors WHERE entity = ?1 AND key IN
            (SELECT key FROM hq_rows WHERE entity = ?1 AND deleted = 1)",
    )?
    .execute([entity])?;
    // Each entry of the list is checked on its own: a refused one is left out and recorded.
    let mut errors = Vec::new();
    let mut each = |accept: &mut dyn FnMut(&str, &str) -> std::result::Result<(), String>| {
        for (key, revision, data) in &rows {
            match accept(key, data) {
                Ok(()) => clear_error(conn, entity, key)?,
                Err(message) => {
                    let e = HqApplyError {
                        entity: entity.to_string(),
                        key: key.clone(),
                        revision: *revision,
                        message,
                    };
                    record_error(conn, &e)?;
                    errors.push(e);
                }
            }
        }
        Ok::<(), StoreError>(())
    };
    let value = match entity {
        "promotions" => {
            let mut rules: Vec<Rule> = Vec::new();
            each(&mut |key, data| {
                let r: Rule = list_doc(data, key, "rule", |r: &Rule| r.id.clone())
                    .map_err(|e| format!("promotion {key} is not a valid rule: {e}"))?;
                r.validate().map_err(|e| format!("promotion {key}: {e}"))?;
                rules.push(r);
                Ok(())
            })?;
            ("promotions", serde_json::to_string(&rules)?)
        }
        "campaigns" => {
            let mut list: Vec<Campaign> = Vec::new();
            each(&mut |key, data| {
                let c: Campaign = list_doc(data, key, "campaign", |c: &Campaign| c.id.to_string())
                    .map_err(|e| format!("campaign {key} is not a valid campaign: {e}"))?;
                c.validate().map_err(|e| format!("campaign {key}: {e}"))?;
                list.push(c);
                Ok(())
            })?;
            ("coupon_campaigns", serde_json::to_string(&list)?)
        }
        "coupon_keys" => {
            let mut ring = KeyRing::new();
            each(&mut |key, data| {
                let k: PublicKeyEntry =
                    list_doc(data, key, "key", |k: &PublicKeyEntry| k.key_id.to_string())
                        .map_err(|e| format!("coupon key {key}: {e}"))?;
                let bytes: [u8; 32] = hex::decode(k.public_key.trim())
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| {
                        format!("coupon key {key}: the public key is not 64 hex digits")
                    })?;
                ring.insert(k.key_id, &bytes)
                    .map_err(|e| format!("coupon key {key}: {e}"))
            })?;
            ("coupon_keys", serde_json::to_string(&ring)?)
        }
        _ => return Ok(errors),
    };
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![value.0, value.1])?;
    Ok(errors)
}

/// An entry of a list entity: its document, which must carry the row's own key as its id.
fn list_doc<T: serde::de::DeserializeOwned>(
    data: &str,
    key: &str,
    noun: &str,
    id: impl Fn(&T) -> String,
) -> std::result::Result<T, String> {
    let doc: T = serde_json::from_str(data).map_err(|e| e.to_string())?;
    match id(&doc) {
        own if own == key => Ok(doc),
        other => Err(format!("the row carries {noun} {other}")),
    }
}

fn record_error(conn: &Connection, e: &HqApplyError) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO hq_apply_errors (entity, key, revision, message) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (entity, key) DO UPDATE SET revision = excluded.revision,
            message = excluded.message",
    )?
    .execute(params![e.entity, e.key, e.revision as i64, e.message])?;
    Ok(())
}

fn clear_error(conn: &Connection, entity: &str, key: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM hq_apply_errors WHERE entity = ?1 AND key = ?2")?
        .execute([entity, key])?;
    Ok(())
}

impl crate::Store {
    /// HQ rows that could not be applied to the local tables, by entity and key.
    pub fn hq_apply_errors(&self) -> Result<Vec<HqApplyError>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT entity, key, revision, message FROM hq_apply_errors ORDER BY entity, key",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(HqApplyError {
                    entity: r.get(0)?,
                    key: r.get(1)?,
                    revision: r.get::<_, i64>(2)? as u64,
                    message: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The coupon codes HQ issued to a member (their wallet), in issue order.
    pub fn member_coupon_codes(&self, member_id: &str) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT code FROM member_coupons WHERE member_id = ?1 ORDER BY pos, code",
        )?;
        let rows = stmt
            .query_map([member_id], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(rows)
    }

    /// Replace a member's wallet (demo data, tests; HQ sends it with the member row).
    pub fn set_member_coupon_codes(&self, member_id: &str, codes: &[String]) -> Result<()> {
        let tx = crate::catalog::WriteTx::begin(&self.conn)?;
        self.conn
            .prepare_cached("DELETE FROM member_coupons WHERE member_id = ?1")?
            .execute([member_id])?;
        for (pos, code) in codes.iter().enumerate() {
            self.conn
                .prepare_cached(
                    "INSERT INTO member_coupons (member_id, code, pos) VALUES (?1, ?2, ?3)
                     ON CONFLICT DO NOTHING",
                )?
                .execute(params![member_id, code, pos as i64])?;
        }
        tx.commit()
    }

    /// A member's lifetime points: HQ's figure plus the points earned on this till since, less
    /// the earnings taken back by returns and voids (negative adjustments). Points redeemed and
    /// given back, or expired, do not count: only earning moves a member up.
    pub fn member_lifetime_points(&self, member_id: &str) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT m.lifetime_points + COALESCE((SELECT SUM(e.points)
                    FROM member_point_events e WHERE e.member_id = m.member_id
                      AND (e.kind = 'earn' OR (e.kind = 'adjust' AND e.points < 0))), 0)
                 FROM members m WHERE m.member_id = ?1",
            )?
            .query_row([member_id], |r| r.get::<_, i64>(0))
            .optional()?
            .unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;
    use crate::outbox::HqRow;
    use std::collections::BTreeMap;

    struct Hq {
        store: Store,
        cursors: BTreeMap<String, u64>,
        rev: u64,
        _dir: tempfile::TempDir,
    }

    impl Hq {
        fn new() -> Hq {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path().join("t.db")).unwrap();
            store
                .set_settings(&tillstone_core::settings::StoreSettings::new(
                    "HZ001",
                    "西湖店",
                ))
                .unwrap();
            Hq {
                store,
                cursors: BTreeMap::new(),
                rev: 0,
                _dir: dir,
            }
        }

        /// Send rows as one page (revisions assigned in order, grouped by entity).
        fn page(&mut self, rows: &[(&str, &str, Option<serde_json::Value>)]) -> usize {
            let mut out: Vec<HqRow> = Vec::new();
            let mut sorted: Vec<_> = rows.iter().collect();
            sorted.sort_by_key(|r| r.0);
            for (entity, key, data) in sorted {
                self.rev += 1;
                out.push(HqRow {
                    entity: entity.to_string(),
                    key: key.to_string(),
                    revision: self.rev,
                    deleted: data.is_none(),
                    data: data.as_ref().map_or("null".to_string(), |d| d.to_string()),
                });
            }
            let mut next = self.cursors.clone();
            for r in &out {
                next.insert(r.entity.clone(), r.revision);
            }
            let applied = self
                .store
                .apply_hq_page(&self.cursors, &out, &next)
                .unwrap();
            assert!(applied.applied);
            self.cursors = next;
            applied.not_applied
        }
    }

    fn product(sku: &str, price: &str, barcodes: &[&str]) -> serde_json::Value {
        serde_json::json!({"sku": sku, "name": "西湖龙井 250g", "name_en": "Longjing tea 250g",
            "barcodes": barcodes, "category": "茶叶", "tax_class": "reduced", "tax_rate": "0.09",
            "unit": "piece", "price": price})
    }

    #[test]
    fn catalog_and_prices_follow_hq() {
        let mut hq = Hq::new();
        assert_eq!(
            hq.page(&[
                (
                    "catalog",
                    "TEA1",
                    Some(product("TEA1", "88.00", &["6901234567892"]))
                ),
                (
                    "catalog",
                    "TEA2",
                    Some(product("TEA2", "10", &["6909999999994"]))
                ),
            ]),
            0
        );
        let s = &hq.store;
        let p = s.product_by_barcode("6901234567892").unwrap().unwrap();
        assert_eq!(
            (p.sku.as_str(), p.price.to_string().as_str()),
            ("TEA1", "88.00")
        );
        assert_eq!(p.tax_rate.to_string(), "0.09");
        // A price change without the product; then the product again: the price row wins.
        hq.page(&[(
            "prices",
            "TEA1",
            Some(serde_json::json!({"sku": "TEA1", "price": "79.90"})),
        )]);
        let price = |hq: &Hq| {
            hq.store
                .product_by_sku("TEA1")
                .unwrap()
                .map(|p| p.price.to_string())
        };
        assert_eq!(price(&hq).as_deref(), Some("79.90"));
        hq.page(&[(
            "catalog",
            "TEA1",
            Some(product("TEA1", "90.00", &["6901234567892"])),
        )]);
        assert_eq!(price(&hq).as_deref(), Some("79.90"));
        // The price row deleted: back to the catalog's price.
        hq.page(&[("prices", "TEA1", None)]);
        assert_eq!(price(&hq).as_deref(), Some("90.00"));
        // HQ moves a barcode to another SKU.
        hq.page(&[(
            "catalog",
            "TEA2",
            Some(product("TEA2", "10", &["6909999999994", "6901234567892"])),
        )]);
        assert_eq!(
            hq.store
                .product_by_barcode("6901234567892")
                .unwrap()
                .unwrap()
                .sku,
            "TEA2"
        );
        // A deleted product stops selling.
        hq.page(&[("catalog", "TEA1", None)]);
        assert!(hq.store.product_by_sku("TEA1").unwrap().is_none());
        assert!(hq.store.hq_apply_errors().unwrap().is_empty());
    }

    #[test]
    fn a_bad_price_row_never_keeps_the_product_off_the_till() {
        let mut hq = Hq::new();
        // The price row comes first and is bad; the product still sells at the catalog price.
        hq.page(&[(
            "prices",
            "TEA1",
            Some(serde_json::json!({"sku": "TEA1", "price": "12,50"})),
        )]);
        hq.page(&[("catalog", "TEA1", Some(product("TEA1", "88.00", &[])))]);
        let price = |hq: &Hq| {
            hq.store
                .product_by_sku("TEA1")
                .unwrap()
                .map(|p| p.price.to_string())
        };
        assert_eq!(price(&hq).as_deref(), Some("88.00"));
        let errors = hq.store.hq_apply_errors().unwrap();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            (errors[0].entity.as_str(), errors[0].key.as_str()),
            ("prices", "TEA1")
        );
        // HQ fixes the price: it applies and the error goes.
        hq.page(&[(
            "prices",
            "TEA1",
            Some(serde_json::json!({"sku": "TEA1", "price": "79.00"})),
        )]);
        assert_eq!(price(&hq).as_deref(), Some("79.00"));
        assert!(hq.store.hq_apply_errors().unwrap().is_empty());
        // A catalog row that failed on its own price comes in when a good price row arrives.
        hq.page(&[("catalog", "TEA2", Some(product("TEA2", "-1", &[])))]);
        assert!(hq.store.product_by_sku("TEA2").unwrap().is_none());
        assert_eq!(hq.store.hq_apply_errors().unwrap().len(), 1);
        hq.page(&[(
            "prices",
            "TEA2",
            Some(serde_json::json!({"sku": "TEA2", "price": "4.50"})),
        )]);
        assert_eq!(
            hq.store
                .product_by_sku("TEA2")
                .unwrap()
                .map(|p| p.price.to_string())
                .as_deref(),
            Some("4.50")
        );
        assert!(hq.store.hq_apply_errors().unwrap().is_empty());
    }

    #[test]
    fn list_rows_must_carry_their_own_key() {
        let mut hq = Hq::new();
        let key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
        let n = hq.page(&[
            (
                "coupon_keys",
                "1",
                Some(serde_json::json!({"key_id": 1, "public_key": key})),
            ),
            (
                "coupon_keys",
                "2",
                Some(serde_json::json!({"key_id": 1, "public_key": key})),
            ),
        ]);
        assert_eq!(n, 1);
        let errors = hq.store.hq_apply_errors().unwrap();
        assert_eq!(errors[0].key, "2");
        assert!(errors[0].message.contains("carries key 1"), "{errors:?}");
        assert_eq!(hq.store.coupon_keys().unwrap().len(), 1);
    }

    #[test]
    fn a_bad_row_is_recorded_and_does_not_stop_the_page() {
        let mut hq = Hq::new();
        let n = hq.page(&[
            ("catalog", "BAD", Some(product("BAD", "-1", &[]))),
            ("catalog", "OK1", Some(product("OK1", "3.50", &[]))),
            ("users", "u1", Some(serde_json::json!({"user_id": "u1", "name": "王", "role": "cashier", "pin_hash": "1234"}))),
        ]);
        assert_eq!(n, 2);
        assert!(hq.store.product_by_sku("OK1").unwrap().is_some());
        assert!(hq.store.product_by_sku("BAD").unwrap().is_none());
        let errors = hq.store.hq_apply_errors().unwrap();
        assert_eq!(errors.len(), 2);
        assert!(errors[0].message.contains("negative"), "{errors:?}");
        assert!(errors[1].message.contains("never in clear"), "{errors:?}");
        // Every row is still replicated (digests stay equal across tills).
        assert_eq!(hq.store.hq_rows().unwrap().len(), 3);
        // A corrected revision applies and clears the error.
        assert_eq!(
            hq.page(&[("catalog", "BAD", Some(product("BAD", "12.50", &[])))]),
            0
        );
        assert_eq!(hq.store.hq_apply_errors().unwrap().len(), 1);
        assert!(hq.store.product_by_sku("BAD").unwrap().is_some());
    }

    #[test]
    fn members_users_and_lists() {
        let mut hq = Hq::new();
        let phc =
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";
        let promo: serde_json::Value = serde_json::from_str(
            r#"{"id": "P1", "name": "满100减10", "priority": 10,
                "benefit": {"kind": "spend_threshold", "scope": "order",
                            "tiers": [{"spend": "100", "off": "10"}], "repeat": false}}"#,
        )
        .unwrap();
        let n = hq.page(&[
            (
                "members",
                "M1",
                Some(serde_json::json!({"member_id": "M1", "name": "张伟",
                "phone": "13812341234", "card_no": "8800000001", "tier": "silver", "points": 300,
                "lifetime_points": 6000, "coupons": ["TC1.AAAA", "TC1.BBBB"]})),
            ),
            (
                "users",
                "u1",
                Some(serde_json::json!({"user_id": "u1", "name": "王",
                "role": "manager", "pin_hash": phc})),
            ),
            ("promotions", "P1", Some(promo)),
            ("promotions", "P2", Some(serde_json::json!({"id": "P2"}))),
            (
                "coupon_keys",
                "1",
                Some(serde_json::json!({"key_id": 1,
                "public_key": "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"})),
            ),
        ]);
        assert_eq!(n, 1, "the invalid promotion");
        let s = &hq.store;
        let m = s.member_by_phone("13812341234").unwrap().unwrap();
        assert_eq!((m.tier.as_str(), m.points), ("silver", 300));
        assert_eq!(s.member_lifetime_points("M1").unwrap(), 6000);
        assert_eq!(
            s.member_coupon_codes("M1").unwrap(),
            ["TC1.AAAA", "TC1.BBBB"]
        );
        assert_eq!(s.user("u1").unwrap().unwrap().pin_hash, phc);
        assert_eq!(s.promotions().unwrap().len(), 1);
        assert_eq!(s.coupon_keys().unwrap().len(), 1);
        let errors = s.hq_apply_errors().unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            (errors[0].entity.as_str(), errors[0].key.as_str()),
            ("promotions", "P2")
        );
        // Deletions: the member is anonymised, the user deactivated, the rule dropped.
        hq.page(&[
            ("members", "M1", None),
            ("users", "u1", None),
            ("promotions", "P2", None),
        ]);
        let s = &hq.store;
        assert!(s.member_by_phone("13812341234").unwrap().is_none());
        assert!(s.search_members("张伟", 10).unwrap().is_empty());
        assert!(s.member_coupon_codes("M1").unwrap().is_empty());
        assert!(
            s.find_member("M1").unwrap().is_some(),
            "history keeps the id"
        );
        assert!(!s.user("u1").unwrap().unwrap().active);
        assert!(s.hq_apply_errors().unwrap().is_empty());
    }

    #[test]
    fn settings_apply_only_to_this_store() {
        let mut hq = Hq::new();
        let mut other = tillstone_core::settings::StoreSettings::new("SH002", "上海店");
        other.store_name_en = "Shanghai".into();
        let mut mine = tillstone_core::settings::StoreSettings::new("HZ001", "西湖旗舰店");
        mine.receipt_qr = Some("https://e.example/{receipt_no}".into());
        hq.page(&[
            (
                "store_settings",
                "SH002",
                Some(serde_json::to_value(&other).unwrap()),
            ),
            (
                "store_settings",
                "HZ001",
                Some(serde_json::to_value(&mine).unwrap()),
            ),
        ]);
        assert_eq!(hq.store.settings().unwrap().unwrap(), mine);
    }
}
