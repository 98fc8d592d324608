//! Updates and corrections: masks, re-validation of the whole record,
//! changed fields on the feed.

use cpc_cases::domain::action::ActionUpdate;
use cpc_cases::domain::child::CaseUpdate;
use cpc_cases::domain::outcome::{OutcomeCorrection, OutcomeFilter};
use cpc_cases::domain::plan::PlanUpdate;
use cpc_cases::store;
use cpc_platform::ApiError;
use cpc_proto::cases::v1 as pb;
use cpc_proto::common::v1 as common;
use prost::Message as _;

use crate::common::*;
use crate::run;
use crate::steps::*;

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

#[tokio::test]
async fn an_outcome_correction_must_still_resolve_to_the_recorded_decision() {
    let h = Harness::new().await;
    let (child, _) = child_on_plan(&h, "C9001").await;
    let ctx = crate::common::ctx();
    let filter = OutcomeFilter::parse(&pb::ListConferenceOutcomesRequest {
        child_id: child.id.clone(),
        ..Default::default()
    })
    .unwrap();
    let listed = run!(h, ctx, |conn| store::outcomes::list_conference_outcomes(
        conn, &filter
    ))
    .unwrap();
    let outcome = listed.outcomes[0].clone();

    // The decision is not correctable.
    let err = OutcomeCorrection::parse(&pb::UpdateConferenceOutcomeRequest {
        outcome: Some(outcome.clone()),
        update_mask: mask(&["decision"]),
    })
    .unwrap_err();
    assert_eq!(fields(err), ["update_mask.paths[0]"]);

    // Views corrected to a majority: the chair no longer decided, but that
    // flag is part of the record, so the correction is refused.
    let mut views = outcome.clone();
    views.professional_views[3] = view(school(), 5, true, common::CategoryOfHarm::Neglect);
    let correction = OutcomeCorrection::parse(&pb::UpdateConferenceOutcomeRequest {
        outcome: Some(views),
        update_mask: mask(&["professional_views"]),
    })
    .unwrap();
    let err = run!(h, ctx, |conn| store::outcomes::update_conference_outcome(
        conn,
        &ctx,
        &correction
    ))
    .unwrap_err();
    assert_eq!(fields(err), ["outcome.decided_by_chair"]);

    // A corrected rationale and no exclusions after all.
    let mut fixed = outcome.clone();
    fixed.chair_rationale = "Views split 2-2; neglect sustained over six months".into();
    fixed.exclusions.clear();
    let correction = OutcomeCorrection::parse(&pb::UpdateConferenceOutcomeRequest {
        outcome: Some(fixed),
        update_mask: mask(&["chair_rationale", "exclusions"]),
    })
    .unwrap();
    let written = run!(h, ctx, |conn| store::outcomes::update_conference_outcome(
        conn,
        &ctx,
        &correction
    ))
    .unwrap();
    let corrected = written.response.outcome.unwrap();
    assert_eq!(corrected.version, 2);
    assert!(corrected.exclusions.is_empty());
    assert_eq!(corrected.professional_views, outcome.professional_views);
    assert_eq!(corrected.childs_voice, outcome.childs_voice);
    let event =
        pb::ConferenceOutcomeRecorded::decode(written.events[0].payload.as_slice()).unwrap();
    assert!(event.correction);
}

#[tokio::test]
async fn plan_updates_keep_the_lead_in_the_core_group() {
    let h = Harness::new().await;
    let (_, plan) = child_on_plan(&h, "C9002").await;
    let ctx = crate::common::ctx();
    let new_lead = person(
        0x5009,
        "Nia New",
        common::AgencyKind::ChildrensSocialCare,
        "County Children's Services",
    );
    let mut changed = plan.clone();
    changed.lead_social_worker = Some(new_lead.clone());
    changed.safety_goals = vec!["School attendance above 95%".into()];
    let update = PlanUpdate::parse(&pb::UpdatePlanRequest {
        plan: Some(changed.clone()),
        update_mask: mask(&["lead_social_worker", "safety_goals"]),
    })
    .unwrap();
    let err = run!(h, ctx, |conn| store::plans::update_plan(
        conn, &ctx, &update
    ))
    .unwrap_err();
    assert_eq!(
        violations(err),
        [(
            "plan.core_group_members".to_owned(),
            "must include the lead social worker".to_owned()
        )]
    );
    changed.core_group_members.push(new_lead);
    let update = PlanUpdate::parse(&pb::UpdatePlanRequest {
        plan: Some(changed.clone()),
        update_mask: mask(&["lead_social_worker", "safety_goals", "core_group_members"]),
    })
    .unwrap();
    let written = run!(h, ctx, |conn| store::plans::update_plan(
        conn, &ctx, &update
    ))
    .unwrap();
    let updated = written.response.plan.unwrap();
    assert_eq!(updated.safety_goals, ["School attendance above 95%"]);
    assert_eq!(updated.core_group_members.len(), 4);
    assert_eq!(
        updated.danger_statements, plan.danger_statements,
        "unmasked fields stay"
    );
    let event = pb::PlanUpdated::decode(written.events[0].payload.as_slice()).unwrap();
    assert_eq!(
        event.changed_fields,
        ["lead_social_worker", "safety_goals", "core_group_members"]
    );

    // The same update again, from the old version.
    let err = run!(h, ctx, |conn| store::plans::update_plan(
        conn, &ctx, &update
    ))
    .unwrap_err();
    assert!(matches!(err, ApiError::Aborted(_)), "{err:?}");
}

#[tokio::test]
async fn action_and_case_updates_report_what_changed() {
    let h = Harness::new().await;
    let (child, plan) = child_on_plan(&h, "C9003").await;
    let ctx = crate::common::ctx();
    let filter = cpc_cases::domain::action::ActionFilter::parse(&pb::ListPlanActionsRequest {
        plan_id: plan.id.clone(),
        ..Default::default()
    })
    .unwrap();
    let action = run!(h, ctx, |conn| store::actions::list_plan_actions(
        conn, &filter, ctx.today
    ))
    .unwrap()
    .actions[0]
        .clone();
    let mut early = action.clone();
    early.due_date = pd(2025, 6, 1);
    let update = ActionUpdate::parse(&pb::UpdatePlanActionRequest {
        action: Some(early),
        update_mask: mask(&["due_date"]),
    })
    .unwrap();
    let err = run!(h, ctx, |conn| store::actions::update_plan_action(
        conn, &ctx, &update
    ))
    .unwrap_err();
    assert_eq!(
        violations(err),
        [(
            "action.due_date".to_owned(),
            "must be on or after the plan's start date".to_owned()
        )]
    );
    let mut reworded = action.clone();
    reworded.description = "Health check for both children, with the GP".into();
    let update = ActionUpdate::parse(&pb::UpdatePlanActionRequest {
        action: Some(reworded),
        update_mask: mask(&["description", "due_date"]),
    })
    .unwrap();
    let written = run!(h, ctx, |conn| store::actions::update_plan_action(
        conn, &ctx, &update
    ))
    .unwrap();
    let event = pb::PlanActionUpdated::decode(written.events[0].payload.as_slice()).unwrap();
    assert_eq!(event.changed_fields, ["description"]);

    let case_id = uuid(&child.case_id);
    let case = run!(h, ctx, |conn| store::cases::get_case(conn, &ctx, case_id)).unwrap();
    assert_eq!(case.status, pb::CaseStatus::Open as i32);
    assert_eq!(case.lead_social_worker, Some(social_worker()));
    let mut renamed = case.clone();
    renamed.display_name = "Smith and Jones family".into();
    let update = CaseUpdate::parse(&pb::UpdateCaseRequest {
        r#case: Some(renamed),
        update_mask: mask(&["display_name"]),
    })
    .unwrap();
    let written = run!(h, ctx, |conn| store::cases::update_case(
        conn, &ctx, &update
    ))
    .unwrap();
    assert_eq!(
        written.response.r#case.unwrap().display_name,
        "Smith and Jones family"
    );
    assert_eq!(written.events[0].event_type, "cpc.cases.v1.CaseUpdated");
}

#[tokio::test]
async fn a_child_moves_between_cases_unless_relationships_tie_it() {
    let h = Harness::new().await;
    let child = register(&h, None, "C9004", "Jamie").await;
    let sibling = register(&h, Some(&child.case_id), "C9005", "Robin").await;
    let elsewhere = register(&h, None, "C9006", "Alex").await;
    let ctx = crate::common::ctx();
    let mover = |c: &pb::Child, version: i64| {
        cpc_cases::domain::child::ChildUpdate::parse(&pb::UpdateChildRequest {
            child: Some(pb::Child {
                id: c.id.clone(),
                version,
                case_id: elsewhere.case_id.clone(),
                ..Default::default()
            }),
            update_mask: mask(&["case_id"]),
        })
        .unwrap()
    };
    let moved = run!(h, ctx, |conn| store::children::update_child(
        conn,
        &ctx,
        &mover(&sibling, 1)
    ))
    .unwrap();
    let types: Vec<&str> = moved.events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "cpc.cases.v1.ChildUpdated",
            "cpc.cases.v1.CaseUpdated",
            "cpc.cases.v1.CaseUpdated"
        ]
    );
    let target = pb::CaseUpdated::decode(moved.events[2].payload.as_slice()).unwrap();
    // In order of registration.
    assert_eq!(
        target.r#case.unwrap().child_ids,
        [sibling.id.clone(), elsewhere.id.clone()]
    );

    // A parent's relationship to the child belongs to the old case.
    let mother = cpc_cases::domain::family::NewFamilyMember::parse(
        &pb::AddFamilyMemberRequest {
            request_id: rid(),
            family_member: Some(pb::FamilyMember {
                case_id: child.case_id.clone(),
                given_names: "Jo".into(),
                family_name: "Smith".into(),
                relationships: vec![pb::ChildRelationship {
                    child_id: child.id.clone(),
                    relationship: pb::Relationship::Mother as i32,
                    parental_responsibility: true,
                    ..Default::default()
                }],
                ..Default::default()
            }),
        },
        ctx.today,
    )
    .unwrap();
    run!(h, ctx, |conn| store::family::add_family_member(
        conn, &ctx, &mother
    ))
    .unwrap();
    let err = run!(h, ctx, |conn| store::children::update_child(
        conn,
        &ctx,
        &mover(&child, 1)
    ))
    .unwrap_err();
    match err {
        ApiError::FailedPrecondition(msg) => assert_eq!(
            msg,
            "the child has family relationships or case memberships naming it in its current case; change those first"
        ),
        other => panic!("expected FAILED_PRECONDITION, got {other:?}"),
    }
}
