//! Following the cases and scheduling change feeds
//! ([`cpc_platform::feeds`]): each event is applied here, in reporting's own
//! transaction, with the feed position.
//!
//! What reporting learns: from scheduling, each conference's case, children,
//! status (minutes are written for one that met), reports due date and
//! chair, who was invited to it and whom the chair excluded from attending
//! it before it met; from cases, who is on each case (for the policies)
//! and whom the chair excluded from a conference's minutes or from
//! attending it (exclusions with scope MINUTES or ATTENDANCE on its
//! outcomes), and, in a follow of its own ([`CHILD_CASES_FEED`]), which
//! case each child is on now. For the timeliness statistics: each
//! conference's kind, statutory due date and clock start, each core group
//! meeting (scheduling) and each section 47 enquiry's start (cases). For
//! the children in need census ([`crate::census::learn`]): each child's
//! census items, episodes, enquiries, initial conferences and plans (cases).

use chrono::{DateTime, Utc};
use cpc_platform::case_members;
use cpc_platform::convert::date_from_proto;
use cpc_platform::feeds::{
    BoxFuture, CHILD_EVENTS, CONFERENCE_EVENTS, CORE_GROUP_EVENTS, Follow, PLAN_EVENTS, Source,
    bad_event, decode_event,
};
use cpc_platform::{ApiError, Config};
use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1::ChangeEvent;
use cpc_proto::scheduling::v1 as scheduling;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::census;
use crate::store::conferences::{self, Conference, Excluded};
use crate::store::timeliness::{self, CoreGroupMeeting};

const MEMBER_ADDED: &str = "cpc.cases.v1.CaseMemberAdded";
const MEMBER_ENDED: &str = "cpc.cases.v1.CaseMemberEnded";
const OUTCOME_RECORDED: &str = "cpc.cases.v1.ConferenceOutcomeRecorded";
const S47_STARTED: &str = "cpc.cases.v1.Section47Started";
const S47_COMPLETED: &str = "cpc.cases.v1.Section47Completed";
const EPISODE_OPENED: &str = "cpc.cases.v1.CinEpisodeOpened";
const EPISODE_CLOSED: &str = "cpc.cases.v1.CinEpisodeClosed";

/// The cases feed, as reporting follows it: memberships and outcomes, and
/// what the children in need census is written from.
pub const CASES_FEED: Follow = Follow {
    source: Source::Cases,
    position: "cases",
    events: &[
        &[MEMBER_ADDED, MEMBER_ENDED, OUTCOME_RECORDED],
        &[S47_STARTED, S47_COMPLETED],
        &CHILD_EVENTS,
        &[EPISODE_OPENED, EPISODE_CLOSED],
        &PLAN_EVENTS,
    ],
    apply: apply_cases_event,
};

/// The cases feed again, for the case each child is on now alone
/// (`child_cases`, which the policies read), keeping a place of its own.
/// So a database whose children were moved before reporting kept that table
/// (migration `20261211100001`) learns where they are: this follow starts
/// from the feed's beginning, wherever the other has got to. Reading a
/// child's event twice changes nothing: an older version of the child never
/// overwrites a newer one.
pub const CHILD_CASES_FEED: Follow = Follow {
    source: Source::Cases,
    position: "cases.child_cases",
    events: &[&CHILD_EVENTS],
    apply: apply_child_case,
};

fn apply_child_case<'a>(
    conn: &'a mut PgConnection,
    event: &'a ChangeEvent,
    _config: &'a Config,
) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async move {
        let now = DateTime::<Utc>::from(std::time::SystemTime::now());
        // Every child event carries the child as field 1.
        let child = decode_event::<cases::ChildRegistered>(event)?
            .child
            .ok_or_else(|| bad_event(event, "has no child"))?;
        let id = |text: &str| Uuid::parse_str(text).map_err(|_| bad_event(event, "is incomplete"));
        conferences::learn_child_case(
            conn,
            &event.authority_id,
            id(&child.id)?,
            id(&child.case_id)?,
            child.version,
            now,
        )
        .await
    })
}

const INVITATION_SENT: &str = "cpc.scheduling.v1.InvitationSent";

/// Scheduling's feed, as reporting follows it: the conferences and who was
/// invited to them.
pub const SCHEDULING_FEED: Follow = Follow {
    source: Source::Scheduling,
    position: "scheduling",
    events: &[&CONFERENCE_EVENTS, &CORE_GROUP_EVENTS, &[INVITATION_SENT]],
    apply: apply_scheduling_event,
};

fn apply_cases_event<'a>(
    conn: &'a mut PgConnection,
    event: &'a ChangeEvent,
    _config: &'a Config,
) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async move {
        let now = DateTime::<Utc>::from(std::time::SystemTime::now());
        let authority = event.authority_id.as_str();
        match event.event_type.as_str() {
            // Both carry the membership as field 1.
            MEMBER_ADDED | MEMBER_ENDED => {
                let membership = decode_event::<cases::CaseMemberAdded>(event)?
                    .membership
                    .ok_or_else(|| bad_event(event, "has no membership"))?;
                case_members::record(conn, authority, &membership, now).await
            }
            // Each carries the enquiry as field 1.
            S47_STARTED | S47_COMPLETED => {
                let enquiry = decode_event::<cases::Section47Completed>(event)?
                    .enquiry
                    .ok_or_else(|| bad_event(event, "has no enquiry"))?;
                census::learn::enquiry(conn, authority, &enquiry, now).await
            }
            kind if CHILD_EVENTS.contains(&kind) => {
                let child = decode_event::<cases::ChildRegistered>(event)?
                    .child
                    .ok_or_else(|| bad_event(event, "has no child"))?;
                census::learn::child(conn, authority, &child, now).await
            }
            // Each carries the episode as field 1.
            EPISODE_OPENED | EPISODE_CLOSED => {
                let episode = decode_event::<cases::CinEpisodeOpened>(event)?
                    .cin_episode
                    .ok_or_else(|| bad_event(event, "has no episode"))?;
                census::learn::episode(conn, authority, &episode, now).await
            }
            kind if PLAN_EVENTS.contains(&kind) => {
                let plan = decode_event::<cases::PlanStarted>(event)?
                    .plan
                    .ok_or_else(|| bad_event(event, "has no plan"))?;
                census::learn::plan(conn, authority, &plan, now).await
            }
            OUTCOME_RECORDED => {
                let outcome = decode_event::<cases::ConferenceOutcomeRecorded>(event)?
                    .outcome
                    .ok_or_else(|| bad_event(event, "has no outcome"))?;
                census::learn::outcome(conn, authority, &outcome, now).await?;
                let id = |text: &str| {
                    Uuid::parse_str(text).map_err(|_| bad_event(event, "is incomplete"))
                };
                let (outcome_id, conference, child) = (
                    id(&outcome.id)?,
                    id(&outcome.conference_id)?,
                    id(&outcome.child_id)?,
                );
                for (scope, excluded) in [
                    (cases::ExclusionScope::Minutes, Excluded::FromMinutes),
                    (cases::ExclusionScope::Attendance, Excluded::FromAttending),
                ] {
                    let people: Vec<String> = outcome
                        .exclusions
                        .iter()
                        .filter(|x| x.scopes.contains(&(scope as i32)))
                        .filter_map(|x| x.person.as_ref().map(|p| p.person_id.clone()))
                        .filter(|p| !p.is_empty())
                        .collect();
                    conferences::record_exclusions(
                        conn, authority, outcome_id, conference, child, excluded, &people, now,
                    )
                    .await?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    })
}

fn apply_scheduling_event<'a>(
    conn: &'a mut PgConnection,
    event: &'a ChangeEvent,
    _config: &'a Config,
) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async move {
        let now = DateTime::<Utc>::from(std::time::SystemTime::now());
        if event.event_type == INVITATION_SENT {
            let invitation = decode_event::<scheduling::InvitationSent>(event)?
                .invitation
                .ok_or_else(|| bad_event(event, "has no invitation"))?;
            let id =
                |text: &str| Uuid::parse_str(text).map_err(|_| bad_event(event, "is incomplete"));
            let person = invitation
                .invitee
                .as_ref()
                .map(|p| p.person_id.as_str())
                .filter(|p| !p.is_empty())
                .ok_or_else(|| bad_event(event, "is incomplete"))?;
            return conferences::invited(
                conn,
                &event.authority_id,
                id(&invitation.conference_id)?,
                person,
                id(&invitation.id)?,
                now,
            )
            .await;
        }
        if CORE_GROUP_EVENTS.contains(&event.event_type.as_str()) {
            // Each carries the meeting after the change as field 1.
            let meeting = decode_event::<scheduling::CoreGroupMeetingDue>(event)?
                .meeting
                .and_then(|m| meeting_as_kept(&m))
                .ok_or_else(|| bad_event(event, "is incomplete"))?;
            return timeliness::learn_meeting(conn, &event.authority_id, &meeting, now).await;
        }
        if !CONFERENCE_EVENTS.contains(&event.event_type.as_str()) {
            return Ok(());
        }
        // An inquorate meeting also names the conference that reconvenes
        // it, as field 2; the others' field 2 is something else.
        let changed = if event.event_type == "cpc.scheduling.v1.ConferenceInquorate" {
            let inquorate = decode_event::<scheduling::ConferenceInquorate>(event)?;
            vec![inquorate.conference, inquorate.reconvened]
        } else {
            vec![decode_event::<scheduling::ConferenceDue>(event)?.conference]
        };
        for conference in changed.into_iter().flatten() {
            let excluded = excluded_from_attending(&conference);
            let conference =
                as_kept(&conference).ok_or_else(|| bad_event(event, "is incomplete"))?;
            conferences::learn(
                conn,
                &event.authority_id,
                &conference,
                &excluded,
                event.sequence,
                now,
            )
            .await?;
        }
        Ok(())
    })
}

/// The conference as reporting keeps it.
fn as_kept(conference: &scheduling::Conference) -> Option<Conference> {
    use scheduling::ConferenceStatus as S;
    let status = match S::try_from(conference.status).ok()? {
        S::Unspecified => return None,
        S::Due => "due",
        S::Booked => "booked",
        S::Held => "held",
        S::Inquorate => "inquorate",
        S::Cancelled => "cancelled",
    };
    let met_on = conference.held_date.as_ref().or(conference
        .inquorate
        .as_ref()
        .and_then(|i| i.meeting_date.as_ref()));
    Some(Conference {
        id: Uuid::parse_str(&conference.id).ok()?,
        case_id: Uuid::parse_str(&conference.case_id).ok()?,
        child_ids: conference
            .child_ids
            .iter()
            .map(|c| Uuid::parse_str(c).ok())
            .collect::<Option<Vec<_>>>()
            .filter(|c| !c.is_empty())?,
        status: status.to_owned(),
        held_on: date_from_proto(met_on).ok().flatten(),
        reports_due_on: date_from_proto(conference.reports_due_date.as_ref())
            .ok()
            .flatten(),
        chair_id: Some(conference.chair_id.clone()).filter(|c| !c.is_empty()),
        kind: kind_code(conference.kind).map(str::to_owned),
        statutory_due_on: date_from_proto(conference.statutory_due_date.as_ref())
            .ok()
            .flatten(),
        clock_started_on: clock_start(conference.due_date_basis.as_ref()),
        previous_conference_id: Uuid::parse_str(&conference.previous_conference_id).ok(),
        version: conference.version.max(1),
    })
}

/// Whom the chair excluded from attending `conference` at all.
fn excluded_from_attending(conference: &scheduling::Conference) -> Vec<String> {
    conference
        .exclusions
        .iter()
        .filter(|x| x.scope == scheduling::AttendanceExclusionScope::WholeConference as i32)
        .filter_map(|x| x.person.as_ref().map(|p| p.person_id.clone()))
        .filter(|p| !p.is_empty())
        .collect()
}

fn kind_code(kind: i32) -> Option<&'static str> {
    use cpc_proto::common::v1::ConferenceKind as K;
    match K::try_from(kind).ok()? {
        K::Unspecified => None,
        K::Initial => Some("initial"),
        K::Review => Some("review"),
        K::TransferIn => Some("transfer_in"),
        K::PreBirth => Some("pre_birth"),
        K::Reconvened => Some("reconvened"),
        K::PostBirthReview => Some("post_birth_review"),
    }
}

fn clock_start(basis: Option<&scheduling::DueDateBasis>) -> Option<chrono::NaiveDate> {
    date_from_proto(basis?.event_date.as_ref()).ok().flatten()
}

/// The core group meeting as reporting keeps it.
fn meeting_as_kept(meeting: &scheduling::CoreGroupMeeting) -> Option<CoreGroupMeeting> {
    use scheduling::CoreGroupMeetingStatus as S;
    let status = match S::try_from(meeting.status).ok()? {
        S::Unspecified => return None,
        S::Due => "due",
        S::Scheduled => "scheduled",
        S::Held => "held",
        S::Missed => "missed",
        S::Cancelled => "cancelled",
    };
    Some(CoreGroupMeeting {
        id: Uuid::parse_str(&meeting.id).ok()?,
        case_id: Uuid::parse_str(&meeting.case_id).ok()?,
        sequence_number: meeting.sequence_number,
        status: status.to_owned(),
        due_on: date_from_proto(meeting.due_date.as_ref()).ok().flatten()?,
        held_on: date_from_proto(meeting.held_date.as_ref()).ok().flatten(),
        clock_started_on: clock_start(meeting.due_date_basis.as_ref()),
        version: meeting.version.max(1),
    })
}
