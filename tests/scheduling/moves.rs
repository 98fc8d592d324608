//! A child moved to another case (`UpdateChild` changing `case_id`) takes
//! the readers of their records in scheduling, escalation and reporting
//! with them: the records keep the case they were made in, but, as in the
//! cases service, the members of the child's case now decide who sees
//! them. The old case's members are refused; the new case's are let in.
//! A list filtered by case follows the child too: the new case's list has
//! the moved child's records, the old case's no longer does.

use cpc_identity::{Agency, AgencyKind, Role};
use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1 as common;
use cpc_proto::escalation::v1 as esc;
use cpc_proto::escalation::v1::escalation_service_client::EscalationServiceClient;
use cpc_proto::reporting::v1 as rpb;
use cpc_proto::scheduling::v1 as pb;
use cpc_proto::scheduling::v1::conferences_service_client::ConferencesServiceClient;
use tonic::Code;
use tonic::transport::Channel;

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
pub(crate) async fn another_case(f: &mut Fixture, la_child_id: &str) -> String {
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
pub(crate) async fn moved(f: &mut Fixture, child_id: &str, case: &str, waiting: &[(&str, &str)]) {
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

/// Waits until service `schema` knows a child of `case` (a list across a
/// case it does not know is refused as not found).
async fn case_known(f: &Fixture, schema: &str, table: &str, case: &str) {
    let sql = format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE case_id = $1::uuid)");
    until_service_knows(f, schema, &sql, &[case]).await;
}

/// The ids of the conferences `who` lists for `case`.
async fn conferences_listed(
    conferences: &mut ConferencesServiceClient<Channel>,
    who: &As,
    case: &str,
) -> Vec<String> {
    conferences
        .list_conferences(who.req(pb::ListConferencesRequest {
            case_id: case.into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .conferences
        .into_iter()
        .map(|c| c.id)
        .collect()
}

/// The ids of the escalations `who` lists for `case`.
async fn escalations_listed(
    client: &mut EscalationServiceClient<Channel>,
    who: &As,
    case: &str,
) -> Vec<String> {
    client
        .list_escalations(who.req(esc::ListEscalationsRequest {
            case_id: case.into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .escalations
        .into_iter()
        .map(|e| e.id)
        .collect()
}

#[tokio::test]
async fn a_moved_childs_conference_is_listed_in_the_new_case_not_the_old() {
    let (mut f, mut conferences) = start().await;
    let (child, old_case) = s47_started(&mut f, "MOV0007", uk_today()).await;
    let new_case = another_case(&mut f, "MOV0008").await;
    let schema = cpc_scheduling::SCHEMA;
    case_known(&f, schema, "child_cases", &new_case).await;
    member_known(&mut f, schema, &old_case, worker_of(OLD_CASE_WORKER)).await;
    member_known(&mut f, schema, &new_case, worker_of(NEW_CASE_WORKER)).await;
    let bs = business_support(&f);
    let conference = conferences_of(&mut conferences, &bs, &old_case).await[0]
        .id
        .clone();
    let old_worker = f.person(OLD_CASE_WORKER, AUTHORITY, Role::SocialWorker, Some(csc()));
    let new_worker = f.person(NEW_CASE_WORKER, AUTHORITY, Role::SocialWorker, Some(csc()));

    // Before the move, the conference is in the first case's list only.
    assert_eq!(
        conferences_listed(&mut conferences, &old_worker, &old_case).await,
        std::slice::from_ref(&conference)
    );
    assert!(
        !conferences_listed(&mut conferences, &new_worker, &new_case)
            .await
            .contains(&conference)
    );

    moved(&mut f, &child, &new_case, &[(schema, "child_cases")]).await;

    // The old case's list no longer shows its members the moved child's
    // conference; the new case's list has it.
    assert!(
        !conferences_listed(&mut conferences, &old_worker, &old_case)
            .await
            .contains(&conference),
        "the old case's list leaks the moved child's conference"
    );
    assert_eq!(
        conferences_listed(&mut conferences, &new_worker, &new_case).await,
        std::slice::from_ref(&conference),
        "the new case's list misses the moved child's conference"
    );
    // Listing either case by the other's member is still refused.
    for (who, case) in [(&old_worker, &new_case), (&new_worker, &old_case)] {
        let listed = conferences
            .list_conferences(who.req(pb::ListConferencesRequest {
                case_id: case.clone(),
                ..Default::default()
            }))
            .await;
        assert_eq!(code(listed), Code::PermissionDenied);
    }
    f.stop().await;
}

#[tokio::test]
async fn a_moved_childs_escalation_is_listed_in_the_new_case_not_the_old() {
    let (mut f, _) = start().await;
    let (child, old_case) = s47_started(&mut f, "MOV0009", uk_today()).await;
    // A sibling stays on the first case, so it is still a case to list.
    let sibling = f
        .client
        .create_child(f.social_worker().req(cases::CreateChildRequest {
            request_id: rid(),
            child: Some(crate::support::child(&old_case, "MOV0010", "Kim")),
        }))
        .await
        .unwrap()
        .into_inner()
        .child
        .unwrap()
        .id;
    let new_case = another_case(&mut f, "MOV0011").await;
    let schema = cpc_escalation::SCHEMA;
    until_escalation_knows_child(&f, &child).await;
    until_escalation_knows_child(&f, &sibling).await;
    case_known(&f, schema, "case_children", &new_case).await;
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
        .unwrap()
        .id;
    let old_worker = f.person(OLD_CASE_WORKER, AUTHORITY, Role::SocialWorker, Some(csc()));
    let new_worker = f.person(NEW_CASE_WORKER, AUTHORITY, Role::SocialWorker, Some(csc()));

    assert_eq!(
        escalations_listed(&mut client, &old_worker, &old_case).await,
        std::slice::from_ref(&raised)
    );
    assert!(
        escalations_listed(&mut client, &new_worker, &new_case)
            .await
            .is_empty()
    );

    moved(&mut f, &child, &new_case, &[(schema, "case_children")]).await;

    assert!(
        escalations_listed(&mut client, &old_worker, &old_case)
            .await
            .is_empty(),
        "the old case's list leaks the moved child's escalation"
    );
    assert_eq!(
        escalations_listed(&mut client, &new_worker, &new_case).await,
        std::slice::from_ref(&raised),
        "the new case's list misses the moved child's escalation"
    );
    f.stop().await;
}
