//! Identity, policy and audit together, as every RPC uses them: real tokens
//! from the development key, the shipped Cedar policies, a real audit log.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test"
)]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use cpc_authz::{Authorizer, CaseRelation, Record, Resource, SharedAuthorizer};
use cpc_identity::dev::{DevClaims, DevKey};
use cpc_identity::{Agency, AgencyKind, Authenticator, Role};
use cpc_platform::access::{
    Access, CHILD_RESOURCE, CREDENTIAL_REFUSED, RefusalLogs, RpcPath, Subject, is_credential_ended,
};
use cpc_platform::config::DatabaseConfig;
use cpc_platform::db;
use cpc_platform::error::ApiError;
use cpc_platform::rate_limit::CallerLimits;
use cpc_platform::testing::TestDatabase;
use sqlx::PgPool;
use std::num::NonZeroU32;
use uuid::Uuid;

const SCHEMA: &str = "accesstest";
const GET_CHILD: (&str, &str) = ("cpc.cases.v1.CasesService", "GetChild");

struct Fixture {
    db: TestDatabase,
    pool: PgPool,
    access: Access,
    key: DevKey,
}

async fn fixture() -> Fixture {
    fixture_with_burst(100).await
}

/// A fixture whose callers may make `burst` calls at once.
async fn fixture_with_burst(burst: u32) -> Fixture {
    let db = TestDatabase::create().await;
    db::migrate(db.url(), SCHEMA, &[&cpc_audit::MIGRATOR], &[])
        .await
        .unwrap();
    let pool = db::pool(db.url(), SCHEMA, &DatabaseConfig::default()).unwrap();
    let identity = db.config().identity;
    let authenticator = Arc::new(Authenticator::from_config(&identity).unwrap());
    let key = DevKey::load_or_create(&identity.dev_key_dir).unwrap();
    let authorizer = Authorizer::load(&cpc_authz::bundled_policy_dir()).unwrap();
    let limits = CallerLimits::new(
        NonZeroU32::new(600).unwrap(),
        NonZeroU32::new(burst).unwrap(),
    );
    let access = Access::new(
        authenticator,
        Arc::new(SharedAuthorizer::new(authorizer)),
        Arc::new(limits),
        RefusalLogs::new(vec![(GET_CHILD.0, pool.clone())]),
    );
    Fixture {
        db,
        pool,
        access,
        key,
    }
}

fn now() -> DateTime<Utc> {
    DateTime::<Utc>::from(std::time::SystemTime::now())
}

fn request(
    token: Option<&str>,
    (service, method): (&'static str, &'static str),
) -> tonic::Request<()> {
    let mut request = tonic::Request::new(());
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    request
        .metadata_mut()
        .insert("x-request-id", "req-42".parse().unwrap());
    request
        .extensions_mut()
        .insert(RpcPath(format!("/{service}/{method}")));
    request
}

fn case_record(authority: &str, case_id: Uuid, members: &[&str], former: &[&str]) -> Resource {
    Resource::Record(Record {
        authority_id: authority.to_owned(),
        case: Some(CaseRelation {
            case_id: case_id.to_string(),
            current_members: members.iter().map(|m| (*m).to_owned()).collect(),
            current_member_agencies: vec![],
            former_members: former.iter().map(|m| (*m).to_owned()).collect(),
        }),
        conference: None,
        escalation: None,
    })
}

#[derive(Debug, sqlx::FromRow)]
struct Row {
    actor_subject: String,
    role: String,
    authority_id: String,
    agency: Option<String>,
    case_id: Option<Uuid>,
    child_ids: Vec<Uuid>,
    action: String,
    decision: String,
    policy_ids: Vec<String>,
    request_id: String,
    reason: Option<String>,
    credential_id: Option<String>,
}

async fn audit_rows(pool: &PgPool) -> Vec<Row> {
    sqlx::query_as("SELECT actor_subject, role, authority_id, agency, case_id, child_ids, action, decision, policy_ids, request_id, reason, credential_id FROM audit_log ORDER BY seq")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn no_token_is_unauthenticated_and_nothing_is_decided() {
    let f = fixture().await;
    let err = f
        .access
        .identify(&request(None, GET_CHILD), now())
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Unauthenticated(_)), "{err}");
    let err = f
        .access
        .identify(&request(Some("not.a.jwt"), GET_CHILD), now())
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Unauthenticated(_)), "{err}");
    assert_eq!(
        tonic::Status::from(err).code(),
        tonic::Code::Unauthenticated
    );
    assert!(audit_rows(&f.pool).await.is_empty());
}

/// `request` naming `authority` in `x-cpc-authority`.
fn acting_for(mut request: tonic::Request<()>, authority: &str) -> tonic::Request<()> {
    request
        .metadata_mut()
        .insert("x-cpc-authority", authority.parse().unwrap());
    request
}

#[tokio::test]
async fn a_verified_token_refused_is_recorded_naming_its_holder_and_a_forged_one_is_not() {
    let f = fixture_with_burst(2).await;
    let token = f
        .key
        .mint(&DevClaims::new("sw-1", "E1", [Role::SocialWorker]));

    // A genuine token presented for another authority.
    let err = f
        .access
        .identify(&acting_for(request(Some(&token), GET_CHILD), "E2"), now())
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Unauthenticated(_)), "{err}");
    let rows = audit_rows(&f.pool).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(
        (
            row.actor_subject.as_str(),
            row.role.as_str(),
            row.authority_id.as_str(),
            row.decision.as_str(),
            row.action.as_str(),
            row.request_id.as_str(),
        ),
        (
            "sw-1",
            "social_worker",
            "E1",
            "deny",
            "/cpc.cases.v1.CasesService/GetChild",
            "req-42"
        )
    );
    assert_eq!(row.policy_ids, [CREDENTIAL_REFUSED]);
    assert_eq!(
        row.reason.as_deref(),
        Some("credential refused: not_acting_for")
    );
    // The token, by its id, so its other uses can be found.
    assert!(
        row.credential_id
            .as_deref()
            .is_some_and(|id| id.starts_with("token:") && id.len() > 6),
        "{row:?}"
    );
    assert_eq!((row.case_id, row.child_ids.len()), (None, 0));

    // A forged token names nobody: refused, not recorded.
    let (body, signature) = token.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
    let forged = format!("{body}.{flipped}{}", &signature[1..]);
    let err = f
        .access
        .identify(&request(Some(&forged), GET_CHILD), now())
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Unauthenticated(_)), "{err}");
    assert_eq!(audit_rows(&f.pool).await.len(), 1);

    // A call to a service without a log of its own is recorded in the
    // process's first; past the holder's rate limit (a burst of 2 here),
    // refusals are only logged.
    for _ in 0..3 {
        let audit = ("cpc.audit.v1.AuditService", "ListAccessRecords");
        let err = f
            .access
            .identify(&acting_for(request(Some(&token), audit), "E2"), now())
            .await
            .unwrap_err();
        assert!(matches!(err, ApiError::Unauthenticated(_)), "{err}");
    }
    let rows = audit_rows(&f.pool).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        rows[1].action,
        "/cpc.audit.v1.AuditService/ListAccessRecords"
    );
    // The refusals are counted apart: the holder's own calls still have
    // their whole burst.
    for _ in 0..2 {
        f.access
            .identify(&request(Some(&token), GET_CHILD), now())
            .await
            .unwrap();
    }
    let err = f
        .access
        .identify(&request(Some(&token), GET_CHILD), now())
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::RateLimited { .. }), "{err}");
}

#[tokio::test]
async fn an_allowed_read_commits_its_audit_record_with_the_change() {
    let f = fixture().await;
    let token = f
        .key
        .mint(&DevClaims::new("sw-1", "E1", [Role::SocialWorker]));
    let call = f
        .access
        .identify(&request(Some(&token), GET_CHILD), now())
        .await
        .unwrap();
    assert_eq!(call.method, "/cpc.cases.v1.CasesService/GetChild");
    assert_eq!(call.request_id, "req-42");

    let (case_id, child_id) = (Uuid::new_v4(), Uuid::new_v4());
    let subject = Subject {
        case_id: Some(case_id),
        child_ids: vec![child_id],
    };
    let resource = case_record("E1", case_id, &["sw-1"], &[]);

    // Rolled back: neither the change nor its record survive.
    let permit = f
        .access
        .authorize(&f.pool, &call, &resource, &subject, now())
        .await
        .unwrap();
    let mut tx = cpc_audit::begin(&f.pool).await.unwrap();
    permit.record(&mut tx).await.unwrap();
    tx.rollback().await.unwrap();
    assert!(audit_rows(&f.pool).await.is_empty());

    let permit = f
        .access
        .authorize(&f.pool, &call, &resource, &subject, now())
        .await
        .unwrap();
    assert_eq!(permit.policy_ids(), ["social-worker-case-member"]);
    let mut tx = cpc_audit::begin(&f.pool).await.unwrap();
    permit.record(&mut tx).await.unwrap();
    tx.commit().await.unwrap();

    let rows = audit_rows(&f.pool).await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        (
            row.actor_subject.as_str(),
            row.role.as_str(),
            row.authority_id.as_str()
        ),
        ("sw-1", "social_worker", "E1")
    );
    assert_eq!(
        (row.case_id, row.child_ids.as_slice()),
        (Some(case_id), &[child_id][..])
    );
    assert_eq!(row.action, "/cpc.cases.v1.CasesService/GetChild");
    assert_eq!(
        (row.decision.as_str(), row.request_id.as_str()),
        ("allow", "req-42")
    );
    assert_eq!(row.policy_ids, ["social-worker-case-member"]);
    assert!(cpc_audit::verify(&f.pool).await.unwrap().is_ok());
}

#[tokio::test]
async fn another_authority_is_denied_and_the_denial_is_recorded() {
    let f = fixture().await;
    let token = f
        .key
        .mint(&DevClaims::new("tm-9", "E2", [Role::TeamManager]));
    let call = f
        .access
        .identify(&request(Some(&token), GET_CHILD), now())
        .await
        .unwrap();
    let case_id = Uuid::new_v4();
    let err = f
        .access
        .authorize(
            &f.pool,
            &call,
            &case_record("E1", case_id, &[], &[]),
            &Subject::default(),
            now(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        tonic::Status::from(err).code(),
        tonic::Code::PermissionDenied
    );
    let rows = audit_rows(&f.pool).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].decision, "deny");
    assert_eq!(rows[0].authority_id, "E2");
    assert!(
        rows[0]
            .policy_ids
            .contains(&"authority-boundary".to_owned()),
        "{:?}",
        rows[0].policy_ids
    );
}

#[tokio::test]
async fn a_former_member_agency_practitioner_is_denied() {
    let f = fixture().await;
    let mut claims = DevClaims::new("hv-3", "E1", [Role::AgencyPractitioner]);
    claims.agency = Some(Agency {
        kind: AgencyKind::Health,
        name: "Community Health Trust".into(),
    });
    let token = f.key.mint(&claims);
    let call = f
        .access
        .identify(&request(Some(&token), GET_CHILD), now())
        .await
        .unwrap();
    let case_id = Uuid::new_v4();

    let member = case_record("E1", case_id, &["hv-3"], &[]);
    let permit = f
        .access
        .authorize(&f.pool, &call, &member, &Subject::default(), now())
        .await
        .unwrap();
    assert_eq!(permit.policy_ids(), ["agency-practitioner-case-member"]);

    let former = case_record("E1", case_id, &[], &["hv-3"]);
    let err = f
        .access
        .authorize(&f.pool, &call, &former, &Subject::default(), now())
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::PermissionDenied(_)), "{err}");
    let rows = audit_rows(&f.pool).await;
    assert_eq!(
        rows.len(),
        1,
        "only the denial was recorded; the permit was never used"
    );
    assert_eq!(
        rows[0].agency.as_deref(),
        Some("health:Community Health Trust")
    );
}

/// A call by a social worker of E1, as a handler has it once identified.
async fn social_worker_call(f: &Fixture) -> cpc_platform::access::Call {
    let token = f
        .key
        .mint(&DevClaims::new("sw-1", "E1", [Role::SocialWorker]));
    f.access
        .identify(&request(Some(&token), GET_CHILD), now())
        .await
        .unwrap()
}

#[tokio::test]
async fn an_abandoned_call_without_a_decision_records_only_a_record_not_found() {
    let f = fixture().await;
    let call = social_worker_call(&f).await;
    let (child, plan) = (Uuid::new_v4(), Uuid::new_v4());

    // A record the caller's authority does not hold: refused and recorded;
    // a child's id as the child the record concerns, so the authority
    // holding that child can find the attempt, any other id in the reason.
    let abandon = async |err: ApiError| {
        let tx = db::begin_for_authority(&f.pool, "E1").await.unwrap();
        f.access.abandon(tx, &f.pool, &call, None, err, now()).await
    };
    for (resource, id) in [(CHILD_RESOURCE, child), ("plan", plan)] {
        let err = abandon(ApiError::not_found(resource, id.to_string())).await;
        assert!(matches!(&err, ApiError::NotFound { .. }), "{err}");
    }
    let rows = audit_rows(&f.pool).await;
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(
            (row.decision.as_str(), row.authority_id.as_str()),
            ("deny", "E1")
        );
        assert_eq!(row.policy_ids, [cpc_platform::access::NOT_IN_AUTHORITY]);
    }
    assert_eq!(rows[0].child_ids, [child]);
    assert!(rows[1].child_ids.is_empty());

    // Any other failure passes through as it is, unrecorded: the handler
    // recorded its decision already, or there was none to record.
    let err = abandon(ApiError::internal(std::io::Error::other("disk on fire"))).await;
    assert_eq!(tonic::Status::from(err).code(), tonic::Code::Internal);
    assert_eq!(audit_rows(&f.pool).await.len(), 2);
    assert!(cpc_audit::verify(&f.pool).await.unwrap().is_ok());
}

#[tokio::test]
async fn an_allowed_call_that_fails_is_recorded_allowed_with_its_failure_only() {
    let f = fixture().await;
    let call = social_worker_call(&f).await;
    let (case_id, child_id) = (Uuid::new_v4(), Uuid::new_v4());
    let subject = Subject {
        case_id: Some(case_id),
        child_ids: vec![child_id],
    };
    let resource = case_record("E1", case_id, &["sw-1"], &[]);
    let abandon = async |err: ApiError| {
        let permit = f
            .access
            .authorize(&f.pool, &call, &resource, &subject, now())
            .await
            .unwrap();
        let tx = db::begin_for_authority(&f.pool, "E1").await.unwrap();
        f.access
            .abandon(tx, &f.pool, &call, Some(permit), err, now())
            .await
    };
    let err = abandon(ApiError::FailedPrecondition("the plan has ended".into())).await;
    assert!(matches!(err, ApiError::FailedPrecondition(_)), "{err}");
    let err = abandon(ApiError::Aborted("stale".into())).await;
    assert!(matches!(err, ApiError::Aborted(_)), "{err}");
    // A record not found is what `abandon` makes of it.
    let err = abandon(ApiError::not_found("plan", Uuid::new_v4().to_string())).await;
    assert!(matches!(err, ApiError::NotFound { .. }), "{err}");

    let rows = audit_rows(&f.pool).await;
    let decided: Vec<(&str, &[String], Option<Uuid>)> = rows
        .iter()
        .map(|r| (r.decision.as_str(), r.policy_ids.as_slice(), r.case_id))
        .collect();
    let allowed = ["social-worker-case-member".to_owned()];
    let not_held = [cpc_platform::access::NOT_IN_AUTHORITY.to_owned()];
    assert_eq!(
        decided,
        [
            ("allow", allowed.as_slice(), Some(case_id)),
            ("allow", allowed.as_slice(), Some(case_id)),
            ("deny", not_held.as_slice(), None),
        ]
    );
    let reasons: Vec<Option<String>> =
        sqlx::query_scalar("SELECT reason FROM audit_log ORDER BY seq")
            .fetch_all(&f.pool)
            .await
            .unwrap();
    assert_eq!(
        reasons[..2],
        [
            Some("allowed; then failed with FAILED_PRECONDITION, nothing changed".to_owned()),
            Some("allowed; then failed with ABORTED, nothing changed".to_owned()),
        ]
    );
    assert!(
        rows.iter()
            .all(|r| !r.child_ids.is_empty() || r.decision == "deny")
    );
    assert!(cpc_audit::verify(&f.pool).await.unwrap().is_ok());
}

#[tokio::test]
async fn an_abandoned_call_whose_rollback_fails_is_internal_and_records_nothing() {
    let f = fixture().await;
    let call = social_worker_call(&f).await;
    let mut tx = db::begin_for_authority(&f.pool, "E1").await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    // The database drops the transaction's connection under it (a failover,
    // an administrator), so the rollback cannot be sent.
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(
        secrecy::ExposeSecret::expose_secret(f.db.url()),
    )
    .await
    .unwrap();
    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(terminated);

    let err = f
        .access
        .abandon(
            tx,
            &f.pool,
            &call,
            None,
            ApiError::not_found(CHILD_RESOURCE, Uuid::new_v4().to_string()),
            now(),
        )
        .await;
    let status = tonic::Status::from(err);
    assert_eq!(status.code(), tonic::Code::Internal, "{status:?}");
    // Nothing about the failure reaches the caller.
    assert_eq!(status.message(), "internal error");
    // The refusal is not recorded: the call's outcome is unknown to the
    // caller, who saw INTERNAL, not NOT_FOUND.
    assert!(audit_rows(&f.pool).await.is_empty());
}

#[tokio::test]
async fn a_streams_lease_ends_at_expiry_and_when_the_session_is_ended() {
    let db = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("revocations.json");
    std::fs::write(&file, r#"{"revoked": []}"#).unwrap();
    let mut identity = db.config().identity;
    identity.revocations_file = Some(file.clone());
    let authenticator = Arc::new(Authenticator::from_config(&identity).unwrap());
    let key = DevKey::load_or_create(&identity.dev_key_dir).unwrap();
    let access = Access::new(
        Arc::clone(&authenticator),
        Arc::new(SharedAuthorizer::new(
            Authorizer::load(&cpc_authz::bundled_policy_dir()).unwrap(),
        )),
        Arc::new(CallerLimits::new(
            NonZeroU32::new(600).unwrap(),
            NonZeroU32::new(100).unwrap(),
        )),
        RefusalLogs::new(Vec::new()),
    );
    let token = key.mint(&DevClaims::new("sw-1", "E1", [Role::SocialWorker]));
    let call = access
        .identify(&request(Some(&token), GET_CHILD), now())
        .await
        .unwrap();
    let lease = access.lease(&call);
    lease.check(now()).unwrap();

    // At the token's expiry, not a moment later.
    let expiry = lease.expires_at().expect("a token expires");
    lease.check(expiry - chrono::TimeDelta::seconds(1)).unwrap();
    let ended = lease.check(expiry).unwrap_err();
    assert_eq!(ended.code(), tonic::Code::Unauthenticated);
    assert!(is_credential_ended(&ended), "{ended:?}");

    // Once the authority ends the person's sessions.
    let revoked = serde_json::json!({"revoked": [{
        "issuer": cpc_identity::dev::DEV_ISSUER,
        "subject": "sw-1",
        "issued_before": (now() + chrono::TimeDelta::seconds(1)).to_rfc3339(),
    }]});
    std::fs::write(&file, revoked.to_string()).unwrap();
    authenticator.reload_revocations().unwrap();
    let ended = lease.check(now()).unwrap_err();
    assert!(is_credential_ended(&ended), "{ended:?}");
    assert!(
        ended.message().contains("session has been ended"),
        "{ended:?}"
    );
}
