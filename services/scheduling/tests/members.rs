//! Scheduling's copy of case memberships from the cases feed, against
//! Postgres: what the access decisions see, and what is refused rather than
//! half-stored.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test"
)]

mod fixture;

use fixture::{AUTHORITY, scheduling_database};

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::case_members as members;
use cpc_platform::db;
use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1 as common;
use sqlx::PgPool;
use tonic::Code;
use uuid::Uuid;

fn now() -> DateTime<Utc> {
    "2026-12-04T10:00:00Z".parse().unwrap()
}

fn today() -> NaiveDate {
    now().date_naive()
}

fn date(d: NaiveDate) -> common::Date {
    use chrono::Datelike as _;
    common::Date {
        year: d.year(),
        month: i32::try_from(d.month()).unwrap(),
        day: i32::try_from(d.day()).unwrap(),
    }
}

/// A current whole-case membership of a police officer, held for their
/// force as a whole.
fn force_membership(case_id: Uuid, agency_kind: common::AgencyKind) -> cases::CaseMembership {
    cases::CaseMembership {
        id: Uuid::new_v4().to_string(),
        version: 1,
        case_id: case_id.to_string(),
        person: Some(common::PersonRef {
            person_id: "officer-1".into(),
            display_name: String::new(),
            agency_kind: agency_kind.into(),
            agency_name: "Gloucestershire Constabulary".into(),
        }),
        start_date: Some(date(today().pred_opt().unwrap())),
        agency_wide: true,
        ..Default::default()
    }
}

async fn record(pool: &PgPool, membership: &cases::CaseMembership) -> Result<(), Code> {
    let mut tx = db::begin_for_authority(pool, AUTHORITY).await.unwrap();
    let result = members::record(&mut tx, AUTHORITY, membership, now()).await;
    match result {
        Ok(()) => {
            tx.commit().await.unwrap();
            Ok(())
        }
        Err(err) => Err(tonic::Status::from(err).code()),
    }
}

async fn relation_of(pool: &PgPool, case_id: Uuid) -> cpc_authz::CaseRelation {
    let mut tx = db::begin_for_authority(pool, AUTHORITY).await.unwrap();
    members::relation(&mut tx, case_id, &[], today())
        .await
        .unwrap()
}

#[tokio::test]
async fn an_agency_membership_names_the_agency_as_access_decisions_do() {
    let (_db, pool) = scheduling_database().await;
    let case_id = Uuid::new_v4();
    record(
        &pool,
        &force_membership(case_id, common::AgencyKind::Police),
    )
    .await
    .unwrap();
    let relation = relation_of(&pool, case_id).await;
    assert_eq!(relation.current_members, ["officer-1"]);
    assert_eq!(
        relation.current_member_agencies,
        ["police:Gloucestershire Constabulary"]
    );
    assert!(relation.former_members.is_empty());
}

#[tokio::test]
async fn an_agency_membership_without_a_known_agency_kind_is_refused_and_stores_nothing() {
    let (_db, pool) = scheduling_database().await;
    let case_id = Uuid::new_v4();
    // Cases never sends one; if it did, guessing an agency would put the
    // wrong practitioners on the case, so the event is refused (the feed
    // stops there and retries) rather than stored without its agency.
    for kind in [common::AgencyKind::Unspecified as i32, 999] {
        let mut membership = force_membership(case_id, common::AgencyKind::Police);
        membership.person.as_mut().unwrap().agency_kind = kind;
        assert_eq!(
            record(&pool, &membership).await,
            Err(Code::Internal),
            "{kind}"
        );
    }
    let relation = relation_of(&pool, case_id).await;
    assert!(relation.current_members.is_empty(), "{relation:?}");
    assert!(relation.current_member_agencies.is_empty(), "{relation:?}");

    // The same membership held by the officer alone needs no agency.
    let mut personal = force_membership(case_id, common::AgencyKind::Unspecified);
    personal.agency_wide = false;
    record(&pool, &personal).await.unwrap();
    let relation = relation_of(&pool, case_id).await;
    assert_eq!(relation.current_members, ["officer-1"]);
    assert!(relation.current_member_agencies.is_empty(), "{relation:?}");
}

#[tokio::test]
async fn an_older_copy_never_overwrites_a_newer_one() {
    let (_db, pool) = scheduling_database().await;
    let case_id = Uuid::new_v4();
    let current = force_membership(case_id, common::AgencyKind::Police);
    let mut ended = current.clone();
    ended.version = 2;
    ended.end_date = Some(date(today().pred_opt().unwrap()));
    // The feed may deliver the ending before a repeat of the start.
    record(&pool, &ended).await.unwrap();
    record(&pool, &current).await.unwrap();
    let relation = relation_of(&pool, case_id).await;
    assert!(relation.current_members.is_empty(), "{relation:?}");
    assert!(relation.current_member_agencies.is_empty(), "{relation:?}");
    assert_eq!(relation.former_members, ["officer-1"]);
}

#[tokio::test]
async fn a_membership_for_some_children_covers_them_and_not_the_case_as_a_whole() {
    let (_db, pool) = scheduling_database().await;
    let case_id = Uuid::new_v4();
    let (pupil, sibling) = (Uuid::new_v4(), Uuid::new_v4());
    let for_children = |person: &str, children: &[Uuid]| {
        let mut membership = force_membership(case_id, common::AgencyKind::Education);
        membership.agency_wide = false;
        membership.person.as_mut().unwrap().person_id = person.into();
        membership.child_ids = children.iter().map(Uuid::to_string).collect();
        membership
    };
    // The force for the whole case; a school for its pupil; a health
    // visitor for both children, named one by one.
    record(
        &pool,
        &force_membership(case_id, common::AgencyKind::Police),
    )
    .await
    .unwrap();
    record(&pool, &for_children("teacher-1", &[pupil]))
        .await
        .unwrap();
    record(&pool, &for_children("visitor-1", &[pupil, sibling]))
        .await
        .unwrap();

    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
    let pupils = members::relation(&mut tx, case_id, &[pupil], today())
        .await
        .unwrap();
    assert_eq!(
        pupils.current_members,
        ["officer-1", "teacher-1", "visitor-1"]
    );
    let siblings = members::relation(&mut tx, case_id, &[sibling], today())
        .await
        .unwrap();
    assert_eq!(siblings.current_members, ["officer-1", "visitor-1"]);
    // A list across the case would show the sibling's records too: the
    // school's membership does not cover it.
    let whole = members::relation_to_whole_case(&mut tx, case_id, &[pupil, sibling], today())
        .await
        .unwrap();
    assert_eq!(whole.current_members, ["officer-1", "visitor-1"]);
}

#[tokio::test]
async fn a_record_of_a_moved_child_is_covered_by_the_members_of_the_childs_case_now() {
    let (_db, pool) = scheduling_database().await;
    let (old_case, new_case) = (Uuid::new_v4(), Uuid::new_v4());
    // `moved` went from the old case to the new one; `sibling` stayed;
    // `newcomer` was always on the new case.
    let (moved, sibling, newcomer) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let on = |case_id: Uuid, person: &str, children: &[Uuid]| {
        let mut membership = force_membership(case_id, common::AgencyKind::Education);
        membership.agency_wide = false;
        membership.person.as_mut().unwrap().person_id = person.into();
        membership.child_ids = children.iter().map(Uuid::to_string).collect();
        membership
    };
    for membership in [
        on(old_case, "old-whole", &[]),
        on(old_case, "old-for-moved", &[moved]),
        on(old_case, "old-for-sibling", &[sibling]),
        on(new_case, "new-whole", &[]),
        on(new_case, "new-for-newcomer", &[newcomer]),
    ] {
        record(&pool, &membership).await.unwrap();
    }
    let now_on = |child_id: Uuid, case_id: Uuid| members::ChildCase { child_id, case_id };

    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
    // A conference of the old case about the moved child alone: the new
    // case's members for the child, none of the old case's.
    let alone =
        members::relation_of_children(&mut tx, old_case, &[now_on(moved, new_case)], today())
            .await
            .unwrap();
    assert_eq!(alone.current_members, ["new-whole"]);
    assert_eq!(alone.case_id, old_case.to_string(), "the record's own case");
    // One shared with the sibling who stayed: the old case's members for
    // the sibling too, not one for the moved child only.
    let shared = members::relation_of_children(
        &mut tx,
        old_case,
        &[now_on(moved, new_case), now_on(sibling, old_case)],
        today(),
    )
    .await
    .unwrap();
    assert_eq!(
        shared.current_members,
        ["new-whole", "old-for-sibling", "old-whole"]
    );
    // A record about no child: its case's members.
    let none = members::relation_of_children(&mut tx, old_case, &[], today())
        .await
        .unwrap();
    assert_eq!(
        none.current_members,
        ["old-for-moved", "old-for-sibling", "old-whole"]
    );
}

#[tokio::test]
async fn a_membership_learnt_before_roles_were_kept_gets_its_role_from_the_feed_read_again() {
    let (_db, pool) = scheduling_database().await;
    let case_id = Uuid::new_v4();
    let mut manager = force_membership(case_id, common::AgencyKind::ChildrensSocialCare);
    manager.agency_wide = false;
    manager.case_role = cases::CaseRole::TeamManager as i32;
    record(&pool, &manager).await.unwrap();
    let role_of = async |id: &str| -> Option<String> {
        let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
        sqlx::query_scalar("SELECT case_role FROM case_members WHERE membership_id = $1::uuid")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    };
    assert_eq!(role_of(&manager.id).await.as_deref(), Some("team_manager"));
    // As a membership learnt before migration 20261212100001 is kept.
    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
    sqlx::query("UPDATE case_members SET case_role = NULL WHERE membership_id = $1::uuid")
        .bind(&manager.id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(role_of(&manager.id).await, None);

    let follow = async |membership: &cases::CaseMembership| {
        let event = common::ChangeEvent {
            authority_id: AUTHORITY.to_owned(),
            event_type: "cpc.cases.v1.CaseMemberAdded".to_owned(),
            payload: prost::Message::encode_to_vec(&cases::CaseMemberAdded {
                membership: Some(membership.clone()),
            }),
            ..Default::default()
        };
        let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
        (cpc_scheduling::follow::MEMBER_ROLES_FEED.apply)(
            &mut tx,
            &event,
            &cpc_platform::Config::default(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    };
    follow(&manager).await;
    assert_eq!(role_of(&manager.id).await.as_deref(), Some("team_manager"));
    // A role kept already is not changed by the feed read again, and the
    // roles follow is told nothing was learnt (so it rechecks no chair).
    let mut other = manager.clone();
    other.case_role = cases::CaseRole::CoreGroupMember as i32;
    follow(&other).await;
    assert_eq!(role_of(&manager.id).await.as_deref(), Some("team_manager"));
    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
    assert!(!members::learn_role(&mut tx, &other).await.unwrap());
    sqlx::query("UPDATE case_members SET case_role = NULL WHERE membership_id = $1::uuid")
        .bind(&manager.id)
        .execute(&mut *tx)
        .await
        .unwrap();
    assert!(members::learn_role(&mut tx, &manager).await.unwrap());
    tx.rollback().await.unwrap();
    // Nor does the roles follow learn a membership the other has not.
    let unknown = force_membership(case_id, common::AgencyKind::Police);
    follow(&unknown).await;
    let mut tx = db::begin_for_authority(&pool, AUTHORITY).await.unwrap();
    let known: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM case_members WHERE membership_id = $1::uuid)",
    )
    .bind(&unknown.id)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert!(!known);
}
