//! Appending to the chain.

use chrono::DateTime;
use sqlx::{Connection as _, PgConnection, PgPool};

use crate::AuditError;
use crate::hash::{ChainHash, chain_hash};
use crate::record::{AuditEntry, NewAuditRecord};

/// First key of the two-key advisory lock that serialises appends ("cpca").
/// The second key is the `audit_log` table's oid, so each service's chain
/// (one per schema) has its own lock, and the two-key space cannot collide
/// with the one-key (`bigint`) locks used elsewhere, e.g. by migrations.
pub const CHAIN_LOCK_CLASS: i32 = 0x6370_6361;

/// Appends `record` to the log as the next entry and returns it.
///
/// # Contract: the last statement of the caller's transaction
/// Call this on the connection of the transaction that carries out the
/// access being recorded, **as its last statement, immediately before
/// commit**:
///
/// ```no_run
/// # async fn example(
/// #     pool: sqlx::PgPool,
/// #     record: cpc_audit::NewAuditRecord,
/// # ) -> Result<(), cpc_audit::AuditError> {
/// let mut tx = cpc_audit::begin(&pool).await?;
/// // ... the change itself, on &mut *tx ...
/// cpc_audit::append(&mut tx, &record).await?;
/// tx.commit().await?;
/// # Ok(())
/// # }
/// ```
///
/// The change and its audit record then commit together or not at all: a
/// rollback leaves neither, and no gap in the sequence.
///
/// `append` takes `pg_advisory_xact_lock` on this schema's chain, reads the
/// head `(seq, hash)` and inserts `seq + 1` linked to it. The lock is held
/// until the transaction ends, so every other append in the service waits
/// from here to your commit: do nothing slow (no RPCs, no user-visible
/// work) between `append` and `commit`. Appending several records in one
/// transaction is fine: the lock is re-entrant and each append sees the
/// one before.
///
/// The transaction must be READ COMMITTED (Postgres's default): each
/// statement then sees the head committed just before the lock was granted.
/// Under REPEATABLE READ or SERIALIZABLE the snapshot may predate the lock,
/// so `append` refuses with [`AuditError::IsolationLevel`].
///
/// `occurred_at` is truncated to whole microseconds, as Postgres stores it,
/// before hashing, so the returned entry is exactly what a later read sees.
///
/// # Errors
/// [`AuditError::InvalidRecord`] before touching the database;
/// [`AuditError::NotInTransaction`] when `conn` has no transaction open
/// through sqlx ([`crate::begin`], or `conn.begin()`);
/// [`AuditError::IsolationLevel`]; [`AuditError::Database`]. After any
/// error other than the first two, roll the transaction back.
pub async fn append(
    conn: &mut PgConnection,
    record: &NewAuditRecord,
) -> Result<AuditEntry, AuditError> {
    record.validate()?;
    if !conn.is_in_transaction() {
        return Err(AuditError::NotInTransaction);
    }
    let mut record = record.clone();
    record.occurred_at = DateTime::from_timestamp_micros(record.occurred_at.timestamp_micros())
        .ok_or(AuditError::InvalidRecord {
            field: "occurred_at",
            problem: "is out of range",
        })?;

    // The lock and the head read must be separate statements: a READ
    // COMMITTED statement's snapshot is taken when it starts, so only a
    // statement that starts after the lock is granted sees the latest head.
    let isolation: String = sqlx::query_scalar(
        "SELECT current_setting('transaction_isolation') \
         FROM (SELECT pg_advisory_xact_lock($1, 'audit_log'::regclass::oid::int4)) AS chain_lock",
    )
    .bind(CHAIN_LOCK_CLASS)
    .fetch_one(&mut *conn)
    .await?;
    if isolation != "read committed" {
        return Err(AuditError::IsolationLevel(isolation));
    }

    let head: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    let (seq, prev_hash) = match head {
        None => (1, ChainHash::GENESIS),
        Some((head_seq, hash)) => {
            let hash = ChainHash::from_slice(&hash).ok_or_else(|| AuditError::Unreadable {
                seq: head_seq,
                detail: "hash is not 32 bytes".to_owned(),
            })?;
            let seq = head_seq.checked_add(1).ok_or(AuditError::Unreadable {
                seq: head_seq,
                detail: "sequence exhausted".to_owned(),
            })?;
            (seq, hash)
        }
    };
    let hash = chain_hash(&prev_hash, seq, &record);

    sqlx::query(
        "INSERT INTO audit_log (seq, occurred_at, request_id, actor_subject, actor_kind, \
             on_behalf_of, role, authority_id, agency, case_id, child_ids, action, decision, \
             policy_ids, reason, named_kind, named_id, credential_id, policy_set, prev_hash, \
             hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                 $18, $19, $20, $21)",
    )
    .bind(seq)
    .bind(record.occurred_at)
    .bind(&record.request_id)
    .bind(&record.actor_subject)
    .bind(&record.actor_kind)
    .bind(&record.on_behalf_of)
    .bind(&record.role)
    .bind(&record.authority_id)
    .bind(&record.agency)
    .bind(record.case_id)
    .bind(&record.child_ids)
    .bind(&record.action)
    .bind(record.decision.as_str())
    .bind(&record.policy_ids)
    .bind(&record.reason)
    .bind(record.named.as_ref().map(|n| n.kind.as_str()))
    .bind(record.named.as_ref().map(|n| n.id.as_str()))
    .bind(&record.credential_id)
    .bind(&record.policy_set)
    .bind(prev_hash.as_bytes().as_slice())
    .bind(hash.as_bytes().as_slice())
    .execute(&mut *conn)
    .await?;

    Ok(AuditEntry {
        seq,
        record,
        prev_hash,
        hash,
    })
}

/// Appends `record` in a transaction of its own and commits it: for
/// decisions that change nothing, such as denied calls and reads.
///
/// # Errors
/// As [`append`].
pub async fn append_standalone(
    pool: &PgPool,
    record: &NewAuditRecord,
) -> Result<AuditEntry, AuditError> {
    // Validate first so that a bad record costs no connection.
    record.validate()?;
    let mut tx = crate::begin(pool).await?;
    let entry = append(&mut tx, record).await?;
    tx.commit().await?;
    Ok(entry)
}
