//! Appending one record to a Postgres audit log (a fresh database;
//! `CPC_TEST_DATABASE_URL`, as the tests use), naming one child (a read of
//! a child's record) or a page of them (a list names every child whose
//! records its page returned, up to 500). Each append hashes the record,
//! takes the chain's lock and writes the row and its child-id index
//! entries. Run with `cargo bench -p cpc-audit --bench append`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark stops on bad setup"
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use common::{TestDb, record};
use cpc_audit::append_standalone;
use criterion::{Criterion, criterion_group, criterion_main};
use uuid::Uuid;

fn append(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(TestDb::new());
    let mut group = c.benchmark_group("append one audit record");
    group.sample_size(50);
    let mut n: i64 = 0;
    for children in [1_usize, 50, 500] {
        let ids: Vec<Uuid> = (0..children).map(|_| Uuid::new_v4()).collect();
        group.bench_function(format!("naming {children} children"), |b| {
            b.iter(|| {
                n += 1;
                let entry = runtime
                    .block_on(append_standalone(&db.pool, &record(n, None, &ids)))
                    .unwrap();
                black_box(entry);
            });
        });
    }
    group.finish();
}

criterion_group!(benches, append);
criterion_main!(benches);
