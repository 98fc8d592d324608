//! The escalation store. Every function runs in a transaction the caller
//! opened with `cpc_platform::db::begin_for_authority` (row-level security
//! bound to one authority) and does not commit it.

pub mod cases;
pub mod drift;
pub mod escalations;

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_proto::common::v1 as common;
use cpc_rules::WorkingDayCalendar;
use prost::Message;

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
    /// The authority's working days: a response is due on one.
    pub calendar: &'static WorkingDayCalendar,
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

/// A message the store wrote as protobuf.
///
/// # Errors
/// `INTERNAL` if it no longer decodes.
pub(crate) fn decode<M: Message + Default>(bytes: &[u8]) -> Result<M, ApiError> {
    M::decode(bytes).map_err(|_| ApiError::internal("a stored escalation message does not decode"))
}
