//! The reporting service: agency reports, conference minutes and their
//! distribution, and the statutory returns (the DfE children in need
//! census, timeliness statistics).
//!
//! It owns the `reporting` Postgres schema; no other service reads its tables.
//!
//! Layers:
//! - [`follow`]: what reporting keeps from the cases and scheduling change
//!   feeds: each conference's case, children and status, who is on each
//!   case, and who the chair excluded from a conference's minutes;
//! - [`census`]: the children in need census return and its validation;
//! - [`store`]: minutes in Postgres, with their distribution list, what was
//!   sent to whom and who was told the decision;
//! - [`api`]: the gRPC service: every call identified, authorised against
//!   the case's members and the minutes exclusions, run in one transaction
//!   and audited, with reporting's own change feed.

pub mod api;
pub mod census;
pub mod follow;
pub mod store;

use cpc_platform::Component;
use sqlx::migrate::Migrator;

/// Migrations of the `reporting` schema, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The Postgres schema this service owns.
pub const SCHEMA: &str = "reporting";

/// How the platform serves this service.
pub fn component() -> Component {
    Component {
        name: "reporting",
        grpc_services: &[cpc_proto::reporting::v1::reporting_service_server::SERVICE_NAME],
        schema: SCHEMA,
        migrator: &MIGRATOR,
        mount: api::mount,
        // What was sent to whom, and who was told the decision, is history.
        append_only: &["minutes_deliveries", "decision_notifications"],
        locate_child: Some(api::locate_child),
        follows: &[
            follow::CASES_FEED,
            follow::CHILD_CASES_FEED,
            follow::SCHEDULING_FEED,
        ],
        // Validating a census return takes seconds a thousand children.
        slow_calls: &["/cpc.reporting.v1.ReportingService/GenerateCinCensus"],
    }
}
