//! Plan actions: `AddPlanAction`, `GetPlanAction`, `ListPlanActions`,
//! `UpdatePlanAction`, `UpdatePlanActionStatus`.

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_proto::cases::v1 as pb;
use sqlx::PgConnection;
use uuid::Uuid;

use super::plans::plan_row;
use super::{Ctx, Written, db, lock_version};
use crate::codes::{AgencyKind, PlanActionStatus};
use crate::convert::{date_to_proto, opt_date_to_proto, timestamp_to_proto};
use crate::domain::PersonRef;
use crate::domain::action::{ActionFilter, ActionStatusChange, ActionUpdate, NewPlanAction};
use crate::domain::check::redacted_debug;
use crate::events::{Subject, emit};
use crate::idempotency;

#[derive(sqlx::FromRow)]
struct ActionRow {
    id: Uuid,
    plan_id: Uuid,
    child_id: Uuid,
    plan_start_date: NaiveDate,
    description: String,
    owner_person_id: Uuid,
    owner_display_name: String,
    owner_agency_kind: AgencyKind,
    owner_agency_name: String,
    due_date: NaiveDate,
    status: PlanActionStatus,
    completion_date: Option<NaiveDate>,
    agreed_at_conference_id: Option<Uuid>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ChangeRow {
    from_status: PlanActionStatus,
    to_status: PlanActionStatus,
    reason: Option<String>,
    changed_by: serde_json::Value,
    change_time: DateTime<Utc>,
}

redacted_debug!(ActionRow, ChangeRow);

impl ChangeRow {
    fn into_proto(self) -> pb::PlanActionStatusChange {
        pb::PlanActionStatusChange {
            from_status: self.from_status.to_i32(),
            to_status: self.to_status.to_i32(),
            reason: self.reason.unwrap_or_default(),
            changed_by: serde_json::from_value::<PersonRef>(self.changed_by)
                .ok()
                .map(|p| p.to_proto()),
            change_time: Some(timestamp_to_proto(self.change_time)),
        }
    }
}

async fn assemble(
    conn: &mut PgConnection,
    row: ActionRow,
    today: NaiveDate,
) -> Result<pb::PlanAction, ApiError> {
    let history: Vec<ChangeRow> = sqlx::query_as(
        "SELECT from_status, to_status, reason, changed_by, change_time FROM plan_action_status_changes \
         WHERE action_id = $1 ORDER BY seq",
    )
    .bind(row.id)
    .fetch_all(&mut *conn)
    .await?;
    let owner = PersonRef {
        person_id: row.owner_person_id,
        display_name: row.owner_display_name,
        agency_kind: Some(row.owner_agency_kind),
        agency_name: Some(row.owner_agency_name),
    };
    Ok(pb::PlanAction {
        id: row.id.to_string(),
        version: row.version,
        plan_id: row.plan_id.to_string(),
        child_id: row.child_id.to_string(),
        description: row.description,
        owner: Some(owner.to_proto()),
        due_date: Some(date_to_proto(row.due_date)),
        status: row.status.to_i32(),
        status_history: history.into_iter().map(ChangeRow::into_proto).collect(),
        overdue: row.due_date < today && !row.status.is_final(),
        completion_date: opt_date_to_proto(row.completion_date),
        agreed_at_conference_id: row
            .agreed_at_conference_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        create_time: Some(timestamp_to_proto(row.created_at)),
        update_time: Some(timestamp_to_proto(row.updated_at)),
    })
}

async fn action_row(conn: &mut PgConnection, id: Uuid) -> Result<ActionRow, ApiError> {
    sqlx::query_as("SELECT * FROM plan_actions WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ApiError::not_found("plan action", id.to_string()))
}

/// `GetPlanAction`; `overdue` is computed for `today`.
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn get_plan_action(
    conn: &mut PgConnection,
    id: Uuid,
    today: NaiveDate,
) -> Result<pb::PlanAction, ApiError> {
    let row = action_row(conn, id).await?;
    assemble(conn, row, today).await
}

/// An action to insert on a plan (from `AddPlanAction` or an outline action).
pub(crate) struct ActionInsert<'a> {
    pub plan_id: Uuid,
    pub child_id: Uuid,
    pub plan_start_date: NaiveDate,
    pub description: &'a str,
    pub owner: &'a PersonRef,
    pub due_date: NaiveDate,
    pub agreed_at_conference_id: Option<Uuid>,
}

/// Inserts an action (no event).
pub(crate) async fn insert_action(
    conn: &mut PgConnection,
    ctx: &Ctx,
    a: &ActionInsert<'_>,
) -> Result<Uuid, ApiError> {
    if a.due_date < a.plan_start_date {
        return Err(ApiError::invalid_field(
            "action.due_date",
            "must be on or after the plan's start date",
        ));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO plan_actions (id, authority_id, plan_id, child_id, plan_start_date, description, \
                                   owner_person_id, owner_display_name, owner_agency_kind, owner_agency_name, \
                                   due_date, agreed_at_conference_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
    )
    .bind(id)
    .bind(ctx.authority.as_str())
    .bind(a.plan_id)
    .bind(a.child_id)
    .bind(a.plan_start_date)
    .bind(a.description)
    .bind(a.owner.person_id)
    .bind(&a.owner.display_name)
    .bind(a.owner.agency_kind)
    .bind(a.owner.agency_name.as_deref())
    .bind(a.due_date)
    .bind(a.agreed_at_conference_id)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(id)
}

pub(crate) fn action_subject(action: &pb::PlanAction) -> Subject {
    Subject {
        aggregate_id: Uuid::parse_str(&action.id).unwrap_or_default(),
        version: action.version,
        child_ids: Uuid::parse_str(&action.child_id).into_iter().collect(),
    }
}

/// `AddPlanAction`. Emits `PlanActionAdded`.
///
/// # Errors
/// `NOT_FOUND` (plan), `FAILED_PRECONDITION` when the plan has ended or the
/// request id was reused, `INVALID_ARGUMENT` for a due date before the
/// plan's start; database errors.
pub async fn add_plan_action(
    conn: &mut PgConnection,
    ctx: &Ctx,
    new: &NewPlanAction,
) -> Result<Written<pb::AddPlanActionResponse>, ApiError> {
    if let Some(response) = idempotency::replay(conn, ctx, &new.key).await? {
        return Ok(Written::replay(response));
    }
    let plan = plan_row(conn, new.plan_id, true).await?;
    if !plan.status.is_open() {
        return Err(ApiError::FailedPrecondition(
            "actions can be added only to an active plan".to_owned(),
        ));
    }
    let id = insert_action(
        conn,
        ctx,
        &ActionInsert {
            plan_id: plan.id,
            child_id: plan.child_id,
            plan_start_date: plan.start_date,
            description: &new.description,
            owner: &new.owner,
            due_date: new.due_date,
            agreed_at_conference_id: None,
        },
    )
    .await?;
    let action = get_plan_action(conn, id, ctx.today).await?;
    let mut events = Vec::new();
    emit(
        conn,
        ctx,
        &mut events,
        action_subject(&action),
        &pb::PlanActionAdded {
            action: Some(action.clone()),
        },
    )
    .await?;
    let response = pb::AddPlanActionResponse {
        action: Some(action),
    };
    idempotency::remember(conn, ctx, &new.key, &response).await?;
    Ok(Written::new(response, events))
}

/// `UpdatePlanAction`: description, owner, due date. Emits
/// `PlanActionUpdated` with the fields that changed.
///
/// # Errors
/// `NOT_FOUND`, `ABORTED` (stale version), `FAILED_PRECONDITION` when the
/// plan has ended, `INVALID_ARGUMENT` for a due date before the plan's
/// start; database errors.
pub async fn update_plan_action(
    conn: &mut PgConnection,
    ctx: &Ctx,
    update: &ActionUpdate,
) -> Result<Written<pb::UpdatePlanActionResponse>, ApiError> {
    lock_version(
        conn,
        "plan_actions",
        "plan action",
        update.id,
        update.version,
    )
    .await?;
    let row = action_row(conn, update.id).await?;
    let plan = plan_row(conn, row.plan_id, false).await?;
    if !plan.status.is_open() {
        return Err(ApiError::FailedPrecondition(
            "the plan has ended; its actions can no longer change".to_owned(),
        ));
    }
    if update.due_date.is_some_and(|due| due < row.plan_start_date) {
        return Err(ApiError::invalid_field(
            "action.due_date",
            "must be on or after the plan's start date",
        ));
    }
    let mut changed = Vec::new();
    if update
        .description
        .as_ref()
        .is_some_and(|d| *d != row.description)
    {
        changed.push("description".to_owned());
    }
    if update.owner.as_ref().is_some_and(|o| {
        o.person_id != row.owner_person_id
            || o.display_name != row.owner_display_name
            || o.agency_kind != Some(row.owner_agency_kind)
            || o.agency_name.as_deref() != Some(row.owner_agency_name.as_str())
    }) {
        changed.push("owner".to_owned());
    }
    if update.due_date.is_some_and(|d| d != row.due_date) {
        changed.push("due_date".to_owned());
    }
    if changed.is_empty() {
        let action = assemble(conn, row, ctx.today).await?;
        return Ok(Written::new(
            pb::UpdatePlanActionResponse {
                action: Some(action),
            },
            Vec::new(),
        ));
    }
    let owner = update.owner.as_ref();
    sqlx::query(
        "UPDATE plan_actions SET description = coalesce($3, description), \
                owner_person_id = coalesce($4, owner_person_id), \
                owner_display_name = coalesce($5, owner_display_name), \
                owner_agency_kind = coalesce($6, owner_agency_kind), \
                owner_agency_name = coalesce($7, owner_agency_name), \
                due_date = coalesce($8, due_date), version = version + 1, updated_at = $9 \
         WHERE id = $1 AND version = $2",
    )
    .bind(update.id)
    .bind(update.version)
    .bind(update.description.as_deref())
    .bind(owner.map(|o| o.person_id))
    .bind(owner.map(|o| o.display_name.clone()))
    .bind(owner.and_then(|o| o.agency_kind))
    .bind(owner.and_then(|o| o.agency_name.clone()))
    .bind(update.due_date)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let action = get_plan_action(conn, update.id, ctx.today).await?;
    let mut events = Vec::new();
    emit(
        conn,
        ctx,
        &mut events,
        action_subject(&action),
        &pb::PlanActionUpdated {
            action: Some(action.clone()),
            changed_fields: changed,
        },
    )
    .await?;
    Ok(Written::new(
        pb::UpdatePlanActionResponse {
            action: Some(action),
        },
        events,
    ))
}

/// `UpdatePlanActionStatus`: appends to the status history. Emits
/// `PlanActionStatusChanged`.
///
/// # Errors
/// `NOT_FOUND`, `ABORTED` (stale version), `FAILED_PRECONDITION` for a
/// COMPLETED or WITHDRAWN action (final), `INVALID_ARGUMENT` for the current
/// status again or a completion before the plan's start; database errors.
pub async fn update_plan_action_status(
    conn: &mut PgConnection,
    ctx: &Ctx,
    change: &ActionStatusChange,
) -> Result<Written<pb::UpdatePlanActionStatusResponse>, ApiError> {
    lock_version(
        conn,
        "plan_actions",
        "plan action",
        change.id,
        change.version,
    )
    .await?;
    let row = action_row(conn, change.id).await?;
    if row.status.is_final() {
        return Err(ApiError::FailedPrecondition(format!(
            "the action is {}; COMPLETED and WITHDRAWN are final",
            row.status.to_proto().as_str_name()
        )));
    }
    if change.status == row.status {
        return Err(ApiError::invalid_field(
            "status",
            "must differ from the current status",
        ));
    }
    if change
        .completion_date
        .is_some_and(|d| d < row.plan_start_date)
    {
        return Err(ApiError::invalid_field(
            "completion_date",
            "must be on or after the plan's start date",
        ));
    }
    let seq: i32 = sqlx::query_scalar(
        "SELECT coalesce(max(seq), 0) + 1 FROM plan_action_status_changes WHERE action_id = $1",
    )
    .bind(change.id)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO plan_action_status_changes (action_id, seq, authority_id, from_status, to_status, reason, \
                                                 changed_by, change_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(change.id)
    .bind(seq)
    .bind(ctx.authority.as_str())
    .bind(row.status)
    .bind(change.status)
    .bind(change.reason.as_deref())
    .bind(ctx.actor.to_json())
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    sqlx::query(
        "UPDATE plan_actions SET status = $3, completion_date = $4, version = version + 1, updated_at = $5 \
         WHERE id = $1 AND version = $2",
    )
    .bind(change.id)
    .bind(change.version)
    .bind(change.status)
    .bind(change.completion_date)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let action = get_plan_action(conn, change.id, ctx.today).await?;
    let recorded = action.status_history.last().cloned();
    let mut events = Vec::new();
    emit(
        conn,
        ctx,
        &mut events,
        action_subject(&action),
        &pb::PlanActionStatusChanged {
            action: Some(action.clone()),
            change: recorded,
        },
    )
    .await?;
    Ok(Written::new(
        pb::UpdatePlanActionStatusResponse {
            action: Some(action),
        },
        events,
    ))
}

/// `ListPlanActions`: earliest due first; `overdue` for `today`.
///
/// # Errors
/// Database errors.
pub async fn list_plan_actions(
    conn: &mut PgConnection,
    filter: &ActionFilter,
    today: NaiveDate,
) -> Result<pb::ListPlanActionsResponse, ApiError> {
    let mut rows: Vec<ActionRow> = sqlx::query_as(
        "SELECT a.* FROM plan_actions a \
         WHERE ($1::uuid IS NULL OR a.plan_id = $1) \
           AND ($2::uuid IS NULL OR a.child_id = $2) \
           AND ($3::text IS NULL OR a.status = $3) \
           AND ($4::uuid IS NULL OR a.owner_person_id = $4) \
           AND ($5::text IS NULL OR a.owner_agency_kind = $5) \
           AND ($6::date IS NULL OR a.due_date <= $6) \
           AND (NOT $7 OR (a.due_date < $8 AND a.status NOT IN ('completed', 'withdrawn'))) \
           AND ($9::uuid IS NULL OR (a.due_date, a.id) > \
                (SELECT x.due_date, x.id FROM plan_actions x WHERE x.id = $9 \
                    AND ($1::uuid IS NULL OR x.plan_id = $1) \
                    AND ($2::uuid IS NULL OR x.child_id = $2))) \
         ORDER BY a.due_date, a.id LIMIT $10",
    )
    .bind(filter.plan_id)
    .bind(filter.child_id)
    .bind(filter.status)
    .bind(filter.owner_person_id)
    .bind(filter.owner_agency_kind)
    .bind(filter.due_before)
    .bind(filter.overdue_only)
    .bind(today)
    .bind(filter.page.after)
    .bind(filter.page.fetch_limit())
    .fetch_all(&mut *conn)
    .await?;
    let next_page_token = filter.page.finish(&mut rows, |r| r.id);
    let mut actions = Vec::with_capacity(rows.len());
    for row in rows {
        actions.push(assemble(conn, row, today).await?);
    }
    Ok(pb::ListPlanActionsResponse {
        actions,
        next_page_token,
    })
}
