use chrono::NaiveDate;
use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1 as common;
use cpc_rules::profile::AuthorityProfile;
use cpc_rules::timescales::Timescales;

use super::*;

fn pd(y: i32, m: i32, d: i32) -> Option<common::Date> {
    Some(common::Date {
        year: y,
        month: m,
        day: d,
    })
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

fn event(event_type: &str, payload: &impl prost::Message) -> common::ChangeEvent {
    common::ChangeEvent {
        event_type: format!("cpc.cases.v1.{event_type}"),
        payload: payload.encode_to_vec(),
        ..Default::default()
    }
}

fn timescales() -> Timescales {
    Timescales::new(&AuthorityProfile::default()).expect("default profile")
}

fn plan(start: Option<common::Date>, reviews: Vec<common::Date>) -> cases::ChildProtectionPlan {
    cases::ChildProtectionPlan {
        id: "plan-1".into(),
        child_id: "child-1".into(),
        start_date: start,
        review_dates: reviews,
        ..Default::default()
    }
}

#[test]
fn an_s47_needs_an_icpc_within_15_working_days_of_the_strategy_discussion() {
    // Wednesday 16 December 2026: Christmas Day and Boxing Day (substitute
    // Monday 28th) and New Year's Day fall inside the 15 working days.
    let started = cases::Section47Started {
        enquiry: Some(cases::Section47Enquiry {
            child_id: "child-1".into(),
            strategy_discussion_id: "sd-1".into(),
            ..Default::default()
        }),
        strategy_discussion_date: pd(2026, 12, 16),
        case_id: "case-1".into(),
    };
    let needs = needs(&event("Section47Started", &started), &timescales()).expect("reads");
    let [
        Need::Conference {
            kind,
            case_id,
            child_id,
            due,
            basis,
        },
    ] = needs.as_slice()
    else {
        panic!("one conference: {needs:?}");
    };
    assert_eq!(*kind, common::ConferenceKind::Initial);
    assert_eq!(case_id.as_deref(), Some("case-1"));
    assert_eq!(child_id, "child-1");
    // 17,18,21,22,23,24,29,30,31 Dec; 4,5,6,7,8,11 Jan = 15.
    assert_eq!(*due, date(2027, 1, 11));
    assert_eq!(basis.event, DueEvent::StrategyDiscussion);
    assert_eq!(basis.amount, 15);
    assert_eq!(basis.source_id, "sd-1");
    assert_eq!(
        basis.explanation,
        "15 working days after the strategy discussion on 2026-12-16"
    );
}

#[test]
fn a_plan_start_needs_a_core_group_in_10_working_days_and_a_review_in_3_months() {
    // ICPC on Friday 30 November 2029: 3 months on is 28 February 2030 (a
    // Thursday).
    let started = cases::PlanStarted {
        plan: Some(plan(pd(2029, 11, 30), Vec::new())),
    };
    let needs = needs(&event("PlanStarted", &started), &timescales()).expect("reads");
    assert_eq!(needs.len(), 2);
    let Need::CoreGroup { due, .. } = &needs[0] else {
        panic!("core group first");
    };
    assert_eq!(*due, date(2029, 12, 14));
    let Need::Conference {
        kind,
        due,
        basis,
        case_id,
        ..
    } = &needs[1]
    else {
        panic!("then the review");
    };
    assert_eq!(*kind, common::ConferenceKind::Review);
    assert_eq!(*due, date(2030, 2, 28));
    assert_eq!(basis.unit, Unit::CalendarMonths);
    assert_eq!(*case_id, None);
}

#[test]
fn a_review_needs_the_next_in_6_months_on_a_working_day() {
    // Review on 31 August 2026: 6 months on is 28 February 2027, a Sunday;
    // the latest working day is Friday 26 February.
    let updated = cases::PlanUpdated {
        plan: Some(plan(pd(2026, 5, 29), vec![pd(2026, 8, 31).expect("date")])),
        changed_fields: vec!["review_dates".into(), "latest_category".into()],
    };
    let needs = needs(&event("PlanUpdated", &updated), &timescales()).expect("reads");
    let [Need::Conference { due, basis, .. }] = needs.as_slice() else {
        panic!("one review: {needs:?}");
    };
    assert_eq!(*due, date(2027, 2, 26));
    assert_eq!(basis.event, DueEvent::ReviewConference);
    // Other plan changes need nothing new.
    let content_only = cases::PlanUpdated {
        plan: Some(plan(pd(2026, 5, 29), Vec::new())),
        changed_fields: vec!["safety_goals".into()],
    };
    assert!(needs_of("PlanUpdated", &content_only).is_empty());
}

#[test]
fn a_transfer_in_needs_a_conference_within_15_working_days_of_notification() {
    let recorded = cases::TransferInRecorded {
        transfer_in: Some(cases::TransferIn {
            id: "ti-1".into(),
            child_id: "child-9".into(),
            notification_date: pd(2026, 3, 27),
            ..Default::default()
        }),
        case_id: "case-9".into(),
    };
    // Good Friday 3 April and Easter Monday 6 April 2026 are skipped.
    let needs = needs_of("TransferInRecorded", &recorded);
    let [Need::Conference { kind, due, .. }] = needs.as_slice() else {
        panic!("one conference: {needs:?}");
    };
    assert_eq!(*kind, common::ConferenceKind::TransferIn);
    assert_eq!(*due, date(2026, 4, 21));
}

#[test]
fn an_ended_plan_needs_nothing_further_and_other_events_nothing() {
    let ended = cases::PlanEnded {
        plan: Some(plan(pd(2026, 1, 5), Vec::new())),
    };
    assert_eq!(
        needs_of("PlanEnded", &ended),
        [Need::NothingFurther {
            child_id: "child-1".into(),
            plan_id: "plan-1".into(),
        }]
    );
    assert!(needs_of("CaseCreated", &cases::CaseCreated::default()).is_empty());
}

fn completed(outcome: cases::Section47Outcome) -> cases::Section47Completed {
    cases::Section47Completed {
        enquiry: Some(cases::Section47Enquiry {
            child_id: "child-1".into(),
            strategy_discussion_id: "sd-1".into(),
            status: cases::Section47Status::Completed as i32,
            outcome: outcome as i32,
            ..Default::default()
        }),
    }
}

#[test]
fn an_enquiry_finding_no_icpc_needed_makes_the_conference_it_started_moot() {
    // Census ICPCnotRequired (N00111): the conference the strategy
    // discussion made due is no longer needed for the child.
    assert_eq!(
        needs_of(
            "Section47Completed",
            &completed(cases::Section47Outcome::IcpcNotRequired)
        ),
        [Need::IcpcNotRequired {
            child_id: "child-1".into(),
            source_id: "sd-1".into(),
        }]
    );
    // An enquiry that found one needed changes nothing: it stays due.
    assert!(
        needs_of(
            "Section47Completed",
            &completed(cases::Section47Outcome::IcpcRequired)
        )
        .is_empty()
    );
    let broken = event("Section47Completed", &cases::Section47Completed::default());
    assert!(matches!(
        needs(&broken, &timescales()),
        Err(DueError::Missing {
            field: "enquiry",
            ..
        })
    ));
}

#[test]
fn a_damaged_or_incomplete_payload_is_an_error_not_a_guess() {
    let mut broken = event("PlanStarted", &cases::PlanStarted::default());
    assert!(matches!(
        needs(&broken, &timescales()),
        Err(DueError::Missing { field: "plan", .. })
    ));
    broken.payload = vec![0xff, 0xff];
    assert!(matches!(
        needs(&broken, &timescales()),
        Err(DueError::Payload { .. })
    ));
}

fn needs_of(event_type: &str, payload: &impl prost::Message) -> Vec<Need> {
    needs(&event(event_type, payload), &timescales()).expect("reads")
}

fn initial(strategy: NaiveDate) -> Need {
    let t = timescales();
    Need::Conference {
        kind: common::ConferenceKind::Initial,
        case_id: Some("case-1".into()),
        child_id: "child-1".into(),
        due: t.icpc_due(strategy).expect("in range"),
        basis: Basis {
            event: DueEvent::StrategyDiscussion,
            event_date: strategy,
            source_id: "sd-1".into(),
            amount: 15,
            unit: Unit::WorkingDays,
            nation: Nation::EnglandAndWales,
            explanation: format!("15 working days after the strategy discussion on {strategy}"),
        },
    }
}

#[test]
fn an_unborn_childs_conference_is_due_by_28_weeks_gestation() {
    // Expected 1 June 2027: 28 weeks of gestation is 12 weeks earlier,
    // Tuesday 9 March 2027, well after the 15 working days.
    let need = pre_birth(initial(date(2026, 11, 4)), date(2027, 6, 1), &timescales()).unwrap();
    let Need::Conference {
        kind, due, basis, ..
    } = need
    else {
        panic!("{need:?}")
    };
    assert_eq!(kind, common::ConferenceKind::PreBirth);
    assert_eq!(due, date(2027, 3, 9));
    assert_eq!(basis.event, DueEvent::ExpectedBirth);
    assert_eq!((basis.amount, basis.unit), (28, Unit::WeeksOfGestation));
}

#[test]
fn a_late_pre_birth_enquiry_keeps_the_fifteen_working_days() {
    // Expected 20 December 2026: 28 weeks was Sunday 27 September (latest
    // working day Friday 25 September), before the strategy discussion of
    // 4 November; the conference is due 15 working days after it.
    let need = pre_birth(
        initial(date(2026, 11, 4)),
        date(2026, 12, 20),
        &timescales(),
    )
    .unwrap();
    let Need::Conference {
        kind, due, basis, ..
    } = need
    else {
        panic!("{need:?}")
    };
    assert_eq!(kind, common::ConferenceKind::PreBirth);
    assert_eq!(due, date(2026, 11, 25));
    assert_eq!(basis.event, DueEvent::StrategyDiscussion);
    assert!(
        basis.explanation.contains("2026-09-25"),
        "{}",
        basis.explanation
    );
}

#[test]
fn other_needs_are_left_as_they_are() {
    let review = Need::NothingFurther {
        child_id: "child-1".into(),
        plan_id: "plan-1".into(),
    };
    assert_eq!(
        pre_birth(review.clone(), date(2027, 6, 1), &timescales()).unwrap(),
        review
    );
}

fn born(birth: Option<common::Date>) -> cases::ChildBorn {
    cases::ChildBorn {
        child: Some(cases::Child {
            id: "child-1".into(),
            case_id: "case-1".into(),
            birth_date: birth,
            expected_birth_date: pd(2026, 1, 20),
            ..Default::default()
        }),
    }
}

#[test]
fn a_birth_needs_a_post_birth_review_within_10_working_days() {
    // Born Thursday 18 December 2025: Christmas Day, Boxing Day and New
    // Year's Day 2026 fall in the window. 19, 22, 23, 24, 29, 30, 31
    // December, 2, 5, 6 January: the tenth working day is Tuesday 6
    // January 2026 (without the holidays it would be Friday 2 January).
    let needs = needs_of("ChildBorn", &born(pd(2025, 12, 18)));
    let [
        Need::PostBirthReview {
            case_id,
            child_id,
            due,
            corrected: false,
            basis,
        },
    ] = needs.as_slice()
    else {
        panic!("one post-birth review: {needs:?}");
    };
    assert_eq!((case_id.as_str(), child_id.as_str()), ("case-1", "child-1"));
    assert_eq!(*due, date(2026, 1, 6));
    assert_eq!(basis.event, DueEvent::Birth);
    assert_eq!(basis.event_date, date(2025, 12, 18));
    // The child's record holds the birth.
    assert_eq!(basis.source_id, "child-1");
    assert_eq!((basis.amount, basis.unit), (10, Unit::WorkingDays));
    assert_eq!(
        basis.explanation,
        "10 working days after the birth on 2025-12-18 of a child on a pre-birth plan"
    );

    // The authority's own number of working days (Liverpool: 20).
    let liverpool = Timescales::new(&AuthorityProfile {
        review_after_birth_working_days: 20,
        ..AuthorityProfile::default()
    })
    .expect("profile");
    let later =
        super::needs(&event("ChildBorn", &born(pd(2025, 12, 18))), &liverpool).expect("reads");
    let [Need::PostBirthReview { due, basis, .. }] = later.as_slice() else {
        panic!("one post-birth review: {later:?}");
    };
    assert_eq!(*due, date(2026, 1, 20));
    assert_eq!(basis.amount, 20);

    // A corrected birth date recounts the review (only one still to be
    // held: `corrected`); other changes to a child need nothing; a birth
    // without its date is an error, not a guess.
    let corrected = cases::ChildUpdated {
        child: born(pd(2025, 12, 19)).child,
        changed_fields: vec!["birth_date".into()],
    };
    let recount = needs_of("ChildUpdated", &corrected);
    let [
        Need::PostBirthReview {
            due,
            corrected: true,
            basis,
            ..
        },
    ] = recount.as_slice()
    else {
        panic!("one recount of the post-birth review: {recount:?}");
    };
    // Friday 19 December 2025: the tenth working day is Wednesday 7 January.
    assert_eq!(*due, date(2026, 1, 7));
    assert_eq!(basis.event_date, date(2025, 12, 19));
    let renamed = cases::ChildUpdated {
        child: born(pd(2025, 12, 18)).child,
        changed_fields: vec!["given_names".into()],
    };
    assert!(needs_of("ChildUpdated", &renamed).is_empty());
    assert!(matches!(
        super::needs(&event("ChildBorn", &born(None)), &timescales()),
        Err(DueError::Missing {
            field: "child.birth_date",
            ..
        })
    ));
}

#[test]
fn a_death_leaves_nothing_to_hold_for_the_child() {
    // Whatever the child was waiting for (an enquiry's conference, a
    // transfer-in, a reconvened one), not only a plan's reviews.
    let died = cases::ChildDied {
        child: Some(cases::Child {
            id: "child-1".into(),
            case_id: "case-1".into(),
            death_date: pd(2026, 5, 6),
            ..Default::default()
        }),
    };
    assert_eq!(
        needs_of("ChildDied", &died),
        [Need::Died {
            child_id: "child-1".into()
        }]
    );
    assert!(matches!(
        super::needs(
            &event("ChildDied", &cases::ChildDied::default()),
            &timescales()
        ),
        Err(DueError::Missing { field: "child", .. })
    ));
}

#[test]
fn a_revised_expected_birth_recounts_the_pre_birth_conference_by_the_later_deadline() {
    let unborn = |expected| cases::Child {
        id: "child-1".into(),
        case_id: "case-1".into(),
        expected_birth_date: expected,
        ..Default::default()
    };
    let revised = cases::ChildUpdated {
        child: Some(unborn(pd(2027, 7, 6))),
        changed_fields: vec!["expected_birth_date".into()],
    };
    assert_eq!(
        needs_of("ChildUpdated", &revised),
        [Need::ExpectedBirthRevised {
            child_id: "child-1".into(),
            expected_birth: date(2027, 7, 6),
        }]
    );
    // Once born, the expected date no longer counts for anything.
    let after_birth = cases::ChildUpdated {
        child: Some(cases::Child {
            birth_date: pd(2027, 6, 30),
            ..unborn(pd(2027, 7, 6))
        }),
        changed_fields: vec!["expected_birth_date".into()],
    };
    assert!(needs_of("ChildUpdated", &after_birth).is_empty());

    // The enquiry started at the strategy discussion of 4 November 2026,
    // the baby expected 1 June 2027: due by 28 weeks, Tuesday 9 March 2027
    // (an_unborn_childs_conference_is_due_by_28_weeks_gestation). Now
    // expected 6 July: 28 weeks is Tuesday 13 April.
    let later = pre_birth_recount(
        "child-1".into(),
        date(2027, 7, 6),
        "sd-1".into(),
        date(2026, 11, 4),
        &timescales(),
    )
    .unwrap();
    let Need::PreBirthRecount {
        child_id,
        due,
        basis,
    } = later
    else {
        panic!("{later:?}")
    };
    assert_eq!(child_id, "child-1");
    assert_eq!(due, date(2027, 4, 13));
    assert_eq!(basis.event, DueEvent::ExpectedBirth);
    assert_eq!(basis.event_date, date(2027, 7, 6));
    // Still the discussion's: the next revision is counted from it too.
    assert_eq!(basis.source_id, "sd-1");
    // Now expected 20 December 2026: 28 weeks was already past when the
    // enquiry started, so the 15 working days after the discussion govern.
    let earlier = pre_birth_recount(
        "child-1".into(),
        date(2026, 12, 20),
        "sd-1".into(),
        date(2026, 11, 4),
        &timescales(),
    )
    .unwrap();
    let Need::PreBirthRecount { due, basis, .. } = earlier else {
        panic!("{earlier:?}")
    };
    assert_eq!(due, date(2026, 11, 25));
    assert_eq!(basis.event, DueEvent::StrategyDiscussion);
    assert_eq!(basis.event_date, date(2026, 11, 4));
    assert_eq!(basis.source_id, "sd-1");
}

#[test]
fn a_post_birth_review_counts_from_the_birth_whenever_the_plan_started() {
    // Born Sunday 3 May 2026; the pre-birth plan started after it. Monday
    // 4 May is the early May bank holiday: 5, 6, 7, 8, 11, 12, 13, 14, 15,
    // 18 May.
    let need = post_birth_review(
        "case-1".into(),
        "child-1".into(),
        date(2026, 5, 3),
        false,
        &timescales(),
    )
    .unwrap();
    let Need::PostBirthReview {
        due,
        corrected: false,
        basis,
        ..
    } = need
    else {
        panic!("{need:?}")
    };
    assert_eq!(due, date(2026, 5, 18));
    assert_eq!(basis.event_date, date(2026, 5, 3));
}
