//! `cpc.audit.v1.AuditService` over real gRPC: identity, policy, audit and
//! errors as a caller sees them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test"
)]

mod bad_request;
mod cases_log;

use bad_request::bad_fields;
use cases_log::{append_to_cases_log, earlier_record};
use cpc_identity::Role;
use cpc_identity::dev::{DevClaims, DevKey};
use cpc_platform::testing::{TestDatabase, TestServer, tamper_with_audit_log};
use cpc_proto::audit::v1 as pb;
use cpc_proto::audit::v1::audit_service_client::AuditServiceClient;
use cpcd::Selection;
use tonic::Code;
use tonic::transport::Channel;

struct Fixture {
    db: TestDatabase,
    server: TestServer,
    client: AuditServiceClient<Channel>,
    key: DevKey,
}

async fn fixture() -> Fixture {
    let db = TestDatabase::create().await;
    let server = TestServer::start(db.config(), Selection::All.components()).await;
    let client = AuditServiceClient::new(server.channel().await);
    let key = DevKey::load_or_create(db.dev_key_dir()).unwrap();
    Fixture {
        db,
        server,
        client,
        key,
    }
}

impl Fixture {
    fn token(&self, person: &str, authority: &str, role: Role) -> String {
        self.key.mint(&DevClaims::new(person, authority, [role]))
    }
}

fn authed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// The token id (`jti`) a development token carries.
fn token_id(token: &str) -> String {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["jti"].as_str().unwrap().to_owned()
}

fn list(service: &str) -> pb::ListAccessRecordsRequest {
    pb::ListAccessRecordsRequest {
        service: service.to_owned(),
        ..Default::default()
    }
}

#[tokio::test]
async fn no_token_is_unauthenticated() {
    let mut f = fixture().await;
    let err = f
        .client
        .list_access_records(list("cases"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let expired_scheme = {
        let mut r = tonic::Request::new(list("cases"));
        r.metadata_mut()
            .insert("authorization", "Basic dXNlcjpwYXNz".parse().unwrap());
        r
    };
    assert_eq!(
        f.client
            .list_access_records(expired_scheme)
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    f.server.stop().await;
}

/// The authority ends a person's sessions (`identity.revocations_file`):
/// their token from before is refused over gRPC, saying so, and recorded
/// in the audit log; a colleague or their own sign-in after it is served.
#[tokio::test]
async fn a_revoked_persons_token_is_unauthenticated() {
    let db = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("revocations.json");
    let revoked_at = chrono::Utc::now();
    std::fs::write(
        &file,
        serde_json::json!({"revoked": [{
            "issuer": cpc_identity::dev::DEV_ISSUER,
            "subject": "aud-left",
            "issued_before": revoked_at.to_rfc3339(),
        }]})
        .to_string(),
    )
    .unwrap();
    let mut config = db.config();
    config.identity.revocations_file = Some(file);
    let server = TestServer::start(config, Selection::All.components()).await;
    let mut client = AuditServiceClient::new(server.channel().await);
    let key = DevKey::load_or_create(db.dev_key_dir()).unwrap();
    let minted_at = |person: &str, at: chrono::DateTime<chrono::Utc>| {
        key.mint_at(&DevClaims::new(person, "E1", [Role::Auditor]), at)
    };

    let before = minted_at("aud-left", revoked_at - chrono::TimeDelta::minutes(5));
    let err = client
        .list_access_records(authed(list("cases"), &before))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert!(err.message().contains("session has been ended"), "{err:?}");

    let colleague = minted_at("aud-stays", revoked_at - chrono::TimeDelta::minutes(5));
    let after = minted_at("aud-left", revoked_at + chrono::TimeDelta::seconds(1));
    for token in [&colleague, &after] {
        client
            .list_access_records(authed(list("cases"), token))
            .await
            .unwrap();
    }

    // The attempt is in the audit log, naming the person and the token,
    // for the security team to find; a token that does not verify is not.
    let last = before.rfind('.').unwrap() + 1;
    let flipped = if before[last..].starts_with('A') {
        "B"
    } else {
        "A"
    };
    let forged = format!("{}{flipped}{}", &before[..last], &before[last + 1..]);
    let err = client
        .list_access_records(authed(list("cases"), &forged))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let mut listed = async |request| {
        client
            .list_access_records(authed(request, &colleague))
            .await
            .unwrap()
            .into_inner()
            .records
    };
    let records = listed(pb::ListAccessRecordsRequest {
        person_id: "aud-left".to_owned(),
        decision: pb::AccessDecision::Deny as i32,
        ..list("cases")
    })
    .await;
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!(
        (
            record.rpc_method.as_str(),
            record.policy_id.as_str(),
            record.reason.as_str(),
            record.authority_id.as_str(),
        ),
        (
            "/cpc.audit.v1.AuditService/ListAccessRecords",
            cpc_platform::access::CREDENTIAL_REFUSED,
            "credential refused: session_revoked",
            "E1",
        )
    );
    assert_eq!(record.credential_id, format!("token:{}", token_id(&before)));
    assert!(record.child_ids.is_empty() && record.case_ids.is_empty());
    // And among every refused credential, whoever held it.
    let refusals = listed(pb::ListAccessRecordsRequest {
        policy_id: cpc_platform::access::CREDENTIAL_REFUSED.to_owned(),
        decision: pb::AccessDecision::Deny as i32,
        ..list("cases")
    })
    .await;
    assert_eq!(refusals, records);
    server.stop().await;
}

/// The longest ids a token may carry (255 bytes, here of two-byte
/// characters) fit the audit record every call writes: the call is served
/// and recorded with them.
#[tokio::test]
async fn the_longest_ids_a_token_may_carry_are_recorded() {
    let mut f = fixture().await;
    let longest = format!("{}a", "é".repeat(127));
    let mut claims = DevClaims::new(longest.clone(), "E1", [Role::Auditor]);
    claims.on_behalf_of = Some(format!("{}b", "é".repeat(127)));
    claims.agency = Some(cpc_identity::Agency {
        kind: cpc_identity::AgencyKind::ChildrensSocialCare,
        name: "é".repeat(100),
    });
    let token = f.key.mint(&claims);
    for _ in 0..2 {
        f.client
            .list_access_records(authed(list("cases"), &token))
            .await
            .unwrap();
    }
    let records = f
        .client
        .list_access_records(authed(list("cases"), &token))
        .await
        .unwrap()
        .into_inner()
        .records;
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].person.as_ref().unwrap().person_id, longest);
    assert_eq!(
        records[0].on_behalf_of.as_ref().unwrap().person_id,
        format!("{}b", "é".repeat(127))
    );
    assert_eq!(
        records[0].person.as_ref().unwrap().agency_name,
        "é".repeat(100)
    );
    f.server.stop().await;
}

#[tokio::test]
async fn an_auditor_reads_the_log_and_the_reading_is_itself_recorded() {
    let mut f = fixture().await;
    let auditor = f.token("aud-1", "E1", Role::Auditor);
    let first = f
        .client
        .list_access_records(authed(list("cases"), &auditor))
        .await
        .unwrap()
        .into_inner();
    assert!(first.records.is_empty());

    let second = f
        .client
        .list_access_records(authed(list("cases"), &auditor))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.records.len(), 1);
    let record = &second.records[0];
    assert_eq!(record.sequence, 1);
    assert_eq!(record.service_name, "cases");
    assert_eq!(record.person.as_ref().unwrap().person_id, "aud-1");
    assert_eq!(record.role, cpc_proto::common::v1::Role::Auditor as i32);
    assert_eq!(
        record.rpc_method,
        "/cpc.audit.v1.AuditService/ListAccessRecords"
    );
    assert_eq!(record.action, pb::AccessAction::List as i32);
    assert_eq!(record.decision, pb::AccessDecision::Allow as i32);
    assert_eq!(record.policy_id, "auditor-read-audit");
    // Which of the auditor's credentials read it: the token, by its id.
    assert_eq!(
        record.credential_id,
        format!("token:{}", token_id(&auditor))
    );
    // Which text of the policies decided: the set the server loaded.
    assert_eq!(
        record.policy_set,
        cpc_authz::Authorizer::load(&cpc_authz::bundled_policy_dir())
            .unwrap()
            .digest()
    );
    assert_eq!(record.previous_hash, [0u8; 32]);
    assert_eq!(record.record_hash.len(), 32);

    let verified = f
        .client
        .verify_audit_chain(authed(
            pb::VerifyAuditChainRequest {
                service: "cases".into(),
                ..Default::default()
            },
            &auditor,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verified.status, pb::ChainStatus::Intact as i32);
    assert_eq!(verified.verified_count, 2);
    assert_eq!(verified.head_hash.len(), 32);
    f.server.stop().await;
}

#[tokio::test]
async fn others_are_denied_and_each_denial_is_visible_to_the_auditor() {
    let mut f = fixture().await;
    let social_worker = f.token("sw-1", "E1", Role::SocialWorker);
    let err = f
        .client
        .list_access_records(authed(list("scheduling"), &social_worker))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    let other_auditor = f.token("aud-9", "E2", Role::Auditor);
    let across = pb::ListAccessRecordsRequest {
        authority_id: "E1".into(),
        ..list("scheduling")
    };
    let err = f
        .client
        .list_access_records(authed(across, &other_auditor))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    let auditor = f.token("aud-1", "E1", Role::Auditor);
    let denials = pb::ListAccessRecordsRequest {
        decision: pb::AccessDecision::Deny as i32,
        ..list("scheduling")
    };
    let seen = f
        .client
        .list_access_records(authed(denials, &auditor))
        .await
        .unwrap()
        .into_inner();
    let who: Vec<(&str, &str)> = seen
        .records
        .iter()
        .map(|r| {
            (
                r.person.as_ref().unwrap().person_id.as_str(),
                r.authority_id.as_str(),
            )
        })
        .collect();
    // E2's attempt is recorded under E2, the caller's authority: invisible to E1.
    assert_eq!(who, [("sw-1", "E1")]);
    f.server.stop().await;
}

#[tokio::test]
async fn bad_input_names_each_field() {
    let mut f = fixture().await;
    let auditor = f.token("aud-1", "E1", Role::Auditor);
    let bad = pb::ListAccessRecordsRequest {
        child_id: "not-a-uuid".into(),
        page_size: -1,
        credential_id: "x".repeat(321),
        policy_set: "C6D743D88E7F8297FAD7B43DA39D47966FF8781EF5688E7089D2F739D825F179".into(),
        policy_id: "p".repeat(257),
        ..list("cases")
    };
    let err = f
        .client
        .list_access_records(authed(bad, &auditor))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&err),
        [
            "child_id",
            "credential_id",
            "policy_set",
            "policy_id",
            "page_size"
        ]
    );

    let err = f
        .client
        .list_access_records(authed(list(""), &auditor))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::InvalidArgument,
        "four logs are served: the service must be named"
    );
    let err = f
        .client
        .list_access_records(authed(list("nope"), &auditor))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);

    let backwards = pb::VerifyAuditChainRequest {
        from_sequence: 5,
        to_sequence: 2,
        service: "cases".into(),
        ..Default::default()
    };
    let err = f
        .client
        .verify_audit_chain(authed(backwards, &auditor))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let bad_token = pb::ListAccessRecordsRequest {
        page_token: "zz".into(),
        ..list("cases")
    };
    let err = f
        .client
        .list_access_records(authed(bad_token, &auditor))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    drop(f.db);
}

#[tokio::test]
async fn a_head_kept_from_an_earlier_verification_catches_a_deleted_tail() {
    let mut f = fixture().await;
    let auditor = f.token("aud-1", "E1", Role::Auditor);
    let mut verifier = f.client.clone();
    let mut verify = async |req: pb::VerifyAuditChainRequest| {
        let req = pb::VerifyAuditChainRequest {
            service: "cases".into(),
            ..req
        };
        verifier
            .verify_audit_chain(authed(req, &auditor))
            .await
            .map(tonic::Response::into_inner)
    };
    for _ in 0..3 {
        let list = authed(list("cases"), &auditor);
        f.client.list_access_records(list).await.unwrap();
    }
    // The head an external monitor keeps after verifying.
    let kept = verify(pb::VerifyAuditChainRequest::default())
        .await
        .unwrap();
    assert_eq!(kept.status, pb::ChainStatus::Intact as i32);
    assert_eq!(kept.last_sequence, 3);
    let anchored = pb::VerifyAuditChainRequest {
        anchor_sequence: kept.last_sequence,
        anchor_hash: kept.head_hash.clone(),
        ..Default::default()
    };
    let intact = verify(anchored.clone()).await.unwrap();
    assert_eq!(intact.status, pb::ChainStatus::Intact as i32);
    // The whole log: the three readings and the recorded verification.
    assert_eq!(
        (
            intact.first_sequence,
            intact.last_sequence,
            intact.verified_count
        ),
        (1, 4, 4)
    );

    // A tamperer with superuser powers deletes the log from the kept head
    // on: what is left is a whole chain, so only the anchor shows the loss.
    tamper_with_audit_log(&f.db, "cases", "DELETE FROM audit_log WHERE seq >= 3").await;
    let truncated = verify(anchored.clone()).await.unwrap();
    assert_eq!(truncated.status, pb::ChainStatus::Broken as i32);
    assert_eq!(
        (truncated.first_broken_sequence, truncated.break_reason),
        (3, pb::BreakReason::SequenceGap as i32)
    );
    assert_eq!(truncated.detail, "record 3 is missing");
    // That verification was recorded as record 3 of the shortened log, so
    // the log is whole again without the anchor, and with it the record
    // at the anchored place is not the one kept.
    let unanchored = verify(pb::VerifyAuditChainRequest::default())
        .await
        .unwrap();
    assert_eq!(unanchored.status, pb::ChainStatus::Intact as i32);
    assert_eq!(unanchored.last_sequence, 3);
    let rewritten = verify(anchored.clone()).await.unwrap();
    assert_eq!(
        (
            rewritten.status,
            rewritten.first_broken_sequence,
            rewritten.break_reason
        ),
        (
            pb::ChainStatus::Broken as i32,
            3,
            pb::BreakReason::RecordHashMismatch as i32
        )
    );

    // An anchor is both fields, and verifies the whole log only.
    for (bad, field) in [
        (
            pb::VerifyAuditChainRequest {
                anchor_hash: Vec::new(),
                ..anchored.clone()
            },
            "anchor_hash",
        ),
        (
            pb::VerifyAuditChainRequest {
                anchor_sequence: 0,
                ..anchored.clone()
            },
            "anchor_sequence",
        ),
        (
            pb::VerifyAuditChainRequest {
                anchor_hash: vec![7; 31],
                ..anchored.clone()
            },
            "anchor_hash",
        ),
        (
            pb::VerifyAuditChainRequest {
                from_sequence: 2,
                ..anchored.clone()
            },
            "anchor_sequence",
        ),
    ] {
        let err = verify(bad).await.unwrap_err();
        assert_eq!(bad_fields(&err), [field]);
    }
    f.server.stop().await;
}

/// Runs the independent verifier, `tools/verify_audit.py` (Python, written
/// from the documented encoding), on `schema`'s log: its exit code, its
/// line, and what it said on stderr.
fn independent_verifier(
    db: &TestDatabase,
    schema: &str,
    extra: &[&str],
) -> (Option<i32>, String, String) {
    use secrecy::ExposeSecret as _;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/verify_audit.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .args(["--database-url", db.url().expose_secret()])
        .args(["--schema", schema])
        .args(extra)
        .output()
        .expect("python3 runs");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap().trim().to_owned();
    (out.status.code(), text(out.stdout), text(out.stderr))
}

#[tokio::test]
async fn an_independent_verifier_agrees_with_cpc_on_every_encoding() {
    let mut f = fixture().await;
    // Version 4: the policies' decisions, with the token's id.
    let auditor = f.token("aud-1", "E1", Role::Auditor);
    f.client
        .list_access_records(authed(list("cases"), &auditor))
        .await
        .unwrap();
    // Version 3: a service rule's refusal of a record not in the caller's
    // authority, naming it, with the token's id.
    let social_worker = f.token(&uuid::Uuid::new_v4().to_string(), "E1", Role::SocialWorker);
    let mut cases = cpc_proto::cases::v1::cases_service_client::CasesServiceClient::new(
        f.server.channel().await,
    );
    let err = cases
        .get_child(authed(
            cpc_proto::cases::v1::GetChildRequest {
                child_id: uuid::Uuid::new_v4().to_string(),
            },
            &social_worker,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    // Versions 1 and 2, as records written before credentials and policy
    // sets were recorded.
    append_to_cases_log(
        &f.db,
        [
            earlier_record(3, None),
            earlier_record(
                4,
                Some(cpc_audit::NamedRecord {
                    kind: "conference".into(),
                    id: "0b4e".into(),
                }),
            ),
        ],
    )
    .await;

    // cpc's own verification and the independent one agree on the head.
    let reports =
        cpc_platform::audit_log::verify_chains(&f.db.config(), &Selection::Cases.components(), &[])
            .await
            .unwrap();
    let ours = cpc_platform::audit_log::describe("cases", &reports[0].1);
    let (code, theirs, said) = independent_verifier(&f.db, cpc_cases::SCHEMA, &[]);
    assert_eq!((code, said.as_str()), (Some(0), ""), "{theirs}");
    let head = theirs.rsplit(' ').next().unwrap().to_owned();
    assert_eq!(theirs, format!("intact, 4 records, head {head}"));
    assert_eq!(ours, format!("cases: intact, 4 records, head cases={head}"));
    let (code, _, _) = independent_verifier(&f.db, cpc_cases::SCHEMA, &["--anchor", &head]);
    assert_eq!(code, Some(0));
    // A head kept from another log is not this one's.
    let elsewhere = format!("4:{}", "ab".repeat(32));
    assert_eq!(
        independent_verifier(&f.db, cpc_cases::SCHEMA, &["--anchor", &elsewhere]),
        (
            Some(1),
            "BROKEN at record 4: record 4 is not the anchored one".to_owned(),
            String::new()
        )
    );
    // A schema without a log is an error to read, not an intact log.
    let (code, theirs, said) = independent_verifier(&f.db, "public", &[]);
    assert_eq!((code, theirs.as_str()), (Some(2), ""));
    assert_eq!(
        said,
        "error: no audit log in schema public (has cpcd served from this database?)"
    );

    // Which policy set decided is edited: both see the break.
    tamper_with_audit_log(
        &f.db,
        cpc_cases::SCHEMA,
        &format!(
            "UPDATE audit_log SET policy_set = '{}' WHERE seq = 1",
            "0".repeat(64)
        ),
    )
    .await;
    assert_eq!(
        independent_verifier(&f.db, cpc_cases::SCHEMA, &[]),
        (
            Some(1),
            "BROKEN at record 1: its hash does not match its contents".to_owned(),
            String::new()
        )
    );
    f.server.stop().await;
}

/// Text logged at info and above while the guard lives, on this thread.
#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuffer {
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        use tracing_subscriber::util::SubscriberInitExt as _;
        let writer = self.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish()
            .set_default()
    }

    /// The lines logged so far that contain `needle`, and forgets them all.
    fn take_lines(&self, needle: &str) -> Vec<String> {
        let bytes = std::mem::take(&mut *self.0.lock().unwrap());
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .filter(|line| line.contains(needle))
            .map(str::to_owned)
            .collect()
    }
}

#[tokio::test]
async fn the_watch_publishes_each_verified_head_and_an_anchor_from_it_catches_a_cut() {
    use cpc_platform::audit_log::{ServiceAnchor, verify_chains};
    use cpc_platform::audit_watch::{Checked, HeadWatch};

    let logs = LogBuffer::default();
    let _capture = logs.capture();
    let mut f = fixture().await;
    let auditor = f.token("aud-1", "E1", Role::Auditor);
    let config = f.db.config();
    let pool = cpc_platform::db::pool(&config.database_url, "cases", &config.database).unwrap();
    // A log that cannot be read is an error to retry, not a verdict.
    let unreachable = pool.clone();
    unreachable.close().await;
    assert!(HeadWatch::new("cases", unreachable).check().await.is_err());
    let pool = cpc_platform::db::pool(&config.database_url, "cases", &config.database).unwrap();
    let mut watch = HeadWatch::new("cases", pool);
    assert_eq!(watch.check().await.unwrap(), Checked::Empty);
    for _ in 0..3 {
        let read = authed(list("cases"), &auditor);
        f.client.list_access_records(read).await.unwrap();
    }

    // The first head, logged as --anchor takes it.
    logs.take_lines("");
    watch.check_and_log().await;
    // (The server's own watch may have logged the same head meanwhile.)
    let mut published: Vec<ServiceAnchor> = logs
        .take_lines("audit head verified")
        .iter()
        .map(|line| {
            let anchor = line.split("anchor=").nth(1).unwrap();
            anchor.split_whitespace().next().unwrap().parse().unwrap()
        })
        .collect();
    published.dedup();
    assert_eq!(published.len(), 1, "{published:?}");
    let anchor = published.remove(0);
    assert_eq!((anchor.service.as_str(), anchor.anchor.seq), ("cases", 3));
    // Logged once: an unmoved head is not logged again.
    assert_eq!(watch.check().await.unwrap(), Checked::Unchanged);
    let read = authed(list("cases"), &auditor);
    f.client.list_access_records(read).await.unwrap();
    let Checked::Moved(moved) = watch.check().await.unwrap() else {
        panic!("the head moved on");
    };
    assert_eq!(moved.anchor.seq, 4);

    // Cut back to before the published head, then grown again: the log is
    // a whole chain on its own, but not the one published.
    tamper_with_audit_log(&f.db, "cases", "DELETE FROM audit_log WHERE seq >= 3").await;
    let broken = Checked::Broken {
        at_seq: 3,
        detail: "record 3 is missing".to_owned(),
    };
    assert_eq!(watch.check().await.unwrap(), broken);
    // And reported as an error at every check, naming no record's content.
    watch.check_and_log().await;
    let errors = logs.take_lines("audit log broken");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("ERROR") && errors[0].contains("record 3 is missing"),
        "{errors:?}"
    );
    for _ in 0..2 {
        let read = authed(list("cases"), &auditor);
        f.client.list_access_records(read).await.unwrap();
    }
    assert!(matches!(
        watch.check().await.unwrap(),
        Checked::Broken { at_seq: 4, .. }
    ));
    let components = Selection::Cases.components();
    let reports = verify_chains(&config, &components, &[]).await.unwrap();
    assert!(reports[0].1.is_ok(), "on its own the chain is whole");
    let reports = verify_chains(&config, &components, &[anchor])
        .await
        .unwrap();
    assert!(
        matches!(
            reports[0].1,
            cpc_audit::VerifyReport::Broken { at_seq: 3, .. }
        ),
        "{:?}",
        reports[0].1
    );
    f.server.stop().await;
}

/// Calls `call` every 100 ms, 20 s at most, until `done` holds of its result.
async fn until<F, Fut, T>(mut call: F, done: impl Fn(&T) -> bool) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    for _ in 0..200 {
        let result = call().await;
        if done(&result) {
            return result;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("not reached in 20 s");
}

#[tokio::test]
async fn a_policy_edit_takes_effect_while_serving_and_a_broken_one_changes_nothing() {
    let logs = LogBuffer::default();
    let _capture = logs.capture();
    let db = TestDatabase::create().await;
    let policies = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(cpc_authz::bundled_policy_dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, policies.path().join(path.file_name().unwrap())).unwrap();
    }
    let mut config = db.config();
    config.policy_dir = policies.path().to_path_buf();
    config.policy_reload_interval = std::time::Duration::from_secs(1);
    let server = TestServer::start(config, Selection::All.components()).await;
    let client = AuditServiceClient::new(server.channel().await);
    let key = DevKey::load_or_create(db.dev_key_dir()).unwrap();
    let auditor = key.mint(&DevClaims::new("aud-1", "E1", [Role::Auditor]));
    let read = || {
        let mut client = client.clone();
        let request = authed(list("cases"), &auditor);
        async move { client.list_access_records(request).await.map(|_| ()) }
    };
    read().await.unwrap();

    // The information governance team holds every call while it reviews
    // the policies: in force without a restart.
    let hold = policies.path().join("60-hold.cedar");
    std::fs::write(
        &hold,
        "@id(\"hold-everything\")\nforbid (principal, action, resource);\n",
    )
    .unwrap();
    let held = until(read, |r| r.is_err()).await.unwrap_err();
    assert_eq!(held.code(), Code::PermissionDenied, "{held:?}");
    assert_eq!(logs.take_lines("access policies reloaded").len(), 1);

    // An edit that does not parse changes nothing: the hold stays.
    let broken = policies.path().join("70-broken.cedar");
    std::fs::write(&broken, "permit (principal, action,\n").unwrap();
    until(
        || async { logs.take_lines("access policies not reloaded") },
        |lines| !lines.is_empty(),
    )
    .await;
    assert_eq!(read().await.unwrap_err().code(), Code::PermissionDenied);

    // Both removed: the auditor reads again.
    std::fs::remove_file(&hold).unwrap();
    std::fs::remove_file(&broken).unwrap();
    until(read, Result::is_ok).await.unwrap();
    server.stop().await;
}
