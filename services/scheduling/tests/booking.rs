//! Booking and moving conferences through the store, against Postgres (a
//! fresh database, queries as the service's plain role so row-level
//! security binds): when reports are due, and a move racing an allocation.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test"
)]

#[path = "fixture/booking.rs"]
#[allow(dead_code, reason = "not every helper is used here")]
mod booking;
mod fixture;

use fixture::{AUTHORITY, scheduling_database};

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::db;
use cpc_platform::idempotency::RequestKey;
use cpc_proto::common::v1 as common;
use cpc_proto::scheduling::v1 as pb;
use cpc_rules::Nation;
use cpc_rules::profile::AuthorityProfile;
use cpc_scheduling::due::{Basis, DueEvent, Need, Unit};
use cpc_scheduling::store::booking::{Move, NewConference};
use cpc_scheduling::store::chairs::{self, AllocationRequest};
use cpc_scheduling::store::needs::{self, Applied, ChildFacts, Death};
use sqlx::PgPool;
use uuid::Uuid;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn pd(d: NaiveDate) -> Option<common::Date> {
    use chrono::Datelike as _;
    Some(common::Date {
        year: d.year(),
        month: i32::try_from(d.month()).unwrap(),
        day: i32::try_from(d.day()).unwrap(),
    })
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

/// A conference of `kind` due `due` for a new child of `case`, as the
/// cases feed makes one due.
async fn due(pool: &PgPool, kind: common::ConferenceKind, case: Uuid, due: NaiveDate) -> Uuid {
    let child = Uuid::now_v7();
    let need = Need::Conference {
        kind,
        case_id: Some(case.to_string()),
        child_id: child.to_string(),
        due,
        basis: Basis {
            event: DueEvent::Manual,
            event_date: due,
            source_id: Uuid::now_v7().to_string(),
            amount: 0,
            unit: Unit::WorkingDays,
            nation: Nation::EnglandAndWales,
            explanation: "Set for this test".into(),
        },
    };
    let mut tx = db::begin_for_authority(pool, AUTHORITY).await.unwrap();
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
    needs::learn_child_case(&mut tx, AUTHORITY, &facts, now())
        .await
        .unwrap();
    let Applied::Created(id) = needs::apply(&mut tx, AUTHORITY, &need, now())
        .await
        .unwrap()
    else {
        panic!("created")
    };
    tx.commit().await.unwrap();
    id
}

fn leeds() -> AuthorityProfile {
    // DOMAIN.md local settings: reports 3 working days before an initial
    // conference, 5 before a review.
    AuthorityProfile {
        reports_before_icpc_working_days: 3,
        reports_before_rcpc_working_days: 5,
        ..AuthorityProfile::default()
    }
}

#[tokio::test]
async fn a_reconvened_conference_has_its_reports_due_as_the_kind_it_reconvenes() {
    let (_db, pool) = scheduling_database().await;
    let case = Uuid::now_v7();
    let review = due(
        &pool,
        common::ConferenceKind::Review,
        case,
        date(2026, 3, 13),
    )
    .await;
    let initial = due(
        &pool,
        common::ConferenceKind::Initial,
        case,
        date(2026, 3, 13),
    )
    .await;
    let ctx = booking::ctx(&leeds());
    // Both met inquorate on Thursday 12 March 2026.
    let mut reconvened = Vec::new();
    for id in [review, initial] {
        booking::book(&pool, &ctx, id, date(2026, 3, 12), None).await;
        let next = booking::inquorate(&pool, &ctx, id, date(2026, 3, 12)).await;
        assert_eq!(next.statutory_due_date, pd(date(2026, 3, 26)));
        reconvened.push(Uuid::parse_str(&next.id).unwrap());
    }
    let [review, initial] = reconvened[..] else {
        unreachable!()
    };
    // Reconvened on Friday 20 March: a review's reports are due 5 working
    // days before it, Friday 13 March; an initial conference's 3, Tuesday
    // 17 March.
    let friday = date(2026, 3, 20);
    let booked = booking::book(&pool, &ctx, review, friday, None).await;
    assert_eq!(booked.reports_due_date, pd(date(2026, 3, 13)));
    let booked = booking::book(&pool, &ctx, initial, friday, None).await;
    assert_eq!(booked.reports_due_date, pd(date(2026, 3, 17)));

    // Moved a week on (past its deadline, with the reason), the review's
    // are due 5 working days before the new date.
    let version = booking::version(&pool, review).await;
    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
    let moved = cpc_scheduling::store::booking::move_booking(
        &mut tx,
        &ctx,
        review,
        version,
        &Move {
            slot: booking::slot(date(2026, 3, 27), Some("The family asked for a later date")),
            reason: "family_request",
            reason_detail: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(moved.reports_due_date, pd(date(2026, 3, 20)));

    // One created by hand that names no conference it reconvenes has them
    // due by the earlier of the two settings.
    let child = Uuid::now_v7();
    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
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
    needs::learn_child_case(&mut tx, AUTHORITY, &facts, now())
        .await
        .unwrap();
    let ctx = booking::ctx(&leeds());
    let created = cpc_scheduling::store::booking::create(
        &mut tx,
        &ctx,
        &NewConference {
            key: RequestKey {
                method: cpc_scheduling::store::booking::CREATE_CONFERENCE,
                request_id: Uuid::now_v7(),
                fingerprint: [7; 32],
            },
            kind: "reconvened",
            case_id: case,
            child_ids: vec![child],
            due: date(2026, 3, 26),
            explanation: "Reconvening a meeting held outside the diary".into(),
            previous_conference_id: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let id = Uuid::parse_str(&created.conference.unwrap().id).unwrap();
    let booked = booking::book(&pool, &ctx, id, friday, None).await;
    assert_eq!(booked.reports_due_date, pd(date(2026, 3, 13)));
}

fn chair(id: Uuid) -> pb::Chair {
    pb::Chair {
        id: id.to_string(),
        person: Some(common::PersonRef {
            person_id: id.to_string(),
            display_name: "A. Chair".into(),
            ..Default::default()
        }),
        active: true,
        working_pattern: [
            pb::Weekday::Monday,
            pb::Weekday::Tuesday,
            pb::Weekday::Wednesday,
            pb::Weekday::Thursday,
            pb::Weekday::Friday,
        ]
        .into_iter()
        .map(|weekday| pb::WorkingPeriod {
            weekday: weekday as i32,
            start_minute: 9 * 60,
            end_minute: 17 * 60,
        })
        .collect(),
        max_conferences_per_day: 4,
        max_conferences_per_week: 20,
        max_children: 100,
        ..Default::default()
    }
}

async fn allocated(pool: &PgPool, id: Uuid) -> Option<Uuid> {
    let mut tx = db::begin_for_authority(pool, AUTHORITY).await.unwrap();
    let chair = sqlx::query_scalar("SELECT chair_id FROM conferences WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    chair
}

#[tokio::test]
async fn a_move_and_an_allocation_to_the_same_time_cannot_both_keep_the_chair() {
    let (_db, pool) = scheduling_database().await;
    let due_by = date(2026, 3, 20);
    let moving = due(
        &pool,
        common::ConferenceKind::Initial,
        Uuid::now_v7(),
        due_by,
    )
    .await;
    let other = due(
        &pool,
        common::ConferenceKind::Initial,
        Uuid::now_v7(),
        due_by,
    )
    .await;
    let ctx = booking::ctx(&AuthorityProfile::default());
    let the_chair = Uuid::now_v7();
    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
    let key = RequestKey {
        method: chairs::CREATE_CHAIR,
        request_id: Uuid::now_v7(),
        fingerprint: [1; 32],
    };
    chairs::create(&mut tx, &ctx, &key, &chair(the_chair))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // The only chair takes the conference on Monday 16 March at 10:00; the
    // other is booked for Tuesday at 10:00, not yet allocated.
    booking::book(&pool, &ctx, moving, date(2026, 3, 16), None).await;
    booking::book(&pool, &ctx, other, date(2026, 3, 17), None).await;
    let allocate = |id, version| AllocationRequest {
        conference_id: id,
        version,
        named: None,
        dry_run: false,
    };
    let version = booking::version(&pool, moving).await;
    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
    chairs::allocate(&mut tx, &ctx, &allocate(moving, version))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(allocated(&pool, moving).await, Some(the_chair));

    // The chair is allocated Tuesday's conference while the Monday one is
    // being moved to Tuesday at 10:00. Whichever counts second sees the
    // other: the move waits for the allocation, then finds the chair booked
    // and lets it go.
    let version = booking::version(&pool, other).await;
    let mut allocating = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
    chairs::allocate(&mut allocating, &ctx, &allocate(other, version))
        .await
        .unwrap();
    let version = booking::version(&pool, moving).await;
    let mover = pool.clone();
    let move_to_tuesday = tokio::spawn(async move {
        let ctx = booking::ctx(&AuthorityProfile::default());
        let mut tx = db::begin_for_authority(&mover, AUTHORITY).await.unwrap();
        cpc_scheduling::store::booking::move_booking(
            &mut tx,
            &ctx,
            moving,
            version,
            &Move {
                slot: booking::slot(date(2026, 3, 17), None),
                reason: "family_request",
                reason_detail: None,
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let waited = !move_to_tuesday.is_finished();
    allocating.commit().await.unwrap();
    move_to_tuesday.await.unwrap();
    // (The move was still running when the allocation committed: the two
    // did overlap.)
    assert!(waited, "the move ended before the allocation committed");
    assert_eq!(allocated(&pool, other).await, Some(the_chair));
    assert_eq!(allocated(&pool, moving).await, None);
}
