//! `tillstone-cloud`: the HQ service terminals replicate with.
//!
//! * [`storage`]: the [`Storage`] trait (every query bound to the authenticated tenant) and
//!   database URL handling; [`sqlite`]: the SQLite backend (WAL, `synchronous=FULL`, embedded
//!   migrations); [`postgres`]: the PostgreSQL backend (several processes on one database).
//! * [`server`]: the axum API (`/v1/enroll`, `/v1/push`, `/v1/pull`, `/v1/coupons/status`,
//!   `/healthz`, `/metrics`); [`openapi`]: its OpenAPI document at `/openapi.json`.
//! * [`metrics`]: Prometheus text metrics.
//! * [`tls`]: optional HTTPS termination (rustls) for `serve --tls-cert/--tls-key`.
//!
//! The replication rules themselves live in `tillstone-sync` (the pure model); the push logic
//! here applies the same rules as `tillstone_sync::Replica::receive_batch`, in one database
//! transaction per batch.

pub mod admin;
pub mod metrics;
pub mod openapi;
pub mod postgres;
pub mod server;
pub mod sqlite;
pub mod storage;
pub mod tls;

pub use postgres::PostgresStorage;
pub use server::{Config, EnrollResponse, router, serve, serve_tls, shutdown_signal};
pub use sqlite::SqliteStorage;
pub use storage::{DbUrl, Enrolled, Principal, Storage, StorageError, open};
