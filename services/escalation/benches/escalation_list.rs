//! Listing escalations from Postgres: a case's, a child's, and the first
//! page of an authority's open ones, among 30,000 escalations on 10,000
//! cases (a fresh database; `CPC_TEST_DATABASE_URL`, as the tests use), as
//! the service's plain role so row-level security binds, each call in a
//! transaction of its own. Run with
//! `cargo bench -p cpc-escalation --bench escalation_list`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark stops on bad setup"
)]

mod storage;

use std::hint::black_box;

use chrono::{Days, NaiveDate};
use cpc_escalation::store::escalations::{self, EscalationFilter};
use cpc_platform::db;
use cpc_platform::paging::PageRequest;
use cpc_proto::common::v1 as common;
use criterion::{Criterion, criterion_group, criterion_main};
use prost::Message as _;
use sqlx::PgPool;
use storage::{AUTHORITY, storage};
use uuid::Uuid;

/// Cases, each with one child and [`PER_CASE`] escalations about them.
const CASES: usize = 10_000;
const PER_CASE: usize = 3;

/// The cases' children as the cases feed tells them, and their
/// escalations: raised over the year before `today`, responses due over
/// the month around it, one in three resolved. Returns a case and its
/// child.
async fn seed(pool: &PgPool, today: NaiveDate) -> (Uuid, Uuid) {
    let person = |id: &str| {
        common::PersonRef {
            person_id: id.to_owned(),
            display_name: "A. Worker".to_owned(),
            ..Default::default()
        }
        .encode_to_vec()
    };
    let (raiser, owner) = (person("chair-1"), person("manager-1"));
    let cases: Vec<(Uuid, Uuid)> = (0..CASES)
        .map(|_| (Uuid::new_v4(), Uuid::new_v4()))
        .collect();
    let mut tx = db::begin_for_authority(pool, AUTHORITY).await.unwrap();
    sqlx::query(
        "INSERT INTO case_children (child_id, authority_id, case_id, version, updated_at) \
         SELECT child, $1, kase, 1, now() FROM unnest($2::uuid[], $3::uuid[]) AS t(kase, child)",
    )
    .bind(AUTHORITY)
    .bind(cases.iter().map(|c| c.0).collect::<Vec<_>>())
    .bind(cases.iter().map(|c| c.1).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await
    .unwrap();
    let (mut ids, mut kases, mut children, mut due, mut resolved) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (n, (case, child)) in cases.iter().enumerate() {
        for e in 0..PER_CASE {
            let i = n * PER_CASE + e;
            ids.push(Uuid::new_v4());
            kases.push(*case);
            children.push(*child);
            due.push(today - Days::new(15) + Days::new((i % 30) as u64));
            resolved.push(i.is_multiple_of(3));
        }
    }
    sqlx::query(
        "INSERT INTO escalations (id, authority_id, case_id, child_ids, raised_by, raised_by_id, \
                                  reason_kind, reason, stage, owner, owner_id, response_due_on, \
                                  status, outcome, created_at, updated_at) \
         SELECT id, $1, kase, ARRAY[child], $2, 'chair-1', 'drift_and_delay', \
                'The core group has not met since the plan began', 'team_manager', $3, \
                'manager-1', due, CASE WHEN done THEN 'resolved' ELSE 'open' END, \
                CASE WHEN done THEN '\\x'::bytea END, now() - interval '1 day', now() \
           FROM unnest($4::uuid[], $5::uuid[], $6::uuid[], $7::date[], $8::bool[]) \
                AS t(id, kase, child, due, done)",
    )
    .bind(AUTHORITY)
    .bind(&raiser)
    .bind(&owner)
    .bind(&ids)
    .bind(&kases)
    .bind(&children)
    .bind(&due)
    .bind(&resolved)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    cases[CASES / 2]
}

fn filter(size: i64) -> EscalationFilter {
    EscalationFilter {
        status: None,
        stage: None,
        reason_kind: None,
        owner_id: None,
        raised_by_id: None,
        case_id: None,
        child_id: None,
        concerned_agency_kind: None,
        response_due_before: None,
        page: PageRequest::first(size),
    }
}

async fn list(pool: &PgPool, filter: &EscalationFilter, today: NaiveDate) -> usize {
    let mut tx = db::begin_for_authority(pool, AUTHORITY).await.unwrap();
    let page = escalations::list(&mut tx, filter, today).await.unwrap();
    tx.commit().await.unwrap();
    page.escalations.len()
}

fn lists(c: &mut Criterion) {
    let (runtime, _db, pool) = storage();
    let today = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let (case, child) = runtime.block_on(seed(&pool, today));
    runtime.block_on(async {
        sqlx::query("ANALYZE").execute(&pool).await.unwrap();
    });
    let total = CASES * PER_CASE;
    let by_case = EscalationFilter {
        case_id: Some(case),
        ..filter(50)
    };
    let by_child = EscalationFilter {
        child_id: Some(child),
        ..filter(50)
    };
    let open = EscalationFilter {
        status: Some("open"),
        ..filter(50)
    };
    for (name, query, expected) in [
        ("a case's (ListEscalations by case)", &by_case, PER_CASE),
        ("a child's (ListEscalations by child)", &by_child, PER_CASE),
        ("first page of 50 open", &open, 50),
    ] {
        assert_eq!(
            runtime.block_on(list(&pool, query, today)),
            expected,
            "{name}"
        );
    }
    let mut group = c.benchmark_group(format!("escalations, {total} in the authority"));
    group.bench_function("a case's (ListEscalations by case)", |b| {
        b.iter(|| black_box(runtime.block_on(list(&pool, &by_case, today))));
    });
    group.bench_function("a child's (ListEscalations by child)", |b| {
        b.iter(|| black_box(runtime.block_on(list(&pool, &by_child, today))));
    });
    group.bench_function("first page of 50 open", |b| {
        b.iter(|| black_box(runtime.block_on(list(&pool, &open, today))));
    });
    group.finish();
}

criterion_group!(benches, lists);
criterion_main!(benches);
