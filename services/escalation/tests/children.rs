//! The children of each escalation and drift finding, kept one row a child
//! beside it by the database (migration `20261215100001`): a case's and a
//! child's are found through them under row-level security. Written with
//! every record, and filled in for those written before the migration.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test stops on bad setup"
)]

use cpc_escalation::store::drift::FINDING_CHILDREN;
use cpc_escalation::store::escalations::ESCALATION_CHILDREN;
use cpc_platform::case_members::RecordChildren;
use cpc_platform::db;
use cpc_platform::testing::TestDatabase;
use cpc_proto::common::v1 as common;
use prost::Message as _;
use sqlx::PgPool;
use uuid::Uuid;

const AUTHORITY: &str = "E10000013";
const OTHER: &str = "E10000014";
/// The migration that keeps the children.
const CHILDREN_KEPT: i64 = 20_261_215_100_001;

/// Raises an escalation in `authority` about `children` of `case`, as a
/// row (the store's `raise` checks the children against the cases feed).
async fn raise(pool: &PgPool, authority: &str, case: Uuid, children: &[Uuid]) -> Uuid {
    let person = common::PersonRef {
        person_id: "chair-1".into(),
        display_name: "Chair".into(),
        ..Default::default()
    };
    let id = Uuid::now_v7();
    let mut tx = db::begin_for_authority(pool, authority).await.unwrap();
    sqlx::query(
        "INSERT INTO escalations (id, authority_id, case_id, child_ids, raised_by, raised_by_id, \
                                  reason_kind, reason, stage, owner, owner_id, \
                                  response_due_on, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'chair-1', 'drift_and_delay', 'Drift', 'team_manager', \
                 $5, 'chair-1', current_date, 'open', now(), now())",
    )
    .bind(id)
    .bind(authority)
    .bind(case)
    .bind(children)
    .bind(person.encode_to_vec())
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

/// Opens a drift finding in `AUTHORITY` about `children` of `case`, as a
/// row (the sweep opens one on a late subject it assesses).
async fn find(pool: &PgPool, case: Uuid, children: &[Uuid]) -> Uuid {
    let id = Uuid::now_v7();
    let mut tx = db::begin_for_authority(pool, AUTHORITY).await.unwrap();
    sqlx::query(
        "INSERT INTO drift_findings (id, authority_id, case_id, child_ids, kind, severity, \
                                     subject_type, subject_id, due_on, working_days_overdue, \
                                     detail, detected_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'plan_action_overdue', 2, 'PlanAction', $5, current_date, 3, \
                 'Overdue', now(), now())",
    )
    .bind(id)
    .bind(AUTHORITY)
    .bind(case)
    .bind(children)
    .bind(Uuid::now_v7())
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

/// (record, child) pairs kept in `children`, as `authority` sees them.
async fn kept_in(pool: &PgPool, children: RecordChildren, authority: &str) -> Vec<(Uuid, Uuid)> {
    let RecordChildren { table, record, .. } = children;
    let mut tx = db::begin_for_authority(pool, authority).await.unwrap();
    let rows = sqlx::query_as(&format!(
        "SELECT {record}, child_id FROM {table} ORDER BY 1, 2"
    ))
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    rows
}

/// (escalation, child) pairs kept, as `authority` sees them.
async fn kept(pool: &PgPool, authority: &str) -> Vec<(Uuid, Uuid)> {
    kept_in(pool, ESCALATION_CHILDREN, authority).await
}

fn sorted(mut pairs: Vec<(Uuid, Uuid)>) -> Vec<(Uuid, Uuid)> {
    pairs.sort_unstable();
    pairs
}

#[tokio::test]
async fn records_written_before_and_after_the_migration_have_their_children_kept() {
    // Escalation's schema as it was before the migration, with two
    // escalations raised in it.
    let (db, pool) = TestDatabase::for_service_before(
        cpc_escalation::SCHEMA,
        &cpc_escalation::MIGRATOR,
        CHILDREN_KEPT,
    )
    .await;
    let (case, amy, ben) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let both = raise(&pool, AUTHORITY, case, &[amy, ben]).await;
    let bens = raise(&pool, AUTHORITY, case, &[ben]).await;
    let elsewhere = raise(&pool, OTHER, Uuid::now_v7(), &[Uuid::now_v7()]).await;
    let finding = find(&pool, case, &[amy, ben]).await;

    // The migration fills in their children, each in its own authority.
    db.migrate_service(cpc_escalation::SCHEMA, &cpc_escalation::MIGRATOR)
        .await;
    assert_eq!(
        kept(&pool, AUTHORITY).await,
        sorted(vec![(both, amy), (both, ben), (bens, ben)])
    );
    assert_eq!(kept(&pool, OTHER).await.len(), 1);
    assert_eq!(kept(&pool, OTHER).await[0].0, elsewhere);
    assert_eq!(
        kept_in(&pool, FINDING_CHILDREN, AUTHORITY).await,
        sorted(vec![(finding, amy), (finding, ben)])
    );

    // From then on each record's children are written with it.
    let eve = Uuid::now_v7();
    let eves = raise(&pool, AUTHORITY, case, &[eve]).await;
    assert_eq!(
        kept(&pool, AUTHORITY).await,
        sorted(vec![(both, amy), (both, ben), (bens, ben), (eves, eve)])
    );
    let eve_finding = find(&pool, case, &[eve]).await;
    assert!(
        kept_in(&pool, FINDING_CHILDREN, AUTHORITY)
            .await
            .contains(&(eve_finding, eve))
    );
}
