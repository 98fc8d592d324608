//! The reporting store. Every function runs in a transaction the caller
//! opened with `cpc_platform::db::begin_for_authority` (row-level security
//! bound to one authority) and does not commit it.

pub mod conferences;
pub mod minutes;
pub mod reports;
pub mod timeliness;

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_platform::outbox;
pub(crate) use cpc_platform::outbox::About;
use cpc_proto::common::v1 as common;
use prost::Message;
use sqlx::PgConnection;

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

impl cpc_platform::idempotency::Spender for Ctx {
    fn authority(&self) -> &str {
        &self.authority
    }

    fn caller(&self) -> String {
        self.actor.person_id.clone()
    }

    fn now(&self) -> DateTime<Utc> {
        self.now
    }
}

/// Appends `payload` (an `event_type` message about `about`) to the
/// reporting feed, in the caller's transaction.
///
/// # Errors
/// `INTERNAL` if the outbox refuses it.
pub(crate) async fn publish(
    conn: &mut PgConnection,
    ctx: &Ctx,
    about: About<'_>,
    event_type: &'static str,
    payload: &impl Message,
) -> Result<(), ApiError> {
    outbox::publish(conn, &ctx.authority, about, event_type, payload, ctx.now).await
}

/// A message the store wrote as protobuf.
///
/// # Errors
/// `INTERNAL` if it no longer decodes.
pub(crate) fn decode<M: Message + Default>(bytes: &[u8]) -> Result<M, ApiError> {
    M::decode(bytes).map_err(|_| ApiError::internal("a stored reporting message does not decode"))
}
