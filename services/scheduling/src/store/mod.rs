//! The scheduling store. Every function runs in a transaction the caller
//! opened with `cpc_platform::db::begin_for_authority` (row-level security
//! bound to one authority) and does not commit it.

pub mod attendance;
pub mod booking;
pub mod calendar;
pub mod chairs;
pub mod conferences;
pub mod core_groups;
pub mod exclusions;
pub mod needs;

use chrono::{DateTime, NaiveDate, Utc};
use cpc_proto::common::v1 as common;
use cpc_rules::timescales::Timescales;

/// Who is acting, when, and under which authority's timescales: what every
/// store call that changes something is given.
pub struct Ctx {
    /// The authority whose data this is; the one the transaction is bound to.
    pub authority: String,
    /// The person (or service) acting, recorded on history rows.
    pub actor: common::PersonRef,
    pub now: DateTime<Utc>,
    /// Today in the UK.
    pub today: NaiveDate,
    /// The authority's timescales (working days, reports due).
    pub timescales: Timescales,
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
