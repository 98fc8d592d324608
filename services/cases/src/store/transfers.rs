//! Transfers in: `RecordTransferIn`, `GetTransferIn`. (Transfers out are a
//! plan change: see `plans::transfer_plan_out` and `plans::end_plan`.)

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_proto::cases::v1 as pb;
use cpc_rules::categories::CategoryOfHarm;
use sqlx::PgConnection;
use uuid::Uuid;

use super::children::child_row;
use super::plans::open_plan;
use super::{Ctx, Written, db};
use crate::codes::{self, TransferInStatus};
use crate::convert::{date_to_proto, opt_date_to_proto, timestamp_to_proto};
use crate::domain::plan::NewTransferIn;
use crate::events::{Subject, emit};
use crate::idempotency;

#[derive(Debug, sqlx::FromRow)]
struct TransferInRow {
    id: Uuid,
    authority_id: String,
    child_id: Uuid,
    sending_authority_name: String,
    sending_authority_code: Option<String>,
    notification_date: NaiveDate,
    previous_plan_start_date: Option<NaiveDate>,
    previous_category: Option<String>,
    status: TransferInStatus,
    conference_due_date: NaiveDate,
    conference_id: Option<Uuid>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TransferInRow {
    fn into_proto(self) -> pb::TransferIn {
        pb::TransferIn {
            id: self.id.to_string(),
            version: self.version,
            child_id: self.child_id.to_string(),
            authority_id: self.authority_id,
            sending_authority_name: self.sending_authority_name,
            sending_authority_code: self.sending_authority_code.unwrap_or_default(),
            notification_date: Some(date_to_proto(self.notification_date)),
            previous_plan_start_date: opt_date_to_proto(self.previous_plan_start_date),
            previous_category: self
                .previous_category
                .and_then(|c| c.parse::<CategoryOfHarm>().ok())
                .map_or(0, |c| codes::category_to_proto(c) as i32),
            status: self.status.to_i32(),
            conference_due_date: Some(date_to_proto(self.conference_due_date)),
            conference_id: self
                .conference_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            create_time: Some(timestamp_to_proto(self.created_at)),
            update_time: Some(timestamp_to_proto(self.updated_at)),
        }
    }
}

/// `GetTransferIn`.
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn get_transfer_in(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<pb::TransferIn, ApiError> {
    let row: TransferInRow = sqlx::query_as("SELECT * FROM transfers_in WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ApiError::not_found("transfer-in", id.to_string()))?;
    Ok(row.into_proto())
}

/// `RecordTransferIn`: computes the transfer-in conference's latest date
/// (15 working days after notification). Emits `TransferInRecorded`.
///
/// # Errors
/// `NOT_FOUND` (child), `FAILED_PRECONDITION` when the child is already on
/// a plan here, has a transfer-in awaiting its conference or died before
/// the notification date, or the request id was reused; database errors.
pub async fn record_transfer_in(
    conn: &mut PgConnection,
    ctx: &Ctx,
    new: &NewTransferIn,
) -> Result<Written<pb::RecordTransferInResponse>, ApiError> {
    if let Some(response) = idempotency::replay(conn, ctx, &new.key).await? {
        return Ok(Written::replay(response));
    }
    let child = child_row(conn, new.child_id, true).await?;
    child.living_on(
        new.notification_date,
        crate::domain::plan::DIED_BEFORE_TRANSFER_IN,
    )?;
    if open_plan(conn, new.child_id).await?.is_some() {
        return Err(ApiError::FailedPrecondition(
            "the child is already on a plan in this authority".to_owned(),
        ));
    }
    let due = ctx
        .timescales
        .transfer_in_conference_due(new.notification_date)
        .map_err(|err| ApiError::invalid_field("transfer_in.notification_date", err.to_string()))?;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO transfers_in (id, authority_id, child_id, sending_authority_name, sending_authority_code, \
                                   notification_date, previous_plan_start_date, previous_category, \
                                   conference_due_date, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(id)
    .bind(ctx.authority.as_str())
    .bind(new.child_id)
    .bind(&new.sending_authority_name)
    .bind(new.sending_authority_code.as_deref())
    .bind(new.notification_date)
    .bind(new.previous_plan_start_date)
    .bind(new.previous_category.map(|c| c.code()))
    .bind(due)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let transfer_in = get_transfer_in(conn, id).await?;
    let mut events = Vec::new();
    emit(
        conn,
        ctx,
        &mut events,
        Subject {
            aggregate_id: id,
            version: transfer_in.version,
            child_ids: vec![new.child_id],
        },
        &pb::TransferInRecorded {
            transfer_in: Some(transfer_in.clone()),
            case_id: child.case_id.to_string(),
        },
    )
    .await?;
    let response = pb::RecordTransferInResponse {
        transfer_in: Some(transfer_in),
    };
    idempotency::remember(conn, ctx, &new.key, &response).await?;
    Ok(Written::new(response, events))
}
