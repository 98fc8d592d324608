//! Drift findings on conferences, core group meetings and the reports they
//! ask for, in escalation's own store against Postgres: what puts a late
//! meeting right (a later one held for the same child, not a sibling's),
//! letting go of what served only plans that have ended, and a sweep that
//! carries on past a subject it cannot assess (and tells an escalation's
//! response overdue at a new version). Dates are counted back from
//! the real today, since the feeds' followers assess as of now.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test stops on bad setup"
)]

use chrono::{DateTime, Days, NaiveDate, Utc};
use cpc_escalation::store::cases::{self, Kept, Learnt};
use cpc_escalation::store::drift::{
    self, Assessor, KeptAction, KeptMeeting, MeetingKind, ReportRequest, SubjectRef,
};
use cpc_platform::testing::TestDatabase;
use cpc_platform::{Config, db};
use cpc_proto::cases::v1 as cases_pb;
use cpc_proto::common::v1 as common;
use cpc_rules::drift::Meeting;
use prost::Message;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

const AUTHORITY: &str = "E10000013";

/// A fresh, migrated database and a pool on it as the service's role.
async fn database() -> (TestDatabase, PgPool) {
    TestDatabase::for_service(cpc_escalation::SCHEMA, &cpc_escalation::MIGRATOR).await
}

fn assessor(now: DateTime<Utc>) -> Assessor {
    cpc_escalation::sweep::assessor(&Config::default(), AUTHORITY, now).unwrap()
}

/// `days` before today.
fn ago(at: &Assessor, days: u64) -> NaiveDate {
    at.today.checked_sub_days(Days::new(days)).unwrap()
}

/// Escalation learns from the cases feed that `child` is of `case`.
async fn child_of(conn: &mut PgConnection, child: Uuid, case: Uuid) {
    let learnt = Learnt {
        kept: Kept::Child,
        id: child,
        parent: case,
        version: 1,
        ended: false,
        started: None,
    };
    cases::learn(conn, AUTHORITY, &learnt, Utc::now())
        .await
        .unwrap();
}

/// Escalation learns from the cases feed that `plan` of `child` started
/// `started`.
async fn plan_started(conn: &mut PgConnection, plan: Uuid, child: Uuid, started: NaiveDate) {
    let learnt = Learnt {
        kept: Kept::Plan,
        id: plan,
        parent: child,
        version: 1,
        ended: false,
        started: Some(started),
    };
    cases::learn(conn, AUTHORITY, &learnt, Utc::now())
        .await
        .unwrap();
}

/// The cases feed tells escalation that `plan` of `child` ended (`status`
/// ENDED with an end date, or TRANSFERRED_OUT without one), applied as
/// the follower applies it.
async fn plan_ended(
    conn: &mut PgConnection,
    plan: Uuid,
    child: Uuid,
    started: NaiveDate,
    status: cases_pb::PlanStatus,
) {
    let date = |d: NaiveDate| Some(cpc_platform::convert::date_to_proto(d));
    let ended = cases_pb::PlanEnded {
        plan: Some(cases_pb::ChildProtectionPlan {
            id: plan.to_string(),
            version: 2,
            child_id: child.to_string(),
            authority_id: AUTHORITY.into(),
            status: status as i32,
            start_date: date(started),
            end_date: (status == cases_pb::PlanStatus::Ended)
                .then(|| date(Utc::now().date_naive()))
                .flatten(),
            ..Default::default()
        }),
    };
    let event = common::ChangeEvent {
        sequence: 1,
        event_id: Uuid::new_v4().to_string(),
        aggregate_type: "ChildProtectionPlan".into(),
        aggregate_id: plan.to_string(),
        event_type: "cpc.cases.v1.PlanEnded".into(),
        authority_id: AUTHORITY.into(),
        child_ids: vec![child.to_string()],
        payload: ended.encode_to_vec(),
        aggregate_version: 2,
        ..Default::default()
    };
    (cpc_escalation::follow::CASES_FEED.apply)(conn, &event, &Config::default())
        .await
        .unwrap();
}

fn meeting(
    kind: MeetingKind,
    case: Uuid,
    children: &[Uuid],
    plans: &[Uuid],
    due: NaiveDate,
    state: Meeting,
) -> KeptMeeting {
    KeptMeeting {
        id: Uuid::now_v7(),
        kind,
        case_id: case,
        child_ids: children.to_vec(),
        plan_ids: plans.to_vec(),
        due_on: due,
        state,
        version: 1,
        reconvenes: None,
        reports_due_on: None,
    }
}

/// Escalation learns `meeting` from scheduling's feed and assesses it,
/// and, once it is held, the case's late meetings, as the follower does.
async fn learn(conn: &mut PgConnection, at: &Assessor, meeting: &KeptMeeting) {
    drift::learn_meeting(conn, AUTHORITY, meeting, at.now)
        .await
        .unwrap();
    let mut subjects = vec![SubjectRef::Meeting(meeting.id)];
    if meeting.state == Meeting::Held {
        for late in drift::late_meetings_of_case(conn, meeting.case_id)
            .await
            .unwrap()
        {
            subjects.push(SubjectRef::Meeting(late));
        }
    }
    drift::assess_all(conn, at, &subjects).await.unwrap();
}

/// The kind of the finding standing (not cleared) on `subject`, if any.
async fn standing(conn: &mut PgConnection, subject: Uuid) -> Option<String> {
    sqlx::query_scalar("SELECT kind FROM drift_findings WHERE subject_id = $1 AND NOT cleared")
        .bind(subject)
        .fetch_optional(conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_siblings_meeting_puts_nothing_right_for_another_child() {
    let (_db, pool) = database().await;
    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
    let at = assessor(Utc::now());
    let (case, amy, ben) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let (amys_plan, bens_plan) = (Uuid::new_v4(), Uuid::new_v4());
    for child in [amy, ben] {
        child_of(&mut tx, child, case).await;
    }
    plan_started(&mut tx, amys_plan, amy, ago(&at, 200)).await;
    plan_started(&mut tx, bens_plan, ben, ago(&at, 200)).await;

    // Amy's ICPC, due 60 days ago, was never held; her brother's own
    // ICPC, due ten days after hers, was.
    let amys = meeting(
        MeetingKind::InitialConference,
        case,
        &[amy],
        &[],
        ago(&at, 60),
        Meeting::Due,
    );
    learn(&mut tx, &at, &amys).await;
    let late = Some("initial_conference_late".to_owned());
    assert_eq!(standing(&mut tx, amys.id).await, late);
    let bens = meeting(
        MeetingKind::InitialConference,
        case,
        &[ben],
        &[],
        ago(&at, 50),
        Meeting::Held,
    );
    learn(&mut tx, &at, &bens).await;
    assert_eq!(
        standing(&mut tx, amys.id).await,
        late,
        "Ben's conference is not Amy's"
    );

    // Amy's core group missed; Ben's (another plan's) held since.
    let amys_core_group = meeting(
        MeetingKind::CoreGroup,
        case,
        &[amy],
        &[amys_plan],
        ago(&at, 40),
        Meeting::Missed,
    );
    learn(&mut tx, &at, &amys_core_group).await;
    let missed = Some("core_group_missed".to_owned());
    assert_eq!(standing(&mut tx, amys_core_group.id).await, missed);
    let bens_core_group = meeting(
        MeetingKind::CoreGroup,
        case,
        &[ben],
        &[bens_plan],
        ago(&at, 30),
        Meeting::Held,
    );
    learn(&mut tx, &at, &bens_core_group).await;
    assert_eq!(standing(&mut tx, amys_core_group.id).await, missed);

    // A conference held for both of them, and Amy's next core group of
    // her plan, put hers right.
    let together = meeting(
        MeetingKind::InitialConference,
        case,
        &[amy, ben],
        &[],
        ago(&at, 20),
        Meeting::Held,
    );
    learn(&mut tx, &at, &together).await;
    assert_eq!(standing(&mut tx, amys.id).await, None);
    let next = meeting(
        MeetingKind::CoreGroup,
        case,
        &[amy],
        &[amys_plan],
        ago(&at, 10),
        Meeting::Held,
    );
    learn(&mut tx, &at, &next).await;
    assert_eq!(standing(&mut tx, amys_core_group.id).await, None);
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn meetings_and_reports_for_plans_that_all_ended_are_let_go() {
    let (_db, pool) = database().await;
    let at = assessor(Utc::now());
    let (case, amy, ben) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let (amys_plan, bens_plan) = (Uuid::new_v4(), Uuid::new_v4());
    let started = ago(&at, 200);
    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
    for child in [amy, ben] {
        child_of(&mut tx, child, case).await;
    }
    plan_started(&mut tx, amys_plan, amy, started).await;
    plan_started(&mut tx, bens_plan, ben, started).await;

    // The siblings' core group meeting was missed two months ago; their
    // review, booked for a month ago, was not held, and the health
    // visitor's report for it never came.
    let core_group = meeting(
        MeetingKind::CoreGroup,
        case,
        &[amy, ben],
        &[amys_plan, bens_plan],
        ago(&at, 60),
        Meeting::Missed,
    );
    learn(&mut tx, &at, &core_group).await;
    let mut review = meeting(
        MeetingKind::ReviewConference,
        case,
        &[amy, ben],
        &[],
        ago(&at, 28),
        Meeting::Booked(ago(&at, 30)),
    );
    review.reports_due_on = Some(ago(&at, 33));
    learn(&mut tx, &at, &review).await;
    let request = ReportRequest {
        id: Uuid::new_v4(),
        conference_id: review.id,
        invitee: common::PersonRef {
            person_id: Uuid::new_v4().to_string(),
            display_name: "Health Visitor".into(),
            agency_kind: common::AgencyKind::Health as i32,
            agency_name: "Community Health".into(),
        },
        version: 1,
    };
    drift::learn_report_request(&mut tx, AUTHORITY, &request, at.now)
        .await
        .unwrap();
    drift::assess(&mut tx, &at, SubjectRef::Report(request.id))
        .await
        .unwrap();
    let expected = [
        (core_group.id, Some("core_group_missed".to_owned())),
        (review.id, Some("review_late".to_owned())),
        (request.id, Some("report_late".to_owned())),
    ];
    for (subject, kind) in &expected {
        assert_eq!(&standing(&mut tx, *subject).await, kind);
    }
    tx.commit().await.unwrap();

    // Amy's plan ends: Ben's is still in force, so all three still stand.
    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
    plan_ended(
        &mut tx,
        amys_plan,
        amy,
        started,
        cases_pb::PlanStatus::Ended,
    )
    .await;
    for (subject, kind) in &expected {
        assert_eq!(&standing(&mut tx, *subject).await, kind);
    }
    tx.commit().await.unwrap();

    // Ben moves to another authority (his plan transferred out): nothing
    // more is expected of any of them, and each finding is cleared.
    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
    plan_ended(
        &mut tx,
        bens_plan,
        ben,
        started,
        cases_pb::PlanStatus::TransferredOut,
    )
    .await;
    for (subject, _) in &expected {
        assert_eq!(standing(&mut tx, *subject).await, None);
    }
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM change_events")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // A month on, the sweep raises none of them again, nor refreshes one.
    let later = at.now.checked_add_days(Days::new(30)).unwrap();
    cpc_escalation::sweep::once(&pool, &Config::default(), AUTHORITY, later)
        .await
        .unwrap();
    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
    for (subject, _) in &expected {
        assert_eq!(standing(&mut tx, *subject).await, None);
    }
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM change_events")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(after, events, "nothing told");
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn the_sweep_carries_on_past_a_subject_it_cannot_assess() {
    let (db, pool) = database().await;
    let at = assessor(Utc::now());
    let (case, child, plan) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
    child_of(&mut tx, child, case).await;
    plan_started(&mut tx, plan, child, ago(&at, 200)).await;
    // Two actions a month late, learnt before they were (so the feed
    // found nothing), and an escalation whose response was due last week.
    let mut actions = Vec::new();
    for _ in 0..2 {
        let action = KeptAction {
            id: Uuid::now_v7(),
            plan_id: plan,
            child_id: child,
            description: "Health check".into(),
            owner: None,
            due_on: ago(&at, 30),
            done: false,
            version: 1,
        };
        drift::learn_action(&mut tx, AUTHORITY, &action, at.now)
            .await
            .unwrap();
        actions.push(action.id);
    }
    let person = common::PersonRef {
        person_id: Uuid::new_v4().to_string(),
        display_name: "Chair".into(),
        ..Default::default()
    };
    let escalation = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO escalations (id, authority_id, case_id, child_ids, raised_by, raised_by_id, \
                                  reason_kind, reason, stage, owner, owner_id, \
                                  response_due_on, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'drift_and_delay', 'Drift', 'team_manager', $5, $6, \
                 $7, 'open', $8, $8)",
    )
    .bind(escalation)
    .bind(AUTHORITY)
    .bind(case)
    .bind(vec![child])
    .bind(person.encode_to_vec())
    .bind(&person.person_id)
    .bind(ago(&at, 7))
    .bind(at.now)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // Another transaction holds the first action, and the sweep's wait for
    // it times out: that one subject fails however often it is tried.
    let mut holder = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
    sqlx::query("SELECT 1 FROM plan_actions WHERE id = $1 FOR UPDATE")
        .bind(actions[0])
        .execute(&mut *holder)
        .await
        .unwrap();
    let options = db::schema_options(db.url(), cpc_escalation::SCHEMA)
        .unwrap()
        .options([("lock_timeout", "300ms")]);
    let role = format!("SET ROLE \"{}\"", db::query_role(cpc_escalation::SCHEMA));
    let impatient = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .after_connect(move |conn, _| {
            let role = role.clone();
            Box::pin(async move {
                sqlx::query(&role).execute(conn).await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .unwrap();

    // The sweep assesses the other action, and tells the feed the
    // escalation's response is overdue.
    let assessed = cpc_escalation::sweep::once(&impatient, &Config::default(), AUTHORITY, at.now)
        .await
        .unwrap();
    assert_eq!(assessed, 1);
    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
    assert_eq!(standing(&mut tx, actions[0]).await, None);
    assert_eq!(
        standing(&mut tx, actions[1]).await,
        Some("plan_action_overdue".to_owned())
    );
    let told: (Option<NaiveDate>, i64) =
        sqlx::query_as("SELECT overdue_told_for, version FROM escalations WHERE id = $1")
            .bind(escalation)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(told, (Some(ago(&at, 7)), 2), "told, at a new version");
    let event_version: i64 = sqlx::query_scalar(
        "SELECT aggregate_version FROM change_events \
          WHERE event_type = 'cpc.escalation.v1.EscalationResponseOverdue'",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(event_version, 2);
    tx.rollback().await.unwrap();

    // Let go, the first is found at the next sweep.
    holder.rollback().await.unwrap();
    cpc_escalation::sweep::once(&impatient, &Config::default(), AUTHORITY, at.now)
        .await
        .unwrap();
    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
    assert_eq!(
        standing(&mut tx, actions[0]).await,
        Some("plan_action_overdue".to_owned())
    );
    tx.rollback().await.unwrap();
    impatient.close().await;
}

/// The ids of the findings listed for `case`, cleared or not.
async fn findings_of(conn: &mut PgConnection, case: Uuid) -> Vec<String> {
    let filter = drift::FindingFilter {
        case_id: Some(case),
        child_id: None,
        plan_id: None,
        kind: None,
        min_severity: None,
        status: drift::StatusFilter::Current,
        agency_kind: None,
        due_before: None,
        page: cpc_platform::paging::PageRequest::first(50),
    };
    drift::list(conn, &filter)
        .await
        .unwrap()
        .findings
        .into_iter()
        .map(|f| f.id)
        .collect()
}

#[tokio::test]
async fn a_moved_childs_finding_is_listed_in_their_case_now_not_the_one_it_was_made_in() {
    let (_db, pool) = database().await;
    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
    let at = assessor(Utc::now());
    let (old_case, new_case, amy, ben) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    for child in [amy, ben] {
        child_of(&mut tx, child, old_case).await;
    }
    // Amy's ICPC, due 60 days ago, was never held.
    let amys = meeting(
        MeetingKind::InitialConference,
        old_case,
        &[amy],
        &[],
        ago(&at, 60),
        Meeting::Due,
    );
    learn(&mut tx, &at, &amys).await;
    let found: Vec<String> = sqlx::query_scalar(
        "SELECT id::text FROM drift_findings WHERE subject_id = $1 AND NOT cleared",
    )
    .bind(amys.id)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert_eq!(found.len(), 1, "her conference is late");
    assert_eq!(findings_of(&mut tx, old_case).await, found);
    assert!(findings_of(&mut tx, new_case).await.is_empty());

    // Amy moves to another case; her brother stays. The finding keeps its
    // case, and is listed in hers.
    let moved = Learnt {
        kept: Kept::Child,
        id: amy,
        parent: new_case,
        version: 2,
        ended: false,
        started: None,
    };
    cases::learn(&mut tx, AUTHORITY, &moved, Utc::now())
        .await
        .unwrap();
    assert!(findings_of(&mut tx, old_case).await.is_empty());
    assert_eq!(findings_of(&mut tx, new_case).await, found);
    // An escalation raised in her case now may cite it; one raised in the
    // old case may not.
    let finding: Vec<Uuid> = found.iter().map(|f| f.parse().unwrap()).collect();
    assert_eq!(
        drift::first_stranger(&mut tx, new_case, &finding)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        drift::first_stranger(&mut tx, old_case, &finding)
            .await
            .unwrap(),
        Some(0)
    );
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn one_replica_sweeps_an_authority_in_an_interval() {
    use cpc_escalation::sweep::claim;
    let (_db, pool) = database().await;
    // Moves the authority's last sweep back by `minutes`.
    let back = async |minutes: i32| {
        let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
        sqlx::query("UPDATE drift_sweeps SET begun_at = begun_at - make_interval(mins => $1)")
            .bind(minutes)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    };
    assert!(claim(&pool, AUTHORITY).await.unwrap(), "the first sweep");
    assert!(
        !claim(&pool, AUTHORITY).await.unwrap(),
        "another replica soon after"
    );
    assert!(
        claim(&pool, "E06000001").await.unwrap(),
        "another authority is claimed apart"
    );
    // The interval is 15 minutes, less a minute's slack.
    back(13).await;
    assert!(!claim(&pool, AUTHORITY).await.unwrap(), "13 minutes on");
    back(1).await;
    assert!(claim(&pool, AUTHORITY).await.unwrap(), "14 minutes on");
    // Two replicas at once: one of them sweeps.
    back(60).await;
    let (first, second) = tokio::join!(claim(&pool, AUTHORITY), claim(&pool, AUTHORITY));
    assert!(
        first.unwrap() ^ second.unwrap(),
        "exactly one of two claims at once"
    );
}
