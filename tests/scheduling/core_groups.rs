//! Core group meetings from the plan the ICPC started: the first due 10
//! working days after it, each held or missed one making the next due at
//! the authority's interval; and the case's calendar, which a real
//! iCalendar parser reads, naming no one.

use std::time::Duration;

use cpc_proto::scheduling::v1 as pb;
use cpc_proto::scheduling::v1::calendar_service_client::CalendarServiceClient;
use cpc_proto::scheduling::v1::core_groups_service_client::CoreGroupsServiceClient;
use icalendar::{Calendar, CalendarComponent, Component as _};
use tonic::Code;

use crate::diary::*;
use crate::meetings::{Held, last_working_day, plan_started, timescales};
use crate::support::*;

#[tokio::test]
async fn core_groups_follow_the_plan_and_the_case_calendar_parses() {
    let (mut f, mut conferences) = start().await;
    let bs = business_support(&f);
    let Held {
        child,
        case,
        held_on,
        ..
    } = Box::pin(plan_started(&mut f, &mut conferences, "CGM0001")).await;
    let mut core_groups = CoreGroupsServiceClient::new(f.server.channel().await);

    // The first meeting: 10 working days after the ICPC.
    let mut first = None;
    for _ in 0..300 {
        let found = core_groups
            .list_core_group_meetings(bs.req(pb::ListCoreGroupMeetingsRequest {
                case_id: case.clone(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
            .meetings;
        if let Some(found) = found.into_iter().next() {
            first = Some(found);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let first = first.expect("scheduling never made the first core group due");
    assert_eq!(first.sequence_number, 1);
    assert_eq!(first.status, pb::CoreGroupMeetingStatus::Due as i32);
    assert_eq!(first.child_ids, vec![child.clone()]);
    assert_eq!(
        first.due_date,
        pd_of(timescales().first_core_group_due(held_on).unwrap())
    );

    // The social worker (a member of the case) arranges it.
    let sw = f.social_worker();
    let day = timescales()
        .calendar()
        .add_working_days(uk_today(), 2)
        .unwrap();
    let scheduled = arrange(&mut core_groups, &sw, &first, day).await;
    assert_eq!(
        scheduled.status,
        pb::CoreGroupMeetingStatus::Scheduled as i32
    );

    // The case's calendar: the held ICPC and the core group, by kind and
    // case reference only.
    let mut calendars = CalendarServiceClient::new(f.server.channel().await);
    let export = calendars
        .export_i_calendar(sw.req(pb::ExportICalendarRequest {
            subject: Some(pb::export_i_calendar_request::Subject::CaseId(case.clone())),
            period: Some(cpc_proto::common::v1::DateRange {
                start_date: pd_of(uk_today()),
                end_date: pd_of(day),
            }),
            include_core_groups: true,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(export.content_type, "text/calendar; charset=utf-8");
    let text = String::from_utf8(export.calendar).unwrap();
    let parsed: Calendar = text.parse().unwrap();
    let events: Vec<_> = parsed
        .components
        .iter()
        .filter_map(|c| match c {
            CalendarComponent::Event(e) => Some(e),
            _ => None,
        })
        .collect();
    let summaries: Vec<&str> = events.iter().filter_map(|e| e.get_summary()).collect();
    assert_eq!(events.len(), 2, "{summaries:?}");
    assert!(
        summaries
            .iter()
            .any(|s| s.starts_with("Core group meeting"))
    );
    assert!(
        summaries
            .iter()
            .any(|s| s.starts_with("Initial child protection conference"))
    );
    for name in ["Sam", "Smith"] {
        assert!(!text.contains(name), "a name in the calendar");
    }
    // A colleague who is not on the case cannot export it.
    let colleague = f.person(
        OTHER_WORKER,
        AUTHORITY,
        cpc_identity::Role::SocialWorker,
        Some(csc()),
    );
    let refused = calendars
        .export_i_calendar(colleague.req(pb::ExportICalendarRequest {
            subject: Some(pb::export_i_calendar_request::Subject::CaseId(case.clone())),
            period: Some(cpc_proto::common::v1::DateRange {
                start_date: pd_of(uk_today()),
                end_date: pd_of(day),
            }),
            include_core_groups: true,
        }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);

    // Held: the next one is due 6 weeks on (the last working day on or
    // before); then missed: the one after is due 6 weeks after the missed
    // one's due date.
    let held_day = last_working_day();
    let held = core_groups
        .record_core_group_held(sw.req(pb::RecordCoreGroupHeldRequest {
            meeting_id: scheduled.id.clone(),
            version: scheduled.version,
            held_date: pd_of(held_day),
            attendees: vec![worker_ref(), health_ref()],
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        held.meeting.unwrap().status,
        pb::CoreGroupMeetingStatus::Held as i32
    );
    let second = held.next_meeting.unwrap();
    assert_eq!(second.sequence_number, 2);
    assert_eq!(second.previous_meeting_id, scheduled.id);
    let six_weeks = timescales().next_core_group_due(held_day).unwrap();
    assert_eq!(second.due_date, pd_of(six_weeks.latest_working_day));
    let missed = core_groups
        .record_core_group_missed(sw.req(pb::RecordCoreGroupMissedRequest {
            meeting_id: second.id.clone(),
            version: second.version,
            reason: "Social worker off sick; no cover arranged".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    let third = missed.next_meeting.unwrap();
    assert_eq!(third.sequence_number, 3);
    let after_missed = timescales()
        .next_core_group_due(six_weeks.latest_working_day)
        .unwrap();
    assert_eq!(third.due_date, pd_of(after_missed.latest_working_day));
    // Recording the missed one again is refused.
    let again = core_groups
        .record_core_group_missed(sw.req(pb::RecordCoreGroupMissedRequest {
            meeting_id: second.id.clone(),
            version: missed.meeting.unwrap().version,
            reason: "again".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);
    f.stop().await;
}

/// `who` arranges `meeting` for `day`, at the usual venue.
pub(crate) async fn arrange(
    core_groups: &mut CoreGroupsServiceClient<tonic::transport::Channel>,
    who: &As,
    meeting: &pb::CoreGroupMeeting,
    day: chrono::NaiveDate,
) -> pb::CoreGroupMeeting {
    let (start, end) = slot_on(day);
    core_groups
        .schedule_core_group_meeting(who.req(pb::ScheduleCoreGroupMeetingRequest {
            meeting_id: meeting.id.clone(),
            version: meeting.version,
            start_time: Some(start),
            end_time: Some(end),
            venue: Some(venue()),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .meeting
        .unwrap()
}
