//! The chain against a real Postgres: appending, atomicity, concurrency,
//! the append-only triggers, and tampering by a superuser.

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test code fails the test"
)]

mod common;

use std::sync::Arc;

use common::{SCHEMA, TestDb, record};
use cpc_audit::{
    APPEND_ONLY_SQLSTATE, AuditError, BreakReason, CHAIN_LINK_SQLSTATE, ChainHash, Decision,
    VerifyRange, VerifyReport, append, append_standalone, chain_hash, verify,
    verify_against_anchor, verify_range, verify_since,
};
use sqlx::{Connection as _, PgConnection, Row as _};
use uuid::Uuid;

async fn append_n(db: &TestDb, n: i64) -> Vec<cpc_audit::AuditEntry> {
    let mut entries = Vec::new();
    for i in 1..=n {
        let child = Uuid::from_u128(u128::try_from(i).expect("positive"));
        entries.push(
            append_standalone(&db.pool, &record(i, None, &[child]))
                .await
                .expect("append"),
        );
    }
    entries
}

async fn seqs(db: &TestDb) -> Vec<i64> {
    sqlx::query_scalar("SELECT seq FROM audit_log ORDER BY seq")
        .fetch_all(&db.pool)
        .await
        .expect("read seqs")
}

/// The SQLSTATE and message of a database error.
fn db_error(e: &sqlx::Error) -> (String, String) {
    let d = e.as_database_error().expect("a database error");
    (
        d.code().map(|c| c.into_owned()).unwrap_or_default(),
        d.message().to_owned(),
    )
}

/// A superuser session with triggers off for its own statements.
async fn tamperer(db: &TestDb) -> PgConnection {
    let mut conn = db.connect(SCHEMA).await;
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut conn)
        .await
        .expect("superuser can bypass triggers");
    conn
}

#[tokio::test]
async fn appended_records_verify_and_read_back_exactly() {
    let db = TestDb::new().await;
    let entries = append_n(&db, 5).await;

    assert_eq!(
        entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(entries[0].prev_hash, ChainHash::GENESIS);
    for pair in entries.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    // Sub-microsecond digits are dropped before hashing, as Postgres would.
    assert_eq!(
        entries[0].record.occurred_at.timestamp_subsec_nanos(),
        123_456_000
    );

    let report = verify(&db.pool).await.expect("verify");
    assert_eq!(
        report,
        VerifyReport::Ok {
            records: 5,
            head_seq: 5,
            head_hash: entries[4].hash,
        }
    );
    assert_eq!(report.head_hash(), Some(entries[4].hash));

    // What a reader gets back is exactly what append returned.
    let page = cpc_audit::list_access(&db.pool, &cpc_audit::AccessQuery::default())
        .await
        .expect("list");
    let mut read: Vec<_> = page.entries;
    read.reverse();
    assert_eq!(read, entries);
}

#[tokio::test]
async fn an_empty_log_verifies_with_the_genesis_head() {
    let db = TestDb::new().await;
    assert_eq!(
        verify(&db.pool).await.expect("verify"),
        VerifyReport::Ok {
            records: 0,
            head_seq: 0,
            head_hash: ChainHash::GENESIS,
        }
    );
}

#[tokio::test]
async fn concurrent_appends_from_20_transactions_are_gapless() {
    let db = TestDb::new().await;
    // A side table standing in for the change each transaction makes.
    sqlx::query("CREATE TABLE work (id int PRIMARY KEY)")
        .execute(&db.pool)
        .await
        .expect("side table");
    let start = Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = Vec::new();
    for i in 1..=20_i32 {
        let pool = db.pool.clone();
        let start = Arc::clone(&start);
        tasks.push(tokio::spawn(async move {
            let mut tx = cpc_audit::begin(&pool).await.expect("begin");
            start.wait().await;
            sqlx::query("INSERT INTO work VALUES ($1)")
                .bind(i)
                .execute(&mut *tx)
                .await
                .expect("the change");
            let entry = append(&mut tx, &record(i.into(), None, &[]))
                .await
                .expect("append");
            tx.commit().await.expect("commit");
            entry.seq
        }));
    }
    let mut returned = Vec::new();
    for task in tasks {
        returned.push(task.await.expect("task"));
    }
    returned.sort_unstable();
    assert_eq!(returned, (1..=20).collect::<Vec<_>>());
    assert_eq!(seqs(&db).await, (1..=20).collect::<Vec<_>>());
    assert!(matches!(
        verify(&db.pool).await.expect("verify"),
        VerifyReport::Ok { records: 20, .. }
    ));
}

#[tokio::test]
async fn a_rolled_back_append_leaves_no_trace_and_no_gap() {
    let db = TestDb::new().await;
    sqlx::query("CREATE TABLE work (id int PRIMARY KEY)")
        .execute(&db.pool)
        .await
        .expect("side table");
    append_n(&db, 2).await;

    let mut tx = cpc_audit::begin(&db.pool).await.expect("begin");
    sqlx::query("INSERT INTO work VALUES (1)")
        .execute(&mut *tx)
        .await
        .expect("the change");
    let doomed = append(&mut tx, &record(3, None, &[]))
        .await
        .expect("append");
    assert_eq!(doomed.seq, 3);
    tx.rollback().await.expect("rollback");

    let work: i64 = sqlx::query_scalar("SELECT count(*) FROM work")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(work, 0);
    assert_eq!(seqs(&db).await, [1, 2]);

    let next = append_standalone(&db.pool, &record(4, None, &[]))
        .await
        .expect("append after rollback");
    assert_eq!(next.seq, 3);
    assert_ne!(next.hash, doomed.hash);
    assert!(matches!(
        verify(&db.pool).await.expect("verify"),
        VerifyReport::Ok { records: 3, .. }
    ));
}

#[tokio::test]
async fn several_appends_in_one_transaction_chain_in_order() {
    let db = TestDb::new().await;
    let mut tx = cpc_audit::begin(&db.pool).await.expect("begin");
    let a = append(&mut tx, &record(1, None, &[])).await.expect("a");
    let b = append(&mut tx, &record(2, None, &[])).await.expect("b");
    tx.commit().await.expect("commit");
    assert_eq!((a.seq, b.seq), (1, 2));
    assert_eq!(b.prev_hash, a.hash);
    assert!(verify(&db.pool).await.expect("verify").is_ok());
}

#[tokio::test]
async fn append_refuses_to_run_outside_a_read_committed_transaction() {
    let db = TestDb::new().await;
    let mut conn = db.pool.acquire().await.expect("connection");
    assert!(matches!(
        append(&mut conn, &record(1, None, &[])).await,
        Err(AuditError::NotInTransaction)
    ));

    let mut tx = cpc_audit::begin(&db.pool).await.expect("begin");
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .execute(&mut *tx)
        .await
        .expect("set isolation");
    match append(&mut tx, &record(1, None, &[])).await {
        Err(AuditError::IsolationLevel(level)) => assert_eq!(level, "repeatable read"),
        other => panic!("expected an isolation error, got {other:?}"),
    }
    tx.rollback().await.expect("rollback");

    let mut bad = record(1, None, &[]);
    bad.reason = Some("line one\nforged line".to_owned());
    assert!(matches!(
        append_standalone(&db.pool, &bad).await,
        Err(AuditError::InvalidRecord {
            field: "reason",
            ..
        })
    ));
    assert!(seqs(&db).await.is_empty());
}

#[tokio::test]
async fn update_delete_and_truncate_are_refused_by_the_trigger() {
    let db = TestDb::new().await;
    append_n(&db, 3).await;

    let attempts = [
        (
            "UPDATE audit_log SET reason = 'edited' WHERE seq = 2",
            "UPDATE",
        ),
        ("DELETE FROM audit_log WHERE seq = 2", "DELETE"),
        // Statement-level: refused even when no row would be touched.
        ("DELETE FROM audit_log WHERE false", "DELETE"),
        ("TRUNCATE audit_log", "TRUNCATE"),
    ];
    for (sql, op) in attempts {
        let err = sqlx::query(sql)
            .execute(&db.pool)
            .await
            .expect_err("refused");
        assert_eq!(
            db_error(&err),
            (
                APPEND_ONLY_SQLSTATE.to_owned(),
                format!("audit_log is append-only: {op} refused")
            ),
            "{sql}"
        );
    }
    assert_eq!(seqs(&db).await, [1, 2, 3]);
    assert!(verify(&db.pool).await.expect("verify").is_ok());
}

#[tokio::test]
async fn inserts_that_do_not_extend_the_chain_are_refused() {
    let db = TestDb::new().await;
    let entries = append_n(&db, 2).await;
    let insert = |seq: i64, prev: ChainHash| {
        sqlx::query(
            "INSERT INTO audit_log (seq, occurred_at, request_id, actor_subject, actor_kind, \
             role, authority_id, action, decision, prev_hash, hash) \
             VALUES ($1, now(), 'r', 's', 'person', 'role', 'la', '/a.B/C', 'allow', $2, $3)",
        )
        .bind(seq)
        .bind(prev.as_bytes().to_vec())
        .bind(vec![0u8; 32])
    };
    // A gap, a link to the wrong record, and a fork of an existing seq
    // (linked correctly, so refused by the primary key).
    for (seq, prev, state) in [
        (4, entries[1].hash, CHAIN_LINK_SQLSTATE),
        (3, entries[0].hash, CHAIN_LINK_SQLSTATE),
        (2, entries[0].hash, "23505"),
    ] {
        let err = insert(seq, prev)
            .execute(&db.pool)
            .await
            .expect_err("refused");
        assert_eq!(db_error(&err).0, state, "seq {seq}");
    }

    let other = TestDb::new().await;
    let err = insert(1, entries[0].hash)
        .execute(&other.pool)
        .await
        .expect_err("seq 1 must link to genesis");
    assert_eq!(
        db_error(&err),
        (
            CHAIN_LINK_SQLSTATE.to_owned(),
            "audit_log seq 1 must link to the genesis hash".to_owned()
        )
    );
}

#[tokio::test]
async fn an_edited_field_is_a_hash_mismatch_at_that_record() {
    let db = TestDb::new().await;
    let entries = append_n(&db, 5).await;

    let mut conn = db.connect(SCHEMA).await;
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER ALL")
        .execute(&mut conn)
        .await
        .expect("superuser disables triggers");
    sqlx::query("UPDATE audit_log SET decision = 'deny' WHERE seq = 3")
        .execute(&mut conn)
        .await
        .expect("tamper");

    let mut altered = entries[2].record.clone();
    altered.decision = Decision::Deny;
    assert_eq!(
        verify(&db.pool).await.expect("verify"),
        VerifyReport::Broken {
            at_seq: 3,
            reason: BreakReason::HashMismatch {
                stored: entries[2].hash,
                computed: chain_hash(&entries[2].prev_hash, 3, &altered),
            },
            verified: 2,
        }
    );
}

/// Appends `records` to a fresh log, then, for each `(seq, statement)`,
/// checks that the statement run on another fresh copy breaks the chain
/// with a hash mismatch at `seq`, everything before it verified.
async fn each_edit_is_a_hash_mismatch(
    records: &[cpc_audit::NewAuditRecord],
    edits: &[(i64, &str)],
) {
    for &(n, tamper) in edits {
        let db = TestDb::new().await;
        for r in records {
            append_standalone(&db.pool, r).await.expect("append");
        }
        assert!(verify(&db.pool).await.expect("verify").is_ok());
        let mut conn = tamperer(&db).await;
        sqlx::query(tamper)
            .execute(&mut conn)
            .await
            .expect("tamper");
        match verify(&db.pool).await.expect("verify") {
            VerifyReport::Broken {
                at_seq,
                reason: BreakReason::HashMismatch { .. },
                verified,
            } => assert_eq!(
                (at_seq, verified),
                (n, u64::try_from(n - 1).unwrap_or(0)),
                "{tamper}"
            ),
            other => panic!("{tamper}: {other:?}"),
        }
    }
}

fn named_plan(mut record: cpc_audit::NewAuditRecord, id: u128) -> cpc_audit::NewAuditRecord {
    record.named = Some(cpc_audit::NamedRecord {
        kind: "plan".to_owned(),
        id: Uuid::from_u128(id).to_string(),
    });
    record
}

#[tokio::test]
async fn a_named_record_cleared_moved_or_added_is_a_hash_mismatch() {
    let records = [
        record(1, None, &[]),
        named_plan(record(2, None, &[]), 0x30),
        record(3, None, &[]),
    ];
    each_edit_is_a_hash_mismatch(
        &records,
        &[
            // Who tried which record is hidden, or pinned on another record...
            (
                2,
                "UPDATE audit_log SET named_kind = NULL, named_id = NULL WHERE seq = 2",
            ),
            (2, "UPDATE audit_log SET named_id = 'other' WHERE seq = 2"),
            // ...or an attempt is invented on a record never named.
            (
                3,
                "UPDATE audit_log SET named_kind = 'plan', named_id = 'x' WHERE seq = 3",
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_credential_id_cleared_changed_or_added_is_a_hash_mismatch() {
    let mut with_credential = record(2, None, &[]);
    with_credential.credential_id = Some("token:jti-2".to_owned());
    let mut named_with_credential = named_plan(record(4, None, &[]), 0x40);
    named_with_credential.credential_id = Some("token:jti-4".to_owned());
    let records = [
        record(1, None, &[]),
        with_credential,
        record(3, None, &[]),
        named_with_credential,
    ];
    each_edit_is_a_hash_mismatch(
        &records,
        &[
            // Which credential made the call is hidden, or pinned on another...
            (2, "UPDATE audit_log SET credential_id = NULL WHERE seq = 2"),
            (
                2,
                "UPDATE audit_log SET credential_id = 'token:jti-other' WHERE seq = 2",
            ),
            // ...or a call is pinned on one after the fact, also with a
            // named record beside it.
            (
                3,
                "UPDATE audit_log SET credential_id = 'token:jti-2' WHERE seq = 3",
            ),
            (
                4,
                "UPDATE audit_log SET named_kind = NULL, named_id = NULL WHERE seq = 4",
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_policy_set_cleared_changed_or_added_is_a_hash_mismatch() {
    const DECIDED_BY: &str = "c6d743d88e7f8297fad7b43da39d47966ff8781ef5688e7089d2f739d825f179";
    let mut decided = record(2, None, &[]);
    decided.policy_set = Some(DECIDED_BY.to_owned());
    let mut everything = named_plan(record(4, None, &[]), 0x40);
    everything.credential_id = Some("token:jti-4".to_owned());
    everything.policy_set = Some(DECIDED_BY.to_owned());
    let records = [
        record(1, None, &[]),
        decided,
        record(3, None, &[]),
        everything,
    ];
    let other = "0".repeat(64);
    let edits = [
        // Which policies decided is hidden, or swapped for a set that would
        // have answered otherwise...
        (
            2,
            "UPDATE audit_log SET policy_set = NULL WHERE seq = 2".to_owned(),
        ),
        (
            2,
            format!("UPDATE audit_log SET policy_set = '{other}' WHERE seq = 2"),
        ),
        // ...or pinned on a decision a service rule made.
        (
            3,
            format!("UPDATE audit_log SET policy_set = '{other}' WHERE seq = 3"),
        ),
        (
            4,
            "UPDATE audit_log SET credential_id = NULL WHERE seq = 4".to_owned(),
        ),
    ];
    let edits: Vec<(i64, &str)> = edits.iter().map(|(n, sql)| (*n, sql.as_str())).collect();
    each_edit_is_a_hash_mismatch(&records, &edits).await;
    // The column takes only a digest.
    let db = TestDb::new().await;
    let mut bad = record(1, None, &[]);
    bad.policy_set = Some(DECIDED_BY.to_uppercase());
    assert!(append_standalone(&db.pool, &bad).await.is_err());
}

#[tokio::test]
async fn a_deleted_record_is_reported_missing() {
    let db = TestDb::new().await;
    append_n(&db, 5).await;
    let mut conn = tamperer(&db).await;
    sqlx::query("DELETE FROM audit_log WHERE seq = 2")
        .execute(&mut conn)
        .await
        .expect("tamper");
    assert_eq!(
        verify(&db.pool).await.expect("verify"),
        VerifyReport::Broken {
            at_seq: 2,
            reason: BreakReason::MissingRecord { expected_seq: 2 },
            verified: 1,
        }
    );
}

#[tokio::test]
async fn a_truncated_tail_is_caught_only_against_an_anchor() {
    let db = TestDb::new().await;
    let entries = append_n(&db, 5).await;
    let anchor = verify(&db.pool)
        .await
        .expect("verify")
        .anchor()
        .expect("intact");
    assert_eq!((anchor.seq, anchor.hash), (5, entries[4].hash));
    assert!(
        verify_against_anchor(&db.pool, anchor.seq, anchor.hash)
            .await
            .expect("verify")
            .is_ok()
    );

    let mut conn = tamperer(&db).await;
    sqlx::query("DELETE FROM audit_log WHERE seq = 5")
        .execute(&mut conn)
        .await
        .expect("tamper");

    // On its own the shorter chain is perfect...
    assert_eq!(
        verify(&db.pool).await.expect("verify"),
        VerifyReport::Ok {
            records: 4,
            head_seq: 4,
            head_hash: entries[3].hash,
        }
    );
    // ...but not against the head kept elsewhere.
    assert_eq!(
        verify_against_anchor(&db.pool, anchor.seq, anchor.hash)
            .await
            .expect("verify"),
        VerifyReport::Broken {
            at_seq: 5,
            reason: BreakReason::MissingRecord { expected_seq: 5 },
            verified: 4,
        }
    );
    // An older anchor is still satisfied, and the entries after it checked.
    assert_eq!(
        verify_against_anchor(&db.pool, 3, entries[2].hash)
            .await
            .expect("verify"),
        VerifyReport::Ok {
            records: 4,
            head_seq: 4,
            head_hash: entries[3].hash,
        }
    );
}

#[tokio::test]
async fn a_rewritten_and_rehashed_chain_is_caught_by_links_or_the_anchor() {
    let db = TestDb::new().await;
    let entries = append_n(&db, 5).await;
    let anchor = (5, entries[4].hash);
    let mut conn = tamperer(&db).await;

    // Edit record 3 and fix its own hash: record 4's link breaks.
    let mut altered = entries[2].record.clone();
    altered.child_ids.clear();
    let hash3 = chain_hash(&entries[2].prev_hash, 3, &altered);
    sqlx::query("UPDATE audit_log SET child_ids = '{}', hash = $1 WHERE seq = 3")
        .bind(hash3.as_bytes().to_vec())
        .execute(&mut conn)
        .await
        .expect("tamper");
    assert_eq!(
        verify(&db.pool).await.expect("verify"),
        VerifyReport::Broken {
            at_seq: 4,
            reason: BreakReason::PrevHashMismatch {
                stored: entries[2].hash,
                expected: hash3,
            },
            verified: 3,
        }
    );

    // Re-hash everything after it: internally consistent again...
    let mut prev = hash3;
    for e in &entries[3..] {
        let hash = chain_hash(&prev, e.seq, &e.record);
        sqlx::query("UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3")
            .bind(prev.as_bytes().to_vec())
            .bind(hash.as_bytes().to_vec())
            .bind(e.seq)
            .execute(&mut conn)
            .await
            .expect("tamper");
        prev = hash;
    }
    assert!(verify(&db.pool).await.expect("verify").is_ok());
    // ...but the anchored head no longer matches.
    assert_eq!(
        verify_against_anchor(&db.pool, anchor.0, anchor.1)
            .await
            .expect("verify"),
        VerifyReport::Broken {
            at_seq: 5,
            reason: BreakReason::AnchorMismatch {
                anchored: anchor.1,
                found: prev,
            },
            verified: 4,
        }
    );
}

#[tokio::test]
async fn a_mangled_row_is_reported_unreadable() {
    let db = TestDb::new().await;
    append_n(&db, 3).await;
    let mut conn = tamperer(&db).await;
    sqlx::raw_sql(
        "ALTER TABLE audit_log DROP CONSTRAINT audit_log_decision_check; \
         UPDATE audit_log SET decision = 'maybe' WHERE seq = 2",
    )
    .execute(&mut conn)
    .await
    .expect("tamper");
    match verify(&db.pool).await.expect("verify") {
        VerifyReport::Broken {
            at_seq: 2,
            reason: BreakReason::Unreadable { detail },
            verified: 1,
        } => assert!(detail.contains("decision"), "{detail}"),
        other => panic!("expected unreadable at 2, got {other:?}"),
    }
}

#[tokio::test]
async fn a_range_is_verified_from_its_link_to_the_record_before() {
    let db = TestDb::new().await;
    let entries = append_n(&db, 6).await;
    let range = |from, to| VerifyRange { from, to };

    assert_eq!(
        verify_range(&db.pool, range(Some(3), Some(4)))
            .await
            .expect("verify"),
        VerifyReport::Ok {
            records: 2,
            head_seq: 4,
            head_hash: entries[3].hash,
        }
    );
    assert_eq!(
        verify_range(&db.pool, range(Some(5), None))
            .await
            .expect("verify"),
        VerifyReport::Ok {
            records: 2,
            head_seq: 6,
            head_hash: entries[5].hash,
        }
    );
    // Nothing new since the last verified head.
    assert_eq!(
        verify_range(&db.pool, range(Some(7), None))
            .await
            .expect("verify"),
        VerifyReport::Ok {
            records: 0,
            head_seq: 6,
            head_hash: entries[5].hash,
        }
    );
    // Records the caller expects but the log does not have.
    assert_eq!(
        verify_range(&db.pool, range(Some(5), Some(8)))
            .await
            .expect("verify"),
        VerifyReport::Broken {
            at_seq: 7,
            reason: BreakReason::MissingRecord { expected_seq: 7 },
            verified: 2,
        }
    );
    for bad in [range(Some(0), None), range(Some(4), Some(3))] {
        assert!(matches!(
            verify_range(&db.pool, bad).await,
            Err(AuditError::InvalidQuery(_))
        ));
    }

    // Damage before the range is outside it; damage to its link is not.
    let mut conn = tamperer(&db).await;
    sqlx::query("UPDATE audit_log SET reason = 'x' WHERE seq = 1")
        .execute(&mut conn)
        .await
        .expect("tamper");
    assert!(
        verify_range(&db.pool, range(Some(3), None))
            .await
            .expect("verify")
            .is_ok()
    );
    sqlx::query("UPDATE audit_log SET hash = $1 WHERE seq = 2")
        .bind(vec![7u8; 32])
        .execute(&mut conn)
        .await
        .expect("tamper");
    assert!(matches!(
        verify_range(&db.pool, range(Some(3), None))
            .await
            .expect("verify"),
        VerifyReport::Broken {
            at_seq: 3,
            reason: BreakReason::PrevHashMismatch { .. },
            ..
        }
    ));
}

#[tokio::test]
async fn each_schema_keeps_its_own_chain() {
    let db = TestDb::new().await;
    db.migrate("other").await;
    let other = db.pool_for("other");
    for i in 1..=3 {
        let a = append_standalone(&db.pool, &record(i, None, &[]))
            .await
            .expect("svc");
        let b = append_standalone(&other, &record(i + 100, None, &[]))
            .await
            .expect("other");
        assert_eq!((a.seq, b.seq), (i, i));
    }
    assert!(matches!(
        verify(&db.pool).await.expect("verify"),
        VerifyReport::Ok { records: 3, .. }
    ));
    assert!(matches!(
        verify(&other).await.expect("verify"),
        VerifyReport::Ok { records: 3, .. }
    ));
    // The link trigger reads its own schema even from a session whose
    // search_path is elsewhere.
    let mut conn = db.connect("public").await;
    let err = sqlx::query(
        "INSERT INTO other.audit_log (seq, occurred_at, request_id, actor_subject, actor_kind, \
         role, authority_id, action, decision, prev_hash, hash) \
         SELECT 4, now(), 'r', 's', 'person', 'role', 'la', '/a.B/C', 'allow', hash, hash \
         FROM svc.audit_log WHERE seq = 3",
    )
    .execute(&mut conn)
    .await
    .expect_err("svc's head does not extend other's chain");
    assert_eq!(db_error(&err).0, CHAIN_LINK_SQLSTATE);
    let _ = conn.close().await;
}

#[tokio::test]
async fn a_thousand_sequential_appends_verify() {
    let db = TestDb::new().await;
    let children = [Uuid::new_v4(), Uuid::new_v4()];
    for i in 1..=1000 {
        append_standalone(&db.pool, &record(i, Some(children[0]), &children))
            .await
            .expect("append");
    }
    let report = verify(&db.pool).await.expect("verify");
    assert!(matches!(report, VerifyReport::Ok { records: 1000, .. }));
    let row = sqlx::query("SELECT count(*) AS n, max(seq) AS m FROM audit_log")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(row.get::<i64, _>("n"), 1000);
    assert_eq!(row.get::<i64, _>("m"), 1000);
}

#[tokio::test]
async fn since_a_verified_head_only_the_new_records_are_read_and_tampering_shows() {
    let db = TestDb::new().await;
    let entries = append_n(&db, 5).await;
    let anchor_at = |i: usize| cpc_audit::Anchor {
        seq: entries[i].seq,
        hash: entries[i].hash,
    };
    // The anchored record and those after it.
    assert_eq!(
        verify_since(&db.pool, anchor_at(2)).await.expect("verify"),
        VerifyReport::Ok {
            records: 3,
            head_seq: 5,
            head_hash: entries[4].hash,
        }
    );
    // Nothing new: the anchored head is still there.
    assert_eq!(
        verify_since(&db.pool, anchor_at(4)).await.expect("verify"),
        VerifyReport::Ok {
            records: 1,
            head_seq: 5,
            head_hash: entries[4].hash,
        }
    );
    assert!(matches!(
        verify_since(
            &db.pool,
            cpc_audit::Anchor {
                seq: 0,
                hash: ChainHash::GENESIS
            }
        )
        .await,
        Err(AuditError::InvalidQuery(_))
    ));

    let mut conn = tamperer(&db).await;
    // An edit after the anchor.
    sqlx::query("UPDATE audit_log SET child_ids = '{}' WHERE seq = 4")
        .execute(&mut conn)
        .await
        .expect("tamper");
    assert!(matches!(
        verify_since(&db.pool, anchor_at(2)).await.expect("verify"),
        VerifyReport::Broken {
            at_seq: 4,
            reason: BreakReason::HashMismatch { .. },
            verified: 1,
        }
    ));
    // The tail deleted from before the anchor (the link into it is
    // missing first).
    sqlx::query("DELETE FROM audit_log WHERE seq >= 3")
        .execute(&mut conn)
        .await
        .expect("tamper");
    assert_eq!(
        verify_since(&db.pool, anchor_at(4)).await.expect("verify"),
        VerifyReport::Broken {
            at_seq: 4,
            reason: BreakReason::MissingRecord { expected_seq: 4 },
            verified: 0,
        }
    );
    // The log grown again from the cut: the record at the anchor's place
    // is another one.
    drop(conn);
    let regrown = append_n(&db, 3).await;
    assert_eq!(regrown.last().map(|e| e.seq), Some(5));
    assert_eq!(
        verify_since(&db.pool, anchor_at(2)).await.expect("verify"),
        VerifyReport::Broken {
            at_seq: 3,
            reason: BreakReason::AnchorMismatch {
                anchored: entries[2].hash,
                found: regrown[0].hash,
            },
            verified: 0,
        }
    );
}
