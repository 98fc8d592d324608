//! The escalation service: drift and delay in a child's plan (late actions,
//! missed core group meetings, late conferences), found by the service
//! itself, and escalations along the route chair's midway review → team
//! manager → service manager → head of service → safeguarding partnership.
//!
//! It owns the `escalation` Postgres schema; no other service reads its tables.
//!
//! Layers:
//! - [`follow`]: what escalation keeps from the cases and scheduling change
//!   feeds: who is on each case, each child's case, each plan's child, each
//!   plan action, conference and core group meeting (assessed for drift as
//!   it changes);
//! - [`sweep`]: the same assessment again as days pass;
//! - [`store`]: drift findings and escalations in Postgres, with every
//!   stage change;
//! - [`api`]: the gRPC service: every call identified, authorised against
//!   the case's members and the escalation's stage, run in one transaction
//!   and audited, with escalation's own change feed.

pub mod api;
pub mod follow;
pub mod store;
pub mod sweep;

use cpc_platform::Component;
use sqlx::migrate::Migrator;

/// Migrations of the `escalation` schema, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The Postgres schema this service owns.
pub const SCHEMA: &str = "escalation";

/// How the platform serves this service.
pub fn component() -> Component {
    Component {
        name: "escalation",
        grpc_services: &[cpc_proto::escalation::v1::escalation_service_server::SERVICE_NAME],
        schema: SCHEMA,
        migrator: &MIGRATOR,
        mount: api::mount,
        // How an escalation moved is history.
        append_only: &["escalation_stage_changes", "escalation_findings"],
        locate_child: Some(api::locate_child),
        follows: &[
            follow::CASES_FEED,
            follow::SCHEDULING_FEED,
            follow::REPORTING_FEED,
        ],
        slow_calls: &[],
    }
}
