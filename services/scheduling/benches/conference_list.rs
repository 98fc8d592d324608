//! Reading the diary back: a page of conferences, each with its moves and
//! attendees, and one case's conferences among an authority's history,
//! from Postgres (a fresh database; `CPC_TEST_DATABASE_URL`, as
//! the tests use), as the service's plain role so row-level security
//! binds. Run with `cargo bench -p cpc-scheduling --bench conference_list`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark stops on bad setup"
)]

#[path = "../tests/fixture/diary.rs"]
mod diary;
#[path = "../tests/fixture/mod.rs"]
mod fixture;

use std::hint::black_box;

use cpc_platform::db;
use cpc_scheduling::store::conferences;
use criterion::{Criterion, criterion_group, criterion_main};
use fixture::{AUTHORITY, scheduling_database};
use secrecy::ExposeSecret as _;
use sqlx::{Connection as _, PgConnection};
use uuid::Uuid;

const CONFERENCES: u32 = 500;

fn list(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_db, pool) = runtime.block_on(scheduling_database());
    let ids = runtime.block_on(diary::seed(&pool, AUTHORITY, CONFERENCES));
    let mut group = c.benchmark_group("conferences");
    for size in [50, 500] {
        group.bench_function(format!("list a page of {size}"), |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
                    let page = conferences::list(&mut tx, &diary::every_conference(size))
                        .await
                        .unwrap();
                    assert_eq!(page.conferences.len(), usize::try_from(size).unwrap());
                    black_box(page);
                });
            });
        });
    }
    group.bench_function("get one", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
                black_box(conferences::load(&mut tx, ids[7]).await.unwrap());
            });
        });
    });
    group.finish();
}

/// Conferences of other cases, held, each about one child on its case:
/// an authority's history for a case's list to find its own among.
const HISTORY: i64 = 30_000;

fn list_by_case(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (db, pool) = runtime.block_on(scheduling_database());
    let ids = runtime.block_on(diary::seed(&pool, AUTHORITY, CONFERENCES));
    let case_id: Uuid = runtime.block_on(async {
        let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
        sqlx::query(
            "INSERT INTO conferences (id, authority_id, kind, case_id, status, statutory_due_date, \
               held_date, basis, created_at, updated_at) \
             SELECT gen_random_uuid(), $1, 'review', gen_random_uuid(), 'held', \
                    date '2025-01-01' + (g % 700)::int, date '2025-01-01' + (g % 700)::int, '{}', \
                    now(), now() \
               FROM generate_series(1, $2) g",
        )
        .bind(AUTHORITY)
        .bind(HISTORY)
        .execute(&mut *tx)
        .await
        .unwrap();
        for statement in [
            "INSERT INTO conference_children (conference_id, child_id, authority_id, due_date, basis) \
             SELECT id, gen_random_uuid(), authority_id, statutory_due_date, '{}' \
               FROM conferences WHERE status = 'held'",
            "INSERT INTO child_cases (child_id, authority_id, case_id, updated_at) \
             SELECT cc.child_id, c.authority_id, c.case_id, now() \
               FROM conference_children cc JOIN conferences c ON c.id = cc.conference_id \
              WHERE c.status = 'held'",
        ] {
            sqlx::query(statement).execute(&mut *tx).await.unwrap();
        }
        let case = sqlx::query_scalar("SELECT case_id FROM conferences WHERE id = $1")
            .bind(ids[7])
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        // As autovacuum would before long: without statistics the planner
        // guesses, and only the tables' owner may gather them.
        let mut owner = PgConnection::connect(db.url().expose_secret()).await.unwrap();
        sqlx::query(&format!("ANALYZE {}.conferences, {0}.conference_children, {0}.child_cases", cpc_scheduling::SCHEMA))
            .execute(&mut owner)
            .await
            .unwrap();
        case
    });
    let mut group = c.benchmark_group("conferences");
    group.bench_function(
        format!("list one case's among {}", HISTORY + i64::from(CONFERENCES)),
        |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
                    let filter = conferences::ConferenceFilter {
                        case_id: Some(case_id),
                        ..diary::every_conference(50)
                    };
                    let page = conferences::list(&mut tx, &filter).await.unwrap();
                    assert_eq!(page.conferences.len(), 1);
                    black_box(page);
                });
            });
        },
    );
    group.finish();
}

criterion_group!(benches, list, list_by_case);
criterion_main!(benches);
