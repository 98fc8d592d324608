//! The escalation service: drift and delay: findings on plans that do not progress and the escalations that follow.
//!
//! It owns the `escalation` Postgres schema; no other service reads its tables.

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
        mount: None,
        append_only: &[],
        locate_child: None,
        follows: &[],
    }
}
