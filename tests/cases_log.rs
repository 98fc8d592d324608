//! Records put straight into the cases service's audit log, as a cpc from
//! before credential ids and policy sets were recorded wrote them.

use cpc_audit::{NamedRecord, NewAuditRecord};
use cpc_platform::testing::TestDatabase;

/// Record `n` of an earlier cpc: a social worker's read, or, when it names
/// a record, a refusal of one not in the caller's authority (encoding
/// version 1, or 2 with `named`).
pub fn earlier_record(n: usize, named: Option<NamedRecord>) -> NewAuditRecord {
    let (decision, policy, reason) = match &named {
        None => (
            cpc_audit::Decision::Allow,
            "social-worker-reads-member-cases",
            None,
        ),
        Some(record) => (
            cpc_audit::Decision::Deny,
            "cpc:record-not-in-callers-authority",
            Some(format!(
                "no {} {} in the caller's authority",
                record.kind, record.id
            )),
        ),
    };
    NewAuditRecord {
        occurred_at: chrono::Utc::now(),
        request_id: format!("req-{n}"),
        actor_subject: "sw-1".into(),
        actor_kind: "person".into(),
        on_behalf_of: None,
        role: "social_worker".into(),
        authority_id: "E1".into(),
        agency: None,
        case_id: None,
        child_ids: vec![],
        action: "/cpc.cases.v1.CasesService/GetChild".into(),
        decision,
        policy_ids: vec![policy.into()],
        reason,
        named,
        credential_id: None,
        policy_set: None,
    }
}

/// Appends `records` to the cases service's audit log, in order.
pub async fn append_to_cases_log(
    db: &TestDatabase,
    records: impl IntoIterator<Item = NewAuditRecord>,
) {
    let options = cpc_platform::db::schema_options(db.url(), cpc_cases::SCHEMA).unwrap();
    let pool = sqlx::PgPool::connect_with(options).await.unwrap();
    for record in records {
        cpc_audit::append_standalone(&pool, &record).await.unwrap();
    }
    pool.close().await;
}
