//! Shifts, drawer movements and Z reports.

use crate::db::{Result, Store, StoreError};
use crate::journal::{EventKind, EventMeta, append};
use crate::sales::aggregates_on;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tillstone_core::money::{from_minor, to_minor};
use tillstone_core::report::{Aggregates, ShiftCash, ShiftReport};
use tillstone_core::settings::StoreSettings;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftRow {
    pub shift_id: String,
    pub shift_no: u64,
    pub terminal_id: String,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub opening_float: Decimal,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
    pub counted: Option<Decimal>,
    pub z_no: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    PaidIn,
    PaidOut,
    NoSale,
}

impl MovementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::PaidIn => "paid_in",
            MovementKind::PaidOut => "paid_out",
            MovementKind::NoSale => "no_sale",
        }
    }

    fn event(self) -> EventKind {
        match self {
            MovementKind::PaidIn => EventKind::PaidIn,
            MovementKind::PaidOut => EventKind::PaidOut,
            MovementKind::NoSale => EventKind::NoSale,
        }
    }
}

/// A paid-in, paid-out or no-sale drawer opening.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashMovement {
    pub movement_id: String,
    pub shift_id: String,
    pub kind: MovementKind,
    pub amount: Decimal,
    pub reason: String,
    pub user_id: String,
    pub approved_by: Option<String>,
    pub at: DateTime<Utc>,
}

fn parse_time(s: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
}

const SHIFT_COLS: &str =
    "shift_id, shift_no, terminal_id, opened_by, opened_at, opening_float_minor,
    closed_at, closed_by, counted_minor, z_no";

fn shift_row(r: &Row<'_>, mu: u32) -> rusqlite::Result<ShiftRow> {
    let closed_at: Option<String> = r.get(6)?;
    Ok(ShiftRow {
        shift_id: r.get(0)?,
        shift_no: r.get::<_, i64>(1)? as u64,
        terminal_id: r.get(2)?,
        opened_by: r.get(3)?,
        opened_at: parse_time(&r.get::<_, String>(4)?)?,
        opening_float: from_minor(r.get(5)?, mu),
        closed_at: closed_at.as_deref().map(parse_time).transpose()?,
        closed_by: r.get(7)?,
        counted: r.get::<_, Option<i64>>(8)?.map(|c| from_minor(c, mu)),
        z_no: r.get::<_, Option<i64>>(9)?.map(|z| z as u64),
    })
}

/// A shift about to be opened.
#[derive(Debug, Clone)]
pub struct NewShift<'a> {
    pub shift_id: &'a str,
    pub terminal_id: &'a str,
    pub user_id: &'a str,
    pub float: Decimal,
    pub at: DateTime<Utc>,
}

impl Store {
    /// Open a shift with a float. Fails if the terminal already has an open shift.
    pub fn open_shift(
        &mut self,
        new: &NewShift<'_>,
        event_id: &str,
        settings: &StoreSettings,
    ) -> Result<ShiftRow> {
        let NewShift {
            shift_id,
            terminal_id,
            user_id,
            float,
            at,
        } = *new;
        if let Some(open) = self.current_shift(terminal_id, settings)? {
            return Err(StoreError::Invalid(format!(
                "shift {} is already open",
                open.shift_no
            )));
        }
        let mu = settings.minor_units();
        let at_s = at.to_rfc3339();
        let tx = self.durable_tx()?;
        let shift_no: i64 = tx.query_row(
            "SELECT COALESCE(MAX(shift_no), 0) + 1 FROM shifts",
            [],
            |r| r.get(0),
        )?;
        tx.execute(
            "INSERT INTO shifts (shift_id, shift_no, terminal_id, opened_by, opened_at, opening_float_minor)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![shift_id, shift_no, terminal_id, user_id, at_s, to_minor(float, mu, settings.rounding)],
        )?;
        let row = ShiftRow {
            shift_id: shift_id.into(),
            shift_no: shift_no as u64,
            terminal_id: terminal_id.into(),
            opened_by: user_id.into(),
            opened_at: at,
            opening_float: from_minor(to_minor(float, mu, settings.rounding), mu),
            closed_at: None,
            closed_by: None,
            counted: None,
            z_no: None,
        };
        let meta = EventMeta {
            event_id,
            terminal_id,
            at: &at_s,
        };
        append(&tx, &meta, EventKind::ShiftOpen, shift_id, &row)?;
        tx.commit()?;
        Ok(row)
    }

    pub fn current_shift(
        &self,
        terminal_id: &str,
        settings: &StoreSettings,
    ) -> Result<Option<ShiftRow>> {
        let mu = settings.minor_units();
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {SHIFT_COLS} FROM shifts WHERE terminal_id = ?1 AND closed_at IS NULL"
                ),
                [terminal_id],
                |r| shift_row(r, mu),
            )
            .optional()?)
    }

    pub fn shift(&self, shift_id: &str, settings: &StoreSettings) -> Result<Option<ShiftRow>> {
        let mu = settings.minor_units();
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {SHIFT_COLS} FROM shifts WHERE shift_id = ?1"),
                [shift_id],
                |r| shift_row(r, mu),
            )
            .optional()?)
    }

    /// Record a paid-in, paid-out or no-sale, journaled.
    pub fn record_movement(
        &mut self,
        mv: &CashMovement,
        terminal_id: &str,
        event_id: &str,
        settings: &StoreSettings,
    ) -> Result<i64> {
        let at = mv.at.to_rfc3339();
        let tx = self.durable_tx()?;
        tx.execute(
            "INSERT INTO cash_movements (movement_id, shift_id, kind, amount_minor, reason, user_id, approved_by, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                mv.movement_id,
                mv.shift_id,
                mv.kind.as_str(),
                to_minor(mv.amount, settings.minor_units(), settings.rounding),
                mv.reason,
                mv.user_id,
                mv.approved_by,
                at
            ],
        )?;
        let meta = EventMeta {
            event_id,
            terminal_id,
            at: &at,
        };
        let seq = append(&tx, &meta, mv.kind.event(), &mv.movement_id, mv)?;
        tx.commit()?;
        Ok(seq)
    }

    /// A recorded movement by id (a retried paid-in/out finds the one it already made).
    pub fn movement(
        &self,
        movement_id: &str,
        settings: &StoreSettings,
    ) -> Result<Option<CashMovement>> {
        let mu = settings.minor_units();
        Ok(self
            .conn
            .query_row(
                "SELECT movement_id, shift_id, kind, amount_minor, reason, user_id, approved_by, at
                 FROM cash_movements WHERE movement_id = ?1",
                [movement_id],
                |r| {
                    let kind: String = r.get(2)?;
                    Ok(CashMovement {
                        movement_id: r.get(0)?,
                        shift_id: r.get(1)?,
                        kind: match kind.as_str() {
                            "paid_in" => MovementKind::PaidIn,
                            "paid_out" => MovementKind::PaidOut,
                            _ => MovementKind::NoSale,
                        },
                        amount: from_minor(r.get(3)?, mu),
                        reason: r.get(4)?,
                        user_id: r.get(5)?,
                        approved_by: r.get(6)?,
                        at: parse_time(&r.get::<_, String>(7)?)?,
                    })
                },
            )
            .optional()?)
    }

    /// Float, paid-in/out, no-sales and overrides of a shift.
    pub fn shift_cash(&self, shift: &ShiftRow, settings: &StoreSettings) -> Result<ShiftCash> {
        shift_cash_on(&self.conn, shift, settings)
    }

    /// The Z number the next close will get.
    pub fn next_z_no(&self) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(MAX(z_no), 0) + 1 FROM z_reports",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Close a shift with its Z report (numbered, immutable), journaled. The aggregates are
    /// read and the report is built (by `build`, from the shift, its aggregates, its cash and
    /// the Z number) inside the same IMMEDIATE transaction that closes the shift, so no sale
    /// committed meanwhile by another process can be left out of the report.
    pub fn close_shift(
        &mut self,
        shift_id: &str,
        closed_by: &str,
        event_id: &str,
        settings: &StoreSettings,
        build: impl FnOnce(&ShiftRow, Aggregates, ShiftCash, u64) -> ShiftReport,
    ) -> Result<ShiftReport> {
        let mu = settings.minor_units();
        let tx = self.durable_tx()?;
        let shift = tx
            .query_row(
                &format!("SELECT {SHIFT_COLS} FROM shifts WHERE shift_id = ?1"),
                [shift_id],
                |r| shift_row(r, mu),
            )
            .optional()?
            .ok_or_else(|| StoreError::Invalid(format!("there is no shift {shift_id}")))?;
        if shift.closed_at.is_some() {
            return Err(StoreError::ShiftClosed);
        }
        let z_no: i64 = tx.query_row(
            "SELECT COALESCE(MAX(z_no), 0) + 1 FROM z_reports",
            [],
            |r| r.get(0),
        )?;
        let agg = aggregates_on(&tx, shift_id, settings)?;
        let cash = shift_cash_on(&tx, &shift, settings)?;
        let report = build(&shift, agg, cash, z_no as u64);
        let at = report.header.at.to_rfc3339();
        let counted = report
            .cash
            .counted
            .map(|c| to_minor(c, mu, settings.rounding));
        tx.execute(
            "UPDATE shifts SET closed_at = ?2, closed_by = ?3, counted_minor = ?4, z_no = ?5
             WHERE shift_id = ?1 AND closed_at IS NULL",
            params![shift_id, at, closed_by, counted, z_no],
        )?;
        tx.execute(
            "INSERT INTO z_reports (z_no, shift_id, created_at, report) VALUES (?1, ?2, ?3, ?4)",
            params![z_no, shift_id, at, serde_json::to_string(&report)?],
        )?;
        let meta = EventMeta {
            event_id,
            terminal_id: &shift.terminal_id,
            at: &at,
        };
        append(&tx, &meta, EventKind::ZReport, shift_id, &report)?;
        tx.commit()?;
        Ok(report)
    }

    pub fn z_report(&self, z_no: u64) -> Result<Option<ShiftReport>> {
        Ok(self
            .json_docs(
                "SELECT report FROM z_reports WHERE z_no = ?1",
                [z_no as i64],
            )?
            .pop())
    }

    /// Z reports, newest first.
    pub fn z_reports(&self, limit: usize) -> Result<Vec<ShiftReport>> {
        self.json_docs(
            "SELECT report FROM z_reports ORDER BY z_no DESC LIMIT ?1",
            [limit as i64],
        )
    }
}

/// Float, paid-in/out, no-sales and overrides of a shift (on any connection or transaction).
fn shift_cash_on(
    conn: &Connection,
    shift: &ShiftRow,
    settings: &StoreSettings,
) -> Result<ShiftCash> {
    let mu = settings.minor_units();
    let (paid_in, paid_out, no_sale, mv_overrides): (i64, i64, i64, i64) = conn.query_row(
        "SELECT COALESCE(SUM(CASE kind WHEN 'paid_in' THEN amount_minor END), 0),
                COALESCE(SUM(CASE kind WHEN 'paid_out' THEN amount_minor END), 0),
                COUNT(CASE kind WHEN 'no_sale' THEN 1 END),
                COUNT(approved_by)
         FROM cash_movements WHERE shift_id = ?1",
        [&shift.shift_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let sale_overrides: i64 = conn.query_row(
        "SELECT COALESCE(SUM(override_count), 0) FROM sales WHERE shift_id = ?1",
        [&shift.shift_id],
        |r| r.get(0),
    )?;
    let voids: i64 = conn.query_row(
        "SELECT COUNT(*) FROM voids WHERE shift_id = ?1",
        [&shift.shift_id],
        |r| r.get(0),
    )?;
    Ok(ShiftCash {
        opening_float: shift.opening_float,
        paid_in: from_minor(paid_in, mu),
        paid_out: from_minor(paid_out, mu),
        no_sale_count: no_sale as u64,
        override_count: (mv_overrides + sale_overrides + voids) as u64,
    })
}
