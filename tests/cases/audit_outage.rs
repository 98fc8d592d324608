//! No record without its access record: while the audit log cannot be
//! written, nothing is read, changed, refused quietly or found missing
//! quietly. Every such call answers INTERNAL (saying nothing of why), no
//! change is kept, and once the log is writable again the chain is intact
//! and the calls succeed.

use cpc_platform::testing::{AuditOutage, assert_refused_for_want_of_audit as refused};
use cpc_proto::audit::v1 as audit;
use cpc_proto::audit::v1::audit_service_client::AuditServiceClient;
use cpc_proto::cases::v1 as pb;
use tonic::Code;
use uuid::Uuid;

use crate::journey::register;
use crate::support::*;

#[tokio::test]
async fn nothing_happens_while_its_access_record_cannot_be_written() {
    let mut f = Fixture::start().await;
    let sw = f.social_worker();
    let officer = f.police_officer();
    let child = register(&mut f, "C7001").await;
    let case = f.case_of(&sw, &child.case_id).await;
    let recorded = AuditOutage::records(&f.db, "cases").await;

    let outage = AuditOutage::begin(&f.db, "cases").await;
    let client = &mut f.client;
    let get = |id: &str| pb::GetChildRequest {
        child_id: id.to_owned(),
    };
    refused("a read", client.get_child(sw.req(get(&child.id))).await);
    refused(
        "a list",
        client.list_children(sw.req(authority_children())).await,
    );
    let mut renamed = case.clone();
    renamed.display_name = "Renamed while the log was down".into();
    refused(
        "a change",
        client
            .update_case(sw.req(pb::UpdateCaseRequest {
                r#case: Some(renamed),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["display_name".into()],
                }),
            }))
            .await,
    );
    refused(
        "a creation",
        client
            .create_child(sw.req(pb::CreateChildRequest {
                request_id: rid(),
                child: Some(child_in(&child.case_id, "C7002")),
            }))
            .await,
    );
    refused(
        "a refusal",
        client.get_child(officer.req(get(&child.id))).await,
    );
    refused(
        "a record not found",
        client
            .get_child(sw.req(get(&Uuid::new_v4().to_string())))
            .await,
    );
    outage.end().await;

    // Nothing was written: no access record, no change, no new child.
    assert_eq!(AuditOutage::records(&f.db, "cases").await, recorded);
    let after = f.case_of(&sw, &child.case_id).await;
    assert_eq!(
        (after.display_name.as_str(), after.version),
        (case.display_name.as_str(), case.version)
    );
    let children = f.children_listed(&sw).await;
    assert_eq!(
        children.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        [child.id.as_str()]
    );

    // The chain has no gap and the refusal is recorded now it can be.
    let err = f
        .client
        .get_child(officer.req(get(&child.id)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let auditor = f.person(AUDITOR, AUTHORITY, cpc_identity::Role::Auditor, None);
    let chain = AuditServiceClient::new(f.server.channel().await)
        .verify_audit_chain(auditor.req(audit::VerifyAuditChainRequest {
            service: "cases".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(chain.status, audit::ChainStatus::Intact as i32);
    f.stop().await;
}

/// A second child of the same family.
fn child_in(case_id: &str, la_child_id: &str) -> pb::Child {
    child(case_id, la_child_id, "Robin")
}
