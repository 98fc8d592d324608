//! What may start, continue and end a plan: who the child is on the
//! conference date and on the end date, the order reviews were held in, the conference an
//! ending names, and an episode closing while a plan or an enquiry is
//! written into it.

use std::time::Duration;

use cpc_cases::codes::ConferenceKind;
use cpc_cases::domain::child::{ChildDetails, ChildUpdate};
use cpc_cases::domain::journey::{CinClosure, NewSection47};
use cpc_cases::domain::outcome::{HeldConference, NewConferenceOutcome};
use cpc_cases::domain::plan::{self, PlanEnding};
use cpc_cases::store::{self, Written};
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

const NEGLECT: common::CategoryOfHarm = common::CategoryOfHarm::Neglect;

/// Scheduling reports `conference` held: cases' own copy of that fact.
async fn held(h: &Harness, conference: &HeldConference) {
    let ctx = crate::common::ctx();
    run!(h, ctx, |conn| store::conferences::record_held_conference(
        conn,
        &ctx.authority,
        conference,
        1,
        ctx.now
    ))
    .expect("held");
}

async fn plan_now(h: &Harness, id: &str) -> pb::ChildProtectionPlan {
    let ctx = crate::common::ctx();
    let id = uuid(id);
    run!(h, ctx, |conn| store::plans::get_plan(conn, id)).expect("plan")
}

/// `EndPlan` of the plan as it now stands.
async fn end(
    h: &Harness,
    plan_id: &str,
    adjust: impl FnOnce(&mut pb::EndPlanRequest),
) -> Result<Written<pb::EndPlanResponse>, ApiError> {
    let plan = plan_now(h, plan_id).await;
    let ctx = crate::common::ctx();
    let mut req = pb::EndPlanRequest {
        plan_id: plan.id,
        version: plan.version,
        end_reason: pb::PlanEndReason::BecameLookedAfter as i32,
        ..Default::default()
    };
    adjust(&mut req);
    let ending = PlanEnding::parse(&req, ctx.today)?;
    run!(h, ctx, |conn| store::plans::end_plan(conn, &ctx, &ending))
}

/// Registers a child born on `birth`.
async fn register_born(h: &Harness, la_child_id: &str, birth: Option<common::Date>) -> pb::Child {
    let ctx = crate::common::ctx();
    let mut msg = child_msg(None, la_child_id);
    msg.birth_date = birth;
    let req = pb::CreateChildRequest {
        request_id: rid(),
        child: Some(msg),
    };
    let (key, child) = ChildDetails::parse_request(&req, ctx.today).expect("valid child");
    run!(h, ctx, |conn| store::children::create_child(
        conn, &ctx, &key, &child
    ))
    .expect("created")
    .response
    .child
    .expect("child")
}

async fn record_death(
    h: &Harness,
    child_id: &str,
    death: Option<common::Date>,
) -> Result<(), ApiError> {
    let ctx = crate::common::ctx();
    let id = uuid(child_id);
    let child = run!(h, ctx, |conn| store::children::get_child(conn, id)).expect("child");
    let update = ChildUpdate::parse(&pb::UpdateChildRequest {
        child: Some(pb::Child {
            id: child.id,
            version: child.version,
            death_date: death,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["death_date".into()],
        }),
    })?;
    run!(h, ctx, |conn| store::children::update_child(
        conn, &ctx, &update
    ))
    .map(drop)
}

#[tokio::test]
async fn no_plan_starts_or_continues_for_a_child_who_has_died_or_turned_18() {
    let h = Harness::new().await;
    let died =
        "the child died on or before the conference date: a plan cannot be started or continued";
    let adult =
        "the child is 18 or over on the conference date: a plan cannot be started or continued";

    // 18 the week before the ICPC.
    let child = register_born(&h, "C6101", pd(2007, 6, 17)).await;
    prepare_icpc(&h, &child).await;
    let icpc = conference(ConferenceKind::Initial, 2025, 6, 24, &[&child.id]);
    let err = record(&h, &icpc, &split_icpc(&icpc, &child.id))
        .await
        .unwrap_err();
    assert_eq!(precondition(err), adult);
    // Deciding against a plan is still recorded.
    let mut no_plan = split_icpc(&icpc, &child.id);
    let outcome = no_plan.outcome.as_mut().unwrap();
    outcome.professional_views = vec![
        view(social_worker(), 7, false, NEGLECT),
        view(police(), 8, false, NEGLECT),
        view(health(), 8, false, NEGLECT),
    ];
    outcome.decision = pb::ConferenceDecision::NoPlan as i32;
    outcome.decided_by_chair = false;
    outcome.chair_rationale = String::new();
    outcome.initial_category = 0;
    outcome.latest_category = 0;
    outcome.lead_social_worker = None;
    outcome.lead_statutory_body = 0;
    outcome.core_group_members = vec![];
    outcome.contingency_plan = String::new();
    outcome.danger_statements = vec![];
    outcome.safety_goals = vec![];
    outcome.bottom_lines = vec![];
    outcome.outline_actions = vec![];
    outcome.next_review_date = None;
    outcome.first_core_group_date = None;
    let recorded = record(&h, &icpc, &no_plan).await.unwrap();
    assert_eq!(recorded.response.plan, None);

    // Died the day before the ICPC, recorded before its outcome.
    let child = register(&h, None, "C6102", "Jamie").await;
    prepare_icpc(&h, &child).await;
    record_death(&h, &child.id, pd(2025, 6, 23)).await.unwrap();
    let icpc = conference(ConferenceKind::Initial, 2025, 6, 24, &[&child.id]);
    let err = record(&h, &icpc, &split_icpc(&icpc, &child.id))
        .await
        .unwrap_err();
    assert_eq!(precondition(err), died);

    // Turns 18 during the plan: the review may end it, not continue it.
    let child = register_born(&h, "C6103", pd(2007, 8, 1)).await;
    prepare_icpc(&h, &child).await;
    let icpc = conference(ConferenceKind::Initial, 2025, 6, 24, &[&child.id]);
    record(&h, &icpc, &split_icpc(&icpc, &child.id))
        .await
        .expect("17 at the ICPC");
    let review = conference(ConferenceKind::Review, 2025, 9, 16, &[&child.id]);
    let err = record(
        &h,
        &review,
        &unanimous_review(&review, &child.id, true, NEGLECT),
    )
    .await
    .unwrap_err();
    assert_eq!(precondition(err), adult);
    let ended = record(
        &h,
        &review,
        &unanimous_review(&review, &child.id, false, NEGLECT),
    )
    .await
    .unwrap();
    assert_eq!(
        ended.response.plan.unwrap().status,
        pb::PlanStatus::Ended as i32
    );
}

#[tokio::test]
async fn reviews_are_recorded_in_the_order_they_were_held() {
    let h = Harness::new().await;
    let (child, plan) = child_on_plan(&h, "C6201").await;
    let later = conference(ConferenceKind::Review, 2025, 9, 16, &[&child.id]);
    record(
        &h,
        &later,
        &unanimous_review(&later, &child.id, true, NEGLECT),
    )
    .await
    .unwrap();
    let reviewed = plan_now(&h, &plan.id).await;
    let refused = "the plan's latest review conference was held on 2025-09-16: nothing dated \
                   before it can change or end the plan";

    // An earlier review recorded late can neither end the plan before the
    // review it lists nor move its next review back.
    let earlier = conference(ConferenceKind::Review, 2025, 8, 1, &[&child.id]);
    for continue_plan in [false, true] {
        let err = record(
            &h,
            &earlier,
            &unanimous_review(&earlier, &child.id, continue_plan, NEGLECT),
        )
        .await
        .unwrap_err();
        assert_eq!(precondition(err), refused);
    }
    assert_eq!(plan_now(&h, &plan.id).await, reviewed);

    // Nor can a manager's ending, or a death, be dated before it.
    let police = police();
    let err = end(&h, &plan.id, |req| {
        req.end_reason = pb::PlanEndReason::LeftUk as i32;
        req.end_date = pd(2025, 9, 1);
        req.agencies_consulted = vec![police.clone()];
    })
    .await
    .unwrap_err();
    assert_eq!(precondition(err), refused);
    let err = record_death(&h, &child.id, pd(2025, 9, 1))
        .await
        .unwrap_err();
    assert_eq!(
        violations(err),
        [(
            "child.death_date".to_owned(),
            "is before the latest review of the child's open plan; correct the plan first"
                .to_owned()
        )]
    );
    assert_eq!(plan_now(&h, &plan.id).await, reviewed);

    // On the review's own day is after it.
    let ended = end(&h, &plan.id, |req| {
        req.end_reason = pb::PlanEndReason::LeftUk as i32;
        req.end_date = pd(2025, 9, 16);
        req.agencies_consulted = vec![police.clone()];
    })
    .await
    .unwrap()
    .response
    .plan
    .unwrap();
    assert_eq!(ended.end_date, pd(2025, 9, 16));
    assert_eq!(ended.review_dates, vec![pd(2025, 9, 16).unwrap()]);
}

#[tokio::test]
async fn a_conference_that_ends_a_plan_is_a_held_review_of_the_child_on_the_end_date() {
    let h = Harness::new().await;
    let (child, plan) = child_on_plan(&h, "C6301").await;
    let other = register(&h, None, "C6302", "Alex").await;

    // Naming a conference stands in for consulting the agencies, so it
    // must be one scheduling reports held...
    let unknown = Uuid::new_v4();
    let err = end(&h, &plan.id, |req| {
        req.end_date = pd(2025, 9, 16);
        req.conference_id = unknown.to_string();
    })
    .await
    .unwrap_err();
    assert_eq!(
        precondition(err),
        format!(
            "conference_id: conference {unknown} is not recorded as held; a manager ending the \
             plan without a conference leaves conference_id empty and names the \
             agencies_consulted"
        )
    );

    // ...a review of this child, during the plan, on the ending's date.
    let elsewhere = conference(ConferenceKind::Initial, 2025, 6, 2, &[&other.id]);
    held(&h, &elsewhere).await;
    let err = end(&h, &plan.id, |req| {
        req.end_date = pd(2025, 9, 16);
        req.conference_id = elsewhere.id.to_string();
    })
    .await
    .unwrap_err();
    assert_eq!(
        violations(err),
        [
            (
                "conference_id".to_owned(),
                "is not a conference about this plan's child".to_owned()
            ),
            (
                "conference_id".to_owned(),
                "is not a review conference".to_owned()
            ),
            (
                "conference_id".to_owned(),
                "was held before the plan started".to_owned()
            ),
            (
                "end_date".to_owned(),
                "must be the date of the conference that ended the plan (conference_id)".to_owned()
            ),
        ]
    );

    // A review whose recorded outcome continued the plan did not end it.
    let review = conference(ConferenceKind::Review, 2025, 9, 16, &[&child.id]);
    held(&h, &review).await;
    record(
        &h,
        &review,
        &unanimous_review(&review, &child.id, true, NEGLECT),
    )
    .await
    .unwrap();
    let err = end(&h, &plan.id, |req| {
        req.end_date = pd(2025, 9, 16);
        req.conference_id = review.id.to_string();
    })
    .await
    .unwrap_err();
    assert_eq!(
        precondition(err),
        format!(
            "conference_id: conference {} already has an outcome recorded for this child, and \
             that outcome did not end the plan for this reason",
            review.id
        )
    );

    // The next review decided the child's plan ends as they became looked
    // after: no agencies to name, ended on the review's day.
    let last = conference(ConferenceKind::Review, 2025, 11, 18, &[&child.id]);
    held(&h, &last).await;
    let err = end(&h, &plan.id, |req| {
        req.end_date = pd(2025, 11, 20);
        req.conference_id = last.id.to_string();
    })
    .await
    .unwrap_err();
    assert_eq!(fields(err), ["end_date"]);
    let ended = end(&h, &plan.id, |req| {
        req.end_date = pd(2025, 11, 18);
        req.conference_id = last.id.to_string();
    })
    .await
    .unwrap()
    .response
    .plan
    .unwrap();
    assert_eq!(ended.status, pb::PlanStatus::Ended as i32);
    assert_eq!(
        ended.end_reason,
        pb::PlanEndReason::BecameLookedAfter as i32
    );
    assert_eq!(ended.end_conference_id, last.id.to_string());
    assert!(ended.agencies_consulted.is_empty());
}

const TURNED_18_TOO_YOUNG: &str = "PLAN_END_REASON_TURNED_18: the child's record shows them \
     under 18 on end_date; the plan ends for this reason on their 18th birthday";

const TURNED_18_AFTER_BIRTHDAY: &str = "PLAN_END_REASON_TURNED_18: end_date is after the child's \
     18th birthday as their record shows it; the plan ends for this reason on that birthday";

/// A manager's ending for `reason` on `on`, after consulting the police.
fn manager_ending(
    reason: pb::PlanEndReason,
    on: Option<common::Date>,
) -> impl FnOnce(&mut pb::EndPlanRequest) {
    move |req| {
        req.end_reason = reason as i32;
        req.end_date = on;
        req.agencies_consulted = vec![police()];
    }
}

#[tokio::test]
async fn a_plan_ends_for_turning_18_on_the_18th_birthday() {
    let h = Harness::new().await;
    // 18 on 1 August 2025, five weeks after the ICPC.
    let child = register_born(&h, "C6501", pd(2007, 8, 1)).await;
    prepare_icpc(&h, &child).await;
    let icpc = conference(ConferenceKind::Initial, 2025, 6, 24, &[&child.id]);
    let plan = record(&h, &icpc, &split_icpc(&icpc, &child.id))
        .await
        .unwrap()
        .response
        .plan
        .unwrap();

    // The day before the birthday, by a manager or as a review decided.
    let err = end(
        &h,
        &plan.id,
        manager_ending(pb::PlanEndReason::Turned18, pd(2025, 7, 31)),
    )
    .await
    .unwrap_err();
    assert_eq!(precondition(err), TURNED_18_TOO_YOUNG);
    let review = conference(ConferenceKind::Review, 2025, 7, 31, &[&child.id]);
    held(&h, &review).await;
    let err = end(&h, &plan.id, |req| {
        req.end_reason = pb::PlanEndReason::Turned18 as i32;
        req.end_date = pd(2025, 7, 31);
        req.conference_id = review.id.to_string();
    })
    .await
    .unwrap_err();
    assert_eq!(precondition(err), TURNED_18_TOO_YOUNG);
    assert_eq!(
        plan_now(&h, &plan.id).await.status,
        pb::PlanStatus::Active as i32
    );

    // The day after it: the plan ended on the birthday.
    let err = end(
        &h,
        &plan.id,
        manager_ending(pb::PlanEndReason::Turned18, pd(2025, 8, 2)),
    )
    .await
    .unwrap_err();
    assert_eq!(precondition(err), TURNED_18_AFTER_BIRTHDAY);

    // On the birthday.
    let ended = end(
        &h,
        &plan.id,
        manager_ending(pb::PlanEndReason::Turned18, pd(2025, 8, 1)),
    )
    .await
    .unwrap()
    .response
    .plan
    .unwrap();
    assert_eq!(ended.status, pb::PlanStatus::Ended as i32);
    assert_eq!(ended.end_reason, pb::PlanEndReason::Turned18 as i32);
    assert_eq!(ended.end_date, pd(2025, 8, 1));

    // A six-year-old is not 18 on any date an ending may have.
    let (_, young) = child_on_plan(&h, "C6502").await;
    let err = end(
        &h,
        &young.id,
        manager_ending(pb::PlanEndReason::Turned18, pd(2025, 11, 25)),
    )
    .await
    .unwrap_err();
    assert_eq!(precondition(err), TURNED_18_TOO_YOUNG);
}

#[tokio::test]
async fn a_born_childs_death_is_recorded_on_the_child_which_ends_the_plan() {
    let h = Harness::new().await;
    let (child, plan) = child_on_plan(&h, "C6601").await;
    let err = end(
        &h,
        &plan.id,
        manager_ending(pb::PlanEndReason::Died, pd(2025, 10, 1)),
    )
    .await
    .unwrap_err();
    assert_eq!(
        precondition(err),
        "PLAN_END_REASON_DIED: record the child's death (UpdateChild, death_date), which ends \
         the open plan with reason DIED"
    );
    assert_eq!(
        plan_now(&h, &plan.id).await.status,
        pb::PlanStatus::Active as i32
    );
    record_death(&h, &child.id, pd(2025, 10, 1)).await.unwrap();
    let ended = plan_now(&h, &plan.id).await;
    assert_eq!(ended.end_reason, pb::PlanEndReason::Died as i32);
    assert_eq!(ended.end_date, pd(2025, 10, 1));
}

#[tokio::test]
async fn an_unborn_childs_pre_birth_plan_ends_with_died_but_not_turned_18() {
    let h = Harness::new().await;
    let unborn = register_unborn(&h, "C6602", pd(2026, 1, 20)).await;
    prepare_icpc(&h, &unborn).await;
    let pre_birth = conference(ConferenceKind::PreBirth, 2025, 6, 24, &[&unborn.id]);
    let plan = record(&h, &pre_birth, &split_icpc(&pre_birth, &unborn.id))
        .await
        .unwrap()
        .response
        .plan
        .unwrap();
    let err = end(
        &h,
        &plan.id,
        manager_ending(pb::PlanEndReason::Turned18, pd(2025, 8, 1)),
    )
    .await
    .unwrap_err();
    assert_eq!(
        precondition(err),
        "PLAN_END_REASON_TURNED_18: the child's record has no birth date, so it does not show \
         them 18 on end_date"
    );
    // The loss of a pregnancy cannot be recorded on the child...
    let err = record_death(&h, &unborn.id, pd(2025, 8, 1))
        .await
        .unwrap_err();
    assert_eq!(
        violations(err),
        [("child.death_date".to_owned(), "needs birth_date".to_owned())]
    );
    // ...so the plan ends here.
    let ended = end(
        &h,
        &plan.id,
        manager_ending(pb::PlanEndReason::Died, pd(2025, 8, 1)),
    )
    .await
    .unwrap()
    .response
    .plan
    .unwrap();
    assert_eq!(ended.end_reason, pb::PlanEndReason::Died as i32);
}

/// Waits until another connection of the test's database waits for a
/// lock (or `task` has finished, having met none), for at most 10 s.
async fn until_blocked<T>(h: &Harness, task: &tokio::task::JoinHandle<T>) {
    for _ in 0..500 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&h.admin)
        .await
        .unwrap();
        if waiting > 0 || task.is_finished() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Closes `episode` in a transaction left open: the caller commits it.
async fn closing(
    h: &Harness,
    episode: &pb::CinEpisode,
) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let ctx = crate::common::ctx();
    let closure = CinClosure::parse(
        &pb::CloseCinEpisodeRequest {
            cin_episode_id: episode.id.clone(),
            version: episode.version,
            closure_date: pd(2025, 6, 30),
            closure_reason: pb::ClosureReason::Rc7ServicesCeased as i32,
        },
        ctx.today,
    )
    .unwrap();
    let mut tx = store::begin(&h.pool, &ctx.authority).await.unwrap();
    store::episodes::close_cin_episode(&mut tx, &ctx, &closure)
        .await
        .unwrap();
    tx
}

/// Runs `new` in a transaction of its own on another task, committing it
/// if it succeeds.
fn record_meanwhile(
    h: &Harness,
    new: NewConferenceOutcome,
) -> tokio::task::JoinHandle<Result<(), ApiError>> {
    let pool = h.pool.clone();
    tokio::spawn(async move {
        let ctx = crate::common::ctx();
        let mut tx = store::begin(&pool, &ctx.authority).await?;
        store::outcomes::record_conference_outcome(&mut tx, &ctx, &new).await?;
        tx.commit().await.map_err(ApiError::from)
    })
}

async fn plans_in(h: &Harness, episode_id: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM plans WHERE cin_episode_id = $1")
        .bind(uuid(episode_id))
        .fetch_one(&h.admin)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_episode_does_not_close_under_a_plan_or_enquiry_being_started() {
    let h = Harness::new().await;
    let ctx = crate::common::ctx();

    // The episode closes while the ICPC's outcome would start a plan in
    // it: the outcome waits, then finds no open episode.
    let child = register(&h, None, "C6401", "Jamie").await;
    let episode = open_episode(&h, &child.id, 2025, 6, 2).await;
    let discussion = strategy(&h, &child.case_id, &[&child.id], 2025, 6, 4).await;
    let enquiry = start_s47(&h, &child.id, &discussion.id, 2025, 6, 4)
        .await
        .unwrap()
        .response
        .enquiry
        .unwrap();
    complete_s47(&h, &enquiry, 2025, 6, 20).await;
    let icpc = conference(ConferenceKind::Initial, 2025, 6, 24, &[&child.id]);
    let new =
        NewConferenceOutcome::parse(&split_icpc(&icpc, &child.id), &icpc, &ctx.timescales).unwrap();
    let close = closing(&h, &episode).await;
    let recording = record_meanwhile(&h, new);
    until_blocked(&h, &recording).await;
    close.commit().await.unwrap();
    let err = recording.await.unwrap().unwrap_err();
    assert_eq!(
        precondition(err),
        "an initial conference follows a section 47 enquiry in the child's open CIN episode; none found"
    );
    assert_eq!(plans_in(&h, &episode.id).await, 0);

    // The same for an enquiry.
    let child = register(&h, None, "C6402", "Alex").await;
    let episode = open_episode(&h, &child.id, 2025, 6, 2).await;
    let discussion = strategy(&h, &child.case_id, &[&child.id], 2025, 6, 4).await;
    let new = NewSection47::parse(
        &pb::StartSection47EnquiryRequest {
            request_id: rid(),
            child_id: child.id.clone(),
            strategy_discussion_id: discussion.id.clone(),
            start_date: pd(2025, 6, 4),
        },
        ctx.today,
    )
    .unwrap();
    let close = closing(&h, &episode).await;
    let pool = h.pool.clone();
    let starting = tokio::spawn(async move {
        let ctx = crate::common::ctx();
        let mut tx = store::begin(&pool, &ctx.authority).await?;
        store::section47::start_section47_enquiry(&mut tx, &ctx, &new).await?;
        tx.commit().await.map_err(ApiError::from)
    });
    until_blocked(&h, &starting).await;
    close.commit().await.unwrap();
    let err = starting.await.unwrap().unwrap_err();
    assert_eq!(precondition(err), "the child has no open CIN episode");
    let enquiries: i64 =
        sqlx::query_scalar("SELECT count(*) FROM section47_enquiries WHERE cin_episode_id = $1")
            .bind(uuid(&episode.id))
            .fetch_one(&h.admin)
            .await
            .unwrap();
    assert_eq!(enquiries, 0);

    // The other way round: the plan started first, the closing waits for
    // it and then finds the plan (no deadlock either way).
    let child = register(&h, None, "C6403", "Sam").await;
    prepare_icpc(&h, &child).await;
    let ctx = crate::common::ctx();
    let episode_id: Uuid = sqlx::query_scalar("SELECT id FROM cin_episodes WHERE child_id = $1")
        .bind(uuid(&child.id))
        .fetch_one(&h.admin)
        .await
        .unwrap();
    let episode = run!(h, ctx, |conn| store::episodes::get_cin_episode(
        conn, episode_id
    ))
    .unwrap();
    let icpc = conference(ConferenceKind::Initial, 2025, 6, 24, &[&child.id]);
    let new =
        NewConferenceOutcome::parse(&split_icpc(&icpc, &child.id), &icpc, &ctx.timescales).unwrap();
    let mut starting = store::begin(&h.pool, &ctx.authority).await.unwrap();
    store::outcomes::record_conference_outcome(&mut starting, &ctx, &new)
        .await
        .unwrap();
    let pool = h.pool.clone();
    let closure = CinClosure::parse(
        &pb::CloseCinEpisodeRequest {
            cin_episode_id: episode.id.clone(),
            version: episode.version,
            closure_date: pd(2025, 6, 30),
            closure_reason: pb::ClosureReason::Rc7ServicesCeased as i32,
        },
        ctx.today,
    )
    .unwrap();
    let close = tokio::spawn(async move {
        let ctx = crate::common::ctx();
        let mut tx = store::begin(&pool, &ctx.authority).await?;
        store::episodes::close_cin_episode(&mut tx, &ctx, &closure).await?;
        tx.commit().await.map_err(ApiError::from)
    });
    until_blocked(&h, &close).await;
    starting.commit().await.unwrap();
    let err = close.await.unwrap().unwrap_err();
    assert_eq!(
        precondition(err),
        "the child has an open child protection plan in this episode; end it first"
    );
    assert_eq!(plans_in(&h, &episode.id).await, 1);
}

#[tokio::test]
async fn no_enquiry_or_transfer_in_is_started_after_the_child_has_died() {
    let h = Harness::new().await;
    let child = register_born(&h, "C6160", pd(2015, 3, 1)).await;
    open_episode(&h, &child.id, 2025, 6, 2).await;
    let discussion = strategy(&h, &child.case_id, &[&child.id], 2025, 6, 4).await;
    record_death(&h, &child.id, pd(2025, 6, 5)).await.unwrap();

    let err = start_s47(&h, &child.id, &discussion.id, 2025, 6, 6)
        .await
        .unwrap_err();
    assert_eq!(precondition(err), plan::DIED_BEFORE_ENQUIRY);
    let err = record_transfer_in(&h, &child.id, pd(2025, 6, 9))
        .await
        .unwrap_err();
    assert_eq!(precondition(err), plan::DIED_BEFORE_TRANSFER_IN);

    // An enquiry begun on the day they died is recorded.
    start_s47(&h, &child.id, &discussion.id, 2025, 6, 5)
        .await
        .expect("an enquiry begun on the day of death");
}
