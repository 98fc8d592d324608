//! Chairs over gRPC: allocation respects leave, conflicts and bookings
//! (never double-books), explains itself, takes a named chair only when
//! eligible; leave added later frees the conference for reallocation; the
//! workload view counts it.

use chrono::{Datelike as _, NaiveDate};
use cpc_proto::common::v1 as common;
use cpc_proto::scheduling::v1 as pb;
use cpc_proto::scheduling::v1::chairs_service_client::ChairsServiceClient;
use cpc_proto::scheduling::v1::conferences_service_client::ConferencesServiceClient;
use cpc_rules::profile::AuthorityProfile;
use cpc_rules::timescales::Timescales;
use tonic::Code;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::diary::*;
use crate::minutes::until_service_knows;
use crate::support::*;

const ANNE: u128 = 0xc4a1_0001;
const BOB: u128 = 0xc4a1_0002;
const CARA: u128 = 0xc4a1_0003;

fn weekdays_nine_to_five() -> Vec<pb::WorkingPeriod> {
    (1..=5)
        .map(|day| pb::WorkingPeriod {
            weekday: day,
            start_minute: 9 * 60,
            end_minute: 17 * 60,
        })
        .collect()
}

pub(crate) fn chair(id: u128, name: &str) -> pb::Chair {
    pb::Chair {
        id: Uuid::from_u128(id).to_string(),
        authority_id: AUTHORITY.into(),
        person: Some(person_ref(
            id,
            name,
            common::AgencyKind::ChildrensSocialCare,
            "Safeguarding Unit",
        )),
        active: true,
        working_pattern: weekdays_nine_to_five(),
        max_conferences_per_day: 2,
        max_conferences_per_week: 8,
        max_children: 60,
        ..Default::default()
    }
}

fn leave_on(day: NaiveDate) -> pb::LeavePeriod {
    pb::LeavePeriod {
        dates: Some(common::DateRange {
            start_date: pd_of(day),
            end_date: pd_of(day),
        }),
        kind: pb::LeaveKind::Annual as i32,
    }
}

pub(crate) async fn create(
    chairs: &mut ChairsServiceClient<Channel>,
    who: &As,
    chair: pb::Chair,
) -> pb::Chair {
    chairs
        .create_chair(who.req(pb::CreateChairRequest {
            request_id: rid(),
            chair: Some(chair),
        }))
        .await
        .unwrap()
        .into_inner()
        .chair
        .unwrap()
}

/// A booked ICPC for a new child on `day` (12:00-13:30 UTC).
async fn booked_icpc(
    f: &mut Fixture,
    conferences: &mut ConferencesServiceClient<Channel>,
    who: &As,
    la_child_id: &str,
    day: NaiveDate,
) -> pb::Conference {
    let (_, case) = s47_started(f, la_child_id, uk_today()).await;
    let icpc = conferences_of(conferences, who, &case).await.remove(0);
    let (start, end) = slot_on(day);
    conferences
        .book_conference(who.req(pb::BookConferenceRequest {
            conference_id: icpc.id.clone(),
            version: icpc.version,
            start_time: Some(start),
            end_time: Some(end),
            venue: Some(venue()),
            past_deadline_reason: "Test booking".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap()
}

/// The `n`-th working day from today, by the test authority's calendar.
fn working_days_ahead(n: u32) -> NaiveDate {
    Timescales::new(&AuthorityProfile::default())
        .unwrap()
        .calendar()
        .add_working_days(uk_today(), n)
        .unwrap()
}

/// Anne, a chair, made the team manager of `case`, once scheduling knows.
async fn anne_manages(f: &mut Fixture, case: &str) {
    f.grant(
        case,
        person_ref(
            ANNE,
            "Anne Chair",
            common::AgencyKind::ChildrensSocialCare,
            "Safeguarding Unit",
        ),
        cpc_proto::cases::v1::CaseRole::TeamManager,
        false,
    )
    .await;
    until_service_knows(
        f,
        cpc_scheduling::SCHEMA,
        "SELECT EXISTS (SELECT 1 FROM case_members \
                        WHERE person_id = $1 AND case_id = $2::uuid AND case_role = 'team_manager')",
        &[&Uuid::from_u128(ANNE).to_string(), case],
    )
    .await;
}

fn allocate(conference: &pb::Conference) -> pb::AllocateChairRequest {
    pb::AllocateChairRequest {
        conference_id: conference.id.clone(),
        version: conference.version,
        ..Default::default()
    }
}

fn reasons_of(allocation: &pb::ChairAllocation, chair: u128) -> Vec<i32> {
    allocation
        .candidates
        .iter()
        .find(|c| c.chair_id == Uuid::from_u128(chair).to_string())
        .unwrap()
        .ineligibility_reasons
        .clone()
}

#[tokio::test]
async fn allocation_respects_leave_conflicts_and_bookings_and_explains_itself() {
    let (mut f, mut conferences) = start().await;
    let bs = business_support(&f);
    let mut chairs = ChairsServiceClient::new(f.server.channel().await);
    let timescales = Timescales::new(&AuthorityProfile::default()).unwrap();
    // A working day a week or so ahead.
    let day = timescales
        .calendar()
        .add_working_days(uk_today(), 5)
        .unwrap();

    let first = booked_icpc(&mut f, &mut conferences, &bs, "CHR0001", day).await;
    create(&mut chairs, &bs, chair(ANNE, "Anne Chair")).await;
    // Bob is on leave that day; Cara is conflicted on the first case.
    let mut bob = chair(BOB, "Bob Chair");
    bob.leave = vec![leave_on(day)];
    create(&mut chairs, &bs, bob).await;
    let mut cara = chair(CARA, "Cara Chair");
    cara.conflicts = vec![pb::ChairConflict {
        case_id: first.case_id.clone(),
        reason: pb::ConflictReason::PersonalConnection as i32,
        ..Default::default()
    }];
    let cara = create(&mut chairs, &bs, cara).await;

    let allocated = chairs
        .allocate_chair(bs.req(allocate(&first)))
        .await
        .unwrap()
        .into_inner();
    let allocation = allocated.allocation.unwrap();
    assert_eq!(allocation.chair_id, Uuid::from_u128(ANNE).to_string());
    assert!(!allocation.manual);
    assert_eq!(
        reasons_of(&allocation, BOB),
        [pb::IneligibilityReason::OnLeave as i32]
    );
    assert_eq!(
        reasons_of(&allocation, CARA),
        [pb::IneligibilityReason::Conflict as i32]
    );
    assert!(
        allocation
            .reasons
            .iter()
            .any(|r| r.factor == pb::AllocationFactor::Availability as i32)
    );
    let first = allocated.conference.unwrap();
    assert_eq!(first.chair_id, allocation.chair_id);

    // A second conference at the same time: Anne is booked, Bob away, so
    // Cara (not conflicted on this case) takes it.
    let second = booked_icpc(&mut f, &mut conferences, &bs, "CHR0002", day).await;
    let allocation = chairs
        .allocate_chair(bs.req(allocate(&second)))
        .await
        .unwrap()
        .into_inner()
        .allocation
        .unwrap();
    assert_eq!(allocation.chair_id, cara.id);
    assert_eq!(
        reasons_of(&allocation, ANNE),
        [pb::IneligibilityReason::DoubleBooked as i32]
    );
    // A third at the same time: nobody is left, and the refusal says why.
    let third = booked_icpc(&mut f, &mut conferences, &bs, "CHR0003", day).await;
    let none = chairs
        .allocate_chair(bs.req(allocate(&third)))
        .await
        .unwrap_err();
    assert_eq!(none.code(), Code::FailedPrecondition);
    assert!(none.message().contains("on leave"), "{}", none.message());
    // Naming Bob (on leave) is refused.
    let named = chairs
        .allocate_chair(bs.req(pb::AllocateChairRequest {
            chair_id: Uuid::from_u128(BOB).to_string(),
            manual_reason: "Knows the family's history".into(),
            ..allocate(&third)
        }))
        .await
        .unwrap_err();
    assert_eq!(named.code(), Code::FailedPrecondition);

    // Anne's leave is added for that day: her conference loses its chair
    // and shows among the unallocated.
    let anne = chairs
        .get_chair(bs.req(pb::GetChairRequest {
            chair_id: Uuid::from_u128(ANNE).to_string(),
        }))
        .await
        .unwrap()
        .into_inner()
        .chair
        .unwrap();
    chairs
        .update_chair(bs.req(pb::UpdateChairRequest {
            chair: Some(pb::Chair {
                leave: vec![leave_on(day)],
                ..anne.clone()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["leave".into()],
            }),
        }))
        .await
        .unwrap();
    let unallocated = conferences
        .list_conferences(bs.req(pb::ListConferencesRequest {
            unallocated_only: true,
            status: pb::ConferenceStatus::Booked as i32,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .conferences;
    let ids: Vec<&str> = unallocated.iter().map(|c| c.id.as_str()).collect();
    assert!(ids.contains(&first.id.as_str()), "{ids:?}");
    assert!(!ids.contains(&second.id.as_str()));

    // Cara's workload that week: one conference that day, one slot left.
    let monday = day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday()));
    let workload = chairs
        .get_chair_workload(bs.req(pb::GetChairWorkloadRequest {
            chair_id: cara.id.clone(),
            period: Some(common::DateRange {
                start_date: pd_of(monday),
                end_date: pd_of(monday + chrono::Duration::days(6)),
            }),
        }))
        .await
        .unwrap()
        .into_inner()
        .workload
        .unwrap();
    assert_eq!(workload.conferences_booked, 1);
    assert_eq!(workload.days.len(), 7);
    let that_day = workload.days.iter().find(|d| d.date == pd_of(day)).unwrap();
    assert_eq!(that_day.conferences, 1);
    assert_eq!(that_day.remaining_capacity, 1);
    assert!(!workload.days[5].working, "Saturday");
    f.stop().await;
}

#[tokio::test]
async fn chair_records_are_checked_field_by_field() {
    let (f, _) = start().await;
    let bs = business_support(&f);
    let mut chairs = ChairsServiceClient::new(f.server.channel().await);
    let mut bad = chair(ANNE, "Anne Chair");
    bad.working_pattern.push(pb::WorkingPeriod {
        weekday: 1,
        start_minute: 16 * 60,
        end_minute: 15 * 60,
    });
    bad.max_conferences_per_day = 9;
    bad.leave = vec![pb::LeavePeriod::default()];
    let err = chairs
        .create_chair(bs.req(pb::CreateChairRequest {
            request_id: rid(),
            chair: Some(bad),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields = bad_fields(&err);
    for expected in [
        "chair.working_pattern[5].end_minute",
        "chair.max_conferences_per_day",
        "chair.leave[0].dates.start_date",
    ] {
        assert!(
            fields.iter().any(|f| f == expected),
            "{expected}: {fields:?}"
        );
    }
    // One record per person.
    create(&mut chairs, &bs, chair(ANNE, "Anne Chair")).await;
    let twice = chairs
        .create_chair(bs.req(pb::CreateChairRequest {
            request_id: rid(),
            chair: Some(chair(ANNE, "Anne Chair")),
        }))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::AlreadyExists);
    // A social worker cannot read the unit's chair records.
    let sw = f.social_worker();
    let denied = chairs
        .list_chairs(sw.req(pb::ListChairsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    f.stop().await;
}

/// A connection pool on scheduling's schema, outside any authority (the
/// test's own hand on the database).
async fn scheduling_admin(f: &Fixture) -> sqlx::PgPool {
    let options = cpc_platform::db::schema_options(f.db.url(), cpc_scheduling::SCHEMA).unwrap();
    sqlx::PgPool::connect_with(options).await.unwrap()
}

/// Waits until `n` other sessions of the test's database wait for a lock
/// (the calls in flight have reached what the test holds).
async fn until_waiting(admin: &sqlx::PgPool, n: i64) {
    for _ in 0..200 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock' \
               AND pid <> pg_backend_pid()",
        )
        .fetch_one(admin)
        .await
        .unwrap();
        if waiting >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the calls never reached the lock the test holds");
}

#[tokio::test]
async fn two_updates_of_a_chair_at_one_version_do_not_both_win() {
    let (f, _) = start().await;
    let bs = business_support(&f);
    let chairs = ChairsServiceClient::new(f.server.channel().await);
    let anne = create(&mut chairs.clone(), &bs, chair(ANNE, "Anne Chair")).await;
    // The test holds the chair's row so that both updates are in flight,
    // having read the same version, before either can write.
    let admin = scheduling_admin(&f).await;
    let mut hold = cpc_audit::begin(&admin).await.unwrap();
    sqlx::query("SELECT 1 FROM chairs WHERE id = $1 FOR UPDATE")
        .bind(Uuid::from_u128(ANNE))
        .execute(&mut *hold)
        .await
        .unwrap();
    let update = |per_day: i32| {
        let mut chairs = chairs.clone();
        let request = bs.req(pb::UpdateChairRequest {
            chair: Some(pb::Chair {
                max_conferences_per_day: per_day,
                ..anne.clone()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["max_conferences_per_day".into()],
            }),
        });
        tokio::spawn(async move { chairs.update_chair(request).await })
    };
    let (one, three) = (update(1), update(3));
    until_waiting(&admin, 2).await;
    hold.rollback().await.unwrap();
    let results = [one.await.unwrap(), three.await.unwrap()];
    // One wins; the other read a version that is no longer current and is
    // told to read again, rather than silently undoing the first.
    let won: Vec<pb::Chair> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|r| r.get_ref().chair.clone().unwrap())
        .collect();
    let lost: Vec<Code> = results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(tonic::Status::code)
        .collect();
    assert_eq!(won.len(), 1, "{results:?}");
    assert_eq!(lost, [Code::Aborted], "{results:?}");
    assert_eq!(won[0].version, anne.version + 1);
    let now = chairs
        .clone()
        .get_chair(bs.req(pb::GetChairRequest {
            chair_id: anne.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .chair
        .unwrap();
    assert_eq!(now.version, anne.version + 1);
    assert_eq!(now.max_conferences_per_day, won[0].max_conferences_per_day);
    admin.close().await;
    f.stop().await;
}

#[tokio::test]
async fn two_allocations_at_once_do_not_double_book_a_chair() {
    let (mut f, mut conferences) = start().await;
    let bs = business_support(&f);
    let chairs = ChairsServiceClient::new(f.server.channel().await);
    let timescales = Timescales::new(&AuthorityProfile::default()).unwrap();
    let day = timescales
        .calendar()
        .add_working_days(uk_today(), 5)
        .unwrap();
    // Two conferences at the same time, and one chair.
    let first = booked_icpc(&mut f, &mut conferences, &bs, "CHR0011", day).await;
    let second = booked_icpc(&mut f, &mut conferences, &bs, "CHR0012", day).await;
    create(&mut chairs.clone(), &bs, chair(ANNE, "Anne Chair")).await;
    // The test holds scheduling's feed so that an allocation that has
    // counted the workloads and written its choice cannot commit yet: both
    // are in flight together, as two people allocating at once are.
    let admin = scheduling_admin(&f).await;
    let mut hold = cpc_audit::begin(&admin).await.unwrap();
    sqlx::query("LOCK TABLE change_events IN SHARE MODE")
        .execute(&mut *hold)
        .await
        .unwrap();
    let allocating = |conference: &pb::Conference| {
        let mut chairs = chairs.clone();
        let request = bs.req(allocate(conference));
        tokio::spawn(async move { chairs.allocate_chair(request).await })
    };
    let (a, b) = (allocating(&first), allocating(&second));
    until_waiting(&admin, 2).await;
    hold.rollback().await.unwrap();
    let results = [a.await.unwrap(), b.await.unwrap()];
    // Anne takes one; the other finds her booked at that time.
    let allocated: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|r| r.get_ref().allocation.clone().unwrap().chair_id)
        .collect();
    assert_eq!(
        allocated,
        [Uuid::from_u128(ANNE).to_string()],
        "{results:?}"
    );
    let refused = results.iter().find_map(|r| r.as_ref().err()).unwrap();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains("already booked"), "{refused:?}");
    admin.close().await;
    f.stop().await;
}

#[tokio::test]
async fn a_chair_made_unavailable_releases_the_conference_on_the_feed() {
    let (mut f, mut conferences) = start().await;
    let bs = business_support(&f);
    let mut chairs = ChairsServiceClient::new(f.server.channel().await);
    let timescales = Timescales::new(&AuthorityProfile::default()).unwrap();
    let day = timescales
        .calendar()
        .add_working_days(uk_today(), 5)
        .unwrap();
    let booked = booked_icpc(&mut f, &mut conferences, &bs, "CHR0021", day).await;
    let anne = create(&mut chairs, &bs, chair(ANNE, "Anne Chair")).await;
    let allocated = chairs
        .allocate_chair(bs.req(allocate(&booked)))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap();
    assert_eq!(allocated.chair_id, anne.id);
    // Reporting (which lets a conference's chair read its reports) learns
    // the allocation from scheduling's feed ...
    let knows = "SELECT EXISTS (SELECT 1 FROM conferences WHERE id = $1::uuid AND chair_id = $2)";
    until_service_knows(&f, cpc_reporting::SCHEMA, knows, &[&allocated.id, &anne.id]).await;
    // ... and, when leave makes Anne unavailable that day, that she no
    // longer has it: the release is on the feed, not only in the diary.
    chairs
        .update_chair(bs.req(pb::UpdateChairRequest {
            chair: Some(pb::Chair {
                leave: vec![leave_on(day)],
                ..anne.clone()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["leave".into()],
            }),
        }))
        .await
        .unwrap();
    let released = "SELECT EXISTS (SELECT 1 FROM conferences \
                                   WHERE id = $1::uuid AND chair_id IS NULL)";
    until_service_knows(&f, cpc_reporting::SCHEMA, released, &[&allocated.id]).await;
    let mut feed = conferences
        .stream_changes(bs.req(pb::StreamChangesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    // The conference's last event before the chair's update (not its
    // creation) is on the feed.
    let mut last_of_conference = None;
    loop {
        let event = feed.message().await.unwrap().unwrap().event.unwrap();
        if event.event_type == "cpc.scheduling.v1.ChairChanged" {
            let changed =
                <pb::ChairChanged as prost::Message>::decode(event.payload.as_slice()).unwrap();
            if !changed.created {
                break;
            }
        } else if event.aggregate_id == allocated.id {
            last_of_conference = Some(event);
        }
    }
    let event = last_of_conference.unwrap();
    assert_eq!(event.event_type, "cpc.scheduling.v1.ChairAllocated");
    let change = <pb::ChairAllocated as prost::Message>::decode(event.payload.as_slice()).unwrap();
    assert!(change.allocation.is_none());
    let conference = change.conference.unwrap();
    assert!(conference.chair_id.is_empty());
    assert_eq!(conference.version, allocated.version + 1);
    f.stop().await;
}

#[tokio::test]
async fn a_conference_is_held_only_under_the_chair_allocated_to_it() {
    use crate::meetings::{attendee, chair_ref, clients, quorate_meeting, record_attendance};

    let (mut f, mut conferences) = start().await;
    let bs = business_support(&f);
    let mut chairs = ChairsServiceClient::new(f.server.channel().await);
    let day = Timescales::new(&AuthorityProfile::default())
        .unwrap()
        .calendar()
        .add_working_days(uk_today(), 5)
        .unwrap();
    let booked = booked_icpc(&mut f, &mut conferences, &bs, "CHR0031", day).await;
    let anne = create(&mut chairs, &bs, chair(ANNE, "Anne Chair")).await;
    let allocated = chairs
        .allocate_chair(bs.req(allocate(&booked)))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap();
    assert_eq!(allocated.chair_id, anne.id);
    let mut c = clients(&f, conferences).await;
    let held = |conference: &pb::Conference| pb::RecordConferenceHeldRequest {
        conference_id: conference.id.clone(),
        version: conference.version,
        held_date: pd_of(uk_today()),
        ..Default::default()
    };

    // The attendance names another chair as chairing it: the decisions
    // would be recorded under someone the allocation never checked.
    let stood_in = record_attendance(&mut c, &bs, &allocated, quorate_meeting())
        .await
        .conference
        .unwrap();
    assert_ne!(chair_ref().person_id, anne.id);
    let refused = c
        .attendance
        .record_conference_held(bs.req(held(&stood_in)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains("allocated chair"), "{refused:?}");

    // With Anne as chair, it is held.
    let mut meeting: Vec<pb::Attendee> = quorate_meeting()
        .into_iter()
        .filter(|a| a.role != pb::AttendeeRole::Chair as i32)
        .collect();
    meeting.push(attendee(
        anne.person.clone().unwrap(),
        pb::AttendeeRole::Chair,
    ));
    let chaired = record_attendance(&mut c, &bs, &stood_in, meeting)
        .await
        .conference
        .unwrap();
    let done = c
        .attendance
        .record_conference_held(bs.req(held(&chaired)))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap();
    assert_eq!(done.status, pb::ConferenceStatus::Held as i32);
    f.stop().await;
}

#[tokio::test]
async fn a_chair_who_works_on_the_case_is_not_given_its_conference() {
    let (mut f, mut conferences) = start().await;
    let bs = business_support(&f);
    let mut chairs = ChairsServiceClient::new(f.server.channel().await);
    let day = working_days_ahead(5);
    let icpc = booked_icpc(&mut f, &mut conferences, &bs, "CHR0011", day).await;
    create(&mut chairs, &bs, chair(ANNE, "Anne Chair")).await;
    create(&mut chairs, &bs, chair(BOB, "Bob Chair")).await;
    // Anne, who also manages a team, manages the one that holds the case.
    anne_manages(&mut f, &icpc.case_id).await;

    // Named, she is refused; by the rules, Bob is given it.
    let named = chairs
        .allocate_chair(bs.req(pb::AllocateChairRequest {
            chair_id: Uuid::from_u128(ANNE).to_string(),
            manual_reason: "Knows the family".into(),
            ..allocate(&icpc)
        }))
        .await
        .unwrap_err();
    assert_eq!(named.code(), Code::FailedPrecondition, "{named:?}");
    assert!(named.message().contains("works on it"), "{named:?}");
    let allocation = chairs
        .allocate_chair(bs.req(allocate(&icpc)))
        .await
        .unwrap()
        .into_inner()
        .allocation
        .unwrap();
    assert_eq!(allocation.chair_id, Uuid::from_u128(BOB).to_string());
    assert_eq!(
        reasons_of(&allocation, ANNE),
        [pb::IneligibilityReason::Conflict as i32]
    );
    f.stop().await;
}

#[tokio::test]
async fn a_chair_who_comes_to_work_on_the_case_is_released_from_its_conference() {
    let (mut f, mut conferences) = start().await;
    let bs = business_support(&f);
    let mut chairs = ChairsServiceClient::new(f.server.channel().await);
    let day = working_days_ahead(5);
    let next_day = working_days_ahead(6);
    let icpc = booked_icpc(&mut f, &mut conferences, &bs, "CHR0041", day).await;
    let other = booked_icpc(&mut f, &mut conferences, &bs, "CHR0042", next_day).await;
    create(&mut chairs, &bs, chair(ANNE, "Anne Chair")).await;
    for conference in [&icpc, &other] {
        let allocation = chairs
            .allocate_chair(bs.req(allocate(conference)))
            .await
            .unwrap()
            .into_inner()
            .allocation
            .unwrap();
        assert_eq!(allocation.chair_id, Uuid::from_u128(ANNE).to_string());
    }

    // Anne, allocated both, comes to manage the team that holds the first
    // conference's case.
    anne_manages(&mut f, &icpc.case_id).await;
    until_service_knows(
        &f,
        cpc_scheduling::SCHEMA,
        "SELECT chair_id IS NULL FROM conferences WHERE id = $1::uuid",
        &[&icpc.id],
    )
    .await;

    // That conference shows among the unallocated, its allocation gone;
    // the other case's conference keeps her.
    let get = |id: &str| pb::GetConferenceRequest {
        conference_id: id.into(),
    };
    let released = conferences
        .get_conference(bs.req(get(&icpc.id)))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap();
    assert_eq!(released.chair_id, "");
    assert!(released.chair_allocation.is_none());
    let kept = conferences
        .get_conference(bs.req(get(&other.id)))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap();
    assert_eq!(kept.chair_id, Uuid::from_u128(ANNE).to_string());
    let unallocated: Vec<String> = conferences
        .list_conferences(bs.req(pb::ListConferencesRequest {
            unallocated_only: true,
            status: pb::ConferenceStatus::Booked as i32,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .conferences
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(unallocated, [icpc.id.as_str()]);
    f.stop().await;
}

#[tokio::test]
async fn a_chair_whose_conferences_child_moves_to_a_case_they_work_on_is_released() {
    let (mut f, mut conferences) = start().await;
    let bs = business_support(&f);
    let mut chairs = ChairsServiceClient::new(f.server.channel().await);
    let day = working_days_ahead(5);
    let icpc = booked_icpc(&mut f, &mut conferences, &bs, "CHR0051", day).await;
    let child = icpc.child_ids[0].clone();
    let managed = crate::moves::another_case(&mut f, "CHR0052").await;
    create(&mut chairs, &bs, chair(ANNE, "Anne Chair")).await;
    chairs
        .allocate_chair(bs.req(allocate(&icpc)))
        .await
        .unwrap();
    // Anne manages the team that holds another case: the conference keeps her.
    anne_manages(&mut f, &managed).await;
    let get = pb::GetConferenceRequest {
        conference_id: icpc.id.clone(),
    };
    let kept = conferences
        .get_conference(bs.req(get.clone()))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap();
    assert_eq!(kept.chair_id, Uuid::from_u128(ANNE).to_string());

    // The child moves to that case: the conference needs another chair.
    crate::moves::moved(
        &mut f,
        &child,
        &managed,
        &[(cpc_scheduling::SCHEMA, "child_cases")],
    )
    .await;
    until_service_knows(
        &f,
        cpc_scheduling::SCHEMA,
        "SELECT chair_id IS NULL FROM conferences WHERE id = $1::uuid",
        &[&icpc.id],
    )
    .await;
    let released = conferences
        .get_conference(bs.req(get))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap();
    assert_eq!(released.chair_id, "");
    f.stop().await;
}
