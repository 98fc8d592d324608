//! Opening a transaction so that a caller who stops waiting cannot leave
//! one open on a pooled connection.
//!
//! sqlx 0.8's `Pool::begin` is not cancel-safe. Dropped after it has sent
//! `BEGIN` and before the answer arrives, it returns the connection to the
//! pool inside the open transaction: its rollback guard counts a
//! transaction only once `BEGIN` is answered. Every later statement on that
//! connection meant to commit on its own (a rate count, say) then joins the
//! transaction instead, keeping its row locks and its writes uncommitted
//! until some later transaction on the connection happens to end it, by
//! commit or by rollback. A gRPC call cancelled by its client (a deadline,
//! a closed stream) stops at whichever await it has reached, so every cpc
//! transaction starts here.

use sqlx::{PgPool, Postgres, Transaction};

/// Begins a transaction on a connection from `pool`.
///
/// `BEGIN` runs in a task of its own, which finishes even if the caller
/// stops waiting; a transaction nobody waits for any more is then dropped
/// as a begun one, and rolled back before its connection is used again.
///
/// # Errors
/// As `Pool::begin`; `WorkerCrashed` if the task did not finish (the
/// runtime is shutting down).
pub async fn begin(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let pool = pool.clone();
    #[expect(
        clippy::disallowed_methods,
        reason = "the one place sqlx begins a transaction, in a task of its own"
    )]
    tokio::spawn(async move { pool.begin().await })
        .await
        .map_err(|_| sqlx::Error::WorkerCrashed)?
}
