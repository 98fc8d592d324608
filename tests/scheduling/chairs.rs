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
