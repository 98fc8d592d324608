//! Applying the cases feed's consequences to the diary, against Postgres
//! (a fresh database, queries as the service's plain role so row-level
//! security binds).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test"
)]

mod fixture;

use fixture::{AUTHORITY, scheduling_database};

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::db;
use cpc_platform::outbox::{self, Filter};
use cpc_platform::testing::TestDatabase;
use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1 as common;
use cpc_proto::scheduling::v1 as pb;
use cpc_rules::profile::AuthorityProfile;
use cpc_rules::timescales::Timescales;
use cpc_scheduling::due::needs;
use cpc_scheduling::store::needs::{
    Applied, ChildFacts, PlanFacts, apply, learn_child_case, learn_plan,
};
use prost::Message as _;
use sqlx::PgPool;
use uuid::Uuid;

struct Diary {
    _db: TestDatabase,
    pool: PgPool,
}

impl Diary {
    async fn new() -> Self {
        let (db, pool) = scheduling_database().await;
        Self { _db: db, pool }
    }

    /// Applies every need of `event` in one transaction.
    async fn feed(&self, event: &common::ChangeEvent) -> Vec<Applied> {
        let timescales = Timescales::new(&AuthorityProfile::default()).unwrap();
        let mut tx = db::begin_for_authority(&self.pool, AUTHORITY)
            .await
            .unwrap();
        let mut applied = Vec::new();
        for need in needs(event, &timescales).unwrap() {
            applied.push(apply(&mut tx, AUTHORITY, &need, now()).await.unwrap());
        }
        tx.commit().await.unwrap();
        applied
    }

    async fn knows(&self, child: Uuid, case: Uuid) {
        let mut tx = db::begin_for_authority(&self.pool, AUTHORITY)
            .await
            .unwrap();
        let facts = ChildFacts {
            child_id: child,
            case_id: case,
            birth_date: Some(date(2020, 1, 1)),
            expected_birth_date: None,
        };
        learn_child_case(&mut tx, AUTHORITY, &facts, now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// What the feed consumer learns from a plan event (`ChildBorn` names
    /// no plan): whether a pre-birth conference started it, whether it is
    /// in force.
    async fn plan(&self, plan: Uuid, child: Uuid, pre_birth: bool, in_force: bool) {
        let mut tx = db::begin_for_authority(&self.pool, AUTHORITY)
            .await
            .unwrap();
        let facts = PlanFacts {
            plan_id: plan,
            child_id: child,
            pre_birth,
            in_force,
        };
        learn_plan(&mut tx, AUTHORITY, &facts, now()).await.unwrap();
        tx.commit().await.unwrap();
    }

    /// The scheduling feed's event types so far, without the package.
    async fn feed_types(&self) -> Vec<String> {
        outbox::read_after(&self.pool, 0, &Filter::default(), 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| {
                e.event_type
                    .trim_start_matches("cpc.scheduling.v1.")
                    .to_owned()
            })
            .collect()
    }

    /// (status, due date, children) of a conference, as `authority` sees it.
    async fn conference(
        &self,
        authority: &str,
        id: Uuid,
    ) -> Option<(String, NaiveDate, Vec<Uuid>)> {
        let mut tx = db::begin_for_authority(&self.pool, authority)
            .await
            .unwrap();
        let row: Option<(String, NaiveDate, Vec<Uuid>)> = sqlx::query_as(
            "SELECT status, statutory_due_date, \
                    ARRAY(SELECT child_id FROM conference_children WHERE conference_id = c.id ORDER BY child_id) \
             FROM conferences c WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .unwrap();
        tx.rollback().await.unwrap();
        row
    }
}

fn now() -> DateTime<Utc> {
    DateTime::<Utc>::from(std::time::SystemTime::now())
}

fn pd(date: NaiveDate) -> Option<common::Date> {
    use chrono::Datelike as _;
    Some(common::Date {
        year: date.year(),
        month: i32::try_from(date.month()).unwrap(),
        day: i32::try_from(date.day()).unwrap(),
    })
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn event(event_type: &str, payload: &impl prost::Message) -> common::ChangeEvent {
    common::ChangeEvent {
        event_type: format!("cpc.cases.v1.{event_type}"),
        payload: payload.encode_to_vec(),
        ..Default::default()
    }
}

fn s47_started(case: Uuid, child: Uuid, discussion: Uuid, on: NaiveDate) -> common::ChangeEvent {
    event(
        "Section47Started",
        &cases::Section47Started {
            enquiry: Some(cases::Section47Enquiry {
                child_id: child.to_string(),
                strategy_discussion_id: discussion.to_string(),
                ..Default::default()
            }),
            strategy_discussion_date: pd(on),
            case_id: case.to_string(),
        },
    )
}

fn plan_event(event_type: &str, plan: Uuid, child: Uuid, icpc: NaiveDate) -> common::ChangeEvent {
    let plan = cases::ChildProtectionPlan {
        id: plan.to_string(),
        child_id: child.to_string(),
        start_date: pd(icpc),
        ..Default::default()
    };
    match event_type {
        "PlanStarted" => event(event_type, &cases::PlanStarted { plan: Some(plan) }),
        _ => event(event_type, &cases::PlanEnded { plan: Some(plan) }),
    }
}

#[tokio::test]
async fn siblings_share_the_icpc_and_a_later_discussion_moves_its_due_date() {
    let diary = Diary::new().await;
    let (case, amy, ben, discussion) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let first = diary
        .feed(&s47_started(case, amy, discussion, date(2026, 12, 16)))
        .await;
    let [Applied::Created(icpc)] = first[..] else {
        panic!("created: {first:?}")
    };
    let second = diary
        .feed(&s47_started(case, ben, discussion, date(2026, 12, 16)))
        .await;
    assert_eq!(second, [Applied::Joined(icpc)]);
    let (status, due, children) = diary.conference(AUTHORITY, icpc).await.unwrap();
    assert_eq!(status, "due");
    // 15 working days over Christmas and New Year.
    assert_eq!(due, date(2027, 1, 11));
    let mut expected = vec![amy, ben];
    expected.sort();
    assert_eq!(children, expected);

    // The same event again changes nothing (the feed delivers at least once).
    let again = diary
        .feed(&s47_started(case, ben, discussion, date(2026, 12, 16)))
        .await;
    assert_eq!(again, [Applied::Unchanged(icpc)]);
    // A new strategy discussion for Amy restarts her clock, but Ben's
    // earlier deadline still governs the conference they share ...
    let later = diary
        .feed(&s47_started(case, amy, Uuid::now_v7(), date(2027, 1, 4)))
        .await;
    assert_eq!(later, [Applied::Recomputed(icpc)]);
    assert_eq!(
        diary.conference(AUTHORITY, icpc).await.unwrap().1,
        date(2027, 1, 11)
    );
    // ... until his moves too.
    let later = diary
        .feed(&s47_started(case, ben, Uuid::now_v7(), date(2027, 1, 4)))
        .await;
    assert_eq!(later, [Applied::Recomputed(icpc)]);
    assert_eq!(
        diary.conference(AUTHORITY, icpc).await.unwrap().1,
        date(2027, 1, 25)
    );

    // The feed says so, once per change (the repeated event added nothing).
    assert_eq!(
        diary.feed_types().await,
        [
            "ConferenceDue",
            "ConferenceRecomputed",
            "ConferenceRecomputed",
            "ConferenceRecomputed"
        ]
    );

    let first = &outbox::read_after(&diary.pool, 0, &Filter::default(), 1)
        .await
        .unwrap()[0];
    let due = cpc_proto::scheduling::v1::ConferenceDue::decode(first.payload.as_slice())
        .unwrap()
        .conference
        .unwrap();
    assert_eq!(due.id, icpc.to_string());
    assert_eq!(due.child_ids, [amy.to_string()]);
    let basis = due.due_date_basis.unwrap();
    assert_eq!(basis.amount, 15);
    assert_eq!(
        basis.explanation,
        "15 working days after the strategy discussion on 2026-12-16"
    );

    // Another authority sees none of it.
    assert_eq!(diary.conference("E09000033", icpc).await, None);
}

#[tokio::test]
async fn a_plan_brings_a_core_group_and_a_review_which_ends_with_the_plans() {
    let diary = Diary::new().await;
    let (case, amy, ben) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let (amy_plan, ben_plan) = (Uuid::now_v7(), Uuid::now_v7());
    let icpc = date(2026, 11, 30);
    // Plan events name only the child: before the child is known, neither
    // the core group nor the review can be placed.
    let unknown = diary
        .feed(&plan_event("PlanStarted", amy_plan, amy, icpc))
        .await;
    assert_eq!(unknown, [Applied::CaseUnknown, Applied::CaseUnknown]);
    diary.knows(amy, case).await;
    diary.knows(ben, case).await;
    let started = diary
        .feed(&plan_event("PlanStarted", amy_plan, amy, icpc))
        .await;
    let [Applied::CoreGroupDue(core_group), Applied::Created(review)] = started[..] else {
        panic!("core group and review: {started:?}")
    };
    // The sibling's plan, started at the same conference, shares the core
    // group meeting and the review.
    let sibling = diary
        .feed(&plan_event("PlanStarted", ben_plan, ben, icpc))
        .await;
    assert_eq!(
        sibling,
        [Applied::CoreGroupDue(core_group), Applied::Joined(review)]
    );
    let (_, due, children) = diary.conference(AUTHORITY, review).await.unwrap();
    // 3 months after 30 November 2026 is 28 February 2027, a Sunday.
    assert_eq!(due, date(2027, 2, 26));
    assert_eq!(children.len(), 2);

    // One plan ends: that child leaves the review and the core group; the
    // last one cancels both.
    let ended = diary
        .feed(&plan_event("PlanEnded", amy_plan, amy, icpc))
        .await;
    assert_eq!(ended, [Applied::LeftReviews(vec![review])]);
    assert_eq!(diary.conference(AUTHORITY, review).await.unwrap().0, "due");
    // The core group meeting Ben still has is on the feed without Amy or
    // her plan: reporting and escalation keep what the event carries.
    let events = outbox::read_after(&diary.pool, 0, &Filter::default(), 1000)
        .await
        .unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.event_type, "cpc.scheduling.v1.CoreGroupMeetingDue");
    let meeting = pb::CoreGroupMeetingDue::decode(last.payload.as_slice())
        .unwrap()
        .meeting
        .unwrap();
    assert_eq!(meeting.id, core_group.to_string());
    assert_eq!(meeting.child_ids, [ben.to_string()]);
    assert_eq!(meeting.plan_ids, [ben_plan.to_string()]);
    assert_eq!(meeting.status, pb::CoreGroupMeetingStatus::Due as i32);
    diary
        .feed(&plan_event("PlanEnded", ben_plan, ben, icpc))
        .await;
    let (status, _, children) = diary.conference(AUTHORITY, review).await.unwrap();
    assert_eq!(status, "cancelled");
    // Cancelled, it still says whom it was for: reporting and escalation
    // refuse (and stop at) a conference or meeting for nobody.
    assert_eq!(children, [ben]);
    let events = outbox::read_after(&diary.pool, 0, &Filter::default(), 1000)
        .await
        .unwrap();
    let meeting = pb::CoreGroupMeetingCancelled::decode(events.last().unwrap().payload.as_slice())
        .unwrap()
        .meeting
        .unwrap();
    assert_eq!(meeting.child_ids, [ben.to_string()]);
    assert_eq!(meeting.plan_ids, [ben_plan.to_string()]);
    assert_eq!(
        diary.feed_types().await,
        [
            "CoreGroupMeetingDue",
            "ConferenceDue",
            "CoreGroupMeetingDue",
            "ConferenceRecomputed",
            "ConferenceRecomputed",
            "CoreGroupMeetingDue",
            "ConferenceCancelled",
            "CoreGroupMeetingCancelled"
        ]
    );
}

fn s47_completed(
    child: Uuid,
    discussion: Uuid,
    outcome: cases::Section47Outcome,
) -> common::ChangeEvent {
    event(
        "Section47Completed",
        &cases::Section47Completed {
            enquiry: Some(cases::Section47Enquiry {
                child_id: child.to_string(),
                strategy_discussion_id: discussion.to_string(),
                status: cases::Section47Status::Completed as i32,
                outcome: outcome as i32,
                ..Default::default()
            }),
        },
    )
}

#[tokio::test]
async fn an_enquiry_finding_no_icpc_needed_takes_the_child_off_the_icpc_it_made_due() {
    use cases::Section47Outcome::{IcpcNotRequired, IcpcRequired};
    let diary = Diary::new().await;
    let (case, amy, ben, discussion) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let on = date(2026, 12, 16);
    let [Applied::Created(icpc)] = diary.feed(&s47_started(case, amy, discussion, on)).await[..]
    else {
        panic!("created")
    };
    diary.feed(&s47_started(case, ben, discussion, on)).await;

    // An enquiry of another discussion of Amy's does not touch this
    // conference, nor does Ben's finding a conference needed.
    let other = diary
        .feed(&s47_completed(amy, Uuid::now_v7(), IcpcNotRequired))
        .await;
    assert_eq!(other, [Applied::LeftInitial(Vec::new())]);
    assert!(
        diary
            .feed(&s47_completed(ben, discussion, IcpcRequired))
            .await
            .is_empty()
    );
    // Amy's enquiry found no ICPC needed: she leaves it; Ben's stands.
    let amy_done = diary
        .feed(&s47_completed(amy, discussion, IcpcNotRequired))
        .await;
    assert_eq!(amy_done, [Applied::LeftInitial(vec![icpc])]);
    let (status, due, children) = diary.conference(AUTHORITY, icpc).await.unwrap();
    assert_eq!((status.as_str(), due), ("due", date(2027, 1, 11)));
    assert_eq!(children, [ben]);
    // Ben's too: nobody needs it, so it is cancelled with the reason, not
    // left due for ever (overdue to escalation and timeliness).
    let ben_done = diary
        .feed(&s47_completed(ben, discussion, IcpcNotRequired))
        .await;
    assert_eq!(ben_done, [Applied::LeftInitial(vec![icpc])]);
    let (status, _, children) = diary.conference(AUTHORITY, icpc).await.unwrap();
    assert_eq!(status, "cancelled");
    assert_eq!(children, [ben]);
    // Delivered again, it changes nothing.
    assert_eq!(
        diary
            .feed(&s47_completed(ben, discussion, IcpcNotRequired))
            .await,
        [Applied::LeftInitial(Vec::new())]
    );
    assert_eq!(
        diary.feed_types().await,
        [
            "ConferenceDue",
            "ConferenceRecomputed",
            "ConferenceRecomputed",
            "ConferenceCancelled"
        ]
    );
    let events = outbox::read_after(&diary.pool, 0, &Filter::default(), 1000)
        .await
        .unwrap();
    let cancelled = pb::ConferenceCancelled::decode(events[3].payload.as_slice())
        .unwrap()
        .conference
        .unwrap();
    assert_eq!(cancelled.status, pb::ConferenceStatus::Cancelled as i32);
    assert_eq!(cancelled.child_ids, [ben.to_string()]);
    assert!(
        cancelled.cancellation_reason.contains("section 47"),
        "{}",
        cancelled.cancellation_reason
    );
}

#[tokio::test]
async fn an_unborn_childs_enquiry_finding_no_icpc_needed_cancels_the_pre_birth_conference() {
    let diary = Diary::new().await;
    let (case, baby, discussion) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    // The initial conference an unborn child's enquiry needs is a
    // pre-birth one (as the feed consumer makes it), counted from the
    // expected birth but kept with the strategy discussion as its source.
    let timescales = Timescales::new(&AuthorityProfile::default()).unwrap();
    let [initial] = &needs(
        &s47_started(case, baby, discussion, date(2026, 12, 16)),
        &timescales,
    )
    .unwrap()[..] else {
        panic!("one need")
    };
    let pre_birth =
        cpc_scheduling::due::pre_birth(initial.clone(), date(2027, 9, 1), &timescales).unwrap();
    let mut tx = db::begin_for_authority(&diary.pool, AUTHORITY)
        .await
        .unwrap();
    let Applied::Created(conference) = apply(&mut tx, AUTHORITY, &pre_birth, now()).await.unwrap()
    else {
        panic!("created")
    };
    tx.commit().await.unwrap();
    let done = diary
        .feed(&s47_completed(
            baby,
            discussion,
            cases::Section47Outcome::IcpcNotRequired,
        ))
        .await;
    assert_eq!(done, [Applied::LeftInitial(vec![conference])]);
    assert_eq!(
        diary.conference(AUTHORITY, conference).await.unwrap().0,
        "cancelled"
    );
}

fn child_born(case: Uuid, child: Uuid, on: NaiveDate) -> common::ChangeEvent {
    event(
        "ChildBorn",
        &cases::ChildBorn {
            child: Some(cases::Child {
                id: child.to_string(),
                case_id: case.to_string(),
                birth_date: pd(on),
                expected_birth_date: pd(date(2026, 1, 20)),
                ..Default::default()
            }),
        },
    )
}

#[tokio::test]
async fn twins_born_on_pre_birth_plans_share_a_post_birth_review_beside_the_ordinary_one() {
    let diary = Diary::new().await;
    let (case, amy, ben) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let (amy_plan, ben_plan) = (Uuid::now_v7(), Uuid::now_v7());
    let icpc = date(2025, 12, 1);
    diary.knows(amy, case).await;
    diary.knows(ben, case).await;
    // Both unborn twins' plans were started at the pre-birth conference.
    diary.plan(amy_plan, amy, true, true).await;
    diary.plan(ben_plan, ben, true, true).await;
    let [_, Applied::Created(review)] = diary
        .feed(&plan_event("PlanStarted", amy_plan, amy, icpc))
        .await[..]
    else {
        panic!("core group and review")
    };
    diary
        .feed(&plan_event("PlanStarted", ben_plan, ben, icpc))
        .await;
    let before = diary.feed_types().await.len();

    // Born Thursday 18 December 2025: the tenth working day, past
    // Christmas, Boxing Day and New Year's Day, is Tuesday 6 January 2026.
    let born = date(2025, 12, 18);
    let [Applied::Created(post_birth)] = diary.feed(&child_born(case, amy, born)).await[..] else {
        panic!("created")
    };
    assert_ne!(post_birth, review);
    // Her twin, born the same day on his own pre-birth plan, joins it.
    assert_eq!(
        diary.feed(&child_born(case, ben, born)).await,
        [Applied::Joined(post_birth)]
    );
    // The same birth delivered again changes nothing.
    assert_eq!(
        diary.feed(&child_born(case, amy, born)).await,
        [Applied::Unchanged(post_birth)]
    );
    let (status, due, children) = diary.conference(AUTHORITY, post_birth).await.unwrap();
    assert_eq!((status.as_str(), due), ("due", date(2026, 1, 6)));
    let mut twins = vec![amy, ben];
    twins.sort();
    assert_eq!(children, twins);
    // The ordinary review is kept as it was: 3 months after the ICPC (1
    // March 2026 is a Sunday).
    let (status, due, children) = diary.conference(AUTHORITY, review).await.unwrap();
    assert_eq!((status.as_str(), due), ("due", date(2026, 2, 27)));
    assert_eq!(children, twins);

    // On the feed as any newly due conference, once, then the twin joining.
    let types = diary.feed_types().await;
    assert_eq!(types[before..], ["ConferenceDue", "ConferenceRecomputed"]);
    let events = outbox::read_after(&diary.pool, 0, &Filter::default(), 1000)
        .await
        .unwrap();
    let due = pb::ConferenceDue::decode(events[before].payload.as_slice())
        .unwrap()
        .conference
        .unwrap();
    assert_eq!(due.id, post_birth.to_string());
    assert_eq!(due.kind, common::ConferenceKind::PostBirthReview as i32);
    assert_eq!(due.child_ids, [amy.to_string()]);
    assert_eq!(due.statutory_due_date, pd(date(2026, 1, 6)));
    let basis = due.due_date_basis.unwrap();
    assert_eq!(basis.event, pb::DueDateEvent::Birth as i32);
    assert_eq!(basis.event_date, pd(born));
    assert_eq!(basis.source_id, amy.to_string());
    assert_eq!(
        (basis.amount, basis.unit),
        (10, pb::DurationUnit::WorkingDays as i32)
    );

    // A plan's end takes its child off the post-birth review as off the
    // ordinary one; the last child's cancels both.
    diary.plan(amy_plan, amy, true, false).await;
    assert_eq!(
        diary
            .feed(&plan_event("PlanEnded", amy_plan, amy, icpc))
            .await,
        [Applied::LeftReviews(vec![review, post_birth])]
    );
    let (status, _, children) = diary.conference(AUTHORITY, post_birth).await.unwrap();
    assert_eq!((status.as_str(), children), ("due", vec![ben]));
    diary.plan(ben_plan, ben, true, false).await;
    diary
        .feed(&plan_event("PlanEnded", ben_plan, ben, icpc))
        .await;
    assert_eq!(
        diary.conference(AUTHORITY, post_birth).await.unwrap().0,
        "cancelled"
    );
    // A birth delivered after the plan ended makes nothing due again.
    assert_eq!(
        diary.feed(&child_born(case, ben, born)).await,
        [Applied::NotOnPreBirthPlan]
    );
}

#[tokio::test]
async fn a_birth_off_a_pre_birth_plan_makes_nothing_due_and_a_child_is_born_once() {
    let diary = Diary::new().await;
    let born = date(2025, 12, 18);
    // No plan at all; a plan a pre-birth conference did not start (a
    // transfer-in of an unborn child, say); a pre-birth plan already ended.
    let (case, none, ordinary, ended) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    for child in [none, ordinary, ended] {
        diary.knows(child, case).await;
    }
    diary.plan(Uuid::now_v7(), ordinary, false, true).await;
    diary.plan(Uuid::now_v7(), ended, true, false).await;
    for child in [none, ordinary, ended] {
        assert_eq!(
            diary.feed(&child_born(case, child, born)).await,
            [Applied::NotOnPreBirthPlan]
        );
    }
    assert!(diary.feed_types().await.is_empty());

    // A post-birth review that is no longer open (here cancelled by hand)
    // is not made due again by the birth delivered again.
    let (case, baby) = (Uuid::now_v7(), Uuid::now_v7());
    diary.knows(baby, case).await;
    diary.plan(Uuid::now_v7(), baby, true, true).await;
    let [Applied::Created(post_birth)] = diary.feed(&child_born(case, baby, born)).await[..] else {
        panic!("created")
    };
    let mut tx = db::begin_for_authority(&diary.pool, AUTHORITY)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE conferences SET status = 'cancelled', cancellation_reason = 'Not needed' \
         WHERE id = $1",
    )
    .bind(post_birth)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        diary.feed(&child_born(case, baby, born)).await,
        [Applied::Unchanged(post_birth)]
    );
    assert_eq!(diary.feed_types().await, ["ConferenceDue"]);
}
