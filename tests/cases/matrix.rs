//! The authorization matrix over the real service: every row of
//! `CasesService` in the access matrix (`tests/access-matrix.csv`) — every
//! RPC × every role × {current member of the case, agency member, former
//! member, not a member, another authority} — called over gRPC with a valid request on a
//! real record, and the answer compared with the table's cell. Every
//! refusal must be in the audit log.
//!
//! Former members' memberships are written as ended last month (the API
//! cannot end one before its first day). Services (record-system
//! integrations, cpc's own services) call with development-key tokens;
//! `tests/tls.rs` shows an integration identified by its certificate.

use cpc_cases::codes::ConferenceKind;
use cpc_platform::db;
use cpc_proto::audit::v1 as audit;
use cpc_proto::audit::v1::audit_service_client::AuditServiceClient;
use cpc_proto::cases::v1 as pb;
use cpc_proto::cases::v1::cases_service_client::CasesServiceClient;
use cpc_proto::common::v1 as common;
use prost_types::FieldMask;
use tonic::Status;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::journey::{icpc_outcome, register, up_to_icpc};
use crate::support::*;

/// The records the calls act on.
struct World {
    case: pb::Case,
    child: pb::Child,
    episode_id: String,
    discussion_id: String,
    enquiry: pb::Section47Enquiry,
    outcome: pb::ConferenceOutcome,
    plan: pb::ChildProtectionPlan,
    action: pb::PlanAction,
    family_member: pb::FamilyMember,
    membership: pb::CaseMembership,
    transfer_in_id: String,
}

/// The ids this test's callers have.
const PEOPLE: u128 = 0x7000;

#[tokio::test]
async fn every_rpc_for_every_role_and_relation() {
    let mut f = Fixture::start().await;
    let world = build_world(&mut f).await;
    f.add_matrix_members(PEOPLE, &world.case.id).await;
    end_long_ago(&f, &world.case.id).await;
    let matrix = Matrix::load();
    let rows: Vec<&Row> = matrix.over_grpc("cpc.cases.v1.CasesService").collect();
    let mut client = f.client.clone();
    let mut run = f
        .run_matrix(&rows, PEOPLE, async |caller, rpc, _| {
            call(&mut client, caller, rpc, &world).await
        })
        .await;
    assert_eq!(distinct_rpcs(&rows), 43, "every CasesService RPC");
    assert_eq!(run.calls, rows.len() * ROLE_COLUMNS.len());
    // The audit service, on the cases log: its calls are recorded there too.
    let rows: Vec<&Row> = matrix.over_grpc("cpc.audit.v1.AuditService").collect();
    let mut audit = AuditServiceClient::new(f.server.channel().await);
    let audited = f
        .run_matrix(&rows, PEOPLE, async |caller, rpc, target| {
            call_audit(&mut audit, caller, rpc, target, &world.child.id).await
        })
        .await;
    assert_eq!(distinct_rpcs(&rows), 2, "every AuditService RPC");
    assert_eq!(audited.calls, rows.len() * ROLE_COLUMNS.len());
    run.absorb(audited);
    assert_matrix(&f, &run, cpc_cases::SCHEMA, 400).await;
    f.stop().await;
}

/// Every service `cpcd` serves has its rows called over gRPC by a matrix
/// test: one served without fails here until its matrix is written.
#[test]
fn every_served_service_is_called_by_a_matrix_test() {
    let mut served: Vec<&str> = cpcd::Selection::All
        .components()
        .iter()
        .flat_map(|c| c.grpc_services.iter().copied())
        .chain([cpc_proto::audit::v1::audit_service_server::SERVICE_NAME])
        .collect();
    let mut called = MATRIX_SERVICES.to_vec();
    served.sort_unstable();
    called.sort_unstable();
    assert_eq!(served, called);
    // And the table has rows for each.
    let matrix = Matrix::load();
    for service in MATRIX_SERVICES {
        assert!(matrix.over_grpc(service).count() > 0, "{service}: no rows");
    }
}

/// Gives each role a membership of `case_id` that ended last month. The
/// API cannot make one (a membership lasts at least its first day, and the
/// case was opened today), so the fixture writes it as time would have:
/// directly, as the database superuser.
async fn end_long_ago(f: &Fixture, case_id: &str) {
    let options = db::schema_options(f.db.url(), cpc_cases::SCHEMA).unwrap();
    let admin = sqlx::PgPool::connect_with(options).await.unwrap();
    for (i, role) in matrix_roles().filter(|(_, r)| !r.is_service_role()) {
        sqlx::query(
            "INSERT INTO case_memberships (id, authority_id, case_id, person_id, display_name, case_role, \
                                           start_date, end_date, end_reason, granted_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'core_group_member', current_date - 90, current_date - 30, \
                     'involvement_ended', $6, now(), now())",
        )
        .bind(Uuid::new_v4())
        .bind(AUTHORITY)
        .bind(Uuid::parse_str(case_id).unwrap())
        .bind(Uuid::from_u128(matrix_person(PEOPLE, i, Relation::FormerMember)))
        .bind(format!("former {} member", role.as_str()))
        .bind(serde_json::json!({
            "person_id": Uuid::from_u128(TEAM_MANAGER).to_string(),
            "display_name": "Team Manager",
        }))
        .execute(&admin)
        .await
        .unwrap();
    }
    admin.close().await;
}

async fn build_world(f: &mut Fixture) -> World {
    let child = register(f, "C5001").await;
    let enquiry = up_to_icpc(f, &child).await;
    let sw = f.social_worker();
    let chair = f.chair();
    let icpc = held_conference(ConferenceKind::Initial, date(2025, 6, 24), &[&child.id]);
    f.held(&icpc, AUTHORITY).await;
    let recorded = f
        .client
        .record_conference_outcome(chair.req(icpc_outcome(&icpc.id.to_string(), &child.id)))
        .await
        .unwrap()
        .into_inner();
    let case = f.case_of(&sw, &child.case_id).await;
    let episode_id = f
        .client
        .list_cin_episodes(sw.req(pb::ListCinEpisodesRequest {
            child_id: child.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .cin_episodes[0]
        .id
        .clone();
    let family_member = f
        .client
        .add_family_member(sw.req(pb::AddFamilyMemberRequest {
            request_id: rid(),
            family_member: Some(mother(&child)),
        }))
        .await
        .unwrap()
        .into_inner()
        .family_member
        .unwrap();
    let membership = f.add_member(&child.case_id, health_ref()).await;
    let sibling = f
        .client
        .create_child(sw.req(pb::CreateChildRequest {
            request_id: rid(),
            child: Some(child_in(&child.case_id, "C5002")),
        }))
        .await
        .unwrap()
        .into_inner()
        .child
        .unwrap();
    let transfer_in_id = f
        .client
        .record_transfer_in(sw.req(transfer_in(&sibling.id)))
        .await
        .unwrap()
        .into_inner()
        .transfer_in
        .unwrap()
        .id;
    World {
        case,
        discussion_id: enquiry.strategy_discussion_id.clone(),
        enquiry,
        outcome: recorded.outcome.unwrap(),
        plan: recorded.plan.unwrap(),
        action: recorded.actions[0].clone(),
        child,
        episode_id,
        family_member,
        membership,
        transfer_in_id,
    }
}

fn child_in(case_id: &str, la_child_id: &str) -> pb::Child {
    child(case_id, la_child_id, "Lily")
}

fn mother(child: &pb::Child) -> pb::FamilyMember {
    pb::FamilyMember {
        case_id: child.case_id.clone(),
        given_names: "Anna".into(),
        family_name: "Smith".into(),
        relationships: vec![pb::ChildRelationship {
            child_id: child.id.clone(),
            relationship: pb::Relationship::Mother as i32,
            parental_responsibility: true,
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn transfer_in(child_id: &str) -> pb::RecordTransferInRequest {
    pb::RecordTransferInRequest {
        request_id: rid(),
        transfer_in: Some(pb::TransferIn {
            child_id: child_id.into(),
            sending_authority_name: "Bristol".into(),
            sending_authority_code: "801".into(),
            notification_date: pd(2025, 10, 1),
            previous_plan_start_date: pd(2025, 1, 14),
            previous_category: common::CategoryOfHarm::Physical as i32,
            ..Default::default()
        }),
    }
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

/// One valid call of `rpc` on the world's records, as `who`.
#[allow(clippy::too_many_lines, reason = "one arm per RPC, read as a table")]
async fn call(
    client: &mut CasesServiceClient<Channel>,
    who: &As,
    rpc: &str,
    w: &World,
) -> Result<(), Status> {
    let child_id = w.child.id.clone();
    let case_id = w.case.id.clone();
    match rpc {
        "CreateCase" => client
            .create_case(who.req(pb::CreateCaseRequest {
                request_id: rid(),
                r#case: Some(pb::Case {
                    authority_id: AUTHORITY.into(),
                    display_name: "Jones family".into(),
                    ..Default::default()
                }),
            }))
            .await
            .map(drop),
        "GetCase" => client
            .get_case(who.req(pb::GetCaseRequest { case_id }))
            .await
            .map(drop),
        "ListCases" => client
            .list_cases(who.req(pb::ListCasesRequest {
                authority_id: AUTHORITY.into(),
                ..Default::default()
            }))
            .await
            .map(drop),
        "UpdateCase" => {
            let mut case = w.case.clone();
            case.display_name = "Smith family (renamed)".into();
            client
                .update_case(who.req(pb::UpdateCaseRequest {
                    r#case: Some(case),
                    update_mask: mask(&["display_name"]),
                }))
                .await
                .map(drop)
        }
        "CreateChild" => client
            .create_child(who.req(pb::CreateChildRequest {
                request_id: rid(),
                child: Some(child("", &format!("M{}", &rid()[..8]), "Noah")),
            }))
            .await
            .map(drop),
        "GetChild" => client
            .get_child(who.req(pb::GetChildRequest { child_id }))
            .await
            .map(drop),
        "ListChildren" => client
            .list_children(who.req(authority_children()))
            .await
            .map(drop),
        "UpdateChild" => {
            let mut child = w.child.clone();
            child.given_names = "Jamie-Lee".into();
            client
                .update_child(who.req(pb::UpdateChildRequest {
                    child: Some(child),
                    update_mask: mask(&["given_names"]),
                }))
                .await
                .map(drop)
        }
        "AddFamilyMember" => client
            .add_family_member(who.req(pb::AddFamilyMemberRequest {
                request_id: rid(),
                family_member: Some(mother(&w.child)),
            }))
            .await
            .map(drop),
        "GetFamilyMember" => client
            .get_family_member(who.req(pb::GetFamilyMemberRequest {
                family_member_id: w.family_member.id.clone(),
            }))
            .await
            .map(drop),
        "ListFamilyMembers" => client
            .list_family_members(who.req(pb::ListFamilyMembersRequest {
                case_id,
                ..Default::default()
            }))
            .await
            .map(drop),
        "UpdateFamilyMember" => {
            let mut member = w.family_member.clone();
            member.given_names = "Anne".into();
            client
                .update_family_member(who.req(pb::UpdateFamilyMemberRequest {
                    family_member: Some(member),
                    update_mask: mask(&["given_names"]),
                }))
                .await
                .map(drop)
        }
        "OpenCinEpisode" => client
            .open_cin_episode(who.req(referral(&child_id)))
            .await
            .map(drop),
        "CloseCinEpisode" => client
            .close_cin_episode(who.req(pb::CloseCinEpisodeRequest {
                cin_episode_id: w.episode_id.clone(),
                version: 1,
                closure_date: pd(2025, 11, 20),
                closure_reason: pb::ClosureReason::Rc7ServicesCeased as i32,
            }))
            .await
            .map(drop),
        "GetCinEpisode" => client
            .get_cin_episode(who.req(pb::GetCinEpisodeRequest {
                cin_episode_id: w.episode_id.clone(),
            }))
            .await
            .map(drop),
        "ListCinEpisodes" => client
            .list_cin_episodes(who.req(pb::ListCinEpisodesRequest {
                child_id,
                ..Default::default()
            }))
            .await
            .map(drop),
        "RecordStrategyDiscussion" => client
            .record_strategy_discussion(who.req(pb::RecordStrategyDiscussionRequest {
                request_id: rid(),
                case_id,
                child_ids: vec![child_id],
                discussion_date: pd(2025, 6, 5),
                attendees: vec![worker_ref(), police_ref()],
                outcome: pb::StrategyOutcome::StartSection47 as i32,
                rationale: "Further concerns".into(),
            }))
            .await
            .map(drop),
        "GetStrategyDiscussion" => client
            .get_strategy_discussion(who.req(pb::GetStrategyDiscussionRequest {
                strategy_discussion_id: w.discussion_id.clone(),
            }))
            .await
            .map(drop),
        "ListStrategyDiscussions" => client
            .list_strategy_discussions(who.req(pb::ListStrategyDiscussionsRequest {
                case_id,
                ..Default::default()
            }))
            .await
            .map(drop),
        "StartSection47Enquiry" => client
            .start_section47_enquiry(who.req(pb::StartSection47EnquiryRequest {
                request_id: rid(),
                child_id,
                strategy_discussion_id: w.discussion_id.clone(),
                start_date: pd(2025, 6, 4),
            }))
            .await
            .map(drop),
        "CompleteSection47Enquiry" => client
            .complete_section47_enquiry(who.req(pb::CompleteSection47EnquiryRequest {
                enquiry_id: w.enquiry.id.clone(),
                version: w.enquiry.version,
                completion_date: pd(2025, 6, 20),
                outcome: pb::Section47Outcome::IcpcRequired as i32,
                icpc_not_required_reason: String::new(),
            }))
            .await
            .map(drop),
        "GetSection47Enquiry" => client
            .get_section47_enquiry(who.req(pb::GetSection47EnquiryRequest {
                enquiry_id: w.enquiry.id.clone(),
            }))
            .await
            .map(drop),
        "ListSection47Enquiries" => client
            .list_section47_enquiries(who.req(pb::ListSection47EnquiriesRequest {
                child_id,
                ..Default::default()
            }))
            .await
            .map(drop),
        "RecordConferenceOutcome" => client
            .record_conference_outcome(who.req(icpc_outcome(&w.outcome.conference_id, &child_id)))
            .await
            .map(drop),
        "GetConferenceOutcome" => client
            .get_conference_outcome(who.req(pb::GetConferenceOutcomeRequest {
                outcome_id: w.outcome.id.clone(),
            }))
            .await
            .map(drop),
        "ListConferenceOutcomes" => client
            .list_conference_outcomes(who.req(pb::ListConferenceOutcomesRequest {
                child_id,
                ..Default::default()
            }))
            .await
            .map(drop),
        "UpdateConferenceOutcome" => {
            let mut outcome = w.outcome.clone();
            outcome.chair_rationale = "Views split; concerns sustained (corrected)".into();
            client
                .update_conference_outcome(who.req(pb::UpdateConferenceOutcomeRequest {
                    outcome: Some(outcome),
                    update_mask: mask(&["chair_rationale"]),
                }))
                .await
                .map(drop)
        }
        "GetPlan" => client
            .get_plan(who.req(pb::GetPlanRequest {
                plan_id: w.plan.id.clone(),
            }))
            .await
            .map(drop),
        "ListPlans" => client
            .list_plans(who.req(pb::ListPlansRequest {
                child_id,
                ..Default::default()
            }))
            .await
            .map(drop),
        "UpdatePlan" => {
            let mut plan = w.plan.clone();
            plan.contingency_plan =
                "Legal planning meeting at once if a bottom line is crossed".into();
            client
                .update_plan(who.req(pb::UpdatePlanRequest {
                    plan: Some(plan),
                    update_mask: mask(&["contingency_plan"]),
                }))
                .await
                .map(drop)
        }
        "EndPlan" => client
            .end_plan(who.req(pb::EndPlanRequest {
                plan_id: w.plan.id.clone(),
                version: w.plan.version,
                end_date: pd(2025, 11, 20),
                end_reason: pb::PlanEndReason::Other as i32,
                end_reason_detail: "Family moved abroad; plan closed on legal advice".into(),
                agencies_consulted: vec![police_ref(), health_ref()],
                ..Default::default()
            }))
            .await
            .map(drop),
        "TransferPlanOut" => client
            .transfer_plan_out(who.req(pb::TransferPlanOutRequest {
                plan_id: w.plan.id.clone(),
                version: w.plan.version,
                transfer_out: Some(pb::TransferOut {
                    receiving_authority_name: "Bristol".into(),
                    notification_date: pd(2025, 11, 3),
                    ..Default::default()
                }),
            }))
            .await
            .map(drop),
        "RecordTransferIn" => client
            .record_transfer_in(who.req(transfer_in(&child_id)))
            .await
            .map(drop),
        "GetTransferIn" => client
            .get_transfer_in(who.req(pb::GetTransferInRequest {
                transfer_in_id: w.transfer_in_id.clone(),
            }))
            .await
            .map(drop),
        "AddPlanAction" => client
            .add_plan_action(who.req(pb::AddPlanActionRequest {
                request_id: rid(),
                action: Some(pb::PlanAction {
                    plan_id: w.plan.id.clone(),
                    description: "School attendance check".into(),
                    owner: Some(health_ref()),
                    due_date: pd(2025, 12, 15),
                    ..Default::default()
                }),
            }))
            .await
            .map(drop),
        "GetPlanAction" => client
            .get_plan_action(who.req(pb::GetPlanActionRequest {
                action_id: w.action.id.clone(),
            }))
            .await
            .map(drop),
        "ListPlanActions" => client
            .list_plan_actions(who.req(pb::ListPlanActionsRequest {
                plan_id: w.plan.id.clone(),
                ..Default::default()
            }))
            .await
            .map(drop),
        "UpdatePlanAction" => {
            let mut action = w.action.clone();
            action.description = "Twice-weekly home visits".into();
            client
                .update_plan_action(who.req(pb::UpdatePlanActionRequest {
                    action: Some(action),
                    update_mask: mask(&["description"]),
                }))
                .await
                .map(drop)
        }
        "UpdatePlanActionStatus" => client
            .update_plan_action_status(who.req(pb::UpdatePlanActionStatusRequest {
                action_id: w.action.id.clone(),
                version: w.action.version,
                status: pb::PlanActionStatus::InProgress as i32,
                reason: String::new(),
                completion_date: None,
            }))
            .await
            .map(drop),
        "AddCaseMember" => client
            .add_case_member(who.req(pb::AddCaseMemberRequest {
                request_id: rid(),
                membership: Some(pb::CaseMembership {
                    case_id,
                    person: Some(person_ref(
                        0xdead,
                        "New Member",
                        common::AgencyKind::Health,
                        "Trust",
                    )),
                    case_role: pb::CaseRole::AgencyPractitioner as i32,
                    start_date: Some(today()),
                    ..Default::default()
                }),
            }))
            .await
            .map(drop),
        "EndCaseMember" => client
            .end_case_member(who.req(pb::EndCaseMemberRequest {
                membership_id: w.membership.id.clone(),
                version: w.membership.version,
                end_date: Some(today()),
                end_reason: pb::MembershipEndReason::InvolvementEnded as i32,
            }))
            .await
            .map(drop),
        "ListCaseMembers" => client
            .list_case_members(who.req(pb::ListCaseMembersRequest {
                case_id,
                ..Default::default()
            }))
            .await
            .map(drop),
        "StreamChanges" => client
            .stream_changes(who.req(pb::StreamChangesRequest {
                authority_id: AUTHORITY.into(),
                ..Default::default()
            }))
            .await
            .map(drop),
        other => panic!("no request for {other}"),
    }
}

/// One valid call of an AuditService `rpc` on the cases log, as `who`: the
/// whole authority's accesses, or the accesses to one child's record.
async fn call_audit(
    client: &mut AuditServiceClient<Channel>,
    who: &As,
    rpc: &str,
    target: Target,
    child_id: &str,
) -> Result<(), Status> {
    match rpc {
        "ListAccessRecords" => client
            .list_access_records(who.req(audit::ListAccessRecordsRequest {
                service: "cases".into(),
                authority_id: AUTHORITY.into(),
                child_id: if target == Target::Record {
                    child_id.into()
                } else {
                    String::new()
                },
                ..Default::default()
            }))
            .await
            .map(drop),
        "VerifyAuditChain" => client
            .verify_audit_chain(who.req(audit::VerifyAuditChainRequest {
                service: "cases".into(),
                ..Default::default()
            }))
            .await
            .map(drop),
        other => panic!("no request for {other}"),
    }
}
