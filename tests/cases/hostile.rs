//! Hostile input over the wire: arbitrary bytes, valid requests with their
//! encoding damaged, and well-formed requests with hostile contents, sent
//! to every CasesService and AuditService RPC by an authenticated caller. The service answers each with one of the
//! documented status codes, never `INTERNAL` or a dropped connection, and
//! keeps serving.

use cpc_proto::audit::v1 as audit;
use cpc_proto::cases::v1 as pb;
use prost::Message as _;

use crate::support::*;
use crate::wire::assault;

#[test]
fn arbitrary_and_damaged_requests_get_documented_answers() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let setup = runtime.block_on(async {
        let mut f = Fixture::start().await;
        let child = crate::journey::register(&mut f, "C6001").await;
        let channel = f.server.channel().await;
        // A valid request to damage: an update that names a real record.
        let mut update = child.clone();
        update.given_names = "Jamie-Lee".into();
        let valid = pb::UpdateChildRequest {
            child: Some(update),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["given_names".into()],
            }),
        }
        .encode_to_vec();
        let who = f.team_manager();
        // And a valid question about the child's access records, asked by
        // an auditor, for the audit service.
        let auditor = f.person(AUDITOR, AUTHORITY, cpc_identity::Role::Auditor, None);
        let valid_audit = audit::ListAccessRecordsRequest {
            service: "cases".into(),
            child_id: child.id.clone(),
            page_size: 10,
            ..Default::default()
        }
        .encode_to_vec();
        // Real ids, so hostile requests reach past "not found".
        let known = vec![
            child.id.clone(),
            child.case_id.clone(),
            AUTHORITY.to_owned(),
        ];
        (f, channel, who, valid, auditor, valid_audit, known)
    });
    let (f, channel, who, valid, auditor, valid_audit, known) = setup;
    let tried = assault(
        &runtime,
        &channel,
        &who,
        "cpc.cases.v1",
        "CasesService",
        &valid,
        &known,
    );
    assert_eq!(tried, 43, "every CasesService method");
    let tried = assault(
        &runtime,
        &channel,
        &auditor,
        "cpc.audit.v1",
        "AuditService",
        &valid_audit,
        &known,
    );
    assert_eq!(tried, 2, "every AuditService method");
    // Still serving.
    runtime.block_on(async {
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
        health
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
            .unwrap();
        f.stop().await;
    });
}
