//! Verifying a log of 10,000 records from Postgres (a fresh database;
//! `CPC_TEST_DATABASE_URL`, as the tests use): the whole chain, as
//! `cpcd --verify-audit` and the watch's first check do, against what the
//! watch does every `audit.watch_interval` after that, the records appended
//! since the head it last verified. Run with
//! `cargo bench -p cpc-audit --bench verify`.

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
use cpc_audit::{Anchor, append_standalone, verify, verify_since};
use criterion::{Criterion, criterion_group, criterion_main};
use uuid::Uuid;

const RECORDS: i64 = 10_000;

fn chain(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(TestDb::new());
    let mut entries = Vec::new();
    runtime.block_on(async {
        for i in 1..=RECORDS {
            let child = Uuid::from_u128(u128::try_from(i).unwrap());
            entries.push(
                append_standalone(&db.pool, &record(i, None, &[child]))
                    .await
                    .unwrap(),
            );
        }
    });
    let mut group = c.benchmark_group("audit log of 10,000");
    group.sample_size(10);
    group.bench_function("verify the whole chain", |b| {
        b.iter(|| {
            let report = runtime.block_on(verify(&db.pool)).unwrap();
            assert!(report.is_ok());
            black_box(report);
        });
    });
    for new in [0_usize, 100, 1_000] {
        let anchored = &entries[entries.len() - 1 - new];
        let anchor = Anchor {
            seq: anchored.seq,
            hash: anchored.hash,
        };
        group.bench_function(format!("verify the {new} appended since a head"), |b| {
            b.iter(|| {
                let report = runtime.block_on(verify_since(&db.pool, anchor)).unwrap();
                assert!(report.is_ok());
                black_box(report);
            });
        });
    }
    group.finish();
}

criterion_group!(benches, chain);
criterion_main!(benches);
