//! Core group meetings: a numbered series per case. The first becomes due
//! from the cases feed (10 working days after the conference that started
//! the plan); each one held or missed makes the next due at the
//! authority's interval (6 weeks by default). Siblings whose plans started
//! at one conference share meetings; a plan's end, or its child's death,
//! takes the child off meetings not yet held.

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_platform::case_members::RecordChildren;
use cpc_platform::outbox::{self, NewEvent};
use cpc_platform::paging::PageRequest;
use cpc_proto::common::v1 as common;
use cpc_proto::scheduling::v1 as pb;
use prost::Message;
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::Ctx;
use super::booking::Slot;
use super::conferences::{basis_to_proto, date, timestamp};
use crate::due::{Basis, DueEvent, Unit};

#[derive(sqlx::FromRow)]
struct MeetingRow {
    id: Uuid,
    version: i64,
    authority_id: String,
    case_id: Uuid,
    child_ids: Vec<Uuid>,
    plan_ids: Vec<Uuid>,
    sequence_number: i32,
    status: String,
    due_date: NaiveDate,
    basis: Json<Basis>,
    start_time: Option<DateTime<Utc>>,
    end_time: Option<DateTime<Utc>>,
    venue: Option<Vec<u8>>,
    virtual_meeting: Option<Vec<u8>>,
    held_date: Option<NaiveDate>,
    attendees: Vec<Vec<u8>>,
    missed_reason: Option<String>,
    previous_meeting_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl MeetingRow {
    fn into_proto(self) -> pb::CoreGroupMeeting {
        let ids = |ids: &[Uuid]| ids.iter().map(Uuid::to_string).collect();
        pb::CoreGroupMeeting {
            id: self.id.to_string(),
            version: self.version,
            authority_id: self.authority_id,
            case_id: self.case_id.to_string(),
            child_ids: ids(&self.child_ids),
            plan_ids: ids(&self.plan_ids),
            sequence_number: self.sequence_number,
            status: match self.status.as_str() {
                "due" => pb::CoreGroupMeetingStatus::Due,
                "scheduled" => pb::CoreGroupMeetingStatus::Scheduled,
                "held" => pb::CoreGroupMeetingStatus::Held,
                "missed" => pb::CoreGroupMeetingStatus::Missed,
                "cancelled" => pb::CoreGroupMeetingStatus::Cancelled,
                _ => pb::CoreGroupMeetingStatus::Unspecified,
            } as i32,
            due_date: Some(date(self.due_date)),
            due_date_basis: Some(basis_to_proto(&self.basis.0)),
            start_time: self.start_time.map(timestamp),
            end_time: self.end_time.map(timestamp),
            venue: self.venue.and_then(|v| Message::decode(v.as_slice()).ok()),
            virtual_meeting: self
                .virtual_meeting
                .and_then(|v| Message::decode(v.as_slice()).ok()),
            held_date: self.held_date.map(date),
            attendees: self
                .attendees
                .iter()
                .filter_map(|a| common::PersonRef::decode(a.as_slice()).ok())
                .collect(),
            missed_reason: self.missed_reason.unwrap_or_default(),
            // The plan event does not say which conference it came from.
            conference_id: String::new(),
            previous_meeting_id: self
                .previous_meeting_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            create_time: Some(timestamp(self.created_at)),
            update_time: Some(timestamp(self.updated_at)),
        }
    }
}

/// Meeting `id` of the caller's authority.
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn load(conn: &mut PgConnection, id: Uuid) -> Result<pb::CoreGroupMeeting, ApiError> {
    let row: MeetingRow = sqlx::query_as("SELECT * FROM core_group_meetings WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ApiError::not_found("core group meeting", id.to_string()))?;
    Ok(row.into_proto())
}

/// The case and children of meeting `id`, for the policies.
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn locate(conn: &mut PgConnection, id: Uuid) -> Result<(Uuid, Vec<Uuid>), ApiError> {
    sqlx::query_as("SELECT case_id, child_ids FROM core_group_meetings WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ApiError::not_found("core group meeting", id.to_string()))
}

async fn emit<E: Message>(
    conn: &mut PgConnection,
    event_type: &'static str,
    meeting: &pb::CoreGroupMeeting,
    payload: &E,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let event = NewEvent {
        aggregate_type: "CoreGroupMeeting",
        aggregate_id: meeting.id.clone(),
        aggregate_version: meeting.version,
        event_type,
        authority_id: meeting.authority_id.clone(),
        child_ids: meeting
            .child_ids
            .iter()
            .filter_map(|c| Uuid::parse_str(c).ok())
            .collect(),
        payload: payload.encode_to_vec(),
    };
    outbox::append(conn, &event, now)
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}

async fn announce_due(
    conn: &mut PgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<pb::CoreGroupMeeting, ApiError> {
    let meeting = load(conn, id).await?;
    let event = pb::CoreGroupMeetingDue {
        meeting: Some(meeting.clone()),
    };
    emit(
        conn,
        "cpc.scheduling.v1.CoreGroupMeetingDue",
        &meeting,
        &event,
        now,
    )
    .await?;
    Ok(meeting)
}

/// What the cases feed says: `plan` (of `child`, in `case`) needs its
/// next core group by `due`. The plan's open meeting is moved to that
/// date; else a sibling's due meeting on that date is shared; else a new
/// meeting is due. Returns the meeting.
///
/// # Errors
/// Database errors.
pub async fn plan_needs(
    conn: &mut PgConnection,
    authority: &str,
    ids: (Uuid, Uuid, Uuid),
    due: NaiveDate,
    basis: &Basis,
    now: DateTime<Utc>,
) -> Result<Uuid, ApiError> {
    let (case, child, plan) = ids;
    let open: Option<(Uuid, NaiveDate, String)> = sqlx::query_as(
        "SELECT id, due_date, status FROM core_group_meetings \
         WHERE $1 = ANY (plan_ids) AND status IN ('due', 'scheduled') FOR UPDATE",
    )
    .bind(plan)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((id, current, status)) = open {
        if current != due && status == "due" {
            sqlx::query(
                "UPDATE core_group_meetings SET due_date = $2, basis = $3, version = version + 1, \
                   updated_at = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(due)
            .bind(Json(basis))
            .bind(now)
            .execute(&mut *conn)
            .await?;
            announce_due(conn, id, now).await?;
        }
        return Ok(id);
    }
    let sibling: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM core_group_meetings \
         WHERE case_id = $1 AND status = 'due' AND due_date = $2 ORDER BY created_at LIMIT 1 FOR UPDATE",
    )
    .bind(case)
    .bind(due)
    .fetch_optional(&mut *conn)
    .await?;
    let id = match sibling {
        Some(id) => {
            sqlx::query(
                "UPDATE core_group_meetings SET \
                   child_ids = (SELECT array_agg(DISTINCT c) FROM unnest(child_ids || $2) c), \
                   plan_ids = (SELECT array_agg(DISTINCT p) FROM unnest(plan_ids || $3) p), \
                   version = version + 1, updated_at = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(child)
            .bind(plan)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            id
        }
        None => {
            let id = Uuid::now_v7();
            let sequence: i32 = sqlx::query_scalar(
                "SELECT coalesce(max(sequence_number), 0) + 1 FROM core_group_meetings \
                 WHERE $1 = ANY (plan_ids)",
            )
            .bind(plan)
            .fetch_one(&mut *conn)
            .await?;
            sqlx::query(
                "INSERT INTO core_group_meetings (id, authority_id, case_id, child_ids, plan_ids, \
                   sequence_number, status, due_date, basis, created_at, updated_at) \
                 VALUES ($1, $2, $3, ARRAY[$4::uuid], ARRAY[$5::uuid], $6, 'due', $7, $8, $9, $9)",
            )
            .bind(id)
            .bind(authority)
            .bind(case)
            .bind(child)
            .bind(plan)
            .bind(sequence)
            .bind(due)
            .bind(Json(basis))
            .bind(now)
            .execute(&mut *conn)
            .await?;
            id
        }
    };
    announce_due(conn, id, now).await?;
    Ok(id)
}

/// A plan ended, or its child died: the child (and `plans`, theirs) come
/// off meetings not yet held; a meeting they were the last for is
/// cancelled instead, keeping its child and plan (the feed's followers
/// refuse a meeting for nobody, and it says whom it was for). Every
/// meeting changed goes on the feed, so reporting and escalation stop
/// counting it for the child and the plan.
///
/// A plan still on a meeting its child already left (the child died, and
/// the plan was not among those scheduling knew of them) comes off when it
/// ends.
///
/// # Errors
/// Database errors.
pub async fn child_left(
    conn: &mut PgConnection,
    child: Uuid,
    plans: &[Uuid],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let left: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE core_group_meetings SET \
           child_ids = CASE WHEN cardinality(array_remove(child_ids, $1)) = 0 THEN child_ids \
                            ELSE array_remove(child_ids, $1) END, \
           plan_ids = CASE WHEN cardinality(array_remove(child_ids, $1)) = 0 THEN plan_ids \
                           ELSE ARRAY(SELECT p FROM unnest(plan_ids) WITH ORDINALITY AS u (p, n) \
                                       WHERE p <> ALL ($2) ORDER BY n) END, \
           status = CASE WHEN cardinality(array_remove(child_ids, $1)) = 0 THEN 'cancelled' ELSE status END, \
           version = version + 1, updated_at = $3 \
         WHERE (child_ids @> ARRAY[$1] OR plan_ids && $2) AND status IN ('due', 'scheduled') \
         RETURNING id",
    )
    .bind(child)
    .bind(plans)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    for id in left {
        let meeting = load(conn, id).await?;
        let status = pb::CoreGroupMeetingStatus::try_from(meeting.status)
            .unwrap_or(pb::CoreGroupMeetingStatus::Unspecified);
        // There is no event for a change of a meeting's children: a meeting
        // still open is announced again as what it is (due, or scheduled),
        // as a sibling joining one is; each carries the meeting after the
        // change, which is what reporting and escalation keep.
        match status {
            pb::CoreGroupMeetingStatus::Cancelled => {
                let event = pb::CoreGroupMeetingCancelled {
                    meeting: Some(meeting.clone()),
                };
                emit(
                    conn,
                    "cpc.scheduling.v1.CoreGroupMeetingCancelled",
                    &meeting,
                    &event,
                    now,
                )
                .await?;
            }
            pb::CoreGroupMeetingStatus::Scheduled => {
                let event = pb::CoreGroupMeetingScheduled {
                    meeting: Some(meeting.clone()),
                };
                emit(
                    conn,
                    "cpc.scheduling.v1.CoreGroupMeetingScheduled",
                    &meeting,
                    &event,
                    now,
                )
                .await?;
            }
            _ => {
                announce_due(conn, id, now).await?;
            }
        }
    }
    Ok(())
}

/// The authority's meetings matching the filter, earliest due first.
///
/// A case filter lists the meetings about a child on that case now (the
/// cases feed's [`super::conferences::CHILD_CASES`], a child not learnt being on
/// the meeting's own case), not those made in it: a meeting keeps its case
/// when a child moves, and the old case's members no longer see one only
/// about the moved child, while the new case's do. A meeting about no child
/// is listed in its own case.
///
/// # Errors
/// Database errors.
pub async fn list(
    conn: &mut PgConnection,
    case_id: Option<Uuid>,
    child_id: Option<Uuid>,
    status: Option<&'static str>,
    due_before: Option<NaiveDate>,
    page: &PageRequest,
) -> Result<pb::ListCoreGroupMeetingsResponse, ApiError> {
    // A case is narrowed first by what the indexes find (the meeting's own
    // case, or a meeting of a child now on the case), then keeps those with
    // a child whose case now is the one listed.
    let case_clause = |row: &str| {
        MEETING_CHILDREN.case_filter(super::conferences::CHILD_CASES, case_id, row, "$1")
    };
    let child_clause = |row: &str| MEETING_CHILDREN.child_filter(child_id, row, "$2");
    let mut rows: Vec<MeetingRow> = sqlx::query_as(&format!(
        "SELECT * FROM core_group_meetings m \
         WHERE {on_case} \
           AND {of_child} \
           AND ($3::text IS NULL OR m.status = $3) \
           AND ($4::date IS NULL OR m.due_date <= $4) \
           AND ($5::uuid IS NULL OR (m.due_date, m.id) > \
                (SELECT a.due_date, a.id FROM core_group_meetings a WHERE a.id = $5 \
                    AND {anchor_on_case} \
                    AND {anchor_of_child})) \
         ORDER BY m.due_date, m.id LIMIT $6",
        on_case = case_clause("m"),
        of_child = child_clause("m"),
        anchor_on_case = case_clause("a"),
        anchor_of_child = child_clause("a"),
    ))
    .bind(case_id)
    .bind(child_id)
    .bind(status)
    .bind(due_before)
    .bind(page.after)
    .bind(page.fetch_limit())
    .fetch_all(&mut *conn)
    .await?;
    let next_page_token = page.finish(&mut rows, |r| r.id);
    Ok(pb::ListCoreGroupMeetingsResponse {
        meetings: rows.into_iter().map(MeetingRow::into_proto).collect(),
        next_page_token,
    })
}

/// Where a meeting's children are kept, one row a child, by the database
/// from `child_ids` (migration `20261215100002`): a case's meetings and a
/// child's are found through it.
pub const MEETING_CHILDREN: RecordChildren = RecordChildren {
    records: "core_group_meetings",
    table: "core_group_meeting_children",
    record: "meeting_id",
};

/// Locks meeting `id`, checks the version read; returns its status, due
/// date, sequence number and series.
async fn current(
    conn: &mut PgConnection,
    id: Uuid,
    version: i64,
) -> Result<(String, NaiveDate), ApiError> {
    let row: (i64, String, NaiveDate) = sqlx::query_as(
        "SELECT version, status, due_date FROM core_group_meetings WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| ApiError::not_found("core group meeting", id.to_string()))?;
    if row.0 != version {
        return Err(ApiError::Aborted(format!(
            "core group meeting {id} is at version {}, not {version}: read it again",
            row.0
        )));
    }
    Ok((row.1, row.2))
}

/// Schedules (or reschedules) a DUE or SCHEDULED meeting. A time after
/// the due date is allowed; the meeting stays a drift finding.
///
/// # Errors
/// `ABORTED`; `FAILED_PRECONDITION` once held or missed.
pub async fn schedule(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    version: i64,
    slot: &Slot,
) -> Result<pb::CoreGroupMeeting, ApiError> {
    let (status, _) = current(conn, id, version).await?;
    if !matches!(status.as_str(), "due" | "scheduled") {
        return Err(ApiError::FailedPrecondition(format!(
            "core group meeting {id} is {status}: only a due or scheduled meeting can be scheduled"
        )));
    }
    sqlx::query(
        "UPDATE core_group_meetings SET status = 'scheduled', start_time = $2, end_time = $3, \
           venue = $4, virtual_meeting = $5, version = version + 1, updated_at = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(slot.start)
    .bind(slot.end)
    .bind(slot.venue.as_ref().map(Message::encode_to_vec))
    .bind(slot.virtual_meeting.as_ref().map(Message::encode_to_vec))
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    let meeting = load(conn, id).await?;
    let event = pb::CoreGroupMeetingScheduled {
        meeting: Some(meeting.clone()),
    };
    emit(
        conn,
        "cpc.scheduling.v1.CoreGroupMeetingScheduled",
        &meeting,
        &event,
        ctx.now,
    )
    .await?;
    Ok(meeting)
}

/// How a meeting ended.
pub enum Ending {
    Held {
        on: NaiveDate,
        attendees: Vec<common::PersonRef>,
    },
    Missed {
        reason: String,
    },
}

/// Records that a meeting was held or missed, and makes the next one due:
/// the authority's interval after the day it was held, or after the due
/// date it missed.
///
/// # Errors
/// `ABORTED`; `FAILED_PRECONDITION` once held or missed.
pub async fn end(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    version: i64,
    ending: &Ending,
) -> Result<(pb::CoreGroupMeeting, pb::CoreGroupMeeting), ApiError> {
    let (status, due_date) = current(conn, id, version).await?;
    if !matches!(status.as_str(), "due" | "scheduled") {
        return Err(ApiError::FailedPrecondition(format!(
            "core group meeting {id} is already {status}"
        )));
    }
    let counted_from = match ending {
        Ending::Held { on, attendees } => {
            let encoded: Vec<Vec<u8>> = attendees.iter().map(Message::encode_to_vec).collect();
            sqlx::query(
                "UPDATE core_group_meetings SET status = 'held', held_date = $2, attendees = $3, \
                   version = version + 1, updated_at = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(on)
            .bind(encoded)
            .bind(ctx.now)
            .execute(&mut *conn)
            .await?;
            *on
        }
        Ending::Missed { reason } => {
            sqlx::query(
                "UPDATE core_group_meetings SET status = 'missed', missed_reason = $2, \
                   version = version + 1, updated_at = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(reason)
            .bind(ctx.now)
            .execute(&mut *conn)
            .await?;
            due_date
        }
    };
    let meeting = load(conn, id).await?;
    match ending {
        Ending::Held { .. } => {
            let event = pb::CoreGroupMeetingHeld {
                meeting: Some(meeting.clone()),
            };
            emit(
                conn,
                "cpc.scheduling.v1.CoreGroupMeetingHeld",
                &meeting,
                &event,
                ctx.now,
            )
            .await?;
        }
        Ending::Missed { .. } => {
            let event = pb::CoreGroupMissed {
                meeting: Some(meeting.clone()),
            };
            emit(
                conn,
                "cpc.scheduling.v1.CoreGroupMissed",
                &meeting,
                &event,
                ctx.now,
            )
            .await?;
        }
    }
    let next = next_meeting(conn, ctx, &meeting, counted_from).await?;
    Ok((meeting, next))
}

async fn next_meeting(
    conn: &mut PgConnection,
    ctx: &Ctx,
    previous: &pb::CoreGroupMeeting,
    counted_from: NaiveDate,
) -> Result<pb::CoreGroupMeeting, ApiError> {
    let deadline = ctx
        .timescales
        .next_core_group_due(counted_from)
        .map_err(ApiError::internal)?;
    let weeks = ctx.timescales.profile().core_group_interval_weeks;
    let basis = Basis {
        event: DueEvent::CoreGroupMeeting,
        event_date: counted_from,
        source_id: previous.id.clone(),
        amount: weeks,
        unit: Unit::Weeks,
        nation: ctx.timescales.profile().nation,
        explanation: format!(
            "{weeks} weeks after the core group meeting of {counted_from} (the last working day on or before {})",
            deadline.due
        ),
    };
    let ids = |ids: &[String]| -> Vec<Uuid> {
        ids.iter().filter_map(|i| Uuid::parse_str(i).ok()).collect()
    };
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO core_group_meetings (id, authority_id, case_id, child_ids, plan_ids, \
           sequence_number, status, due_date, basis, previous_meeting_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'due', $7, $8, $9, $10, $10)",
    )
    .bind(id)
    .bind(&ctx.authority)
    .bind(Uuid::parse_str(&previous.case_id).map_err(ApiError::internal)?)
    .bind(ids(&previous.child_ids))
    .bind(ids(&previous.plan_ids))
    .bind(previous.sequence_number + 1)
    .bind(deadline.latest_working_day)
    .bind(Json(&basis))
    .bind(Uuid::parse_str(&previous.id).map_err(ApiError::internal)?)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    announce_due(conn, id, ctx.now).await
}
