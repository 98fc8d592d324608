//! `cpcd --verify-audit` as an operator runs it: one line per service on
//! stdout, exit 1 for a broken chain, and anchors kept from earlier runs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test"
)]

use std::process::Output;

use cpc_platform::testing::{TestDatabase, TestServer};
use cpcd::Selection;
use secrecy::ExposeSecret as _;

async fn cpcd(db: &TestDatabase, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_cpcd"))
        .args(args)
        .env("CPC_DATABASE_URL", db.url().expose_secret())
        .env_remove("CPC_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .await
        .expect("cpcd runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[tokio::test]
async fn verify_audit_reports_each_log_and_an_anchor_catches_a_lost_log() {
    let db = TestDatabase::create().await;
    // Serving once migrates every schema; nothing is recorded.
    TestServer::start(db.config(), Selection::All.components())
        .await
        .stop()
        .await;

    let out = cpcd(&db, &["all", "--verify-audit"]).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(
        lines,
        [
            "cases: intact, 0 records",
            "scheduling: intact, 0 records",
            "reporting: intact, 0 records",
            "escalation: intact, 0 records",
        ]
    );

    // An auditor kept the head of a log that has since been emptied: the
    // chain left (none) is whole, the anchor shows the loss.
    let kept = format!("cases=1:{}", "ab".repeat(32));
    let out = cpcd(&db, &["cases", "--verify-audit", "--anchor", &kept]).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stdout(&out).trim_end(),
        "cases: BROKEN at record 1 after 0 verified: record 1 is missing"
    );

    // An anchor for a log not verified is an error, not a pass.
    let out = cpcd(
        &db,
        &[
            "cases",
            "--verify-audit",
            "--anchor",
            &kept.replace("cases", "scheduling"),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stdout(&out).is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("anchor for scheduling"), "{stderr}");

    // A malformed anchor, or one without --verify-audit, is a usage error.
    for args in [
        &["all", "--verify-audit", "--anchor", "cases=1"][..],
        &["all", "--anchor", &kept],
    ] {
        let out = cpcd(&db, args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    }
}
