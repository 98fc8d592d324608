//! The meetings an iCalendar export holds: a chair's or a case's booked
//! conferences (and the case's scheduled core group meetings) in a period,
//! cancelled ones included so calendars remove them.

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_proto::scheduling::v1 as pb;
use prost::Message;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::ical::Meeting;

/// Whose meetings.
#[derive(Debug, Clone, Copy)]
pub enum Owner {
    Chair(Uuid),
    Case(Uuid),
}

type Row = (
    Uuid,
    String,
    Uuid,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    i64,
    DateTime<Utc>,
);

/// The meetings of `owner` starting on `first..=last` (UK dates; the
/// bounds are widened by a day and the dates checked by the caller's
/// calendar, which is in UTC either way).
///
/// A case's meetings are those about a child on the case now (the cases
/// feed's [`super::conferences::CHILD_CASES`], a child not learnt being on
/// the meeting's own case), as the case's lists have them: a meeting keeps
/// the case it was made in when a child moves, and the old case's calendar
/// would otherwise show its members a meeting only about the moved child.
/// A meeting about no child is in its own case's.
///
/// # Errors
/// Database errors.
pub async fn meetings(
    conn: &mut PgConnection,
    owner: Owner,
    first: NaiveDate,
    last: NaiveDate,
    include_core_groups: bool,
) -> Result<Vec<Meeting>, ApiError> {
    let (chair, case) = match owner {
        Owner::Chair(id) => (Some(id), None),
        Owner::Case(id) => (None, Some(id)),
    };
    // A case's meetings are narrowed first by what the indexes find (the
    // meeting's own case, or one of a child now on the case), then kept
    // when a child of theirs is on the case now.
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT c.id, c.kind, c.case_id, c.status, c.start_time, c.end_time, c.venue, \
                c.virtual_meeting, \
                (SELECT count(*) FROM conference_reschedules r WHERE r.conference_id = c.id), \
                c.updated_at \
           FROM conferences c \
          WHERE c.start_time IS NOT NULL AND c.status IN ('booked', 'held', 'inquorate', 'cancelled') \
            AND ($1::uuid IS NULL OR c.chair_id = $1) \
            AND ($2::uuid IS NULL OR {conference_on_case}) \
            AND c.start_time >= ($3::date - 1)::timestamptz AND c.start_time < ($4::date + 2)::timestamptz \
         UNION ALL \
         SELECT m.id, 'core_group', m.case_id, m.status, m.start_time, m.end_time, m.venue, \
                m.virtual_meeting, 0, m.updated_at \
           FROM core_group_meetings m \
          WHERE $5 AND $2::uuid IS NOT NULL AND m.start_time IS NOT NULL \
            AND {meeting_on_case} \
            AND m.start_time >= ($3::date - 1)::timestamptz AND m.start_time < ($4::date + 2)::timestamptz \
         ORDER BY 5, 1",
        conference_on_case = super::conferences::CHILD_CASES.record_on_case(
            super::conferences::CONFERENCE_CHILDREN,
            "c",
            "$2"
        ),
        meeting_on_case = super::conferences::CHILD_CASES.record_on_case(
            super::core_groups::MEETING_CHILDREN,
            "m",
            "$2"
        ),
    ))
    .bind(chair)
    .bind(case)
    .bind(first)
    .bind(last)
    .bind(include_core_groups)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|row| {
            let day = cpc_rules::civil_time::uk_date(row.4);
            first <= day && day <= last
        })
        .map(
            |(id, kind, case_id, status, start, end, venue, meeting, moves, updated)| {
                let venue: Option<pb::Venue> =
                    venue.and_then(|v| Message::decode(v.as_slice()).ok());
                let meeting: Option<pb::VirtualMeeting> =
                    meeting.and_then(|v| Message::decode(v.as_slice()).ok());
                Meeting {
                    id: id.to_string(),
                    title: title(&kind).to_owned(),
                    case_reference: case_id.to_string(),
                    start,
                    end,
                    location: venue.map(|v| {
                        if v.room.is_empty() {
                            v.name
                        } else {
                            format!("{}, {}", v.name, v.room)
                        }
                    }),
                    join_url: meeting.map(|m| m.join_url).filter(|u| !u.is_empty()),
                    moves: u32::try_from(moves).unwrap_or(u32::MAX),
                    cancelled: status == "cancelled",
                    updated,
                }
            },
        )
        .collect())
}

/// What a meeting is called in a calendar: its kind, never a name.
fn title(kind: &str) -> &'static str {
    match kind {
        "initial" => "Initial child protection conference",
        "review" => "Review child protection conference",
        "transfer_in" => "Transfer-in child protection conference",
        "pre_birth" => "Pre-birth child protection conference",
        "reconvened" => "Reconvened child protection conference",
        "post_birth_review" => "Post-birth review conference",
        "core_group" => "Core group meeting",
        _ => "Child protection meeting",
    }
}

/// The children of case `id` that the cases feed has told scheduling of,
/// in id order: a record of the whole case is about each of them.
///
/// # Errors
/// Database errors.
pub async fn children_of_case(conn: &mut PgConnection, id: Uuid) -> Result<Vec<Uuid>, ApiError> {
    Ok(
        sqlx::query_scalar("SELECT child_id FROM child_cases WHERE case_id = $1 ORDER BY child_id")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?,
    )
}

/// Whether scheduling knows case `id` (the caller's authority only).
///
/// # Errors
/// Database errors.
pub async fn knows_case(conn: &mut PgConnection, id: Uuid) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM child_cases WHERE case_id = $1) \
             OR EXISTS (SELECT 1 FROM conferences WHERE case_id = $1)",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?)
}
