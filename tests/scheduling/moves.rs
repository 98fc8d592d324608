//! A child moved to another case (`UpdateChild` changing `case_id`) takes
//! the readers of their records in scheduling, escalation and reporting
//! with them: the records keep the case they were made in, but, as in the
//! cases service, the members of the child's case now decide who sees
//! them. The old case's members are refused; the new case's are let in.

use cpc_identity::{Agency, AgencyKind, Role};
use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1 as common;
use cpc_proto::escalation::v1 as esc;
use cpc_proto::reporting::v1 as rpb;
use cpc_proto::scheduling::v1 as pb;
use tonic::Code;

use crate::diary::*;
use crate::escalations::{escalation, raising, until_escalation_knows_child};
use crate::minutes::{reporting, until_service_knows};
use crate::support::*;

/// A police officer who is a member of the child's first case only.
const OLD_CASE_OFFICER: u128 = 0x40_0001;
/// A police officer who is a member of the case the child moves to only.
const NEW_CASE_OFFICER: u128 = 0x40_0002;
/// A social worker who is a member of the child's first case only.
const OLD_CASE_WORKER: u128 = 0x40_0003;
/// A social worker who is a member of the case the child moves to only.
const NEW_CASE_WORKER: u128 = 0x40_0004;

const FORCE: &str = "Gloucestershire Constabulary";

fn police() -> Agency {
    Agency {
        kind: AgencyKind::Police,
        name: FORCE.into(),
    }
}

fn officer_ref(id: u128) -> common::PersonRef {
    person_ref(id, "Officer", common::AgencyKind::Police, FORCE)
}

fn worker_of(id: u128) -> common::PersonRef {
    person_ref(
        id,
        "Worker",
        common::AgencyKind::ChildrensSocialCare,
        "County Children's Services",
    )
}

/// `person` made a member of `case` (personally, the whole case), and
/// waits until service `schema` has learnt it.
async fn member_known(f: &mut Fixture, schema: &str, case: &str, person: common::PersonRef) {
    let id = person.person_id.clone();
    f.add_member(case, person).await;
    until_service_knows(
        f,
        schema,
        "SELECT EXISTS (SELECT 1 FROM case_members WHERE person_id = $1 AND case_id = $2::uuid)",
        &[&id, case],
    )
    .await;
}

/// A second case: a child registered in a new case; returns the case.
async fn another_case(f: &mut Fixture, la_child_id: &str) -> String {
    f.client
        .create_child(f.social_worker().req(cases::CreateChildRequest {
            request_id: rid(),
            child: Some(child("", la_child_id, "Alex")),
        }))
        .await
        .unwrap()
        .into_inner()
        .child
        .unwrap()
        .case_id
}

/// The social worker moves `child_id` to `case`, and waits until each
/// service of `waiting` (schema, its copy of each child's case) has learnt
/// it from the feed.
async fn moved(f: &mut Fixture, child_id: &str, case: &str, waiting: &[(&str, &str)]) {
    let sw = f.social_worker();
    let mut current = f
        .client
        .get_child(sw.req(cases::GetChildRequest {
            child_id: child_id.into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .child
        .unwrap();
    current.case_id = case.into();
    let after = f
        .client
        .update_child(sw.req(cases::UpdateChildRequest {
            child: Some(current),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["case_id".into()],
            }),
        }))
        .await
        .unwrap()
        .into_inner()
        .child
        .unwrap();
    assert_eq!(after.case_id, case);
    for (schema, table) in waiting {
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM {table} WHERE child_id = $1::uuid AND case_id = $2::uuid)"
        );
        until_service_knows(f, schema, &sql, &[child_id, case]).await;
    }
}

fn code<T>(result: Result<T, tonic::Status>) -> Code {
    result.map_or_else(|status| status.code(), |_| Code::Ok)
}

#[tokio::test]
async fn a_moved_childs_conference_is_seen_by_the_new_cases_members_not_the_old() {
    let (mut f, mut conferences) = start().await;
    let (child, old_case) = s47_started(&mut f, "MOV0001", uk_today()).await;
    let new_case = another_case(&mut f, "MOV0002").await;
    let schema = cpc_scheduling::SCHEMA;
    member_known(&mut f, schema, &old_case, officer_ref(OLD_CASE_OFFICER)).await;
    member_known(&mut f, schema, &new_case, officer_ref(NEW_CASE_OFFICER)).await;
    let bs = business_support(&f);
    let conference = conferences_of(&mut conferences, &bs, &old_case).await[0]
        .id
        .clone();
    let old_officer = f.person(
        OLD_CASE_OFFICER,
        AUTHORITY,
        Role::AgencyPractitioner,
        Some(police()),
    );
    let new_officer = f.person(
        NEW_CASE_OFFICER,
        AUTHORITY,
        Role::AgencyPractitioner,
        Some(police()),
    );
    let get = |who: &As| {
        who.req(pb::GetConferenceRequest {
            conference_id: conference.clone(),
        })
    };

    // Before the move, the conference is the first case's.
    assert_eq!(
        code(conferences.get_conference(get(&old_officer)).await),
        Code::Ok
    );
    assert_eq!(
        code(conferences.get_conference(get(&new_officer)).await),
        Code::PermissionDenied
    );

    moved(&mut f, &child, &new_case, &[(schema, "child_cases")]).await;

    // The conference keeps its case; the child's case now decides.
    assert_eq!(
        code(conferences.get_conference(get(&old_officer)).await),
        Code::PermissionDenied
    );
    let read = conferences
        .get_conference(get(&new_officer))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap();
    assert_eq!(read.id, conference);
    assert_eq!(
        read.case_id, old_case,
        "a record keeps the case it was made in"
    );
    f.stop().await;
}

#[tokio::test]
async fn a_moved_childs_escalation_is_seen_by_the_new_cases_members_not_the_old() {
    let (mut f, _) = start().await;
    let (child, old_case) = s47_started(&mut f, "MOV0003", uk_today()).await;
    let new_case = another_case(&mut f, "MOV0004").await;
    let schema = cpc_escalation::SCHEMA;
    until_escalation_knows_child(&f, &child).await;
    member_known(&mut f, schema, &old_case, worker_of(OLD_CASE_WORKER)).await;
    member_known(&mut f, schema, &new_case, worker_of(NEW_CASE_WORKER)).await;
    let mut client = escalation(&f).await;
    let raised = client
        .raise_escalation(f.team_manager().req(raising(
            &old_case,
            &child,
            esc::EscalationStage::TeamManager,
        )))
        .await
        .unwrap()
        .into_inner()
        .escalation
        .unwrap();
    let old_worker = f.person(OLD_CASE_WORKER, AUTHORITY, Role::SocialWorker, Some(csc()));
    let new_worker = f.person(NEW_CASE_WORKER, AUTHORITY, Role::SocialWorker, Some(csc()));
    let get = |who: &As| {
        who.req(esc::GetEscalationRequest {
            escalation_id: raised.id.clone(),
        })
    };

    assert_eq!(
        code(client.get_escalation(get(&old_worker)).await),
        Code::Ok
    );
    assert_eq!(
        code(client.get_escalation(get(&new_worker)).await),
        Code::PermissionDenied
    );

    moved(&mut f, &child, &new_case, &[(schema, "case_children")]).await;

    assert_eq!(
        code(client.get_escalation(get(&old_worker)).await),
        Code::PermissionDenied
    );
    let read = client
        .get_escalation(get(&new_worker))
        .await
        .unwrap()
        .into_inner()
        .escalation
        .unwrap();
    assert_eq!(
        read.case_id, old_case,
        "a record keeps the case it was made in"
    );
    f.stop().await;
}

#[tokio::test]
async fn a_moved_childs_conference_reports_are_listed_to_the_new_cases_members_not_the_old() {
    let (mut f, mut conferences) = start().await;
    let (child, old_case) = s47_started(&mut f, "MOV0005", uk_today()).await;
    let new_case = another_case(&mut f, "MOV0006").await;
    let schema = cpc_reporting::SCHEMA;
    member_known(&mut f, schema, &old_case, officer_ref(OLD_CASE_OFFICER)).await;
    member_known(&mut f, schema, &new_case, officer_ref(NEW_CASE_OFFICER)).await;
    let bs = business_support(&f);
    let conference = conferences_of(&mut conferences, &bs, &old_case).await[0]
        .id
        .clone();
    until_service_knows(
        &f,
        schema,
        "SELECT EXISTS (SELECT 1 FROM conferences WHERE id = $1::uuid)",
        &[&conference],
    )
    .await;
    let mut client = reporting(&f).await;
    let old_officer = f.person(
        OLD_CASE_OFFICER,
        AUTHORITY,
        Role::AgencyPractitioner,
        Some(police()),
    );
    let new_officer = f.person(
        NEW_CASE_OFFICER,
        AUTHORITY,
        Role::AgencyPractitioner,
        Some(police()),
    );
    let list = |who: &As| {
        who.req(rpb::ListAgencyReportsRequest {
            conference_id: conference.clone(),
            ..Default::default()
        })
    };

    assert_eq!(
        code(client.list_agency_reports(list(&old_officer)).await),
        Code::Ok
    );
    assert_eq!(
        code(client.list_agency_reports(list(&new_officer)).await),
        Code::PermissionDenied
    );

    moved(&mut f, &child, &new_case, &[(schema, "child_cases")]).await;

    assert_eq!(
        code(client.list_agency_reports(list(&old_officer)).await),
        Code::PermissionDenied
    );
    assert_eq!(
        code(client.list_agency_reports(list(&new_officer)).await),
        Code::Ok
    );
    f.stop().await;
}
