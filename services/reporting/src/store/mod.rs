//! The reporting store. Every function runs in a transaction the caller
//! opened with `cpc_platform::db::begin_for_authority` (row-level security
//! bound to one authority) and does not commit it.

pub mod conferences;
pub mod minutes;
pub mod reports;
pub mod timeliness;

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_platform::outbox::{self, NewEvent};
use cpc_proto::common::v1 as common;
use prost::Message;
use sqlx::PgConnection;
use uuid::Uuid;

/// Who is acting, and when: what every store call that changes something
/// is given.
pub struct Ctx {
    /// The authority whose data this is; the one the transaction is bound to.
    pub authority: String,
    /// The person (or service) acting, recorded on what they wrote.
    pub actor: common::PersonRef,
    pub now: DateTime<Utc>,
    /// Today in the UK.
    pub today: NaiveDate,
}

/// The document an event on the reporting feed is about.
pub(crate) struct About<'a> {
    /// `Minutes` or `AgencyReport`.
    pub aggregate_type: &'static str,
    pub id: &'a str,
    pub version: i64,
    pub child_ids: &'a [String],
}

/// Appends `payload` (an `event_type` message) to the reporting feed, in
/// the caller's transaction.
///
/// # Errors
/// `INTERNAL` if the outbox refuses it.
pub(crate) async fn publish(
    conn: &mut PgConnection,
    ctx: &Ctx,
    about: About<'_>,
    event_type: &'static str,
    payload: Vec<u8>,
) -> Result<(), ApiError> {
    let child_ids = about
        .child_ids
        .iter()
        .filter_map(|c| Uuid::parse_str(c).ok())
        .collect();
    outbox::append(
        conn,
        &NewEvent {
            aggregate_type: about.aggregate_type,
            aggregate_id: about.id.to_owned(),
            aggregate_version: about.version,
            event_type,
            authority_id: ctx.authority.clone(),
            child_ids,
            payload,
        },
        ctx.now,
    )
    .await
    .map_err(ApiError::internal)?;
    Ok(())
}

/// A message the store wrote as protobuf.
///
/// # Errors
/// `INTERNAL` if it no longer decodes.
pub(crate) fn decode<M: Message + Default>(bytes: &[u8]) -> Result<M, ApiError> {
    M::decode(bytes).map_err(|_| ApiError::internal("a stored reporting message does not decode"))
}
