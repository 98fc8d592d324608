//! A child moved to another case (`UpdateChild` changing `case_id`) takes
//! their records with them in every list filtered by case, though each
//! record keeps the case it was made in: conferences, core group meetings
//! and a case's calendar (against Postgres, as the service's plain role so
//! row-level security binds). The records the audit service looks the
//! child up by include those made under their old case.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test"
)]

#[path = "fixture/diary.rs"]
mod diary;
mod fixture;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use cpc_platform::db;
use cpc_platform::paging::PageRequest;
use cpc_proto::scheduling::v1 as pb;
use cpc_scheduling::store::calendar::{self, Owner};
use cpc_scheduling::store::{conferences, core_groups};
use fixture::{AUTHORITY, scheduling_database};
use prost::Message as _;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// A seeded conference: its id, its case and its one child.
struct Seeded {
    id: Uuid,
    case_id: Uuid,
    child_id: Uuid,
}

/// `count` conferences, each of its own case about its own child, none of
/// whose cases scheduling has learnt from the cases feed.
async fn seeded(pool: &PgPool, count: u32) -> Vec<Seeded> {
    let ids = diary::seed(pool, AUTHORITY, count).await;
    let mut tx = db::begin_for_authority(pool, AUTHORITY).await.unwrap();
    let mut seeded = Vec::new();
    for id in ids {
        let (case_id, child_id): (Uuid, Uuid) = sqlx::query_as(
            "SELECT c.case_id, cc.child_id FROM conferences c \
               JOIN conference_children cc ON cc.conference_id = c.id WHERE c.id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        seeded.push(Seeded {
            id,
            case_id,
            child_id,
        });
    }
    tx.rollback().await.unwrap();
    seeded
}

/// The cases feed says `child` is on `case`.
async fn on_case(conn: &mut PgConnection, child: Uuid, case: Uuid) {
    sqlx::query(
        "INSERT INTO child_cases (child_id, authority_id, case_id, updated_at) \
         VALUES ($1, $2, $3, now()) \
         ON CONFLICT (child_id) DO UPDATE SET case_id = excluded.case_id",
    )
    .bind(child)
    .bind(AUTHORITY)
    .bind(case)
    .execute(&mut *conn)
    .await
    .unwrap();
}

fn at(day: NaiveDate, hour: u32) -> DateTime<Utc> {
    day.and_hms_opt(hour, 0, 0).unwrap().and_utc()
}

/// Books conference `id` on the morning of `day`, as booking writes it.
async fn booked(conn: &mut PgConnection, id: Uuid, day: NaiveDate) {
    let venue = pb::Venue {
        name: "Conference room 1".into(),
        ..Default::default()
    };
    sqlx::query(
        "UPDATE conferences SET status = 'booked', start_time = $2, end_time = $3, venue = $4 \
          WHERE id = $1",
    )
    .bind(id)
    .bind(at(day, 10))
    .bind(at(day, 12))
    .bind(venue.encode_to_vec())
    .execute(&mut *conn)
    .await
    .unwrap();
}

/// A core group meeting of `case` about `child`, scheduled on the morning
/// of `day` (its due date's basis borrowed from any conference).
async fn meeting(conn: &mut PgConnection, case: Uuid, child: Uuid, day: NaiveDate) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO core_group_meetings (id, authority_id, case_id, child_ids, plan_ids, \
           sequence_number, status, due_date, basis, start_time, end_time, created_at, updated_at) \
         VALUES ($1, $2, $3, ARRAY[$4::uuid], ARRAY[$5::uuid], 1, 'scheduled', $6, \
                 (SELECT basis FROM conferences LIMIT 1), \
                 $7, $8, now(), now())",
    )
    .bind(id)
    .bind(AUTHORITY)
    .bind(case)
    .bind(child)
    .bind(Uuid::new_v4())
    .bind(day)
    .bind(at(day, 10))
    .bind(at(day, 12))
    .execute(&mut *conn)
    .await
    .unwrap();
    id
}

async fn conferences_of(conn: &mut PgConnection, case: Uuid) -> Vec<Uuid> {
    let mut filter = diary::every_conference(50);
    filter.case_id = Some(case);
    conferences::list(conn, &filter)
        .await
        .unwrap()
        .conferences
        .iter()
        .map(|c| c.id.parse().unwrap())
        .collect()
}

async fn meetings_of(conn: &mut PgConnection, case: Uuid) -> Vec<Uuid> {
    meetings(conn, Some(case), None, PageRequest::first(50)).await
}

/// A page of `child`'s core group meetings, after `after`.
async fn meetings_of_child(
    conn: &mut PgConnection,
    child: Uuid,
    size: i64,
    after: Option<Uuid>,
) -> Vec<Uuid> {
    let mut page = PageRequest::first(size);
    page.after = after;
    meetings(conn, None, Some(child), page).await
}

async fn meetings(
    conn: &mut PgConnection,
    case: Option<Uuid>,
    child: Option<Uuid>,
    page: PageRequest,
) -> Vec<Uuid> {
    core_groups::list(conn, case, child, None, None, &page)
        .await
        .unwrap()
        .meetings
        .iter()
        .map(|m| m.id.parse().unwrap())
        .collect()
}

async fn calendar_of(conn: &mut PgConnection, case: Uuid, day: NaiveDate) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = calendar::meetings(conn, Owner::Case(case), day, day, true)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id.parse().unwrap())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_moved_childs_records_are_listed_in_their_case_now_not_the_one_they_were_made_in() {
    let (_db, pool) = scheduling_database().await;
    let seeded = seeded(&pool, 2).await;
    // `moved`'s conference was made in the old case; the child is on the
    // new case now. `unlearnt`'s child scheduling has not heard of.
    let (moved, unlearnt) = (&seeded[0], &seeded[1]);
    let (old_case, new_case) = (moved.case_id, Uuid::new_v4());
    let day = diary::first_due() - Duration::days(1);
    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
    on_case(&mut tx, moved.child_id, old_case).await;
    booked(&mut tx, moved.id, day).await;
    let core_group = meeting(&mut tx, old_case, moved.child_id, day).await;

    // The child's meetings, found by the child, a page at a time.
    let later = meeting(&mut tx, old_case, moved.child_id, day + Duration::days(7)).await;
    assert_eq!(
        meetings_of_child(&mut tx, moved.child_id, 50, None).await,
        [core_group, later]
    );
    assert_eq!(
        meetings_of_child(&mut tx, moved.child_id, 1, Some(core_group)).await,
        [later]
    );
    assert!(
        meetings_of_child(&mut tx, unlearnt.child_id, 50, None)
            .await
            .is_empty()
    );
    sqlx::query("DELETE FROM core_group_meetings WHERE id = $1")
        .bind(later)
        .execute(&mut *tx)
        .await
        .unwrap();

    // Before the move, the old case lists them all.
    assert_eq!(conferences_of(&mut tx, old_case).await, [moved.id]);
    assert_eq!(meetings_of(&mut tx, old_case).await, [core_group]);
    let mut both = vec![moved.id, core_group];
    both.sort();
    assert_eq!(calendar_of(&mut tx, old_case, day).await, both);
    assert!(conferences_of(&mut tx, new_case).await.is_empty());

    on_case(&mut tx, moved.child_id, new_case).await;

    // After it, the new case does, and the old one none of them.
    assert!(conferences_of(&mut tx, old_case).await.is_empty());
    assert!(meetings_of(&mut tx, old_case).await.is_empty());
    assert!(calendar_of(&mut tx, old_case, day).await.is_empty());
    assert_eq!(conferences_of(&mut tx, new_case).await, [moved.id]);
    assert_eq!(meetings_of(&mut tx, new_case).await, [core_group]);
    assert_eq!(calendar_of(&mut tx, new_case, day).await, both);

    // A child not learnt is on their conference's case.
    assert_eq!(
        conferences_of(&mut tx, unlearnt.case_id).await,
        [unlearnt.id]
    );

    // The audit service finds the moved child's records of the old case.
    let records = conferences::child_records(&mut tx, moved.child_id)
        .await
        .unwrap();
    for record in [new_case, old_case, moved.id, core_group] {
        assert!(records.contains(&record), "{record} missing: {records:?}");
    }
    assert!(!records.contains(&unlearnt.id));
}
