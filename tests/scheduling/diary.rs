//! An s47 enquiry recorded in cases becomes an ICPC due in scheduling on
//! the right working day; booking it, moving it past its deadline (flagged,
//! with the reason), who may see it.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use cpc_identity::Role;
use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1 as common;
use cpc_proto::scheduling::v1 as pb;
use cpc_proto::scheduling::v1::conferences_service_client::ConferencesServiceClient;
use cpc_rules::profile::AuthorityProfile;
use cpc_rules::timescales::Timescales;
use tonic::Code;
use tonic::transport::Channel;

use crate::support::*;

pub(crate) const BUSINESS_SUPPORT: u128 = 0xb5_0001;

pub(crate) async fn start() -> (Fixture, ConferencesServiceClient<Channel>) {
    let f = Fixture::start_with(|config| {
        // The authorities the deployment serves: scheduling follows the
        // cases feed of each. Gloucestershire's DfE number heads its census.
        config.authorities.insert(
            AUTHORITY.to_owned(),
            AuthorityProfile {
                la_number: Some(916),
                ..AuthorityProfile::default()
            },
        );
    })
    .await;
    let scheduling = ConferencesServiceClient::new(f.server.channel().await);
    (f, scheduling)
}

pub(crate) fn business_support(f: &Fixture) -> As {
    f.person(
        BUSINESS_SUPPORT,
        AUTHORITY,
        Role::BusinessSupport,
        Some(csc()),
    )
}

/// A child in a new case, a referral, a strategy discussion on `held` that
/// starts an s47 enquiry; returns (child, case).
pub(crate) async fn s47_started(
    f: &mut Fixture,
    la_child_id: &str,
    held: NaiveDate,
) -> (String, String) {
    s47_about(f, child("", la_child_id, "Sam"), held).await
}

/// As [`s47_started`], for the child `template` describes.
pub(crate) async fn s47_about(
    f: &mut Fixture,
    template: cases::Child,
    held: NaiveDate,
) -> (String, String) {
    let sw = f.social_worker();
    let child = f
        .client
        .create_child(sw.req(cases::CreateChildRequest {
            request_id: rid(),
            child: Some(template),
        }))
        .await
        .unwrap()
        .into_inner()
        .child
        .unwrap();
    let mut referred = referral(&child.id);
    referred.referral_date = pd_of(held - chrono::Duration::days(2));
    f.client.open_cin_episode(sw.req(referred)).await.unwrap();
    let discussion = s47_discussion(f, &child.case_id, &[&child.id], held).await;
    f.client
        .start_section47_enquiry(sw.req(cases::StartSection47EnquiryRequest {
            request_id: rid(),
            child_id: child.id.clone(),
            strategy_discussion_id: discussion,
            start_date: pd_of(held),
        }))
        .await
        .unwrap();
    (child.id, child.case_id)
}

/// A strategy discussion on `held` about `children` of case `case_id` that
/// decides on section 47 enquiries; returns its id.
pub(crate) async fn s47_discussion(
    f: &mut Fixture,
    case_id: &str,
    children: &[&str],
    held: NaiveDate,
) -> String {
    let sw = f.social_worker();
    f.client
        .record_strategy_discussion(sw.req(cases::RecordStrategyDiscussionRequest {
            request_id: rid(),
            case_id: case_id.to_owned(),
            child_ids: children.iter().map(|c| (*c).to_owned()).collect(),
            discussion_date: pd_of(held),
            attendees: vec![worker_ref(), police_ref(), health_ref()],
            outcome: cases::StrategyOutcome::StartSection47 as i32,
            rationale: "Concerns reported by police".into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .strategy_discussion
        .unwrap()
        .id
}

pub(crate) fn pd_of(date: NaiveDate) -> Option<common::Date> {
    use chrono::Datelike as _;
    pd(
        date.year(),
        i32::try_from(date.month()).unwrap(),
        i32::try_from(date.day()).unwrap(),
    )
}

/// Waits for scheduling to have the case's conferences (it learns them
/// from the cases feed, asynchronously).
pub(crate) async fn conferences_of(
    scheduling: &mut ConferencesServiceClient<Channel>,
    who: &As,
    case_id: &str,
) -> Vec<pb::Conference> {
    conferences_of_kind(
        scheduling,
        who,
        case_id,
        common::ConferenceKind::Unspecified,
    )
    .await
}

/// [`conferences_of`], of one kind (`Unspecified`: any).
pub(crate) async fn conferences_of_kind(
    scheduling: &mut ConferencesServiceClient<Channel>,
    who: &As,
    case_id: &str,
    kind: common::ConferenceKind,
) -> Vec<pb::Conference> {
    // Up to 30 s, as the other waits on the feeds. Until scheduling has
    // learnt of the case from the cases feed, the case is NOT_FOUND.
    for _ in 0..300 {
        let listed = scheduling
            .list_conferences(who.req(pb::ListConferencesRequest {
                case_id: case_id.into(),
                kind: kind as i32,
                ..Default::default()
            }))
            .await;
        let found = match listed {
            Ok(response) => response.into_inner().conferences,
            Err(status) if status.code() == Code::NotFound => Vec::new(),
            Err(status) => panic!("{status:?}"),
        };
        if !found.is_empty() {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("scheduling never learnt of the case's conference from the cases feed");
}

/// 12:00 to 13:30 UTC on `date`: midday or 1 pm in the UK, the same
/// date whether BST applies or not.
pub(crate) fn slot_on(date: NaiveDate) -> (prost_types::Timestamp, prost_types::Timestamp) {
    let at = |h, m| Utc.from_utc_datetime(&date.and_hms_opt(h, m, 0).unwrap());
    (ts(at(12, 0)), ts(at(13, 30)))
}

pub(crate) fn ts(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

pub(crate) fn venue() -> pb::Venue {
    pb::Venue {
        name: "Shire Hall".into(),
        room: "Committee Room 2".into(),
        ..Default::default()
    }
}

pub(crate) fn uk_today() -> NaiveDate {
    cpc_rules::civil_time::uk_date(DateTime::<Utc>::from(std::time::SystemTime::now()))
}

#[tokio::test]
async fn an_s47_in_cases_makes_an_icpc_due_on_the_fifteenth_working_day() {
    let (mut f, mut scheduling) = start().await;
    let bs = business_support(&f);
    // Strategy discussion Wednesday 4 June 2025: 15 working days later is
    // Wednesday 25 June 2025 (no bank holiday in between).
    let (child, case) = s47_started(&mut f, "SCH0001", date(2025, 6, 4)).await;
    let found = conferences_of(&mut scheduling, &bs, &case).await;
    assert_eq!(found.len(), 1);
    let icpc = &found[0];
    assert_eq!(icpc.kind, common::ConferenceKind::Initial as i32);
    assert_eq!(icpc.status, pb::ConferenceStatus::Due as i32);
    assert_eq!(icpc.child_ids, vec![child.clone()]);
    assert_eq!(icpc.statutory_due_date, pd(2025, 6, 25));
    let basis = icpc.due_date_basis.as_ref().unwrap();
    assert_eq!(basis.event, pb::DueDateEvent::StrategyDiscussion as i32);
    assert_eq!(basis.amount, 15);
    assert_eq!(basis.unit, pb::DurationUnit::WorkingDays as i32);

    // Across the spring bank holidays: strategy discussion Thursday 17
    // April 2025; Good Friday (18 April), Easter Monday (21 April) and the
    // early May bank holiday (5 May) are not working days, so the 15th is
    // Tuesday 13 May 2025 (counted by hand: 22-25 April, 28 April-2 May,
    // 6-9 May, 12-13 May).
    let (_, case) = s47_started(&mut f, "SCH0002", date(2025, 4, 17)).await;
    let found = conferences_of(&mut scheduling, &bs, &case).await;
    assert_eq!(found[0].statutory_due_date, pd(2025, 5, 13));

    // The child's own social worker (a case member) sees the conference;
    // a colleague who is not on the case does not, and that is recorded.
    let sw = f.social_worker();
    let seen = scheduling
        .get_conference(sw.req(pb::GetConferenceRequest {
            conference_id: icpc.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap();
    assert_eq!(seen.id, icpc.id);
    let colleague = f.person(OTHER_WORKER, AUTHORITY, Role::SocialWorker, Some(csc()));
    let refused = scheduling
        .get_conference(colleague.req(pb::GetConferenceRequest {
            conference_id: icpc.id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    // Members list their case's conferences; the colleague may not.
    let listed = scheduling
        .list_conferences(sw.req(pb::ListConferencesRequest {
            case_id: icpc.case_id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .conferences;
    assert_eq!(listed.len(), 1);
    let refused = scheduling
        .list_conferences(colleague.req(pb::ListConferencesRequest {
            case_id: icpc.case_id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    // Another authority's staff cannot tell it exists.
    let elsewhere = f.person(
        BUSINESS_SUPPORT,
        OTHER_AUTHORITY,
        Role::BusinessSupport,
        Some(csc()),
    );
    let hidden = scheduling
        .get_conference(elsewhere.req(pb::GetConferenceRequest {
            conference_id: icpc.id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);

    // The child's social worker, asking scheduling who accessed the child,
    // sees the colleague's refusals (the conference, and the list of the
    // case's conferences, a record about each of its children) and the
    // attempt from elsewhere: the
    // refused call named only the conference, which the child's authority
    // alone can tell is the child's.
    let mut audit = cpc_proto::audit::v1::audit_service_client::AuditServiceClient::new(
        f.server.channel().await,
    );
    let seen = audit
        .list_access_records(sw.req(crate::access_log::about_child("scheduling", &child)))
        .await
        .unwrap()
        .into_inner()
        .records;
    let refusals: Vec<(&str, &str, &str, &str)> = seen
        .iter()
        .filter(|r| r.decision == cpc_proto::audit::v1::AccessDecision::Deny as i32)
        .map(|r| {
            (
                r.authority_id.as_str(),
                r.rpc_method.rsplit('/').next().unwrap(),
                r.resource_type.as_str(),
                r.resource_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        refusals,
        [
            (
                OTHER_AUTHORITY,
                "GetConference",
                "conference",
                icpc.id.as_str()
            ),
            (AUTHORITY, "ListConferences", "", ""),
            (AUTHORITY, "GetConference", "", ""),
        ],
        "{refusals:?}"
    );

    // Business support's diary across the authority showed the child's
    // conference: it is in the child's log, as a list of the case is.
    let bs = business_support(&f);
    let mut diary_reads = async || {
        audit
            .list_access_records(sw.req(crate::access_log::about_child("scheduling", &child)))
            .await
            .unwrap()
            .into_inner()
            .records
            .iter()
            .filter(|r| {
                r.rpc_method.ends_with("/ListConferences")
                    && r.person.as_ref().unwrap().person_id
                        == uuid::Uuid::from_u128(BUSINESS_SUPPORT).to_string()
            })
            .count()
    };
    let before = diary_reads().await;
    let diary = scheduling
        .list_conferences(bs.req(pb::ListConferencesRequest {
            authority_id: AUTHORITY.into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .conferences;
    assert!(diary.iter().any(|c| c.id == icpc.id));
    assert_eq!(diary_reads().await, before + 1);
    f.stop().await;
}

#[tokio::test]
async fn booking_past_the_deadline_needs_a_reason_and_every_move_is_kept() {
    let (mut f, mut scheduling) = start().await;
    let bs = business_support(&f);
    let today = uk_today();
    let (_, case) = s47_started(&mut f, "SCH0003", today).await;
    let icpc = conferences_of(&mut scheduling, &bs, &case).await.remove(0);
    let timescales = Timescales::new(&AuthorityProfile::default()).unwrap();
    let due = timescales.icpc_due(today).unwrap();
    assert_eq!(icpc.statutory_due_date, pd_of(due));

    // Booked on the due date itself: in time, not flagged.
    let (start, end) = slot_on(due);
    let booked = scheduling
        .book_conference(bs.req(pb::BookConferenceRequest {
            conference_id: icpc.id.clone(),
            version: icpc.version,
            start_time: Some(start),
            end_time: Some(end),
            venue: Some(venue()),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap();
    assert_eq!(booked.status, pb::ConferenceStatus::Booked as i32);
    assert!(!booked.booked_past_deadline);
    assert_eq!(booked.venue, Some(venue()));

    // Moving it to the next working day breaks the timescale: refused
    // without a reason (naming the field), allowed and flagged with one.
    let later = timescales.calendar().add_working_days(due, 1).unwrap();
    let (start, end) = slot_on(later);
    let move_to = |reason: &str| pb::MoveConferenceRequest {
        conference_id: booked.id.clone(),
        version: booked.version,
        start_time: Some(start),
        end_time: Some(end),
        reason: pb::RescheduleReason::ChairUnavailable as i32,
        past_deadline_reason: reason.into(),
        ..Default::default()
    };
    let refused = scheduling
        .move_conference(bs.req(move_to("")))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(bad_fields(&refused), ["past_deadline_reason"]);
    let moved = scheduling
        .move_conference(bs.req(move_to("Chair taken ill; no other chair free before then")))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap();
    assert!(moved.booked_past_deadline);
    assert_eq!(
        moved.past_deadline_reason,
        "Chair taken ill; no other chair free before then"
    );
    assert_eq!(moved.reschedules.len(), 1);
    let history = &moved.reschedules[0];
    assert_eq!(history.previous_start_time, booked.start_time);
    assert_eq!(history.new_start_time, Some(start));
    assert_eq!(
        history.reason,
        pb::RescheduleReason::ChairUnavailable as i32
    );
    assert!(history.past_deadline);
    assert_eq!(
        history.changed_by.as_ref().unwrap().person_id,
        uuid::Uuid::from_u128(BUSINESS_SUPPORT).to_string()
    );
    // The venue was kept.
    assert_eq!(moved.venue, Some(venue()));

    // A stale version is ABORTED; the diary lists it as past its deadline.
    let stale = scheduling
        .move_conference(bs.req(move_to("again")))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    let flagged = scheduling
        .list_conferences(bs.req(pb::ListConferencesRequest {
            past_deadline_only: true,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .conferences;
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0].id, moved.id);

    // Every change is on scheduling's own feed, in order.
    let mut feed = scheduling
        .stream_changes(bs.req(pb::StreamChangesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let mut types = Vec::new();
    while types.len() < 3 {
        let event = feed.message().await.unwrap().unwrap().event.unwrap();
        types.push(event.event_type);
    }
    assert_eq!(
        types,
        [
            "cpc.scheduling.v1.ConferenceDue",
            "cpc.scheduling.v1.ConferenceBooked",
            "cpc.scheduling.v1.ConferenceMoved"
        ]
    );
    f.stop().await;
}

#[tokio::test]
async fn bookings_are_checked_field_by_field() {
    let (mut f, mut scheduling) = start().await;
    let bs = business_support(&f);
    let (_, case) = s47_started(&mut f, "SCH0004", uk_today()).await;
    let icpc = conferences_of(&mut scheduling, &bs, &case).await.remove(0);
    // In the past, ending before it starts, nowhere to meet.
    let yesterday = ts(Utc::now() - chrono::Duration::days(1));
    let err = scheduling
        .book_conference(bs.req(pb::BookConferenceRequest {
            conference_id: icpc.id.clone(),
            version: icpc.version,
            start_time: Some(yesterday),
            end_time: Some(ts(Utc::now() - chrono::Duration::days(2))),
            virtual_meeting: Some(pb::VirtualMeeting {
                platform: "Teams".into(),
                join_url: "http://insecure.example".into(),
                ..Default::default()
            }),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields = bad_fields(&err);
    assert!(fields.contains(&"start_time".to_owned()), "{fields:?}");
    assert!(fields.contains(&"end_time".to_owned()), "{fields:?}");
    assert!(
        fields.contains(&"virtual_meeting.join_url".to_owned()),
        "{fields:?}"
    );
    // A cancelled conference cannot be booked.
    let cancelled = scheduling
        .cancel_conference(bs.req(pb::CancelConferenceRequest {
            conference_id: icpc.id.clone(),
            version: icpc.version,
            reason: "Enquiry found no continuing risk".into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap();
    assert_eq!(cancelled.status, pb::ConferenceStatus::Cancelled as i32);
    let due = cpc_platform::convert::date_from_proto(icpc.statutory_due_date.as_ref())
        .unwrap()
        .unwrap();
    let (start, end) = slot_on(due);
    let err = scheduling
        .book_conference(bs.req(pb::BookConferenceRequest {
            conference_id: icpc.id.clone(),
            version: cancelled.version,
            start_time: Some(start),
            end_time: Some(end),
            venue: Some(venue()),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    // Unknown conference; no credentials.
    let err = scheduling
        .get_conference(bs.req(pb::GetConferenceRequest {
            conference_id: uuid::Uuid::now_v7().to_string(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = scheduling
        .get_conference(tonic::Request::new(pb::GetConferenceRequest {
            conference_id: icpc.id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    f.stop().await;
}

#[tokio::test]
async fn an_unborn_childs_s47_makes_a_pre_birth_conference_due_by_28_weeks_gestation() {
    let (mut f, mut scheduling) = start().await;
    let bs = business_support(&f);
    let expected_birth = uk_today() + chrono::Duration::weeks(30);
    let unborn = cases::Child {
        birth_date: None,
        expected_birth_date: pd_of(expected_birth),
        sex: cases::Sex::Unknown as i32,
        upn: String::new(),
        nhs_number: String::new(),
        ..child("", "SCH0005", "Baby")
    };
    let (_, case) = s47_about(&mut f, unborn, uk_today()).await;
    let conference = conferences_of(&mut scheduling, &bs, &case).await.remove(0);
    assert_eq!(conference.kind, common::ConferenceKind::PreBirth as i32);
    // 28 weeks of gestation is 12 weeks before the expected birth; later
    // than 15 working days after the strategy discussion, so it stands.
    let deadline = Timescales::new(&AuthorityProfile::default())
        .unwrap()
        .pre_birth_icpc_due(expected_birth)
        .unwrap();
    assert_eq!(
        conference.statutory_due_date,
        pd_of(deadline.latest_working_day)
    );
    let basis = conference.due_date_basis.unwrap();
    assert_eq!(basis.event, pb::DueDateEvent::ExpectedBirth as i32);
    assert_eq!(basis.unit, pb::DurationUnit::WeeksOfGestation as i32);
    assert_eq!(basis.amount, 28);
    f.stop().await;
}

#[tokio::test]
async fn an_enquiry_finding_no_icpc_needed_cancels_the_icpc_it_made_due() {
    let (mut f, mut scheduling) = start().await;
    let bs = business_support(&f);
    let held = uk_today();
    let (child, case) = s47_started(&mut f, "SCH0006", held).await;
    let icpc = conferences_of(&mut scheduling, &bs, &case).await.remove(0);
    assert_eq!(icpc.status, pb::ConferenceStatus::Due as i32);
    let sw = f.social_worker();
    let enquiry = f
        .client
        .list_section47_enquiries(sw.req(cases::ListSection47EnquiriesRequest {
            child_id: child.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .enquiries
        .remove(0);
    f.client
        .complete_section47_enquiry(sw.req(cases::CompleteSection47EnquiryRequest {
            enquiry_id: enquiry.id.clone(),
            version: enquiry.version,
            completion_date: pd_of(held),
            outcome: cases::Section47Outcome::IcpcNotRequired as i32,
            icpc_not_required_reason: "Harm not substantiated; family support plan agreed".into(),
        }))
        .await
        .unwrap();
    // Scheduling learns it from the cases feed: the conference is not left
    // due (and so overdue) for ever, but cancelled, saying why.
    let mut cancelled = None;
    for _ in 0..300 {
        let now = scheduling
            .get_conference(bs.req(pb::GetConferenceRequest {
                conference_id: icpc.id.clone(),
            }))
            .await
            .unwrap()
            .into_inner()
            .conference
            .unwrap();
        if now.status == pb::ConferenceStatus::Cancelled as i32 {
            cancelled = Some(now);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cancelled = cancelled.expect("scheduling never cancelled the ICPC");
    assert!(
        cancelled.cancellation_reason.contains("section 47"),
        "{}",
        cancelled.cancellation_reason
    );
    // Escalation, which watches conferences for drift, learns it from
    // scheduling's feed and no longer expects it.
    crate::minutes::until_service_knows(
        &f,
        cpc_escalation::SCHEMA,
        "SELECT EXISTS (SELECT 1 FROM meetings WHERE id = $1::uuid AND state = 'cancelled')",
        &[&icpc.id],
    )
    .await;
    f.stop().await;
}
