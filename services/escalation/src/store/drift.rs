//! Drift findings: escalation's copies of what a plan depends on (plans and
//! plan actions from the cases feed; conferences, core group meetings and
//! the agency reports each conference asked for from scheduling's; the
//! reports submitted from reporting's), each assessed by [`cpc_rules::drift`] when it
//! changes and again as days pass ([`aged`] lists those the sweep
//! assesses), and the findings that result.
//!
//! A partner agency on a case is a subject too: whenever a finding on an
//! action it owns or a report it was asked for changes, whether it is
//! delivering on that case is assessed again from the findings standing
//! against it there ([`cpc_rules::drift::assess_agency`]).
//!
//! A subject has at most one finding that is not cleared. Assessing it
//! opens one (`DriftDetected`, new), refreshes it when its severity or days
//! overdue changed (`DriftDetected`, not new), or clears it once the cause
//! is put right or nothing more is expected of it (`DriftCleared`). A
//! finding cited by an open escalation reads as ESCALATED.
//!
//! Every transaction that assesses (a feed's follower, a sweep batch)
//! takes its locks in one order: the subjects' rows and their findings,
//! then the agencies' advisory locks, then the feed's lock. The feed's lock
//! is held from the first append to commit, so the events of one
//! [`assess_all`] are appended only once everything else is written: a
//! transaction holding it waits for nothing more, and none can deadlock
//! with another through it. (Two may still lock the same subjects in
//! different orders, a plan's event and a sweep batch say; Postgres breaks
//! that deadlock, the follower tries its event again and the sweep the
//! batch's subjects one at a time.)

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_platform::case_members::RecordChildren;
use cpc_platform::convert::{date_to_proto, timestamp_to_proto};
use cpc_platform::outbox::{self, About};
use cpc_platform::paging::PageRequest;
use cpc_proto::common::v1 as common;
use cpc_proto::escalation::v1 as pb;
use cpc_rules::calendar::WorkingDayCalendar;
use cpc_rules::drift::{self, Finding, Kind, Meeting, Severity, Subject};
use prost::Message;
use sqlx::PgConnection;
use uuid::Uuid;

use super::decode;

/// A plan action as escalation keeps it.
#[derive(Clone)]
pub struct KeptAction {
    pub id: Uuid,
    pub plan_id: Uuid,
    pub child_id: Uuid,
    pub description: String,
    pub owner: Option<common::PersonRef>,
    pub due_on: NaiveDate,
    /// Completed, not achieved or withdrawn.
    pub done: bool,
    pub version: i64,
}

cpc_platform::redacted_debug!(KeptAction);

/// What kind of meeting a [`KeptMeeting`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingKind {
    /// An initial, transfer-in or pre-birth conference (and a reconvened
    /// conference whose inquorate one is not known here).
    InitialConference,
    /// A review (or post-birth review) conference.
    ReviewConference,
    CoreGroup,
}

impl MeetingKind {
    fn code(self) -> &'static str {
        match self {
            MeetingKind::InitialConference => "initial_conference",
            MeetingKind::ReviewConference => "review_conference",
            MeetingKind::CoreGroup => "core_group",
        }
    }
}

/// A conference or core group meeting as escalation keeps it.
#[derive(Debug, Clone)]
pub struct KeptMeeting {
    pub id: Uuid,
    pub kind: MeetingKind,
    pub case_id: Uuid,
    pub child_ids: Vec<Uuid>,
    /// The plans a core group meeting delivers (none for a conference); its
    /// findings name the first.
    pub plan_ids: Vec<Uuid>,
    pub due_on: NaiveDate,
    pub state: Meeting,
    pub version: i64,
    /// For a reconvened conference, the inquorate conference it stands in
    /// for, whose kind it takes (an initial conference or a review).
    pub reconvenes: Option<Uuid>,
    /// When agencies' reports are due (a conference once booked).
    pub reports_due_on: Option<NaiveDate>,
}

/// An agency professional's invitation, which asks for a report.
#[derive(Clone)]
pub struct ReportRequest {
    /// The invitation.
    pub id: Uuid,
    pub conference_id: Uuid,
    pub invitee: common::PersonRef,
    pub version: i64,
}

cpc_platform::redacted_debug!(ReportRequest);

/// A report submitted for a conference: by whom, from which agency.
#[derive(Clone)]
pub struct SubmittedReport {
    pub id: Uuid,
    pub conference_id: Uuid,
    pub author: common::PersonRef,
}

cpc_platform::redacted_debug!(SubmittedReport);

/// When, and by which of the authority's rules, subjects are assessed.
#[derive(Debug, Clone)]
pub struct Assessor {
    pub authority: String,
    pub now: DateTime<Utc>,
    /// Today in the UK.
    pub today: NaiveDate,
    /// The authority's working days.
    pub calendar: &'static WorkingDayCalendar,
    /// The authority's plan-duration review points, in months.
    pub review_months: Vec<u32>,
}

/// A subject of drift detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectRef {
    Action(Uuid),
    Meeting(Uuid),
    Plan(Uuid),
    /// A report request (the invitation's id).
    Report(Uuid),
}

/// A checked list query.
#[derive(Debug, Clone)]
pub struct FindingFilter {
    pub case_id: Option<Uuid>,
    pub child_id: Option<Uuid>,
    pub plan_id: Option<Uuid>,
    pub kind: Option<&'static str>,
    /// At or above (1 low … 4 critical).
    pub min_severity: Option<i16>,
    pub status: StatusFilter,
    pub agency_kind: Option<i32>,
    pub due_before: Option<NaiveDate>,
    pub page: PageRequest,
}

/// Which findings a list wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Open and escalated: those not cleared.
    Current,
    Open,
    Escalated,
    Cleared,
}

impl StatusFilter {
    fn code(self) -> &'static str {
        match self {
            StatusFilter::Current => "current",
            StatusFilter::Open => "open",
            StatusFilter::Escalated => "escalated",
            StatusFilter::Cleared => "cleared",
        }
    }
}

/// `DriftKind` as stored.
#[must_use]
pub fn kind_code(kind: pb::DriftKind) -> Option<&'static str> {
    match kind {
        pb::DriftKind::PlanActionOverdue => Some("plan_action_overdue"),
        pb::DriftKind::CoreGroupMissed => Some("core_group_missed"),
        pb::DriftKind::ReviewLate => Some("review_late"),
        pb::DriftKind::InitialConferenceLate => Some("initial_conference_late"),
        pb::DriftKind::PlanDuration => Some("plan_duration"),
        pb::DriftKind::ReportLate => Some("report_late"),
        pb::DriftKind::AgencyNotDelivering => Some("agency_not_delivering"),
        pb::DriftKind::Unspecified => None,
    }
}

fn kind_of(code: &str) -> pb::DriftKind {
    match code {
        "plan_action_overdue" => pb::DriftKind::PlanActionOverdue,
        "core_group_missed" => pb::DriftKind::CoreGroupMissed,
        "review_late" => pb::DriftKind::ReviewLate,
        "initial_conference_late" => pb::DriftKind::InitialConferenceLate,
        "plan_duration" => pb::DriftKind::PlanDuration,
        "report_late" => pb::DriftKind::ReportLate,
        "agency_not_delivering" => pb::DriftKind::AgencyNotDelivering,
        _ => pb::DriftKind::Unspecified,
    }
}

fn stored_kind(kind: Kind) -> &'static str {
    match kind {
        Kind::PlanActionOverdue => "plan_action_overdue",
        Kind::CoreGroupMissed => "core_group_missed",
        Kind::ReviewLate => "review_late",
        Kind::InitialConferenceLate => "initial_conference_late",
        Kind::PlanDuration => "plan_duration",
        Kind::ReportLate => "report_late",
        Kind::AgencyNotDelivering => "agency_not_delivering",
    }
}

/// `Severity` as stored: the API's numbering.
fn severity_rank(severity: Severity) -> i16 {
    match severity {
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

/// Records a plan action; an older copy never overwrites a newer one.
///
/// # Errors
/// Database errors.
pub async fn learn_action(
    conn: &mut PgConnection,
    authority: &str,
    action: &KeptAction,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO plan_actions (id, authority_id, plan_id, child_id, description, owner, \
                                   due_on, done, version, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (id) DO UPDATE SET description = excluded.description, \
           owner = excluded.owner, due_on = excluded.due_on, done = excluded.done, \
           version = excluded.version, updated_at = excluded.updated_at \
         WHERE plan_actions.version < excluded.version",
    )
    .bind(action.id)
    .bind(authority)
    .bind(action.plan_id)
    .bind(action.child_id)
    .bind(&action.description)
    .bind(action.owner.as_ref().map(Message::encode_to_vec))
    .bind(action.due_on)
    .bind(action.done)
    .bind(action.version)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records a conference or core group meeting; an older copy never
/// overwrites a newer one.
///
/// # Errors
/// Database errors.
pub async fn learn_meeting(
    conn: &mut PgConnection,
    authority: &str,
    meeting: &KeptMeeting,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let (state, booked_on) = match meeting.state {
        Meeting::Due => ("due", None),
        Meeting::Booked(on) => ("booked", Some(on)),
        Meeting::Held => ("held", None),
        Meeting::Missed => ("missed", None),
        Meeting::Cancelled => ("cancelled", None),
    };
    sqlx::query(
        "INSERT INTO meetings (id, authority_id, kind, case_id, child_ids, plan_id, due_on, \
                               state, booked_on, version, updated_at, reports_due_on, plan_ids) \
         VALUES ($1, $2, COALESCE((SELECT m.kind FROM meetings m WHERE m.id = $12), $3), \
                 $4, $5, $6, $7, $8, $9, $10, $11, $13, $14) \
         ON CONFLICT (id) DO UPDATE SET child_ids = excluded.child_ids, \
           plan_id = excluded.plan_id, due_on = excluded.due_on, state = excluded.state, \
           booked_on = excluded.booked_on, version = excluded.version, \
           updated_at = excluded.updated_at, reports_due_on = excluded.reports_due_on, \
           plan_ids = excluded.plan_ids \
         WHERE meetings.version < excluded.version",
    )
    .bind(meeting.id)
    .bind(authority)
    .bind(meeting.kind.code())
    .bind(meeting.case_id)
    .bind(&meeting.child_ids)
    .bind(meeting.plan_ids.first())
    .bind(meeting.due_on)
    .bind(state)
    .bind(booked_on)
    .bind(meeting.version)
    .bind(now)
    .bind(meeting.reconvenes)
    .bind(meeting.reports_due_on)
    .bind(&meeting.plan_ids)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records a report request; an older copy never overwrites a newer one.
///
/// # Errors
/// Database errors.
pub async fn learn_report_request(
    conn: &mut PgConnection,
    authority: &str,
    request: &ReportRequest,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO report_requests (id, authority_id, conference_id, invitee, invitee_id, \
                                      agency_kind, agency_name, version, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (id) DO UPDATE SET invitee = excluded.invitee, \
           invitee_id = excluded.invitee_id, agency_kind = excluded.agency_kind, \
           agency_name = excluded.agency_name, version = excluded.version, \
           updated_at = excluded.updated_at \
         WHERE report_requests.version < excluded.version",
    )
    .bind(request.id)
    .bind(authority)
    .bind(request.conference_id)
    .bind(request.invitee.encode_to_vec())
    .bind(&request.invitee.person_id)
    .bind(request.invitee.agency_kind)
    .bind(&request.invitee.agency_name)
    .bind(request.version)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records a submitted report (once: a submitted report stays submitted).
///
/// # Errors
/// Database errors.
pub async fn learn_submitted_report(
    conn: &mut PgConnection,
    authority: &str,
    report: &SubmittedReport,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO submitted_reports (id, authority_id, conference_id, author_id, agency_kind, \
                                        agency_name, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
    )
    .bind(report.id)
    .bind(authority)
    .bind(report.conference_id)
    .bind(&report.author.person_id)
    .bind(report.author.agency_kind)
    .bind(&report.author.agency_name)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The report requests of conference `id`, to be assessed again when the
/// conference changes or a report for it is submitted.
///
/// # Errors
/// Database errors.
pub async fn report_requests_of_conference(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Vec<Uuid>, ApiError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM report_requests WHERE conference_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?,
    )
}

/// The actions of plan `id`, to be assessed again when the plan changes.
///
/// # Errors
/// Database errors.
pub async fn actions_of_plan(conn: &mut PgConnection, id: Uuid) -> Result<Vec<Uuid>, ApiError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM plan_actions WHERE plan_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?,
    )
}

/// The meetings of `case_id` with a finding not cleared: a meeting held
/// may put an earlier one right.
///
/// # Errors
/// Database errors.
pub async fn late_meetings_of_case(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<Vec<Uuid>, ApiError> {
    Ok(sqlx::query_scalar(
        "SELECT subject_id FROM drift_findings \
          WHERE case_id = $1 AND NOT cleared \
            AND subject_type IN ('Conference', 'CoreGroupMeeting') ORDER BY 1",
    )
    .bind(case_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// The meetings and report requests whose findings a change of one of
/// `child`'s plans may change: those for the child not settled or with a
/// finding not cleared. Nothing more is expected of them once the plans
/// they serve have ended (see [`NOTHING_EXPECTED`]); an initial conference
/// comes before any plan.
///
/// # Errors
/// Database errors.
pub async fn served_for_child(
    conn: &mut PgConnection,
    child: Uuid,
) -> Result<Vec<SubjectRef>, ApiError> {
    let meetings: Vec<Uuid> = sqlx::query_scalar(
        "SELECT m.id FROM meetings m \
          WHERE m.child_ids @> ARRAY[$1]::uuid[] AND m.kind <> 'initial_conference' \
            AND (m.state IN ('due', 'booked', 'missed') \
                 OR EXISTS (SELECT 1 FROM drift_findings f \
                             WHERE f.subject_id = m.id AND NOT f.cleared)) \
          ORDER BY 1",
    )
    .bind(child)
    .fetch_all(&mut *conn)
    .await?;
    let reports: Vec<Uuid> = sqlx::query_scalar(
        "SELECT r.id FROM report_requests r JOIN meetings m ON m.id = r.conference_id \
          WHERE m.child_ids @> ARRAY[$1]::uuid[] AND m.kind <> 'initial_conference' \
            AND (m.state IN ('due', 'booked') \
                 OR EXISTS (SELECT 1 FROM drift_findings f \
                             WHERE f.subject_id = r.id AND NOT f.cleared)) \
          ORDER BY 1",
    )
    .bind(child)
    .fetch_all(&mut *conn)
    .await?;
    Ok(meetings
        .into_iter()
        .map(SubjectRef::Meeting)
        .chain(reports.into_iter().map(SubjectRef::Report))
        .collect())
}

/// Every subject whose finding may have changed because days passed by
/// `today`: those not settled whose due date is past, and those with a
/// finding not cleared.
///
/// # Errors
/// Database errors.
pub async fn aged(conn: &mut PgConnection, at: &Assessor) -> Result<Vec<SubjectRef>, ApiError> {
    let today = at.today;
    let actions: Vec<Uuid> = sqlx::query_scalar(
        "SELECT a.id FROM plan_actions a LEFT JOIN plans p ON p.id = a.plan_id \
          WHERE NOT a.done AND NOT coalesce(p.ended, false) AND a.due_on < $1 \
         UNION SELECT subject_id FROM drift_findings \
          WHERE NOT cleared AND subject_type = 'PlanAction' ORDER BY 1",
    )
    .bind(today)
    .fetch_all(&mut *conn)
    .await?;
    // A missed meeting stays missed: once nothing more is expected of it,
    // only its finding (if not yet cleared) brings it back.
    let meetings: Vec<Uuid> = sqlx::query_scalar(&format!(
        "SELECT m.id FROM meetings m \
          WHERE m.state IN ('due', 'booked', 'missed') AND m.due_on < $1 \
            AND NOT {NOTHING_EXPECTED} \
         UNION SELECT subject_id FROM drift_findings \
          WHERE NOT cleared AND subject_type IN ('Conference', 'CoreGroupMeeting') ORDER BY 1"
    ))
    .bind(today)
    .fetch_all(&mut *conn)
    .await?;
    // Plans near or past their first review point (a few days' margin for
    // month ends; assessing says exactly).
    let first_point = at.review_months.first().copied().unwrap_or(u32::MAX);
    let started_by = today
        .checked_sub_months(chrono::Months::new(first_point))
        .and_then(|d| d.checked_add_days(chrono::Days::new(3)));
    let plans: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM plans WHERE NOT ended AND start_date <= $1 \
         UNION SELECT subject_id FROM drift_findings \
          WHERE NOT cleared AND subject_type = 'ChildProtectionPlan' ORDER BY 1",
    )
    .bind(started_by)
    .fetch_all(&mut *conn)
    .await?;
    let reports: Vec<Uuid> = sqlx::query_scalar(&format!(
        "SELECT r.id FROM report_requests r JOIN meetings m ON m.id = r.conference_id \
          WHERE m.state IN ('due', 'booked', 'missed') AND m.reports_due_on < $1 \
            AND NOT {NOTHING_EXPECTED} \
         UNION SELECT subject_id FROM drift_findings \
          WHERE NOT cleared AND subject_type = 'ReportRequest' ORDER BY 1"
    ))
    .bind(today)
    .fetch_all(&mut *conn)
    .await?;
    Ok(actions
        .into_iter()
        .map(SubjectRef::Action)
        .chain(meetings.into_iter().map(SubjectRef::Meeting))
        .chain(plans.into_iter().map(SubjectRef::Plan))
        .chain(reports.into_iter().map(SubjectRef::Report))
        .collect())
}

/// A finding as assessment makes it, before it is stored.
struct Draft {
    case_id: Uuid,
    child_ids: Vec<Uuid>,
    plan_id: Option<Uuid>,
    subject_type: &'static str,
    subject_id: Uuid,
    responsible: Option<common::PersonRef>,
    /// The agency concerned, when it is not the responsible person's.
    agency: Option<(i32, String)>,
    finding: Finding,
    detail: String,
}

impl Draft {
    /// The agency concerned (kind, name): the one named, or the
    /// responsible person's; none (0, empty) for a meeting or a plan.
    fn agency(&self) -> (i32, String) {
        match (&self.agency, &self.responsible) {
            (Some(agency), _) => agency.clone(),
            (None, Some(p)) => (p.agency_kind, p.agency_name.clone()),
            (None, None) => (0, String::new()),
        }
    }
}

/// An agency on a case, whose standing an action's or report's finding
/// changed: (case, agency kind, agency name).
type AgencyOnCase = (Uuid, i32, String);

/// Assesses `subject` on `at.today` and opens, refreshes or clears its
/// finding: [`assess_all`] of one.
///
/// # Errors
/// Database errors; dates outside the calendar.
pub async fn assess(
    conn: &mut PgConnection,
    at: &Assessor,
    subject: SubjectRef,
) -> Result<(), ApiError> {
    assess_all(conn, at, &[subject]).await
}

/// Assesses each of `subjects` on `at.today` and opens, refreshes or clears
/// its finding. A subject escalation does not know (yet) has none. Each
/// subject's row is locked first, so the feeds and the sweep assess one
/// subject one at a time. The standing on its case of each agency whose
/// action's or report's finding changed is assessed again after every
/// subject; the changes go on the feed last (see the module's lock order).
///
/// # Errors
/// Database errors; dates outside the calendar.
pub async fn assess_all(
    conn: &mut PgConnection,
    at: &Assessor,
    subjects: &[SubjectRef],
) -> Result<(), ApiError> {
    let mut told = Vec::new();
    // Ordered, so that two transactions take the agencies' locks in one
    // order.
    let mut agencies = BTreeSet::new();
    for &subject in subjects {
        let draft = match subject {
            SubjectRef::Action(id) => assess_action(conn, at, id).await?,
            SubjectRef::Meeting(id) => assess_meeting(conn, at, id).await?,
            SubjectRef::Plan(id) => assess_plan(conn, at, id).await?,
            SubjectRef::Report(id) => assess_report(conn, at, id).await?,
        };
        let (subject_type, subject_id) = match (&draft, subject) {
            (Some(d), _) => (d.subject_type, d.subject_id),
            (None, SubjectRef::Action(id)) => ("PlanAction", id),
            (None, SubjectRef::Plan(id)) => ("ChildProtectionPlan", id),
            (None, SubjectRef::Report(id)) => ("ReportRequest", id),
            // Clearing looks for the meeting's finding whatever it was.
            (None, SubjectRef::Meeting(id)) => ("", id),
        };
        let changed = settle(conn, at, subject_type, subject_id, draft, &mut told).await?;
        if matches!(subject, SubjectRef::Action(_) | SubjectRef::Report(_)) {
            agencies.extend(changed.into_iter().filter(|(_, kind, _)| is_partner(*kind)));
        }
    }
    for (case_id, kind, name) in &agencies {
        assess_agency(conn, at, *case_id, *kind, name, &mut told).await?;
    }
    for change in &told {
        publish(conn, at, change).await?;
    }
    Ok(())
}

/// Whether agency `kind` is a partner agency, whose delivery is assessed:
/// any but none and the authority's own children's social care, whose
/// late actions are the plan's own drift (each already a finding).
fn is_partner(kind: i32) -> bool {
    kind != common::AgencyKind::Unspecified as i32
        && kind != common::AgencyKind::ChildrensSocialCare as i32
}

/// Opens, refreshes or clears the finding on one subject to match `draft`.
/// Returns the case and agency of the finding when it changed (both
/// agencies when it moved from one to another).
async fn settle(
    conn: &mut PgConnection,
    at: &Assessor,
    subject_type: &str,
    subject_id: Uuid,
    draft: Option<Draft>,
    told: &mut Vec<Told>,
) -> Result<Vec<AgencyOnCase>, ApiError> {
    let current: Option<(Uuid, i16, i32, NaiveDate, Uuid, i32, String)> = sqlx::query_as(
        "SELECT id, severity, working_days_overdue, due_on, case_id, agency_kind, agency_name \
           FROM drift_findings \
          WHERE subject_id = $1 AND ($2 = '' OR subject_type = $2) AND NOT cleared FOR UPDATE",
    )
    .bind(subject_id)
    .bind(subject_type)
    .fetch_optional(&mut *conn)
    .await?;
    match (current, draft) {
        (None, None) => Ok(Vec::new()),
        (Some((id, _, _, _, case_id, kind, name)), None) => {
            sqlx::query(
                "UPDATE drift_findings SET cleared = true, cleared_at = $2, \
                        updated_at = greatest(updated_at, $2), version = version + 1 \
                  WHERE id = $1",
            )
            .bind(id)
            .bind(at.now)
            .execute(&mut *conn)
            .await?;
            told.push(Told::of(conn, id, None).await?);
            Ok(vec![(case_id, kind, name)])
        }
        (None, Some(draft)) => {
            let id = Uuid::now_v7();
            let (agency_kind, agency_name) = draft.agency();
            sqlx::query(
                "INSERT INTO drift_findings (id, authority_id, case_id, child_ids, plan_id, kind, \
                                             severity, subject_type, subject_id, responsible, \
                                             agency_kind, agency_name, due_on, \
                                             working_days_overdue, detail, detected_at, \
                                             updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                         $16)",
            )
            .bind(id)
            .bind(&at.authority)
            .bind(draft.case_id)
            .bind(&draft.child_ids)
            .bind(draft.plan_id)
            .bind(stored_kind(draft.finding.kind))
            .bind(severity_rank(draft.finding.severity))
            .bind(draft.subject_type)
            .bind(draft.subject_id)
            .bind(draft.responsible.as_ref().map(Message::encode_to_vec))
            .bind(agency_kind)
            .bind(&agency_name)
            .bind(draft.finding.due)
            .bind(draft.finding.working_days_overdue)
            .bind(&draft.detail)
            .bind(at.now)
            .execute(&mut *conn)
            .await?;
            told.push(Told::of(conn, id, Some(true)).await?);
            Ok(vec![(draft.case_id, agency_kind, agency_name)])
        }
        (Some((id, severity, days, due, case_id, kind, name)), Some(draft)) => {
            let finding = draft.finding;
            // An action given to another owner moves its finding to the
            // new owner's agency: both agencies' standing changes.
            let (new_kind, new_name) = draft.agency();
            let moved = new_kind != kind || new_name != name;
            if !moved
                && severity == severity_rank(finding.severity)
                && days == finding.working_days_overdue
                && due == finding.due
            {
                return Ok(Vec::new());
            }
            sqlx::query(
                "UPDATE drift_findings SET severity = $2, working_days_overdue = $3, due_on = $4, \
                        detail = $5, updated_at = greatest(updated_at, $6), \
                        responsible = $7, agency_kind = $8, agency_name = $9, \
                        version = version + 1 \
                  WHERE id = $1",
            )
            .bind(id)
            .bind(severity_rank(finding.severity))
            .bind(finding.working_days_overdue)
            .bind(finding.due)
            .bind(&draft.detail)
            .bind(at.now)
            .bind(draft.responsible.as_ref().map(Message::encode_to_vec))
            .bind(new_kind)
            .bind(&new_name)
            .execute(&mut *conn)
            .await?;
            told.push(Told::of(conn, id, Some(false)).await?);
            let mut changed = vec![(case_id, kind, name)];
            if moved {
                changed.push((case_id, new_kind, new_name));
            }
            Ok(changed)
        }
    }
}

/// The subject id of an agency's standing on a case: the same for the same
/// case and agency (its name in any case), so that one finding at a time
/// stands against it.
fn agency_subject(case_id: Uuid, kind: i32, name: &str) -> Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{case_id}/{kind}/{}", name.to_lowercase()));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::new_v8(bytes)
}

/// Assesses whether agency (`kind`, `name`) is delivering on `case_id`,
/// from the findings standing against it there, and opens, refreshes or
/// clears its AGENCY_NOT_DELIVERING finding. An advisory lock on the
/// subject stands in for the row lock other subjects take: the feed and
/// the sweep may assess the same agency at once.
async fn assess_agency(
    conn: &mut PgConnection,
    at: &Assessor,
    case_id: Uuid,
    kind: i32,
    name: &str,
    told: &mut Vec<Told>,
) -> Result<(), ApiError> {
    let subject_id = agency_subject(case_id, kind, name);
    let key = i64::from_be_bytes(subject_id.as_bytes()[..8].try_into().unwrap_or_default());
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(key)
        .execute(&mut *conn)
        .await?;
    let standing: Vec<(String, NaiveDate, i32, Vec<Uuid>)> = sqlx::query_as(
        "SELECT kind, due_on, working_days_overdue, child_ids FROM drift_findings \
          WHERE case_id = $1 AND agency_kind = $2 AND lower(agency_name) = lower($3) \
            AND NOT cleared AND subject_type IN ('PlanAction', 'ReportRequest')",
    )
    .bind(case_id)
    .bind(kind)
    .bind(name)
    .fetch_all(&mut *conn)
    .await?;
    let late: Vec<Finding> = standing
        .iter()
        .filter_map(|(code, due, days, _)| {
            Some(Finding {
                kind: rules_kind(code)?,
                // Counting does not weigh them.
                severity: Severity::Low,
                due: *due,
                working_days_overdue: *days,
            })
        })
        .collect();
    let draft = drift::assess_agency(&late).map(|finding| {
        let mut child_ids: Vec<Uuid> = standing
            .iter()
            .flat_map(|(.., children)| children.iter().copied())
            .collect();
        child_ids.sort_unstable();
        child_ids.dedup();
        Draft {
            case_id,
            child_ids,
            plan_id: None,
            subject_type: "Agency",
            subject_id,
            responsible: None,
            agency: Some((kind, name.to_owned())),
            detail: format!(
                "{name} has {} overdue plan actions or reports not submitted on this case",
                late.len()
            ),
            finding,
        }
    });
    settle(conn, at, "Agency", subject_id, draft, told).await?;
    Ok(())
}

/// The rules' kind of a stored finding that counts against an agency.
fn rules_kind(code: &str) -> Option<Kind> {
    match code {
        "plan_action_overdue" => Some(Kind::PlanActionOverdue),
        "report_late" => Some(Kind::ReportLate),
        _ => None,
    }
}

/// A finding's change, as it is to go on the feed: the finding as it was
/// then, and at which version.
struct Told {
    finding: pb::DriftFinding,
    version: i64,
    /// Detected (`Some`; whether it is a new finding), or cleared.
    detected: Option<bool>,
}

impl Told {
    async fn of(
        conn: &mut PgConnection,
        id: Uuid,
        detected: Option<bool>,
    ) -> Result<Self, ApiError> {
        let version: i64 = sqlx::query_scalar("SELECT version FROM drift_findings WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
        Ok(Self {
            finding: load_one(conn, id).await?,
            version,
            detected,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ActionRow {
    plan_id: Uuid,
    child_id: Uuid,
    description: String,
    owner: Option<Vec<u8>>,
    due_on: NaiveDate,
    done: bool,
    case_id: Option<Uuid>,
}

async fn assess_action(
    conn: &mut PgConnection,
    at: &Assessor,
    id: Uuid,
) -> Result<Option<Draft>, ApiError> {
    let row: Option<ActionRow> = sqlx::query_as(
        "SELECT a.plan_id, a.child_id, a.description, a.owner, a.due_on, \
                a.done OR coalesce(p.ended, false) AS done, c.case_id \
           FROM plan_actions a \
           LEFT JOIN plans p ON p.id = a.plan_id \
           LEFT JOIN case_children c ON c.child_id = a.child_id \
          WHERE a.id = $1 FOR UPDATE OF a",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let Some(case_id) = row.case_id else {
        return Ok(None);
    };
    let subject = Subject::Action {
        due: row.due_on,
        done: row.done,
    };
    let Some(finding) =
        drift::assess(subject, at.today, at.calendar).map_err(ApiError::internal)?
    else {
        return Ok(None);
    };
    let responsible: Option<common::PersonRef> = row.owner.as_deref().map(decode).transpose()?;
    let owned_by = responsible
        .as_ref()
        .map(|p| {
            if p.agency_name.is_empty() {
                p.display_name.clone()
            } else {
                p.agency_name.clone()
            }
        })
        .filter(|n| !n.is_empty())
        .map(|n| format!(" owned by {n}"))
        .unwrap_or_default();
    Ok(Some(Draft {
        case_id,
        child_ids: vec![row.child_id],
        plan_id: Some(row.plan_id),
        subject_type: "PlanAction",
        subject_id: id,
        responsible,
        agency: None,
        detail: format!(
            "Action '{}'{owned_by} was due {}",
            row.description, row.due_on
        ),
        finding,
    }))
}

/// A meeting's state as `meetings` stores it.
fn stored_state(state: &str, booked_on: Option<NaiveDate>) -> Meeting {
    match (state, booked_on) {
        ("booked", Some(on)) => Meeting::Booked(on),
        ("held", _) => Meeting::Held,
        ("missed", _) => Meeting::Missed,
        ("cancelled", _) => Meeting::Cancelled,
        _ => Meeting::Due,
    }
}

#[derive(sqlx::FromRow)]
struct MeetingRow {
    kind: String,
    case_id: Uuid,
    child_ids: Vec<Uuid>,
    plan_id: Option<Uuid>,
    due_on: NaiveDate,
    state: String,
    booked_on: Option<NaiveDate>,
    nothing_expected: bool,
}

/// Whether nothing more is expected of meeting `m` (SQL, of the row `m` of
/// `meetings`), held or not. It is not if, for any child it is for:
/// - no later meeting of its kind was held for that child (for a core
///   group meeting, one delivering one of the same plans), which would
///   have put the child's plan back on its clock; a sibling's meeting
///   puts nothing right for the child;
/// - and the plans it serves for the child have not all ended: a core
///   group meeting serves its plans, a review conference the child's; an
///   initial conference comes before any plan. (A plan not known here
///   yet may be in force: the child is still expected.)
///
/// When a plan ends, scheduling takes its child off (or cancels) only the
/// meetings still due or booked: a missed core group meeting would
/// otherwise be chased for ever.
const NOTHING_EXPECTED: &str = "\
    NOT EXISTS ( \
      SELECT 1 FROM unnest(m.child_ids) AS c(id) \
       WHERE NOT EXISTS ( \
               SELECT 1 FROM meetings later \
                WHERE later.case_id = m.case_id AND later.kind = m.kind \
                  AND later.state = 'held' AND later.due_on > m.due_on \
                  AND later.child_ids @> ARRAY[c.id] \
                  AND (m.kind <> 'core_group' OR later.plan_ids && m.plan_ids)) \
         AND (m.kind = 'initial_conference' \
              OR NOT EXISTS ( \
                   SELECT 1 FROM plans p WHERE p.child_id = c.id \
                      AND (m.kind = 'review_conference' OR p.id = ANY (m.plan_ids))) \
              OR EXISTS ( \
                   SELECT 1 FROM plans p WHERE p.child_id = c.id AND NOT p.ended \
                      AND (m.kind = 'review_conference' OR p.id = ANY (m.plan_ids)))))";

async fn assess_meeting(
    conn: &mut PgConnection,
    at: &Assessor,
    id: Uuid,
) -> Result<Option<Draft>, ApiError> {
    let row: Option<MeetingRow> = sqlx::query_as(&format!(
        "SELECT kind, case_id, child_ids, plan_id, due_on, state, booked_on, \
                {NOTHING_EXPECTED} AS nothing_expected \
           FROM meetings m WHERE id = $1 FOR UPDATE OF m"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    if row.nothing_expected {
        return Ok(None);
    }
    let state = stored_state(&row.state, row.booked_on);
    let due = row.due_on;
    let (subject, subject_type, what) = match row.kind.as_str() {
        "core_group" => (
            Subject::CoreGroup { due, state },
            "CoreGroupMeeting",
            "Core group meeting",
        ),
        kind => {
            let initial = kind == "initial_conference";
            let what = if initial {
                "Initial conference"
            } else {
                "Review conference"
            };
            (
                Subject::Conference {
                    initial,
                    due,
                    state,
                },
                "Conference",
                what,
            )
        }
    };
    let Some(finding) =
        drift::assess(subject, at.today, at.calendar).map_err(ApiError::internal)?
    else {
        return Ok(None);
    };
    let detail = match state {
        Meeting::Missed => format!("{what} due {due} was missed"),
        Meeting::Booked(on) if on > due => {
            format!("{what} due {due} is booked for {on}, after its due date")
        }
        _ => format!("{what} due {due} has not been held"),
    };
    Ok(Some(Draft {
        case_id: row.case_id,
        child_ids: row.child_ids,
        plan_id: row.plan_id,
        subject_type,
        subject_id: id,
        responsible: None,
        agency: None,
        finding,
        detail,
    }))
}

async fn assess_plan(
    conn: &mut PgConnection,
    at: &Assessor,
    id: Uuid,
) -> Result<Option<Draft>, ApiError> {
    let row: Option<(Uuid, bool, Option<NaiveDate>, Option<Uuid>)> = sqlx::query_as(
        "SELECT p.child_id, p.ended, p.start_date, c.case_id \
           FROM plans p LEFT JOIN case_children c ON c.child_id = p.child_id \
          WHERE p.id = $1 FOR UPDATE OF p",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((child, ended, Some(started), Some(case_id))) = row else {
        return Ok(None);
    };
    let Some(finding) =
        drift::assess_duration(started, ended, &at.review_months, at.today, at.calendar)
            .map_err(ApiError::internal)?
    else {
        return Ok(None);
    };
    Ok(Some(Draft {
        case_id,
        child_ids: vec![child],
        plan_id: Some(id),
        subject_type: "ChildProtectionPlan",
        subject_id: id,
        responsible: None,
        agency: None,
        detail: format!(
            "Plan started {started} reached a plan-duration review point on {}",
            finding.due
        ),
        finding,
    }))
}

#[derive(sqlx::FromRow)]
struct ReportRow {
    invitee: Vec<u8>,
    case_id: Uuid,
    child_ids: Vec<Uuid>,
    reports_due_on: Option<NaiveDate>,
    state: String,
    booked_on: Option<NaiveDate>,
    submitted: bool,
    /// Nothing more is expected of the conference ([`NOTHING_EXPECTED`]),
    /// so its reports are no longer awaited.
    nothing_expected: bool,
}

/// A report request is met by a report for the conference submitted by the
/// invitee, or by anyone of the invitee's agency (another officer may
/// write the police report). A request whose conference escalation does
/// not know yet, or which is not booked (no reports due date), has none.
async fn assess_report(
    conn: &mut PgConnection,
    at: &Assessor,
    id: Uuid,
) -> Result<Option<Draft>, ApiError> {
    let row: Option<ReportRow> = sqlx::query_as(&format!(
        "SELECT r.invitee, m.case_id, m.child_ids, m.reports_due_on, m.state, m.booked_on, \
                EXISTS (SELECT 1 FROM submitted_reports s \
                         WHERE s.conference_id = r.conference_id \
                           AND (s.author_id = r.invitee_id \
                                OR (s.agency_kind = r.agency_kind \
                                    AND lower(s.agency_name) = lower(r.agency_name)))) \
                  AS submitted, \
                {NOTHING_EXPECTED} AS nothing_expected \
           FROM report_requests r JOIN meetings m ON m.id = r.conference_id \
          WHERE r.id = $1 FOR UPDATE OF r"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let Some(due) = row.reports_due_on else {
        return Ok(None);
    };
    if row.nothing_expected {
        return Ok(None);
    }
    let conference = stored_state(&row.state, row.booked_on);
    let subject = Subject::Report {
        due,
        submitted: row.submitted,
        conference,
    };
    let Some(finding) =
        drift::assess(subject, at.today, at.calendar).map_err(ApiError::internal)?
    else {
        return Ok(None);
    };
    let invitee: common::PersonRef = decode(&row.invitee)?;
    let meets = match conference {
        Meeting::Booked(on) => format!(" for the conference on {on}"),
        _ => String::new(),
    };
    Ok(Some(Draft {
        case_id: row.case_id,
        child_ids: row.child_ids,
        plan_id: None,
        subject_type: "ReportRequest",
        subject_id: id,
        detail: format!(
            "Report from {}{meets} was due {due} and has not been submitted",
            invitee.agency_name
        ),
        responsible: Some(invitee),
        agency: None,
        finding,
    }))
}

/// The first of `ids` (by position) that is not a finding about a child
/// on `case_id` now (the finding's own case, for a child not moved).
///
/// # Errors
/// Database errors.
pub async fn first_stranger(
    conn: &mut PgConnection,
    case_id: Uuid,
    ids: &[Uuid],
) -> Result<Option<usize>, ApiError> {
    // A finding made before a child moved to this case is about them too.
    let ours: Vec<Uuid> = sqlx::query_scalar(&format!(
        "SELECT f.id FROM drift_findings f WHERE f.id = ANY ($2) AND {}",
        super::cases::CHILD_CASES.record_on_case(FINDING_CHILDREN, "f", "$1")
    ))
    .bind(case_id)
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    Ok(ids.iter().position(|id| !ours.contains(id)))
}

/// The case and children of finding `id`'s plan, for the policies.
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn case_of_plan(conn: &mut PgConnection, id: Uuid) -> Result<(Uuid, Uuid), ApiError> {
    let found: Option<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT c.case_id, p.child_id FROM plans p JOIN case_children c ON c.child_id = p.child_id \
          WHERE p.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    found.ok_or_else(|| ApiError::not_found("plan", id.to_string()))
}

/// Where a finding's children are kept, one row a child, by the database
/// from `child_ids` (migration `20261215100001`): a case's findings and a
/// child's are found through it.
pub const FINDING_CHILDREN: RecordChildren = RecordChildren {
    records: "drift_findings",
    table: "drift_finding_children",
    record: "finding_id",
};

/// A page of findings, most severe first, then most overdue.
///
/// A case filter lists the findings about a child on that case now (the
/// cases feed's [`super::cases::CHILD_CASES`], a child not learnt being on
/// the finding's own case), not those made in it: a finding keeps its case
/// when a child moves, and the old case's members no longer see one only
/// about the moved child, while the new case's do (each is about at least
/// one child).
///
/// # Errors
/// Database errors.
pub async fn list(
    conn: &mut PgConnection,
    filter: &FindingFilter,
) -> Result<pb::ListDriftFindingsResponse, ApiError> {
    // A case is narrowed first by what the indexes find (the finding's own
    // case, or one about a child now on the case), then keeps those with a
    // child whose case now is the one listed.
    let case_clause = |case: &str| {
        FINDING_CHILDREN.case_filter(super::cases::CHILD_CASES, filter.case_id, "f", case)
    };
    let child_clause = |child: &str| FINDING_CHILDREN.child_filter(filter.child_id, "f", child);
    // A page token's row must be one this list shows: else a token made up
    // around another case's finding would show, by where the page starts,
    // how severe and overdue it is.
    let after: Option<(i16, i32, Uuid)> = match filter.page.after {
        Some(after) => {
            let Some(anchor) = sqlx::query_as(&format!(
                "SELECT f.severity, f.working_days_overdue, f.id FROM drift_findings f \
                  WHERE f.id = $1 AND {on_case} AND {of_child} \
                    AND ($4::uuid IS NULL OR f.plan_id = $4)",
                on_case = case_clause("$2"),
                of_child = child_clause("$3"),
            ))
            .bind(after)
            .bind(filter.case_id)
            .bind(filter.child_id)
            .bind(filter.plan_id)
            .fetch_optional(&mut *conn)
            .await?
            else {
                return Ok(pb::ListDriftFindingsResponse::default());
            };
            Some(anchor)
        }
        None => None,
    };
    let (after_severity, after_days, after_id) = match after {
        Some((s, d, id)) => (Some(s), Some(d), Some(id)),
        None => (None, None, None),
    };
    let ids: Vec<Uuid> = sqlx::query_scalar(&format!(
        "SELECT f.id FROM drift_findings f \
          WHERE {on_case} \
            AND {of_child} \
            AND ($3::uuid IS NULL OR f.plan_id = $3) \
            AND ($4::text IS NULL OR f.kind = $4) \
            AND ($5::smallint IS NULL OR f.severity >= $5) \
            AND CASE $6 \
                  WHEN 'cleared' THEN f.cleared \
                  WHEN 'current' THEN NOT f.cleared \
                  ELSE NOT f.cleared AND ($6 = 'escalated') = EXISTS ( \
                    SELECT 1 FROM escalation_findings ef \
                      JOIN escalations e ON e.id = ef.escalation_id \
                     WHERE ef.finding_id = f.id AND e.status = 'open') \
                END \
            AND ($7::int IS NULL OR f.agency_kind = $7) \
            AND ($8::date IS NULL OR f.due_on <= $8) \
            AND ($11::uuid IS NULL \
                 OR (f.severity, f.working_days_overdue, f.id) < ($9, $10, $11)) \
          ORDER BY f.severity DESC, f.working_days_overdue DESC, f.id DESC \
          LIMIT $12",
        on_case = case_clause("$1"),
        of_child = child_clause("$2"),
    ))
    .bind(filter.case_id)
    .bind(filter.child_id)
    .bind(filter.plan_id)
    .bind(filter.kind)
    .bind(filter.min_severity)
    .bind(filter.status.code())
    .bind(filter.agency_kind)
    .bind(filter.due_before)
    .bind(after_severity)
    .bind(after_days)
    .bind(after_id)
    .bind(filter.page.fetch_limit())
    .fetch_all(&mut *conn)
    .await?;
    let mut findings = load_many(conn, &ids).await?;
    let next_page_token = filter.page.finish(&mut findings, |f| {
        Uuid::parse_str(&f.id).unwrap_or_default()
    });
    Ok(pb::ListDriftFindingsResponse {
        findings,
        next_page_token,
    })
}

/// The findings each of `escalations` cites, in its order.
///
/// # Errors
/// Database errors.
pub async fn cited_by(
    conn: &mut PgConnection,
    escalations: &[Uuid],
) -> Result<HashMap<Uuid, Vec<String>>, ApiError> {
    let mut cited: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (escalation, finding) in sqlx::query_as::<_, (Uuid, Uuid)>(
        "SELECT escalation_id, finding_id FROM escalation_findings \
          WHERE escalation_id = ANY ($1) ORDER BY escalation_id, position",
    )
    .bind(escalations)
    .fetch_all(&mut *conn)
    .await?
    {
        cited
            .entry(escalation)
            .or_default()
            .push(finding.to_string());
    }
    Ok(cited)
}

/// Records that escalation `id` cites `findings`, in that order.
///
/// # Errors
/// Database errors.
pub async fn cite(
    conn: &mut PgConnection,
    authority: &str,
    id: Uuid,
    findings: &[Uuid],
) -> Result<(), ApiError> {
    for (position, finding) in (0i32..).zip(findings) {
        sqlx::query(
            "INSERT INTO escalation_findings (escalation_id, position, finding_id, authority_id) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(position)
        .bind(finding)
        .bind(authority)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn publish(conn: &mut PgConnection, at: &Assessor, told: &Told) -> Result<(), ApiError> {
    let finding = &told.finding;
    let about = About {
        aggregate_type: "DriftFinding",
        id: &finding.id,
        version: told.version,
        child_ids: &finding.child_ids,
    };
    match told.detected {
        Some(new_finding) => {
            let payload = pb::DriftDetected {
                finding: Some(finding.clone()),
                new_finding,
            };
            let event = "cpc.escalation.v1.DriftDetected";
            outbox::publish(conn, &at.authority, about, event, &payload, at.now).await
        }
        None => {
            let payload = pb::DriftCleared {
                finding: Some(finding.clone()),
            };
            let event = "cpc.escalation.v1.DriftCleared";
            outbox::publish(conn, &at.authority, about, event, &payload, at.now).await
        }
    }
}

async fn load_one(conn: &mut PgConnection, id: Uuid) -> Result<pb::DriftFinding, ApiError> {
    load_many(conn, &[id])
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("drift finding", id.to_string()))
}

#[derive(sqlx::FromRow)]
struct FindingRow {
    id: Uuid,
    authority_id: String,
    case_id: Uuid,
    child_ids: Vec<Uuid>,
    plan_id: Option<Uuid>,
    kind: String,
    severity: i16,
    subject_type: String,
    subject_id: Uuid,
    responsible: Option<Vec<u8>>,
    agency_kind: i32,
    agency_name: String,
    due_on: NaiveDate,
    working_days_overdue: i32,
    detail: String,
    cleared: bool,
    detected_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    cleared_at: Option<DateTime<Utc>>,
    /// The open escalation citing it, if any (the earliest raised).
    escalation_id: Option<Uuid>,
}

/// Findings `ids`, in that order (unknown ids left out), in one query.
async fn load_many(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<Vec<pb::DriftFinding>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<FindingRow> = sqlx::query_as(
        "SELECT f.id, f.authority_id, f.case_id, f.child_ids, f.plan_id, f.kind, f.severity, \
                f.subject_type, f.subject_id, f.responsible, f.agency_kind, f.agency_name, \
                f.due_on, f.working_days_overdue, f.detail, f.cleared, f.detected_at, \
                f.updated_at, f.cleared_at, \
                (SELECT e.id FROM escalation_findings ef \
                   JOIN escalations e ON e.id = ef.escalation_id \
                  WHERE ef.finding_id = f.id AND e.status = 'open' \
                  ORDER BY e.created_at, e.id LIMIT 1) AS escalation_id \
           FROM drift_findings f WHERE f.id = ANY ($1)",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_id: HashMap<Uuid, pb::DriftFinding> = HashMap::with_capacity(rows.len());
    for row in rows {
        let status = match (row.cleared, row.escalation_id) {
            (true, _) => pb::DriftFindingStatus::Cleared,
            (false, Some(_)) => pb::DriftFindingStatus::Escalated,
            (false, None) => pb::DriftFindingStatus::Open,
        };
        let finding = pb::DriftFinding {
            id: row.id.to_string(),
            authority_id: row.authority_id,
            case_id: row.case_id.to_string(),
            child_ids: row.child_ids.iter().map(Uuid::to_string).collect(),
            plan_id: row.plan_id.map(|p| p.to_string()).unwrap_or_default(),
            kind: kind_of(&row.kind) as i32,
            severity: i32::from(row.severity),
            subject_type: row.subject_type,
            subject_id: row.subject_id.to_string(),
            responsible: row.responsible.as_deref().map(decode).transpose()?,
            agency_kind: row.agency_kind,
            agency_name: row.agency_name,
            due_date: Some(date_to_proto(row.due_on)),
            working_days_overdue: row.working_days_overdue,
            detail: row.detail,
            status: status as i32,
            escalation_id: row.escalation_id.map(|e| e.to_string()).unwrap_or_default(),
            detect_time: Some(timestamp_to_proto(row.detected_at)),
            update_time: Some(timestamp_to_proto(row.updated_at)),
            clear_time: row.cleared_at.map(timestamp_to_proto),
        };
        by_id.insert(row.id, finding);
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}
