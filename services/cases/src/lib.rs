//! The cases service: the child's child protection journey: children, CIN episodes, strategy discussions, section 47 enquiries, conference outcomes, plans and case membership.
//!
//! It owns the `cases` Postgres schema; no other service reads its tables.

use cpc_platform::Component;
use sqlx::migrate::Migrator;

/// Migrations of the `cases` schema, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The Postgres schema this service owns.
pub const SCHEMA: &str = "cases";

/// How the platform serves this service.
pub fn component() -> Component {
    Component {
        name: "cases",
        grpc_service: cpc_proto::cases::v1::cases_service_server::SERVICE_NAME,
        schema: SCHEMA,
        migrator: &MIGRATOR,
        mount: None,
    }
}
