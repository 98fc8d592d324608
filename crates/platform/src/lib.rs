//! What every cpc service stands on.
//!
//! A service crate describes itself as a [`Component`] (its gRPC name, its
//! Postgres schema, its migrations and how it mounts its RPCs); this crate
//! does the rest the same way for all of them: layered configuration,
//! telemetry, a pool per schema with migrations under an advisory lock,
//! error mapping to `tonic::Status` with `google.rpc` details, health,
//! reflection and graceful shutdown.

pub mod access;
pub mod audit_api;
pub mod audit_log;
pub mod audit_watch;
pub mod case_members;
pub mod census_codes;
pub mod check;
pub mod config;
pub mod convert;
pub mod db;
pub mod deadline;
pub mod error;
pub mod feeds;
pub mod idempotency;
pub mod outbox;
pub mod paging;
pub mod policy_watch;
pub mod rate_limit;
mod redact;
pub mod serve;
pub mod shutdown;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;

pub use config::Config;
pub use error::{ApiError, FieldViolations};
pub use serve::{Component, LocatedChild, Mount, Server};

/// Tables every service has in its own schema (the change feed; the audit
/// log comes from `cpc_audit::MIGRATOR`), merged with the service's
/// migrations when its schema is migrated.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
