//! Generating a county's children in need census return: reading what
//! reporting keeps for the year from Postgres (a fresh database;
//! `CPC_TEST_DATABASE_URL`, as the tests use) as the service's plain role
//! so row-level security binds, choosing what falls in the year, writing
//! the XML, and validating it with the DfE's rules (`scripts/cin-validate`,
//! which needs the project's `.venv`). Run with
//! `cargo bench -p cpc-reporting --bench census`.
//!
//! The validation takes seconds, so it is timed over three runs and
//! printed rather than sampled by criterion.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "a benchmark stops on bad setup, and prints the validation's times"
)]

use std::hint::black_box;
use std::time::Instant;

use chrono::{Days, NaiveDate, Utc};
use cpc_platform::config::{CensusConfig, DatabaseConfig};
use cpc_platform::testing::TestDatabase;
use cpc_platform::{MIGRATOR, db};
use cpc_reporting::census::{assemble, store, validate, xml};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use sqlx::PgPool;
use uuid::Uuid;

const AUTHORITY: &str = "E10000013";
/// Children in need in the year; every third on a plan, with two reviews.
const CHILDREN: usize = 3_000;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Children referred through the year, each with an episode (half of them
/// closed) and a section 47 enquiry; every third with an initial
/// conference and a plan reviewed twice.
async fn seed(pool: &PgPool) {
    let mut tx = db::begin_for_authority(pool, AUTHORITY).await.unwrap();
    for n in 0..CHILDREN {
        let (child, episode) = (Uuid::new_v4(), Uuid::new_v4());
        let referred = day(2025, 4, 1) + Days::new((n % 330) as u64);
        sqlx::query(
            "INSERT INTO census_children (id, authority_id, la_child_id, upn_unknown, birth_on, \
               sex, ethnicity, disabilities, version, updated_at) \
             VALUES ($1, $2, $3, 'UN1', $4, 'F', 'WBRI', '{NONE}', 1, now())",
        )
        .bind(child)
        .bind(AUTHORITY)
        .bind(format!("LA{n:06}"))
        .bind(day(2022, 1, 1) + Days::new((n % 700) as u64))
        .execute(&mut *tx)
        .await
        .unwrap();
        let closed = (n % 2 == 0).then(|| referred + Days::new(30));
        sqlx::query(
            "INSERT INTO cin_episodes (id, authority_id, child_id, referral_on, referral_source, \
               primary_need, referral_nfa, closure_on, closure_reason, version, updated_at) \
             VALUES ($1, $2, $3, $4, '1A', 'N1', false, $5, $6, 1, now())",
        )
        .bind(episode)
        .bind(AUTHORITY)
        .bind(child)
        .bind(referred)
        .bind(closed)
        .bind(closed.map(|_| "RC7"))
        .execute(&mut *tx)
        .await
        .unwrap();
        let on_plan = n % 3 == 0;
        sqlx::query(
            "INSERT INTO s47_enquiries (id, authority_id, child_id, start_on, cin_episode_id, \
               icpc_target_on, icpc_not_required, version, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, now())",
        )
        .bind(Uuid::new_v4())
        .bind(AUTHORITY)
        .bind(child)
        .bind(referred + Days::new(1))
        .bind(episode)
        .bind(referred + Days::new(21))
        .bind(!on_plan)
        .execute(&mut *tx)
        .await
        .unwrap();
        if on_plan {
            let icpc = referred + Days::new(14);
            sqlx::query(
                "INSERT INTO initial_conferences (outcome_id, authority_id, child_id, held_on, \
                   version, updated_at) VALUES ($1, $2, $3, $4, 1, now())",
            )
            .bind(Uuid::new_v4())
            .bind(AUTHORITY)
            .bind(child)
            .bind(icpc)
            .execute(&mut *tx)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO child_protection_plans (id, authority_id, child_id, cin_episode_id, \
                   start_on, initial_category, latest_category, previous_plans, review_dates, \
                   version, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 'NEG', 'NEG', 0, $6, 1, now())",
            )
            .bind(Uuid::new_v4())
            .bind(AUTHORITY)
            .bind(child)
            .bind(episode)
            .bind(icpc)
            .bind(vec![icpc + Days::new(7), icpc + Days::new(20)])
            .execute(&mut *tx)
            .await
            .unwrap();
        }
    }
    tx.commit().await.unwrap();
}

fn census(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(TestDatabase::create());
    runtime
        .block_on(db::migrate(
            db.url(),
            cpc_reporting::SCHEMA,
            &[&MIGRATOR, &cpc_reporting::MIGRATOR],
            &[],
        ))
        .unwrap();
    // The pool starts its maintenance on the runtime.
    let _inside = runtime.enter();
    let pool = db::pool(db.url(), cpc_reporting::SCHEMA, &DatabaseConfig::default()).unwrap();
    runtime.block_on(seed(&pool));
    let year = assemble::Year::ending(day(2026, 3, 31)).unwrap();
    let read = || {
        runtime.block_on(async {
            let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
            let kept = store::kept_for(&mut tx, year).await.unwrap();
            tx.rollback().await.unwrap();
            kept
        })
    };
    let kept = read();
    let children = assemble::assemble(year, kept.clone());
    assert_eq!(children.len(), CHILDREN);
    let header = xml::Header {
        year: 2026,
        reference_date: year.reference,
        la_number: 916,
        serial_no: 1,
        generated: Utc::now(),
    };
    let file = xml::render(&header, &children);

    let mut group = c.benchmark_group("census");
    group.sample_size(10);
    group.bench_function(
        format!("read the year's rows of {CHILDREN} children"),
        |b| {
            b.iter(|| black_box(read()));
        },
    );
    group.bench_function(format!("assemble {CHILDREN} children's year"), |b| {
        b.iter_batched(
            || kept.clone(),
            |kept| black_box(assemble::assemble(year, kept)),
            BatchSize::LargeInput,
        );
    });
    group.bench_function(format!("write the XML of {CHILDREN} children"), |b| {
        b.iter(|| black_box(xml::render(&header, &children)));
    });
    group.finish();

    let validator = CensusConfig {
        validator: Some(
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/cin-validate"),
        ),
        ..CensusConfig::default()
    };
    for run in 1..=3 {
        let started = Instant::now();
        let report = runtime
            .block_on(validate::validate(&validator, 2026, &file))
            .unwrap();
        let mut by_rule = std::collections::BTreeMap::<&str, usize>::new();
        for issue in &report.issues {
            *by_rule.entry(issue.rule_code.as_str()).or_default() += 1;
        }
        println!(
            "validation run {run}: {} children ({} KiB of XML), findings {by_rule:?}, in {:?}",
            report.child_count,
            file.len() / 1024,
            started.elapsed()
        );
    }
}

criterion_group!(benches, census);
criterion_main!(benches);
