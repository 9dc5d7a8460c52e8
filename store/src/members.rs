//! Members: lookup (phone, last 4 digits, card number, name, dynamic QR code), sign-ups at the
//! till, and loyalty points. Schema and indexes: `migrations/V3__members.sql`.
//!
//! # Search ([`Store::search_members`])
//!
//! The query is read by [`parse_query`]: 11 digits are a phone number (then a card number),
//! 4 digits the last 4 of the phone (ordered by name), other digits a card number (then a
//! phone number), anything else a name (an exact card number first when it looks like one).
//! Every kind goes to an index; nothing scans the members table:
//!
//! 1. exact name, then names starting with the query, in name order (the `members (name)`
//!    B-tree: "张" finds 张伟, 张伟明…);
//! 2. if that did not fill the page: names containing the query, case-insensitive, through the
//!    `member_gram` FTS5 index of characters and 2-character grams ("晓明" finds 张晓明,
//!    "zhang" finds Emily Zhang). The first [`NAME_CANDIDATES`] matches are ranked: whole
//!    name, name prefix, word prefix, contained, then shorter names first.
//!
//! Results are [`Member`]s with the full phone, for the terminal; whatever leaves the terminal
//! goes through [`tillstone_core::member::MemberView`], which masks it. `points` is the
//! current balance: the opening balance HQ pushed plus the member's point counter.
//!
//! # Sign-ups ([`Store::sign_up_member`])
//!
//! One durable transaction writes the member and the `member_signups` row (phone, consent and
//! its time, terminal, cashier). A retry with the same member id answers as the first call; a
//! phone that already belongs to a member answers [`SignUpOutcome::AlreadyMember`].
//! Journal: the terminal journals the sign-up as the event `member_sign_up` (ref = member id,
//! payload = the [`MemberSignUp`] as JSON) so it syncs through the outbox.
//!
//! # Points
//!
//! [`PointEvent`]s are stored once by event id (a second insert of the same event is a no-op;
//! the same id with other content is refused); a trigger adds each to its member's PN-counter
//! in the same transaction. [`Store::record_point_event`] is for events made here (a
//! redemption may not overdraw the balance); [`Store::import_point_events`] and
//! [`Store::merge_point_counter`] take what other terminals and HQ made, unchecked.

use crate::db::{Result, Store, StoreError};
use crate::journal::{EventKind, EventMeta, append};
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use tillstone_core::member::{Member, MemberQuery, parse_query};
use tillstone_core::points::{PnCounter, PointEvent, PointKind, QrError, verify_member_qr};

/// Largest page of search results.
pub const MAX_LIMIT: usize = 100;
/// Name-contains matches fetched for ranking before the best are returned.
pub const NAME_CANDIDATES: usize = 300;
/// Longest member name accepted at sign-up, in characters.
pub const MAX_NAME_CHARS: usize = 50;

/// The member columns, `points` being the current balance.
const COLS: &str = "m.member_id, m.name, m.phone, m.card_no, m.tier, m.points + COALESCE(
    (SELECT SUM(MAX(c.ev_p, c.sync_p)) - SUM(MAX(c.ev_n, c.sync_n))
     FROM member_point_counters c WHERE c.member_id = m.member_id), 0)";

fn member(r: &rusqlite::Row<'_>) -> rusqlite::Result<Member> {
    Ok(Member {
        member_id: r.get(0)?,
        name: r.get(1)?,
        phone: r.get(2)?,
        card_no: r.get(3)?,
        tier: r.get(4)?,
        points: r.get(5)?,
    })
}

fn invalid(msg: impl Into<String>) -> StoreError {
    StoreError::Invalid(msg.into())
}

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/// A customer signing up at the till. Ids and times are made by the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSignUp {
    /// New member id (UUIDv7).
    pub member_id: String,
    /// The sign-up event's id (UUIDv7): the outbox id when it is journaled.
    pub event_id: String,
    pub terminal_id: String,
    /// The cashier who signed the customer up.
    pub user_id: String,
    /// Mobile number: 11 digits (a leading +86 / 86 is dropped), or `+` and 6-15 digits.
    pub phone: String,
    /// May be empty (the customer can add it in the member app).
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub card_no: Option<String>,
    /// The tier a new member starts in (e.g. `standard`).
    pub tier: String,
    /// The customer agreed to the membership terms and privacy notice; required.
    pub consent: bool,
    pub consent_at: DateTime<Utc>,
    pub signed_up_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignUpOutcome {
    /// Signed up now, or by an earlier call with the same member id (a retry).
    Created(Member),
    /// The phone already belongs to this member; nothing was written.
    AlreadyMember(Member),
}

/// What a scanned member QR code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrLookup {
    Found(Member),
    /// Not a valid code now (malformed, forged, expired, not yet valid).
    Refused(QrError),
    /// A genuine code for a member this terminal does not know (yet).
    UnknownMember(String),
}

// ---------------------------------------------------------------------------------------------
// Members and search
// ---------------------------------------------------------------------------------------------

impl Store {
    /// Add or replace a member (HQ push, demo data), keeping the search indexes in step.
    /// `points` is the opening balance; point events add to it.
    pub fn upsert_member(&self, m: &Member) -> Result<()> {
        write_tx(&self.conn, |c| write_member(c, m))
    }

    /// [`Store::upsert_member`] for many members in one transaction; returns how many.
    pub fn upsert_members(&mut self, members: &[Member]) -> Result<u64> {
        let tx = self.durable_tx()?;
        for m in members {
            write_member(&tx, m)?;
        }
        tx.commit()?;
        Ok(members.len() as u64)
    }

    pub fn member_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM member_key", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
    }

    pub fn find_member(&self, member_id: &str) -> Result<Option<Member>> {
        let sql = format!("SELECT {COLS} FROM members m WHERE m.member_id = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([member_id], member)
            .optional()?)
    }

    pub fn member_by_phone(&self, phone: &str) -> Result<Option<Member>> {
        let sql = format!("SELECT {COLS} FROM members m WHERE m.phone = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([phone], member)
            .optional()?)
    }

    /// The member of a dynamic QR code (`TM1.<member_id>.<minute>.<mac>`, see
    /// [`tillstone_core::points::verify_member_qr`]) checked with the shared `secret` at
    /// `now_minute` (Unix time / 60).
    pub fn member_by_qr(&self, code: &str, secret: &[u8], now_minute: i64) -> Result<QrLookup> {
        match verify_member_qr(code, secret, now_minute) {
            Err(e) => Ok(QrLookup::Refused(e)),
            Ok(id) => Ok(match self.find_member(&id)? {
                Some(m) => QrLookup::Found(m),
                None => QrLookup::UnknownMember(id),
            }),
        }
    }

    /// Find members by full phone, last 4 digits, card number or name (see the module docs),
    /// at most `limit` (1 to [`MAX_LIMIT`]).
    pub fn search_members(&self, query: &str, limit: usize) -> Result<Vec<Member>> {
        let Some(q) = parse_query(query) else {
            return Ok(Vec::new());
        };
        let mut found = Found::new(limit.clamp(1, MAX_LIMIT));
        match q {
            MemberQuery::Phone(p) => {
                found.extend(self.member_by_phone(&p)?);
                found.extend(self.member_by_card(&p)?);
            }
            MemberQuery::PhoneSuffix(s) => {
                let sql = format!(
                    "SELECT {COLS} FROM members m WHERE m.phone_last4 = ?1
                     ORDER BY m.phone_last4, m.name LIMIT ?2"
                );
                found.extend(self.query_members(&sql, params![s, found.room()])?);
                found.extend(self.member_by_card(&s)?);
            }
            MemberQuery::Card(c) => {
                found.extend(self.member_by_card(&c)?);
                found.extend(self.member_by_phone(&c)?);
            }
            MemberQuery::Name(n) => {
                if looks_like_card(&n) {
                    found.extend(self.member_by_card(&n)?);
                }
                self.members_by_name(&n, &mut found)?;
            }
        }
        Ok(found.out)
    }

    fn member_by_card(&self, card: &str) -> Result<Option<Member>> {
        let sql = format!("SELECT {COLS} FROM members m WHERE m.card_no = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([card], member)
            .optional()?)
    }

    fn members_by_name(&self, query: &str, found: &mut Found) -> Result<()> {
        let whole = query.split_whitespace().collect::<Vec<_>>().join(" ");
        if whole.is_empty() {
            return Ok(());
        }
        // 1. Exact and prefix, in name order, from the B-tree.
        let sql = format!(
            "SELECT {COLS} FROM members m WHERE m.name >= ?1 AND m.name < ?2
             ORDER BY m.name LIMIT ?3"
        );
        let prefix = self.query_members(&sql, params![whole, prefix_end(&whole), found.room()])?;
        found.extend(prefix);
        if found.full() {
            return Ok(());
        }
        // 2. Contained (case-insensitive), through the gram index, ranked.
        let lower = whole.to_lowercase();
        let terms: Vec<&str> = lower.split(' ').collect();
        let Some(expr) = gram_match(&terms) else {
            return Ok(());
        };
        let sql = format!(
            "SELECT {COLS} FROM (SELECT rowid AS id FROM member_gram WHERE member_gram MATCH ?1
                                 LIMIT {NAME_CANDIDATES}) g
             JOIN member_key k ON k.id = g.id JOIN members m ON m.member_id = k.member_id"
        );
        let mut candidates: Vec<(u8, usize, Member)> = self
            .query_members(&sql, params![expr])?
            .into_iter()
            .filter_map(|m| {
                let name = m.name.to_lowercase();
                if !terms.iter().all(|t| name.contains(t)) {
                    return None;
                }
                let rank = if name == lower {
                    0
                } else if name.starts_with(&lower) {
                    1
                } else if name
                    .match_indices(&lower)
                    .any(|(i, _)| name[..i].ends_with(|c: char| !c.is_alphanumeric()))
                {
                    2
                } else if name.contains(&lower) {
                    3
                } else {
                    4
                };
                Some((rank, m.name.chars().count(), m))
            })
            .collect();
        candidates.sort_by(|a, b| {
            (a.0, a.1, &a.2.name, &a.2.member_id).cmp(&(b.0, b.1, &b.2.name, &b.2.member_id))
        });
        found.extend(candidates.into_iter().map(|(_, _, m)| m));
        Ok(())
    }

    fn query_members(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<Member>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(args, member)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    // -----------------------------------------------------------------------------------------
    // Sign-ups
    // -----------------------------------------------------------------------------------------

    /// Sign a customer up (see the module docs). Refused ([`StoreError::Invalid`]) without
    /// consent, with an invalid phone or name, or a card number that belongs to someone else.
    pub fn sign_up_member(&mut self, s: &MemberSignUp) -> Result<SignUpOutcome> {
        let phone = normalize_phone(&s.phone)
            .ok_or_else(|| invalid(format!("{:?} is not a mobile number", s.phone)))?;
        if !s.consent {
            return Err(invalid(
                "the customer must agree to the membership terms and privacy notice first",
            ));
        }
        for (what, v) in [
            ("member id", &s.member_id),
            ("event id", &s.event_id),
            ("terminal id", &s.terminal_id),
            ("user id", &s.user_id),
        ] {
            if v.trim().is_empty() {
                return Err(invalid(format!("the sign-up has no {what}")));
            }
        }
        let name = s.name.trim();
        if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(invalid(format!(
                "the name must be at most {MAX_NAME_CHARS} characters, without control characters"
            )));
        }
        let card_no = s
            .card_no
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());

        let tx = self.durable_tx()?;
        let signed_phone: Option<String> = tx
            .query_row(
                "SELECT phone FROM member_signups WHERE member_id = ?1",
                [&s.member_id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(p) = signed_phone {
            drop(tx);
            if p != phone {
                return Err(invalid(format!(
                    "member id {} was already used for another sign-up",
                    s.member_id
                )));
            }
            let m = self.find_member(&s.member_id)?.ok_or_else(|| {
                invalid(format!("member {} is signed up but missing", s.member_id))
            })?;
            return Ok(SignUpOutcome::Created(m));
        }
        let holder: Option<String> = tx
            .query_row(
                "SELECT member_id FROM members WHERE phone = ?1",
                [&phone],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = holder {
            drop(tx);
            let m = self
                .find_member(&id)?
                .ok_or_else(|| invalid(format!("member {id} disappeared")))?;
            return Ok(SignUpOutcome::AlreadyMember(m));
        }
        let taken = |sql: &str, v: &str| -> Result<bool> {
            Ok(tx.query_row(sql, [v], |_| Ok(())).optional()?.is_some())
        };
        if taken("SELECT 1 FROM members WHERE member_id = ?1", &s.member_id)? {
            return Err(invalid(format!(
                "member id {} belongs to another member",
                s.member_id
            )));
        }
        if let Some(card) = card_no
            && taken("SELECT 1 FROM members WHERE card_no = ?1", card)?
        {
            return Err(invalid(format!(
                "card {card} already belongs to another member"
            )));
        }
        let m = Member {
            member_id: s.member_id.clone(),
            name: name.to_string(),
            phone: phone.clone(),
            card_no: card_no.map(str::to_string),
            tier: s.tier.clone(),
            points: 0,
        };
        write_member(&tx, &m)?;
        tx.execute(
            "INSERT INTO member_signups (member_id, event_id, terminal_id, user_id, phone, consent,
                 consent_at, signed_up_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                s.member_id,
                s.event_id,
                s.terminal_id,
                s.user_id,
                phone,
                s.consent,
                time_text(&s.consent_at),
                time_text(&s.signed_up_at)
            ],
        )?;
        let at = s.signed_up_at.to_rfc3339();
        let meta = EventMeta {
            event_id: &s.event_id,
            terminal_id: &s.terminal_id,
            at: &at,
        };
        // The sync event carries the profile fields HQ merges (last writer wins by HLC).
        let mut payload = serde_json::to_value(s)?;
        payload["fields"] = serde_json::json!({
            "name": s.name,
            "phone": normalize_phone(&s.phone).unwrap_or_else(|| s.phone.clone()),
            "card_no": s.card_no,
            "tier": s.tier,
        });
        append(&tx, &meta, EventKind::MemberSignUp, &s.member_id, &payload)?;
        tx.commit()?;
        Ok(SignUpOutcome::Created(m))
    }

    /// The sign-up record of a member signed up at this till: (terminal, user, consent,
    /// consent time, sign-up time).
    pub fn member_signup(&self, member_id: &str) -> Result<Option<SignUpRecord>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT event_id, terminal_id, user_id, consent, consent_at, signed_up_at
                 FROM member_signups WHERE member_id = ?1",
            )?
            .query_row([member_id], |r| {
                Ok(SignUpRecord {
                    event_id: r.get(0)?,
                    terminal_id: r.get(1)?,
                    user_id: r.get(2)?,
                    consent: r.get(3)?,
                    consent_at: r.get(4)?,
                    signed_up_at: r.get(5)?,
                })
            })
            .optional()?)
    }

    // -----------------------------------------------------------------------------------------
    // Points
    // -----------------------------------------------------------------------------------------

    /// Record a point event made on this terminal, durably. Returns false when the event was
    /// already recorded (a retry). Refused: an invalid event, an unknown member, a redemption
    /// larger than the balance, an event id reused with other content.
    pub fn record_point_event(&mut self, e: &PointEvent) -> Result<bool> {
        e.validate().map_err(|err| invalid(err.to_string()))?;
        let tx = self.durable_tx()?;
        if existing_event(&tx, &e.event_id)?.is_none() {
            let balance: Option<i64> = tx
                .query_row(
                    &format!("SELECT {COLS} FROM members m WHERE m.member_id = ?1"),
                    [&e.member_id],
                    |r| r.get(5),
                )
                .optional()?;
            let Some(balance) = balance else {
                return Err(invalid(format!("no member {}", e.member_id)));
            };
            if e.kind == PointKind::Redeem && balance.saturating_add(e.points) < 0 {
                return Err(invalid(format!(
                    "not enough points: the balance is {balance}, {} requested",
                    -e.points
                )));
            }
        }
        let inserted = insert_point_event(&tx, e)?;
        tx.commit()?;
        Ok(inserted)
    }

    /// Store point events made elsewhere (synced down), in one transaction; no balance check.
    /// Returns how many were new.
    pub fn import_point_events(&mut self, events: &[PointEvent]) -> Result<u64> {
        let tx = self.durable_tx()?;
        let mut new = 0;
        for e in events {
            new += u64::from(insert_point_event(&tx, e)?);
        }
        tx.commit()?;
        Ok(new)
    }

    /// Merge a member's counter as another replica (HQ) has it: per terminal, the larger sums.
    pub fn merge_point_counter(&mut self, member_id: &str, counter: &PnCounter) -> Result<()> {
        let tx = self.durable_tx()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO member_point_counters (member_id, terminal_id, sync_p, sync_n)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (member_id, terminal_id) DO UPDATE
                 SET sync_p = MAX(sync_p, excluded.sync_p), sync_n = MAX(sync_n, excluded.sync_n)",
            )?;
            let actors: HashSet<&String> = counter.p.keys().chain(counter.n.keys()).collect();
            for actor in actors {
                let (p, n) = counter.actor(actor);
                let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
                stmt.execute(params![member_id, actor, clamp(p), clamp(n)])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// A member's counter as this terminal knows it (events here merged with HQ's counters).
    pub fn point_counter(&self, member_id: &str) -> Result<PnCounter> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT terminal_id, MAX(ev_p, sync_p), MAX(ev_n, sync_n)
             FROM member_point_counters WHERE member_id = ?1",
        )?;
        let rows = stmt.query_map([member_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut c = PnCounter::new();
        for row in rows {
            let (actor, p, n) = row?;
            c.increment(&actor, p.max(0).unsigned_abs());
            c.decrement(&actor, n.max(0).unsigned_abs());
        }
        Ok(c)
    }

    /// The member's balance: opening balance (0 if the member is not known here) plus counter.
    pub fn point_balance(&self, member_id: &str) -> Result<i64> {
        balance_in(&self.conn, member_id)
    }

    /// A member's point events known here, newest first, at most `limit`.
    pub fn point_events(&self, member_id: &str, limit: usize) -> Result<Vec<PointEvent>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT event_id, member_id, terminal_id, kind, points, at, ref_id
             FROM member_point_events WHERE member_id = ?1 ORDER BY at DESC, event_id DESC
             LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![member_id, limit as i64], raw_event)?;
        rows.map(|r| r.map_err(StoreError::from).and_then(RawEvent::into_event))
            .collect()
    }
}

/// A sign-up as recorded at this till.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignUpRecord {
    pub event_id: String,
    pub terminal_id: String,
    pub user_id: String,
    pub consent: bool,
    /// RFC 3339.
    pub consent_at: String,
    pub signed_up_at: String,
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/// Insert or update a member and its search keys, inside the caller's transaction.
pub(crate) fn write_member(conn: &Connection, m: &Member) -> Result<()> {
    if m.member_id.trim().is_empty() || m.phone.trim().is_empty() {
        return Err(invalid("a member needs a member id and a phone"));
    }
    let old_name: Option<String> = conn
        .prepare_cached("SELECT name FROM members WHERE member_id = ?1")?
        .query_row([&m.member_id], |r| r.get(0))
        .optional()?;
    let last4: String = {
        let chars: Vec<char> = m.phone.chars().collect();
        chars[chars.len().saturating_sub(4)..].iter().collect()
    };
    conn.prepare_cached(
        "INSERT INTO members (member_id, name, phone, phone_last4, card_no, tier, points,
            lifetime_points)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, max(?7, 0))
         ON CONFLICT (member_id) DO UPDATE SET name = excluded.name, phone = excluded.phone,
            phone_last4 = excluded.phone_last4, card_no = excluded.card_no,
            tier = excluded.tier, points = excluded.points",
    )?
    .execute(params![
        m.member_id,
        m.name,
        m.phone,
        last4,
        m.card_no,
        m.tier,
        m.points
    ])?;
    if old_name.as_deref() == Some(m.name.as_str()) {
        return Ok(());
    }
    let inserted = conn
        .prepare_cached("INSERT INTO member_key (member_id) VALUES (?1) ON CONFLICT DO NOTHING")?
        .execute([&m.member_id])?;
    let id: i64 = if inserted == 1 {
        conn.last_insert_rowid()
    } else {
        let id = conn
            .prepare_cached("SELECT id FROM member_key WHERE member_id = ?1")?
            .query_row([&m.member_id], |r| r.get(0))?;
        conn.prepare_cached("DELETE FROM member_gram WHERE rowid = ?1")?
            .execute([id])?;
        id
    };
    conn.prepare_cached("INSERT INTO member_gram (rowid, grams) VALUES (?1, ?2)")?
        .execute(params![id, gram_text(&m.name)])?;
    Ok(())
}

/// Store one point event inside the caller's transaction (for the sale that earns or redeems
/// them, in the sale's own transaction). True if new; false if this very event is already
/// stored; refused if the id is stored with other content.
pub(crate) fn insert_point_event(conn: &Connection, e: &PointEvent) -> Result<bool> {
    e.validate().map_err(|err| invalid(err.to_string()))?;
    let inserted = conn
        .prepare_cached(
            "INSERT INTO member_point_events (event_id, member_id, terminal_id, kind, points, at,
                 ref_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (event_id) DO NOTHING",
        )?
        .execute(params![
            e.event_id,
            e.member_id,
            e.terminal_id,
            e.kind.as_str(),
            e.points,
            time_text(&e.at),
            e.ref_id
        ])?;
    if inserted == 1 {
        return Ok(true);
    }
    match existing_event(conn, &e.event_id)? {
        Some(stored) if stored == *e => Ok(false),
        _ => Err(invalid(format!(
            "point event {} is already recorded with other content",
            e.event_id
        ))),
    }
}

fn existing_event(conn: &Connection, event_id: &str) -> Result<Option<PointEvent>> {
    conn.prepare_cached(
        "SELECT event_id, member_id, terminal_id, kind, points, at, ref_id
         FROM member_point_events WHERE event_id = ?1",
    )?
    .query_row([event_id], raw_event)
    .optional()?
    .map(RawEvent::into_event)
    .transpose()
}

struct RawEvent {
    event_id: String,
    member_id: String,
    terminal_id: String,
    kind: String,
    points: i64,
    at: String,
    ref_id: Option<String>,
}

fn raw_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawEvent> {
    Ok(RawEvent {
        event_id: r.get(0)?,
        member_id: r.get(1)?,
        terminal_id: r.get(2)?,
        kind: r.get(3)?,
        points: r.get(4)?,
        at: r.get(5)?,
        ref_id: r.get(6)?,
    })
}

impl RawEvent {
    fn into_event(self) -> Result<PointEvent> {
        let kind = PointKind::parse(&self.kind)
            .ok_or_else(|| invalid(format!("stored point kind {:?} is unknown", self.kind)))?;
        let at = DateTime::parse_from_rfc3339(&self.at)
            .map_err(|e| invalid(format!("stored time {:?}: {e}", self.at)))?
            .with_timezone(&Utc);
        Ok(PointEvent {
            event_id: self.event_id,
            member_id: self.member_id,
            terminal_id: self.terminal_id,
            kind,
            points: self.points,
            at,
            ref_id: self.ref_id,
        })
    }
}

fn time_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// `BEGIN IMMEDIATE`, or a savepoint inside a caller's transaction; rolled back on error.
fn write_tx<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    let nested = !conn.is_autocommit();
    conn.execute_batch(if nested {
        "SAVEPOINT tillstone_members"
    } else {
        "BEGIN IMMEDIATE"
    })?;
    match f(conn) {
        Ok(v) => {
            conn.execute_batch(if nested {
                "RELEASE tillstone_members"
            } else {
                "COMMIT"
            })?;
            Ok(v)
        }
        Err(e) => {
            let undo = if nested {
                "ROLLBACK TO tillstone_members; RELEASE tillstone_members"
            } else {
                "ROLLBACK"
            };
            if let Err(re) = conn.execute_batch(undo) {
                tracing::error!(error = %re, "members: rollback failed");
            }
            Err(e)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Search results without duplicates, up to a limit.
struct Found {
    limit: usize,
    out: Vec<Member>,
    seen: HashSet<String>,
}

impl Found {
    fn new(limit: usize) -> Self {
        Found {
            limit,
            out: Vec::new(),
            seen: HashSet::new(),
        }
    }

    fn full(&self) -> bool {
        self.out.len() >= self.limit
    }

    /// Rows still wanted (at least 1, for a LIMIT).
    fn room(&self) -> i64 {
        self.limit.saturating_sub(self.out.len()).max(1) as i64
    }

    fn extend(&mut self, members: impl IntoIterator<Item = Member>) {
        for m in members {
            if self.full() {
                return;
            }
            if self.seen.insert(m.member_id.clone()) {
                self.out.push(m);
            }
        }
    }
}

/// Smallest string greater than every string that starts with `prefix` (BINARY collation).
fn prefix_end(prefix: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + 4);
    s.push_str(prefix);
    s.push(char::MAX);
    s
}

/// A card number that is not all digits ("VIP0042").
fn looks_like_card(q: &str) -> bool {
    q.len() >= 4
        && q.bytes().all(|b| b.is_ascii_alphanumeric())
        && q.bytes().any(|b| b.is_ascii_digit())
}

/// The name's search tokens: every character and every pair of neighbouring characters,
/// lowercased, space separated (the FTS tokenizer splits pairs around punctuation and spaces).
/// The V3 backfill writes the same tokens in SQL.
pub(crate) fn gram_text(name: &str) -> String {
    let chars: Vec<char> = name.to_lowercase().chars().collect();
    let mut out = String::with_capacity(name.len() * 4);
    for (i, c) in chars.iter().enumerate() {
        out.push(' ');
        out.push(*c);
        if let Some(next) = chars.get(i + 1) {
            out.push(' ');
            out.push(*c);
            out.push(*next);
        }
    }
    out
}

/// The FTS5 query for name terms: each alphanumeric run as its single character or all its
/// 2-character grams, ANDed. None if nothing is searchable.
fn gram_match(terms: &[&str]) -> Option<String> {
    let mut grams: Vec<String> = Vec::new();
    for term in terms {
        for run in term.split(|c: char| !c.is_alphanumeric()) {
            let chars: Vec<char> = run.chars().collect();
            match chars.len() {
                0 => {}
                1 => grams.push(chars[0].to_string()),
                _ => grams.extend(chars.windows(2).map(|w| w.iter().collect())),
            }
        }
    }
    grams.sort();
    grams.dedup();
    if grams.is_empty() {
        return None;
    }
    Some(
        grams
            .iter()
            .map(|g| format!("\"{}\"", g.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" AND "),
    )
}

/// A mobile number as stored: 11 digits starting with 1 (a leading `+86` / `86` dropped), or
/// another country's `+` and 6 to 15 digits. Spaces and dashes are ignored.
pub fn normalize_phone(raw: &str) -> Option<String> {
    let s: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let (plus, digits) = match s.strip_prefix('+') {
        Some(d) => (true, d),
        None => (false, s.as_str()),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cn = |d: &str| d.len() == 11 && d.starts_with('1');
    if let Some(rest) = digits.strip_prefix("86")
        && cn(rest)
    {
        return Some(rest.to_string());
    }
    if !plus && cn(digits) {
        return Some(digits.to_string());
    }
    if plus && (6..=15).contains(&digits.len()) {
        return Some(format!("+{digits}"));
    }
    None
}

/// A member's balance read inside the caller's transaction: opening balance plus counters.
pub(crate) fn balance_in(conn: &Connection, member_id: &str) -> Result<i64> {
    let opening: i64 = conn
        .prepare_cached("SELECT points FROM members WHERE member_id = ?1")?
        .query_row([member_id], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    let counters: i64 = conn
        .prepare_cached(
            "SELECT COALESCE(SUM(MAX(ev_p, sync_p)) - SUM(MAX(ev_n, sync_n)), 0)
             FROM member_point_counters WHERE member_id = ?1",
        )?
        .query_row([member_id], |r| r.get(0))?;
    Ok(opening.saturating_add(counters))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grams_and_matches() {
        assert_eq!(gram_text("张伟"), " 张 张伟 伟");
        assert_eq!(gram_text("AB"), " a ab b");
        assert_eq!(gram_match(&["晓明"]).as_deref(), Some("\"晓明\""));
        assert_eq!(gram_match(&["伟"]).as_deref(), Some("\"伟\""));
        assert_eq!(
            gram_match(&["emily", "z"]).as_deref(),
            Some("\"em\" AND \"il\" AND \"ly\" AND \"mi\" AND \"z\"")
        );
        assert_eq!(gram_match(&["-", "·"]), None);
    }

    #[test]
    fn phones() {
        assert_eq!(
            normalize_phone("138 1234 1234").as_deref(),
            Some("13812341234")
        );
        assert_eq!(
            normalize_phone("+86 138-1234-1234").as_deref(),
            Some("13812341234")
        );
        assert_eq!(
            normalize_phone("8613812341234").as_deref(),
            Some("13812341234")
        );
        assert_eq!(
            normalize_phone("+852 9123 4567").as_deref(),
            Some("+85291234567")
        );
        assert_eq!(normalize_phone("23812341234"), None);
        assert_eq!(normalize_phone("1381234123"), None);
        assert_eq!(normalize_phone("abc"), None);
        assert_eq!(normalize_phone("+1234"), None);
        assert_eq!(normalize_phone(""), None);
    }

    #[test]
    fn cards() {
        assert!(looks_like_card("VIP0042"));
        assert!(!looks_like_card("Emily"));
        assert!(!looks_like_card("A1"));
        assert!(!looks_like_card("张伟1234"));
    }
}
