//! The case each child is on now, as reporting learns it from its own
//! follow of the cases feed (`follow::CHILD_CASES_FEED`), against Postgres
//! (a fresh database, queries as the service's plain role so row-level
//! security binds).
//!
//! That follow keeps its own place and starts from the feed's beginning,
//! so it reads again children the other cases follow has read: reading an
//! event again, or an older one after a newer, must leave the newest case.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test"
)]

use cpc_platform::testing::TestDatabase;
use cpc_platform::{Config, db};
use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1::ChangeEvent;
use cpc_reporting::follow::{CASES_FEED, CHILD_CASES_FEED};
use prost::Message as _;
use sqlx::PgPool;
use uuid::Uuid;

const AUTHORITY: &str = "E10000013";

struct Reporting {
    _db: TestDatabase,
    pool: PgPool,
}

impl Reporting {
    async fn new() -> Self {
        let (db, pool) =
            TestDatabase::for_service(cpc_reporting::SCHEMA, &cpc_reporting::MIGRATOR).await;
        Self { _db: db, pool }
    }

    /// Applies `event` as the child cases follow does.
    async fn follow(&self, event: &ChangeEvent) {
        let mut tx = db::begin_for_authority(&self.pool, AUTHORITY)
            .await
            .unwrap();
        (CHILD_CASES_FEED.apply)(&mut tx, event, &Config::default())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// The case reporting holds `child` to be on now.
    async fn case_of(&self, child: Uuid) -> Option<Uuid> {
        let mut tx = db::begin_for_authority(&self.pool, AUTHORITY)
            .await
            .unwrap();
        let case = sqlx::query_scalar("SELECT case_id FROM child_cases WHERE child_id = $1")
            .bind(child)
            .fetch_optional(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        case
    }
}

/// `child` at `version`, on `case`, as event `event_type` carries it.
fn child_event(event_type: &str, child: Uuid, case: Uuid, version: i64) -> ChangeEvent {
    let child = Some(cases::Child {
        id: child.to_string(),
        case_id: case.to_string(),
        version,
        ..Default::default()
    });
    let payload = match event_type {
        "ChildRegistered" => cases::ChildRegistered { child }.encode_to_vec(),
        "ChildUpdated" => cases::ChildUpdated {
            child,
            changed_fields: vec!["case_id".into()],
        }
        .encode_to_vec(),
        other => panic!("no test event {other}"),
    };
    ChangeEvent {
        authority_id: AUTHORITY.to_owned(),
        event_type: format!("cpc.cases.v1.{event_type}"),
        payload,
        ..Default::default()
    }
}

#[tokio::test]
async fn reading_the_feed_again_leaves_each_child_on_their_newest_case() {
    let reporting = Reporting::new().await;
    let (child, first, second) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let registered = child_event("ChildRegistered", child, first, 1);
    let moved = child_event("ChildUpdated", child, second, 2);

    reporting.follow(&registered).await;
    assert_eq!(reporting.case_of(child).await, Some(first));
    reporting.follow(&moved).await;
    assert_eq!(reporting.case_of(child).await, Some(second));

    // The feed read again from its beginning: the move stands.
    reporting.follow(&registered).await;
    reporting.follow(&moved).await;
    assert_eq!(reporting.case_of(child).await, Some(second));
}

#[test]
fn the_child_cases_follow_keeps_a_place_of_its_own_in_the_cases_feed() {
    assert_eq!(CHILD_CASES_FEED.source.name(), CASES_FEED.source.name());
    assert_ne!(CHILD_CASES_FEED.position, CASES_FEED.position);
    let follows = cpc_reporting::component().follows;
    assert!(
        follows
            .iter()
            .any(|f| f.position == CHILD_CASES_FEED.position),
        "reporting does not follow the child cases feed"
    );
}
