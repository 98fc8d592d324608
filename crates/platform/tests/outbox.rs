//! The change feed against a real Postgres: gapless sequences in commit
//! order, nothing on rollback, catch-up after a pause, live follow.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test"
)]

use std::time::Duration;

use chrono::Utc;
use cpc_platform::config::DatabaseConfig;
use cpc_platform::outbox::{self, Filter, FollowOptions, NewEvent, OutboxError};
use cpc_platform::testing::TestDatabase;
use cpc_platform::{MIGRATOR, db};
use sqlx::PgPool;
use tokio_stream::StreamExt as _;
use uuid::Uuid;

const SCHEMA: &str = "feedtest";

async fn feed_pool(db: &TestDatabase) -> PgPool {
    db::migrate(db.url(), SCHEMA, &[&MIGRATOR], &[])
        .await
        .unwrap();
    db::pool(db.url(), SCHEMA, &DatabaseConfig::default()).unwrap()
}

fn event(n: i64, event_type: &'static str, authority: &str) -> NewEvent {
    NewEvent {
        aggregate_type: "plan",
        aggregate_id: format!("plan-{n}"),
        aggregate_version: n,
        event_type,
        authority_id: authority.to_owned(),
        child_ids: vec![Uuid::new_v4()],
        payload: n.to_be_bytes().to_vec(),
    }
}

async fn append_committed(pool: &PgPool, e: &NewEvent) -> i64 {
    let mut tx = cpc_audit::begin(pool).await.unwrap();
    let stored = outbox::append(&mut tx, e, Utc::now()).await.unwrap();
    tx.commit().await.unwrap();
    stored.sequence
}

#[tokio::test]
async fn sequences_are_gapless_across_rollbacks_and_concurrency() {
    let db = TestDatabase::create().await;
    let pool = feed_pool(&db).await;

    assert_eq!(
        append_committed(&pool, &event(1, "cpc.cases.v1.PlanStarted", "E1")).await,
        1
    );
    let mut tx = cpc_audit::begin(&pool).await.unwrap();
    outbox::append(
        &mut tx,
        &event(2, "cpc.cases.v1.PlanStarted", "E1"),
        Utc::now(),
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();

    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let pool = pool.clone();
            tokio::spawn(async move {
                append_committed(&pool, &event(n, "cpc.cases.v1.PlanEnded", "E1")).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let all = outbox::read_after(&pool, 0, &Filter::default(), 1000)
        .await
        .unwrap();
    let sequences: Vec<i64> = all.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=21).collect::<Vec<_>>());
    assert_eq!(all[0].payload, 1_i64.to_be_bytes());
}

#[tokio::test]
async fn append_outside_a_transaction_is_refused() {
    let db = TestDatabase::create().await;
    let pool = feed_pool(&db).await;
    let mut conn = pool.acquire().await.unwrap();
    let err = outbox::append(&mut conn, &event(1, "t", "E1"), Utc::now())
        .await
        .unwrap_err();
    assert!(matches!(err, OutboxError::NotInTransaction), "{err}");
}

#[tokio::test]
async fn events_cannot_be_changed_or_removed() {
    let db = TestDatabase::create().await;
    let pool = feed_pool(&db).await;
    append_committed(&pool, &event(1, "t", "E1")).await;
    for sql in [
        "UPDATE change_events SET authority_id = 'E2'",
        "DELETE FROM change_events",
        "TRUNCATE change_events",
    ] {
        let err = sqlx::query(sql).execute(&pool).await.unwrap_err();
        let db_err = err.as_database_error().expect("a database error");
        assert_eq!(db_err.code().as_deref(), Some("42501"), "{sql}: {db_err}");
    }
}

#[tokio::test]
async fn a_consumer_that_paused_receives_exactly_the_missed_events_in_order() {
    let db = TestDatabase::create().await;
    let pool = feed_pool(&db).await;
    for n in 1..=3 {
        append_committed(&pool, &event(n, "cpc.cases.v1.PlanStarted", "E1")).await;
    }
    let seen = outbox::read_after(&pool, 0, &Filter::default(), 100)
        .await
        .unwrap();
    let last_seen = seen.last().unwrap().sequence;
    assert_eq!(last_seen, 3);

    // While the consumer is away: more changes, one of them rolled back.
    append_committed(&pool, &event(4, "cpc.cases.v1.PlanEnded", "E1")).await;
    let mut tx = cpc_audit::begin(&pool).await.unwrap();
    outbox::append(
        &mut tx,
        &event(99, "cpc.cases.v1.PlanEnded", "E1"),
        Utc::now(),
    )
    .await
    .unwrap();
    drop(tx);
    append_committed(&pool, &event(5, "cpc.cases.v1.PlanStarted", "E2")).await;

    let missed = outbox::read_after(&pool, last_seen, &Filter::default(), 100)
        .await
        .unwrap();
    let versions: Vec<(i64, i64)> = missed
        .iter()
        .map(|e| (e.sequence, e.aggregate_version))
        .collect();
    assert_eq!(versions, [(4, 4), (5, 5)]);

    let only_e2 = Filter {
        authority_id: Some("E2".into()),
        ..Filter::default()
    };
    let e2: Vec<i64> = outbox::read_after(&pool, 0, &only_e2, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.sequence)
        .collect();
    assert_eq!(e2, [5]);
    let ended = Filter {
        event_types: vec!["cpc.cases.v1.PlanEnded".into()],
        ..Filter::default()
    };
    let ended: Vec<i64> = outbox::read_after(&pool, 0, &ended, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.sequence)
        .collect();
    assert_eq!(ended, [4]);
}

#[tokio::test]
async fn follow_catches_up_then_delivers_new_commits_promptly() {
    let db = TestDatabase::create().await;
    let pool = feed_pool(&db).await;
    append_committed(&pool, &event(1, "t", "E1")).await;
    append_committed(&pool, &event(2, "t", "E1")).await;

    // A long poll interval: only the commit notification can deliver event 3 in time.
    let options = FollowOptions {
        batch: 1,
        poll_interval: Duration::from_secs(60),
    };
    let stream = outbox::follow(pool.clone(), SCHEMA, 1, Filter::default(), options, None);
    tokio::pin!(stream);
    let second = stream.next().await.unwrap().unwrap();
    assert_eq!(second.sequence, 2);

    let writer = {
        let pool = pool.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            append_committed(&pool, &event(3, "t", "E1")).await
        })
    };
    let third = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("the notification wakes the follower")
        .unwrap()
        .unwrap();
    assert_eq!(third.sequence, 3);
    assert_eq!(writer.await.unwrap(), 3);
}

#[tokio::test]
async fn stored_events_convert_to_the_api_envelope() {
    let db = TestDatabase::create().await;
    let pool = feed_pool(&db).await;
    append_committed(&pool, &event(7, "cpc.cases.v1.PlanStarted", "E1")).await;
    let stored = outbox::read_after(&pool, 0, &Filter::default(), 1)
        .await
        .unwrap()
        .remove(0);
    let api = cpc_proto::common::v1::ChangeEvent::from(stored.clone());
    assert_eq!(api.sequence, 1);
    assert_eq!(api.event_type, "cpc.cases.v1.PlanStarted");
    assert_eq!(api.aggregate_version, 7);
    assert_eq!(api.child_ids, [stored.child_ids[0].to_string()]);
    assert_eq!(
        api.occur_time.unwrap().seconds,
        stored.occurred_at.timestamp()
    );
}
