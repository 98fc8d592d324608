//! How a plan ends and what it keeps until then, over gRPC: it ends for
//! risk only by recording its review's outcome, in the order the reviews
//! were held, and by a manager only after consulting the agencies or
//! naming the review that decided it, and for turning 18 or a death only
//! as the child's record shows; its contingency plan stays.

use chrono::{Datelike as _, Months, NaiveDate};
use cpc_cases::codes::ConferenceKind;
use cpc_proto::cases::v1 as pb;
use cpc_proto::common::v1 as common;
use prost_types::FieldMask;
use tonic::Code;
use uuid::Uuid;

use crate::journey::{icpc_outcome, register, review_outcome, up_to_icpc};
use crate::support::*;

#[tokio::test]
async fn a_plan_ends_by_its_own_reviews_or_after_consulting_the_agencies() {
    let mut f = Fixture::start().await;
    let child = register(&mut f, "C7001").await;
    up_to_icpc(&mut f, &child).await;
    let chair = f.chair();
    let manager = f.team_manager();

    // Plan A: started at the ICPC, ended at review C (no longer at risk).
    let icpc = held_conference(ConferenceKind::Initial, date(2025, 6, 24), &[&child.id]);
    f.held(&icpc, AUTHORITY).await;
    f.client
        .record_conference_outcome(chair.req(icpc_outcome(&icpc.id.to_string(), &child.id)))
        .await
        .unwrap();
    let review_c = held_conference(ConferenceKind::Review, date(2025, 9, 16), &[&child.id]);
    f.held(&review_c, AUTHORITY).await;
    let plan_a = f
        .client
        .record_conference_outcome(chair.req(review_outcome(
            &review_c.id.to_string(),
            &child.id,
            false,
        )))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!(plan_a.status, pb::PlanStatus::Ended as i32);

    // Plan B: a new ICPC after fresh concerns.
    let icpc_b = held_conference(ConferenceKind::Initial, date(2025, 10, 7), &[&child.id]);
    f.held(&icpc_b, AUTHORITY).await;
    let mut req = icpc_outcome(&icpc_b.id.to_string(), &child.id);
    let outcome = req.outcome.as_mut().unwrap();
    outcome.next_review_date = pd(2025, 12, 16);
    outcome.first_core_group_date = None;
    for action in &mut outcome.outline_actions {
        action.due_date = pd(2025, 11, 1);
    }
    let plan_b = f
        .client
        .record_conference_outcome(chair.req(req))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    let end_b = |adjust: &dyn Fn(&mut pb::EndPlanRequest)| {
        let mut req = pb::EndPlanRequest {
            plan_id: plan_b.id.clone(),
            version: plan_b.version,
            end_date: Some(today()),
            ..Default::default()
        };
        adjust(&mut req);
        manager.req(req)
    };

    // Quoting review C, which ended plan A, does not end plan B for risk:
    // only recording a review's outcome does.
    let err = f
        .client
        .end_plan(end_b(&|req| {
            req.end_reason = pb::PlanEndReason::NoLongerAtRisk as i32;
            req.conference_id = review_c.id.to_string();
        }))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["end_reason"]);

    // Nor does it stand in for consulting the agencies: it is not a review
    // held during plan B, and not on the ending's date.
    let err = f
        .client
        .end_plan(end_b(&|req| {
            req.end_reason = pb::PlanEndReason::Turned18 as i32;
            req.conference_id = review_c.id.to_string();
        }))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["conference_id", "end_date"]);
    // Nor does a conference no one reports held.
    let err = f
        .client
        .end_plan(end_b(&|req| {
            req.end_reason = pb::PlanEndReason::LeftUk as i32;
            req.conference_id = Uuid::new_v4().to_string();
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().starts_with("conference_id: "), "{err:?}");

    // Reviews are recorded in the order they were held.
    let later = held_conference(ConferenceKind::Review, date(2025, 12, 16), &[&child.id]);
    let earlier = held_conference(ConferenceKind::Review, date(2025, 11, 25), &[&child.id]);
    f.held(&later, AUTHORITY).await;
    f.held(&earlier, AUTHORITY).await;
    let reviewed = f
        .client
        .record_conference_outcome(chair.req(review_outcome(
            &later.id.to_string(),
            &child.id,
            true,
        )))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    let err = f
        .client
        .record_conference_outcome(chair.req(review_outcome(
            &earlier.id.to_string(),
            &child.id,
            false,
        )))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains("2025-12-16"), "{err:?}");

    // A manager ends it after consulting the agencies.
    let ended = f
        .client
        .end_plan(manager.req(pb::EndPlanRequest {
            plan_id: plan_b.id.clone(),
            version: reviewed.version,
            end_date: Some(today()),
            end_reason: pb::PlanEndReason::LeftUk as i32,
            agencies_consulted: vec![police_ref(), health_ref()],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!(ended.status, pb::PlanStatus::Ended as i32);
    assert_eq!(ended.review_dates, vec![pd(2025, 12, 16).unwrap()]);
    assert!(ended.end_conference_id.is_empty());
    f.stop().await;
}

#[tokio::test]
async fn a_plans_contingency_plan_is_rewritten_never_removed() {
    let mut f = Fixture::start().await;
    let child = register(&mut f, "C7002").await;
    up_to_icpc(&mut f, &child).await;
    let chair = f.chair();
    let manager = f.team_manager();
    let icpc = held_conference(ConferenceKind::Initial, date(2025, 6, 24), &[&child.id]);
    f.held(&icpc, AUTHORITY).await;
    let plan = f
        .client
        .record_conference_outcome(chair.req(icpc_outcome(&icpc.id.to_string(), &child.id)))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    let update = |contingency_plan: &str| {
        let mut plan = plan.clone();
        plan.contingency_plan = contingency_plan.into();
        manager.req(pb::UpdatePlanRequest {
            plan: Some(plan),
            update_mask: Some(FieldMask {
                paths: vec!["contingency_plan".into()],
            }),
        })
    };
    // Every outcome that keeps a plan agrees one, so clearing it is refused.
    for empty in ["", "  "] {
        let err = f.client.update_plan(update(empty)).await.unwrap_err();
        assert_eq!(bad_fields(&err), ["plan.contingency_plan"]);
    }
    let updated = f
        .client
        .update_plan(update(
            "Legal planning meeting at once if a bottom line is crossed",
        ))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!(
        updated.contingency_plan,
        "Legal planning meeting at once if a bottom line is crossed"
    );
    f.stop().await;
}

fn proto(on: NaiveDate) -> Option<common::Date> {
    pd(
        on.year(),
        i32::try_from(on.month()).unwrap(),
        i32::try_from(on.day()).unwrap(),
    )
}

#[tokio::test]
async fn a_plan_ends_for_turning_18_or_a_death_only_as_the_childs_record_shows() {
    let mut f = Fixture::start().await;
    let sw = f.social_worker();
    let chair = f.chair();
    let manager = f.team_manager();
    // 18 on the first of last month (whatever today is: the end date may
    // not be in the future), so 16 or 17 at the ICPC of 24 June 2025.
    let t = today();
    let this_month = date(t.year, u32::try_from(t.month).unwrap(), 1);
    let eighteenth = this_month.checked_sub_months(Months::new(1)).unwrap();
    let birth = eighteenth.checked_sub_months(Months::new(12 * 18)).unwrap();
    let eve = eighteenth.pred_opt().unwrap();
    let child = f
        .client
        .create_child(sw.req(pb::CreateChildRequest {
            request_id: rid(),
            child: Some(pb::Child {
                birth_date: proto(birth),
                ..child("", "C7003", "Jamie")
            }),
        }))
        .await
        .unwrap()
        .into_inner()
        .child
        .unwrap();
    up_to_icpc(&mut f, &child).await;
    let icpc = held_conference(ConferenceKind::Initial, date(2025, 6, 24), &[&child.id]);
    f.held(&icpc, AUTHORITY).await;
    let plan = f
        .client
        .record_conference_outcome(chair.req(icpc_outcome(&icpc.id.to_string(), &child.id)))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    let end = |reason: pb::PlanEndReason, on: Option<common::Date>| {
        manager.req(pb::EndPlanRequest {
            plan_id: plan.id.clone(),
            version: plan.version,
            end_date: on,
            end_reason: reason as i32,
            agencies_consulted: vec![police_ref(), health_ref()],
            ..Default::default()
        })
    };

    // The day before the 18th birthday.
    let err = f
        .client
        .end_plan(end(pb::PlanEndReason::Turned18, proto(eve)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert_eq!(
        err.message(),
        "PLAN_END_REASON_TURNED_18: the child's record shows them under 18 on end_date; the plan \
         ends for this reason on their 18th birthday"
    );
    // A death is recorded on the child, which ends the plan.
    let err = f
        .client
        .end_plan(end(pb::PlanEndReason::Died, proto(eve)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert_eq!(
        err.message(),
        "PLAN_END_REASON_DIED: record the child's death (UpdateChild, death_date), which ends the \
         open plan with reason DIED"
    );

    // On the birthday.
    let ended = f
        .client
        .end_plan(end(pb::PlanEndReason::Turned18, proto(eighteenth)))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!(ended.status, pb::PlanStatus::Ended as i32);
    assert_eq!(ended.end_reason, pb::PlanEndReason::Turned18 as i32);
    assert_eq!(ended.end_date, proto(eighteenth));
    f.stop().await;
}
