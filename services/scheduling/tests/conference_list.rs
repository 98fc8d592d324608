//! Listing conferences reads each one whole, as getting it does: its own
//! moves and attendees, in their order, and nobody else's (against
//! Postgres, as the service's plain role so row-level security binds).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test"
)]

#[path = "fixture/diary.rs"]
mod diary;
mod fixture;

use cpc_platform::db;
use cpc_proto::scheduling::v1 as pb;
use cpc_scheduling::store::conferences;
use fixture::{AUTHORITY, scheduling_database};
use uuid::Uuid;

/// Who moved the conference, then who attended it, in order.
fn moves_and_attendees(conference: &pb::Conference) -> (Vec<String>, Vec<String>) {
    let person = |p: Option<&cpc_proto::common::v1::PersonRef>| p.unwrap().person_id.clone();
    (
        conference
            .reschedules
            .iter()
            .map(|r| person(r.changed_by.as_ref()))
            .collect(),
        conference
            .attendance
            .iter()
            .map(|a| person(a.person.as_ref()))
            .collect(),
    )
}

#[tokio::test]
async fn a_page_of_conferences_carries_each_ones_own_moves_and_attendees() {
    let (_db, pool) = scheduling_database().await;
    let seeded = diary::seed(&pool, AUTHORITY, 12).await;
    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();

    let all = conferences::list(&mut tx, &diary::every_conference(20))
        .await
        .unwrap();
    assert!(all.next_page_token.is_empty());
    let listed: Vec<Uuid> = all
        .conferences
        .iter()
        .map(|c| c.id.parse().unwrap())
        .collect();
    assert_eq!(listed, seeded, "earliest due first");
    for (n, conference) in (0..).zip(&all.conferences) {
        let (moves, attendees) = diary::moves_and_attendees(n);
        let expected = (
            (0..moves).map(|m| format!("mover-{n}-{m}")).collect(),
            (0..attendees).map(|a| diary::attendee_id(n, a)).collect(),
        );
        assert_eq!(moves_and_attendees(conference), expected, "conference {n}");
        assert_eq!(conference.child_ids.len(), 1);
        // Exactly what getting it gives.
        let got = conferences::load(&mut tx, seeded[usize::try_from(n).unwrap()])
            .await
            .unwrap();
        assert_eq!(&got, conference);
    }

    // A shorter page is the first of them, with a token for the rest.
    let first = conferences::list(&mut tx, &diary::every_conference(5))
        .await
        .unwrap();
    assert_eq!(first.conferences, all.conferences[..5]);
    assert!(!first.next_page_token.is_empty());

    // Another authority lists none of them, and gets none by id.
    let mut elsewhere = db::begin_for_authority(&pool, "E10000014").await.unwrap();
    let theirs = conferences::list(&mut elsewhere, &diary::every_conference(20))
        .await
        .unwrap();
    assert!(theirs.conferences.is_empty());
    assert!(conferences::load(&mut elsewhere, seeded[0]).await.is_err());
}
