//! The birth of a child on a pre-birth plan, recorded in cases, makes a
//! post-birth review due in scheduling within 10 working days of the birth,
//! beside the plan's ordinary review; a corrected birth date moves it, and
//! a baby born before the pre-birth conference's outcome is recorded gets
//! it all the same.

use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1 as common;
use cpc_proto::scheduling::v1 as pb;

use crate::diary::*;
use crate::meetings::{
    book, clients, outcome_once_held, plan_decided, quorate_meeting, record_attendance, timescales,
};
use crate::support::*;

#[tokio::test]
async fn a_birth_on_a_pre_birth_plan_makes_a_post_birth_review_due_in_10_working_days() {
    let (mut f, conferences) = start().await;
    let bs = business_support(&f);
    let mut c = clients(&f, conferences).await;
    // An unborn child expected on 20 January 2026; the strategy discussion
    // on Monday 3 November 2025 starts the enquiry.
    let unborn = cases::Child {
        birth_date: None,
        expected_birth_date: pd(2026, 1, 20),
        sex: cases::Sex::Unknown as i32,
        upn: String::new(),
        nhs_number: String::new(),
        ..child("", "PBR0001", "Baby")
    };
    let (child_id, case) = s47_about(&mut f, unborn, date(2025, 11, 3)).await;
    let icpc = conferences_of(&mut c.conferences, &bs, &case)
        .await
        .remove(0);
    assert_eq!(icpc.kind, common::ConferenceKind::PreBirth as i32);

    // The pre-birth conference, held on Monday 1 December 2025 (booked
    // ahead, as dates may only be booked in the future, past its deadline
    // with the reason), starts the plan.
    let later = timescales()
        .calendar()
        .add_working_days(uk_today(), 1)
        .unwrap();
    let icpc = book(&mut c, &bs, &icpc, later).await;
    let icpc = record_attendance(&mut c, &bs, &icpc, quorate_meeting())
        .await
        .conference
        .unwrap();
    let held_on = date(2025, 12, 1);
    let held = c
        .attendance
        .record_conference_held(bs.req(pb::RecordConferenceHeldRequest {
            conference_id: icpc.id.clone(),
            version: icpc.version,
            held_date: pd_of(held_on),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap();
    let chair = f.chair();
    let outcome = cases::RecordConferenceOutcomeRequest {
        request_id: rid(),
        outcome: Some(plan_decided(&held.id, &child_id)),
    };
    // Refused as not held until cases learns it from scheduling's feed.
    let plan = outcome_once_held(&mut f, &chair, &outcome)
        .await
        .expect("a plan");
    assert!(plan.pre_birth);
    // The plan's ordinary first review: 3 months after the conference, 1
    // March 2026 being a Sunday.
    let review = conferences_of_kind(
        &mut c.conferences,
        &bs,
        &case,
        common::ConferenceKind::Review,
    )
    .await
    .remove(0);
    assert_eq!(review.statutory_due_date, pd(2026, 2, 27));

    // The baby is born on Thursday 18 December 2025, as cases records.
    let sw = f.social_worker();
    let mut born = f
        .client
        .get_child(sw.req(cases::GetChildRequest {
            child_id: child_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .child
        .unwrap();
    born.birth_date = pd(2025, 12, 18);
    f.client
        .update_child(sw.req(cases::UpdateChildRequest {
            child: Some(born),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["birth_date".into()],
            }),
        }))
        .await
        .unwrap();

    // Scheduling makes the post-birth review due on the tenth working day
    // after the birth: Christmas Day, Boxing Day and New Year's Day are
    // not working days, so it is Tuesday 6 January 2026 (19, 22, 23, 24,
    // 29, 30, 31 December, 2, 5, 6 January), not Friday 2 January.
    let post_birth = conferences_of_kind(
        &mut c.conferences,
        &bs,
        &case,
        common::ConferenceKind::PostBirthReview,
    )
    .await;
    let [post_birth] = &post_birth[..] else {
        panic!("one post-birth review: {post_birth:?}")
    };
    assert_eq!(post_birth.status, pb::ConferenceStatus::Due as i32);
    assert_eq!(post_birth.child_ids, [child_id]);
    assert_eq!(post_birth.statutory_due_date, pd(2026, 1, 6));
    let basis = post_birth.due_date_basis.as_ref().unwrap();
    assert_eq!(basis.event, pb::DueDateEvent::Birth as i32);
    assert_eq!(basis.event_date, pd(2025, 12, 18));
    assert_eq!(basis.amount, 10);
    assert_eq!(basis.unit, pb::DurationUnit::WorkingDays as i32);
    // The ordinary review stays due beside it, as it was.
    let reviews = conferences_of_kind(
        &mut c.conferences,
        &bs,
        &case,
        common::ConferenceKind::Review,
    )
    .await;
    let [still] = &reviews[..] else {
        panic!("one review: {reviews:?}")
    };
    assert_eq!(still.id, review.id);
    assert_eq!(still.status, pb::ConferenceStatus::Due as i32);
    assert_eq!(still.statutory_due_date, pd(2026, 2, 27));

    // The birth date was mistyped: the baby was born on Friday 19
    // December. Corrected in cases, the post-birth review still to be held
    // is recounted from it to Wednesday 7 January 2026; no second review
    // is made due.
    let mut corrected = f
        .client
        .get_child(sw.req(cases::GetChildRequest {
            child_id: post_birth.child_ids[0].clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .child
        .unwrap();
    corrected.birth_date = pd(2025, 12, 19);
    f.client
        .update_child(sw.req(cases::UpdateChildRequest {
            child: Some(corrected),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["birth_date".into()],
            }),
        }))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let recounted = loop {
        let found = conferences_of_kind(
            &mut c.conferences,
            &bs,
            &case,
            common::ConferenceKind::PostBirthReview,
        )
        .await;
        if found.iter().any(|c| c.statutory_due_date == pd(2026, 1, 7)) {
            break found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the post-birth review was never recounted: {found:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let [recounted] = &recounted[..] else {
        panic!("one post-birth review: {recounted:?}")
    };
    assert_eq!(recounted.id, post_birth.id);
    assert_eq!(recounted.status, pb::ConferenceStatus::Due as i32);
    let basis = recounted.due_date_basis.as_ref().unwrap();
    assert_eq!(basis.event_date, pd(2025, 12, 19));
    f.stop().await;
}

#[tokio::test]
async fn a_baby_born_before_the_pre_birth_plan_is_recorded_gets_the_post_birth_review() {
    let (mut f, conferences) = start().await;
    let bs = business_support(&f);
    let mut c = clients(&f, conferences).await;
    let unborn = cases::Child {
        birth_date: None,
        expected_birth_date: pd(2026, 7, 20),
        sex: cases::Sex::Unknown as i32,
        upn: String::new(),
        nhs_number: String::new(),
        ..child("", "PBR0002", "Baby")
    };
    let (child_id, case) = s47_about(&mut f, unborn, date(2026, 4, 1)).await;
    let icpc = conferences_of(&mut c.conferences, &bs, &case)
        .await
        .remove(0);
    assert_eq!(icpc.kind, common::ConferenceKind::PreBirth as i32);
    // The pre-birth conference is held on Thursday 30 April 2026.
    let later = timescales()
        .calendar()
        .add_working_days(uk_today(), 1)
        .unwrap();
    let icpc = book(&mut c, &bs, &icpc, later).await;
    let icpc = record_attendance(&mut c, &bs, &icpc, quorate_meeting())
        .await
        .conference
        .unwrap();
    let held = c
        .attendance
        .record_conference_held(bs.req(pb::RecordConferenceHeldRequest {
            conference_id: icpc.id.clone(),
            version: icpc.version,
            held_date: pd(2026, 4, 30),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap();

    // The baby is born on Sunday 3 May, before the chair records the
    // conference's outcome: the birth finds no plan.
    let sw = f.social_worker();
    let mut born = f
        .client
        .get_child(sw.req(cases::GetChildRequest {
            child_id: child_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .child
        .unwrap();
    born.birth_date = pd(2026, 5, 3);
    f.client
        .update_child(sw.req(cases::UpdateChildRequest {
            child: Some(born),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["birth_date".into()],
            }),
        }))
        .await
        .unwrap();
    let chair = f.chair();
    let outcome = cases::RecordConferenceOutcomeRequest {
        request_id: rid(),
        outcome: Some(plan_decided(&held.id, &child_id)),
    };
    let plan = outcome_once_held(&mut f, &chair, &outcome)
        .await
        .expect("a plan");
    assert!(plan.pre_birth);

    // The plan, started at the pre-birth conference, makes the review after
    // the birth due 10 working days after it (Monday 4 May is a bank
    // holiday): Monday 18 May.
    let post_birth = conferences_of_kind(
        &mut c.conferences,
        &bs,
        &case,
        common::ConferenceKind::PostBirthReview,
    )
    .await;
    let [post_birth] = &post_birth[..] else {
        panic!("one post-birth review: {post_birth:?}")
    };
    assert_eq!(post_birth.status, pb::ConferenceStatus::Due as i32);
    assert_eq!(post_birth.child_ids, [child_id]);
    assert_eq!(post_birth.statutory_due_date, pd(2026, 5, 18));
    let basis = post_birth.due_date_basis.as_ref().unwrap();
    assert_eq!(basis.event, pb::DueDateEvent::Birth as i32);
    assert_eq!(basis.event_date, pd(2026, 5, 3));
    f.stop().await;
}
