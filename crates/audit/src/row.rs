//! Reading stored rows back into [`AuditEntry`].

use sqlx::Row as _;
use sqlx::postgres::PgRow;

use crate::hash::ChainHash;
use crate::record::{AuditEntry, Decision, NamedRecord, NewAuditRecord};

/// Every column, in table order.
pub(crate) const COLUMNS: &str = "seq, occurred_at, request_id, actor_subject, actor_kind, \
     on_behalf_of, role, authority_id, agency, case_id, child_ids, action, decision, \
     policy_ids, reason, named_kind, named_id, credential_id, policy_set, prev_hash, hash";

/// Decodes one row; `Err` says (without values) why it is unreadable.
pub(crate) fn decode(row: &PgRow) -> Result<AuditEntry, String> {
    fn get<'r, T>(row: &'r PgRow, column: &str) -> Result<T, String>
    where
        T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        row.try_get(column)
            .map_err(|e| format!("column {column}: {}", decode_problem(&e)))
    }
    let hash = |column: &str| -> Result<ChainHash, String> {
        let bytes: Vec<u8> = get(row, column)?;
        ChainHash::from_slice(&bytes).ok_or_else(|| format!("column {column}: not 32 bytes"))
    };
    let decision: String = get(row, "decision")?;
    let named = match (get(row, "named_kind")?, get(row, "named_id")?) {
        (Some(kind), Some(id)) => Some(NamedRecord { kind, id }),
        (None, None) => None,
        _ => return Err("columns named_kind, named_id: only one is set".to_owned()),
    };
    Ok(AuditEntry {
        seq: get(row, "seq")?,
        record: NewAuditRecord {
            occurred_at: get(row, "occurred_at")?,
            request_id: get(row, "request_id")?,
            actor_subject: get(row, "actor_subject")?,
            actor_kind: get(row, "actor_kind")?,
            on_behalf_of: get(row, "on_behalf_of")?,
            role: get(row, "role")?,
            authority_id: get(row, "authority_id")?,
            agency: get(row, "agency")?,
            case_id: get(row, "case_id")?,
            child_ids: get(row, "child_ids")?,
            action: get(row, "action")?,
            decision: decision
                .parse::<Decision>()
                .map_err(|_| "column decision: neither allow nor deny".to_owned())?,
            policy_ids: get(row, "policy_ids")?,
            reason: get(row, "reason")?,
            named,
            credential_id: get(row, "credential_id")?,
            policy_set: get(row, "policy_set")?,
        },
        prev_hash: hash("prev_hash")?,
        hash: hash("hash")?,
    })
}

/// The kind of decode failure, without the offending value.
fn decode_problem(e: &sqlx::Error) -> &'static str {
    match e {
        sqlx::Error::ColumnNotFound(_) => "missing",
        sqlx::Error::ColumnDecode { source, .. }
            if source.is::<sqlx::error::UnexpectedNullError>() =>
        {
            "unexpected NULL"
        }
        _ => "cannot be decoded",
    }
}
