//! cpc-audit: the tamper-evident record of every access decision about a
//! child's data, allowed or denied (UK GDPR Art. 5(2) accountability for
//! special category data; OWASP ASVS 4.0 V7 at level 3).
//!
//! Each cpc service keeps **one audit log in its own schema**: the table
//! `audit_log`, created by [`MIGRATOR`], which the platform merges with the
//! service's own migrations and runs with `search_path` set to the service's
//! schema (the SQL names no schema).
//!
//! * **Append-only by construction.** A statement trigger refuses every
//!   UPDATE, DELETE and TRUNCATE with SQLSTATE [`APPEND_ONLY_SQLSTATE`]; a
//!   row trigger refuses any insert that does not extend the chain
//!   ([`CHAIN_LINK_SQLSTATE`]).
//! * **Hash-chained.** Entry `n` stores `hash = SHA-256(prev_hash ||
//!   canonical_encoding(n, record))` with `prev_hash` the hash of entry
//!   `n - 1` (32 zero bytes for entry 1); see [`canonical_encoding`].
//!   Sequence numbers are 1, 2, 3... without gaps.
//! * **Atomic with the access.** [`append`] runs as the last statement of
//!   the caller's transaction; [`append_standalone`] commits on its own for
//!   decisions that change nothing.
//! * **Verifiable.** [`verify`] / [`verify_range`] recompute the chain and
//!   report the first break; [`verify_against_anchor`] also catches a
//!   truncated tail, given a head kept outside the database;
//!   [`verify_since`] checks only what was appended after such a head.
//! * **Searchable.** [`list_access`]: who accessed this child or case, newest
//!   first, keyset-paginated.
//!
//! # No personal data
//! Records carry identifiers only (subjects, UUIDs, method names, policy
//! ids), never names, dates of birth, addresses or case content, `reason`
//! included: the log cannot be corrected or erased. See [`NewAuditRecord`].
//!
//! # What the triggers do not stop
//! The table's owner can disable its triggers, and a superuser can bypass
//! them (`session_replication_role = replica`). Run services as a role that
//! has only `SELECT, INSERT` on `audit_log` and does not own it, and anchor
//! verified heads elsewhere: the chain then makes any edit, deletion or
//! truncation by such a role detectable.
//!
//! # Mapping onto `cpc.audit.v1`
//! [`AuditEntry`] → `AccessRecord` (`seq` → `sequence`, `prev_hash` →
//! `previous_hash`, `hash` → `record_hash`, `action` → `rpc_method`);
//! [`AccessQuery`] / [`AccessPage`] ↔ `ListAccessRecords`; [`VerifyRange`] /
//! [`VerifyReport`] / [`BreakReason`] ↔ `VerifyAuditChain`.

mod append;
mod error;
mod hash;
mod list;
mod record;
mod row;
mod transaction;
mod verify;

pub use append::{CHAIN_LOCK_CLASS, append, append_standalone};
pub use error::AuditError;
pub use hash::{
    ChainHash, ENCODING_TAG, ENCODING_TAG_CREDENTIAL, ENCODING_TAG_NAMED, ENCODING_TAG_POLICY_SET,
    canonical_encoding, chain_hash,
};
pub use list::{AccessPage, AccessQuery, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, list_access};
pub use record::{
    AuditEntry, Decision, MAX_CHILD_IDS, MAX_CREDENTIAL_ID_LEN, MAX_ID_LEN, MAX_POLICY_IDS,
    MAX_REASON_LEN, NamedRecord, NewAuditRecord, UnknownDecision, is_policy_digest,
};
pub use transaction::begin;
pub use verify::{
    Anchor, BreakReason, VerifyRange, VerifyReport, verify, verify_against_anchor, verify_range,
    verify_since,
};

/// The `audit_log` table, its indexes and triggers. Version 1 (small
/// versions are reserved for platform tables such as this one; services use
/// 14-digit timestamps). Run with `search_path` set to the service's schema.
///
/// Versions in use: 1 (the log), 5 (the named record), 7 (the credential),
/// 8 (the policy set), 9 (the index of denials' policies); the platform's
/// own tables use 2 to 4 and 6.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// SQLSTATE raised when UPDATE, DELETE or TRUNCATE is tried on `audit_log`.
pub const APPEND_ONLY_SQLSTATE: &str = "23Z01";

/// SQLSTATE raised when an insert into `audit_log` does not extend the chain
/// (wrong seq or `prev_hash`).
pub const CHAIN_LINK_SQLSTATE: &str = "23Z02";
