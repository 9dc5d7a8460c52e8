//! A print queue persisted in SQLite, so receipts survive a printer out of paper, a pulled
//! cable or a restart of the till.
//!
//! Jobs print strictly in order: the oldest pending job blocks the ones after it until it
//! prints. A job is marked done only after its bytes were written and the printer reported
//! ready afterwards; a done job is never printed again (except through [`PrintQueue::reprint_last`],
//! which adds a new job). Run one worker per printer.

use crate::printer::{PrintOutcome, Printer, PrinterError};
use crate::receipt::ReceiptDoc;
use crate::status::PrinterProblem;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum QueueError {
    #[error("print queue database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("receipt cannot be stored: {0}")]
    Json(#[from] serde_json::Error),
}

/// What a job prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobPayload {
    /// Ready ESC/POS bytes.
    Bytes(Vec<u8>),
    /// A receipt, encoded with the printer's profile when it prints (stored as JSON).
    Receipt(Box<ReceiptDoc>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Pending,
    Done,
    /// The job itself is broken (unreadable receipt); kept for the back office, skipped.
    Failed,
}

impl JobState {
    fn from_db(s: &str) -> JobState {
        match s {
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            _ => JobState::Pending,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobInfo {
    pub job_id: String,
    pub created_at: String,
    pub state: JobState,
    /// Times the bytes were sent to the printer.
    pub attempts: u32,
    /// Why the job is still pending (or failed): a [`PrinterProblem`] code or an error text.
    pub reason: Option<String>,
    pub reprint_of: Option<String>,
}

impl JobInfo {
    /// The printer problem holding this job back, if that is the reason.
    pub fn problem(&self) -> Option<PrinterProblem> {
        self.reason.as_deref().and_then(PrinterProblem::from_code)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    Added,
    /// A job with this id is already queued (retried enqueue): nothing added.
    AlreadyQueued,
}

/// What one worker step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// No pending job.
    Idle,
    Printed {
        job_id: String,
    },
    /// The printer is not ready (nothing sent), or reported a problem after the job was
    /// sent (it will be printed again in full). The job stays pending.
    Blocked {
        job_id: String,
        problem: PrinterProblem,
        sent: bool,
    },
    /// The printer could not be reached or written to; the job stays pending.
    Error {
        job_id: String,
        reason: String,
    },
    /// The job cannot ever print (its receipt does not decode); marked failed and skipped.
    Failed {
        job_id: String,
        reason: String,
    },
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS print_jobs (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id      TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('bytes', 'receipt')),
    payload     BLOB NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    reason      TEXT,
    reprint_of  TEXT,
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS print_jobs_state_seq ON print_jobs (state, seq);
";

pub struct PrintQueue {
    conn: Connection,
}

impl PrintQueue {
    /// Open (or create) the queue's table in the SQLite file at `path`.
    pub fn open(path: &Path) -> Result<Self, QueueError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(PrintQueue { conn })
    }

    /// Add a job. `job_id` is the caller's (e.g. the sale id); enqueuing the same id twice
    /// adds nothing.
    pub fn enqueue(
        &self,
        job_id: &str,
        created_at: &str,
        payload: &JobPayload,
    ) -> Result<Enqueued, QueueError> {
        let (kind, bytes) = match payload {
            JobPayload::Bytes(b) => ("bytes", b.clone()),
            JobPayload::Receipt(doc) => ("receipt", serde_json::to_vec(doc)?),
        };
        let n = self.conn.execute(
            "INSERT INTO print_jobs (job_id, created_at, kind, payload) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (job_id) DO NOTHING",
            params![job_id, created_at, kind, bytes],
        )?;
        tracing::info!(job_id, kind, added = n == 1, "print job queued");
        Ok(if n == 1 {
            Enqueued::Added
        } else {
            Enqueued::AlreadyQueued
        })
    }

    fn info(row: &rusqlite::Row<'_>) -> rusqlite::Result<JobInfo> {
        Ok(JobInfo {
            job_id: row.get("job_id")?,
            created_at: row.get("created_at")?,
            state: JobState::from_db(&row.get::<_, String>("state")?),
            attempts: row.get("attempts")?,
            reason: row.get("reason")?,
            reprint_of: row.get("reprint_of")?,
        })
    }

    pub fn job(&self, job_id: &str) -> Result<Option<JobInfo>, QueueError> {
        Ok(self
            .conn
            .query_row(
                "SELECT * FROM print_jobs WHERE job_id = ?1",
                [job_id],
                Self::info,
            )
            .optional()?)
    }

    /// Pending jobs, oldest first (the first one's `reason` is what the cashier should see).
    pub fn pending(&self) -> Result<Vec<JobInfo>, QueueError> {
        let mut st = self
            .conn
            .prepare("SELECT * FROM print_jobs WHERE state = 'pending' ORDER BY seq")?;
        let rows = st.query_map([], Self::info)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// All jobs in queue order.
    pub fn jobs(&self) -> Result<Vec<JobInfo>, QueueError> {
        let mut st = self.conn.prepare("SELECT * FROM print_jobs ORDER BY seq")?;
        let rows = st.query_map([], Self::info)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn set_reason(&self, seq: i64, reason: &str, sent: bool) -> Result<(), QueueError> {
        self.conn.execute(
            "UPDATE print_jobs SET reason = ?2, attempts = attempts + ?3,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE seq = ?1 AND state = 'pending'",
            params![seq, reason, i64::from(sent)],
        )?;
        Ok(())
    }

    /// Try to print the oldest pending job once.
    pub fn process_next(&self, printer: &mut Printer) -> Result<Step, QueueError> {
        let next = self
            .conn
            .query_row(
                "SELECT seq, job_id, kind, payload FROM print_jobs
                 WHERE state = 'pending' ORDER BY seq LIMIT 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                    ))
                },
            )
            .optional()?;
        let Some((seq, job_id, kind, payload)) = next else {
            return Ok(Step::Idle);
        };
        let bytes = if kind == "receipt" {
            let encoded = serde_json::from_slice::<ReceiptDoc>(&payload)
                .map_err(|e| e.to_string())
                .map(|doc| printer.encode(&doc));
            match encoded {
                Ok(Ok(b)) => b,
                Ok(Err(e @ PrinterError::Font(_))) => {
                    // The installation lacks a font: not the job's fault, keep it.
                    let reason = e.to_string();
                    self.set_reason(seq, &reason, false)?;
                    return Ok(Step::Error { job_id, reason });
                }
                Ok(Err(e)) => return self.fail(seq, job_id, e.to_string()),
                Err(e) => return self.fail(seq, job_id, e),
            }
        } else {
            payload
        };
        match printer.print_bytes(&bytes) {
            Ok(PrintOutcome::Printed { .. }) => {
                self.conn.execute(
                    "UPDATE print_jobs SET state = 'done', reason = NULL, attempts = attempts + 1,
                         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                     WHERE seq = ?1 AND state = 'pending'",
                    [seq],
                )?;
                tracing::info!(job_id, "print job done");
                Ok(Step::Printed { job_id })
            }
            Ok(PrintOutcome::NotPrinted { problem }) => {
                self.set_reason(seq, problem.code(), false)?;
                Ok(Step::Blocked {
                    job_id,
                    problem,
                    sent: false,
                })
            }
            Ok(PrintOutcome::Unconfirmed { problem }) => {
                self.set_reason(seq, problem.code(), true)?;
                Ok(Step::Blocked {
                    job_id,
                    problem,
                    sent: true,
                })
            }
            Err(e) => {
                let reason = e.to_string();
                tracing::warn!(job_id, %reason, "print job not printed");
                self.set_reason(seq, &reason, false)?;
                Ok(Step::Error { job_id, reason })
            }
        }
    }

    fn fail(&self, seq: i64, job_id: String, reason: String) -> Result<Step, QueueError> {
        tracing::error!(job_id, %reason, "print job cannot print; marked failed");
        self.conn.execute(
            "UPDATE print_jobs SET state = 'failed', reason = ?2,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE seq = ?1",
            params![seq, reason],
        )?;
        Ok(Step::Failed { job_id, reason })
    }

    /// Delete printed jobs whose printing ended before `before` (UTC, as `updated_at` stores it:
    /// `2026-11-25T10:00:00.000Z`), except the most recent printed job, which
    /// [`PrintQueue::reprint_last`] copies. Pending jobs stay until they print and failed ones
    /// stay for the back office. Returns how many jobs were deleted.
    ///
    /// A receipt job keeps the whole receipt (logo included), so without pruning the queue
    /// grows with every sale. A pruned job's id is forgotten: enqueuing that id again (not done
    /// by the till: a receipt is queued once, with its sale) would print it again.
    pub fn prune_printed(&self, before: &str) -> Result<usize, QueueError> {
        let n = self.conn.execute(
            "DELETE FROM print_jobs
             WHERE state = 'done' AND updated_at < ?1
               AND seq < (SELECT MAX(seq) FROM print_jobs WHERE state = 'done')",
            [before],
        )?;
        if n > 0 {
            tracing::info!(
                deleted = n,
                before,
                "printed jobs pruned from the print queue"
            );
        }
        Ok(n)
    }

    /// Queue a copy of the most recent printed job under `new_job_id` (the customer asks for
    /// their receipt again). `None` when nothing has printed yet.
    pub fn reprint_last(
        &self,
        new_job_id: &str,
        created_at: &str,
    ) -> Result<Option<JobInfo>, QueueError> {
        let n = self.conn.execute(
            "INSERT INTO print_jobs (job_id, created_at, kind, payload, reprint_of)
             SELECT ?1, ?2, kind, payload, job_id FROM print_jobs
             WHERE state = 'done' ORDER BY seq DESC LIMIT 1
             ON CONFLICT (job_id) DO NOTHING",
            params![new_job_id, created_at],
        )?;
        if n == 0 {
            return Ok(None);
        }
        self.job(new_job_id)
    }
}
