//! Member lookup (phone, last 4 digits, card number, name), indexed.

use crate::db::{Result, Store};
use rusqlite::params;
use tillstone_core::member::{Member, MemberQuery, parse_query};

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

const COLS: &str = "member_id, name, phone, card_no, tier, points";

impl Store {
    pub fn upsert_member(&self, m: &Member) -> Result<()> {
        let last4: String = m
            .phone
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        self.conn.execute(
            "INSERT INTO members (member_id, name, phone, phone_last4, card_no, tier, points)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (member_id) DO UPDATE SET name = excluded.name, phone = excluded.phone,
                phone_last4 = excluded.phone_last4, card_no = excluded.card_no,
                tier = excluded.tier, points = excluded.points",
            params![
                m.member_id,
                m.name,
                m.phone,
                last4,
                m.card_no,
                m.tier,
                m.points
            ],
        )?;
        Ok(())
    }

    /// Find members by full phone, last 4 digits, card number or name (prefix first, then
    /// contained), at most `limit`.
    pub fn search_members(&self, query: &str, limit: usize) -> Result<Vec<Member>> {
        let Some(q) = parse_query(query) else {
            return Ok(Vec::new());
        };
        let limit = limit.clamp(1, 100) as i64;
        let (sql, arg) = match q {
            MemberQuery::Phone(p) => (
                format!("SELECT {COLS} FROM members WHERE phone = ?1 LIMIT ?2"),
                p,
            ),
            MemberQuery::PhoneSuffix(s) => (
                format!("SELECT {COLS} FROM members WHERE phone_last4 = ?1 ORDER BY name LIMIT ?2"),
                s,
            ),
            MemberQuery::Card(c) => (
                format!("SELECT {COLS} FROM members WHERE card_no = ?1 LIMIT ?2"),
                c,
            ),
            MemberQuery::Name(n) => (
                format!(
                    "SELECT {COLS} FROM members WHERE name LIKE ?1 ESCAPE '\\'
                     ORDER BY (substr(name, 1, length(?3)) = ?3) DESC, name LIMIT ?2"
                ),
                n,
            ),
        };
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = if sql.contains("?3") {
            let escaped = arg
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            stmt.query_map(params![format!("%{escaped}%"), limit, arg], member)?
                .collect::<rusqlite::Result<Vec<_>>>()?
        } else {
            stmt.query_map(params![arg, limit], member)?
                .collect::<rusqlite::Result<Vec<_>>>()?
        };
        Ok(rows)
    }
}
