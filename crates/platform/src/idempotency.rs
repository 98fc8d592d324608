//! Request ids (Google AIP-155): a create call retried with the same
//! `request_id` returns the first call's response instead of creating again.
//!
//! The key is (authority, method, request_id); with it the store keeps the
//! SHA-256 of the encoded request bound to the caller who made it, and the
//! encoded response, written in the same transaction as the change (so a
//! response is stored if and only if the change committed). On a retry:
//! - same request from the same caller: the stored response, no new change
//!   and no new events;
//! - a different request under the same id, or the same one from another
//!   caller: `FAILED_PRECONDITION` (the id was already spent on something
//!   else; AIP-155 leaves the code to the service and this one treats it as
//!   a client error about state, not a duplicate resource, which would be
//!   `ALREADY_EXISTS`). Another caller is never given the first caller's
//!   response: it would name them as its author, and the record it returns
//!   may be one only they can see.
//!
//! Keys are honoured for [`RETENTION_HOURS`]; an older row is removed when
//! its key is seen again (and by [`purge_expired`]).
//!
//! Concurrent calls with one key are serialised by a transaction-scoped
//! advisory lock taken before the lookup, so the second waits for the first
//! to commit or roll back and then sees its result.
//!
//! A service using it has an `idempotency` table in its schema (the cases
//! migration `idempotency.sql` defines it; scheduling's repeats it).

use chrono::{DateTime, Duration, Utc};
use prost::Message;
use sha2::{Digest as _, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::ApiError;
use crate::check::Check;

/// How long a request id is remembered.
pub const RETENTION_HOURS: i64 = 24;

/// The idempotency key of one create request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    pub method: &'static str,
    pub request_id: Uuid,
    /// SHA-256 of the encoded request.
    pub fingerprint: [u8; 32],
}

impl RequestKey {
    /// Parses `request_id` (required, UUID text) and fingerprints `request`.
    pub fn parse<M: Message>(
        check: &mut Check,
        method: &'static str,
        request_id: &str,
        request: &M,
    ) -> Option<Self> {
        let request_id = check.id("request_id", request_id)?;
        Some(Self {
            method,
            request_id,
            fingerprint: Sha256::digest(request.encode_to_vec()).into(),
        })
    }
}

/// Who spends a request id, in which authority and when: what a service's
/// call context (its `Ctx`) tells the store.
pub trait Spender {
    /// The authority the request is made in.
    fn authority(&self) -> &str;
    /// A stable id of the caller: a person's id, or a service's.
    fn caller(&self) -> String;
    /// The instant of the call.
    fn now(&self) -> DateTime<Utc>;
}

/// The fingerprint stored for `key` made by `caller` (a stable id of the
/// caller: their person id, or a service's): the request's, bound to who
/// made it.
fn bound_fingerprint(key: &RequestKey, caller: &str) -> [u8; 32] {
    let mut sha = Sha256::new();
    sha.update(b"cpc.request.v2\0");
    sha.update((caller.len() as u64).to_be_bytes());
    sha.update(caller.as_bytes());
    sha.update(key.fingerprint);
    sha.finalize().into()
}

fn lock_key(authority: &str, key: &RequestKey) -> String {
    format!("cpc.request:{authority}:{}:{}", key.method, key.request_id)
}

/// Looks `key`, spent by `by`, up: the stored response of the first call,
/// or `None` if this is the first call (then the caller holds the key's
/// lock until its transaction ends, and must [`remember`] its response).
///
/// # Errors
/// `FAILED_PRECONDITION` when the id was used for a different request or
/// by another caller; database errors.
pub async fn replay<R: Message + Default>(
    conn: &mut PgConnection,
    by: &impl Spender,
    key: &RequestKey,
) -> Result<Option<R>, ApiError> {
    let (authority, caller, now) = (by.authority(), by.caller(), by.now());
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 155))")
        .bind(lock_key(authority, key))
        .execute(&mut *conn)
        .await?;
    let expired_before = now - Duration::hours(RETENTION_HOURS);
    sqlx::query(
        "DELETE FROM idempotency \
         WHERE authority_id = $1 AND method = $2 AND request_id = $3 AND created_at < $4",
    )
    .bind(authority)
    .bind(key.method)
    .bind(key.request_id)
    .bind(expired_before)
    .execute(&mut *conn)
    .await?;
    let stored: Option<(Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "SELECT fingerprint, response FROM idempotency \
         WHERE authority_id = $1 AND method = $2 AND request_id = $3",
    )
    .bind(authority)
    .bind(key.method)
    .bind(key.request_id)
    .fetch_optional(&mut *conn)
    .await?;
    match stored {
        None => Ok(None),
        Some((fingerprint, response)) if fingerprint == bound_fingerprint(key, &caller) => {
            R::decode(response.as_slice())
                .map(Some)
                .map_err(ApiError::internal)
        }
        Some(_) => Err(ApiError::FailedPrecondition(format!(
            "request_id {} was already used for a different {} request, or by another caller; use a new request_id",
            key.request_id, key.method
        ))),
    }
}

/// Stores the response of the first call under `key`, spent by `by`, in
/// the caller's transaction.
///
/// # Errors
/// Database errors.
pub async fn remember<R: Message>(
    conn: &mut PgConnection,
    by: &impl Spender,
    key: &RequestKey,
    response: &R,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO idempotency (authority_id, method, request_id, fingerprint, response, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(by.authority())
    .bind(key.method)
    .bind(key.request_id)
    .bind(bound_fingerprint(key, &by.caller()).as_slice())
    .bind(response.encode_to_vec())
    .bind(by.now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Removes this authority's keys older than the retention period; returns
/// how many. Run it from a periodic job inside a transaction bound to the authority (`crate::db::begin_for_authority`).
///
/// # Errors
/// Database errors.
pub async fn purge_expired(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<u64, ApiError> {
    let done = sqlx::query("DELETE FROM idempotency WHERE created_at < $1")
        .bind(now - Duration::hours(RETENTION_HOURS))
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
