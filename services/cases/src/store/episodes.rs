//! Children in need episodes: `OpenCinEpisode`, `CloseCinEpisode`,
//! `GetCinEpisode`, `ListCinEpisodes`.

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_proto::cases::v1 as pb;
use cpc_rules::census::{ClosureReason, PrimaryNeed};
use sqlx::PgConnection;
use uuid::Uuid;

use super::children::child_row;
use super::{Ctx, Written, db, lock_version};
use crate::codes;
use crate::convert::{date_to_proto, opt_date_to_proto, timestamp_to_proto};
use crate::domain::journey::{CinClosure, CinEpisodeFilter, NewCinEpisode};
use crate::events::{Subject, emit};
use crate::idempotency;

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EpisodeRow {
    pub id: Uuid,
    pub child_id: Uuid,
    pub referral_date: NaiveDate,
    pub referral_source: String,
    pub primary_need: Option<String>,
    pub referral_nfa: bool,
    pub closure_date: Option<NaiveDate>,
    pub closure_reason: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EpisodeRow {
    fn into_proto(self) -> pb::CinEpisode {
        pb::CinEpisode {
            id: self.id.to_string(),
            version: self.version,
            child_id: self.child_id.to_string(),
            referral_date: Some(date_to_proto(self.referral_date)),
            referral_source_code: self.referral_source,
            primary_need: self
                .primary_need
                .and_then(|code| code.parse::<PrimaryNeed>().ok())
                .map_or(0, |need| codes::primary_need_to_proto(need) as i32),
            referral_nfa: self.referral_nfa,
            status: if self.closure_date.is_some() {
                pb::CinEpisodeStatus::Closed
            } else {
                pb::CinEpisodeStatus::Open
            } as i32,
            closure_date: opt_date_to_proto(self.closure_date),
            closure_reason: self
                .closure_reason
                .and_then(|code| code.parse::<ClosureReason>().ok())
                .map_or(0, |reason| codes::closure_reason_to_proto(reason) as i32),
            create_time: Some(timestamp_to_proto(self.created_at)),
            update_time: Some(timestamp_to_proto(self.updated_at)),
        }
    }
}

/// The child's open episode, if any; with `lock`, share-locked for this
/// transaction.
///
/// A call that writes a plan or an enquiry into the episode takes `lock`,
/// so that `CloseCinEpisode` (which locks the episode for update, then
/// looks for open plans and enquiries in it) either sees that record or
/// has closed the episode first, when this finds none open. It locks the
/// child first, then the episode, then the child's plan: no call locks them
/// the other way round, and `CloseCinEpisode` locks the episode alone.
pub(crate) async fn open_episode(
    conn: &mut PgConnection,
    child_id: Uuid,
    lock: bool,
) -> Result<Option<EpisodeRow>, ApiError> {
    let sql = if lock {
        "SELECT * FROM cin_episodes WHERE child_id = $1 AND closure_date IS NULL FOR SHARE"
    } else {
        "SELECT * FROM cin_episodes WHERE child_id = $1 AND closure_date IS NULL"
    };
    Ok(sqlx::query_as(sql)
        .bind(child_id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// `GetCinEpisode`.
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn get_cin_episode(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<pb::CinEpisode, ApiError> {
    let row: EpisodeRow = sqlx::query_as("SELECT * FROM cin_episodes WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ApiError::not_found("CIN episode", id.to_string()))?;
    Ok(row.into_proto())
}

fn subject(episode: &pb::CinEpisode) -> Subject {
    Subject {
        aggregate_id: Uuid::parse_str(&episode.id).unwrap_or_default(),
        version: episode.version,
        child_ids: Uuid::parse_str(&episode.child_id).into_iter().collect(),
    }
}

/// `OpenCinEpisode`. Emits `CinEpisodeOpened`.
///
/// # Errors
/// `NOT_FOUND` (child), `FAILED_PRECONDITION` when the child already has an
/// open episode, `INVALID_ARGUMENT` for a referral before the child's birth
/// or before the close of the previous episode; database errors.
pub async fn open_cin_episode(
    conn: &mut PgConnection,
    ctx: &Ctx,
    new: &NewCinEpisode,
) -> Result<Written<pb::OpenCinEpisodeResponse>, ApiError> {
    if let Some(response) = idempotency::replay(conn, ctx, &new.key).await? {
        return Ok(Written::replay(response));
    }
    let child = child_row(conn, new.child_id, true).await?;
    // The child's lock keeps a second episode from opening meanwhile.
    if open_episode(conn, new.child_id, false).await?.is_some() {
        return Err(ApiError::FailedPrecondition(
            "the child already has an open CIN episode".to_owned(),
        ));
    }
    if child
        .birth_date
        .is_some_and(|birth| new.referral_date < birth)
    {
        return Err(ApiError::invalid_field(
            "referral_date",
            "must not be before the child's birth_date",
        ));
    }
    let last_closed: Option<NaiveDate> =
        sqlx::query_scalar("SELECT max(closure_date) FROM cin_episodes WHERE child_id = $1")
            .bind(new.child_id)
            .fetch_one(&mut *conn)
            .await?;
    if last_closed.is_some_and(|closed| new.referral_date < closed) {
        return Err(ApiError::invalid_field(
            "referral_date",
            "must not be before the close of the child's previous CIN episode",
        ));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO cin_episodes (id, authority_id, child_id, referral_date, referral_source, primary_need, \
                                   referral_nfa, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(id)
    .bind(ctx.authority.as_str())
    .bind(new.child_id)
    .bind(new.referral_date)
    .bind(new.referral_source.code())
    .bind(new.primary_need.map(|n| n.code()))
    .bind(new.referral_nfa)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let episode = get_cin_episode(conn, id).await?;
    let mut events = Vec::new();
    emit(
        conn,
        ctx,
        &mut events,
        subject(&episode),
        &pb::CinEpisodeOpened {
            cin_episode: Some(episode.clone()),
        },
    )
    .await?;
    let response = pb::OpenCinEpisodeResponse {
        cin_episode: Some(episode),
    };
    idempotency::remember(conn, ctx, &new.key, &response).await?;
    Ok(Written::new(response, events))
}

/// `CloseCinEpisode`. Emits `CinEpisodeClosed`.
///
/// # Errors
/// `NOT_FOUND`, `ABORTED` (stale version), `FAILED_PRECONDITION` when the
/// episode is closed or has an open plan or an enquiry in progress,
/// `INVALID_ARGUMENT` for a closure before the referral or a plan's end;
/// database errors.
pub async fn close_cin_episode(
    conn: &mut PgConnection,
    ctx: &Ctx,
    closure: &CinClosure,
) -> Result<Written<pb::CloseCinEpisodeResponse>, ApiError> {
    lock_version(
        conn,
        "cin_episodes",
        "CIN episode",
        closure.id,
        closure.version,
    )
    .await?;
    let row: EpisodeRow = sqlx::query_as("SELECT * FROM cin_episodes WHERE id = $1")
        .bind(closure.id)
        .fetch_one(&mut *conn)
        .await?;
    if row.closure_date.is_some() {
        return Err(ApiError::FailedPrecondition(
            "the CIN episode is already closed".to_owned(),
        ));
    }
    if closure.closure_date < row.referral_date {
        return Err(ApiError::invalid_field(
            "closure_date",
            "must be on or after the referral date",
        ));
    }
    // The lock above waited for any call writing a plan or an enquiry into
    // the episode (they share-lock it, see `open_episode`), so these counts
    // see what they wrote; one that comes after finds the episode closed.
    let (open_plans, open_enquiries, last_plan_end): (i64, i64, Option<NaiveDate>) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM plans WHERE cin_episode_id = $1 AND end_date IS NULL), \
                (SELECT count(*) FROM section47_enquiries WHERE cin_episode_id = $1 AND completion_date IS NULL), \
                (SELECT max(end_date) FROM plans WHERE cin_episode_id = $1)",
    )
    .bind(closure.id)
    .fetch_one(&mut *conn)
    .await?;
    if open_plans > 0 {
        return Err(ApiError::FailedPrecondition(
            "the child has an open child protection plan in this episode; end it first".to_owned(),
        ));
    }
    if open_enquiries > 0 {
        return Err(ApiError::FailedPrecondition(
            "a section 47 enquiry is in progress in this episode; complete it first".to_owned(),
        ));
    }
    if last_plan_end.is_some_and(|end| closure.closure_date < end) {
        return Err(ApiError::invalid_field(
            "closure_date",
            "must be on or after the end of every plan in the episode",
        ));
    }
    sqlx::query(
        "UPDATE cin_episodes SET closure_date = $3, closure_reason = $4, version = version + 1, updated_at = $5 \
         WHERE id = $1 AND version = $2",
    )
    .bind(closure.id)
    .bind(closure.version)
    .bind(closure.closure_date)
    .bind(closure.closure_reason.code())
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let episode = get_cin_episode(conn, closure.id).await?;
    let mut events = Vec::new();
    emit(
        conn,
        ctx,
        &mut events,
        subject(&episode),
        &pb::CinEpisodeClosed {
            cin_episode: Some(episode.clone()),
        },
    )
    .await?;
    Ok(Written::new(
        pb::CloseCinEpisodeResponse {
            cin_episode: Some(episode),
        },
        events,
    ))
}

/// `ListCinEpisodes`: newest referral first.
///
/// # Errors
/// Database errors.
pub async fn list_cin_episodes(
    conn: &mut PgConnection,
    filter: &CinEpisodeFilter,
) -> Result<pb::ListCinEpisodesResponse, ApiError> {
    let mut rows: Vec<EpisodeRow> = sqlx::query_as(
        "SELECT e.* FROM cin_episodes e \
         WHERE ($1::text IS NULL OR e.authority_id = $1) \
           AND ($2::uuid IS NULL OR e.child_id = $2) \
           AND ($3::bool IS NULL OR (e.closure_date IS NULL) = $3) \
           AND ($4::date IS NULL OR e.referral_date >= $4) \
           AND ($5::date IS NULL OR e.referral_date <= $5) \
           AND ($6::uuid IS NULL OR (e.referral_date, e.id) < \
                (SELECT referral_date, id FROM cin_episodes a WHERE a.id = $6 \
                    AND ($2::uuid IS NULL OR a.child_id = $2))) \
         ORDER BY e.referral_date DESC, e.id DESC LIMIT $7",
    )
    .bind(filter.authority_id.as_ref().map(|a| a.as_str().to_owned()))
    .bind(filter.child_id)
    .bind(filter.open)
    .bind(filter.referral_dates.start)
    .bind(filter.referral_dates.end)
    .bind(filter.page.after)
    .bind(filter.page.fetch_limit())
    .fetch_all(&mut *conn)
    .await?;
    let next_page_token = filter.page.finish(&mut rows, |r| r.id);
    Ok(pb::ListCinEpisodesResponse {
        cin_episodes: rows.into_iter().map(EpisodeRow::into_proto).collect(),
        next_page_token,
    })
}
