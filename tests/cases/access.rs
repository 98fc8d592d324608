//! Who may do what, over the real service and the shipped policies: case
//! membership opens a child's record, nothing else does, and every
//! decision is in the audit log.

use cpc_identity::{Agency, Role};
use cpc_platform::db;
use cpc_proto::audit::v1 as audit;
use cpc_proto::audit::v1::audit_service_client::AuditServiceClient;
use cpc_proto::cases::v1 as pb;
use cpc_proto::common::v1 as common;
use tonic::Code;

use crate::access_log::about_child;
use crate::journey::register;
use crate::support::*;

#[tokio::test]
async fn membership_opens_a_childs_record_and_nothing_else_does() {
    let mut f = Fixture::start().await;
    let child = register(&mut f, "C4001").await;
    let get = |token: &As| {
        token.req(pb::GetChildRequest {
            child_id: child.id.clone(),
        })
    };

    // The creator is a member; another social worker of the same team is
    // not, and cannot read or find the child.
    let sw = f.social_worker();
    f.client.get_child(get(&sw)).await.unwrap();
    let colleague = f.person(OTHER_WORKER, AUTHORITY, Role::SocialWorker, Some(csc()));
    let err = f.client.get_child(get(&colleague)).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(f.children_listed(&colleague).await.is_empty());
    assert_eq!(f.children_listed(&sw).await.len(), 1);
    // A manager sees the whole authority.
    let manager = f.team_manager();
    assert_eq!(f.children_listed(&manager).await.len(), 1);

    // A police officer reads the child only once a member, and may not
    // change the record even then.
    let officer = f.police_officer();
    let err = f.client.get_child(get(&officer)).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    f.add_member(&child.case_id, police_ref()).await;
    f.client.get_child(get(&officer)).await.unwrap();
    let mut renamed = child.clone();
    renamed.given_names = "Other".into();
    let err = f
        .client
        .update_child(officer.req(pb::UpdateChildRequest {
            child: Some(renamed),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["given_names".into()],
            }),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // A social worker may not grant membership (a manager does).
    let err = f
        .client
        .add_case_member(sw.req(pb::AddCaseMemberRequest {
            request_id: rid(),
            membership: Some(pb::CaseMembership {
                case_id: child.case_id.clone(),
                person: Some(health_ref()),
                case_role: pb::CaseRole::AgencyPractitioner as i32,
                start_date: Some(today()),
                ..Default::default()
            }),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // An auditor reads the audit log, never the record.
    let auditor = f.person(AUDITOR, AUTHORITY, Role::Auditor, None);
    let err = f.client.get_child(get(&auditor)).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // Every one of those decisions is recorded against the child.
    let mut audit_client = AuditServiceClient::new(f.server.channel().await);
    let records = audit_client
        .list_access_records(auditor.req(audit::ListAccessRecordsRequest {
            authority_id: AUTHORITY.into(),
            ..about_child("cases", &child.id)
        }))
        .await
        .unwrap()
        .into_inner()
        .records;
    let denied: Vec<(String, String)> = records
        .iter()
        .filter(|r| r.decision == audit::AccessDecision::Deny as i32)
        .map(|r| {
            (
                r.person.as_ref().unwrap().person_id.clone(),
                r.rpc_method.rsplit('/').next().unwrap().to_owned(),
            )
        })
        .collect();
    let id = |n: u128| uuid::Uuid::from_u128(n).to_string();
    // Newest first.
    assert_eq!(
        denied,
        [
            (id(AUDITOR), "GetChild".to_owned()),
            (id(SOCIAL_WORKER), "AddCaseMember".to_owned()),
            (id(POLICE_OFFICER), "UpdateChild".to_owned()),
            (id(POLICE_OFFICER), "GetChild".to_owned()),
            (id(OTHER_WORKER), "GetChild".to_owned()),
        ]
    );
    let allowed_reads = records
        .iter()
        .filter(|r| {
            r.decision == audit::AccessDecision::Allow as i32 && r.rpc_method.ends_with("/GetChild")
        })
        .count();
    assert_eq!(
        allowed_reads, 2,
        "the social worker's and the officer's reads"
    );

    // The child's social worker sees who accessed the child's record
    // (CP-IS-style access notification), the refusals included ...
    let log = |who: &As, child_id: &str| who.req(about_child("cases", child_id));
    let seen = audit_client
        .list_access_records(log(&sw, &child.id))
        .await
        .unwrap()
        .into_inner()
        .records;
    assert!(seen.iter().any(|r| {
        r.person.as_ref().unwrap().person_id == id(OTHER_WORKER)
            && r.decision == audit::AccessDecision::Deny as i32
    }));
    // ... but a colleague who is not on the case does not, nor does the
    // worker see the authority's whole log.
    let err = audit_client
        .list_access_records(log(&colleague, &child.id))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = audit_client
        .list_access_records(log(&sw, ""))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    f.stop().await;
}

#[tokio::test]
async fn a_confidential_address_is_withheld_from_partner_agencies() {
    let mut f = Fixture::start().await;
    let child = register(&mut f, "C4101").await;
    let sw = f.social_worker();
    let mother = f
        .client
        .add_family_member(sw.req(pb::AddFamilyMemberRequest {
            request_id: rid(),
            family_member: Some(pb::FamilyMember {
                case_id: child.case_id.clone(),
                given_names: "Anna".into(),
                family_name: "Smith".into(),
                relationships: vec![pb::ChildRelationship {
                    child_id: child.id.clone(),
                    relationship: pb::Relationship::Mother as i32,
                    parental_responsibility: true,
                    lives_with_child: true,
                    ..Default::default()
                }],
                address: Some(common::PostalAddress {
                    lines: vec!["1 Refuge Road".into()],
                    town: "Gloucester".into(),
                    postcode: "GL1 1AA".into(),
                }),
                address_confidential: true,
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner()
        .family_member
        .unwrap();
    f.add_member(&child.case_id, police_ref()).await;
    let get = |token: &As| {
        token.req(pb::GetFamilyMemberRequest {
            family_member_id: mother.id.clone(),
        })
    };
    let seen_by_worker = f
        .client
        .get_family_member(get(&sw))
        .await
        .unwrap()
        .into_inner();
    assert!(seen_by_worker.family_member.unwrap().address.is_some());
    let officer = f.police_officer();
    let seen_by_police = f
        .client
        .get_family_member(get(&officer))
        .await
        .unwrap()
        .into_inner();
    let seen = seen_by_police.family_member.unwrap();
    assert!(seen.address_confidential);
    assert!(seen.address.is_none());
    f.stop().await;
}

#[tokio::test]
async fn an_agencys_membership_reaches_its_practitioners_while_it_is_current() {
    let mut f = Fixture::start().await;
    let child = register(&mut f, "C4102").await;
    let get = |token: &As| {
        token.req(pb::GetChildRequest {
            child_id: child.id.clone(),
        })
    };
    let listed = async |f: &mut Fixture, token: &As| {
        let children = f.children_listed(token).await;
        let cases = f
            .client
            .list_cases(token.req(pb::ListCasesRequest {
                authority_id: AUTHORITY.into(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
            .cases;
        (children.len(), cases.len())
    };
    // PC Patel's colleague in the same force; an officer of another force;
    // a health practitioner whose employer has the force's name.
    let colleague = practitioner(&f, 0x5101, cpc_identity::AgencyKind::Police, "Constabulary");
    let other_force = practitioner(&f, 0x5102, cpc_identity::AgencyKind::Police, "Other Force");
    let same_name = practitioner(&f, 0x5103, cpc_identity::AgencyKind::Health, "Constabulary");
    let err = f.client.get_child(get(&colleague)).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(listed(&mut f, &colleague).await, (0, 0));

    // A membership for the whole agency needs the person's agency.
    let manager = f.team_manager();
    let mut no_agency = police_ref();
    no_agency.agency_kind = 0;
    no_agency.agency_name.clear();
    let err = f
        .client
        .add_case_member(manager.req(pb::AddCaseMemberRequest {
            request_id: rid(),
            membership: Some(pb::CaseMembership {
                case_id: child.case_id.clone(),
                person: Some(no_agency),
                case_role: pb::CaseRole::CoreGroupMember as i32,
                start_date: Some(today()),
                agency_wide: true,
                ..Default::default()
            }),
        }))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["membership.agency_wide"]);

    // PC Patel's membership, held for the force, reaches the colleague:
    // reading the child and finding the case, not changing the record.
    let membership = f
        .grant(
            &child.case_id,
            police_ref(),
            pb::CaseRole::CoreGroupMember,
            true,
        )
        .await;
    assert!(membership.agency_wide);
    f.client.get_child(get(&colleague)).await.unwrap();
    assert_eq!(listed(&mut f, &colleague).await, (1, 1));
    let err = f
        .client
        .update_child(colleague.req(pb::UpdateChildRequest {
            child: Some(child.clone()),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["given_names".into()],
            }),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // Nobody of another agency, whatever its name or kind.
    for stranger in [&other_force, &same_name] {
        let err = f.client.get_child(get(stranger)).await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        assert_eq!(listed(&mut f, stranger).await, (0, 0));
    }

    // A colleague whose own membership has ended stays out, though the
    // force is still a member (their membership may have ended for a
    // conflict of interest). The API cannot end a membership in the past,
    // so the fixture writes it as time would have.
    let options = db::schema_options(f.db.url(), cpc_cases::SCHEMA).unwrap();
    let admin = sqlx::PgPool::connect_with(options).await.unwrap();
    let conflicted = practitioner(&f, 0x5104, cpc_identity::AgencyKind::Police, "Constabulary");
    sqlx::query(
        "INSERT INTO case_memberships (id, authority_id, case_id, person_id, display_name, case_role, \
                                       start_date, end_date, end_reason, granted_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'Conflicted officer', 'agency_practitioner', current_date - 90, \
                 current_date - 30, 'conflict_of_interest', $5, now(), now())",
    )
    .bind(uuid::Uuid::new_v4())
    .bind(AUTHORITY)
    .bind(uuid::Uuid::parse_str(&child.case_id).unwrap())
    .bind(uuid::Uuid::from_u128(0x5104))
    .bind(serde_json::json!({
        "person_id": uuid::Uuid::from_u128(TEAM_MANAGER).to_string(),
        "display_name": "Team Manager",
    }))
    .execute(&admin)
    .await
    .unwrap();
    let err = f.client.get_child(get(&conflicted)).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(listed(&mut f, &conflicted).await, (0, 0));

    // Once the force's membership has ended, the colleague is out too.
    sqlx::query(
        "UPDATE case_memberships SET start_date = current_date - 60, end_date = current_date - 1, \
                end_reason = 'involvement_ended' WHERE id = $1",
    )
    .bind(uuid::Uuid::parse_str(&membership.id).unwrap())
    .execute(&admin)
    .await
    .unwrap();
    admin.close().await;
    let err = f.client.get_child(get(&colleague)).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(listed(&mut f, &colleague).await, (0, 0));
    f.stop().await;
}

#[tokio::test]
async fn a_membership_for_one_child_opens_that_childs_records_only() {
    let mut f = Fixture::start().await;
    let pupil = register(&mut f, "C4103").await;
    let sw = f.social_worker();
    let sibling = f
        .client
        .create_child(sw.req(pb::CreateChildRequest {
            request_id: rid(),
            child: Some(child(&pupil.case_id, "C4104", "Robin")),
        }))
        .await
        .unwrap()
        .into_inner()
        .child
        .unwrap();
    // Another family, whose case the social worker joined on creating it.
    let other = register(&mut f, "C4105").await;

    // The school is a member for its pupil only.
    let school = practitioner(&f, 0x5104, cpc_identity::AgencyKind::Education, "Primary");
    let school_ref = person_ref(
        0x5104,
        "Sue School",
        common::AgencyKind::Education,
        "Primary",
    );
    let manager = f.team_manager();
    f.client
        .add_case_member(manager.req(pb::AddCaseMemberRequest {
            request_id: rid(),
            membership: Some(pb::CaseMembership {
                case_id: pupil.case_id.clone(),
                person: Some(school_ref),
                case_role: pb::CaseRole::CoreGroupMember as i32,
                child_ids: vec![pupil.id.clone()],
                start_date: Some(today()),
                ..Default::default()
            }),
        }))
        .await
        .unwrap();
    let get = |id: &str| {
        school.req(pb::GetChildRequest {
            child_id: id.to_owned(),
        })
    };
    f.client.get_child(get(&pupil.id)).await.unwrap();
    let err = f.client.get_child(get(&sibling.id)).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // A list across the case would return the sibling's records: refused,
    // as is the case as a whole. Listed by child, the pupil's are there.
    let members = |case_id: &str, child_id: &str| {
        school.req(pb::ListCaseMembersRequest {
            case_id: case_id.to_owned(),
            child_id: child_id.to_owned(),
            ..Default::default()
        })
    };
    let err = f
        .client
        .list_case_members(members(&pupil.case_id, ""))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    for err in [
        f.client
            .list_strategy_discussions(school.req(pb::ListStrategyDiscussionsRequest {
                case_id: pupil.case_id.clone(),
                ..Default::default()
            }))
            .await
            .unwrap_err(),
        f.client
            .list_plans(school.req(pb::ListPlansRequest {
                case_id: pupil.case_id.clone(),
                ..Default::default()
            }))
            .await
            .unwrap_err(),
        f.client
            .get_case(school.req(pb::GetCaseRequest {
                case_id: pupil.case_id.clone(),
            }))
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    }
    let cases_of = |listed: &[pb::CaseMembership]| {
        let mut cases: Vec<String> = listed.iter().map(|m| m.case_id.clone()).collect();
        cases.dedup();
        cases
    };
    let by_child = f
        .client
        .list_case_members(members(&pupil.case_id, &pupil.id))
        .await
        .unwrap()
        .into_inner()
        .memberships;
    assert_eq!(by_child.len(), 2, "the creator's and the school's");
    assert_eq!(cases_of(&by_child), std::slice::from_ref(&pupil.case_id));
    // Naming another case beside the pupil lists nothing of that case: the
    // call was allowed for the pupil, and stays within the pupil's case.
    let elsewhere = f
        .client
        .list_case_members(members(&other.case_id, &pupil.id))
        .await
        .unwrap()
        .into_inner()
        .memberships;
    assert_eq!(elsewhere, []);
    // The social worker, on both cases, finds their memberships by child
    // and person within the child's case only.
    let mine = f
        .client
        .list_case_members(sw.req(pb::ListCaseMembersRequest {
            child_id: other.id.clone(),
            person_id: uuid::Uuid::from_u128(SOCIAL_WORKER).to_string(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .memberships;
    assert_eq!(cases_of(&mine), std::slice::from_ref(&other.case_id));
    f.stop().await;
}

#[tokio::test]
async fn a_list_that_showed_a_child_is_in_that_childs_access_log() {
    let mut f = Fixture::start().await;
    let first = register(&mut f, "C4106").await;
    let second = register(&mut f, "C4107").await;
    // A manager's search shows both children; a colleague not on either
    // case finds neither.
    let manager = f.team_manager();
    assert_eq!(f.children_listed(&manager).await.len(), 2);
    let colleague = f.person(OTHER_WORKER, AUTHORITY, Role::SocialWorker, Some(csc()));
    assert!(f.children_listed(&colleague).await.is_empty());

    let auditor = f.person(AUDITOR, AUTHORITY, Role::Auditor, None);
    let mut audit_client = AuditServiceClient::new(f.server.channel().await);
    let id = |n: u128| uuid::Uuid::from_u128(n).to_string();
    for child in [&first, &second] {
        let listings: Vec<(String, i32)> = audit_client
            .list_access_records(auditor.req(about_child("cases", &child.id)))
            .await
            .unwrap()
            .into_inner()
            .records
            .into_iter()
            .filter(|r| r.rpc_method.ends_with("/ListChildren"))
            .map(|r| (r.person.unwrap().person_id, r.decision))
            .collect();
        assert_eq!(
            listings,
            [(id(TEAM_MANAGER), audit::AccessDecision::Allow as i32)],
            "the manager's search is in the log of each child it showed, the colleague's empty one in neither"
        );
    }
    f.stop().await;
}

#[tokio::test]
async fn a_page_token_around_a_child_the_caller_cannot_see_reads_nothing() {
    let mut f = Fixture::start().await;
    let create = async |f: &mut Fixture, who: &As, la_child_id: &str, given: &str| {
        f.client
            .create_child(who.req(pb::CreateChildRequest {
                request_id: rid(),
                child: Some(child("", la_child_id, given)),
            }))
            .await
            .unwrap()
            .into_inner()
            .child
            .unwrap()
    };
    let sw = f.social_worker();
    create(&mut f, &sw, "C4108", "Zara").await;
    create(&mut f, &sw, "C4109", "Zoe").await;
    // A colleague's child, whose name sorts before both.
    let colleague = f.person(OTHER_WORKER, AUTHORITY, Role::SocialWorker, Some(csc()));
    let hidden = create(&mut f, &colleague, "C4110", "Adam").await;

    let page = |token: &str| {
        sw.req(pb::ListChildrenRequest {
            page_size: 1,
            page_token: token.to_owned(),
            ..authority_children()
        })
    };
    let first = f.client.list_children(page("")).await.unwrap().into_inner();
    assert_eq!(first.children[0].given_names, "Zara");
    // The token names the last child shown by id; the same token around
    // the hidden child's id (the filters' hash unchanged) would tell, by
    // where the page starts, how that child's name sorts.
    let forged = page_token_around(&first.next_page_token, &first.children[0].id, &hidden.id);
    let around_hidden = f
        .client
        .list_children(page(&forged))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        around_hidden.children,
        [],
        "nothing after a child not listable"
    );
    let second = f
        .client
        .list_children(page(&first.next_page_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.children[0].given_names, "Zoe");
    f.stop().await;
}

#[tokio::test]
async fn a_page_token_around_another_cases_family_member_reads_nothing() {
    let mut f = Fixture::start().await;
    let sw = f.social_worker();
    let create = async |f: &mut Fixture, who: &As, la_child_id: &str| {
        f.client
            .create_child(who.req(pb::CreateChildRequest {
                request_id: rid(),
                child: Some(child("", la_child_id, "Sam")),
            }))
            .await
            .unwrap()
            .into_inner()
            .child
            .unwrap()
    };
    let add = async |f: &mut Fixture, who: &As, of: &pb::Child, family_name: &str| {
        f.client
            .add_family_member(who.req(pb::AddFamilyMemberRequest {
                request_id: rid(),
                family_member: Some(pb::FamilyMember {
                    case_id: of.case_id.clone(),
                    given_names: "Jo".into(),
                    family_name: family_name.into(),
                    relationships: vec![pb::ChildRelationship {
                        child_id: of.id.clone(),
                        relationship: pb::Relationship::OtherRelative as i32,
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            }))
            .await
            .unwrap()
            .into_inner()
            .family_member
            .unwrap()
    };
    let own = create(&mut f, &sw, "C4111").await;
    add(&mut f, &sw, &own, "Adams").await;
    add(&mut f, &sw, &own, "Young").await;
    // A family member in a colleague's case, whose name sorts between.
    let colleague = f.person(OTHER_WORKER, AUTHORITY, Role::SocialWorker, Some(csc()));
    let theirs = create(&mut f, &colleague, "C4112").await;
    let hidden = add(&mut f, &colleague, &theirs, "Morgan").await;

    let page = |token: &str| {
        sw.req(pb::ListFamilyMembersRequest {
            case_id: own.case_id.clone(),
            page_size: 1,
            page_token: token.to_owned(),
            ..Default::default()
        })
    };
    let first = f
        .client
        .list_family_members(page(""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.family_members[0].family_name, "Adams");
    // The same token around the other case's family member (the filters'
    // hash unchanged) would tell, by where the page starts, how their name
    // sorts: "Young" after "Morgan".
    let forged = page_token_around(
        &first.next_page_token,
        &first.family_members[0].id,
        &hidden.id,
    );
    let around_hidden = f
        .client
        .list_family_members(page(&forged))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        around_hidden.family_members,
        [],
        "nothing after another case's family member"
    );
    let second = f
        .client
        .list_family_members(page(&first.next_page_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.family_members[0].family_name, "Young");
    f.stop().await;
}

/// A partner practitioner of `kind` and `name`.
fn practitioner(f: &Fixture, id: u128, kind: cpc_identity::AgencyKind, name: &str) -> As {
    let agency = Agency {
        kind,
        name: name.into(),
    };
    f.person(id, AUTHORITY, Role::AgencyPractitioner, Some(agency))
}
