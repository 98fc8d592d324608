//! Conferences as the API shows them, and their change events.

use chrono::{DateTime, Datelike as _, NaiveDate, Utc};
use cpc_platform::outbox::{self, NewEvent};
use cpc_proto::common::v1 as common;
use cpc_proto::scheduling::v1 as pb;
use cpc_rules::Nation;
use prost::Message;
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::needs::NeedsError;
use crate::due::{Basis, DueEvent, Unit};

#[derive(sqlx::FromRow)]
struct ConferenceRow {
    id: Uuid,
    version: i64,
    authority_id: String,
    kind: String,
    case_id: Uuid,
    status: String,
    statutory_due_date: NaiveDate,
    basis: Json<Basis>,
    cancellation_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    child_ids: Vec<Uuid>,
}

/// The conference `id` as the API shows it.
///
/// # Errors
/// Database errors (the conference must exist).
pub async fn load(conn: &mut PgConnection, id: Uuid) -> Result<pb::Conference, NeedsError> {
    let row: ConferenceRow = sqlx::query_as(
        "SELECT c.*, ARRAY(SELECT child_id FROM conference_children cc \
                           WHERE cc.conference_id = c.id ORDER BY child_id) AS child_ids \
         FROM conferences c WHERE c.id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(pb::Conference {
        id: row.id.to_string(),
        version: row.version,
        authority_id: row.authority_id,
        kind: kind_from_code(&row.kind) as i32,
        case_id: row.case_id.to_string(),
        child_ids: row.child_ids.iter().map(Uuid::to_string).collect(),
        status: status_from_code(&row.status) as i32,
        statutory_due_date: Some(date(row.statutory_due_date)),
        due_date_basis: Some(basis(&row.basis.0)),
        cancellation_reason: row.cancellation_reason.unwrap_or_default(),
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.updated_at)),
        ..Default::default()
    })
}

/// Appends a conference event to the scheduling feed in the caller's
/// transaction.
///
/// # Errors
/// Database errors.
pub async fn emit<E: Message>(
    conn: &mut PgConnection,
    event_type: &'static str,
    conference: &pb::Conference,
    payload: &E,
    now: DateTime<Utc>,
) -> Result<(), NeedsError> {
    let event = NewEvent {
        aggregate_type: "Conference",
        aggregate_id: conference.id.clone(),
        aggregate_version: conference.version,
        event_type,
        authority_id: conference.authority_id.clone(),
        child_ids: conference
            .child_ids
            .iter()
            .filter_map(|id| Uuid::parse_str(id).ok())
            .collect(),
        payload: payload.encode_to_vec(),
    };
    outbox::append(conn, &event, now)
        .await
        .map_err(|err| NeedsError::Feed(err.to_string()))?;
    Ok(())
}

fn kind_from_code(code: &str) -> common::ConferenceKind {
    match code {
        "initial" => common::ConferenceKind::Initial,
        "review" => common::ConferenceKind::Review,
        "transfer_in" => common::ConferenceKind::TransferIn,
        "pre_birth" => common::ConferenceKind::PreBirth,
        "reconvened" => common::ConferenceKind::Reconvened,
        "post_birth_review" => common::ConferenceKind::PostBirthReview,
        _ => common::ConferenceKind::Unspecified,
    }
}

fn status_from_code(code: &str) -> pb::ConferenceStatus {
    match code {
        "due" => pb::ConferenceStatus::Due,
        "booked" => pb::ConferenceStatus::Booked,
        "held" => pb::ConferenceStatus::Held,
        "inquorate" => pb::ConferenceStatus::Inquorate,
        "cancelled" => pb::ConferenceStatus::Cancelled,
        _ => pb::ConferenceStatus::Unspecified,
    }
}

fn basis(basis: &Basis) -> pb::DueDateBasis {
    pb::DueDateBasis {
        event: match basis.event {
            DueEvent::StrategyDiscussion => pb::DueDateEvent::StrategyDiscussion,
            DueEvent::TransferNotification => pb::DueDateEvent::TransferNotification,
            DueEvent::InitialConference => pb::DueDateEvent::InitialConference,
            DueEvent::ReviewConference => pb::DueDateEvent::ReviewConference,
        } as i32,
        event_date: Some(date(basis.event_date)),
        source_id: basis.source_id.clone(),
        amount: i32::try_from(basis.amount).unwrap_or(i32::MAX),
        unit: match basis.unit {
            Unit::WorkingDays => pb::DurationUnit::WorkingDays,
            Unit::CalendarMonths => pb::DurationUnit::CalendarMonths,
        } as i32,
        nation: match basis.nation {
            Nation::EnglandAndWales => common::Nation::EnglandAndWales,
            Nation::Scotland => common::Nation::Scotland,
            Nation::NorthernIreland => common::Nation::NorthernIreland,
        } as i32,
        explanation: basis.explanation.clone(),
    }
}

fn date(date: NaiveDate) -> common::Date {
    common::Date {
        year: date.year(),
        month: i32::try_from(date.month()).unwrap_or(1),
        day: i32::try_from(date.day()).unwrap_or(1),
    }
}

fn timestamp(instant: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: instant.timestamp(),
        nanos: i32::try_from(instant.timestamp_subsec_nanos()).unwrap_or(0),
    }
}
