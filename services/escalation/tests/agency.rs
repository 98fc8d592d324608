//! An action given to another owner moves its finding, and each agency's
//! standing on the case with it, in escalation's own store against
//! Postgres. (The end-to-end tests cannot show this: the feed assesses at
//! the real date, when their actions are not late yet.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test stops on bad setup"
)]

use chrono::{NaiveDate, TimeZone, Utc};
use cpc_escalation::store::cases::{self, Kept, Learnt};
use cpc_escalation::store::drift::{self, KeptAction, SubjectRef};
use cpc_platform::testing::TestDatabase;
use cpc_platform::{Config, db};
use cpc_proto::common::v1 as common;
use sqlx::PgConnection;
use uuid::Uuid;

const AUTHORITY: &str = "E10000013";

fn owner(kind: common::AgencyKind, agency: &str) -> common::PersonRef {
    common::PersonRef {
        person_id: Uuid::new_v4().to_string(),
        display_name: "Owner".into(),
        agency_kind: kind as i32,
        agency_name: agency.into(),
    }
}

/// The agencies with an AGENCY_NOT_DELIVERING finding standing.
async fn not_delivering(conn: &mut PgConnection) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT agency_name FROM drift_findings \
          WHERE subject_type = 'Agency' AND NOT cleared ORDER BY 1",
    )
    .fetch_all(conn)
    .await
    .unwrap()
}

/// Escalation learns `action` from the cases feed and assesses it.
async fn learn(conn: &mut PgConnection, at: &drift::Assessor, action: &KeptAction) {
    drift::learn_action(conn, AUTHORITY, action, at.now)
        .await
        .unwrap();
    drift::assess(conn, at, SubjectRef::Action(action.id))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_action_given_to_another_agency_takes_its_finding_there() {
    let (_db, pool) =
        TestDatabase::for_service(cpc_escalation::SCHEMA, &cpc_escalation::MIGRATOR).await;
    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
    let (case, child, plan) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    // The child's case, as the cases feed tells it.
    let child_of_case = Learnt {
        kept: Kept::Child,
        id: child,
        parent: case,
        version: 1,
        ended: false,
        started: None,
    };
    cases::learn(&mut tx, AUTHORITY, &child_of_case, Utc::now())
        .await
        .unwrap();

    // Three actions of the health trust, due 2 March 2026, two months on.
    let now = Utc.from_utc_datetime(
        &NaiveDate::from_ymd_opt(2026, 5, 4)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap(),
    );
    let at = cpc_escalation::sweep::assessor(&Config::default(), AUTHORITY, now).unwrap();
    let trust = owner(common::AgencyKind::Health, "Community Trust");
    let mut actions = Vec::new();
    for _ in 0..3 {
        let action = KeptAction {
            id: Uuid::new_v4(),
            plan_id: plan,
            child_id: child,
            description: "Health check".into(),
            owner: Some(trust.clone()),
            due_on: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            done: false,
            version: 1,
        };
        learn(&mut tx, &at, &action).await;
        actions.push(action);
    }
    assert_eq!(not_delivering(&mut tx).await, ["Community Trust"]);

    // One is given to the police: its finding goes with it, the trust is
    // down to two and the force has one.
    let mut given = actions[0].clone();
    given.owner = Some(owner(common::AgencyKind::Police, "Constabulary"));
    given.version = 2;
    learn(&mut tx, &at, &given).await;
    let (agency, cleared): (String, bool) =
        sqlx::query_as("SELECT agency_name, cleared FROM drift_findings WHERE subject_id = $1")
            .bind(given.id)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!((agency.as_str(), cleared), ("Constabulary", false));
    assert!(not_delivering(&mut tx).await.is_empty());

    // Given back, the trust has three again.
    given.owner = Some(trust);
    given.version = 3;
    learn(&mut tx, &at, &given).await;
    assert_eq!(not_delivering(&mut tx).await, ["Community Trust"]);
    tx.rollback().await.unwrap();
}
