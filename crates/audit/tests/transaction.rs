//! A transaction begun for a caller who stops waiting is never left open
//! on a pooled connection (`cpc_audit::begin`): the next statement meant to
//! commit on its own would join it, holding its locks and its writes
//! uncommitted.

mod common;

use std::future::Future as _;

use common::{SCHEMA, TestDb};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// Whether the pool's connection is inside a transaction it did not begin:
/// Postgres refuses a savepoint outside a transaction block.
async fn left_open(pool: &PgPool) -> bool {
    let probed = sqlx::raw_sql("SAVEPOINT probe").execute(pool).await;
    let outside =
        matches!(&probed, Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("25P01"));
    assert!(
        probed.is_ok() || outside,
        "probe the connection: {probed:?}"
    );
    probed.is_ok()
}

#[tokio::test]
async fn a_transaction_abandoned_while_it_begins_is_rolled_back_not_left_open() {
    let db = TestDb::empty().await;
    // One connection, handed out without a ping, so that a single poll of
    // `begin` gets as far as waiting for BEGIN's answer.
    let pool = db.pool_with(
        PgPoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false),
        SCHEMA,
    );
    assert!(!left_open(&pool).await, "a statement on its own");
    for attempt in 0..20 {
        // The probe's connection back in the pool, so `begin` can take it
        // at once.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        {
            // Polled without the runtime turning, so BEGIN goes out but its
            // answer is not read; then dropped: a caller that stops waiting.
            let mut begin = std::pin::pin!(cpc_audit::begin(&pool));
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            for _ in 0..100 {
                if begin.as_mut().poll(&mut cx).is_ready() {
                    break;
                }
            }
        }
        assert!(
            !left_open(&pool).await,
            "attempt {attempt}: the connection came back inside the abandoned transaction"
        );
    }
    // And a transaction begun and dropped is rolled back as ever.
    let tx = cpc_audit::begin(&pool).await.expect("begin");
    drop(tx);
    assert!(!left_open(&pool).await);
}
