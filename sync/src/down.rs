//! Down-sync: HQ → terminals, for the entities HQ is the only writer of.
//!
//! Catalog, prices, promotions, campaigns, coupon keys, members, users/PINs and store settings
//! are written at HQ only; terminals hold read replicas. Every write at HQ gives the row the
//! next **revision** of the tenant (one server-assigned, strictly increasing `u64` counter,
//! starting at 1, shared by all entities); a delete writes a **tombstone** (`deleted: true`) with
//! a new revision. The server keeps only the latest row per `(entity, key)`.
//!
//! A terminal keeps a **cursor** per entity: the revision up to which it has applied that
//! entity's changes (0: nothing yet). It pulls the rows with `revision > cursor`, in ascending
//! revision order, page by page, and [`apply_changes`]:
//!
//! * validates the whole page first (all rows of the cursor's entity, revisions ≥ 1 and strictly
//!   ascending) and changes nothing if it is malformed;
//! * skips rows with `revision <= cursor` (a replayed page): **idempotent**;
//! * upserts every other row by key, keeping the higher revision; a tombstone replaces the row
//!   and is kept, so no older write can bring it back;
//! * advances the cursor to the page's last revision (or to the server's `next_cursor` when it is
//!   further: the server may skip revisions that are not visible to this store). A cursor never
//!   goes backwards.
//!
//! Since the cursor is only saved together with the rows it covers (one local transaction),
//! an interrupted pull **resumes** from the saved cursor; a page lost in transit is pulled again.
//! Because the server keeps only the latest row per key, a row changed several times while a
//! terminal was offline arrives once, at its latest revision. The server may drop tombstones
//! older than its horizon only once it answers a cursor below that horizon with a full resync
//! (a later protocol version; version 1 servers keep tombstones).

use crate::wire::{PROTOCOL_VERSION, PullPage, PullRequest};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// What HQ writes and terminals replicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Catalog,
    Prices,
    Promotions,
    Campaigns,
    CouponKeys,
    Members,
    Users,
    StoreSettings,
}

impl Entity {
    pub const ALL: [Entity; 8] = [
        Entity::Catalog,
        Entity::Prices,
        Entity::Promotions,
        Entity::Campaigns,
        Entity::CouponKeys,
        Entity::Members,
        Entity::Users,
        Entity::StoreSettings,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Catalog => "catalog",
            Entity::Prices => "prices",
            Entity::Promotions => "promotions",
            Entity::Campaigns => "campaigns",
            Entity::CouponKeys => "coupon_keys",
            Entity::Members => "members",
            Entity::Users => "users",
            Entity::StoreSettings => "store_settings",
        }
    }
}

impl std::fmt::Display for Entity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One version of one row. `data` is the entity's JSON document (`null` for a tombstone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub entity: Entity,
    pub key: String,
    pub revision: u64,
    pub deleted: bool,
    pub data: Value,
}

/// Cursors on the wire: entity → last applied revision (a missing entity is 0).
pub type Cursors = BTreeMap<Entity, u64>;

/// A terminal's position in one entity's change stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cursor {
    pub entity: Entity,
    pub revision: u64,
}

impl Cursor {
    pub fn start(entity: Entity) -> Cursor {
        Cursor {
            entity,
            revision: 0,
        }
    }
}

/// The replica of one entity: the latest row per key, tombstones included.
pub type Table = BTreeMap<String, Row>;

/// A page that cannot be applied. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DownError {
    #[error("a row of {found} in a page for {expected}")]
    WrongEntity { expected: Entity, found: Entity },
    #[error("revision 0 is not a revision (they start at 1)")]
    ZeroRevision,
    #[error("revisions must ascend strictly: {after} is followed by {found}")]
    NotAscending { after: u64, found: u64 },
    #[error("next cursor {next} of {entity} is below the page's last revision {last}")]
    CursorBehindRows {
        entity: Entity,
        next: u64,
        last: u64,
    },
    #[error("the page answers cursors {requested:?}, the replica is at {current:?}")]
    StalePage {
        requested: Cursors,
        current: Cursors,
    },
}

/// What [`apply_changes`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    pub upserted: usize,
    pub deleted: usize,
    /// Rows at or below the cursor (already applied).
    pub skipped: usize,
}

fn validate_rows(entity: Entity, rows: &[Row]) -> Result<(), DownError> {
    let mut prev = 0u64;
    for r in rows {
        if r.entity != entity {
            return Err(DownError::WrongEntity {
                expected: entity,
                found: r.entity,
            });
        }
        if r.revision == 0 {
            return Err(DownError::ZeroRevision);
        }
        if r.revision <= prev {
            return Err(DownError::NotAscending {
                after: prev,
                found: r.revision,
            });
        }
        prev = r.revision;
    }
    Ok(())
}

/// Apply one entity's rows to its table and cursor (see the module docs). All or nothing.
pub fn apply_changes(
    table: &mut Table,
    cursor: &mut Cursor,
    rows: &[Row],
) -> Result<Applied, DownError> {
    validate_rows(cursor.entity, rows)?;
    let mut applied = Applied::default();
    for r in rows {
        if r.revision <= cursor.revision {
            applied.skipped += 1;
            continue;
        }
        let newer = table
            .get(&r.key)
            .is_none_or(|cur| cur.revision < r.revision);
        if newer {
            table.insert(r.key.clone(), r.clone());
        }
        if r.deleted {
            applied.deleted += 1;
        } else {
            applied.upserted += 1;
        }
        cursor.revision = r.revision;
    }
    Ok(applied)
}

/// A terminal's replica of every entity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mirror {
    tables: BTreeMap<Entity, Table>,
    cursors: Cursors,
}

impl Mirror {
    pub fn new() -> Mirror {
        Mirror::default()
    }

    pub fn cursors(&self) -> &Cursors {
        &self.cursors
    }

    pub fn cursor(&self, entity: Entity) -> Cursor {
        Cursor {
            entity,
            revision: self.cursors.get(&entity).copied().unwrap_or(0),
        }
    }

    /// The request for the next page.
    pub fn pull_request(&self) -> PullRequest {
        PullRequest {
            version: PROTOCOL_VERSION,
            cursors: self.cursors.clone(),
            limit: None,
            count_remaining: None,
        }
    }

    /// Apply a page answering a request made with `requested` cursors. A page for other cursors
    /// than the mirror's (a late answer to an older request) is refused: applying it could skip
    /// rows. All or nothing.
    pub fn apply_page(
        &mut self,
        requested: &Cursors,
        page: &PullPage,
    ) -> Result<Applied, DownError> {
        let norm = |c: &Cursors| -> Cursors {
            c.iter()
                .filter(|(_, v)| **v > 0)
                .map(|(k, v)| (*k, *v))
                .collect()
        };
        if norm(requested) != norm(&self.cursors) {
            return Err(DownError::StalePage {
                requested: requested.clone(),
                current: self.cursors.clone(),
            });
        }
        let mut by_entity: BTreeMap<Entity, Vec<Row>> = BTreeMap::new();
        for r in &page.rows {
            by_entity.entry(r.entity).or_default().push(r.clone());
        }
        for (e, rows) in &by_entity {
            validate_rows(*e, rows)?;
            let last = rows.last().map(|r| r.revision).unwrap_or(0);
            let next = page.next_cursors.get(e).copied().unwrap_or(0);
            if next < last {
                return Err(DownError::CursorBehindRows {
                    entity: *e,
                    next,
                    last,
                });
            }
        }
        let mut total = Applied::default();
        for (e, rows) in by_entity {
            let mut cursor = self.cursor(e);
            let table = self.tables.entry(e).or_default();
            let a = apply_changes(table, &mut cursor, &rows)?;
            total.upserted += a.upserted;
            total.deleted += a.deleted;
            total.skipped += a.skipped;
            self.cursors.insert(e, cursor.revision);
        }
        for (e, &next) in &page.next_cursors {
            let c = self.cursors.entry(*e).or_insert(0);
            *c = (*c).max(next);
        }
        Ok(total)
    }

    /// A live (not deleted) row.
    pub fn get(&self, entity: Entity, key: &str) -> Option<&Row> {
        self.tables.get(&entity)?.get(key).filter(|r| !r.deleted)
    }

    /// Live rows of an entity: key → data.
    pub fn live(&self, entity: Entity) -> BTreeMap<String, Value> {
        self.tables
            .get(&entity)
            .map(|t| {
                t.iter()
                    .filter(|(_, r)| !r.deleted)
                    .map(|(k, r)| (k.clone(), r.data.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The server's change log of one tenant (pure model): writes get revisions, pulls page through
/// them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangeLog {
    revision: u64,
    rows: BTreeMap<(Entity, String), Row>,
    index: BTreeMap<(Entity, u64), String>,
}

/// Default and largest page size, in rows.
pub const DEFAULT_PAGE_ROWS: usize = 500;
pub const MAX_PAGE_ROWS: usize = 5000;

impl ChangeLog {
    pub fn new() -> ChangeLog {
        ChangeLog::default()
    }

    /// The last revision assigned (0: none).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    fn write(&mut self, entity: Entity, key: &str, deleted: bool, data: Value) -> u64 {
        self.revision += 1;
        let k = (entity, key.to_string());
        if let Some(old) = self.rows.get(&k) {
            self.index.remove(&(entity, old.revision));
        }
        self.index.insert((entity, self.revision), key.to_string());
        self.rows.insert(
            k,
            Row {
                entity,
                key: key.to_string(),
                revision: self.revision,
                deleted,
                data,
            },
        );
        self.revision
    }

    /// HQ creates or changes a row; returns its revision.
    pub fn put(&mut self, entity: Entity, key: &str, data: Value) -> u64 {
        self.write(entity, key, false, data)
    }

    /// HQ deletes a row (a tombstone); returns its revision.
    pub fn delete(&mut self, entity: Entity, key: &str) -> u64 {
        self.write(entity, key, true, Value::Null)
    }

    /// Answer a pull: up to `limit` rows (default [`DEFAULT_PAGE_ROWS`], at most
    /// [`MAX_PAGE_ROWS`]) with `revision > cursor`, entity by entity in [`Entity::ALL`] order,
    /// ascending revision within an entity. `next_cursors` holds every entity's cursor after the
    /// page; `more` tells whether rows remain.
    pub fn pull(&self, req: &PullRequest) -> PullPage {
        let limit = req
            .limit
            .map(|l| l as usize)
            .unwrap_or(DEFAULT_PAGE_ROWS)
            .clamp(1, MAX_PAGE_ROWS);
        let mut rows = Vec::new();
        let mut next = Cursors::new();
        let mut more = false;
        for e in Entity::ALL {
            let from = req.cursors.get(&e).copied().unwrap_or(0);
            let mut cursor = from;
            let mut pending = self
                .index
                .range((e, from.saturating_add(1))..=(e, u64::MAX))
                .peekable();
            while rows.len() < limit {
                let Some(((_, rev), key)) = pending.next() else {
                    break;
                };
                rows.push(self.rows[&(e, key.clone())].clone());
                cursor = *rev;
            }
            if pending.peek().is_some() {
                more = true;
            }
            next.insert(e, cursor);
        }
        // Version 2's progress count: rows above the cursors after this page.
        let remaining = (req.count_remaining == Some(true)).then(|| {
            Entity::ALL
                .iter()
                .map(|e| {
                    let after = next.get(e).copied().unwrap_or(0);
                    self.index
                        .range((*e, after.saturating_add(1))..=(*e, u64::MAX))
                        .count() as u64
                })
                .sum()
        });
        PullPage {
            // Answer in the request's version.
            version: req.version,
            rows,
            next_cursors: next,
            more,
            remaining,
        }
    }

    /// Live rows of an entity: key → data.
    pub fn live(&self, entity: Entity) -> BTreeMap<String, Value> {
        self.rows
            .iter()
            .filter(|((e, _), r)| *e == entity && !r.deleted)
            .map(|((_, k), r)| (k.clone(), r.data.clone()))
            .collect()
    }
}
