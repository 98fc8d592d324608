//! Following the cases, scheduling and reporting change feeds
//! ([`cpc_platform::feeds`]): each event is applied here, in escalation's
//! own transaction, with the feed position.
//!
//! What escalation learns from cases: who is on each case (for the
//! policies), each child's case (an escalation's children must all be of
//! its case), each child protection plan's child and whether it ended, and
//! each plan action's due date, owner and progress. From scheduling: each
//! conference's and core group meeting's due date and state, each
//! conference's reports due date, and each agency professional's
//! invitation (which asks for a report). From reporting: which agency
//! submitted a report for which conference. Nothing else of the child is
//! kept: the feed's child carries names and dates of birth, a submitted
//! report its text, and escalation needs none of them.
//!
//! A plan action, conference, core group meeting or report request is
//! assessed for drift as soon as it (or, for a request, its conference or
//! a report for it) changes ([`crate::store::drift`]), and so are the
//! meetings and requests for a child whose plan starts or ends; the sweep
//! assesses them again as days pass. Each event's copies are written before
//! any subject is assessed, and its subjects are assessed together
//! ([`drift::assess_all`]), so that the event's feed appends come last.

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::case_members;
use cpc_platform::convert::date_from_proto;
use cpc_platform::feeds::{
    BoxFuture, CHILD_EVENTS, CONFERENCE_EVENTS, CORE_GROUP_EVENTS, Follow, PLAN_EVENTS, Source,
    bad_event, decode_event, plan_ended,
};
use cpc_platform::{ApiError, Config};
use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1::{ChangeEvent, ConferenceKind};
use cpc_proto::reporting::v1 as reporting;
use cpc_proto::scheduling::v1 as scheduling;
use cpc_rules::civil_time::uk_date;
use cpc_rules::drift::Meeting;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::store::cases::{self as cases_copy, Kept, Learnt};
use crate::store::drift::{
    self, Assessor, KeptAction, KeptMeeting, MeetingKind, ReportRequest, SubjectRef,
    SubmittedReport,
};

const MEMBER_ADDED: &str = "cpc.cases.v1.CaseMemberAdded";
const MEMBER_ENDED: &str = "cpc.cases.v1.CaseMemberEnded";
/// The events whose field 1 is the plan action after the change.
const ACTION_EVENTS: [&str; 3] = [
    "cpc.cases.v1.PlanActionAdded",
    "cpc.cases.v1.PlanActionUpdated",
    "cpc.cases.v1.PlanActionStatusChanged",
];

/// The cases feed, as escalation follows it.
pub const CASES_FEED: Follow = Follow {
    source: Source::Cases,
    position: "cases",
    events: &[
        &[MEMBER_ADDED, MEMBER_ENDED],
        &CHILD_EVENTS,
        &PLAN_EVENTS,
        &ACTION_EVENTS,
    ],
    apply: apply_cases_event,
};

const INVITATION_SENT: &str = "cpc.scheduling.v1.InvitationSent";
const REPORT_SUBMITTED: &str = "cpc.reporting.v1.AgencyReportSubmitted";

/// Scheduling's feed, as escalation follows it: conferences, core group
/// meetings and invitations.
pub const SCHEDULING_FEED: Follow = Follow {
    source: Source::Scheduling,
    position: "scheduling",
    events: &[&CONFERENCE_EVENTS, &CORE_GROUP_EVENTS, &[INVITATION_SENT]],
    apply: apply_scheduling_event,
};

/// Reporting's feed, as escalation follows it: reports submitted.
pub const REPORTING_FEED: Follow = Follow {
    source: Source::Reporting,
    position: "reporting",
    events: &[&[REPORT_SUBMITTED]],
    apply: apply_reporting_event,
};

/// Assessing drift now, for `authority`.
fn assessor(config: &Config, authority: &str) -> Result<Assessor, ApiError> {
    let now = DateTime::<Utc>::from(std::time::SystemTime::now());
    crate::sweep::assessor(config, authority, now)
}

fn apply_cases_event<'a>(
    conn: &'a mut PgConnection,
    event: &'a ChangeEvent,
    config: &'a Config,
) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async move {
        let at = assessor(config, &event.authority_id)?;
        let kind = event.event_type.as_str();
        let uuid =
            |text: &str| Uuid::parse_str(text).map_err(|_| bad_event(event, "is incomplete"));
        if kind == MEMBER_ADDED || kind == MEMBER_ENDED {
            // Both carry the membership as field 1.
            let membership = decode_event::<cases::CaseMemberAdded>(event)?
                .membership
                .ok_or_else(|| bad_event(event, "has no membership"))?;
            return case_members::record(conn, &at.authority, &membership, at.now).await;
        }
        if ACTION_EVENTS.contains(&kind) {
            let action = decode_event::<cases::PlanActionAdded>(event)?
                .action
                .ok_or_else(|| bad_event(event, "has no action"))?;
            let kept = action_as_kept(&action).ok_or_else(|| bad_event(event, "is incomplete"))?;
            drift::learn_action(conn, &at.authority, &kept, at.now).await?;
            return drift::assess(conn, &at, SubjectRef::Action(kept.id)).await;
        }
        // Child events carry the child as field 1, plan events the plan.
        let learnt = if CHILD_EVENTS.contains(&kind) {
            let child = decode_event::<cases::ChildRegistered>(event)?
                .child
                .ok_or_else(|| bad_event(event, "has no child"))?;
            (
                Kept::Child,
                child.id,
                child.case_id,
                child.version,
                false,
                None,
            )
        } else if PLAN_EVENTS.contains(&kind) {
            let plan = decode_event::<cases::PlanStarted>(event)?
                .plan
                .ok_or_else(|| bad_event(event, "has no plan"))?;
            let ended = plan_ended(&plan);
            let started = date(plan.start_date.as_ref());
            (
                Kept::Plan,
                plan.id,
                plan.child_id,
                plan.version,
                ended,
                started,
            )
        } else {
            return Ok(());
        };
        let (what, id, parent, version, ended, started) = learnt;
        let learnt = Learnt {
            kept: what,
            id: uuid(&id)?,
            parent: uuid(&parent)?,
            version: version.max(1),
            ended,
            started,
        };
        cases_copy::learn(conn, &at.authority, &learnt, at.now).await?;
        // A plan is assessed for its duration; an ended plan's actions, and
        // the meetings and reports that served only ended plans, are no
        // longer expected.
        if what == Kept::Plan {
            let mut subjects = vec![SubjectRef::Plan(learnt.id)];
            subjects.extend(
                drift::actions_of_plan(conn, learnt.id)
                    .await?
                    .into_iter()
                    .map(SubjectRef::Action),
            );
            subjects.extend(drift::served_for_child(conn, learnt.parent).await?);
            drift::assess_all(conn, &at, &subjects).await?;
        }
        Ok(())
    })
}

fn apply_scheduling_event<'a>(
    conn: &'a mut PgConnection,
    event: &'a ChangeEvent,
    config: &'a Config,
) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async move {
        let at = assessor(config, &event.authority_id)?;
        let kind = event.event_type.as_str();
        if kind == INVITATION_SENT {
            let invitation = decode_event::<scheduling::InvitationSent>(event)?
                .invitation
                .ok_or_else(|| bad_event(event, "has no invitation"))?;
            // Only an agency professional's invitation asks for a report.
            if !invitation.report_requested {
                return Ok(());
            }
            let request =
                report_request(&invitation).ok_or_else(|| bad_event(event, "is incomplete"))?;
            drift::learn_report_request(conn, &at.authority, &request, at.now).await?;
            return drift::assess(conn, &at, SubjectRef::Report(request.id)).await;
        }
        let meetings = if CORE_GROUP_EVENTS.contains(&kind) {
            let meeting = decode_event::<scheduling::CoreGroupMeetingDue>(event)?
                .meeting
                .ok_or_else(|| bad_event(event, "has no meeting"))?;
            vec![core_group_as_kept(&meeting)]
        } else if kind == "cpc.scheduling.v1.ConferenceInquorate" {
            // It also names the conference that reconvenes it, as field 2.
            let inquorate = decode_event::<scheduling::ConferenceInquorate>(event)?;
            [inquorate.conference, inquorate.reconvened]
                .iter()
                .flatten()
                .map(conference_as_kept)
                .collect()
        } else if CONFERENCE_EVENTS.contains(&kind) {
            let conference = decode_event::<scheduling::ConferenceDue>(event)?
                .conference
                .ok_or_else(|| bad_event(event, "has no conference"))?;
            vec![conference_as_kept(&conference)]
        } else {
            return Ok(());
        };
        let meetings = meetings
            .into_iter()
            .map(|m| m.ok_or_else(|| bad_event(event, "is incomplete")))
            .collect::<Result<Vec<_>, _>>()?;
        for meeting in &meetings {
            drift::learn_meeting(conn, &at.authority, meeting, at.now).await?;
        }
        let mut subjects = Vec::new();
        for meeting in &meetings {
            subjects.push(SubjectRef::Meeting(meeting.id));
            // A conference's reports are due with it, and no longer awaited
            // once it is held or cancelled (a core group meeting asks for
            // none).
            if meeting.kind != MeetingKind::CoreGroup {
                for request in drift::report_requests_of_conference(conn, meeting.id).await? {
                    subjects.push(SubjectRef::Report(request));
                }
            }
            // A meeting held may put an earlier, missed one right.
            if meeting.state == Meeting::Held {
                for late in drift::late_meetings_of_case(conn, meeting.case_id).await? {
                    if !subjects.contains(&SubjectRef::Meeting(late)) {
                        subjects.push(SubjectRef::Meeting(late));
                    }
                }
            }
        }
        drift::assess_all(conn, &at, &subjects).await
    })
}

fn apply_reporting_event<'a>(
    conn: &'a mut PgConnection,
    event: &'a ChangeEvent,
    config: &'a Config,
) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async move {
        let at = assessor(config, &event.authority_id)?;
        if event.event_type != REPORT_SUBMITTED {
            return Ok(());
        }
        let report = decode_event::<reporting::AgencyReportSubmitted>(event)?
            .report
            .ok_or_else(|| bad_event(event, "has no report"))?;
        let submitted =
            submitted_report(&report).ok_or_else(|| bad_event(event, "is incomplete"))?;
        drift::learn_submitted_report(conn, &at.authority, &submitted, at.now).await?;
        let requests: Vec<SubjectRef> =
            drift::report_requests_of_conference(conn, submitted.conference_id)
                .await?
                .into_iter()
                .map(SubjectRef::Report)
                .collect();
        drift::assess_all(conn, &at, &requests).await
    })
}

fn report_request(invitation: &scheduling::Invitation) -> Option<ReportRequest> {
    let invitee = invitation.invitee.clone()?;
    if invitee.agency_kind == 0 {
        return None;
    }
    Some(ReportRequest {
        id: Uuid::parse_str(&invitation.id).ok()?,
        conference_id: Uuid::parse_str(&invitation.conference_id).ok()?,
        invitee,
        version: invitation.version.max(1),
    })
}

fn submitted_report(report: &reporting::AgencyReport) -> Option<SubmittedReport> {
    Some(SubmittedReport {
        id: Uuid::parse_str(&report.id).ok()?,
        conference_id: Uuid::parse_str(&report.conference_id).ok()?,
        author: report.author.clone()?,
    })
}

fn action_as_kept(action: &cases::PlanAction) -> Option<KeptAction> {
    use cases::PlanActionStatus as S;
    let done = matches!(
        S::try_from(action.status).ok()?,
        S::Completed | S::NotAchieved | S::Withdrawn
    );
    Some(KeptAction {
        id: Uuid::parse_str(&action.id).ok()?,
        plan_id: Uuid::parse_str(&action.plan_id).ok()?,
        child_id: Uuid::parse_str(&action.child_id).ok()?,
        description: action.description.clone(),
        owner: action.owner.clone(),
        due_on: date(action.due_date.as_ref())?,
        done,
        version: action.version.max(1),
    })
}

fn conference_as_kept(conference: &scheduling::Conference) -> Option<KeptMeeting> {
    use scheduling::ConferenceStatus as S;
    let kind = match ConferenceKind::try_from(conference.kind).ok()? {
        ConferenceKind::Unspecified => return None,
        ConferenceKind::Review | ConferenceKind::PostBirthReview => MeetingKind::ReviewConference,
        ConferenceKind::Initial
        | ConferenceKind::TransferIn
        | ConferenceKind::PreBirth
        | ConferenceKind::Reconvened => MeetingKind::InitialConference,
    };
    let state = match S::try_from(conference.status).ok()? {
        S::Unspecified => return None,
        S::Due => Meeting::Due,
        S::Booked => booked(conference.start_time.as_ref()),
        S::Held => Meeting::Held,
        // The conference that reconvenes it is expected instead.
        S::Inquorate | S::Cancelled => Meeting::Cancelled,
    };
    Some(KeptMeeting {
        id: Uuid::parse_str(&conference.id).ok()?,
        kind,
        case_id: Uuid::parse_str(&conference.case_id).ok()?,
        child_ids: uuids(&conference.child_ids)?,
        plan_ids: Vec::new(),
        due_on: date(conference.statutory_due_date.as_ref())?,
        state,
        version: conference.version.max(1),
        // Scheduling's feed brings the inquorate conference first.
        reconvenes: (conference.kind == ConferenceKind::Reconvened as i32)
            .then(|| Uuid::parse_str(&conference.previous_conference_id).ok())
            .flatten(),
        reports_due_on: date(conference.reports_due_date.as_ref()),
    })
}

fn core_group_as_kept(meeting: &scheduling::CoreGroupMeeting) -> Option<KeptMeeting> {
    use scheduling::CoreGroupMeetingStatus as S;
    let state = match S::try_from(meeting.status).ok()? {
        S::Unspecified => return None,
        S::Due => Meeting::Due,
        S::Scheduled => booked(meeting.start_time.as_ref()),
        S::Held => Meeting::Held,
        S::Missed => Meeting::Missed,
        S::Cancelled => Meeting::Cancelled,
    };
    Some(KeptMeeting {
        id: Uuid::parse_str(&meeting.id).ok()?,
        kind: MeetingKind::CoreGroup,
        case_id: Uuid::parse_str(&meeting.case_id).ok()?,
        child_ids: uuids(&meeting.child_ids)?,
        plan_ids: meeting
            .plan_ids
            .iter()
            .filter_map(|p| Uuid::parse_str(p).ok())
            .collect(),
        due_on: date(meeting.due_date.as_ref())?,
        state,
        version: meeting.version.max(1),
        reconvenes: None,
        reports_due_on: None,
    })
}

/// Booked for the UK day it starts on (expected, when no time is given).
fn booked(start: Option<&prost_types::Timestamp>) -> Meeting {
    start
        .and_then(|t| DateTime::from_timestamp(t.seconds, 0))
        .map_or(Meeting::Due, |t| Meeting::Booked(uk_date(t)))
}

fn date(d: Option<&cpc_proto::common::v1::Date>) -> Option<NaiveDate> {
    date_from_proto(d).ok().flatten()
}

fn uuids(texts: &[String]) -> Option<Vec<Uuid>> {
    texts
        .iter()
        .map(|c| Uuid::parse_str(c).ok())
        .collect::<Option<Vec<_>>>()
        .filter(|ids| !ids.is_empty())
}
