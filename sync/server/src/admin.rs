//! HQ administration: imports of the rows HQ sends down (`sync/ROWS.md` describes each row),
//! signed coupon packs, and the per-store daily report. Used by the `tillstone-cloud` CLI.
//!
//! * [`import`]: catalog (CSV + tax classes), prices (CSV), campaigns, members, users,
//!   promotions, store settings (JSON arrays or JSON Lines). Files are streamed, written in
//!   batches, every bad row reported with its line, all-or-nothing unless asked otherwise, and
//!   idempotent (unchanged rows make no revision).
//! * [`coupons`]: issuer key generation (the public key is published as a `coupon_keys` row) and
//!   pack issuing with serials reserved atomically in the database.
//! * [`report`]: a store's day (local time) from the events terminals pushed.

pub mod coupons;
pub mod import;
pub mod jsonseq;
pub mod report;

use crate::storage::StorageError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file as a whole cannot be read (bad header, broken JSON structure): nothing written.
    #[error("{}, line {line}: {message}", path.display())]
    File {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{0}")]
    Invalid(String),
}

impl AdminError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> AdminError {
        AdminError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

pub type Result<T, E = AdminError> = std::result::Result<T, E>;
