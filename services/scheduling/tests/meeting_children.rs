//! A core group meeting's children, kept one row a child beside it by the
//! database (migration `20261215100002`): a case's and a child's meetings
//! are found through them under row-level security. Written with every
//! meeting and every change of its children, and filled in for the
//! meetings before the migration.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test stops on bad setup"
)]

use cpc_platform::db;
use cpc_platform::testing::TestDatabase;
use sqlx::PgPool;
use uuid::Uuid;

const AUTHORITY: &str = "E10000013";
/// The migration that keeps the children.
const CHILDREN_KEPT: i64 = 20_261_215_100_002;

/// A core group meeting due in `AUTHORITY` about `children` of `case`, as
/// a row (the cases feed's plans make them due).
async fn meeting(pool: &PgPool, case: Uuid, children: &[Uuid]) -> Uuid {
    let id = Uuid::now_v7();
    let mut tx = db::begin_for_authority(pool, AUTHORITY).await.unwrap();
    sqlx::query(
        "INSERT INTO core_group_meetings (id, authority_id, case_id, child_ids, plan_ids, \
                                          sequence_number, status, due_date, basis, \
                                          created_at, updated_at) \
         VALUES ($1, $2, $3, $4, '{}', 1, 'due', current_date, '{}', now(), now())",
    )
    .bind(id)
    .bind(AUTHORITY)
    .bind(case)
    .bind(children)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

/// (meeting, child) pairs kept.
async fn kept(pool: &PgPool) -> Vec<(Uuid, Uuid)> {
    let mut tx = db::begin_for_authority(pool, AUTHORITY).await.unwrap();
    let rows = sqlx::query_as(
        "SELECT meeting_id, child_id FROM core_group_meeting_children ORDER BY 1, 2",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    rows
}

fn sorted(mut pairs: Vec<(Uuid, Uuid)>) -> Vec<(Uuid, Uuid)> {
    pairs.sort_unstable();
    pairs
}

#[tokio::test]
async fn meetings_before_and_after_the_migration_have_their_children_kept() {
    // Scheduling's schema as it was before the migration, with a meeting.
    let (db, pool) = TestDatabase::for_service_before(
        cpc_scheduling::SCHEMA,
        &cpc_scheduling::MIGRATOR,
        CHILDREN_KEPT,
    )
    .await;
    let (case, cal, dee) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let shared = meeting(&pool, case, &[cal, dee]).await;

    // The migration fills in its children.
    db.migrate_service(cpc_scheduling::SCHEMA, &cpc_scheduling::MIGRATOR)
        .await;
    assert_eq!(
        kept(&pool).await,
        sorted(vec![(shared, cal), (shared, dee)])
    );

    // A child leaving a meeting leaves its rows too, and a new meeting's
    // are written with it.
    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
    sqlx::query(
        "UPDATE core_group_meetings SET child_ids = array_remove(child_ids, $2) WHERE id = $1",
    )
    .bind(shared)
    .bind(cal)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let eve = Uuid::now_v7();
    let eves = meeting(&pool, case, &[eve]).await;
    assert_eq!(kept(&pool).await, sorted(vec![(shared, dee), (eves, eve)]));
}
