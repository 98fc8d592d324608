//! Conferences as the API shows them, and their change events.

use std::collections::HashMap;

use chrono::{DateTime, Datelike as _, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_platform::case_members::{ChildCaseTable, RecordChildren};
use cpc_platform::outbox::{self, NewEvent};
use cpc_proto::common::v1 as common;
use cpc_proto::scheduling::v1 as pb;
use cpc_rules::Nation;
use prost::Message;
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::needs::NeedsError;
use crate::due::{Basis, DueEvent, Unit};

#[derive(sqlx::FromRow)]
struct ConferenceRow {
    id: Uuid,
    version: i64,
    authority_id: String,
    kind: String,
    case_id: Uuid,
    status: String,
    statutory_due_date: NaiveDate,
    basis: Json<Basis>,
    cancellation_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    start_time: Option<DateTime<Utc>>,
    end_time: Option<DateTime<Utc>>,
    venue: Option<Vec<u8>>,
    virtual_meeting: Option<Vec<u8>>,
    booked_past_deadline: bool,
    past_deadline_reason: Option<String>,
    previous_conference_id: Option<Uuid>,
    reports_due_date: Option<NaiveDate>,
    quorum: Option<Vec<u8>>,
    held_date: Option<NaiveDate>,
    inquorate: Option<Vec<u8>>,
    chair_id: Option<Uuid>,
    chair_allocation: Option<Vec<u8>>,
    child_ids: Vec<Uuid>,
}

#[derive(sqlx::FromRow)]
struct RescheduleRow {
    conference_id: Uuid,
    previous_start_time: DateTime<Utc>,
    new_start_time: DateTime<Utc>,
    reason: String,
    reason_detail: Option<String>,
    past_deadline: bool,
    changed_by: Vec<u8>,
    changed_at: DateTime<Utc>,
}

/// The conference `id` as the API shows it.
///
/// # Errors
/// Database errors (the conference must exist).
pub async fn load(conn: &mut PgConnection, id: Uuid) -> Result<pb::Conference, NeedsError> {
    let mut one = load_many(conn, &[id]).await?;
    Ok(one.pop().ok_or(sqlx::Error::RowNotFound)?)
}

/// The conferences `ids` as the API shows them, in the order given; an id
/// with no conference is left out. Four queries whatever the number, so a
/// page of a list costs what one conference does.
///
/// # Errors
/// Database errors.
async fn load_many(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<Vec<pb::Conference>, sqlx::Error> {
    let rows: Vec<ConferenceRow> = sqlx::query_as(
        "SELECT c.*, ARRAY(SELECT child_id FROM conference_children cc \
                           WHERE cc.conference_id = c.id ORDER BY child_id) AS child_ids \
         FROM conferences c WHERE c.id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut reschedules: HashMap<Uuid, Vec<RescheduleRow>> = HashMap::new();
    let reschedule_rows: Vec<RescheduleRow> = sqlx::query_as(
        "SELECT conference_id, previous_start_time, new_start_time, reason, reason_detail, \
                past_deadline, changed_by, changed_at \
         FROM conference_reschedules WHERE conference_id = ANY($1) ORDER BY conference_id, seq",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    for r in reschedule_rows {
        reschedules.entry(r.conference_id).or_default().push(r);
    }
    let mut attendance: HashMap<Uuid, Vec<Vec<u8>>> = HashMap::new();
    let attendees: Vec<(Uuid, Vec<u8>)> = sqlx::query_as(
        "SELECT conference_id, attendee FROM conference_attendance \
         WHERE conference_id = ANY($1) ORDER BY conference_id, position",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    for (id, attendee) in attendees {
        attendance.entry(id).or_default().push(attendee);
    }
    let mut exclusions: HashMap<Uuid, Vec<Vec<u8>>> = HashMap::new();
    let excluded: Vec<(Uuid, Vec<u8>)> = sqlx::query_as(
        "SELECT conference_id, exclusion FROM conference_exclusions \
         WHERE conference_id = ANY($1) ORDER BY conference_id, decided_at, person_id",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    for (id, exclusion) in excluded {
        exclusions.entry(id).or_default().push(exclusion);
    }
    let mut by_id: HashMap<Uuid, ConferenceRow> = rows.into_iter().map(|r| (r.id, r)).collect();
    Ok(ids
        .iter()
        .filter_map(|id| by_id.remove(id))
        .map(|row| {
            let reschedules = reschedules.remove(&row.id).unwrap_or_default();
            let attendance = attendance.remove(&row.id).unwrap_or_default();
            let exclusions = exclusions.remove(&row.id).unwrap_or_default();
            conference(row, reschedules, &attendance, &exclusions)
        })
        .collect())
}

fn conference(
    row: ConferenceRow,
    reschedules: Vec<RescheduleRow>,
    attendance: &[Vec<u8>],
    exclusions: &[Vec<u8>],
) -> pb::Conference {
    pb::Conference {
        exclusions: exclusions
            .iter()
            .filter_map(|e| decoded(Some(e.as_slice())))
            .collect(),
        reports_due_date: row.reports_due_date.map(date),
        chair_id: row.chair_id.map(|c| c.to_string()).unwrap_or_default(),
        chair_allocation: decoded(row.chair_allocation.as_deref()),
        quorum: decoded(row.quorum.as_deref()),
        held_date: row.held_date.map(date),
        inquorate: decoded(row.inquorate.as_deref()),
        attendance: attendance
            .iter()
            .filter_map(|a| decoded(Some(a.as_slice())))
            .collect(),
        start_time: row.start_time.map(timestamp),
        end_time: row.end_time.map(timestamp),
        venue: decoded(row.venue.as_deref()),
        virtual_meeting: decoded(row.virtual_meeting.as_deref()),
        booked_past_deadline: row.booked_past_deadline,
        past_deadline_reason: row.past_deadline_reason.unwrap_or_default(),
        previous_conference_id: row
            .previous_conference_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        reschedules: reschedules
            .into_iter()
            .map(|r| pb::Reschedule {
                previous_start_time: Some(timestamp(r.previous_start_time)),
                new_start_time: Some(timestamp(r.new_start_time)),
                reason: reschedule_reason_from_code(&r.reason) as i32,
                reason_detail: r.reason_detail.unwrap_or_default(),
                past_deadline: r.past_deadline,
                changed_by: Message::decode(r.changed_by.as_slice()).ok(),
                change_time: Some(timestamp(r.changed_at)),
            })
            .collect(),
        id: row.id.to_string(),
        version: row.version,
        authority_id: row.authority_id,
        kind: kind_from_code(&row.kind) as i32,
        case_id: row.case_id.to_string(),
        child_ids: row.child_ids.iter().map(Uuid::to_string).collect(),
        status: status_from_code(&row.status) as i32,
        statutory_due_date: Some(date(row.statutory_due_date)),
        due_date_basis: Some(basis_to_proto(&row.basis.0)),
        cancellation_reason: row.cancellation_reason.unwrap_or_default(),
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.updated_at)),
    }
}

/// The conference `id` after a call changed it, with the event `event_of`
/// makes of it appended to the feed: how every changing call ends.
///
/// # Errors
/// Database errors.
pub(crate) async fn changed<E: Message>(
    conn: &mut PgConnection,
    id: Uuid,
    event_type: &'static str,
    now: DateTime<Utc>,
    event_of: impl FnOnce(&pb::Conference) -> E,
) -> Result<pb::Conference, ApiError> {
    let conference = load(conn, id).await.map_err(ApiError::internal)?;
    emit(conn, event_type, &conference, &event_of(&conference), now)
        .await
        .map_err(ApiError::internal)?;
    Ok(conference)
}

/// A message this service stored from a validated request.
fn decoded<M: Message + Default>(bytes: Option<&[u8]>) -> Option<M> {
    bytes.and_then(|b| M::decode(b).ok())
}

/// Appends a conference event to the scheduling feed in the caller's
/// transaction.
///
/// # Errors
/// Database errors.
pub async fn emit<E: Message>(
    conn: &mut PgConnection,
    event_type: &'static str,
    conference: &pb::Conference,
    payload: &E,
    now: DateTime<Utc>,
) -> Result<(), NeedsError> {
    let event = NewEvent {
        aggregate_type: "Conference",
        aggregate_id: conference.id.clone(),
        aggregate_version: conference.version,
        event_type,
        authority_id: conference.authority_id.clone(),
        child_ids: conference
            .child_ids
            .iter()
            .filter_map(|id| Uuid::parse_str(id).ok())
            .collect(),
        payload: payload.encode_to_vec(),
    };
    outbox::append(conn, &event, now)
        .await
        .map_err(|err| NeedsError::Feed(err.to_string()))?;
    Ok(())
}

fn kind_from_code(code: &str) -> common::ConferenceKind {
    match code {
        "initial" => common::ConferenceKind::Initial,
        "review" => common::ConferenceKind::Review,
        "transfer_in" => common::ConferenceKind::TransferIn,
        "pre_birth" => common::ConferenceKind::PreBirth,
        "reconvened" => common::ConferenceKind::Reconvened,
        "post_birth_review" => common::ConferenceKind::PostBirthReview,
        _ => common::ConferenceKind::Unspecified,
    }
}

fn status_from_code(code: &str) -> pb::ConferenceStatus {
    match code {
        "due" => pb::ConferenceStatus::Due,
        "booked" => pb::ConferenceStatus::Booked,
        "held" => pb::ConferenceStatus::Held,
        "inquorate" => pb::ConferenceStatus::Inquorate,
        "cancelled" => pb::ConferenceStatus::Cancelled,
        _ => pb::ConferenceStatus::Unspecified,
    }
}

/// The stored code of a reschedule reason; `None` for UNSPECIFIED or an
/// unknown number.
#[must_use]
pub fn reschedule_reason_code(reason: i32) -> Option<&'static str> {
    Some(match pb::RescheduleReason::try_from(reason).ok()? {
        pb::RescheduleReason::ChairUnavailable => "chair_unavailable",
        pb::RescheduleReason::FamilyRequest => "family_request",
        pb::RescheduleReason::ProfessionalUnavailable => "professional_unavailable",
        pb::RescheduleReason::ReportsNotReady => "reports_not_ready",
        pb::RescheduleReason::InterpreterUnavailable => "interpreter_unavailable",
        pb::RescheduleReason::VenueUnavailable => "venue_unavailable",
        pb::RescheduleReason::Other => "other",
        pb::RescheduleReason::Unspecified => return None,
    })
}

fn reschedule_reason_from_code(code: &str) -> pb::RescheduleReason {
    [
        pb::RescheduleReason::ChairUnavailable,
        pb::RescheduleReason::FamilyRequest,
        pb::RescheduleReason::ProfessionalUnavailable,
        pb::RescheduleReason::ReportsNotReady,
        pb::RescheduleReason::InterpreterUnavailable,
        pb::RescheduleReason::VenueUnavailable,
        pb::RescheduleReason::Other,
    ]
    .into_iter()
    .find(|r| reschedule_reason_code(*r as i32) == Some(code))
    .unwrap_or(pb::RescheduleReason::Unspecified)
}

/// A due date's basis as the API shows it.
pub(crate) fn basis_to_proto(basis: &Basis) -> pb::DueDateBasis {
    let manual = basis.event == DueEvent::Manual;
    pb::DueDateBasis {
        event: match basis.event {
            DueEvent::StrategyDiscussion => pb::DueDateEvent::StrategyDiscussion,
            DueEvent::TransferNotification => pb::DueDateEvent::TransferNotification,
            DueEvent::InitialConference => pb::DueDateEvent::InitialConference,
            DueEvent::ReviewConference => pb::DueDateEvent::ReviewConference,
            DueEvent::InquorateConference => pb::DueDateEvent::InquorateConference,
            DueEvent::CoreGroupMeeting => pb::DueDateEvent::CoreGroupMeeting,
            DueEvent::ExpectedBirth => pb::DueDateEvent::ExpectedBirth,
            DueEvent::Birth => pb::DueDateEvent::Birth,
            DueEvent::Manual => pb::DueDateEvent::Manual,
        } as i32,
        event_date: Some(date(basis.event_date)),
        source_id: basis.source_id.clone(),
        // A date set by hand is counted from nothing.
        amount: if manual {
            0
        } else {
            i32::try_from(basis.amount).unwrap_or(i32::MAX)
        },
        unit: match basis.unit {
            _ if manual => pb::DurationUnit::Unspecified,
            Unit::WorkingDays => pb::DurationUnit::WorkingDays,
            Unit::CalendarMonths => pb::DurationUnit::CalendarMonths,
            Unit::Weeks => pb::DurationUnit::Weeks,
            Unit::WeeksOfGestation => pb::DurationUnit::WeeksOfGestation,
            // Months counted back from the expected birth.
            Unit::MonthsBefore => pb::DurationUnit::CalendarMonths,
        } as i32,
        nation: match basis.nation {
            Nation::EnglandAndWales => common::Nation::EnglandAndWales,
            Nation::Scotland => common::Nation::Scotland,
            Nation::NorthernIreland => common::Nation::NorthernIreland,
        } as i32,
        explanation: basis.explanation.clone(),
    }
}

pub(crate) fn date(date: NaiveDate) -> common::Date {
    common::Date {
        year: date.year(),
        month: i32::try_from(date.month()).unwrap_or(1),
        day: i32::try_from(date.day()).unwrap_or(1),
    }
}

pub(crate) fn timestamp(instant: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: instant.timestamp(),
        nanos: i32::try_from(instant.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// A checked ListConferences filter.
#[derive(Debug, Clone)]
pub struct ConferenceFilter {
    pub status: Option<&'static str>,
    pub kind: Option<&'static str>,
    pub case_id: Option<Uuid>,
    pub child_id: Option<Uuid>,
    /// Conferences allocated to this chair.
    pub chair_id: Option<Uuid>,
    pub due_before: Option<NaiveDate>,
    pub start_from: Option<DateTime<Utc>>,
    pub start_to: Option<DateTime<Utc>>,
    pub past_deadline_only: bool,
    pub unallocated_only: bool,
    pub page: cpc_platform::paging::PageRequest,
}

/// Where a conference's children are kept, one row a child: a case's
/// conferences and a child's are found through it
/// ([`ChildCaseTable::record_on_case`], [`RecordChildren::about_child`]).
pub const CONFERENCE_CHILDREN: RecordChildren = RecordChildren {
    records: "conferences",
    table: "conference_children",
    record: "conference_id",
};

/// The authority's conferences matching `filter`, earliest due first.
///
/// A case filter lists the conferences about a child on that case now
/// ([`CHILD_CASES`], a child not learnt being on the conference's own
/// case), not those made in it: a conference keeps the case it was made
/// in when a child moves, and listing the old case would show the old
/// case's members a conference only about the moved child, whom they no
/// longer see, while the new case's list would miss it. A conference
/// about no child is listed in its own case.
///
/// # Errors
/// Database errors.
pub async fn list(
    conn: &mut PgConnection,
    filter: &ConferenceFilter,
) -> Result<pb::ListConferencesResponse, sqlx::Error> {
    // A case is narrowed first by what the indexes find (the conference's
    // own case, or a conference of a child now on the case), then keeps
    // those with a child whose case now is the one listed.
    let case_clause =
        |row: &str| CONFERENCE_CHILDREN.case_filter(CHILD_CASES, filter.case_id, row, "$3");
    let child_clause = |row: &str| CONFERENCE_CHILDREN.child_filter(filter.child_id, row, "$4");
    let mut ids: Vec<Uuid> = sqlx::query_scalar(&format!(
        "SELECT c.id FROM conferences c \
         WHERE ($1::text IS NULL OR c.status = $1) \
           AND ($2::text IS NULL OR c.kind = $2) \
           AND {on_case} \
           AND {of_child} \
           AND ($5::date IS NULL OR c.statutory_due_date <= $5) \
           AND ($6::timestamptz IS NULL OR c.start_time >= $6) \
           AND ($7::timestamptz IS NULL OR c.start_time < $7) \
           AND (NOT $8 OR c.booked_past_deadline) \
           AND ($9::uuid IS NULL OR (c.statutory_due_date, c.id) > \
                (SELECT a.statutory_due_date, a.id FROM conferences a WHERE a.id = $9 \
                    AND {anchor_on_case} \
                    AND {anchor_of_child})) \
           AND ($11::uuid IS NULL OR c.chair_id = $11) \
           AND (NOT $12 OR c.chair_id IS NULL) \
         ORDER BY c.statutory_due_date, c.id LIMIT $10",
        on_case = case_clause("c"),
        anchor_on_case = case_clause("a"),
        of_child = child_clause("c"),
        anchor_of_child = child_clause("a"),
    ))
    .bind(filter.status)
    .bind(filter.kind)
    .bind(filter.case_id)
    .bind(filter.child_id)
    .bind(filter.due_before)
    .bind(filter.start_from)
    .bind(filter.start_to)
    .bind(filter.past_deadline_only)
    .bind(filter.page.after)
    .bind(filter.page.fetch_limit())
    .bind(filter.chair_id)
    .bind(filter.unallocated_only)
    .fetch_all(&mut *conn)
    .await?;
    let next_page_token = filter.page.finish(&mut ids, |id| *id);
    Ok(pb::ListConferencesResponse {
        conferences: load_many(conn, &ids).await?,
        next_page_token,
    })
}

/// The stored code of a conference status; `None` for UNSPECIFIED or an
/// unknown number.
#[must_use]
pub fn status_code(status: i32) -> Option<&'static str> {
    Some(match pb::ConferenceStatus::try_from(status).ok()? {
        pb::ConferenceStatus::Due => "due",
        pb::ConferenceStatus::Booked => "booked",
        pb::ConferenceStatus::Held => "held",
        pb::ConferenceStatus::Inquorate => "inquorate",
        pb::ConferenceStatus::Cancelled => "cancelled",
        pb::ConferenceStatus::Unspecified => return None,
    })
}

/// The case, children and allocated chair of conference `id`, for the
/// policies; `NOT_FOUND` when the caller's authority has no such
/// conference.
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn locate(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<(Uuid, Vec<Uuid>, Option<Uuid>), cpc_platform::ApiError> {
    sqlx::query_as(
        "SELECT c.case_id, ARRAY(SELECT child_id FROM conference_children cc \
                                 WHERE cc.conference_id = c.id ORDER BY child_id), \
                c.chair_id \
         FROM conferences c WHERE c.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| cpc_platform::ApiError::not_found("conference", id.to_string()))
}

/// Where scheduling keeps the case each child is on now (learnt from the
/// cases feed): the members of that case read the child's conferences and
/// core group meetings.
pub const CHILD_CASES: ChildCaseTable = ChildCaseTable("child_cases");

/// The family case of `child`, as the cases feed said; `None` when
/// scheduling has not heard of the child in the caller's authority.
///
/// # Errors
/// Database errors.
pub async fn case_of_child(
    conn: &mut PgConnection,
    child: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT case_id FROM child_cases WHERE child_id = $1")
        .bind(child)
        .fetch_optional(&mut *conn)
        .await
}

/// The ids of every record a call to scheduling may name that is about
/// `child`: its case, and the case's conferences, their invitations and
/// its core group meetings (records of the case concern all of its
/// children); and, wherever they were made, the conferences and core
/// group meetings that include the child, with the cases they were made
/// in. A child moved to another case (`UpdateChild`) leaves records about
/// them in the old case, which the old case alone would not find. Read in
/// the caller's authority only.
///
/// # Errors
/// Database errors.
pub async fn child_records(conn: &mut PgConnection, child: Uuid) -> Result<Vec<Uuid>, ApiError> {
    let ids = sqlx::query_scalar(
        "WITH kase AS (SELECT case_id FROM child_cases WHERE child_id = $1), \
              held AS (SELECT id, case_id FROM conferences \
                        WHERE case_id IN (SELECT case_id FROM kase) \
                           OR id IN (SELECT conference_id FROM conference_children \
                                      WHERE child_id = $1)), \
              met AS (SELECT id, case_id FROM core_group_meetings \
                       WHERE case_id IN (SELECT case_id FROM kase) \
                          OR id IN (SELECT meeting_id FROM core_group_meeting_children \
                                     WHERE child_id = $1)) \
         SELECT case_id FROM kase \
         UNION SELECT case_id FROM held UNION SELECT case_id FROM met \
         UNION ALL SELECT id FROM held \
         UNION ALL SELECT id FROM invitations WHERE conference_id IN (SELECT id FROM held) \
         UNION ALL SELECT id FROM met",
    )
    .bind(child)
    .fetch_all(&mut *conn)
    .await?;
    Ok(ids)
}
