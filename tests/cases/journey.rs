//! Referral → strategy discussion → s47 → conference outcome → plan with
//! actions → review → plan end, each step a gRPC call by the person who
//! does it in practice.

use cpc_cases::codes::ConferenceKind;
use cpc_proto::audit::v1 as audit_pb;
use cpc_proto::audit::v1::audit_service_client::AuditServiceClient;
use cpc_proto::cases::v1 as pb;
use cpc_proto::common::v1 as common;
use tonic::Code;

use crate::access_log::about_child;
use crate::support::*;

/// Registers a child in a new case as the social worker, who becomes a
/// member of it; returns the child.
pub async fn register(f: &mut Fixture, la_child_id: &str) -> pb::Child {
    let sw = f.social_worker();
    f.client
        .create_child(sw.req(pb::CreateChildRequest {
            request_id: rid(),
            child: Some(child("", la_child_id, "Jamie")),
        }))
        .await
        .unwrap()
        .into_inner()
        .child
        .unwrap()
}

/// Referral, strategy discussion and an s47 enquiry that concludes an
/// ICPC is needed; returns the completed enquiry.
pub async fn up_to_icpc(f: &mut Fixture, child: &pb::Child) -> pb::Section47Enquiry {
    let sw = f.social_worker();
    let episode = f
        .client
        .open_cin_episode(sw.req(referral(&child.id)))
        .await
        .unwrap()
        .into_inner()
        .cin_episode
        .unwrap();
    assert_eq!(episode.child_id, child.id);
    let discussion = f
        .client
        .record_strategy_discussion(sw.req(pb::RecordStrategyDiscussionRequest {
            request_id: rid(),
            case_id: child.case_id.clone(),
            child_ids: vec![child.id.clone()],
            discussion_date: pd(2025, 6, 4),
            attendees: vec![worker_ref(), police_ref(), health_ref()],
            outcome: pb::StrategyOutcome::StartSection47 as i32,
            rationale: "Concerns about neglect reported by police".into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .strategy_discussion
        .unwrap();
    let enquiry = f
        .client
        .start_section47_enquiry(sw.req(pb::StartSection47EnquiryRequest {
            request_id: rid(),
            child_id: child.id.clone(),
            strategy_discussion_id: discussion.id.clone(),
            start_date: pd(2025, 6, 4),
        }))
        .await
        .unwrap()
        .into_inner()
        .enquiry
        .unwrap();
    // The statutory latest date of the ICPC: 15 working days from the
    // strategy discussion (4 June 2025 → 25 June 2025).
    assert_eq!(enquiry.initial_cpc_target_date, pd(2025, 6, 25));
    f.client
        .complete_section47_enquiry(sw.req(pb::CompleteSection47EnquiryRequest {
            enquiry_id: enquiry.id.clone(),
            version: enquiry.version,
            completion_date: pd(2025, 6, 20),
            outcome: pb::Section47Outcome::IcpcRequired as i32,
            icpc_not_required_reason: String::new(),
        }))
        .await
        .unwrap()
        .into_inner()
        .enquiry
        .unwrap()
}

/// The ICPC's outcome: views split 2–2, the chair decides on a plan under
/// neglect, with two outline actions.
pub fn icpc_outcome(conference_id: &str, child_id: &str) -> pb::RecordConferenceOutcomeRequest {
    let neglect = common::CategoryOfHarm::Neglect as i32;
    pb::RecordConferenceOutcomeRequest {
        request_id: rid(),
        outcome: Some(pb::ConferenceOutcome {
            conference_id: conference_id.into(),
            child_id: child_id.into(),
            professional_views: vec![
                view(worker_ref(), 3, true),
                view(police_ref(), 4, true),
                view(health_ref(), 6, false),
                view(
                    person_ref(
                        0x5004,
                        "Sue School",
                        common::AgencyKind::Education,
                        "Primary",
                    ),
                    7,
                    false,
                ),
            ],
            decision: pb::ConferenceDecision::StartPlan as i32,
            decided_by_chair: true,
            chair_rationale: "Views split; the neglect concerns are sustained".into(),
            initial_category: neglect,
            latest_category: neglect,
            lead_social_worker: Some(worker_ref()),
            lead_statutory_body: pb::LeadStatutoryBody::LocalAuthority as i32,
            core_group_members: vec![worker_ref(), police_ref(), health_ref()],
            childs_voice: Some(pb::ChildVoiceContribution {
                views_submitted: true,
                methods: vec![pb::ViewsMethod::App as i32],
                summary: "I want mum to be ok".into(),
                ..Default::default()
            }),
            danger_statements: vec!["The children may go hungry and be left alone".into()],
            safety_goals: vec!["The children are fed and supervised every day".into()],
            contingency_plan: "Legal planning meeting if home conditions do not improve".into(),
            bottom_lines: vec!["The children are never left alone overnight".into()],
            outline_actions: vec![pb::OutlineAction {
                description: "Weekly home visits".into(),
                owner: Some(worker_ref()),
                due_date: pd(2025, 7, 31),
            }],
            next_review_date: pd(2025, 9, 16),
            first_core_group_date: pd(2025, 7, 3),
            ..Default::default()
        }),
    }
}

/// A review where every professional agrees to continue, or to end.
pub fn review_outcome(
    conference_id: &str,
    child_id: &str,
    continue_plan: bool,
) -> pb::RecordConferenceOutcomeRequest {
    pb::RecordConferenceOutcomeRequest {
        request_id: rid(),
        outcome: Some(pb::ConferenceOutcome {
            conference_id: conference_id.into(),
            child_id: child_id.into(),
            professional_views: vec![
                view(worker_ref(), 5, continue_plan),
                view(police_ref(), 5, continue_plan),
                view(health_ref(), 6, continue_plan),
            ],
            decision: if continue_plan {
                pb::ConferenceDecision::ContinuePlan
            } else {
                pb::ConferenceDecision::EndPlan
            } as i32,
            latest_category: if continue_plan {
                common::CategoryOfHarm::Neglect as i32
            } else {
                0
            },
            lead_social_worker: continue_plan.then(worker_ref),
            lead_statutory_body: if continue_plan {
                pb::LeadStatutoryBody::LocalAuthority as i32
            } else {
                0
            },
            core_group_members: if continue_plan {
                vec![worker_ref(), health_ref()]
            } else {
                vec![]
            },
            contingency_plan: if continue_plan {
                "Legal planning meeting if progress stalls".into()
            } else {
                String::new()
            },
            childs_voice: Some(pb::ChildVoiceContribution {
                attended: true,
                methods: vec![pb::ViewsMethod::InPerson as i32],
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}

#[tokio::test]
async fn referral_to_plan_end_over_grpc() {
    let mut f = Fixture::start().await;
    let child = register(&mut f, "C1001").await;
    let enquiry = up_to_icpc(&mut f, &child).await;
    assert_eq!(enquiry.status, pb::Section47Status::Completed as i32);

    // The chair cannot record an outcome before scheduling reports the
    // conference held.
    let chair = f.chair();
    let icpc = held_conference(ConferenceKind::Initial, date(2025, 6, 24), &[&child.id]);
    let early = f
        .client
        .record_conference_outcome(chair.req(icpc_outcome(&icpc.id.to_string(), &child.id)))
        .await
        .unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition, "{early:?}");

    f.held(&icpc, AUTHORITY).await;
    let recorded = f
        .client
        .record_conference_outcome(chair.req(icpc_outcome(&icpc.id.to_string(), &child.id)))
        .await
        .unwrap()
        .into_inner();
    let outcome = recorded.outcome.unwrap();
    assert!(outcome.decided_by_chair);
    assert_eq!(outcome.decision, pb::ConferenceDecision::StartPlan as i32);
    let plan = recorded.plan.unwrap();
    assert_eq!(plan.status, pb::PlanStatus::Active as i32);
    assert_eq!(plan.start_date, pd(2025, 6, 24));
    // First review within 3 months of the ICPC, on a working day.
    assert_eq!(plan.next_review_due_date, pd(2025, 9, 24));
    assert_eq!(recorded.actions.len(), 1);

    // The manager adds the police officer to the case; the officer then
    // reports progress on the action, and the social worker adds another.
    f.add_member(&child.case_id, police_ref()).await;
    let officer = f.police_officer();
    let action = &recorded.actions[0];
    let action = f
        .client
        .update_plan_action_status(officer.req(pb::UpdatePlanActionStatusRequest {
            action_id: action.id.clone(),
            version: action.version,
            status: pb::PlanActionStatus::InProgress as i32,
            reason: String::new(),
            completion_date: None,
        }))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    assert_eq!(action.status_history.len(), 1);
    let sw = f.social_worker();
    let added = f
        .client
        .add_plan_action(sw.req(pb::AddPlanActionRequest {
            request_id: rid(),
            action: Some(pb::PlanAction {
                plan_id: plan.id.clone(),
                description: "Health check".into(),
                owner: Some(health_ref()),
                due_date: pd(2025, 7, 15),
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    let actions = f
        .client
        .list_plan_actions(officer.req(pb::ListPlanActionsRequest {
            plan_id: plan.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .actions;
    assert_eq!(actions.len(), 2);
    assert!(actions.iter().any(|a| a.id == added.id));

    // Review: everyone agrees to continue; the next review is 6 months on.
    let review = held_conference(ConferenceKind::Review, date(2025, 9, 16), &[&child.id]);
    f.held(&review, AUTHORITY).await;
    let reviewed = f
        .client
        .record_conference_outcome(chair.req(review_outcome(
            &review.id.to_string(),
            &child.id,
            true,
        )))
        .await
        .unwrap()
        .into_inner();
    let plan = reviewed.plan.unwrap();
    assert_eq!(plan.review_dates, vec![pd(2025, 9, 16).unwrap()]);
    assert_eq!(plan.next_review_due_date, pd(2026, 3, 16));

    // Second review: no longer at risk; the plan ends.
    let last = held_conference(ConferenceKind::Review, date(2025, 11, 18), &[&child.id]);
    f.held(&last, AUTHORITY).await;
    let ended = f
        .client
        .record_conference_outcome(chair.req(review_outcome(
            &last.id.to_string(),
            &child.id,
            false,
        )))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!(ended.status, pb::PlanStatus::Ended as i32);
    assert_eq!(ended.end_reason, pb::PlanEndReason::NoLongerAtRisk as i32);
    assert_eq!(ended.end_date, pd(2025, 11, 18));

    // The social worker reads it back.
    let read = f
        .client
        .get_plan(sw.req(pb::GetPlanRequest {
            plan_id: plan.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!(read, ended);

    // Every step is attributable: the child's access records name each
    // call of the journey, by whom, allowed; and the chain is intact.
    let auditor = f.person(AUDITOR, AUTHORITY, cpc_identity::Role::Auditor, None);
    let mut audit = AuditServiceClient::new(f.server.channel().await);
    let records = audit
        .list_access_records(auditor.req(about_child("cases", &child.id)))
        .await
        .unwrap()
        .into_inner()
        .records;
    let calls: std::collections::BTreeSet<&str> = records
        .iter()
        .filter(|r| r.decision == audit_pb::AccessDecision::Allow as i32)
        .map(|r| r.rpc_method.rsplit('/').next().unwrap())
        .collect();
    for step in [
        "CreateChild",
        "OpenCinEpisode",
        "RecordStrategyDiscussion",
        "StartSection47Enquiry",
        "CompleteSection47Enquiry",
        "RecordConferenceOutcome",
        "AddCaseMember",
        "UpdatePlanActionStatus",
        "AddPlanAction",
        "ListPlanActions",
        "GetPlan",
    ] {
        assert!(calls.contains(step), "{step} missing from {calls:?}");
    }
    let chain = audit
        .verify_audit_chain(auditor.req(audit_pb::VerifyAuditChainRequest {
            service: "cases".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(chain.status, audit_pb::ChainStatus::Intact as i32);
    assert!(chain.verified_count >= 14, "{}", chain.verified_count);
    f.stop().await;
}
