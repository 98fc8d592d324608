//! The authorization matrix over the real scheduling services: every row
//! of the five scheduling services in the access matrix
//! (`tests/access-matrix.csv`) — every served RPC × every role × {current
//! member of the case, agency member, former member, not a member, another
//! authority} —
//! called over gRPC with a valid request on real records (a review
//! conference, its invitation, a core group meeting, a chair), and the
//! answer compared with the table's cell. Every refusal must be in
//! scheduling's audit log.
//!
//! Case membership reaches scheduling on the cases feed; former members'
//! memberships are written into scheduling's copy as ended last month, as
//! time would have (the API cannot end one before its first day).

use std::time::Duration;

use cpc_platform::db;
use cpc_proto::common::v1 as common;
use cpc_proto::scheduling::v1 as pb;
use cpc_proto::scheduling::v1::attendance_service_client::AttendanceServiceClient;
use cpc_proto::scheduling::v1::calendar_service_client::CalendarServiceClient;
use cpc_proto::scheduling::v1::chairs_service_client::ChairsServiceClient;
use cpc_proto::scheduling::v1::conferences_service_client::ConferencesServiceClient;
use cpc_proto::scheduling::v1::core_groups_service_client::CoreGroupsServiceClient;
use tonic::Status;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::diary::*;
use crate::meetings::{Held, invitation, last_working_day, plan_started, timescales};
use crate::support::*;

/// The scheduling services the matrix calls.
/// In this order: the table's exclusion cells (AttendanceService) are for a
/// conference with no chair yet, which any chair of the authority may
/// decide on; AllocateChair (ChairsService) then gives the review a chair,
/// after which only that chair could (policy
/// allocated-chair-decides-exclusions, tested in `exclusions.rs`).
const SERVICES: [&str; 5] = [
    "cpc.scheduling.v1.ConferencesService",
    "cpc.scheduling.v1.AttendanceService",
    "cpc.scheduling.v1.ChairsService",
    "cpc.scheduling.v1.CoreGroupsService",
    "cpc.scheduling.v1.CalendarService",
];

/// Called last: it ends the conference the other calls act on.
const CANCEL: &str = "/cpc.scheduling.v1.ConferencesService/CancelConference";

/// The ids this test's callers have.
const PEOPLE: u128 = 0x6000;

/// The records the calls act on.
struct World {
    case: String,
    child: String,
    review: pb::Conference,
    invitation: pb::Invitation,
    meeting: pb::CoreGroupMeeting,
    chair: pb::Chair,
}

/// The parent the chairs of the matrix exclude from the review.
const EXCLUDED_PARENT: u128 = 0xfa_0001;

struct Clients {
    conferences: ConferencesServiceClient<Channel>,
    attendance: AttendanceServiceClient<Channel>,
    chairs: ChairsServiceClient<Channel>,
    core_groups: CoreGroupsServiceClient<Channel>,
    calendar: CalendarServiceClient<Channel>,
}

#[tokio::test]
async fn every_scheduling_rpc_for_every_role_and_relation() {
    let (mut f, mut conferences) = start().await;
    let world = Box::pin(build_world(&mut f, &mut conferences)).await;
    let channel = f.server.channel().await;
    let mut c = Clients {
        conferences,
        attendance: AttendanceServiceClient::new(channel.clone()),
        chairs: ChairsServiceClient::new(channel.clone()),
        core_groups: CoreGroupsServiceClient::new(channel.clone()),
        calendar: CalendarServiceClient::new(channel),
    };
    add_members(&mut f, &world).await;
    let matrix = Matrix::load();
    let mut rows: Vec<&Row> = SERVICES
        .iter()
        .flat_map(|service| matrix.over_grpc(service))
        .collect();
    rows.sort_by_key(|row| row.rpc == CANCEL);
    let run = f
        .run_matrix(&rows, PEOPLE, async |caller, rpc, _| {
            call(&mut c, caller, rpc, &world).await
        })
        .await;
    assert_eq!(distinct_rpcs(&rows), 29, "every served RPC");
    assert_eq!(run.calls, rows.len() * ROLE_COLUMNS.len());
    assert_matrix(&f, &run, cpc_scheduling::SCHEMA, 300).await;
    f.stop().await;
}

/// Current members through the cases API (scheduling learns them from the
/// cases feed); former members written into scheduling's copy directly.
async fn add_members(f: &mut Fixture, world: &World) {
    let people = || matrix_roles().filter(|(_, r)| !r.is_service_role());
    let on_case = f.add_matrix_members(PEOPLE, &world.case).await;
    let options = db::schema_options(f.db.url(), cpc_scheduling::SCHEMA).unwrap();
    let admin = sqlx::PgPool::connect_with(options).await.unwrap();
    let case = Uuid::parse_str(&world.case).unwrap();
    for (i, _) in people() {
        sqlx::query(
            "INSERT INTO case_members (membership_id, authority_id, case_id, person_id, start_date, \
                                       end_date, version, updated_at) \
             VALUES ($1, $2, $3, $4, current_date - 90, current_date - 30, 1, now())",
        )
        .bind(Uuid::new_v4())
        .bind(AUTHORITY)
        .bind(case)
        .bind(Uuid::from_u128(matrix_person(PEOPLE, i, Relation::FormerMember)).to_string())
        .execute(&admin)
        .await
        .unwrap();
    }
    // Wait for the feed to bring every current member.
    let expected = i64::try_from(on_case.len()).unwrap();
    for _ in 0..200 {
        let members: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM case_members WHERE case_id = $1 AND person_id = ANY ($2)",
        )
        .bind(case)
        .bind(&on_case)
        .fetch_one(&admin)
        .await
        .unwrap();
        if members == expected {
            admin.close().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("scheduling never learnt the case's members");
}

async fn build_world(
    f: &mut Fixture,
    conferences: &mut ConferencesServiceClient<Channel>,
) -> World {
    let bs = business_support(f);
    let Held { child, case, .. } = Box::pin(plan_started(f, conferences, "MAT0001")).await;
    let mut review = None;
    let mut core_groups = CoreGroupsServiceClient::new(f.server.channel().await);
    let mut meeting = None;
    for _ in 0..300 {
        let found = conferences
            .list_conferences(bs.req(pb::ListConferencesRequest {
                case_id: case.clone(),
                kind: common::ConferenceKind::Review as i32,
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
            .conferences;
        let meetings = core_groups
            .list_core_group_meetings(bs.req(pb::ListCoreGroupMeetingsRequest {
                case_id: case.clone(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
            .meetings;
        if let (Some(r), Some(m)) = (found.into_iter().next(), meetings.into_iter().next()) {
            review = Some(r);
            meeting = Some(m);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let review = review.expect("a review");
    let meeting = meeting.expect("a core group meeting");
    let mut attendance = AttendanceServiceClient::new(f.server.channel().await);
    let invitation = attendance
        .create_invitation(bs.req(invitation(&review.id, police_ref())))
        .await
        .unwrap()
        .into_inner()
        .invitation
        .unwrap();
    let mut chairs = ChairsServiceClient::new(f.server.channel().await);
    let chair = chairs
        .create_chair(bs.req(pb::CreateChairRequest {
            request_id: rid(),
            chair: Some(chair_record(0xc4a1_9001)),
        }))
        .await
        .unwrap()
        .into_inner()
        .chair
        .unwrap();
    World {
        case,
        child,
        review,
        invitation,
        meeting,
        chair,
    }
}

fn chair_record(id: u128) -> pb::Chair {
    pb::Chair {
        id: Uuid::from_u128(id).to_string(),
        authority_id: AUTHORITY.into(),
        person: Some(person_ref(
            id,
            "Matrix Chair",
            common::AgencyKind::ChildrensSocialCare,
            "Safeguarding Unit",
        )),
        active: true,
        working_pattern: (1..=5)
            .map(|day| pb::WorkingPeriod {
                weekday: day,
                start_minute: 9 * 60,
                end_minute: 17 * 60,
            })
            .collect(),
        max_conferences_per_day: 2,
        max_conferences_per_week: 8,
        max_children: 60,
        ..Default::default()
    }
}

fn week() -> Option<common::DateRange> {
    let today = uk_today();
    Some(common::DateRange {
        start_date: pd_of(today),
        end_date: pd_of(today + chrono::Duration::days(6)),
    })
}

#[allow(clippy::too_many_lines, reason = "one arm per RPC, read as a table")]
async fn call(c: &mut Clients, who: &As, rpc: &str, w: &World) -> Result<(), Status> {
    let day = timescales()
        .calendar()
        .add_working_days(uk_today(), 3)
        .unwrap();
    let (start, end) = slot_on(day);
    let conference = || w.review.id.clone();
    match rpc {
        "CreateConference" => c
            .conferences
            .create_conference(who.req(pb::CreateConferenceRequest {
                request_id: rid(),
                conference: Some(pb::Conference {
                    authority_id: AUTHORITY.into(),
                    kind: common::ConferenceKind::Review as i32,
                    case_id: w.case.clone(),
                    child_ids: vec![w.child.clone()],
                    statutory_due_date: pd_of(day),
                    due_date_basis: Some(pb::DueDateBasis {
                        event: pb::DueDateEvent::Manual as i32,
                        explanation: "Review brought forward".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
            }))
            .await
            .map(drop),
        "GetConference" => c
            .conferences
            .get_conference(who.req(pb::GetConferenceRequest {
                conference_id: conference(),
            }))
            .await
            .map(drop),
        "ListConferences" => c
            .conferences
            .list_conferences(who.req(pb::ListConferencesRequest {
                authority_id: AUTHORITY.into(),
                ..Default::default()
            }))
            .await
            .map(drop),
        "BookConference" => c
            .conferences
            .book_conference(who.req(pb::BookConferenceRequest {
                conference_id: conference(),
                version: w.review.version,
                start_time: Some(start),
                end_time: Some(end),
                venue: Some(venue()),
                ..Default::default()
            }))
            .await
            .map(drop),
        "MoveConference" => c
            .conferences
            .move_conference(who.req(pb::MoveConferenceRequest {
                conference_id: conference(),
                version: w.review.version + 1,
                start_time: Some(start),
                end_time: Some(end),
                reason: pb::RescheduleReason::FamilyRequest as i32,
                ..Default::default()
            }))
            .await
            .map(drop),
        "CancelConference" => c
            .conferences
            .cancel_conference(who.req(pb::CancelConferenceRequest {
                conference_id: conference(),
                version: w.review.version,
                reason: "Matrix test".into(),
            }))
            .await
            .map(drop),
        "StreamChanges" => c
            .conferences
            .stream_changes(who.req(pb::StreamChangesRequest {
                authority_id: AUTHORITY.into(),
                ..Default::default()
            }))
            .await
            .map(drop),
        "CreateInvitation" => c
            .attendance
            .create_invitation(who.req(pb::CreateInvitationRequest {
                request_id: rid(),
                invitation: Some(pb::Invitation {
                    conference_id: conference(),
                    invitee_kind: pb::InviteeKind::AgencyProfessional as i32,
                    invitee: Some(health_ref()),
                    method: pb::InvitationMethod::Letter as i32,
                    ..Default::default()
                }),
            }))
            .await
            .map(drop),
        "ListInvitations" => c
            .attendance
            .list_invitations(who.req(pb::ListInvitationsRequest {
                conference_id: conference(),
                ..Default::default()
            }))
            .await
            .map(drop),
        "RespondToInvitation" => c
            .attendance
            .respond_to_invitation(who.req(pb::RespondToInvitationRequest {
                invitation_id: w.invitation.id.clone(),
                version: w.invitation.version,
                reply: pb::InvitationReply::AttendingInPerson as i32,
                ..Default::default()
            }))
            .await
            .map(drop),
        "ExcludeFromConference" => c
            .attendance
            .exclude_from_conference(who.req(pb::ExcludeFromConferenceRequest {
                conference_id: conference(),
                version: w.review.version,
                person: Some(person_ref(
                    EXCLUDED_PARENT,
                    "Pat Parent",
                    common::AgencyKind::Unspecified,
                    "",
                )),
                scope: pb::AttendanceExclusionScope::PartOfConference as i32,
                excluded_parts: "Police disclosure".into(),
            }))
            .await
            .map(drop),
        "LiftConferenceExclusion" => c
            .attendance
            .lift_conference_exclusion(who.req(pb::LiftConferenceExclusionRequest {
                conference_id: conference(),
                version: w.review.version,
                person_id: Uuid::from_u128(EXCLUDED_PARENT).to_string(),
            }))
            .await
            .map(drop),
        "RecordAttendance" => c
            .attendance
            .record_attendance(who.req(pb::RecordAttendanceRequest {
                conference_id: conference(),
                version: w.review.version,
                attendees: vec![pb::Attendee {
                    person: Some(worker_ref()),
                    role: pb::AttendeeRole::SocialWorker as i32,
                    ..Default::default()
                }],
            }))
            .await
            .map(drop),
        "AssessQuorum" => c
            .attendance
            .assess_quorum(who.req(pb::AssessQuorumRequest {
                conference_id: conference(),
                basis: pb::QuorumBasis::InvitationResponses as i32,
            }))
            .await
            .map(drop),
        "RecordConferenceHeld" => c
            .attendance
            .record_conference_held(who.req(pb::RecordConferenceHeldRequest {
                conference_id: conference(),
                version: w.review.version,
                held_date: pd_of(last_working_day()),
                ..Default::default()
            }))
            .await
            .map(drop),
        "RecordInquorate" => c
            .attendance
            .record_inquorate(who.req(pb::RecordInquorateRequest {
                conference_id: conference(),
                version: w.review.version,
                meeting_date: pd_of(last_working_day()),
                interim_plan_summary: "Interim safety plan".into(),
            }))
            .await
            .map(drop),
        "CreateChair" => c
            .chairs
            .create_chair(who.req(pb::CreateChairRequest {
                request_id: rid(),
                chair: Some(chair_record(0xc4a1_9002)),
            }))
            .await
            .map(drop),
        "GetChair" => c
            .chairs
            .get_chair(who.req(pb::GetChairRequest {
                chair_id: w.chair.id.clone(),
            }))
            .await
            .map(drop),
        "ListChairs" => c
            .chairs
            .list_chairs(who.req(pb::ListChairsRequest {
                authority_id: AUTHORITY.into(),
                ..Default::default()
            }))
            .await
            .map(drop),
        "UpdateChair" => c
            .chairs
            .update_chair(who.req(pb::UpdateChairRequest {
                chair: Some(pb::Chair {
                    max_children: 50,
                    ..w.chair.clone()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["max_children".into()],
                }),
            }))
            .await
            .map(drop),
        "GetChairWorkload" => c
            .chairs
            .get_chair_workload(who.req(pb::GetChairWorkloadRequest {
                chair_id: w.chair.id.clone(),
                period: week(),
            }))
            .await
            .map(drop),
        "ListChairWorkloads" => c
            .chairs
            .list_chair_workloads(who.req(pb::ListChairWorkloadsRequest {
                authority_id: AUTHORITY.into(),
                period: week(),
                ..Default::default()
            }))
            .await
            .map(drop),
        "AllocateChair" => c
            .chairs
            .allocate_chair(who.req(pb::AllocateChairRequest {
                conference_id: conference(),
                version: w.review.version,
                ..Default::default()
            }))
            .await
            .map(drop),
        "GetCoreGroupMeeting" => c
            .core_groups
            .get_core_group_meeting(who.req(pb::GetCoreGroupMeetingRequest {
                meeting_id: w.meeting.id.clone(),
            }))
            .await
            .map(drop),
        "ListCoreGroupMeetings" => c
            .core_groups
            .list_core_group_meetings(who.req(pb::ListCoreGroupMeetingsRequest {
                authority_id: AUTHORITY.into(),
                ..Default::default()
            }))
            .await
            .map(drop),
        "ScheduleCoreGroupMeeting" => c
            .core_groups
            .schedule_core_group_meeting(who.req(pb::ScheduleCoreGroupMeetingRequest {
                meeting_id: w.meeting.id.clone(),
                version: w.meeting.version,
                start_time: Some(start),
                end_time: Some(end),
                ..Default::default()
            }))
            .await
            .map(drop),
        "RecordCoreGroupHeld" => c
            .core_groups
            .record_core_group_held(who.req(pb::RecordCoreGroupHeldRequest {
                meeting_id: w.meeting.id.clone(),
                version: w.meeting.version,
                held_date: pd_of(last_working_day()),
                attendees: vec![worker_ref()],
            }))
            .await
            .map(drop),
        "RecordCoreGroupMissed" => c
            .core_groups
            .record_core_group_missed(who.req(pb::RecordCoreGroupMissedRequest {
                meeting_id: w.meeting.id.clone(),
                version: w.meeting.version,
                reason: "Matrix test".into(),
            }))
            .await
            .map(drop),
        "ExportICalendar" => c
            .calendar
            .export_i_calendar(who.req(pb::ExportICalendarRequest {
                subject: Some(pb::export_i_calendar_request::Subject::CaseId(
                    w.case.clone(),
                )),
                period: week(),
                include_core_groups: true,
            }))
            .await
            .map(drop),
        other => panic!("no call for {other}"),
    }
}
