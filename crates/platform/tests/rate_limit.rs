//! Calls per caller counted in Postgres: replicas serving from one schema
//! share each caller's burst and rate (`cpc_platform::rate_limit`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use cpc_platform::config::DatabaseConfig;
use cpc_platform::db;
use cpc_platform::rate_limit::{CallerLimits, LimitError};
use cpc_platform::testing::TestDatabase;
use sqlx::PgPool;
use tokio::task::JoinSet;

const SCHEMA: &str = "rates";
const CALLER: &str = "E1/Person/sw-1";

async fn storage() -> (TestDatabase, PgPool) {
    storage_with(&DatabaseConfig::default()).await
}

async fn storage_with(config: &DatabaseConfig) -> (TestDatabase, PgPool) {
    let db = TestDatabase::create().await;
    db::migrate(
        db.url(),
        SCHEMA,
        &[&cpc_audit::MIGRATOR, &cpc_platform::MIGRATOR],
        &[],
    )
    .await
    .unwrap();
    let pool = db::pool(db.url(), SCHEMA, config).unwrap();
    (db, pool)
}

/// 600 calls a minute (one each 100 ms) and 5 at once, counted in `pool`.
fn replica(pool: &PgPool) -> CallerLimits {
    CallerLimits::new(NonZeroU32::new(600).unwrap(), NonZeroU32::new(5).unwrap())
        .shared(pool.clone())
}

async fn refused(limits: &CallerLimits, caller: &str) -> Duration {
    match limits.check(caller).await {
        Err(LimitError::Over(wait)) => wait,
        other => panic!("{caller} was not refused: {other:?}"),
    }
}

#[tokio::test]
async fn replicas_counting_in_one_schema_share_each_callers_burst() {
    let (_db, pool) = storage().await;
    let (a, b) = (replica(&pool), replica(&pool));
    for _ in 0..3 {
        a.check(CALLER).await.unwrap();
    }
    for _ in 0..2 {
        b.check(CALLER).await.unwrap();
    }
    // The burst is spent across both: each refuses, saying when to retry.
    for limits in [&a, &b] {
        let wait = refused(limits, CALLER).await;
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
    }
    // Another caller has a burst of its own.
    b.check("E1/Person/sw-2").await.unwrap();
    // Counting alone, a replica would have let the caller on again.
    let alone = CallerLimits::new(NonZeroU32::new(600).unwrap(), NonZeroU32::new(5).unwrap());
    alone.check(CALLER).await.unwrap();

    // After the wait it was told, the caller is accepted, once.
    let wait = refused(&b, CALLER).await;
    tokio::time::sleep(wait).await;
    b.check(CALLER).await.unwrap();
    refused(&a, CALLER).await;
    // A refused call was not counted: one more emission interval lets
    // exactly one more in.
    tokio::time::sleep(Duration::from_millis(100)).await;
    a.check(CALLER).await.unwrap();
    refused(&b, CALLER).await;
}

#[tokio::test]
async fn calls_at_once_on_two_replicas_never_exceed_the_burst() {
    let (_db, pool) = storage().await;
    // One call a second sustained, so the time the calls take (well under
    // a second) adds at most one.
    let replica = || {
        Arc::new(
            CallerLimits::new(NonZeroU32::new(60).unwrap(), NonZeroU32::new(5).unwrap())
                .shared(pool.clone()),
        )
    };
    let (a, b) = (replica(), replica());
    // Twenty calls at once, ten through each replica: the caller's row is
    // locked for each count, so two replicas cannot both take the last
    // place.
    let mut calls = JoinSet::new();
    for _ in 0..10 {
        for limits in [&a, &b] {
            let limits = Arc::clone(limits);
            calls.spawn(async move { limits.check(CALLER).await });
        }
    }
    let results = calls.join_all().await;
    let accepted = results.iter().filter(|r| r.is_ok()).count();
    assert!(
        (5..=6).contains(&accepted),
        "{accepted} accepted: {results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(()) | Err(LimitError::Over(_)))),
        "{results:?}"
    );
}

#[tokio::test]
async fn a_count_that_cannot_be_read_is_a_store_error_not_an_acceptance() {
    let (_db, pool) = storage().await;
    let limits = replica(&pool);
    limits.check(CALLER).await.unwrap();
    pool.close().await;
    match limits.check(CALLER).await {
        Err(LimitError::Store(sqlx::Error::PoolClosed)) => {}
        other => panic!("a closed store was not refused: {other:?}"),
    }
    // And the caller's error says the database is unavailable.
    let err = cpc_platform::ApiError::from(sqlx::Error::PoolClosed);
    assert_eq!(tonic::Status::from(err).code(), tonic::Code::Unavailable);
}

/// One count of [`CALLER`]'s calls, as `cpc_platform::rate_limit` takes it.
const COUNT: &str = "SELECT take_call($1, interval '1 second', 5)";

/// The caller's first count, in a transaction left open: the caller's row
/// stays locked until it ends.
async fn count_held_open(pool: &PgPool) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = cpc_audit::begin(pool).await.unwrap();
    sqlx::query(COUNT)
        .bind(CALLER)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx
}

#[tokio::test]
async fn a_count_held_up_by_a_forgotten_transaction_waits_only_until_postgres_ends_it() {
    let config = DatabaseConfig {
        idle_in_transaction_timeout: Duration::from_secs(1),
        ..DatabaseConfig::default()
    };
    let (_db, pool) = storage_with(&config).await;
    // The caller's first count, in a transaction that is then left open,
    // as one stopped half way could be.
    let mut forgotten = count_held_open(&pool).await;
    // The next count queues on the caller's row until Postgres ends the
    // forgotten transaction's session.
    let next = tokio::time::timeout(
        Duration::from_secs(20),
        sqlx::query(COUNT).bind(CALLER).execute(&pool),
    )
    .await;
    assert!(matches!(next, Ok(Ok(_))), "{next:?}");
    assert!(
        sqlx::query("SELECT 1")
            .execute(&mut *forgotten)
            .await
            .is_err(),
        "the forgotten transaction's session was ended"
    );
}

#[tokio::test]
async fn a_count_held_up_by_a_transaction_still_open_gives_up_after_the_statement_timeout() {
    let config = DatabaseConfig {
        statement_timeout: Duration::from_secs(1),
        ..DatabaseConfig::default()
    };
    let (_db, pool) = storage_with(&config).await;
    // The caller's first count, in a transaction that stays open (not long
    // enough for Postgres to end it as forgotten).
    let holder = count_held_open(&pool).await;
    // The next count queues on the caller's row, and Postgres cancels it
    // after the statement timeout: the call fails UNAVAILABLE rather than
    // holding its connection for as long as the other transaction lasts.
    let next = tokio::time::timeout(
        Duration::from_secs(20),
        sqlx::query(COUNT).bind(CALLER).execute(&pool),
    )
    .await;
    let Ok(Err(err)) = next else {
        panic!("the count was not cancelled: {next:?}")
    };
    assert_eq!(
        err.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("57014"),
        "{err:?}"
    );
    let status = tonic::Status::from(cpc_platform::ApiError::from(err));
    assert_eq!(status.code(), tonic::Code::Unavailable);
    // Once the other transaction ends, the caller's counts go on.
    holder.rollback().await.unwrap();
    sqlx::query(COUNT)
        .bind(CALLER)
        .execute(&pool)
        .await
        .unwrap();
}
