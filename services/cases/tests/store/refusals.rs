//! Each refusal, with its exact error.

use cpc_cases::codes::ConferenceKind;
use cpc_cases::domain::child::{ChildDetails, ChildUpdate};
use cpc_cases::domain::journey::NewCinEpisode;
use cpc_cases::domain::membership::NewCaseMember;
use cpc_cases::domain::outcome::NewConferenceOutcome;
use cpc_cases::domain::plan::PlanEnding;
use cpc_cases::store;
use cpc_platform::ApiError;
use cpc_proto::cases::v1 as pb;
use cpc_proto::common::v1 as common;
use uuid::Uuid;

use crate::common::*;
use crate::run;
use crate::steps::*;

fn precondition(err: ApiError) -> String {
    match err {
        ApiError::FailedPrecondition(msg) => msg,
        other => panic!("expected FAILED_PRECONDITION, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unknown_id_is_not_found() {
    let h = Harness::new().await;
    let ctx = crate::common::ctx();
    let id = Uuid::new_v4();
    let err = run!(h, ctx, |conn| store::children::get_child(conn, id)).unwrap_err();
    assert!(
        matches!(&err, ApiError::NotFound { resource: "child", id: got } if *got == id.to_string()),
        "{err:?}"
    );
    let err = run!(h, ctx, |conn| store::plans::get_plan(conn, id)).unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::NotFound {
                resource: "plan",
                ..
            }
        ),
        "{err:?}"
    );
    // Updating something that does not exist is NOT_FOUND, not ABORTED.
    let ending = PlanEnding::parse(
        &pb::EndPlanRequest {
            plan_id: id.to_string(),
            version: 1,
            end_date: pd(2025, 11, 1),
            end_reason: pb::PlanEndReason::Turned18 as i32,
            agencies_consulted: vec![police()],
            ..Default::default()
        },
        ctx.today,
    )
    .unwrap();
    let err = run!(h, ctx, |conn| store::plans::end_plan(conn, &ctx, &ending)).unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::NotFound {
                resource: "plan",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_stale_version_is_aborted() {
    let h = Harness::new().await;
    let child = register(&h, None, "C5001", "Jamie").await;
    let rename = |version: i64, name: &str| pb::UpdateChildRequest {
        child: Some(pb::Child {
            id: child.id.clone(),
            version,
            preferred_name: name.into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["preferred_name".into()],
        }),
    };
    let ctx = crate::common::ctx();
    let first = ChildUpdate::parse(&rename(1, "Jay")).unwrap();
    let updated = run!(h, ctx, |conn| store::children::update_child(
        conn, &ctx, &first
    ))
    .unwrap();
    assert_eq!(updated.response.child.unwrap().version, 2);
    let stale = ChildUpdate::parse(&rename(1, "J")).unwrap();
    let err = run!(h, ctx, |conn| store::children::update_child(
        conn, &ctx, &stale
    ))
    .unwrap_err();
    match err {
        ApiError::Aborted(msg) => assert_eq!(
            msg,
            format!(
                "child {} has changed since version 1 was read (now version 2); re-read and retry",
                child.id
            )
        ),
        other => panic!("expected ABORTED, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_identifiers_and_date_order_name_every_field() {
    let ctx = crate::common::ctx();
    let mut child = child_msg(None, "C5002");
    child.nhs_number = "943 476 5918".into();
    child.upn = "B950000178301".into();
    child.birth_date = pd(2019, 3, 10);
    child.death_date = pd(2018, 1, 1);
    let req = pb::CreateChildRequest {
        request_id: "not-a-uuid".into(),
        child: Some(child),
    };
    let got = violations(ChildDetails::parse_request(&req, ctx.today).unwrap_err());
    assert_eq!(
        got,
        [
            (
                "request_id".to_owned(),
                "must be a UUID in 8-4-4-4-12 hex form".to_owned()
            ),
            (
                "child.upn".to_owned(),
                "UPN: check letter is B, expected A".to_owned()
            ),
            (
                "child.nhs_number".to_owned(),
                "NHS number: check digit is 8, expected 9".to_owned()
            ),
            (
                "child.death_date".to_owned(),
                "must be on or after birth_date".to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn journey_dates_must_be_in_order() {
    let h = Harness::new().await;
    let child = register(&h, None, "C5003", "Jamie").await;
    // Referral before birth.
    let ctx = crate::common::ctx();
    let early = NewCinEpisode::parse(
        &pb::OpenCinEpisodeRequest {
            request_id: rid(),
            child_id: child.id.clone(),
            referral_date: pd(2018, 1, 1),
            referral_source_code: "2A".into(),
            primary_need: pb::PrimaryNeed::N1AbuseOrNeglect as i32,
            referral_nfa: false,
        },
        ctx.today,
    )
    .unwrap();
    let err = run!(h, ctx, |conn| store::episodes::open_cin_episode(
        conn, &ctx, &early
    ))
    .unwrap_err();
    assert_eq!(
        violations(err),
        [(
            "referral_date".to_owned(),
            "must not be before the child's birth_date".to_owned()
        )]
    );
    // An s47 enquiry before its strategy discussion.
    open_episode(&h, &child.id, 2025, 6, 2).await;
    let discussion = strategy(&h, &child.case_id, &[&child.id], 2025, 6, 4).await;
    let err = start_s47(&h, &child.id, &discussion.id, 2025, 6, 3)
        .await
        .unwrap_err();
    assert_eq!(
        violations(err),
        [(
            "start_date".to_owned(),
            "must be on or after the strategy discussion date".to_owned()
        )]
    );
    // A second open episode.
    let ctx = crate::common::ctx();
    let again = NewCinEpisode::parse(
        &pb::OpenCinEpisodeRequest {
            request_id: rid(),
            child_id: child.id.clone(),
            referral_date: pd(2025, 7, 1),
            referral_source_code: "2A".into(),
            primary_need: pb::PrimaryNeed::N1AbuseOrNeglect as i32,
            referral_nfa: false,
        },
        ctx.today,
    )
    .unwrap();
    let err = run!(h, ctx, |conn| store::episodes::open_cin_episode(
        conn, &ctx, &again
    ))
    .unwrap_err();
    assert_eq!(
        precondition(err),
        "the child already has an open CIN episode"
    );
}

#[tokio::test]
async fn illegal_plan_transitions_are_refused_by_the_rules() {
    let h = Harness::new().await;
    let (child, plan) = child_on_plan(&h, "C5004").await;

    // Another plan while one is open.
    let again = conference(ConferenceKind::Initial, 2025, 7, 1, &[&child.id]);
    let err = record(&h, &again, &split_icpc(&again, &child.id))
        .await
        .unwrap_err();
    assert_eq!(
        precondition(err),
        "cannot apply Start to a plan in state Active: whether there is a plan has already been decided"
    );

    // "No longer at risk" through EndPlan, even naming a conference: only
    // the review's recorded outcome ends a plan for that reason.
    let ctx = crate::common::ctx();
    let risk_end = pb::EndPlanRequest {
        plan_id: plan.id.clone(),
        version: plan.version,
        end_date: pd(2025, 8, 1),
        end_reason: pb::PlanEndReason::NoLongerAtRisk as i32,
        conference_id: Uuid::new_v4().to_string(),
        ..Default::default()
    };
    let err = PlanEnding::parse(&risk_end, ctx.today).unwrap_err();
    assert_eq!(fields(err), ["end_reason"]);
    // The store refuses it too, however the ending was made.
    let manager_end = PlanEnding {
        id: uuid(&plan.id),
        version: plan.version,
        end_date: date(2025, 8, 1),
        reason: cpc_cases::codes::PlanEndReason::NoLongerAtRisk,
        reason_detail: None,
        conference_id: Some(Uuid::new_v4()),
        agencies_consulted: Vec::new(),
        transfer_in_conference_date: None,
    };
    let err = run!(h, ctx, |conn| store::plans::end_plan(
        conn,
        &ctx,
        &manager_end
    ))
    .unwrap_err();
    assert_eq!(
        violations(err),
        [(
            "end_reason".to_owned(),
            cpc_cases::domain::plan::RISK_ENDS_BY_OUTCOME.to_owned()
        )]
    );

    // Transferred out without the transfer being notified.
    let transfer_end = PlanEnding::parse(
        &pb::EndPlanRequest {
            plan_id: plan.id.clone(),
            version: plan.version,
            end_date: pd(2025, 8, 1),
            end_reason: pb::PlanEndReason::TransferredOut as i32,
            transfer_in_conference_date: pd(2025, 8, 1),
            ..Default::default()
        },
        ctx.today,
    )
    .unwrap();
    let err = run!(h, ctx, |conn| store::plans::end_plan(
        conn,
        &ctx,
        &transfer_end
    ))
    .unwrap_err();
    assert_eq!(
        precondition(err),
        "a plan ends by transfer only after TransferPlanOut (status TRANSFER_OUT_PENDING)"
    );

    // End it properly, then try to end and review it again.
    let end = PlanEnding::parse(
        &pb::EndPlanRequest {
            plan_id: plan.id.clone(),
            version: plan.version,
            end_date: pd(2025, 8, 1),
            end_reason: pb::PlanEndReason::BecameLookedAfter as i32,
            agencies_consulted: vec![police()],
            ..Default::default()
        },
        ctx.today,
    )
    .unwrap();
    let ended = run!(h, ctx, |conn| store::plans::end_plan(conn, &ctx, &end)).unwrap();
    let version = ended.response.plan.unwrap().version;
    let twice = PlanEnding::parse(
        &pb::EndPlanRequest {
            plan_id: plan.id.clone(),
            version,
            end_date: pd(2025, 8, 2),
            end_reason: pb::PlanEndReason::Turned18 as i32,
            agencies_consulted: vec![police()],
            ..Default::default()
        },
        ctx.today,
    )
    .unwrap();
    let err = run!(h, ctx, |conn| store::plans::end_plan(conn, &ctx, &twice)).unwrap_err();
    assert_eq!(
        precondition(err),
        "cannot apply End { reason: TurnedEighteen, by: Manager } to a plan in state Ended(BecameLookedAfter): \
         the plan is not active"
    );
    let review = conference(ConferenceKind::Review, 2025, 9, 16, &[&child.id]);
    let err = record(
        &h,
        &review,
        &unanimous_review(&review, &child.id, true, common::CategoryOfHarm::Neglect),
    )
    .await
    .unwrap_err();
    assert_eq!(
        precondition(err),
        "cannot apply ReviewContinue to a plan in state Proposed: the plan is not active"
    );
}

#[tokio::test]
async fn a_split_decision_needs_the_chair_and_a_majority_binds_the_chair() {
    let h = Harness::new().await;
    let child = register(&h, None, "C5005", "Jamie").await;
    prepare_icpc(&h, &child).await;
    let conf = conference(ConferenceKind::Initial, 2025, 6, 24, &[&child.id]);
    let timescales = ctx().timescales;

    // Split, but nobody says the chair decided.
    let mut req = split_icpc(&conf, &child.id);
    req.outcome.as_mut().unwrap().decided_by_chair = false;
    let err = NewConferenceOutcome::parse(&req, &conf, &timescales).unwrap_err();
    assert_eq!(
        violations(err),
        [(
            "outcome.decided_by_chair".to_owned(),
            "the professional views are split: the chair must decide, with chair_rationale"
                .to_owned()
        )]
    );

    // A strict majority for a plan; the chair may not decide "no plan".
    let mut req = split_icpc(&conf, &child.id);
    let o = req.outcome.as_mut().unwrap();
    o.professional_views[2] = view(health(), 4, true, common::CategoryOfHarm::Neglect);
    o.decision = pb::ConferenceDecision::NoPlan as i32;
    o.outline_actions.clear();
    o.next_review_date = None;
    o.first_core_group_date = None;
    let err = NewConferenceOutcome::parse(&req, &conf, &timescales).unwrap_err();
    assert_eq!(fields(err), ["outcome.decision"],);

    // The chair decided but gave no rationale.
    let mut req = split_icpc(&conf, &child.id);
    req.outcome.as_mut().unwrap().chair_rationale = "  ".into();
    let err = NewConferenceOutcome::parse(&req, &conf, &timescales).unwrap_err();
    assert_eq!(
        violations(err),
        [(
            "outcome.chair_rationale".to_owned(),
            "is required when the chair decided".to_owned()
        )]
    );

    // The professionals for a plan disagree on the category; the chair
    // decides the primary one, not "multiple".
    let mut req = split_icpc(&conf, &child.id);
    let o = req.outcome.as_mut().unwrap();
    o.professional_views[1] = view(police(), 4, true, common::CategoryOfHarm::Emotional);
    o.category_decided_by_chair = true;
    o.category_rationale = "Both neglect and emotional harm".into();
    o.initial_category = common::CategoryOfHarm::Multiple as i32;
    o.latest_category = common::CategoryOfHarm::Multiple as i32;
    let err = NewConferenceOutcome::parse(&req, &conf, &timescales).unwrap_err();
    assert_eq!(
        violations(err),
        [(
            "outcome.latest_category".to_owned(),
            "the chair decides the primary category: SAB, PHY, EMO or NEG, not MUL".to_owned()
        )]
    );
    let o = req.outcome.as_mut().unwrap();
    o.initial_category = common::CategoryOfHarm::Emotional as i32;
    o.latest_category = common::CategoryOfHarm::Emotional as i32;
    NewConferenceOutcome::parse(&req, &conf, &timescales).unwrap();

    // Nothing was written by the refused attempts.
    assert!(
        !h.event_types()
            .await
            .contains(&"ConferenceOutcomeRecorded".to_owned())
    );
}

#[tokio::test]
async fn a_second_outcome_for_the_child_at_a_conference_already_exists() {
    let h = Harness::new().await;
    let (child, _) = child_on_plan(&h, "C5006").await;
    let ctx = crate::common::ctx();
    let conference_id: Uuid =
        sqlx::query_scalar("SELECT conference_id FROM conference_outcomes LIMIT 1")
            .fetch_one(&h.admin)
            .await
            .unwrap();
    let mut conf = conference(ConferenceKind::Initial, 2025, 6, 24, &[&child.id]);
    conf.id = conference_id;
    let req = split_icpc(&conf, &child.id);
    let new = NewConferenceOutcome::parse(&req, &conf, &ctx.timescales).unwrap();
    let err = run!(h, ctx, |conn| store::outcomes::record_conference_outcome(
        conn, &ctx, &new
    ))
    .unwrap_err();
    assert!(
        matches!(&err, ApiError::AlreadyExists { resource: "conference outcome", id } if id == "for this child at this conference"),
        "{err:?}"
    );
}

#[tokio::test]
async fn duplicate_la_child_ids_and_overlapping_memberships_already_exist() {
    let h = Harness::new().await;
    let child = register(&h, None, "C5007", "Jamie").await;
    let ctx = crate::common::ctx();
    let req = pb::CreateChildRequest {
        request_id: rid(),
        child: Some(child_msg(None, "C5007")),
    };
    let (key, details) = ChildDetails::parse_request(&req, ctx.today).unwrap();
    let err = run!(h, ctx, |conn| store::children::create_child(
        conn, &ctx, &key, &details
    ))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "child with this la_child_id already exists"
    );

    let grant = |start: (i32, i32, i32)| pb::AddCaseMemberRequest {
        request_id: rid(),
        membership: Some(pb::CaseMembership {
            case_id: child.case_id.clone(),
            person: Some(school()),
            case_role: pb::CaseRole::AgencyPractitioner as i32,
            child_ids: vec![child.id.clone()],
            start_date: pd(start.0, start.1, start.2),
            ..Default::default()
        }),
    };
    let first = NewCaseMember::parse(&grant((2025, 11, 25))).unwrap();
    run!(h, ctx, |conn| store::membership::add_case_member(
        conn, &ctx, &first
    ))
    .unwrap();
    let overlapping = NewCaseMember::parse(&grant((2025, 11, 26))).unwrap();
    let err = run!(h, ctx, |conn| store::membership::add_case_member(
        conn,
        &ctx,
        &overlapping
    ))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "case membership for this person and role in an overlapping period already exists"
    );
    // A child outside the case cannot be covered.
    let other = register(&h, None, "C5008", "Alex").await;
    let mut outside = grant((2025, 11, 25));
    let m = outside.membership.as_mut().unwrap();
    m.child_ids = vec![other.id.clone()];
    m.case_role = pb::CaseRole::AgencyPractitioner as i32;
    m.person = Some(health());
    let outside = NewCaseMember::parse(&outside).unwrap();
    let err = run!(h, ctx, |conn| store::membership::add_case_member(
        conn, &ctx, &outside
    ))
    .unwrap_err();
    assert_eq!(
        violations(err),
        [(
            "membership.child_ids[0]".to_owned(),
            "is not a child of the case".to_owned()
        )]
    );
}

#[tokio::test]
async fn final_action_statuses_are_final() {
    let h = Harness::new().await;
    let child = register(&h, None, "C5009", "Jamie").await;
    prepare_icpc(&h, &child).await;
    let conf = conference(ConferenceKind::Initial, 2025, 6, 24, &[&child.id]);
    let written = record(&h, &conf, &split_icpc(&conf, &child.id))
        .await
        .unwrap();
    let action = written.response.actions[1].clone();
    assert!(
        action.overdue,
        "due 2025-07-15, still not started on 2025-11-25"
    );
    let ctx = crate::common::ctx();
    let change = |version: i64, status: pb::PlanActionStatus, reason: &str| {
        cpc_cases::domain::action::ActionStatusChange::parse(
            &pb::UpdatePlanActionStatusRequest {
                action_id: action.id.clone(),
                version,
                status: status as i32,
                reason: reason.into(),
                completion_date: None,
            },
            today(),
        )
    };
    let err = change(1, pb::PlanActionStatus::Withdrawn, "").unwrap_err();
    assert_eq!(
        violations(err),
        [(
            "reason".to_owned(),
            "is required for NOT_ACHIEVED and WITHDRAWN".to_owned()
        )]
    );
    let withdraw = change(
        1,
        pb::PlanActionStatus::Withdrawn,
        "Replaced by a new action",
    )
    .unwrap();
    let withdrawn = run!(h, ctx, |conn| store::actions::update_plan_action_status(
        conn, &ctx, &withdraw
    ))
    .unwrap();
    let withdrawn = withdrawn.response.action.unwrap();
    assert!(!withdrawn.overdue);
    let restart = change(withdrawn.version, pb::PlanActionStatus::InProgress, "").unwrap();
    let err = run!(h, ctx, |conn| store::actions::update_plan_action_status(
        conn, &ctx, &restart
    ))
    .unwrap_err();
    assert_eq!(
        precondition(err),
        "the action is PLAN_ACTION_STATUS_WITHDRAWN; COMPLETED and WITHDRAWN are final"
    );
}
