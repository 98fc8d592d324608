//! Why an audit operation failed.

/// Why an audit operation failed.
///
/// Messages never echo record contents: a rejected field is named, its value
/// is not, so an error logged upstream cannot leak what the record held.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The record to append breaks a rule of [`crate::NewAuditRecord`].
    #[error("invalid audit record: {field} {problem}")]
    InvalidRecord {
        field: &'static str,
        problem: &'static str,
    },
    /// The list or verify request is inconsistent (maps to INVALID_ARGUMENT).
    #[error("invalid audit query: {0}")]
    InvalidQuery(&'static str),
    /// The page token was not issued by [`crate::list_access`] for this
    /// query, or has been altered (maps to INVALID_ARGUMENT).
    #[error("invalid page token")]
    InvalidPageToken,
    /// [`crate::append`] was called on a connection with no open
    /// transaction: the chain lock would be released before the insert.
    #[error("audit append must run inside the caller's transaction")]
    NotInTransaction,
    /// [`crate::append`] needs READ COMMITTED, where each statement sees the
    /// head committed before the chain lock was granted.
    #[error("audit append needs READ COMMITTED isolation, the transaction is {0}")]
    IsolationLevel(String),
    /// A stored row could not be decoded (only after tampering with the
    /// table's constraints; [`crate::verify`] reports it as a break).
    #[error("audit record {seq} is unreadable: {detail}")]
    Unreadable { seq: i64, detail: String },
    /// Postgres refused or could not be reached.
    #[error("audit storage: {0}")]
    Database(#[from] sqlx::Error),
}
