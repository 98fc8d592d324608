//! Listing access records against a real Postgres: filters, keyset pages,
//! page tokens and page sizes.

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test code fails the test"
)]

mod common;

use common::{TestDb, at, record};
use cpc_audit::{
    AccessQuery, AuditError, Decision, NamedRecord, NewAuditRecord, append, append_standalone,
    list_access,
};
use uuid::Uuid;

const CHILD_A: Uuid = Uuid::from_u128(0xA);
const CHILD_B: Uuid = Uuid::from_u128(0xB);
const CASE_X: Uuid = Uuid::from_u128(0x10);
const CASE_Y: Uuid = Uuid::from_u128(0x20);
const STOLEN: &str = "certificate:sha256:5701e2";
/// The policy set that decided records 1 to 10; a later one decided the rest.
const FIRST_POLICIES: &str = "c6d743d88e7f8297fad7b43da39d47966ff8781ef5688e7089d2f739d825f179";
const LATER_POLICIES: &str = "9ccf349e6a2ec8e5cad8ededdb44875a3bcc78ebb2a013f36d3eb2758bebe185";
/// The service rule that decided every seventh record.
const RULE: &str = "cpc:credential-refused";

/// Record `i` (1-based): odd ones are about child A in case X (every third
/// also names child B), even ones about child B in case Y; every fourth is
/// an integration acting for "person-p", with its certificate (every eighth
/// with a stolen one); every fifth is denied; every seventh was decided by
/// a service rule ([`RULE`]; every fourteenth refused), the others by the policies (records 1 to 10
/// by the first set, the rest by a later one).
fn fixture(i: i64) -> NewAuditRecord {
    let mut r = if i % 2 == 1 {
        let children: &[Uuid] = if i % 3 == 0 {
            &[CHILD_B, CHILD_A]
        } else {
            &[CHILD_A]
        };
        record(i, Some(CASE_X), children)
    } else {
        record(i, Some(CASE_Y), &[CHILD_B])
    };
    if i % 4 == 0 {
        r.actor_subject = "integration-lcs".to_owned();
        r.actor_kind = "integration".to_owned();
        r.on_behalf_of = Some("person-p".to_owned());
        r.credential_id = Some(if i % 8 == 0 {
            STOLEN.to_owned()
        } else {
            "certificate:sha256:11".to_owned()
        });
    }
    if i % 5 == 0 {
        r.decision = Decision::Deny;
        r.reason = Some(format!("no active membership of case {CASE_Y}"));
    }
    if i % 7 == 0 {
        r.policy_ids = vec![RULE.to_owned()];
        if i % 14 == 0 {
            r.decision = Decision::Deny;
            r.reason = Some("credential refused: session_revoked".to_owned());
        }
    } else {
        r.policy_set = Some(
            if i <= 10 {
                FIRST_POLICIES
            } else {
                LATER_POLICIES
            }
            .to_owned(),
        );
    }
    r
}

async fn with_fixture(n: i64) -> TestDb {
    let db = TestDb::new().await;
    let mut tx = cpc_audit::begin(&db.pool).await.expect("begin");
    for i in 1..=n {
        append(&mut tx, &fixture(i)).await.expect("append");
    }
    tx.commit().await.expect("commit");
    db
}

/// Seqs of `1..=n` whose fixture matches, newest first.
fn expected(n: i64, keep: impl Fn(&NewAuditRecord) -> bool) -> Vec<i64> {
    (1..=n).rev().filter(|&i| keep(&fixture(i))).collect()
}

/// Every page of `query`, checking page sizes; returns the seqs in order.
async fn all_pages(db: &TestDb, mut query: AccessQuery) -> Vec<i64> {
    let size = query.effective_page_size() as usize;
    let mut seqs = Vec::new();
    for _ in 0..1000 {
        let page = list_access(&db.pool, &query).await.expect("list");
        assert!(page.entries.len() <= size);
        seqs.extend(page.entries.iter().map(|e| e.seq));
        match page.next_page_token {
            Some(token) => {
                assert_eq!(page.entries.len(), size, "only the last page is short");
                query.page_token = Some(token);
            }
            None => return seqs,
        }
    }
    panic!("paging did not end");
}

#[tokio::test]
async fn pages_run_newest_first_and_filter_by_child() {
    let db = with_fixture(13).await;
    let query = AccessQuery {
        child_id: Some(CHILD_A),
        page_size: 2,
        ..AccessQuery::default()
    };
    let seqs = all_pages(&db, query).await;
    assert_eq!(seqs, [13, 11, 9, 7, 5, 3, 1]);
    assert_eq!(seqs, expected(13, |r| r.child_ids.contains(&CHILD_A)));

    // Child B appears in even records and in multi-child odd ones.
    let query = AccessQuery {
        child_id: Some(CHILD_B),
        page_size: 3,
        ..AccessQuery::default()
    };
    assert_eq!(
        all_pages(&db, query).await,
        expected(13, |r| r.child_ids.contains(&CHILD_B))
    );
    // A child nobody accessed.
    let page = list_access(
        &db.pool,
        &AccessQuery {
            child_id: Some(Uuid::from_u128(0xC)),
            ..AccessQuery::default()
        },
    )
    .await
    .expect("list");
    assert!(page.entries.is_empty());
    assert_eq!(page.next_page_token, None);
}

#[tokio::test]
async fn every_filter_narrows_the_list() {
    let n = 20;
    let db = with_fixture(n).await;
    let list = |query: AccessQuery| {
        let db = &db;
        async move {
            all_pages(
                db,
                AccessQuery {
                    page_size: 4,
                    ..query
                },
            )
            .await
        }
    };

    assert_eq!(
        list(AccessQuery {
            case_id: Some(CASE_Y),
            ..AccessQuery::default()
        })
        .await,
        expected(n, |r| r.case_id == Some(CASE_Y))
    );
    let person = expected(n, |r| {
        r.actor_subject == "person-p" || r.on_behalf_of.as_deref() == Some("person-p")
    });
    assert_eq!(person, [20, 16, 12, 8, 4]);
    assert_eq!(
        list(AccessQuery {
            person_id: Some("person-p".to_owned()),
            ..AccessQuery::default()
        })
        .await,
        person
    );
    // The calls made with one credential, a stolen certificate.
    let stolen = expected(n, |r| r.credential_id.as_deref() == Some(STOLEN));
    assert_eq!(stolen, [16, 8]);
    assert_eq!(
        list(AccessQuery {
            credential_id: Some(STOLEN.to_owned()),
            ..AccessQuery::default()
        })
        .await,
        stolen
    );
    // What the first policy set allowed, once a text of it is found wrong.
    let allowed_by_first = expected(n, |r| {
        r.policy_set.as_deref() == Some(FIRST_POLICIES) && r.decision == Decision::Allow
    });
    assert_eq!(allowed_by_first, [9, 8, 6, 4, 3, 2, 1]);
    assert_eq!(
        list(AccessQuery {
            policy_set: Some(FIRST_POLICIES.to_owned()),
            decision: Some(Decision::Allow),
            ..AccessQuery::default()
        })
        .await,
        allowed_by_first
    );
    assert_eq!(
        list(AccessQuery {
            decision: Some(Decision::Deny),
            child_id: Some(CHILD_A),
            ..AccessQuery::default()
        })
        .await,
        [15, 5]
    );
    // What one rule decided, and what it refused.
    assert_eq!(expected(n, |r| r.policy_ids == [RULE]), [14, 7]);
    for decision in [None, Some(Decision::Deny), Some(Decision::Allow)] {
        let refused = expected(n, |r| {
            r.policy_ids == [RULE] && decision.is_none_or(|d| r.decision == d)
        });
        assert_eq!(
            list(AccessQuery {
                policy_id: Some(RULE.to_owned()),
                decision,
                ..AccessQuery::default()
            })
            .await,
            refused
        );
    }
    assert_eq!(
        list(AccessQuery {
            policy_id: Some("case-membership-active".to_owned()),
            decision: Some(Decision::Deny),
            ..AccessQuery::default()
        })
        .await,
        expected(n, |r| r.decision == Decision::Deny
            && r.policy_ids != [RULE])
    );
    // Half-open interval [from, to) on occurred_at.
    assert_eq!(
        list(AccessQuery {
            from: Some(at(3)),
            to: Some(at(7)),
            ..AccessQuery::default()
        })
        .await,
        [6, 5, 4, 3]
    );
    assert_eq!(
        list(AccessQuery {
            authority_id: Some("la-916".to_owned()),
            ..AccessQuery::default()
        })
        .await,
        expected(n, |_| true)
    );
    assert!(
        list(AccessQuery {
            authority_id: Some("la-000".to_owned()),
            ..AccessQuery::default()
        })
        .await
        .is_empty()
    );
}

#[tokio::test]
async fn appends_while_paging_neither_shift_nor_repeat_entries() {
    let db = with_fixture(9).await;
    let mut query = AccessQuery {
        child_id: Some(CHILD_A),
        page_size: 2,
        ..AccessQuery::default()
    };
    let first = list_access(&db.pool, &query).await.expect("list");
    let mut seqs: Vec<i64> = first.entries.iter().map(|e| e.seq).collect();
    for i in 10..=14 {
        append_standalone(&db.pool, &fixture(i))
            .await
            .expect("append");
    }
    query.page_token = first.next_page_token;
    seqs.extend(all_pages(&db, query).await);
    assert_eq!(seqs, [9, 7, 5, 3, 1]);
}

#[tokio::test]
async fn page_tokens_are_validated() {
    let db = with_fixture(6).await;
    let by_child = |child| AccessQuery {
        child_id: Some(child),
        page_size: 1,
        ..AccessQuery::default()
    };
    let token = list_access(&db.pool, &by_child(CHILD_B))
        .await
        .expect("list")
        .next_page_token
        .expect("more pages");

    let mut bad = vec![
        String::new(),
        "not a token".to_owned(),
        "0".repeat(token.len()),
        format!("{token}0"),
    ];
    // Every single-digit change to a valid token.
    for i in 0..token.len() {
        let mut t = token.clone().into_bytes();
        t[i] = if t[i] == b'f' { b'e' } else { b'f' };
        bad.push(String::from_utf8(t).expect("ascii"));
    }
    let mut refused = 0;
    for t in &bad {
        let query = AccessQuery {
            page_token: Some(t.clone()),
            ..by_child(CHILD_B)
        };
        match list_access(&db.pool, &query).await {
            Err(AuditError::InvalidPageToken) => refused += 1,
            // Changing a digit of the seq yields another valid position.
            Ok(_) => {}
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    // Only changes inside the seq's low-order digits can stay valid.
    assert!(refused >= bad.len() - 16, "{refused} of {}", bad.len());

    // A token is bound to the filters it was issued for...
    let other = AccessQuery {
        page_token: Some(token.clone()),
        ..by_child(CHILD_A)
    };
    assert!(matches!(
        list_access(&db.pool, &other).await,
        Err(AuditError::InvalidPageToken)
    ));
    // ...but not to the page size.
    let resized = AccessQuery {
        page_token: Some(token),
        page_size: 10,
        ..by_child(CHILD_B)
    };
    assert_eq!(
        list_access(&db.pool, &resized)
            .await
            .expect("list")
            .entries
            .iter()
            .map(|e| e.seq)
            .collect::<Vec<_>>(),
        expected(5, |r| r.child_ids.contains(&CHILD_B))
    );
}

#[tokio::test]
async fn inconsistent_queries_are_refused() {
    let db = TestDb::new().await;
    for query in [
        AccessQuery {
            from: Some(at(5)),
            to: Some(at(5)),
            ..AccessQuery::default()
        },
        AccessQuery {
            person_id: Some(String::new()),
            ..AccessQuery::default()
        },
        AccessQuery {
            credential_id: Some(String::new()),
            ..AccessQuery::default()
        },
        AccessQuery {
            policy_id: Some(String::new()),
            ..AccessQuery::default()
        },
        AccessQuery {
            policy_set: Some(FIRST_POLICIES.to_uppercase()),
            ..AccessQuery::default()
        },
        AccessQuery {
            authority_id: Some(String::new()),
            ..AccessQuery::default()
        },
    ] {
        assert!(matches!(
            list_access(&db.pool, &query).await,
            Err(AuditError::InvalidQuery(_))
        ));
    }
}

#[tokio::test]
async fn page_size_defaults_to_50_and_is_capped_at_500() {
    let db = with_fixture(501).await;
    let page = |page_size| {
        let db = &db;
        async move {
            list_access(
                &db.pool,
                &AccessQuery {
                    page_size,
                    ..AccessQuery::default()
                },
            )
            .await
            .expect("list")
        }
    };
    let default = page(0).await;
    assert_eq!(default.entries.len(), 50);
    assert_eq!(default.entries[0].seq, 501);
    assert!(default.next_page_token.is_some());

    let capped = page(10_000).await;
    assert_eq!(capped.entries.len(), 500);
    assert_eq!(capped.entries[499].seq, 2);
    let rest = list_access(
        &db.pool,
        &AccessQuery {
            page_size: 10_000,
            page_token: capped.next_page_token,
            ..AccessQuery::default()
        },
    )
    .await
    .expect("list");
    assert_eq!(rest.entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [1]);
    assert_eq!(rest.next_page_token, None);

    let one = page(1).await;
    assert_eq!(one.entries.len(), 1);
}

#[tokio::test]
async fn another_authoritys_refusal_naming_the_child_is_listed_only_when_asked_for_that_child() {
    const RULE: &str = "cpc:record-not-in-callers-authority";
    let db = with_fixture(6).await;
    // A caller of another authority named child A and was refused (7); that
    // authority also read and was refused its own things (8, 9), and a
    // refusal under another rule named child A (10).
    let elsewhere = |n: i64, decision: Decision, rule: &str, children: &[Uuid]| {
        let mut r = record(n, None, children);
        r.authority_id = "la-917".to_owned();
        r.decision = decision;
        r.policy_ids = vec![rule.to_owned()];
        r
    };
    for r in [
        elsewhere(7, Decision::Deny, RULE, &[CHILD_A]),
        elsewhere(8, Decision::Allow, "case-membership-active", &[CHILD_A]),
        elsewhere(9, Decision::Deny, RULE, &[CHILD_B]),
        elsewhere(10, Decision::Deny, "authority-boundary", &[CHILD_A]),
    ] {
        append_standalone(&db.pool, &r).await.expect("append");
    }
    let ours = |refused_elsewhere: bool| AccessQuery {
        authority_id: Some("la-916".to_owned()),
        child_id: Some(CHILD_A),
        refused_elsewhere_under: refused_elsewhere.then(|| RULE.to_owned()),
        page_size: 2,
        ..AccessQuery::default()
    };
    let own = expected(6, |r| r.child_ids.contains(&CHILD_A));
    assert_eq!(all_pages(&db, ours(false)).await, own);
    let mut with_attempt = vec![7];
    with_attempt.extend(&own);
    assert_eq!(all_pages(&db, ours(true)).await, with_attempt);

    // Not without one child of one authority.
    for query in [
        AccessQuery {
            child_id: None,
            ..ours(true)
        },
        AccessQuery {
            authority_id: None,
            ..ours(true)
        },
    ] {
        assert!(matches!(
            list_access(&db.pool, &query).await,
            Err(AuditError::InvalidQuery(_))
        ));
    }
    // A page token of one listing is not one of the other.
    assert_page_token_not_taken_by(&db.pool, &ours(false), ours(true)).await;
}

#[tokio::test]
async fn another_authoritys_refusal_naming_one_of_the_childs_records_is_listed_with_the_child() {
    const RULE: &str = "cpc:record-not-in-callers-authority";
    let db = with_fixture(6).await;
    let plan = Uuid::from_u128(0x30).to_string();
    let elsewhere = |n: i64, decision: Decision, rule: &str, named: &str| {
        let mut r = record(n, None, &[]);
        r.authority_id = "la-917".to_owned();
        r.decision = decision;
        r.policy_ids = vec![rule.to_owned()];
        r.named = Some(NamedRecord {
            kind: "plan".to_owned(),
            id: named.to_owned(),
        });
        r
    };
    // A caller elsewhere named child A's plan and was refused (7); another
    // record's id (8); the plan under another rule (9); and an allowed
    // record naming it (10) is not a refusal.
    let other = Uuid::from_u128(0x31).to_string();
    for r in [
        elsewhere(7, Decision::Deny, RULE, &plan),
        elsewhere(8, Decision::Deny, RULE, &other),
        elsewhere(9, Decision::Deny, "authority-boundary", &plan),
        elsewhere(10, Decision::Allow, RULE, &plan),
    ] {
        append_standalone(&db.pool, &r).await.expect("append");
    }
    let ours = |naming: Vec<String>| AccessQuery {
        authority_id: Some("la-916".to_owned()),
        child_id: Some(CHILD_A),
        refused_elsewhere_under: Some(RULE.to_owned()),
        refused_elsewhere_naming: naming,
        page_size: 2,
        ..AccessQuery::default()
    };
    let own = expected(6, |r| r.child_ids.contains(&CHILD_A));
    assert_eq!(all_pages(&db, ours(Vec::new())).await, own);
    let mut with_attempt = vec![7];
    with_attempt.extend(&own);
    assert_eq!(
        all_pages(&db, ours(vec![plan.clone(), CHILD_B.to_string()])).await,
        with_attempt
    );

    // The named record is read back as written, and its hash covers it.
    let first = list_access(&db.pool, &ours(vec![plan.clone()]))
        .await
        .expect("list");
    // (Postgres keeps microseconds, the fixture writes nanoseconds, so the
    // record is compared field by field rather than whole.)
    let expected = elsewhere(7, Decision::Deny, RULE, &plan);
    let read = &first.entries[0].record;
    assert_eq!(
        (
            &read.named,
            &read.authority_id,
            read.decision,
            &read.policy_ids
        ),
        (
            &expected.named,
            &expected.authority_id,
            expected.decision,
            &expected.policy_ids
        )
    );
    assert!(matches!(
        cpc_audit::verify(&db.pool).await.expect("verify"),
        cpc_audit::VerifyReport::Ok { records: 10, .. }
    ));

    // Records named only alongside refusals elsewhere, for one child.
    let stray = AccessQuery {
        refused_elsewhere_under: None,
        ..ours(vec![plan.clone()])
    };
    assert!(matches!(
        list_access(&db.pool, &stray).await,
        Err(AuditError::InvalidQuery(_))
    ));
    // A page token of one listing is not one of another set of records.
    assert_page_token_not_taken_by(&db.pool, &ours(vec![plan.clone()]), ours(vec![other])).await;
}

/// A page token of listing `first` is refused by listing `other`.
async fn assert_page_token_not_taken_by(
    pool: &sqlx::PgPool,
    first: &AccessQuery,
    other: AccessQuery,
) {
    let page = list_access(pool, first).await.expect("list");
    let token = page.next_page_token.expect("more pages");
    assert!(matches!(
        list_access(
            pool,
            &AccessQuery {
                page_token: Some(token),
                ..other
            }
        )
        .await,
        Err(AuditError::InvalidPageToken)
    ));
}
