//! Checking ConferencesService requests: every bad field is named (by its
//! proto path), none is echoed.

use chrono::{Duration, NaiveDate};
use cpc_platform::ApiError;
pub(crate) use cpc_platform::check::required_id as id;
use cpc_platform::check::{Check, update_mask};
use cpc_platform::idempotency::RequestKey;
use cpc_platform::paging::{FilterKey, PageRequest};
use cpc_proto::common::v1 as common;
use cpc_proto::scheduling::v1 as pb;
use cpc_rules::civil_time::uk_date;
use uuid::Uuid;

use crate::store::Ctx;
use crate::store::attendance::{
    CREATE_INVITATION, Held, INVITEE_KINDS, Inquorate, METHODS, NewInvitation, REPLIES, Reply,
    code_of,
};
use crate::store::booking::{self, CREATE_CONFERENCE, Move, NewConference, Slot};
use crate::store::calendar::Owner;
use crate::store::chairs::{self, AllocationRequest};
use crate::store::conferences::{ConferenceFilter, reschedule_reason_code, status_code};
use crate::store::core_groups::Ending;
use crate::store::exclusions::{Exclusion, ExclusionScope};

/// The longest a conference may be booked for.
const MAX_LENGTH: Duration = Duration::hours(4);

fn venue(check: &mut Check, venue: &pb::Venue) -> pb::Venue {
    let name = check.text("venue.name", &venue.name, 1, 200);
    let room = check.opt_text("venue.room", &venue.room, 100);
    let notes = check.opt_text("venue.access_notes", &venue.access_notes, 1000);
    pb::Venue {
        name,
        address: venue.address.clone(),
        room: room.unwrap_or_default(),
        access_notes: notes.unwrap_or_default(),
    }
}

fn virtual_meeting(check: &mut Check, meeting: &pb::VirtualMeeting) -> pb::VirtualMeeting {
    let platform = check.text("virtual_meeting.platform", &meeting.platform, 1, 60);
    let join_url = check.text("virtual_meeting.join_url", &meeting.join_url, 1, 2000);
    if !join_url.is_empty() && !join_url.starts_with("https://") {
        check.add("virtual_meeting.join_url", "must be an https URL");
    }
    let dial_in = check.opt_text("virtual_meeting.dial_in", &meeting.dial_in, 200);
    let instructions = check.opt_text(
        "virtual_meeting.access_instructions",
        &meeting.access_instructions,
        2000,
    );
    pb::VirtualMeeting {
        platform,
        join_url,
        dial_in: dial_in.unwrap_or_default(),
        access_instructions: instructions.unwrap_or_default(),
    }
}

/// The fields a booking and a move share.
struct SlotFields<'r> {
    start: Option<&'r prost_types::Timestamp>,
    end: Option<&'r prost_types::Timestamp>,
    venue: Option<&'r pb::Venue>,
    virtual_meeting: Option<&'r pb::VirtualMeeting>,
    past_deadline_reason: &'r str,
    /// A booking needs a place; a move keeps the current one when unset.
    place_required: bool,
}

fn slot(check: &mut Check, ctx: &Ctx, fields: &SlotFields<'_>) -> Option<Slot> {
    let start = check.timestamp("start_time", fields.start);
    let end = check.timestamp("end_time", fields.end);
    if let Some(start) = start {
        if start <= ctx.now {
            check.add("start_time", "must be in the future");
        }
        let calendar = ctx.timescales.calendar();
        if !calendar.is_working_day(uk_date(start)).unwrap_or(false) {
            check.add(
                "start_time",
                "must be on a working day (not a weekend or bank holiday)",
            );
        }
    }
    if let (Some(start), Some(end)) = (start, end) {
        if end <= start {
            check.add("end_time", "must be after start_time");
        } else if uk_date(end) != uk_date(start) {
            check.add("end_time", "must be on the same day as start_time");
        } else if end - start > MAX_LENGTH {
            check.add("end_time", "must be at most 4 hours after start_time");
        }
    }
    let venue = fields.venue.map(|v| venue(check, v));
    let virtual_meeting = fields.virtual_meeting.map(|m| virtual_meeting(check, m));
    if fields.place_required && venue.is_none() && virtual_meeting.is_none() {
        check.add("venue", "venue or virtual_meeting (or both) is required");
    }
    let past_deadline_reason =
        check.opt_text("past_deadline_reason", fields.past_deadline_reason, 2000);
    Some(Slot {
        start: start?,
        end: end?,
        venue,
        virtual_meeting,
        past_deadline_reason,
    })
}

/// A BookConferenceRequest: (conference, version, slot).
pub(crate) fn booking(
    req: &pb::BookConferenceRequest,
    ctx: &Ctx,
) -> Result<(Uuid, i64, Slot), ApiError> {
    let mut check = Check::new();
    let id = check.id("conference_id", &req.conference_id);
    let version = check.version("version", req.version);
    let slot = slot(
        &mut check,
        ctx,
        &SlotFields {
            start: req.start_time.as_ref(),
            end: req.end_time.as_ref(),
            venue: req.venue.as_ref(),
            virtual_meeting: req.virtual_meeting.as_ref(),
            past_deadline_reason: &req.past_deadline_reason,
            place_required: true,
        },
    );
    match (id, slot) {
        (Some(id), Some(slot)) if check.is_clean() => Ok((id, version, slot)),
        _ => Err(check.fail()),
    }
}

/// A MoveConferenceRequest: (conference, version, move).
pub(crate) fn moving(
    req: &pb::MoveConferenceRequest,
    ctx: &Ctx,
) -> Result<(Uuid, i64, Move), ApiError> {
    let mut check = Check::new();
    let id = check.id("conference_id", &req.conference_id);
    let version = check.version("version", req.version);
    let slot = slot(
        &mut check,
        ctx,
        &SlotFields {
            start: req.start_time.as_ref(),
            end: req.end_time.as_ref(),
            venue: req.venue.as_ref(),
            virtual_meeting: req.virtual_meeting.as_ref(),
            past_deadline_reason: &req.past_deadline_reason,
            place_required: false,
        },
    );
    let reason = check.required_enum("reason", req.reason, reschedule_reason_code);
    let reason_detail = check.opt_text("reason_detail", &req.reason_detail, 2000);
    if reason == Some("other") && reason_detail.is_none() {
        check.add("reason_detail", "is required when the reason is OTHER");
    }
    match (id, slot, reason) {
        (Some(id), Some(slot), Some(reason)) if check.is_clean() => Ok((
            id,
            version,
            Move {
                slot,
                reason,
                reason_detail,
            },
        )),
        _ => Err(check.fail()),
    }
}

/// A CancelConferenceRequest: (conference, version, reason).
pub(crate) fn cancellation(
    req: &pb::CancelConferenceRequest,
) -> Result<(Uuid, i64, String), ApiError> {
    let mut check = Check::new();
    let id = check.id("conference_id", &req.conference_id);
    let version = check.version("version", req.version);
    let reason = check.text("reason", &req.reason, 1, 2000);
    match id {
        Some(id) if check.is_clean() => Ok((id, version, reason)),
        _ => Err(check.fail()),
    }
}

/// A ListConferencesRequest: (authority, filter).
pub(crate) fn list(
    req: &pb::ListConferencesRequest,
    ctx: &Ctx,
) -> Result<(String, ConferenceFilter), ApiError> {
    let mut check = Check::new();
    let status = check.opt_enum("status", req.status, status_code);
    let kind = check.opt_enum("kind", req.kind, booking::kind_code);
    let case_id = check.opt_id("case_id", &req.case_id).flatten();
    let child_id = check.opt_id("child_id", &req.child_id).flatten();
    let chair_id = check.opt_id("chair_id", &req.chair_id).flatten();
    let due_before = check.date("due_before", req.due_before.as_ref());
    let (start_from, start_to) = match &req.start_times {
        None => (None, None),
        Some(interval) => {
            let from = interval.start_time.as_ref().and_then(|_| {
                check.timestamp("start_times.start_time", interval.start_time.as_ref())
            });
            let to = interval
                .end_time
                .as_ref()
                .and_then(|_| check.timestamp("start_times.end_time", interval.end_time.as_ref()));
            if let (Some(from), Some(to)) = (from, to)
                && to <= from
            {
                check.add(
                    "start_times.end_time",
                    "must be after start_times.start_time",
                );
            }
            (from, to)
        }
    };
    let key = FilterKey::new()
        .with("authority_id", &req.authority_id)
        .with("status", req.status)
        .with("kind", req.kind)
        .with("case_id", &req.case_id)
        .with("child_id", &req.child_id)
        .with("chair_id", &req.chair_id)
        .with("due_before", req.due_before)
        .with("start_times", req.start_times)
        .with("past_deadline_only", req.past_deadline_only)
        .with("unallocated_only", req.unallocated_only);
    let page = PageRequest::parse(&mut check, req.page_size, &req.page_token, &key);
    check.finish()?;
    let authority = if req.authority_id.is_empty() {
        ctx.authority.clone()
    } else {
        req.authority_id.clone()
    };
    Ok((
        authority,
        ConferenceFilter {
            status,
            kind,
            case_id,
            child_id,
            chair_id,
            due_before,
            start_from,
            start_to,
            past_deadline_only: req.past_deadline_only,
            unallocated_only: req.unallocated_only,
            page,
        },
    ))
}

/// A CreateConferenceRequest: (authority, new conference).
pub(crate) fn creation(
    req: &pb::CreateConferenceRequest,
    ctx: &Ctx,
) -> Result<(String, NewConference), ApiError> {
    let mut check = Check::new();
    let key = RequestKey::parse(&mut check, CREATE_CONFERENCE, &req.request_id, req);
    let Some(conference) = &req.conference else {
        check.add("conference", "is required");
        return Err(check.fail());
    };
    let authority = check.text("conference.authority_id", &conference.authority_id, 1, 32);
    let kind = check.required_enum("conference.kind", conference.kind, booking::kind_code);
    let case_id = check.id("conference.case_id", &conference.case_id);
    let mut child_ids = Vec::new();
    if conference.child_ids.is_empty() {
        check.add("conference.child_ids", "must name at least one child");
    }
    for (i, child) in conference.child_ids.iter().enumerate() {
        if let Some(child) = check.id(&format!("conference.child_ids[{i}]"), child) {
            if child_ids.contains(&child) {
                check.add(format!("conference.child_ids[{i}]"), "is repeated");
            }
            child_ids.push(child);
        }
    }
    let manual = conference
        .due_date_basis
        .as_ref()
        .is_some_and(|b| b.event == pb::DueDateEvent::Manual as i32);
    if !manual {
        check.add(
            "conference.due_date_basis.event",
            "must be MANUAL: conferences with a statutory due date come from the cases record",
        );
    }
    let explanation = check.text(
        "conference.due_date_basis.explanation",
        conference
            .due_date_basis
            .as_ref()
            .map_or("", |b| b.explanation.as_str()),
        1,
        2000,
    );
    let due = check.required_date(
        "conference.statutory_due_date",
        conference.statutory_due_date.as_ref(),
    );
    if due.is_some_and(|due| due < ctx.today) {
        check.add("conference.statutory_due_date", "must not be in the past");
    }
    let previous = check
        .opt_id(
            "conference.previous_conference_id",
            &conference.previous_conference_id,
        )
        .flatten();
    match (key, kind, case_id, due) {
        (Some(key), Some(kind), Some(case_id), Some(due)) if check.is_clean() => Ok((
            authority,
            NewConference {
                key,
                kind,
                case_id,
                child_ids,
                due,
                explanation,
                previous_conference_id: previous,
            },
        )),
        _ => Err(check.fail()),
    }
}

/// A CreateInvitationRequest.
pub(crate) fn invitation(req: &pb::CreateInvitationRequest) -> Result<NewInvitation, ApiError> {
    let mut check = Check::new();
    let key = RequestKey::parse(&mut check, CREATE_INVITATION, &req.request_id, req);
    let Some(invitation) = &req.invitation else {
        check.add("invitation", "is required");
        return Err(check.fail());
    };
    let conference_id = check.id("invitation.conference_id", &invitation.conference_id);
    let invitee_kind =
        check.required_enum("invitation.invitee_kind", invitation.invitee_kind, |k| {
            code_of(INVITEE_KINDS, k)
        });
    let invitee = check.person(
        "invitation.invitee",
        invitation.invitee.as_ref(),
        invitee_kind == Some("agency_professional"),
    );
    let child_id = check
        .opt_id("invitation.child_id", &invitation.child_id)
        .flatten();
    if matches!(invitee_kind, Some("child" | "advocate")) && child_id.is_none() {
        check.add(
            "invitation.child_id",
            "is required for the child or an advocate",
        );
    }
    let method = check.required_enum("invitation.method", invitation.method, |m| {
        code_of(METHODS, m)
    });
    let interpreter_language = check.opt_text(
        "invitation.interpreter_language",
        &invitation.interpreter_language,
        60,
    );
    let accessibility_needs = check.opt_text(
        "invitation.accessibility_needs",
        &invitation.accessibility_needs,
        1000,
    );
    match (key, conference_id, invitee_kind, invitee, method) {
        (Some(key), Some(conference_id), Some(invitee_kind), Some(invitee), Some(method))
            if check.is_clean() =>
        {
            Ok(NewInvitation {
                key,
                conference_id,
                invitee_kind,
                invitee,
                child_id,
                method,
                interpreter_language,
                accessibility_needs,
            })
        }
        _ => Err(check.fail()),
    }
}

/// The filters of a ListInvitationsRequest.
pub(crate) struct InvitationFilter {
    pub conference_id: Uuid,
    pub reply: Option<&'static str>,
    pub invitee_kind: Option<&'static str>,
    pub page: PageRequest,
}

/// A ListInvitationsRequest.
pub(crate) fn invitations(req: &pb::ListInvitationsRequest) -> Result<InvitationFilter, ApiError> {
    let mut check = Check::new();
    let conference_id = check.id("conference_id", &req.conference_id);
    let reply = check.opt_enum("reply", req.reply, |r| code_of(REPLIES, r));
    let invitee_kind = check.opt_enum("invitee_kind", req.invitee_kind, |k| {
        code_of(INVITEE_KINDS, k)
    });
    let key = FilterKey::new()
        .with("conference_id", &req.conference_id)
        .with("reply", req.reply)
        .with("invitee_kind", req.invitee_kind);
    let page = PageRequest::parse(&mut check, req.page_size, &req.page_token, &key);
    match conference_id {
        Some(conference_id) if check.is_clean() => Ok(InvitationFilter {
            conference_id,
            reply,
            invitee_kind,
            page,
        }),
        _ => Err(check.fail()),
    }
}

/// A RespondToInvitationRequest: (invitation, version, reply).
pub(crate) fn reply(req: &pb::RespondToInvitationRequest) -> Result<(Uuid, i64, Reply), ApiError> {
    let mut check = Check::new();
    let id = check.id("invitation_id", &req.invitation_id);
    let version = check.version("version", req.version);
    let reply = check.required_enum("reply", req.reply, |r| {
        code_of(REPLIES, r).filter(|r| *r != "awaiting")
    });
    let apology = reply == Some("apology");
    let apology_reason = check.opt_text("apology_reason", &req.apology_reason, 1000);
    if apology_reason.is_some() && !apology {
        check.add("apology_reason", "is only for an apology");
    }
    let substitute = req
        .substitute
        .as_ref()
        .and_then(|s| check.person("substitute", Some(s), true));
    if substitute.is_some() && !apology {
        check.add("substitute", "is only for an apology");
    }
    match (id, reply) {
        (Some(id), Some(reply)) if check.is_clean() => Ok((
            id,
            version,
            Reply {
                reply,
                apology_reason,
                substitute,
            },
        )),
        _ => Err(check.fail()),
    }
}

/// A RecordAttendanceRequest: (conference, version, attendees).
pub(crate) fn attendance(
    req: &pb::RecordAttendanceRequest,
) -> Result<(Uuid, i64, Vec<pb::Attendee>), ApiError> {
    let mut check = Check::new();
    let id = check.id("conference_id", &req.conference_id);
    let version = check.version("version", req.version);
    let mut seen = std::collections::HashSet::new();
    let mut attendees = Vec::with_capacity(req.attendees.len());
    for (i, attendee) in req.attendees.iter().enumerate() {
        let field = format!("attendees[{i}]");
        let role = check.required_enum(&format!("{field}.role"), attendee.role, |r| {
            pb::AttendeeRole::try_from(r)
                .ok()
                .filter(|r| *r != pb::AttendeeRole::Unspecified)
        });
        let professional = matches!(
            role,
            Some(pb::AttendeeRole::SocialWorker | pb::AttendeeRole::AgencyProfessional)
        );
        let person = check.person(
            &format!("{field}.person"),
            attendee.person.as_ref(),
            professional,
        );
        check.opt_enum(&format!("{field}.mode"), attendee.mode, |m| {
            pb::AttendanceMode::try_from(m).ok()
        });
        check.opt_id(&format!("{field}.invitation_id"), &attendee.invitation_id);
        if let Some(person) = &person
            && !seen.insert(person.person_id.clone())
        {
            check.add(
                format!("{field}.person.person_id"),
                "appears more than once",
            );
        }
        attendees.push(pb::Attendee {
            person,
            ..attendee.clone()
        });
    }
    match id {
        Some(id) if check.is_clean() => Ok((id, version, attendees)),
        _ => Err(check.fail()),
    }
}

/// An ExcludeFromConferenceRequest.
pub(crate) fn exclusion(req: &pb::ExcludeFromConferenceRequest) -> Result<Exclusion, ApiError> {
    let mut check = Check::new();
    let conference_id = check.id("conference_id", &req.conference_id);
    let version = check.version("version", req.version);
    let person = check.person("person", req.person.as_ref(), false);
    let scope =
        check.required_enum(
            "scope",
            req.scope,
            |s| match pb::AttendanceExclusionScope::try_from(s) {
                Ok(pb::AttendanceExclusionScope::WholeConference) => Some(ExclusionScope::Whole),
                Ok(pb::AttendanceExclusionScope::PartOfConference) => Some(ExclusionScope::Part),
                _ => None,
            },
        );
    let excluded_parts = check.opt_text("excluded_parts", &req.excluded_parts, 500);
    match (scope, &excluded_parts) {
        (Some(ExclusionScope::Part), None) => check.add(
            "excluded_parts",
            "is required with ATTENDANCE_EXCLUSION_SCOPE_PART_OF_CONFERENCE",
        ),
        (Some(ExclusionScope::Whole), Some(_)) => check.add(
            "excluded_parts",
            "is only for ATTENDANCE_EXCLUSION_SCOPE_PART_OF_CONFERENCE",
        ),
        _ => {}
    }
    match (conference_id, person, scope) {
        (Some(conference_id), Some(person), Some(scope)) if check.is_clean() => Ok(Exclusion {
            conference_id,
            version,
            person,
            scope,
            excluded_parts,
        }),
        _ => Err(check.fail()),
    }
}

/// A LiftConferenceExclusionRequest: (conference, version, person id).
pub(crate) fn lifting(
    req: &pb::LiftConferenceExclusionRequest,
) -> Result<(Uuid, i64, String), ApiError> {
    let mut check = Check::new();
    let conference_id = check.id("conference_id", &req.conference_id);
    let version = check.version("version", req.version);
    let person_id = check.id("person_id", &req.person_id);
    match (conference_id, person_id) {
        (Some(conference_id), Some(person_id)) if check.is_clean() => {
            Ok((conference_id, version, person_id.to_string()))
        }
        _ => Err(check.fail()),
    }
}

/// An AssessQuorumRequest: (conference, basis).
pub(crate) fn quorum(req: &pb::AssessQuorumRequest) -> Result<(Uuid, pb::QuorumBasis), ApiError> {
    let mut check = Check::new();
    let id = check.id("conference_id", &req.conference_id);
    let basis = match pb::QuorumBasis::try_from(req.basis) {
        Ok(basis) => basis,
        Err(_) => {
            check.add("basis", "is not a known value");
            pb::QuorumBasis::Unspecified
        }
    };
    match id {
        Some(id) if check.is_clean() => Ok((id, basis)),
        _ => Err(check.fail()),
    }
}

/// The date a conference met: required, not in the future, a working day.
fn meeting_date(
    check: &mut Check,
    field: &str,
    date: Option<&common::Date>,
    ctx: &Ctx,
) -> Option<NaiveDate> {
    let date = check.required_date(field, date)?;
    if date > ctx.today {
        check.add(field, "must not be in the future");
    } else if !ctx
        .timescales
        .calendar()
        .is_working_day(date)
        .unwrap_or(false)
    {
        check.add(
            field,
            "must be a working day (not a weekend or bank holiday)",
        );
    }
    Some(date)
}

/// A RecordConferenceHeldRequest: (conference, version, the record).
pub(crate) fn held(
    req: &pb::RecordConferenceHeldRequest,
    ctx: &Ctx,
) -> Result<(Uuid, i64, Held), ApiError> {
    let mut check = Check::new();
    let id = check.id("conference_id", &req.conference_id);
    let version = check.version("version", req.version);
    let date = meeting_date(&mut check, "held_date", req.held_date.as_ref(), ctx);
    let past_deadline_reason =
        check.opt_text("past_deadline_reason", &req.past_deadline_reason, 2000);
    match (id, date) {
        (Some(id), Some(date)) if check.is_clean() => Ok((
            id,
            version,
            Held {
                date,
                past_deadline_reason,
            },
        )),
        _ => Err(check.fail()),
    }
}

/// A RecordInquorateRequest: (conference, version, record).
pub(crate) fn inquorate(
    req: &pb::RecordInquorateRequest,
    ctx: &Ctx,
) -> Result<(Uuid, i64, Inquorate), ApiError> {
    let mut check = Check::new();
    let id = check.id("conference_id", &req.conference_id);
    let version = check.version("version", req.version);
    let date = meeting_date(&mut check, "meeting_date", req.meeting_date.as_ref(), ctx);
    let summary = check.text("interim_plan_summary", &req.interim_plan_summary, 1, 4000);
    match (id, date) {
        (Some(id), Some(meeting_date)) if check.is_clean() => Ok((
            id,
            version,
            Inquorate {
                meeting_date,
                interim_plan_summary: summary,
            },
        )),
        _ => Err(check.fail()),
    }
}

/// The definition of a chair (create, or the fields an update names), with
/// every bad field named under `field` (`chair`).
fn chair_definition(check: &mut Check, chair: &pb::Chair, fields: &[&str]) -> pb::Chair {
    let wants = |name: &str| fields.contains(&name);
    let mut checked = chair.clone();
    if wants("person") {
        checked.person = check.person("chair.person", chair.person.as_ref(), false);
        if let Some(person) = &checked.person
            && !chair.id.is_empty()
            && person.person_id != chair.id
        {
            check.add("chair.person.person_id", "must be the chair's id");
        }
    }
    if wants("working_pattern") {
        if chair.working_pattern.is_empty() {
            check.add("chair.working_pattern", "must have at least one period");
        }
        for (i, period) in chair.working_pattern.iter().enumerate() {
            let field = format!("chair.working_pattern[{i}]");
            if chairs::weekday(period.weekday).is_none() {
                check.add(format!("{field}.weekday"), "is required");
            }
            if !(0..=1439).contains(&period.start_minute) {
                check.add(format!("{field}.start_minute"), "must be 0-1439");
            }
            if period.end_minute <= period.start_minute || period.end_minute > 1440 {
                check.add(
                    format!("{field}.end_minute"),
                    "must be after start_minute, at most 1440",
                );
            }
            let overlaps = chair.working_pattern[..i].iter().any(|other| {
                other.weekday == period.weekday
                    && other.start_minute < period.end_minute
                    && period.start_minute < other.end_minute
            });
            if overlaps {
                check.add(field, "overlaps another period on the same weekday");
            }
        }
    }
    let range = |check: &mut Check, name: &str, value: i32, max: i32| {
        if !(1..=max).contains(&value) {
            check.add(format!("chair.{name}"), format!("must be 1-{max}"));
        }
    };
    if wants("max_conferences_per_day") {
        range(
            check,
            "max_conferences_per_day",
            chair.max_conferences_per_day,
            6,
        );
    }
    if wants("max_conferences_per_week") {
        range(
            check,
            "max_conferences_per_week",
            chair.max_conferences_per_week,
            25,
        );
    }
    if wants("max_children") {
        range(check, "max_children", chair.max_children, 200);
    }
    if wants("leave") {
        for (i, leave) in chair.leave.iter().enumerate() {
            let field = format!("chair.leave[{i}]");
            let dates = leave.dates.unwrap_or_default();
            let first = check.required_date(
                &format!("{field}.dates.start_date"),
                dates.start_date.as_ref(),
            );
            let last =
                check.required_date(&format!("{field}.dates.end_date"), dates.end_date.as_ref());
            check.order(
                first,
                &format!("{field}.dates.end_date"),
                last,
                "start_date",
            );
            check.opt_enum(&format!("{field}.kind"), leave.kind, |k| {
                pb::LeaveKind::try_from(k).ok()
            });
        }
    }
    if wants("conflicts") {
        for (i, conflict) in chair.conflicts.iter().enumerate() {
            let field = format!("chair.conflicts[{i}]");
            check.id(&format!("{field}.case_id"), &conflict.case_id);
            for (j, child) in conflict.child_ids.iter().enumerate() {
                check.id(&format!("{field}.child_ids[{j}]"), child);
            }
            let reason = check.required_enum(&format!("{field}.reason"), conflict.reason, |r| {
                pb::ConflictReason::try_from(r)
                    .ok()
                    .filter(|r| *r != pb::ConflictReason::Unspecified)
            });
            let detail = check.opt_text(&format!("{field}.detail"), &conflict.detail, 1000);
            if reason == Some(pb::ConflictReason::Other) && detail.is_none() {
                check.add(
                    format!("{field}.detail"),
                    "is required when the reason is OTHER",
                );
            }
            check.date(
                &format!("{field}.recorded_date"),
                conflict.recorded_date.as_ref(),
            );
        }
    }
    checked
}

/// A CreateChairRequest: (authority, request key, chair).
pub(crate) fn new_chair(
    req: &pb::CreateChairRequest,
) -> Result<(String, RequestKey, pb::Chair), ApiError> {
    let mut check = Check::new();
    let key = RequestKey::parse(&mut check, chairs::CREATE_CHAIR, &req.request_id, req);
    let Some(chair) = &req.chair else {
        check.add("chair", "is required");
        return Err(check.fail());
    };
    let id = check.id("chair.id", &chair.id);
    let authority = check.text("chair.authority_id", &chair.authority_id, 1, 32);
    let checked = chair_definition(&mut check, chair, chairs::UPDATABLE);
    match (key, id) {
        (Some(key), Some(id)) if check.is_clean() => Ok((
            authority.clone(),
            key,
            pb::Chair {
                id: id.to_string(),
                authority_id: authority,
                ..checked
            },
        )),
        _ => Err(check.fail()),
    }
}

/// An UpdateChairRequest: (chair, version, changes, fields).
pub(crate) fn chair_update(
    req: &pb::UpdateChairRequest,
) -> Result<(Uuid, i64, pb::Chair, Vec<&'static str>), ApiError> {
    let mut check = Check::new();
    let Some(chair) = &req.chair else {
        check.add("chair", "is required");
        return Err(check.fail());
    };
    let id = check.id("chair.id", &chair.id);
    let version = check.version("chair.version", chair.version);
    let fields = update_mask(&mut check, req.update_mask.as_ref(), chairs::UPDATABLE);
    let checked = chair_definition(&mut check, chair, &fields);
    match id {
        Some(id) if check.is_clean() => Ok((id, version, checked, fields)),
        _ => Err(check.fail()),
    }
}

/// A ListChairsRequest: (authority, active only, available on, page).
pub(crate) fn chair_list(
    req: &pb::ListChairsRequest,
    ctx: &Ctx,
) -> Result<(String, bool, Option<NaiveDate>, PageRequest), ApiError> {
    let mut check = Check::new();
    let available_on = check.date("available_on", req.available_on.as_ref());
    let key = FilterKey::new()
        .with("authority_id", &req.authority_id)
        .with("active_only", req.active_only)
        .with("available_on", req.available_on);
    let page = PageRequest::parse(&mut check, req.page_size, &req.page_token, &key);
    check.finish()?;
    Ok((
        authority_or_own(&req.authority_id, ctx),
        req.active_only,
        available_on,
        page,
    ))
}

fn authority_or_own(authority_id: &str, ctx: &Ctx) -> String {
    if authority_id.is_empty() {
        ctx.authority.clone()
    } else {
        authority_id.to_owned()
    }
}

/// The longest workload period, in days.
const MAX_PERIOD_DAYS: i64 = 92;

/// A workload period: both dates, in order, at most 92 days.
fn period(check: &mut Check, range: Option<&common::DateRange>) -> Option<(NaiveDate, NaiveDate)> {
    let range = range.copied().unwrap_or_default();
    let first = check.required_date("period.start_date", range.start_date.as_ref());
    let last = check.required_date("period.end_date", range.end_date.as_ref());
    let (first, last) = (first?, last?);
    if last < first {
        check.add("period.end_date", "must be on or after period.start_date");
    } else if (last - first).num_days() >= MAX_PERIOD_DAYS {
        check.add(
            "period.end_date",
            "must be at most 92 days after period.start_date",
        );
    }
    Some((first, last))
}

/// A GetChairWorkloadRequest: (chair, first, last).
pub(crate) fn chair_workload(
    req: &pb::GetChairWorkloadRequest,
) -> Result<(Uuid, NaiveDate, NaiveDate), ApiError> {
    let mut check = Check::new();
    let id = check.id("chair_id", &req.chair_id);
    let period = period(&mut check, req.period.as_ref());
    match (id, period) {
        (Some(id), Some((first, last))) if check.is_clean() => Ok((id, first, last)),
        _ => Err(check.fail()),
    }
}

/// A ListChairWorkloadsRequest: (authority, first, last, page).
pub(crate) fn chair_workloads(
    req: &pb::ListChairWorkloadsRequest,
    ctx: &Ctx,
) -> Result<(String, NaiveDate, NaiveDate, PageRequest), ApiError> {
    let mut check = Check::new();
    let period = period(&mut check, req.period.as_ref());
    let key = FilterKey::new()
        .with("authority_id", &req.authority_id)
        .with("period", req.period);
    let page = PageRequest::parse(&mut check, req.page_size, &req.page_token, &key);
    match period {
        Some((first, last)) if check.is_clean() => {
            Ok((authority_or_own(&req.authority_id, ctx), first, last, page))
        }
        _ => Err(check.fail()),
    }
}

/// An AllocateChairRequest.
pub(crate) fn allocation(req: &pb::AllocateChairRequest) -> Result<AllocationRequest, ApiError> {
    let mut check = Check::new();
    let id = check.id("conference_id", &req.conference_id);
    let version = check.version("version", req.version);
    let named = check.opt_id("chair_id", &req.chair_id).flatten();
    let reason = check.opt_text("manual_reason", &req.manual_reason, 1000);
    if named.is_some() && reason.is_none() {
        check.add("manual_reason", "is required when a chair is named");
    }
    if named.is_none() && reason.is_some() {
        check.add("manual_reason", "is only for a named chair");
    }
    match id {
        Some(conference_id) if check.is_clean() => Ok(AllocationRequest {
            conference_id,
            version,
            named: named.zip(reason),
            dry_run: req.dry_run,
        }),
        _ => Err(check.fail()),
    }
}

/// A ListCoreGroupMeetingsRequest.
pub(crate) struct CoreGroupFilter {
    pub authority: String,
    pub case_id: Option<Uuid>,
    pub child_id: Option<Uuid>,
    pub status: Option<&'static str>,
    pub due_before: Option<NaiveDate>,
    pub page: PageRequest,
}

/// A ListCoreGroupMeetingsRequest.
pub(crate) fn core_group_list(
    req: &pb::ListCoreGroupMeetingsRequest,
    ctx: &Ctx,
) -> Result<CoreGroupFilter, ApiError> {
    let mut check = Check::new();
    let case_id = check.opt_id("case_id", &req.case_id).flatten();
    let child_id = check.opt_id("child_id", &req.child_id).flatten();
    let status = check.opt_enum("status", req.status, |s| {
        Some(match pb::CoreGroupMeetingStatus::try_from(s).ok()? {
            pb::CoreGroupMeetingStatus::Due => "due",
            pb::CoreGroupMeetingStatus::Scheduled => "scheduled",
            pb::CoreGroupMeetingStatus::Held => "held",
            pb::CoreGroupMeetingStatus::Missed => "missed",
            pb::CoreGroupMeetingStatus::Cancelled => "cancelled",
            pb::CoreGroupMeetingStatus::Unspecified => return None,
        })
    });
    let due_before = check.date("due_before", req.due_before.as_ref());
    let key = FilterKey::new()
        .with("authority_id", &req.authority_id)
        .with("case_id", &req.case_id)
        .with("child_id", &req.child_id)
        .with("status", req.status)
        .with("due_before", req.due_before);
    let page = PageRequest::parse(&mut check, req.page_size, &req.page_token, &key);
    check.finish()?;
    Ok(CoreGroupFilter {
        authority: authority_or_own(&req.authority_id, ctx),
        case_id,
        child_id,
        status,
        due_before,
        page,
    })
}

/// A ScheduleCoreGroupMeetingRequest: (meeting, version, slot). A place is
/// optional (the core group may meet at the family home).
pub(crate) fn core_group_schedule(
    req: &pb::ScheduleCoreGroupMeetingRequest,
    ctx: &Ctx,
) -> Result<(Uuid, i64, Slot), ApiError> {
    let mut check = Check::new();
    let id = check.id("meeting_id", &req.meeting_id);
    let version = check.version("version", req.version);
    let slot = slot(
        &mut check,
        ctx,
        &SlotFields {
            start: req.start_time.as_ref(),
            end: req.end_time.as_ref(),
            venue: req.venue.as_ref(),
            virtual_meeting: req.virtual_meeting.as_ref(),
            past_deadline_reason: "",
            place_required: false,
        },
    );
    match (id, slot) {
        (Some(id), Some(slot)) if check.is_clean() => Ok((id, version, slot)),
        _ => Err(check.fail()),
    }
}

/// A RecordCoreGroupHeldRequest: (meeting, version, ending).
pub(crate) fn core_group_held(
    req: &pb::RecordCoreGroupHeldRequest,
    ctx: &Ctx,
) -> Result<(Uuid, i64, Ending), ApiError> {
    let mut check = Check::new();
    let id = check.id("meeting_id", &req.meeting_id);
    let version = check.version("version", req.version);
    let on = check.required_date("held_date", req.held_date.as_ref());
    if on.is_some_and(|on| on > ctx.today) {
        check.add("held_date", "must not be in the future");
    }
    if req.attendees.is_empty() {
        check.add("attendees", "must name at least the lead social worker");
    }
    let attendees: Vec<common::PersonRef> = req
        .attendees
        .iter()
        .enumerate()
        .filter_map(|(i, a)| check.person(&format!("attendees[{i}]"), Some(a), false))
        .collect();
    match (id, on) {
        (Some(id), Some(on)) if check.is_clean() => {
            Ok((id, version, Ending::Held { on, attendees }))
        }
        _ => Err(check.fail()),
    }
}

/// A RecordCoreGroupMissedRequest: (meeting, version, ending).
pub(crate) fn core_group_missed(
    req: &pb::RecordCoreGroupMissedRequest,
) -> Result<(Uuid, i64, Ending), ApiError> {
    let mut check = Check::new();
    let id = check.id("meeting_id", &req.meeting_id);
    let version = check.version("version", req.version);
    let reason = check.text("reason", &req.reason, 1, 2000);
    match id {
        Some(id) if check.is_clean() => Ok((id, version, Ending::Missed { reason })),
        _ => Err(check.fail()),
    }
}

/// The longest calendar export, in days.
const MAX_CALENDAR_DAYS: i64 = 366;

/// An ExportICalendarRequest: (owner, first, last, with core groups).
pub(crate) fn calendar_export(
    req: &pb::ExportICalendarRequest,
) -> Result<(Owner, NaiveDate, NaiveDate), ApiError> {
    use pb::export_i_calendar_request::Subject;
    let mut check = Check::new();
    let owner = match &req.subject {
        Some(Subject::ChairId(id)) => check.id("chair_id", id).map(Owner::Chair),
        Some(Subject::CaseId(id)) => check.id("case_id", id).map(Owner::Case),
        None => {
            check.add("chair_id", "chair_id or case_id is required");
            None
        }
    };
    let range = req.period.unwrap_or_default();
    let first = check.required_date("period.start_date", range.start_date.as_ref());
    let last = check.required_date("period.end_date", range.end_date.as_ref());
    if let (Some(first), Some(last)) = (first, last) {
        if last < first {
            check.add("period.end_date", "must be on or after period.start_date");
        } else if (last - first).num_days() >= MAX_CALENDAR_DAYS {
            check.add(
                "period.end_date",
                "must be at most 366 days after period.start_date",
            );
        }
    }
    match (owner, first, last) {
        (Some(owner), Some(first), Some(last)) if check.is_clean() => Ok((owner, first, last)),
        _ => Err(check.fail()),
    }
}
