//! Booking, moving and cancelling conferences, and creating one by hand.
//!
//! A booking may fall after the statutory due date (a chair's absence, a
//! family's request): it is allowed, flagged `booked_past_deadline`, and
//! never without the reason, which the request must give. (A booking made
//! in time that the due date later moves before, a sibling joining with an
//! earlier deadline, is flagged too, with no reason: no one gave one, and
//! holding it late asks for it; see `store::needs`.) Every move is kept in
//! `conference_reschedules` with who moved it and why.

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_platform::idempotency::{self, RequestKey};
use cpc_proto::common::v1 as common;
use cpc_proto::scheduling::v1 as pb;
use cpc_rules::civil_time::uk_date;
use prost::Message;
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::Ctx;
use super::conferences;
use crate::due::{Basis, DueEvent, Unit};

/// A checked time and place.
#[derive(Clone)]
pub struct Slot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub venue: Option<pb::Venue>,
    pub virtual_meeting: Option<pb::VirtualMeeting>,
    /// Why the start date is after the statutory due date, if it is.
    pub past_deadline_reason: Option<String>,
}

cpc_platform::redacted_debug!(Slot);

/// A checked move.
#[derive(Clone)]
pub struct Move {
    pub slot: Slot,
    /// `RescheduleReason` as stored.
    pub reason: &'static str,
    pub reason_detail: Option<String>,
}

cpc_platform::redacted_debug!(Move);

/// A checked conference created by hand (a MANUAL due date).
#[derive(Debug, Clone)]
pub struct NewConference {
    pub key: RequestKey,
    pub kind: &'static str,
    pub case_id: Uuid,
    pub child_ids: Vec<Uuid>,
    pub due: NaiveDate,
    pub explanation: String,
    pub previous_conference_id: Option<Uuid>,
}

/// The method name request ids are kept under.
pub const CREATE_CONFERENCE: &str = "CreateConference";

#[derive(sqlx::FromRow)]
pub(crate) struct Current {
    pub kind: String,
    pub status: String,
    pub version: i64,
    pub statutory_due_date: NaiveDate,
    pub start_time: Option<DateTime<Utc>>,
    /// Why it was booked after its statutory due date, when it was.
    pub past_deadline_reason: Option<String>,
}

/// Locks the conference row and checks the version the caller read.
pub(crate) async fn current(
    conn: &mut PgConnection,
    id: Uuid,
    version: i64,
) -> Result<Current, ApiError> {
    let row: Current = sqlx::query_as(
        "SELECT kind, status, version, statutory_due_date, start_time, past_deadline_reason \
         FROM conferences WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| ApiError::not_found("conference", id.to_string()))?;
    if row.version != version {
        return Err(ApiError::Aborted(format!(
            "conference {id} is at version {}, not {version}: read it again",
            row.version
        )));
    }
    Ok(row)
}

/// Whether `slot` starts after `due`, and if so that the reason is given.
fn past_deadline(slot: &Slot, due: NaiveDate) -> Result<bool, ApiError> {
    let start_date = uk_date(slot.start);
    let past = start_date > due;
    if past && slot.past_deadline_reason.is_none() {
        return Err(ApiError::invalid_field(
            "past_deadline_reason",
            format!(
                "is required: the start date {start_date} is after the statutory due date {due}"
            ),
        ));
    }
    Ok(past)
}

/// SQL: the kind of the conference that the reconvened conference `c`
/// reconvenes, the one that met inquorate: the first back along its
/// previous conferences that is not itself reconvened (one created by hand
/// may reconvene another); NULL when it names none. (`UNION` ends the walk
/// should the links ever loop.)
pub(crate) const RECONVENES: &str = "(WITH RECURSIVE back (kind, previous) AS ( \
       SELECT p.kind, p.previous_conference_id FROM conferences p \
        WHERE p.id = c.previous_conference_id \
       UNION \
       SELECT p.kind, p.previous_conference_id FROM conferences p JOIN back b ON p.id = b.previous \
        WHERE b.kind = 'reconvened') \
     SELECT kind FROM back WHERE kind <> 'reconvened' LIMIT 1)";

/// When agency reports are due for conference `id` of `kind` starting at
/// `start` (the authority's working days before it). A reconvened
/// conference is the one that met inquorate meeting again: the setting of
/// that one's kind applies (a reconvened review's reports are due as a
/// review's, which some authorities set earlier than an initial
/// conference's: 5 working days against 3 in Leeds). One reconvening no
/// known conference takes the earlier of the two deadlines.
async fn reports_due(
    conn: &mut PgConnection,
    ctx: &Ctx,
    (id, kind): (Uuid, &str),
    start: DateTime<Utc>,
) -> Result<NaiveDate, ApiError> {
    use cpc_rules::timescales::ConferenceKind as Kind;
    let kind_of = |kind: &str| match kind {
        "review" | "post_birth_review" => Some(Kind::Review),
        "pre_birth" => Some(Kind::PreBirth),
        "transfer_in" => Some(Kind::TransferIn),
        "initial" => Some(Kind::Initial),
        _ => None,
    };
    let kind = match kind_of(kind) {
        Some(kind) => Some(kind),
        None => {
            let reconvenes: Option<String> = sqlx::query_scalar(&format!(
                "SELECT {RECONVENES} FROM conferences c WHERE c.id = $1"
            ))
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
            reconvenes.as_deref().and_then(kind_of)
        }
    };
    let due = |kind| {
        ctx.timescales
            .reports_due(uk_date(start), kind)
            .map_err(|err| ApiError::invalid_field("start_time", err.to_string()))
    };
    match kind {
        Some(kind) => due(kind),
        None => Ok(due(Kind::Initial)?.min(due(Kind::Review)?)),
    }
}

fn encoded<M: Message>(message: Option<&M>) -> Option<Vec<u8>> {
    message.map(Message::encode_to_vec)
}

/// Books a DUE conference.
///
/// # Errors
/// `NOT_FOUND`, `ABORTED` (stale version), `FAILED_PRECONDITION` (not
/// due), `INVALID_ARGUMENT` (past the deadline without a reason).
pub async fn book(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    version: i64,
    slot: &Slot,
) -> Result<pb::Conference, ApiError> {
    let now = current(conn, id, version).await?;
    if now.status != "due" {
        return Err(ApiError::FailedPrecondition(format!(
            "conference {id} is {}: only a due conference can be booked (move a booked one)",
            now.status
        )));
    }
    let past = past_deadline(slot, now.statutory_due_date)?;
    let reports = reports_due(conn, ctx, (id, &now.kind), slot.start).await?;
    sqlx::query(
        "UPDATE conferences SET status = 'booked', start_time = $2, end_time = $3, venue = $4, \
           virtual_meeting = $5, booked_past_deadline = $6, past_deadline_reason = $7, \
           version = version + 1, updated_at = $8, reports_due_date = $9 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(slot.start)
    .bind(slot.end)
    .bind(encoded(slot.venue.as_ref()))
    .bind(encoded(slot.virtual_meeting.as_ref()))
    .bind(past)
    .bind(past.then(|| slot.past_deadline_reason.clone()).flatten())
    .bind(ctx.now)
    .bind(reports)
    .execute(&mut *conn)
    .await?;
    let conference = conferences::changed(
        conn,
        id,
        "cpc.scheduling.v1.ConferenceBooked",
        ctx.now,
        |conference| pb::ConferenceBooked {
            conference: Some(conference.clone()),
        },
    )
    .await?;
    Ok(conference)
}

/// Moves a BOOKED conference, keeping the move in its history.
///
/// # Errors
/// As [`book`]; `FAILED_PRECONDITION` unless booked.
pub async fn move_booking(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    version: i64,
    change: &Move,
) -> Result<pb::Conference, ApiError> {
    // Whether the allocated chair can take the new time is counted against
    // every chair's bookings (`release_if_unavailable`): the chairs are
    // locked first, as an allocation locks them, so a move and an
    // allocation to the same time count one after the other and cannot
    // both keep the chair.
    super::chairs::lock_all(conn).await?;
    let now = current(conn, id, version).await?;
    let (Some(previous_start), "booked") = (now.start_time, now.status.as_str()) else {
        return Err(ApiError::FailedPrecondition(format!(
            "conference {id} is {}: only a booked conference can be moved",
            now.status
        )));
    };
    let slot = &change.slot;
    let past = past_deadline(slot, now.statutory_due_date)?;
    let reports = reports_due(conn, ctx, (id, &now.kind), slot.start).await?;
    sqlx::query(
        "INSERT INTO conference_reschedules \
           (conference_id, authority_id, seq, previous_start_time, new_start_time, reason, \
            reason_detail, past_deadline, changed_by, changed_at) \
         SELECT $1, $2, coalesce(max(seq), 0) + 1, $3, $4, $5, $6, $7, $8, $9 \
           FROM conference_reschedules WHERE conference_id = $1",
    )
    .bind(id)
    .bind(&ctx.authority)
    .bind(previous_start)
    .bind(slot.start)
    .bind(change.reason)
    .bind(&change.reason_detail)
    .bind(past)
    .bind(ctx.actor.encode_to_vec())
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    // Unset venue or meeting details keep the current ones.
    sqlx::query(
        "UPDATE conferences SET start_time = $2, end_time = $3, \
           venue = coalesce($4, venue), virtual_meeting = coalesce($5, virtual_meeting), \
           booked_past_deadline = $6, past_deadline_reason = $7, \
           version = version + 1, updated_at = $8, reports_due_date = $9 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(slot.start)
    .bind(slot.end)
    .bind(encoded(slot.venue.as_ref()))
    .bind(encoded(slot.virtual_meeting.as_ref()))
    .bind(past)
    .bind(past.then(|| slot.past_deadline_reason.clone()).flatten())
    .bind(ctx.now)
    .bind(reports)
    .execute(&mut *conn)
    .await?;
    super::chairs::release_if_unavailable(conn, ctx, id).await?;
    let conference = conferences::changed(
        conn,
        id,
        "cpc.scheduling.v1.ConferenceMoved",
        ctx.now,
        |conference| pb::ConferenceMoved {
            reschedule: conference.reschedules.last().cloned(),
            conference: Some(conference.clone()),
        },
    )
    .await?;
    Ok(conference)
}

/// Cancels a DUE or BOOKED conference.
///
/// # Errors
/// `NOT_FOUND`, `ABORTED`, `FAILED_PRECONDITION` (held, inquorate or
/// already cancelled).
pub async fn cancel(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    version: i64,
    reason: &str,
) -> Result<pb::Conference, ApiError> {
    let now = current(conn, id, version).await?;
    if !matches!(now.status.as_str(), "due" | "booked") {
        return Err(ApiError::FailedPrecondition(format!(
            "conference {id} is {}: only a due or booked conference can be cancelled",
            now.status
        )));
    }
    sqlx::query(
        "UPDATE conferences SET status = 'cancelled', cancellation_reason = $2, \
           version = version + 1, updated_at = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(reason)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    let conference = conferences::changed(
        conn,
        id,
        "cpc.scheduling.v1.ConferenceCancelled",
        ctx.now,
        |conference| pb::ConferenceCancelled {
            conference: Some(conference.clone()),
        },
    )
    .await?;
    Ok(conference)
}

/// Creates a DUE conference with a date set by hand; a retry with the
/// same request id returns the first response.
///
/// # Errors
/// `FAILED_PRECONDITION` for a child scheduling does not know in that case
/// (the cases feed has not said so), a previous conference of another
/// case, or a request id used for a different request.
pub async fn create(
    conn: &mut PgConnection,
    ctx: &Ctx,
    new: &NewConference,
) -> Result<pb::CreateConferenceResponse, ApiError> {
    if let Some(response) = idempotency::replay(conn, ctx, &new.key).await? {
        return Ok(response);
    }
    let known: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM child_cases WHERE case_id = $1 AND child_id = ANY ($2)",
    )
    .bind(new.case_id)
    .bind(&new.child_ids)
    .fetch_one(&mut *conn)
    .await?;
    if usize::try_from(known).ok() != Some(new.child_ids.len()) {
        return Err(ApiError::FailedPrecondition(
            "every child must be a child of the case as the cases record says".to_owned(),
        ));
    }
    if let Some(previous) = new.previous_conference_id {
        let case: Option<Uuid> =
            sqlx::query_scalar("SELECT case_id FROM conferences WHERE id = $1")
                .bind(previous)
                .fetch_optional(&mut *conn)
                .await?;
        if case != Some(new.case_id) {
            return Err(ApiError::FailedPrecondition(
                "previous_conference_id must be a conference of the same case".to_owned(),
            ));
        }
    }
    let basis = Basis {
        event: DueEvent::Manual,
        event_date: ctx.today,
        source_id: String::new(),
        amount: 0,
        unit: Unit::WorkingDays,
        nation: ctx.timescales.profile().nation,
        explanation: new.explanation.clone(),
    };
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO conferences (id, authority_id, kind, case_id, status, statutory_due_date, basis, \
           previous_conference_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'due', $5, $6, $7, $8, $8)",
    )
    .bind(id)
    .bind(&ctx.authority)
    .bind(new.kind)
    .bind(new.case_id)
    .bind(new.due)
    .bind(Json(&basis))
    .bind(new.previous_conference_id)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    for child in &new.child_ids {
        sqlx::query(
            "INSERT INTO conference_children (conference_id, child_id, authority_id, due_date, basis) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(child)
        .bind(&ctx.authority)
        .bind(new.due)
        .bind(Json(&basis))
        .execute(&mut *conn)
        .await?;
    }
    let conference = conferences::changed(
        conn,
        id,
        "cpc.scheduling.v1.ConferenceDue",
        ctx.now,
        |conference| pb::ConferenceDue {
            conference: Some(conference.clone()),
        },
    )
    .await?;
    let response = pb::CreateConferenceResponse {
        conference: Some(conference),
    };
    idempotency::remember(conn, ctx, &new.key, &response).await?;
    Ok(response)
}

/// The conference kind's stored code; `None` for UNSPECIFIED or unknown.
#[must_use]
pub fn kind_code(kind: i32) -> Option<&'static str> {
    Some(match common::ConferenceKind::try_from(kind).ok()? {
        common::ConferenceKind::Initial => "initial",
        common::ConferenceKind::Review => "review",
        common::ConferenceKind::TransferIn => "transfer_in",
        common::ConferenceKind::PreBirth => "pre_birth",
        common::ConferenceKind::Reconvened => "reconvened",
        common::ConferenceKind::PostBirthReview => "post_birth_review",
        common::ConferenceKind::Unspecified => return None,
    })
}
