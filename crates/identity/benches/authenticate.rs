//! What verifying a caller costs on every call: a development token (EdDSA)
//! checked with no revocation list, and with 10,000 people revoked (the
//! list a large regional deployment might build up over a token lifetime).
//!
//! Run with `cargo bench -p cpc-identity --bench authenticate`.

#![allow(
    clippy::expect_used,
    reason = "a benchmark whose setup fails has nothing to measure"
)]

use std::hint::black_box;

use chrono::{DateTime, Utc};
use cpc_identity::dev::{DEV_ISSUER, DevClaims, DevKey};
use cpc_identity::{Authenticator, IdentityConfig, Mode, Role};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

fn authenticator(dir: &std::path::Path, revoked: usize) -> Authenticator {
    let revocations = dir.join(format!("revocations-{revoked}.json"));
    let entries: Vec<_> = (0..revoked)
        .map(|i| {
            json!({"issuer": DEV_ISSUER, "subject": format!("revoked-{i}"),
                   "issued_before": "2030-01-01T00:00:00Z"})
        })
        .collect();
    std::fs::write(&revocations, json!({ "revoked": entries }).to_string())
        .expect("the revocation list is written");
    let config = IdentityConfig {
        mode: Mode::Development,
        dev_key_dir: dir.join("dev"),
        revocations_file: Some(revocations),
        ..IdentityConfig::default()
    };
    Authenticator::from_config(&config).expect("the authenticator loads")
}

fn authenticate(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let now: DateTime<Utc> = DateTime::from_timestamp(1_900_000_000, 0).unwrap_or_default();
    for revoked in [0, 10_000] {
        let auth = authenticator(tmp.path(), revoked);
        let key = DevKey::load_or_create(tmp.path().join("dev")).expect("the development key");
        let header = format!(
            "Bearer {}",
            key.mint_at(
                &DevClaims::new("sw-1", "E10000013", [Role::SocialWorker]),
                now
            )
        );
        c.bench_function(&format!("authenticate_bearer, {revoked} revoked"), |b| {
            b.iter(|| auth.authenticate_bearer(black_box(Some(header.as_str())), now));
        });
    }
}

criterion_group!(benches, authenticate);
criterion_main!(benches);
