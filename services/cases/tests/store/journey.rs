//! The whole journey of one child at the store level, and the change feed
//! it leaves behind.

use cpc_cases::codes::ConferenceKind;
use cpc_cases::domain::action::ActionStatusChange;
use cpc_cases::domain::family::NewFamilyMember;
use cpc_cases::domain::journey::CinClosure;
use cpc_cases::domain::membership::NewCaseMember;
use cpc_cases::store;
use cpc_proto::cases::v1 as pb;
use cpc_proto::common::v1 as common;
use prost::Message as _;

use crate::common::*;
use crate::run;
use crate::steps::*;

#[tokio::test]
async fn referral_to_plan_end_with_the_change_feed_in_order() {
    let h = Harness::new().await;

    // Siblings in one case, and their father.
    let child = register(&h, None, "C1001", "Jamie").await;
    let sibling = register(&h, Some(&child.case_id), "C1002", "Robin").await;
    let ctx = crate::common::ctx();
    let add_father = pb::AddFamilyMemberRequest {
        request_id: rid(),
        family_member: Some(pb::FamilyMember {
            case_id: child.case_id.clone(),
            given_names: "Pat".into(),
            family_name: "Smith".into(),
            relationships: [&child, &sibling]
                .iter()
                .map(|c| pb::ChildRelationship {
                    child_id: c.id.clone(),
                    relationship: pb::Relationship::Father as i32,
                    parental_responsibility: true,
                    lives_with_child: true,
                    ..Default::default()
                })
                .collect(),
            address: Some(common::PostalAddress {
                lines: vec!["1 High Street".into()],
                town: "Gloucester".into(),
                postcode: "GL1 2TG".into(),
            }),
            ..Default::default()
        }),
    };
    let father = NewFamilyMember::parse(&add_father, ctx.today).unwrap();
    let father = run!(h, ctx, |conn| store::family::add_family_member(
        conn, &ctx, &father
    ))
    .unwrap()
    .response
    .family_member
    .unwrap();
    assert_eq!(father.relationships.len(), 2);

    // Referral, strategy discussion, s47 enquiry.
    let episode = open_episode(&h, &child.id, 2025, 6, 2).await;
    assert_eq!(episode.status, pb::CinEpisodeStatus::Open as i32);
    let discussion = strategy(&h, &child.case_id, &[&child.id], 2025, 6, 4).await;
    let enquiry = start_s47(&h, &child.id, &discussion.id, 2025, 6, 4)
        .await
        .unwrap()
        .response
        .enquiry
        .unwrap();
    // InitialCPCtarget: 15 working days after the discussion.
    assert_eq!(enquiry.initial_cpc_target_date, pd(2025, 6, 25));
    let enquiry = complete_s47(&h, &enquiry, 2025, 6, 20).await;
    assert_eq!(enquiry.status, pb::Section47Status::Completed as i32);

    // ICPC: split views, the chair decides on a plan with a rationale.
    let icpc = conference(
        ConferenceKind::Initial,
        2025,
        6,
        24,
        &[&child.id, &sibling.id],
    );
    let recorded = record(&h, &icpc, &split_icpc(&icpc, &child.id))
        .await
        .unwrap();
    let outcome = recorded.response.outcome.clone().unwrap();
    assert!(outcome.decided_by_chair);
    assert_eq!(outcome.professional_views.len(), 4);
    assert_eq!(outcome.exclusions[0].scopes.len(), 2);
    let plan = recorded.response.plan.clone().unwrap();
    assert_eq!(plan.status, pb::PlanStatus::Active as i32);
    assert_eq!(plan.start_date, pd(2025, 6, 24));
    assert_eq!(plan.previous_plan_count, 0);
    assert_eq!(
        plan.initial_category,
        common::CategoryOfHarm::Neglect as i32
    );
    assert_eq!(plan.next_review_due_date, pd(2025, 9, 24));
    assert_eq!(plan.core_group_members.len(), 3);
    assert_eq!(plan.childs_voice.len(), 1);
    assert_eq!(outcome.plan_id, plan.id);
    let actions = recorded.response.actions.clone();
    assert_eq!(actions.len(), 2);
    // DateOfInitialCPC now shows on the enquiry.
    let ctx = crate::common::ctx();
    let enquiry_id = uuid(&enquiry.id);
    let enquiry = run!(h, ctx, |conn| store::section47::get_section47_enquiry(
        conn, enquiry_id
    ))
    .unwrap();
    assert_eq!(enquiry.initial_cpc_date, pd(2025, 6, 24));

    // An action is started, then completed: two entries in its history.
    let mut action = actions[0].clone();
    for (status, completion) in [
        (pb::PlanActionStatus::InProgress, None),
        (pb::PlanActionStatus::Completed, pd(2025, 7, 30)),
    ] {
        let ctx = crate::common::ctx();
        let req = pb::UpdatePlanActionStatusRequest {
            action_id: action.id.clone(),
            version: action.version,
            status: status as i32,
            reason: String::new(),
            completion_date: completion,
        };
        let change = ActionStatusChange::parse(&req, ctx.today).unwrap();
        action = run!(h, ctx, |conn| store::actions::update_plan_action_status(
            conn, &ctx, &change
        ))
        .unwrap()
        .response
        .action
        .unwrap();
    }
    assert_eq!(action.status, pb::PlanActionStatus::Completed as i32);
    assert_eq!(action.status_history.len(), 2);
    assert_eq!(
        action.status_history[1].from_status,
        pb::PlanActionStatus::InProgress as i32
    );
    assert!(!action.overdue);

    // The lead social worker is made a member of the case.
    let ctx = crate::common::ctx();
    let grant = pb::AddCaseMemberRequest {
        request_id: rid(),
        membership: Some(pb::CaseMembership {
            case_id: child.case_id.clone(),
            person: Some(social_worker()),
            case_role: pb::CaseRole::LeadSocialWorker as i32,
            // Not before the case was created (recorded today).
            start_date: pd(2025, 11, 25),
            ..Default::default()
        }),
    };
    let grant = NewCaseMember::parse(&grant).unwrap();
    let membership = run!(h, ctx, |conn| store::membership::add_case_member(
        conn, &ctx, &grant
    ))
    .unwrap()
    .response
    .membership
    .unwrap();
    assert!(membership.active);

    // Review: all agree to continue, now under emotional harm.
    let review = conference(
        ConferenceKind::Review,
        2025,
        9,
        16,
        &[&child.id, &sibling.id],
    );
    let reviewed = record(
        &h,
        &review,
        &unanimous_review(&review, &child.id, true, common::CategoryOfHarm::Emotional),
    )
    .await
    .unwrap();
    let plan = reviewed.response.plan.unwrap();
    assert_eq!(
        plan.latest_category,
        common::CategoryOfHarm::Emotional as i32
    );
    assert_eq!(
        plan.initial_category,
        common::CategoryOfHarm::Neglect as i32
    );
    assert_eq!(plan.review_dates, vec![pd(2025, 9, 16).unwrap()]);
    assert_eq!(plan.next_review_due_date, pd(2026, 3, 16));
    assert_eq!(plan.childs_voice.len(), 2);
    assert_eq!(
        reviewed.response.outcome.unwrap().initial_category,
        common::CategoryOfHarm::Neglect as i32
    );

    // Second review: no longer at risk, the plan ends.
    let last = conference(ConferenceKind::Review, 2025, 11, 18, &[&child.id]);
    let ended = record(
        &h,
        &last,
        &unanimous_review(&last, &child.id, false, common::CategoryOfHarm::Emotional),
    )
    .await
    .unwrap();
    let plan = ended.response.plan.unwrap();
    assert_eq!(plan.status, pb::PlanStatus::Ended as i32);
    assert_eq!(plan.end_reason, pb::PlanEndReason::NoLongerAtRisk as i32);
    assert_eq!(plan.end_date, pd(2025, 11, 18));
    assert_eq!(plan.end_conference_id, last.id.to_string());
    assert_eq!(plan.ended_by, Some(chair().to_proto()));
    assert_eq!(plan.review_dates.len(), 2);

    // The episode closes once the plan has ended.
    let ctx = crate::common::ctx();
    let episode_id = uuid(&episode.id);
    let episode = run!(h, ctx, |conn| store::episodes::get_cin_episode(
        conn, episode_id
    ))
    .unwrap();
    let close = CinClosure::parse(
        &pb::CloseCinEpisodeRequest {
            cin_episode_id: episode.id.clone(),
            version: episode.version,
            closure_date: pd(2025, 11, 20),
            closure_reason: pb::ClosureReason::Rc7ServicesCeased as i32,
        },
        ctx.today,
    )
    .unwrap();
    let closed = run!(h, ctx, |conn| store::episodes::close_cin_episode(
        conn, &ctx, &close
    ))
    .unwrap()
    .response
    .cin_episode
    .unwrap();
    assert_eq!(closed.status, pb::CinEpisodeStatus::Closed as i32);

    // The change feed: exactly these events, in this order.
    assert_eq!(
        h.event_types().await,
        [
            "CaseCreated",
            "ChildRegistered",
            "ChildRegistered",
            "CaseUpdated",
            "FamilyMemberAdded",
            "CinEpisodeOpened",
            "StrategyDiscussionRecorded",
            "Section47Started",
            "Section47Completed",
            "ConferenceOutcomeRecorded",
            "PlanStarted",
            "PlanActionAdded",
            "PlanActionAdded",
            "PlanActionStatusChanged",
            "PlanActionStatusChanged",
            "CaseMemberAdded",
            "ConferenceOutcomeRecorded",
            "PlanUpdated",
            "ConferenceOutcomeRecorded",
            "PlanEnded",
            "CinEpisodeClosed",
        ]
    );
    let events = h.events().await;
    let sequences: Vec<i64> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=21).collect::<Vec<_>>());
    assert!(events.iter().all(|e| e.authority_id == AUTHORITY));

    // Payloads are the encoded event messages, as the resource then stood.
    let started = events
        .iter()
        .find(|e| e.event_type == "cpc.cases.v1.PlanStarted")
        .unwrap();
    assert_eq!(started.aggregate_type, "ChildProtectionPlan");
    assert_eq!(started.aggregate_version, 1);
    assert_eq!(started.child_ids, [uuid(&child.id)]);
    let payload = pb::PlanStarted::decode(started.payload.as_slice()).unwrap();
    assert_eq!(payload.plan.unwrap().status, pb::PlanStatus::Active as i32);
    let s47 = events
        .iter()
        .find(|e| e.event_type == "cpc.cases.v1.Section47Started")
        .unwrap();
    let payload = pb::Section47Started::decode(s47.payload.as_slice()).unwrap();
    assert_eq!(payload.strategy_discussion_date, pd(2025, 6, 4));
    assert_eq!(payload.case_id, child.case_id);
    let joined = &events[3];
    let payload = pb::CaseUpdated::decode(joined.payload.as_slice()).unwrap();
    assert_eq!(
        payload.r#case.unwrap().child_ids,
        [child.id.clone(), sibling.id.clone()]
    );
    assert_eq!(joined.aggregate_version, 2);
    let ended = events
        .iter()
        .find(|e| e.event_type == "cpc.cases.v1.PlanEnded")
        .unwrap();
    let payload = pb::PlanEnded::decode(ended.payload.as_slice()).unwrap();
    assert_eq!(payload.plan.unwrap().review_dates.len(), 2);
}

#[tokio::test]
async fn a_new_plan_counts_the_previous_ones() {
    let h = Harness::new().await;
    let (child, plan) = child_on_plan(&h, "C2001").await;
    assert_eq!(plan.previous_plan_count, 0);

    // A manager ends it (the family left the UK, then came back).
    let ctx = crate::common::ctx();
    let end = cpc_cases::domain::plan::PlanEnding::parse(
        &pb::EndPlanRequest {
            plan_id: plan.id.clone(),
            version: plan.version,
            end_date: pd(2025, 8, 1),
            end_reason: pb::PlanEndReason::LeftUk as i32,
            agencies_consulted: vec![police(), health()],
            ..Default::default()
        },
        ctx.today,
    )
    .unwrap();
    let ended = run!(h, ctx, |conn| store::plans::end_plan(conn, &ctx, &end))
        .unwrap()
        .response
        .plan
        .unwrap();
    assert_eq!(ended.status, pb::PlanStatus::Ended as i32);
    assert_eq!(ended.agencies_consulted.len(), 2);
    assert_eq!(ended.ended_by, Some(actor().to_proto()));

    let again = conference(ConferenceKind::Initial, 2025, 10, 7, &[&child.id]);
    let mut req = split_icpc(&again, &child.id);
    let outcome = req.outcome.as_mut().unwrap();
    outcome.next_review_date = pd(2025, 12, 16);
    outcome.first_core_group_date = None;
    for action in &mut outcome.outline_actions {
        action.due_date = pd(2025, 11, 1);
    }
    let second = record(&h, &again, &req)
        .await
        .unwrap()
        .response
        .plan
        .unwrap();
    assert_eq!(second.previous_plan_count, 1);
    assert_eq!(second.start_date, pd(2025, 10, 7));

    // A correction adds plans held elsewhere; it cannot forget the one
    // recorded here.
    let ctx = crate::common::ctx();
    let correct = |plan: &pb::ChildProtectionPlan, count: i32| {
        cpc_cases::domain::plan::PlanUpdate::parse(&pb::UpdatePlanRequest {
            plan: Some(pb::ChildProtectionPlan {
                previous_plan_count: count,
                ..plan.clone()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["previous_plan_count".into()],
            }),
        })
        .unwrap()
    };
    let fewer = correct(&second, 0);
    let err = run!(h, ctx, |conn| store::plans::update_plan(conn, &ctx, &fewer)).unwrap_err();
    assert_eq!(
        violations(err),
        [(
            "plan.previous_plan_count".to_owned(),
            "must be at least 1, the plans before this one that cpc holds \
             (a transfer in counts the sending authority's)"
                .to_owned()
        )]
    );
    let more = correct(&second, 3);
    let corrected = run!(h, ctx, |conn| store::plans::update_plan(conn, &ctx, &more))
        .unwrap()
        .response
        .plan
        .unwrap();
    assert_eq!(corrected.previous_plan_count, 3);
}

#[tokio::test]
async fn a_plan_started_before_the_birth_is_a_pre_birth_plan_whatever_the_conference() {
    let h = Harness::new().await;
    // An unborn child whose pre-birth conference met inquorate: its
    // reconvening starts the plan.
    let ctx = crate::common::ctx();
    let mut unborn = child_msg(None, "C2101");
    unborn.birth_date = None;
    unborn.expected_birth_date = pd(2025, 9, 1);
    unborn.sex = pb::Sex::Unknown as i32;
    let req = pb::CreateChildRequest {
        request_id: rid(),
        child: Some(unborn),
    };
    let (key, details) =
        cpc_cases::domain::child::ChildDetails::parse_request(&req, ctx.today).unwrap();
    let child = run!(h, ctx, |conn| store::children::create_child(
        conn, &ctx, &key, &details
    ))
    .unwrap()
    .response
    .child
    .unwrap();
    prepare_icpc(&h, &child).await;
    let reconvened = conference(ConferenceKind::Reconvened, 2025, 6, 24, &[&child.id]);
    let plan = record(&h, &reconvened, &split_icpc(&reconvened, &child.id))
        .await
        .unwrap()
        .response
        .plan
        .unwrap();
    assert!(plan.pre_birth);
    // A born child's plan is not.
    let (_, born) = child_on_plan(&h, "C2102").await;
    assert!(!born.pre_birth);
}

#[tokio::test]
async fn a_recorded_death_ends_the_open_plan() {
    let h = Harness::new().await;
    let (child, plan) = child_on_plan(&h, "C3001").await;
    let ctx = crate::common::ctx();
    let req = pb::UpdateChildRequest {
        child: Some(pb::Child {
            id: child.id.clone(),
            version: child.version,
            death_date: pd(2025, 10, 1),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["death_date".into()],
        }),
    };
    let update = cpc_cases::domain::child::ChildUpdate::parse(&req).unwrap();
    let written = run!(h, ctx, |conn| store::children::update_child(
        conn, &ctx, &update
    ))
    .unwrap();
    let types: Vec<&str> = written
        .events
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "cpc.cases.v1.ChildUpdated",
            "cpc.cases.v1.ChildDied",
            "cpc.cases.v1.PlanEnded"
        ]
    );
    let updated = pb::ChildUpdated::decode(written.events[0].payload.as_slice()).unwrap();
    assert_eq!(updated.changed_fields, ["death_date"]);
    let ctx = crate::common::ctx();
    let plan_id = uuid(&plan.id);
    let plan = run!(h, ctx, |conn| store::plans::get_plan(conn, plan_id)).unwrap();
    assert_eq!(plan.status, pb::PlanStatus::Ended as i32);
    assert_eq!(plan.end_reason, pb::PlanEndReason::Died as i32);
    assert_eq!(plan.end_date, pd(2025, 10, 1));
}

#[tokio::test]
async fn transfer_out_then_in_elsewhere() {
    let h = Harness::new().await;
    let (child, plan) = child_on_plan(&h, "C4001").await;

    // Out: notified, then ended at the receiving authority's conference.
    let ctx = crate::common::ctx();
    let notice = cpc_cases::domain::plan::TransferOutNotice::parse(
        &pb::TransferPlanOutRequest {
            plan_id: plan.id.clone(),
            version: plan.version,
            transfer_out: Some(pb::TransferOut {
                receiving_authority_name: "Leeds".into(),
                receiving_authority_code: "383".into(),
                notification_date: pd(2025, 9, 1),
                ..Default::default()
            }),
        },
        ctx.today,
    )
    .unwrap();
    let pending = run!(h, ctx, |conn| store::plans::transfer_plan_out(
        conn, &ctx, &notice
    ))
    .unwrap()
    .response
    .plan
    .unwrap();
    assert_eq!(pending.status, pb::PlanStatus::TransferOutPending as i32);
    let ctx = crate::common::ctx();
    let end = cpc_cases::domain::plan::PlanEnding::parse(
        &pb::EndPlanRequest {
            plan_id: plan.id.clone(),
            version: pending.version,
            end_date: pd(2025, 9, 19),
            end_reason: pb::PlanEndReason::TransferredOut as i32,
            transfer_in_conference_date: pd(2025, 9, 19),
            ..Default::default()
        },
        ctx.today,
    )
    .unwrap();
    let out = run!(h, ctx, |conn| store::plans::end_plan(conn, &ctx, &end))
        .unwrap()
        .response
        .plan
        .unwrap();
    assert_eq!(out.status, pb::PlanStatus::TransferredOut as i32);
    assert_eq!(
        out.transfer_out.unwrap().transfer_in_conference_date,
        pd(2025, 9, 19)
    );

    // In: another child arrives on a plan; the transfer-in conference
    // starts a plan here, counting the sending authority's.
    let incoming = register(&h, None, "C4002", "Alex").await;
    open_episode(&h, &incoming.id, 2025, 10, 1).await;
    let transfer = record_transfer_in(&h, &incoming.id, pd(2025, 10, 1))
        .await
        .unwrap()
        .response
        .transfer_in
        .unwrap();
    assert_eq!(transfer.conference_due_date, pd(2025, 10, 22));
    let conf = conference(ConferenceKind::TransferIn, 2025, 10, 14, &[&incoming.id]);
    let mut req = split_icpc(&conf, &incoming.id);
    let o = req.outcome.as_mut().unwrap();
    o.next_review_date = None;
    o.first_core_group_date = None;
    for action in &mut o.outline_actions {
        action.due_date = pd(2025, 11, 14);
    }
    let plan = record(&h, &conf, &req)
        .await
        .unwrap()
        .response
        .plan
        .unwrap();
    assert_eq!(plan.previous_plan_count, 1);
    assert_eq!(plan.transfer_in_id, transfer.id);
    let ctx = crate::common::ctx();
    let transfer_id = uuid(&transfer.id);
    let transfer = run!(h, ctx, |conn| store::transfers::get_transfer_in(
        conn,
        transfer_id
    ))
    .unwrap();
    assert_eq!(transfer.status, pb::TransferInStatus::PlanStarted as i32);
    assert_eq!(transfer.conference_id, conf.id.to_string());
    let _ = child;
}
