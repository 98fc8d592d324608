//! Applying the cases feed's consequences to the diary, against Postgres
//! (a fresh database, queries as the service's plain role so row-level
//! security binds).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test"
)]

#[path = "fixture/booking.rs"]
mod booking;
mod fixture;

use fixture::{AUTHORITY, scheduling_database};

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::Config;
use cpc_platform::db;
use cpc_platform::feeds::Follow;
use cpc_platform::outbox::{self, Filter};
use cpc_platform::testing::TestDatabase;
use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1 as common;
use cpc_proto::scheduling::v1 as pb;
use cpc_rules::profile::AuthorityProfile;
use cpc_rules::timescales::Timescales;
use cpc_scheduling::due::{Basis, DueEvent, Need, Unit, needs};
use cpc_scheduling::follow::{CASES_FEED, CHILD_DEATHS_FEED};
use cpc_scheduling::store::needs::{
    Applied, ChildFacts, Death, PlanFacts, apply, learn_child_case, learn_plan,
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

    /// Applies `event` as the cases feed consumer does (learning what it
    /// says, then applying its needs), under the default timescales.
    async fn follow(&self, event: &common::ChangeEvent) {
        self.follow_as(&CASES_FEED, event).await;
    }

    /// Applies `event` as `follow` of the cases feed does.
    async fn follow_as(&self, follow: &Follow, event: &common::ChangeEvent) {
        let event = common::ChangeEvent {
            authority_id: AUTHORITY.to_owned(),
            ..event.clone()
        };
        let mut tx = db::begin_for_authority(&self.pool, AUTHORITY)
            .await
            .unwrap();
        (follow.apply)(&mut tx, &event, &Config::default())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// The open (due or booked) conferences of `kind` that `child` is in.
    async fn open_of(&self, child: Uuid, kind: &str) -> Vec<Uuid> {
        let mut tx = db::begin_for_authority(&self.pool, AUTHORITY)
            .await
            .unwrap();
        let ids = sqlx::query_scalar(
            "SELECT c.id FROM conferences c JOIN conference_children cc ON cc.conference_id = c.id \
             WHERE cc.child_id = $1 AND c.kind = $2 AND c.status IN ('due', 'booked') \
             ORDER BY c.created_at",
        )
        .bind(child)
        .bind(kind)
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        tx.rollback().await.unwrap();
        ids
    }

    /// The conference as the API shows it.
    async fn load(&self, id: Uuid) -> pb::Conference {
        let mut tx = db::begin_for_authority(&self.pool, AUTHORITY)
            .await
            .unwrap();
        let conference = cpc_scheduling::store::conferences::load(&mut tx, id)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        conference
    }

    /// Applies `need` in one transaction.
    async fn apply(&self, need: &Need) -> Applied {
        let mut tx = db::begin_for_authority(&self.pool, AUTHORITY)
            .await
            .unwrap();
        let applied = apply(&mut tx, AUTHORITY, need, now()).await.unwrap();
        tx.commit().await.unwrap();
        applied
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
            death: Death {
                date: None,
                version: 0,
            },
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

fn plan_of(
    plan: Uuid,
    child: Uuid,
    start: NaiveDate,
    pre_birth: bool,
) -> cases::ChildProtectionPlan {
    cases::ChildProtectionPlan {
        id: plan.to_string(),
        child_id: child.to_string(),
        start_date: pd(start),
        pre_birth,
        status: cases::PlanStatus::Active as i32,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_plans_end_takes_its_child_off_the_review_reconvened_after_it_met_inquorate() {
    let diary = Diary::new().await;
    let (case, amy, ben) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let (amy_plan, ben_plan) = (Uuid::now_v7(), Uuid::now_v7());
    diary.knows(amy, case).await;
    diary.knows(ben, case).await;
    // Both plans started at the conference of Monday 30 March 2026: the
    // siblings' first review is due Tuesday 30 June.
    let icpc = date(2026, 3, 30);
    let [_, Applied::Created(review)] = diary
        .feed(&plan_event("PlanStarted", amy_plan, amy, icpc))
        .await[..]
    else {
        panic!("core group and review")
    };
    diary
        .feed(&plan_event("PlanStarted", ben_plan, ben, icpc))
        .await;
    // It met inquorate on Monday 29 June, and reconvenes within 10
    // working days, by Monday 13 July.
    let ctx = booking::ctx(&AuthorityProfile::default());
    booking::book(&diary.pool, &ctx, review, date(2026, 6, 29), None).await;
    let reconvened = booking::inquorate(&diary.pool, &ctx, review, date(2026, 6, 29)).await;
    assert_eq!(reconvened.statutory_due_date, pd(date(2026, 7, 13)));
    let reconvened = Uuid::parse_str(&reconvened.id).unwrap();

    // Amy turns 18 on 1 July and her plan ends: nothing further is held
    // for her, the reconvened review included; Ben's stands.
    assert_eq!(
        diary
            .feed(&plan_event("PlanEnded", amy_plan, amy, icpc))
            .await,
        [Applied::LeftReviews(vec![reconvened])]
    );
    let (status, due, children) = diary.conference(AUTHORITY, reconvened).await.unwrap();
    assert_eq!((status.as_str(), due), ("due", date(2026, 7, 13)));
    assert_eq!(children, [ben]);
    // Ben's ends too: it is cancelled, not left due (and overdue) for ever.
    assert_eq!(
        diary
            .feed(&plan_event("PlanEnded", ben_plan, ben, icpc))
            .await,
        [Applied::LeftReviews(vec![reconvened])]
    );
    let cancelled = diary.load(reconvened).await;
    assert_eq!(cancelled.status, pb::ConferenceStatus::Cancelled as i32);
    assert_eq!(
        cancelled.cancellation_reason,
        "The plans of every child it was for have ended."
    );
    let events = outbox::read_after(&diary.pool, 0, &Filter::default(), 1000)
        .await
        .unwrap();
    let last_conference = events
        .iter()
        .rev()
        .find(|e| e.aggregate_type == "Conference")
        .unwrap();
    assert_eq!(
        last_conference.event_type,
        "cpc.scheduling.v1.ConferenceCancelled"
    );
    assert_eq!(last_conference.aggregate_id, reconvened.to_string());
}

/// `ChildDied` for `child` of `case`, dead since 6 May 2026.
fn child_died(case: Uuid, child: Uuid) -> common::ChangeEvent {
    child_record("ChildDied", (case, child), Some(date(2026, 5, 6)), 0)
}

#[tokio::test]
async fn a_childs_death_takes_them_off_every_conference_and_core_group_still_to_be_held() {
    let diary = Diary::new().await;
    // Amy and Ben share the initial conference their enquiry made due; Eve
    // is moving in on another authority's plan; Cal and Dee's plans share
    // a core group and a review.
    let (family, amy, ben, discussion) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let (movers, eve) = (Uuid::now_v7(), Uuid::now_v7());
    let (planned, cal, dee) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let (cal_plan, dee_plan) = (Uuid::now_v7(), Uuid::now_v7());
    for (child, case) in [
        (amy, family),
        (ben, family),
        (eve, movers),
        (cal, planned),
        (dee, planned),
    ] {
        diary.knows(child, case).await;
    }
    let on = date(2026, 4, 20);
    diary
        .follow(&s47_started(family, amy, discussion, on))
        .await;
    diary
        .follow(&s47_started(family, ben, discussion, on))
        .await;
    let [icpc] = diary.open_of(amy, "initial").await[..] else {
        panic!("one initial conference")
    };
    diary
        .follow(&event(
            "TransferInRecorded",
            &cases::TransferInRecorded {
                transfer_in: Some(cases::TransferIn {
                    id: Uuid::now_v7().to_string(),
                    child_id: eve.to_string(),
                    notification_date: pd(on),
                    ..Default::default()
                }),
                case_id: movers.to_string(),
            },
        ))
        .await;
    let [transfer_in] = diary.open_of(eve, "transfer_in").await[..] else {
        panic!("one transfer-in conference")
    };
    for (plan, child) in [(cal_plan, cal), (dee_plan, dee)] {
        diary
            .follow(&event(
                "PlanStarted",
                &cases::PlanStarted {
                    plan: Some(plan_of(plan, child, on, false)),
                },
            ))
            .await;
    }
    let [review] = diary.open_of(cal, "review").await[..] else {
        panic!("one review")
    };
    let before = diary.feed_types().await.len();

    // Amy dies during the enquiry: she leaves the conference, which Ben
    // still needs.
    diary.follow(&child_died(family, amy)).await;
    let (status, _, children) = diary.conference(AUTHORITY, icpc).await.unwrap();
    assert_eq!((status.as_str(), children), ("due", vec![ben]));
    // Ben too: nobody needs it, so it is cancelled, saying why.
    diary.follow(&child_died(family, ben)).await;
    let cancelled = diary.load(icpc).await;
    assert_eq!(cancelled.status, pb::ConferenceStatus::Cancelled as i32);
    assert_eq!(
        cancelled.cancellation_reason,
        "The last child it was for has died."
    );
    // Eve, before the transfer-in conference.
    diary.follow(&child_died(movers, eve)).await;
    assert_eq!(
        diary.conference(AUTHORITY, transfer_in).await.unwrap().0,
        "cancelled"
    );

    // Cal, on a plan: he leaves the review and the core group meeting he
    // shares with Dee, with his plan, before cases ends it.
    let meeting = || async {
        let mut tx = db::begin_for_authority(&diary.pool, AUTHORITY)
            .await
            .unwrap();
        let row: (Uuid, Vec<Uuid>, Vec<Uuid>, String) = sqlx::query_as(
            "SELECT id, child_ids, plan_ids, status FROM core_group_meetings WHERE case_id = $1",
        )
        .bind(planned)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        tx.rollback().await.unwrap();
        row
    };
    let (_, children, plans, _) = meeting().await;
    assert_eq!(children.len(), 2);
    assert_eq!(plans.len(), 2);
    diary.follow(&child_died(planned, cal)).await;
    let (status, _, children) = diary.conference(AUTHORITY, review).await.unwrap();
    assert_eq!((status.as_str(), children), ("due", vec![dee]));
    let (_, children, plans, status) = meeting().await;
    assert_eq!(
        (children, plans, status.as_str()),
        (vec![dee], vec![dee_plan], "due")
    );
    let types = diary.feed_types().await;
    assert_eq!(
        types[before..],
        [
            "ConferenceRecomputed",
            "ConferenceCancelled",
            "ConferenceCancelled",
            "ConferenceRecomputed",
            "CoreGroupMeetingDue"
        ]
    );
    // The plan cases then ends finds nothing left to take him off.
    let ended = cases::ChildProtectionPlan {
        status: cases::PlanStatus::Ended as i32,
        end_date: pd(date(2026, 5, 6)),
        ..plan_of(cal_plan, cal, on, false)
    };
    diary
        .follow(&event("PlanEnded", &cases::PlanEnded { plan: Some(ended) }))
        .await;
    assert_eq!(diary.feed_types().await.len(), types.len());
}

#[tokio::test]
async fn a_plan_ending_after_its_child_died_comes_off_the_meeting_it_was_left_on() {
    // A plan scheduling never learnt (its events applied before plans were
    // kept) stays on the meeting its child left at death, until it ends.
    let diary = Diary::new().await;
    let (case, cal, dee) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let (cal_plan, dee_plan) = (Uuid::now_v7(), Uuid::now_v7());
    diary.knows(cal, case).await;
    diary.knows(dee, case).await;
    let icpc = date(2026, 4, 20);
    diary
        .feed(&plan_event("PlanStarted", cal_plan, cal, icpc))
        .await;
    diary
        .feed(&plan_event("PlanStarted", dee_plan, dee, icpc))
        .await;
    diary.feed(&child_died(case, cal)).await;
    let plans = || async {
        let mut tx = db::begin_for_authority(&diary.pool, AUTHORITY)
            .await
            .unwrap();
        let row: (Vec<Uuid>, Vec<Uuid>) = sqlx::query_as(
            "SELECT child_ids, plan_ids FROM core_group_meetings WHERE case_id = $1",
        )
        .bind(case)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        tx.rollback().await.unwrap();
        row
    };
    assert_eq!(plans().await.0, [dee]);
    assert_eq!(plans().await.1.len(), 2);
    diary
        .feed(&plan_event("PlanEnded", cal_plan, cal, icpc))
        .await;
    assert_eq!(plans().await, (vec![dee], vec![dee_plan]));
}

/// A child event of `event_type` carrying version `version` of the record
/// of `child` (born in 2020), dead since `died` if given. The child is field
/// 1 of every child event, and `ChildUpdated`'s changed fields are not read
/// here, so each is encoded as `ChildRegistered`.
fn child_record(
    event_type: &str,
    (case, child): (Uuid, Uuid),
    died: Option<NaiveDate>,
    version: i64,
) -> common::ChangeEvent {
    event(
        event_type,
        &cases::ChildRegistered {
            child: Some(cases::Child {
                id: child.to_string(),
                case_id: case.to_string(),
                version,
                birth_date: pd(date(2020, 1, 1)),
                death_date: died.and_then(pd),
                ..Default::default()
            }),
        },
    )
}

#[tokio::test]
async fn nothing_is_made_due_for_a_child_after_their_death_is_recorded() {
    let diary = Diary::new().await;
    let (case, amy, ben, discussion) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    for child in [amy, ben] {
        diary
            .follow(&child_record("ChildRegistered", (case, child), None, 1))
            .await;
    }
    // Amy dies on 6 May. Cases records it as an update, then the death.
    let died = Some(date(2026, 5, 6));
    diary
        .follow(&child_record("ChildUpdated", (case, amy), died, 2))
        .await;
    diary
        .follow(&child_record("ChildDied", (case, amy), died, 2))
        .await;
    // The enquiry a strategy discussion of 4 May started for both children
    // is recorded after her death: only Ben's conference is made due.
    let held = date(2026, 5, 4);
    assert_eq!(
        diary.feed(&s47_started(case, amy, discussion, held)).await,
        [Applied::ChildHasDied]
    );
    let [Applied::Created(icpc)] = diary.feed(&s47_started(case, ben, discussion, held)).await[..]
    else {
        panic!("Ben's initial conference is created")
    };
    assert_eq!(diary.conference(AUTHORITY, icpc).await.unwrap().2, [ben]);
    // Nor does a plan of hers whose start is applied after her death make a
    // core group meeting or a review due.
    assert_eq!(
        diary
            .feed(&plan_event("PlanStarted", Uuid::now_v7(), amy, held))
            .await,
        [Applied::ChildHasDied, Applied::ChildHasDied]
    );
    assert!(diary.open_of(amy, "review").await.is_empty());

    // Her death was recorded in error, and the record is corrected: the
    // enquiry's conference is hers too.
    diary
        .follow(&child_record("ChildUpdated", (case, amy), None, 3))
        .await;
    assert_eq!(
        diary.feed(&s47_started(case, amy, discussion, held)).await,
        [Applied::Joined(icpc)]
    );
}

#[tokio::test]
async fn a_death_applied_before_deaths_were_kept_is_learnt_by_a_follow_of_its_own() {
    let diary = Diary::new().await;
    let (case, amy, discussion) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let held = date(2026, 5, 4);
    let died = Some(date(2026, 5, 6));
    // Scheduling learnt Amy's case, and applied her death, before it kept
    // deaths: it knows her as living.
    diary.knows(amy, case).await;
    // The follow of deaths reads her records from the feed's start.
    diary
        .follow_as(
            &CHILD_DEATHS_FEED,
            &child_record("ChildRegistered", (case, amy), None, 1),
        )
        .await;
    diary
        .follow_as(
            &CHILD_DEATHS_FEED,
            &child_record("ChildDied", (case, amy), died, 2),
        )
        .await;
    assert_eq!(
        diary.feed(&s47_started(case, amy, discussion, held)).await,
        [Applied::ChildHasDied]
    );
    // An older record of her, read by either follow while behind the
    // other, does not bring her back.
    let older = child_record("ChildUpdated", (case, amy), None, 1);
    diary.follow_as(&CHILD_DEATHS_FEED, &older).await;
    diary.follow(&older).await;
    assert_eq!(
        diary.feed(&s47_started(case, amy, discussion, held)).await,
        [Applied::ChildHasDied]
    );
    // A newer one does: her death was recorded in error.
    diary
        .follow_as(
            &CHILD_DEATHS_FEED,
            &child_record("ChildUpdated", (case, amy), None, 3),
        )
        .await;
    assert!(matches!(
        diary.feed(&s47_started(case, amy, discussion, held)).await[..],
        [Applied::Created(_)]
    ));

    // A child the main follow has not reached yet is left to it: it learns
    // the child whole, death included, and takes them off what their
    // enquiry made due.
    let eve = Uuid::now_v7();
    let eve_died = child_record("ChildDied", (case, eve), died, 2);
    diary.follow_as(&CHILD_DEATHS_FEED, &eve_died).await;
    diary
        .follow(&s47_started(case, eve, Uuid::now_v7(), held))
        .await;
    assert_eq!(diary.open_of(eve, "initial").await.len(), 1);
    diary.follow(&eve_died).await;
    assert!(diary.open_of(eve, "initial").await.is_empty());
}

fn registered(case: Uuid, child: Uuid, expected: NaiveDate) -> common::ChangeEvent {
    event(
        "ChildRegistered",
        &cases::ChildRegistered {
            child: Some(cases::Child {
                id: child.to_string(),
                case_id: case.to_string(),
                expected_birth_date: pd(expected),
                ..Default::default()
            }),
        },
    )
}

fn updated(
    case: Uuid,
    child: Uuid,
    (born, expected): (Option<NaiveDate>, NaiveDate),
    field: &str,
) -> common::ChangeEvent {
    event(
        "ChildUpdated",
        &cases::ChildUpdated {
            child: Some(cases::Child {
                id: child.to_string(),
                case_id: case.to_string(),
                birth_date: born.and_then(pd),
                expected_birth_date: pd(expected),
                ..Default::default()
            }),
            changed_fields: vec![field.into()],
        },
    )
}

#[tokio::test]
async fn a_pre_birth_plan_recorded_after_the_birth_makes_the_post_birth_review_due() {
    let diary = Diary::new().await;
    let (case, baby, plan) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let expected = date(2026, 7, 20);
    diary.follow(&registered(case, baby, expected)).await;
    // The pre-birth conference was held on Thursday 30 April 2026; the
    // baby was born on Sunday 3 May (recorded on the 5th), before the
    // conference's outcome was recorded on the 6th: the birth finds no
    // plan, so makes nothing due.
    let born = date(2026, 5, 3);
    diary
        .follow(&updated(case, baby, (Some(born), expected), "birth_date"))
        .await;
    diary.follow(&child_born(case, baby, born)).await;
    assert!(diary.feed_types().await.is_empty());

    // The plan the conference started: its post-birth review is due 10
    // working days after the birth (Monday 4 May is a bank holiday).
    let started = event(
        "PlanStarted",
        &cases::PlanStarted {
            plan: Some(plan_of(plan, baby, date(2026, 4, 30), true)),
        },
    );
    diary.follow(&started).await;
    let [post_birth] = diary.open_of(baby, "post_birth_review").await[..] else {
        panic!("one post-birth review")
    };
    let review = diary.load(post_birth).await;
    assert_eq!(review.statutory_due_date, pd(date(2026, 5, 18)));
    let basis = review.due_date_basis.unwrap();
    assert_eq!(basis.event, pb::DueDateEvent::Birth as i32);
    assert_eq!(basis.event_date, pd(born));
    // Beside the plan's ordinary review and first core group, as when the
    // baby is born on the plan.
    assert_eq!(diary.open_of(baby, "review").await.len(), 1);
    assert_eq!(
        diary.feed_types().await,
        ["CoreGroupMeetingDue", "ConferenceDue", "ConferenceDue"]
    );
    // Delivered again, it makes nothing more due.
    diary.follow(&started).await;
    assert_eq!(diary.feed_types().await.len(), 3);

    // A plan a pre-birth conference did not start needs no such review.
    let (older, older_plan) = (Uuid::now_v7(), Uuid::now_v7());
    diary.knows(older, case).await;
    diary
        .follow(&event(
            "PlanStarted",
            &cases::PlanStarted {
                plan: Some(plan_of(older_plan, older, date(2026, 4, 30), false)),
            },
        ))
        .await;
    assert!(diary.open_of(older, "post_birth_review").await.is_empty());
}

#[tokio::test]
async fn a_revised_expected_birth_date_recounts_the_pre_birth_conference_still_to_be_held() {
    let diary = Diary::new().await;
    let (case, baby, discussion) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    diary
        .follow(&registered(case, baby, date(2027, 6, 1)))
        .await;
    // The strategy discussion of Wednesday 4 November 2026 starts the
    // enquiry: due by 28 weeks of gestation, Tuesday 9 March 2027.
    diary
        .follow(&s47_started(case, baby, discussion, date(2026, 11, 4)))
        .await;
    let [conference] = diary.open_of(baby, "pre_birth").await[..] else {
        panic!("one pre-birth conference")
    };
    let due = |c: &pb::Conference| c.statutory_due_date;
    assert_eq!(due(&diary.load(conference).await), pd(date(2027, 3, 9)));

    // The scan puts the birth five weeks later, on 6 July 2027: 28 weeks is
    // Tuesday 13 April.
    let revise = |expected| updated(case, baby, (None, expected), "expected_birth_date");
    diary.follow(&revise(date(2027, 7, 6))).await;
    let recounted = diary.load(conference).await;
    assert_eq!(due(&recounted), pd(date(2027, 4, 13)));
    let basis = recounted.due_date_basis.unwrap();
    assert_eq!(basis.event, pb::DueDateEvent::ExpectedBirth as i32);
    assert_eq!(basis.event_date, pd(date(2027, 7, 6)));
    // Then on 20 December 2026: 28 weeks was already past when the
    // enquiry started, and the 15 working days after the discussion (25
    // November) govern, as when the conference was first made due.
    diary.follow(&revise(date(2026, 12, 20))).await;
    let recounted = diary.load(conference).await;
    assert_eq!(due(&recounted), pd(date(2026, 11, 25)));
    let basis = recounted.due_date_basis.unwrap();
    assert_eq!(basis.event, pb::DueDateEvent::StrategyDiscussion as i32);
    assert_eq!(basis.event_date, pd(date(2026, 11, 4)));
    // And back.
    diary.follow(&revise(date(2027, 7, 6))).await;
    assert_eq!(due(&diary.load(conference).await), pd(date(2027, 4, 13)));
    // Other changes to the child recount nothing.
    diary
        .follow(&updated(
            case,
            baby,
            (None, date(2027, 7, 6)),
            "given_names",
        ))
        .await;
    assert_eq!(
        diary.feed_types().await,
        [
            "ConferenceDue",
            "ConferenceRecomputed",
            "ConferenceRecomputed",
            "ConferenceRecomputed"
        ]
    );

    // Once no longer to be held (here cancelled by hand), a revision
    // recounts nothing and makes nothing due.
    let mut tx = db::begin_for_authority(&diary.pool, AUTHORITY)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE conferences SET status = 'cancelled', cancellation_reason = 'Not needed' \
         WHERE id = $1",
    )
    .bind(conference)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    diary.follow(&revise(date(2027, 8, 3))).await;
    assert_eq!(diary.feed_types().await.len(), 4);
    assert!(diary.open_of(baby, "pre_birth").await.is_empty());
}

#[tokio::test]
async fn a_pre_birth_conference_whose_discussion_date_is_unknown_is_left_as_it_was() {
    // Counted from the expected birth before scheduling kept discussions'
    // dates: whether the 15 working days would now govern cannot be told.
    let diary = Diary::new().await;
    let (case, baby, discussion) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    diary
        .follow(&registered(case, baby, date(2027, 6, 1)))
        .await;
    let timescales = Timescales::new(&AuthorityProfile::default()).unwrap();
    let [initial] = &needs(
        &s47_started(case, baby, discussion, date(2026, 11, 4)),
        &timescales,
    )
    .unwrap()[..] else {
        panic!("one need")
    };
    let pre_birth =
        cpc_scheduling::due::pre_birth(initial.clone(), date(2027, 6, 1), &timescales).unwrap();
    let Applied::Created(conference) = diary.apply(&pre_birth).await else {
        panic!("created")
    };
    diary
        .follow(&updated(
            case,
            baby,
            (None, date(2027, 7, 6)),
            "expected_birth_date",
        ))
        .await;
    let kept = diary.load(conference).await;
    assert_eq!(kept.statutory_due_date, pd(date(2027, 3, 9)));
    assert_eq!(diary.feed_types().await, ["ConferenceDue"]);
}

fn initial_need(case: Uuid, child: Uuid, due: NaiveDate) -> Need {
    Need::Conference {
        kind: common::ConferenceKind::Initial,
        case_id: Some(case.to_string()),
        child_id: child.to_string(),
        due,
        basis: Basis {
            event: DueEvent::StrategyDiscussion,
            event_date: date(2026, 5, 21),
            source_id: "sd-1".into(),
            amount: 15,
            unit: Unit::WorkingDays,
            nation: cpc_rules::Nation::EnglandAndWales,
            explanation: "15 working days after the strategy discussion".into(),
        },
    }
}

#[tokio::test]
async fn a_booking_the_due_date_moves_before_is_flagged_past_its_deadline() {
    let diary = Diary::new().await;
    let (case, amy, ben) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    // Due Friday 12 June 2026, booked in time on Wednesday 10 June.
    let Applied::Created(icpc) = diary
        .apply(&initial_need(case, amy, date(2026, 6, 12)))
        .await
    else {
        panic!("created")
    };
    let ctx = booking::ctx(&AuthorityProfile::default());
    let booked = booking::book(&diary.pool, &ctx, icpc, date(2026, 6, 10), None).await;
    assert!(!booked.booked_past_deadline);

    // A sibling whose deadline is Friday 5 June joins: the booking is now
    // past the conference's deadline, through no booking of anyone's. It
    // is flagged, with no reason, on the feed as in the diary.
    assert_eq!(
        diary
            .apply(&initial_need(case, ben, date(2026, 6, 5)))
            .await,
        Applied::Joined(icpc)
    );
    let late = diary.load(icpc).await;
    assert_eq!(late.statutory_due_date, pd(date(2026, 6, 5)));
    assert!(late.booked_past_deadline);
    assert_eq!(late.past_deadline_reason, "");
    let events = outbox::read_after(&diary.pool, 0, &Filter::default(), 1000)
        .await
        .unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.event_type, "cpc.scheduling.v1.ConferenceRecomputed");
    let announced = pb::ConferenceRecomputed::decode(last.payload.as_slice())
        .unwrap()
        .conference
        .unwrap();
    assert!(announced.booked_past_deadline);

    // He leaves: in time again, and no longer flagged.
    diary
        .apply(&Need::IcpcNotRequired {
            child_id: ben.to_string(),
            source_id: "sd-1".into(),
        })
        .await;
    let in_time = diary.load(icpc).await;
    assert_eq!(in_time.statutory_due_date, pd(date(2026, 6, 12)));
    assert!(!in_time.booked_past_deadline);

    // Back late, it is held as booked: the reason nobody gave is asked for
    // then, as for any conference held late.
    diary
        .apply(&initial_need(case, ben, date(2026, 6, 5)))
        .await;
    let refused = booking::hold(&diary.pool, &ctx, icpc, date(2026, 6, 10), None)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("past_deadline_reason"),
        "{refused}"
    );
    let held = booking::hold(
        &diary.pool,
        &ctx,
        icpc,
        date(2026, 6, 10),
        Some("Booked before Ben's enquiry joined the conference"),
    )
    .await
    .unwrap();
    assert!(held.booked_past_deadline);
    assert_eq!(
        held.past_deadline_reason,
        "Booked before Ben's enquiry joined the conference"
    );
}
