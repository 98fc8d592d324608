//! Strategy discussions: `RecordStrategyDiscussion`,
//! `GetStrategyDiscussion`, `ListStrategyDiscussions`.

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_proto::cases::v1 as pb;
use sqlx::PgConnection;
use uuid::Uuid;

use super::cases::lock_case;
use super::{Ctx, Written, db};
use crate::codes::StrategyOutcome;
use crate::convert::{date_to_proto, timestamp_to_proto};
use crate::domain::PersonRef;
use crate::domain::check::{Check, redacted_debug};
use crate::domain::journey::{NewStrategyDiscussion, StrategyDiscussionFilter};
use crate::domain::person::PersonColumns;
use crate::events::{Subject, emit};
use crate::idempotency;

#[derive(sqlx::FromRow)]
pub(crate) struct DiscussionRow {
    pub id: Uuid,
    pub case_id: Uuid,
    pub discussion_date: NaiveDate,
    pub outcome: StrategyOutcome,
    pub rationale: Option<String>,
    pub recorded_by: serde_json::Value,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

redacted_debug!(DiscussionRow);

/// The stored discussion row.
pub(crate) async fn discussion_row(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<DiscussionRow, ApiError> {
    sqlx::query_as("SELECT * FROM strategy_discussions WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ApiError::not_found("strategy discussion", id.to_string()))
}

async fn load(
    conn: &mut PgConnection,
    row: DiscussionRow,
) -> Result<pb::StrategyDiscussion, ApiError> {
    let child_ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT child_id FROM strategy_discussion_children WHERE strategy_discussion_id = $1 ORDER BY child_id",
    )
    .bind(row.id)
    .fetch_all(&mut *conn)
    .await?;
    let attendees: Vec<PersonColumns> = sqlx::query_as(
        "SELECT person_id, display_name, agency_kind, agency_name FROM strategy_discussion_attendees \
         WHERE strategy_discussion_id = $1 ORDER BY ordinal",
    )
    .bind(row.id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(pb::StrategyDiscussion {
        id: row.id.to_string(),
        version: row.version,
        case_id: row.case_id.to_string(),
        child_ids: child_ids.iter().map(Uuid::to_string).collect(),
        discussion_date: Some(date_to_proto(row.discussion_date)),
        attendees: attendees
            .into_iter()
            .map(|a| PersonRef::from(a).to_proto())
            .collect(),
        outcome: row.outcome.to_i32(),
        rationale: row.rationale.unwrap_or_default(),
        recorded_by: serde_json::from_value::<PersonRef>(row.recorded_by)
            .ok()
            .map(|p| p.to_proto()),
        create_time: Some(timestamp_to_proto(row.created_at)),
        update_time: Some(timestamp_to_proto(row.updated_at)),
    })
}

/// `GetStrategyDiscussion`.
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn get_strategy_discussion(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<pb::StrategyDiscussion, ApiError> {
    let row = discussion_row(conn, id).await?;
    load(conn, row).await
}

/// `RecordStrategyDiscussion`. Emits `StrategyDiscussionRecorded`.
///
/// # Errors
/// `NOT_FOUND` (case), `INVALID_ARGUMENT` for a child outside the case or a
/// discussion before a child's referral, `FAILED_PRECONDITION` for a child
/// without an open CIN episode or a reused request id; database errors.
pub async fn record_strategy_discussion(
    conn: &mut PgConnection,
    ctx: &Ctx,
    new: &NewStrategyDiscussion,
) -> Result<Written<pb::RecordStrategyDiscussionResponse>, ApiError> {
    if let Some(response) = idempotency::replay(conn, ctx, &new.key).await? {
        return Ok(Written::replay(response));
    }
    lock_case(conn, new.case_id).await?;
    // For each child: in the case? its open episode's referral date.
    let found: Vec<(Uuid, Option<NaiveDate>)> = sqlx::query_as(
        "SELECT ch.id, e.referral_date FROM children ch \
         LEFT JOIN cin_episodes e ON e.child_id = ch.id AND e.closure_date IS NULL \
         WHERE ch.case_id = $1 AND ch.id = ANY ($2)",
    )
    .bind(new.case_id)
    .bind(&new.child_ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut check = Check::new();
    let mut without_episode = Vec::new();
    for (i, id) in new.child_ids.iter().enumerate() {
        match found.iter().find(|(child, _)| child == id) {
            None => check.add(format!("child_ids[{i}]"), "is not a child of the case"),
            Some((_, None)) => without_episode.push(i),
            Some((_, Some(referral))) if new.discussion_date < *referral => check.add(
                "discussion_date",
                format!("must be on or after the referral date of child_ids[{i}]"),
            ),
            Some(_) => {}
        }
    }
    check.finish()?;
    if let Some(i) = without_episode.first() {
        return Err(ApiError::FailedPrecondition(format!(
            "child_ids[{i}] has no open CIN episode; open one on referral first"
        )));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO strategy_discussions (id, authority_id, case_id, discussion_date, outcome, rationale, \
                                           recorded_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(id)
    .bind(ctx.authority.as_str())
    .bind(new.case_id)
    .bind(new.discussion_date)
    .bind(new.outcome)
    .bind(new.rationale.as_deref())
    .bind(ctx.actor.to_json())
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    for child_id in &new.child_ids {
        sqlx::query(
            "INSERT INTO strategy_discussion_children (strategy_discussion_id, child_id, authority_id) \
             VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(child_id)
        .bind(ctx.authority.as_str())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    for (ordinal, person) in new.attendees.iter().enumerate() {
        sqlx::query(
            "INSERT INTO strategy_discussion_attendees (strategy_discussion_id, ordinal, authority_id, person_id, \
                                                        display_name, agency_kind, agency_name) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(i16::try_from(ordinal).unwrap_or(i16::MAX))
        .bind(ctx.authority.as_str())
        .bind(person.person_id)
        .bind(&person.display_name)
        .bind(person.agency_kind)
        .bind(person.agency_name.as_deref())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    let discussion = get_strategy_discussion(conn, id).await?;
    let mut events = Vec::new();
    emit(
        conn,
        ctx,
        &mut events,
        Subject {
            aggregate_id: id,
            version: discussion.version,
            child_ids: new.child_ids.clone(),
        },
        &pb::StrategyDiscussionRecorded {
            strategy_discussion: Some(discussion.clone()),
        },
    )
    .await?;
    let response = pb::RecordStrategyDiscussionResponse {
        strategy_discussion: Some(discussion),
    };
    idempotency::remember(conn, ctx, &new.key, &response).await?;
    Ok(Written::new(response, events))
}

/// `ListStrategyDiscussions`: newest first.
///
/// # Errors
/// Database errors.
pub async fn list_strategy_discussions(
    conn: &mut PgConnection,
    filter: &StrategyDiscussionFilter,
) -> Result<pb::ListStrategyDiscussionsResponse, ApiError> {
    let mut rows: Vec<DiscussionRow> = sqlx::query_as(
        "SELECT d.* FROM strategy_discussions d \
         WHERE ($1::uuid IS NULL OR d.case_id = $1) \
           AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM strategy_discussion_children c \
                                             WHERE c.strategy_discussion_id = d.id AND c.child_id = $2)) \
           AND ($3::text IS NULL OR d.outcome = $3) \
           AND ($4::uuid IS NULL OR (d.discussion_date, d.id) < \
                (SELECT discussion_date, id FROM strategy_discussions a WHERE a.id = $4 \
                    AND ($1::uuid IS NULL OR a.case_id = $1) \
                    AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM strategy_discussion_children c \
                                                      WHERE c.strategy_discussion_id = a.id AND c.child_id = $2)))) \
         ORDER BY d.discussion_date DESC, d.id DESC LIMIT $5",
    )
    .bind(filter.case_id)
    .bind(filter.child_id)
    .bind(filter.outcome)
    .bind(filter.page.after)
    .bind(filter.page.fetch_limit())
    .fetch_all(&mut *conn)
    .await?;
    let next_page_token = filter.page.finish(&mut rows, |r| r.id);
    let mut strategy_discussions = Vec::with_capacity(rows.len());
    for row in rows {
        strategy_discussions.push(load(conn, row).await?);
    }
    Ok(pb::ListStrategyDiscussionsResponse {
        strategy_discussions,
        next_page_token,
    })
}
