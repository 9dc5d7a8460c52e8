//! Terminal identity, store settings, users and persisted carts.

use crate::db::{Result, Store, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use tillstone_core::auth::Role;
use tillstone_core::cart::Cart;
use tillstone_core::promo::Rule;
use tillstone_core::settings::StoreSettings;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub user_id: String,
    pub name: String,
    pub role: Role,
    /// argon2 PHC string.
    #[serde(skip_serializing)]
    pub pin_hash: String,
    pub active: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CartStatus {
    Open,
    Parked,
}

impl CartStatus {
    fn as_str(self) -> &'static str {
        match self {
            CartStatus::Open => "open",
            CartStatus::Parked => "parked",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCart {
    pub cart: Cart,
    pub status: CartStatus,
    pub user_id: String,
    pub label: String,
    pub updated_at: String,
}

impl Store {
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    pub fn settings(&self) -> Result<Option<StoreSettings>> {
        self.meta("settings")?
            .map(|s| serde_json::from_str(&s).map_err(StoreError::from))
            .transpose()
    }

    pub fn set_settings(&self, settings: &StoreSettings) -> Result<()> {
        self.set_meta("settings", &serde_json::to_string(settings)?)
    }

    /// The promotion rules in force (HQ sends them down; until sync exists they are imported).
    pub fn promotions(&self) -> Result<Vec<Rule>> {
        self.meta("promotions")?
            .map(|s| serde_json::from_str(&s).map_err(StoreError::from))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// Replace the promotion rules; every rule must validate.
    pub fn set_promotions(&self, rules: &[Rule]) -> Result<()> {
        for r in rules {
            r.validate()
                .map_err(|e| StoreError::Invalid(format!("promotion {}: {e}", r.id)))?;
        }
        self.set_meta("promotions", &serde_json::to_string(rules)?)
    }

    pub fn upsert_user(&self, u: &UserRow) -> Result<()> {
        self.conn.execute(
            "INSERT INTO users (user_id, name, role, pin_hash, active) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, role = excluded.role,
                pin_hash = excluded.pin_hash, active = excluded.active",
            params![u.user_id, u.name, u.role.as_str(), u.pin_hash, u.active],
        )?;
        Ok(())
    }

    fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRow> {
        let role: String = r.get(2)?;
        Ok(UserRow {
            user_id: r.get(0)?,
            name: r.get(1)?,
            role: Role::parse(&role).unwrap_or(Role::Cashier),
            pin_hash: r.get(3)?,
            active: r.get(4)?,
        })
    }

    pub fn user(&self, user_id: &str) -> Result<Option<UserRow>> {
        Ok(self
            .conn
            .query_row(
                "SELECT user_id, name, role, pin_hash, active FROM users WHERE user_id = ?1",
                [user_id],
                Self::user_from_row,
            )
            .optional()?)
    }

    pub fn users(&self) -> Result<Vec<UserRow>> {
        let mut stmt = self
            .conn
            .prepare("SELECT user_id, name, role, pin_hash, active FROM users ORDER BY user_id")?;
        let rows = stmt
            .query_map([], Self::user_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Persist a cart in progress. Carts without tenders are not committed history: they are
    /// written with `synchronous=NORMAL` (no fsync per scan); the next durable commit syncs
    /// them too. A cart with tenders is written with `synchronous=FULL`.
    pub fn save_cart(
        &self,
        cart: &Cart,
        status: CartStatus,
        user_id: &str,
        label: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        // A cart holding tenders is money taken (a card charged, a wallet paid): that is
        // written durably like history.
        let _relaxed = if cart.tenders.is_empty() {
            Some(crate::db::RelaxedSync::new(&self.conn)?)
        } else {
            self.conn.pragma_update(None, "synchronous", "FULL")?;
            None
        };
        self.conn.prepare_cached(
            "INSERT INTO carts (cart_id, status, user_id, label, updated_at, cart) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (cart_id) DO UPDATE SET status = excluded.status, user_id = excluded.user_id,
                label = excluded.label, updated_at = excluded.updated_at, cart = excluded.cart",
        )?
        .execute(params![
            cart.cart_id,
            status.as_str(),
            user_id,
            label,
            at.to_rfc3339(),
            serde_json::to_string(cart)?
        ])?;
        Ok(())
    }

    fn stored_cart(
        r: &rusqlite::Row<'_>,
    ) -> rusqlite::Result<(String, String, String, String, String)> {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    }

    fn decode_cart(row: (String, String, String, String, String)) -> Result<StoredCart> {
        let (cart, status, user_id, label, updated_at) = row;
        Ok(StoredCart {
            cart: serde_json::from_str(&cart)?,
            status: if status == "parked" {
                CartStatus::Parked
            } else {
                CartStatus::Open
            },
            user_id,
            label,
            updated_at,
        })
    }

    pub fn cart(&self, cart_id: &str) -> Result<Option<StoredCart>> {
        self.conn
            .query_row(
                "SELECT cart, status, user_id, label, updated_at FROM carts WHERE cart_id = ?1",
                [cart_id],
                Self::stored_cart,
            )
            .optional()?
            .map(Self::decode_cart)
            .transpose()
    }

    pub fn carts(&self, status: CartStatus) -> Result<Vec<StoredCart>> {
        let mut stmt = self.conn.prepare(
            "SELECT cart, status, user_id, label, updated_at FROM carts WHERE status = ?1 ORDER BY updated_at",
        )?;
        let rows = stmt
            .query_map([status.as_str()], Self::stored_cart)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(Self::decode_cart).collect()
    }

    pub fn delete_cart(&self, cart_id: &str) -> Result<bool> {
        let _relaxed = crate::db::RelaxedSync::new(&self.conn)?;
        Ok(self
            .conn
            .execute("DELETE FROM carts WHERE cart_id = ?1", [cart_id])?
            > 0)
    }
}
