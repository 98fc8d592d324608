//! Reporting's copy of the conferences and their invitees (from
//! scheduling's feed) and of whom the chair excluded from their minutes or
//! from attending (from the cases feed's conference outcomes): what
//! deciding who may see a conference's minutes and reports needs.

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_platform::case_members::ChildCaseTable;
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
    /// The date agency reports are due (set once booked).
    pub reports_due_on: Option<NaiveDate>,
    /// The allocated chair's person id.
    pub chair_id: Option<String>,
    /// `initial`, `review`, `transfer_in`, `pre_birth` or `reconvened`.
    pub kind: Option<String>,
    /// The latest date it may be held under its statutory rule.
    pub statutory_due_on: Option<NaiveDate>,
    /// The date of the event its clock counts from.
    pub clock_started_on: Option<NaiveDate>,
    /// The conference this one follows (for a reconvened conference, the
    /// inquorate one it replaces).
    pub previous_conference_id: Option<Uuid>,
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

/// Stores `conference` as scheduling last described it, with the people
/// the chair `excluded` from attending it at all before it met; an older
/// copy never overwrites a newer one.
///
/// # Errors
/// Database errors.
pub async fn learn(
    conn: &mut PgConnection,
    authority: &str,
    conference: &Conference,
    excluded: &[String],
    sequence: i64,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let stored = sqlx::query(
        "INSERT INTO conferences (id, authority_id, case_id, child_ids, status, held_on, version, \
                                  source_sequence, updated_at, reports_due_on, chair_id, kind, \
                                  statutory_due_on, clock_started_on, previous_conference_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (id) DO UPDATE SET \
           case_id = excluded.case_id, child_ids = excluded.child_ids, status = excluded.status, \
           held_on = excluded.held_on, version = excluded.version, \
           reports_due_on = excluded.reports_due_on, chair_id = excluded.chair_id, \
           kind = excluded.kind, statutory_due_on = excluded.statutory_due_on, \
           clock_started_on = excluded.clock_started_on, \
           previous_conference_id = excluded.previous_conference_id, \
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
    .bind(conference.reports_due_on)
    .bind(&conference.chair_id)
    .bind(&conference.kind)
    .bind(conference.statutory_due_on)
    .bind(conference.clock_started_on)
    .bind(conference.previous_conference_id)
    .execute(&mut *conn)
    .await?;
    if stored.rows_affected() == 0 {
        // An older copy than the one kept: its exclusions are older too.
        return Ok(());
    }
    sqlx::query("DELETE FROM scheduled_exclusions WHERE conference_id = $1")
        .bind(conference.id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO scheduled_exclusions (conference_id, person_id, authority_id, recorded_at) \
         SELECT $1, person, $3, $4 FROM unnest($2::text[]) AS person ON CONFLICT DO NOTHING",
    )
    .bind(conference.id)
    .bind(excluded)
    .bind(authority)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records that `person` was invited to `conference`.
///
/// # Errors
/// Database errors.
pub async fn invited(
    conn: &mut PgConnection,
    authority: &str,
    conference: Uuid,
    person: &str,
    invitation: Uuid,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO conference_invitees (conference_id, person_id, authority_id, invitation_id, recorded_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(conference)
    .bind(person)
    .bind(authority)
    .bind(invitation)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Of `people`, those invited to `conference`.
///
/// # Errors
/// Database errors.
pub async fn invitees_among(
    conn: &mut PgConnection,
    conference: Uuid,
    people: &[String],
) -> Result<Vec<String>, ApiError> {
    Ok(sqlx::query_scalar(
        "SELECT person_id FROM conference_invitees WHERE conference_id = $1 AND person_id = ANY ($2)",
    )
    .bind(conference)
    .bind(people)
    .fetch_all(&mut *conn)
    .await?)
}

/// Conference `id`, or `NOT_FOUND` (also for another authority's).
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn load(conn: &mut PgConnection, id: Uuid) -> Result<Conference, ApiError> {
    sqlx::query_as(
        "SELECT id, case_id, child_ids, status, held_on, reports_due_on, chair_id, kind, \
                statutory_due_on, clock_started_on, previous_conference_id, version \
           FROM conferences WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| ApiError::not_found("conference", id.to_string()))
}

/// Records the case `child_id` is on, as the cases feed last described
/// the child (`ChildRegistered`, `ChildUpdated`, ...): a conference keeps
/// the case it was held in, and a child moved to another case takes the
/// readers of its minutes and reports with it ([`CHILD_CASES`]). An
/// older copy never overwrites a newer one.
///
/// # Errors
/// Database errors.
pub async fn learn_child_case(
    conn: &mut PgConnection,
    authority: &str,
    child_id: Uuid,
    case_id: Uuid,
    version: i64,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO child_cases (child_id, authority_id, case_id, version, updated_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (child_id) DO UPDATE SET case_id = excluded.case_id, \
           version = excluded.version, updated_at = excluded.updated_at \
         WHERE child_cases.version < excluded.version",
    )
    .bind(child_id)
    .bind(authority)
    .bind(case_id)
    .bind(version.max(1))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Where reporting keeps the case each child is on now
/// ([`learn_child_case`]): the members of that case read the minutes and
/// reports of the child's conferences.
pub const CHILD_CASES: ChildCaseTable = ChildCaseTable("child_cases");

/// The case `child` is on now (as the cases feed said; else the case of
/// the latest conference that included them), when a conference included
/// them; otherwise `NOT_FOUND`.
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn case_of_child(conn: &mut PgConnection, child: Uuid) -> Result<Uuid, ApiError> {
    sqlx::query_scalar(
        "SELECT coalesce((SELECT case_id FROM child_cases WHERE child_id = $1), case_id) \
           FROM conferences WHERE child_ids @> ARRAY[$1]::uuid[] \
         ORDER BY updated_at DESC LIMIT 1",
    )
    .bind(child)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| ApiError::not_found("child", child.to_string()))
}

/// The ids of every record a call to reporting may name that is about
/// `child`: its case, the conferences that included it, their minutes and
/// the agency reports about it. Read in the caller's authority only.
///
/// # Errors
/// Database errors.
pub async fn child_records(conn: &mut PgConnection, child: Uuid) -> Result<Vec<Uuid>, ApiError> {
    let ids = sqlx::query_scalar(
        "WITH held AS (SELECT id, case_id FROM conferences WHERE child_ids @> ARRAY[$1]::uuid[]) \
         SELECT DISTINCT case_id FROM held \
         UNION ALL SELECT id FROM held \
         UNION ALL SELECT m.id FROM minutes m JOIN held ON held.id = m.conference_id \
         UNION ALL SELECT id FROM agency_reports WHERE child_ids @> ARRAY[$1]::uuid[]",
    )
    .bind(child)
    .fetch_all(&mut *conn)
    .await?;
    Ok(ids)
}

/// What an exclusion keeps a person from; each is kept in its own table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Excluded {
    /// Receiving the minutes.
    FromMinutes,
    /// Attending the conference (and so receiving its reports, unless the
    /// chair shares them).
    FromAttending,
}

impl Excluded {
    fn table(self) -> &'static str {
        match self {
            Self::FromMinutes => "minutes_exclusions",
            Self::FromAttending => "attendance_exclusions",
        }
    }
}

/// Replaces what the outcome for `child` at `conference` said about who is
/// `excluded` with `people`.
///
/// # Errors
/// Database errors.
#[allow(clippy::too_many_arguments)] // one outcome's facts, all needed
pub async fn record_exclusions(
    conn: &mut PgConnection,
    authority: &str,
    outcome: Uuid,
    conference: Uuid,
    child: Uuid,
    excluded: Excluded,
    people: &[String],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let table = excluded.table();
    sqlx::query(&format!(
        "DELETE FROM {table} WHERE conference_id = $1 AND child_id = $2"
    ))
    .bind(conference)
    .bind(child)
    .execute(&mut *conn)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO {table} (conference_id, child_id, person_id, authority_id, outcome_id, recorded_at) \
         SELECT $1, $2, person, $4, $5, $6 FROM unnest($3::text[]) AS person \
         ON CONFLICT DO NOTHING",
    ))
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

/// The people `excluded` from `conference` (its minutes, or attending it),
/// for any of its children, in id order.
///
/// # Errors
/// Database errors.
pub async fn excluded(
    conn: &mut PgConnection,
    conference: Uuid,
    excluded: Excluded,
) -> Result<Vec<String>, ApiError> {
    let sql = match excluded {
        Excluded::FromMinutes => {
            "SELECT DISTINCT person_id FROM minutes_exclusions WHERE conference_id = $1 \
             ORDER BY person_id"
        }
        // In an outcome, or by the chair's decision before the meeting
        // (scheduling's).
        Excluded::FromAttending => {
            "SELECT person_id FROM attendance_exclusions WHERE conference_id = $1 \
             UNION SELECT person_id FROM scheduled_exclusions WHERE conference_id = $1 \
             ORDER BY person_id"
        }
    };
    Ok(sqlx::query_scalar(sql)
        .bind(conference)
        .fetch_all(&mut *conn)
        .await?)
}
