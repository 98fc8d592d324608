//! Reporting's copy of the conferences (from scheduling's feed) and of who
//! the chair excluded from their minutes (from the cases feed's conference
//! outcomes): what deciding who may see a conference's minutes needs.

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use sqlx::PgConnection;
use uuid::Uuid;

/// A conference as reporting keeps it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Conference {
    pub id: Uuid,
    pub case_id: Uuid,
    pub child_ids: Vec<Uuid>,
    /// `due`, `booked`, `held`, `inquorate` or `cancelled`.
    pub status: String,
    pub held_on: Option<NaiveDate>,
    /// Scheduling's version of it.
    pub version: i64,
}

impl Conference {
    /// Minutes are written for a conference that met: held, or inquorate
    /// (the meeting took place, and its minutes record why it could not
    /// decide).
    #[must_use]
    pub fn met(&self) -> bool {
        matches!(self.status.as_str(), "held" | "inquorate")
    }
}

/// Stores `conference` as scheduling last described it; an older copy
/// never overwrites a newer one.
///
/// # Errors
/// Database errors.
pub async fn learn(
    conn: &mut PgConnection,
    authority: &str,
    conference: &Conference,
    sequence: i64,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO conferences (id, authority_id, case_id, child_ids, status, held_on, version, \
                                  source_sequence, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (id) DO UPDATE SET \
           case_id = excluded.case_id, child_ids = excluded.child_ids, status = excluded.status, \
           held_on = excluded.held_on, version = excluded.version, \
           source_sequence = excluded.source_sequence, updated_at = excluded.updated_at \
         WHERE conferences.version < excluded.version",
    )
    .bind(conference.id)
    .bind(authority)
    .bind(conference.case_id)
    .bind(&conference.child_ids)
    .bind(&conference.status)
    .bind(conference.held_on)
    .bind(conference.version)
    .bind(sequence)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Conference `id`, or `NOT_FOUND` (also for another authority's).
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn load(conn: &mut PgConnection, id: Uuid) -> Result<Conference, ApiError> {
    sqlx::query_as(
        "SELECT id, case_id, child_ids, status, held_on, version FROM conferences WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| ApiError::not_found("conference", id.to_string()))
}

/// The case of a conference that included `child`, or `NOT_FOUND`.
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn case_of_child(conn: &mut PgConnection, child: Uuid) -> Result<Uuid, ApiError> {
    sqlx::query_scalar(
        "SELECT case_id FROM conferences WHERE child_ids @> ARRAY[$1]::uuid[] \
         ORDER BY updated_at DESC LIMIT 1",
    )
    .bind(child)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| ApiError::not_found("child", child.to_string()))
}

/// Replaces what the outcome for `child` at `conference` said about who
/// may not receive the minutes with `people`.
///
/// # Errors
/// Database errors.
pub async fn record_exclusions(
    conn: &mut PgConnection,
    authority: &str,
    outcome: Uuid,
    conference: Uuid,
    child: Uuid,
    people: &[String],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    sqlx::query("DELETE FROM minutes_exclusions WHERE conference_id = $1 AND child_id = $2")
        .bind(conference)
        .bind(child)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO minutes_exclusions (conference_id, child_id, person_id, authority_id, outcome_id, recorded_at) \
         SELECT $1, $2, person, $4, $5, $6 FROM unnest($3::text[]) AS person \
         ON CONFLICT DO NOTHING",
    )
    .bind(conference)
    .bind(child)
    .bind(people)
    .bind(authority)
    .bind(outcome)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The people excluded from receiving `conference`'s minutes, for any of
/// its children, in id order.
///
/// # Errors
/// Database errors.
pub async fn excluded(conn: &mut PgConnection, conference: Uuid) -> Result<Vec<String>, ApiError> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT person_id FROM minutes_exclusions WHERE conference_id = $1 ORDER BY person_id",
    )
    .bind(conference)
    .fetch_all(&mut *conn)
    .await?)
}
