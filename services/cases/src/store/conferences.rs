//! The conferences scheduling recorded as held (`held_conferences`): what
//! an outcome is recorded against.

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use crate::codes::ConferenceKind;
use crate::domain::outcome::HeldConference;
use crate::domain::{AuthorityId, PersonRef};

#[derive(sqlx::FromRow)]
struct HeldRow {
    id: Uuid,
    conference_kind: ConferenceKind,
    held_on: NaiveDate,
    chair: Json<PersonRef>,
    child_ids: Vec<Uuid>,
}

/// The held conference `id`.
///
/// # Errors
/// `FAILED_PRECONDITION` when scheduling has not (yet) reported it held:
/// an outcome cannot be recorded before the conference took place.
pub async fn held_conference(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<HeldConference, ApiError> {
    let row: Option<HeldRow> = sqlx::query_as(
        "SELECT id, conference_kind, held_on, chair, child_ids FROM held_conferences WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let row = row.ok_or_else(|| {
        ApiError::FailedPrecondition(format!(
            "conference {id} is not recorded as held: its outcome can be recorded once scheduling reports it held"
        ))
    })?;
    Ok(HeldConference {
        id: row.id,
        kind: row.conference_kind,
        date: row.held_on,
        chair: row.chair.0,
        child_ids: row.child_ids,
    })
}

/// Records that scheduling held `conference` (from its change feed event
/// at `source_sequence`). A conference already recorded is left as it was:
/// the feed delivers at least once.
///
/// # Errors
/// Database errors.
pub async fn record_held_conference(
    conn: &mut PgConnection,
    authority: &AuthorityId,
    conference: &HeldConference,
    source_sequence: i64,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let inserted = sqlx::query(
        "INSERT INTO held_conferences (id, authority_id, conference_kind, held_on, chair, child_ids, \
                                       source_sequence, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
    )
    .bind(conference.id)
    .bind(authority.as_str())
    .bind(conference.kind)
    .bind(conference.date)
    .bind(Json(&conference.chair))
    .bind(&conference.child_ids)
    .bind(source_sequence)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}
