//! Reading the diary back: a page of conferences, each with its moves and
//! attendees, from Postgres (a fresh database; `CPC_TEST_DATABASE_URL`, as
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

criterion_group!(benches, list);
criterion_main!(benches);
