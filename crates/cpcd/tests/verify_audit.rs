//! `cpcd --verify-audit` as an operator runs it: one line per service on
//! stdout, exit 1 for a broken chain, and anchors kept from earlier runs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test"
)]

mod binary;

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

/// The loop an operator closes: a serving `cpcd` logs each verified head of
/// its audit logs (JSON, as shipped), the log archive keeps the line, and
/// the `anchor` taken from it is what `--verify-audit --anchor` takes: it
/// passes while the log is whole and catches a cut behind it.
#[tokio::test]
async fn a_head_the_server_logs_is_an_anchor_for_verify_audit() {
    use cpc_identity::Role;
    use cpc_identity::dev::{DevClaims, DevKey};
    use cpc_proto::audit::v1 as audit;
    use tokio::io::AsyncBufReadExt as _;

    let db = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let addr = binary::free_addr();
    let config = dir.path().join("cpc.toml");
    let watched = "\n[audit]\nwatch_interval = \"1s\"\n";
    std::fs::write(&config, binary::config_toml(&db, &addr, "info", watched)).unwrap();
    let mut server = binary::spawn(&config);
    // Every log line, as the archive would keep it.
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    let mut stderr = tokio::io::BufReader::new(server.stderr.take().unwrap()).lines();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stderr.next_line().await {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut client = audit::audit_service_client::AuditServiceClient::new(
        binary::connect(&addr, &mut server).await,
    );
    let key = DevKey::load_or_create(db.dev_key_dir()).unwrap();
    let token = key.mint(&DevClaims::new("aud-1", "E10000013", [Role::Auditor]));
    // Three readings of the cases log, each recorded in it.
    for _ in 0..3 {
        let mut request = tonic::Request::new(audit::ListAccessRecordsRequest {
            service: "cases".into(),
            ..Default::default()
        });
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        client.list_access_records(request).await.unwrap();
    }

    // What an archive query for the line gives (`jq -r 'select(.fields.message
    // == "audit head verified") | .fields.anchor'`), once the head reaches 3.
    let anchor = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(line) = lines.recv().await {
            let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            let fields = &event["fields"];
            if fields["message"] == "audit head verified" && fields["service"] == "cases" {
                let anchor = fields["anchor"].as_str().unwrap().to_owned();
                if anchor.starts_with("cases=3:") {
                    assert_eq!(event["level"], "INFO");
                    return anchor;
                }
            }
        }
        panic!("cpcd stopped before logging the head");
    })
    .await
    .expect("the head is logged within a few watch intervals");
    server.start_kill().unwrap();
    server.wait().await.unwrap();

    let out = cpcd(&db, &["cases", "--verify-audit", "--anchor", &anchor]).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        stdout(&out).trim_end(),
        format!("cases: intact, 3 records, head {anchor}")
    );
    // Cut back behind the logged head: whole on its own, not against it.
    cpc_platform::testing::tamper_with_audit_log(
        &db,
        "cases",
        "DELETE FROM audit_log WHERE seq >= 3",
    )
    .await;
    let out = cpcd(&db, &["cases", "--verify-audit", "--anchor", &anchor]).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stdout(&out).trim_end(),
        "cases: BROKEN at record 3 after 2 verified: record 3 is missing"
    );
}
