//! Bringing drift findings up to date as days pass: the sweep over one
//! authority's open plan actions and meetings, in Postgres (a fresh
//! database; `CPC_TEST_DATABASE_URL`, as the tests use), as the service's
//! plain role so row-level security binds. Run with
//! `cargo bench -p cpc-escalation --bench sweep`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "a benchmark stops on bad setup, and reports the one-off first sweep"
)]

mod storage;

use std::hint::black_box;
use std::time::Instant;

use chrono::{Days, NaiveDate, TimeZone, Utc};
use cpc_platform::Config;
use cpc_platform::db;
use criterion::{Criterion, criterion_group, criterion_main};
use sqlx::PgPool;
use storage::{AUTHORITY, storage};
use uuid::Uuid;

/// Plans, each with [`ACTIONS_PER_PLAN`] actions, one core group meeting
/// and a review conference asking two agencies for reports.
const PLANS: usize = 500;
const ACTIONS_PER_PLAN: usize = 4;

/// Children, plans, actions due over the month before `today` (half of
/// them done), a core group meeting per plan due a fortnight before, and a
/// review booked for three days on whose reports were due yesterday: the
/// police report submitted, the health report not.
async fn seed(pool: &PgPool, today: NaiveDate) {
    let mut tx = db::begin_for_authority(pool, AUTHORITY).await.unwrap();
    for p in 0..PLANS {
        let (case, child, plan) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        sqlx::query(
            "INSERT INTO case_children (child_id, authority_id, case_id, version, updated_at) \
             VALUES ($1, $2, $3, 1, now())",
        )
        .bind(child)
        .bind(AUTHORITY)
        .bind(case)
        .execute(&mut *tx)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO plans (id, authority_id, child_id, version, updated_at) \
             VALUES ($1, $2, $3, 1, now())",
        )
        .bind(plan)
        .bind(AUTHORITY)
        .bind(child)
        .execute(&mut *tx)
        .await
        .unwrap();
        for a in 0..ACTIONS_PER_PLAN {
            let due = today - Days::new(((p + a) % 30) as u64);
            sqlx::query(
                "INSERT INTO plan_actions (id, authority_id, plan_id, child_id, description, \
                                           due_on, done, version, updated_at) \
                 VALUES ($1, $2, $3, $4, 'Action', $5, $6, 1, now())",
            )
            .bind(Uuid::new_v4())
            .bind(AUTHORITY)
            .bind(plan)
            .bind(child)
            .bind(due)
            .bind(a % 2 == 0)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        sqlx::query(
            "INSERT INTO meetings (id, authority_id, kind, case_id, child_ids, plan_id, due_on, \
                                   state, version, updated_at) \
             VALUES ($1, $2, 'core_group', $3, $4, $5, $6, 'due', 1, now())",
        )
        .bind(Uuid::new_v4())
        .bind(AUTHORITY)
        .bind(case)
        .bind(vec![child])
        .bind(plan)
        .bind(today - Days::new(14))
        .execute(&mut *tx)
        .await
        .unwrap();
        seed_review(&mut tx, today, case, child, plan).await;
    }
    tx.commit().await.unwrap();
}

async fn seed_review(
    tx: &mut sqlx::PgConnection,
    today: NaiveDate,
    case: Uuid,
    child: Uuid,
    plan: Uuid,
) {
    let review = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO meetings (id, authority_id, kind, case_id, child_ids, plan_id, due_on, \
                               state, booked_on, reports_due_on, version, updated_at) \
         VALUES ($1, $2, 'review_conference', $3, $4, $5, $6, 'booked', $7, $8, 1, now())",
    )
    .bind(review)
    .bind(AUTHORITY)
    .bind(case)
    .bind(vec![child])
    .bind(plan)
    .bind(today + Days::new(5))
    .bind(today + Days::new(3))
    .bind(today - Days::new(1))
    .execute(&mut *tx)
    .await
    .unwrap();
    for (kind, agency) in [(2, "Constabulary"), (3, "Community Health")] {
        let invitee = Uuid::new_v4().to_string();
        sqlx::query(
            "INSERT INTO report_requests (id, authority_id, conference_id, invitee, invitee_id, \
                                          agency_kind, agency_name, version, updated_at) \
             VALUES ($1, $2, $3, '', $4, $5, $6, 1, now())",
        )
        .bind(Uuid::new_v4())
        .bind(AUTHORITY)
        .bind(review)
        .bind(&invitee)
        .bind(kind)
        .bind(agency)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO submitted_reports (id, authority_id, conference_id, author_id, agency_kind, \
                                        agency_name, updated_at) \
         VALUES ($1, $2, $3, $4, 2, 'Constabulary', now())",
    )
    .bind(Uuid::new_v4())
    .bind(AUTHORITY)
    .bind(review)
    .bind(Uuid::new_v4().to_string())
    .execute(&mut *tx)
    .await
    .unwrap();
}

async fn sweep(pool: &PgPool, today: NaiveDate) -> usize {
    let noon = Utc.from_utc_datetime(&today.and_hms_opt(12, 0, 0).unwrap());
    cpc_escalation::sweep::once(pool, &Config::default(), AUTHORITY, noon)
        .await
        .unwrap()
}

fn sweeps(c: &mut Criterion) {
    let (runtime, _db, pool) = storage();
    let today = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    runtime.block_on(seed(&pool, today));
    // The first sweep opens every finding; once, so timed here.
    let started = Instant::now();
    let assessed = runtime.block_on(sweep(&pool, today));
    let findings: i64 = runtime.block_on(async {
        let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
        sqlx::query_scalar("SELECT count(*) FROM drift_findings")
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    });
    println!(
        "first sweep: {assessed} subjects assessed, {findings} findings opened, in {:?}",
        started.elapsed()
    );
    let mut group = c.benchmark_group("drift sweep");
    group.sample_size(10);
    group.bench_function(
        format!("{assessed} subjects, nothing changed since the last sweep"),
        |b| b.iter(|| black_box(runtime.block_on(sweep(&pool, today)))),
    );
    // Each sweep a day later than the last: every finding ages.
    let mut day = today;
    group.bench_function(format!("{assessed} subjects, a day later each time"), |b| {
        b.iter(|| {
            day = day + Days::new(1);
            black_box(runtime.block_on(sweep(&pool, day)))
        });
    });
    group.finish();
}

criterion_group!(benches, sweeps);
criterion_main!(benches);
